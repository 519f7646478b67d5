// Money, search folding, device time and the run's progress with the outbox overlaid.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fold, formatMegabytes, formatVnd, localIsoTime, matchesQuery, sha256Hex } from "../../pwa/static/js/format.js";
import { applyReceipt, progress, stopStatus } from "../../pwa/static/js/run-state.js";
import { buildMeta, padToStrokes } from "../../pwa/static/js/attempts.js";

test("VND: dot thousands separators and the đồng sign", () => {
  assert.equal(formatVnd(34000), "34.000 ₫");
  assert.equal(formatVnd(0), "0 ₫");
  assert.equal(formatVnd(1234567), "1.234.567 ₫");
  assert.equal(formatVnd(500), "500 ₫");
  assert.equal(formatVnd(null), "0 ₫");
});

test("search ignores diacritics, case and đ", () => {
  assert.equal(fold("Đặng  Thị Đào"), "dang thi dao");
  assert.ok(matchesQuery("dang dao", ["Đặng Thị Đào"]));
  assert.ok(matchesQuery("ky lua", ["Số 5, Phường Kỳ Lừa"]));
  assert.ok(matchesQuery("hc0000", ["x", "HC000000155VN"]));
  assert.ok(!matchesQuery("hoa", ["Đặng Thị Đào"]));
  assert.ok(matchesQuery("", ["anything"]));
});

test("device time is ISO 8601 with the phone's offset", () => {
  const text = localIsoTime(new Date(Date.UTC(2026, 10, 23, 2, 41, 7, 123)));
  assert.match(text, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$/);
  assert.equal(new Date(text).getTime(), Date.UTC(2026, 10, 23, 2, 41, 7, 123));
});

test("sha256 of text and blobs", async () => {
  assert.equal(await sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  assert.equal(await sha256Hex(new Blob(["abc"])), await sha256Hex("abc"));
});

const RUN = {
  runs: [{ id: 1, stops: [
    { stop_id: 1, position: 1, state: "out_for_delivery", attempt_number: 1 },
    { stop_id: 2, position: 2, state: "delivered", attempt_number: 2 },
    { stop_id: 3, position: 3, state: "attempt_failed", attempt_number: 2 },
    { stop_id: 4, position: 4, state: "out_for_delivery", attempt_number: 1 },
  ] }],
};

test("progress counts attempts waiting in the outbox; a refused one leaves its stop to decide", () => {
  const entries = [
    { stop_id: 1, outcome: "delivered", state: "pending" },
    { stop_id: 4, outcome: "failed", state: "rejected", error: { code: "invalid" } },
  ];
  assert.deepEqual(progress(RUN, entries), { delivered: 2, failed: 1, left: 1, total: 4 });
  const s1 = stopStatus(RUN.runs[0].stops[0], entries);
  assert.deepEqual([s1.status, s1.pending, s1.attemptNumber], ["delivered", true, 2]);
  const s4 = stopStatus(RUN.runs[0].stops[3], entries);
  assert.equal(s4.status, "refused");
  assert.equal(s4.rejected.error.code, "invalid");
});

test("a receipt updates the cached run", () => {
  const run = structuredClone(RUN);
  const entry = { stop_id: 1, attempt_id: "x", outcome: "delivered", meta: { device_time: "t" } };
  applyReceipt(run, entry, { envelope_state: "delivered", attempt_number: 1 });
  assert.equal(run.runs[0].stops[0].state, "delivered");
  assert.equal(run.runs[0].stops[0].attempt_number, 2);
});

test("meta of a delivery and of a failure", () => {
  const stop = { stop_id: 5, envelope_code: "HC000000155VN" };
  const delivered = buildMeta({ stop, scan: { method: "qr", payload: "TR1:x" }, outcome: "delivered", attemptNumber: 1, fees: "34000",
    recipient: { name: "A" }, strokes: [[{ x: 1, y: 2, t: 3 }]], attemptId: "id" });
  assert.equal(delivered.fees_collected_vnd, 34000);
  assert.equal(delivered.reason_code, null);
  assert.equal(delivered.scan.payload, "TR1:x");
  const failed = buildMeta({ stop, scan: { method: "typed", payload: "junk" }, outcome: "failed", attemptNumber: 2, reasonCode: "not_home", recipient: { name: "A" } });
  assert.deepEqual([failed.reason_code, failed.recipient, failed.scan.payload, failed.signature_strokes], ["not_home", null, null, null]);
  assert.match(failed.attempt_id, /^[0-9a-f-]{36}$/);
});

test("signature_pad data becomes strokes of [x, y, t]", () => {
  const strokes = padToStrokes([{ points: [{ x: 1.234, y: 5.678, time: 99, pressure: 0.5 }] }]);
  assert.deepEqual(strokes, [[[1.2, 5.7, 99]]]);
});

test("megabytes left are shown whole past 10 MB, to a tenth below, never 0 while some are left", () => {
  assert.equal(formatMegabytes(48_400_000, "vi"), "48 MB");
  assert.equal(formatMegabytes(175_000_000, "en"), "175 MB");
  assert.equal(formatMegabytes(4_830_000, "vi"), "4,8 MB");
  assert.equal(formatMegabytes(4_830_000, "en"), "4.8 MB");
  assert.equal(formatMegabytes(1_000, "vi"), "0,1 MB");
  assert.equal(formatMegabytes(0, "vi"), "0 MB");
  assert.equal(formatMegabytes(-5, "en"), "0 MB");
});
