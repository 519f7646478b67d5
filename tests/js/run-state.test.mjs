// The run as the postman sees it: server states overlaid with the outbox's attempts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { applyReceipt, isSuperseded, progress, shownRejected, stopStatus } from "../../pwa/static/js/run-state.js";

const T0 = Date.parse("2026-11-23T09:00:00.000+07:00");

function stop(id, extra = {}) {
  return { stop_id: id, position: id, envelope_code: `HC00000000${id}VN`, state: "out_for_delivery",
    attempts_made: 0, attempt_number: 1, last_attempt: null, ...extra };
}

/** An outbox entry as outbox.js keeps it (makeEntry, then what _send adds on a refusal). */
function entry(id, stopId, { state = "pending", outcome = "failed", at = T0, rejectedAt = null } = {}) {
  const device_time = new Date(at).toISOString();
  return {
    attempt_id: id, user_id: 7, stop_id: stopId, envelope_code: `HC00000000${stopId}VN`, outcome,
    meta: { attempt_id: id, stop_id: stopId, outcome, reason_code: outcome === "failed" ? "not_home" : null, device_time },
    files: [], state, tries: 0, next_at: 0, created_at: at, error: null,
    ...(state === "rejected" || state === "dismissed"
      ? { rejected_at: rejectedAt ?? at + 5_000, error: { status: 409, code: "transition_not_allowed", message: "", fields: {} } }
      : {}),
  };
}

const run = (...stops) => ({ runs: [{ stops }] });

test("a pending attempt wins over the server's state and counts in the progress", () => {
  const s = stop(1);
  const status = stopStatus(s, [entry("p", 1, { outcome: "delivered" })]);
  assert.deepEqual([status.status, status.pending, status.rejected, status.attemptNumber], ["delivered", true, null, 2]);
  assert.deepEqual(progress(run(s, stop(2)), [entry("p", 1)]), { delivered: 0, failed: 1, left: 1, total: 2 });
});

test("a rejected attempt is shown, but is not pending and does not change the stop", () => {
  const s = stop(1);
  const r = entry("r", 1, { state: "rejected" });
  const status = stopStatus(s, [r]);
  assert.deepEqual([status.status, status.pending, status.attemptNumber], ["open", false, 1]);
  assert.equal(status.rejected, r);
  assert.deepEqual(shownRejected(run(s), [r]), [r]);
});

test("a dismissed attempt is neither pending, nor rejected, nor shown, nor counted", () => {
  const s = stop(1);
  const d = entry("d", 1, { state: "dismissed", outcome: "delivered" });
  const status = stopStatus(s, [d]);
  assert.deepEqual([status.status, status.pending, status.rejected, status.attemptNumber], ["open", false, null, 1]);
  assert.deepEqual(progress(run(s), [d]), { delivered: 0, failed: 0, left: 1, total: 1 });
  assert.deepEqual(shownRejected(run(s), [d]), []);
});

test("a rejected attempt is no longer shown once a later attempt for the stop is acknowledged", () => {
  const data = run(stop(1), stop(2));
  const r = entry("r", 1, { state: "rejected", at: T0, rejectedAt: T0 + 60_000 });
  const other = entry("r2", 2, { state: "rejected" });
  // The postman redoes the stop after seeing the refusal; the server acknowledges it.
  const redo = entry("n", 1, { outcome: "delivered", at: T0 + 120_000 });
  applyReceipt(data, redo, { envelope_state: "delivered", attempt_number: 1 });
  const [s1] = data.runs[0].stops;
  assert.equal(isSuperseded(r, s1), true);
  const status = stopStatus(s1, [r, other]); // the acknowledged one left the outbox; r stays stored
  assert.deepEqual([status.status, status.pending, status.rejected], ["delivered", false, null]);
  assert.deepEqual(shownRejected(data, [r, other]), [other]); // other stops are not affected
});

test("the same from the server's run: last_attempt made after the refusal hides it", () => {
  const r = entry("r", 1, { state: "rejected", at: T0, rejectedAt: T0 + 60_000 });
  const later = { attempt_id: "srv", outcome: "failed", reason_code: "not_home", at: "2026-11-23T02:05:00.000000+00:00" };
  const s = stop(1, { state: "attempt_failed", last_attempt: later });
  assert.equal(stopStatus(s, [r]).rejected, null);
});

test("an attempt acknowledged before the refusal (the one that caused it) does not hide it", () => {
  // Phone B recorded offline at T0; phone A's attempt at T0+30 s was accepted first; B's was
  // refused when it came online at T0+60 s.
  const r = entry("r", 1, { state: "rejected", at: T0, rejectedAt: T0 + 60_000 });
  const first = { attempt_id: "a", outcome: "failed", reason_code: "refused", at: new Date(T0 + 30_000).toISOString() };
  const s = stop(1, { state: "attempt_failed", last_attempt: first });
  assert.equal(isSuperseded(r, s), false);
  assert.equal(stopStatus(s, [r]).rejected, r);
  assert.deepEqual(shownRejected(run(s), [r]), [r]);
});

test("the rejected attempt itself as last_attempt, or no stop at all, does not hide it", () => {
  const r = entry("r", 1, { state: "rejected" });
  const self = stop(1, { last_attempt: { attempt_id: "r", outcome: "failed", at: new Date(T0 + 99_000).toISOString() } });
  assert.equal(isSuperseded(r, self), false);
  assert.equal(isSuperseded(r, undefined), false);
  assert.deepEqual(shownRejected(null, [r]), [r]);
});

test("of several rejected attempts on a stop, the latest still shown is the one on the card", () => {
  const s = stop(1);
  const a = entry("a", 1, { state: "rejected", at: T0 });
  const b = entry("b", 1, { state: "rejected", at: T0 + 1_000 });
  assert.equal(stopStatus(s, [a, b]).rejected, b);
  assert.equal(stopStatus(s, [a, { ...b, state: "dismissed" }]).rejected, a);
});
