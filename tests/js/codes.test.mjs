// Envelope codes (S10 check digit) and matching a scanned QR against the run's digests.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { classifyScan, matchEnvelopeScan, normaliseEnvelopeCode, s10CheckDigit } from "../../pwa/static/js/codes.js";

const ZERO_CHECK = "00000008";
const sha = (s) => createHash("sha256").update(s).digest("hex");

test("S10 check digits agree with backend/domain/codes.py", () => {
  // Values computed by the Python s10_check_digit.
  const expected = { "12345678": 5, "00000001": 4, "47312482": 9, "00000010": 2, "10000000": 3, "00000020": 4 };
  for (const [digits, check] of Object.entries(expected)) assert.equal(s10CheckDigit(digits), check, digits);
});

test("S10 maps 10 to 0 and 11 to 5", () => {
  assert.equal(s10CheckDigit("00000000"), 5); // 11 - 0 = 11 → 5
  assert.equal(s10CheckDigit(ZERO_CHECK), 0); // 11 - 1 = 10 → 0
  assert.throws(() => s10CheckDigit("1234567"));
});

test("typed codes: spaces and lower case allowed, check digit enforced", () => {
  assert.equal(normaliseEnvelopeCode("hc 1234 5678 5 vn"), "HC123456785VN");
  assert.equal(normaliseEnvelopeCode("HC123456784VN"), null);
  assert.equal(normaliseEnvelopeCode("HC12345678VN"), null);
  assert.equal(normaliseEnvelopeCode(""), null);
});

test("scanned texts are classified", () => {
  assert.equal(classifyScan("TR1:HC123456785VN:ABCDEFGHIJKLMNOP").kind, "envelope");
  assert.equal(classifyScan("TR1:HC123456784VN:ABCDEFGHIJKLMNOP").kind, "damaged");
  assert.equal(classifyScan("TR1:garbage").kind, "damaged");
  assert.equal(classifyScan("001090123456|012345678|Nguyễn Văn An|01011990|Nam|Lạng Sơn|15042021").kind, "id_card");
  assert.equal(classifyScan("https://example.com").kind, "other");
});

test("a scan matches its stop by digest; forged, other run, ID card and junk are told apart", async () => {
  const good = "TR1:HC123456785VN:ABCDEFGHIJKLMNOP";
  const stops = [
    { stop_id: 1, envelope_code: "HC123456785VN", qr_digest: sha(good) },
    { stop_id: 2, envelope_code: "HC000000015VN", qr_digest: sha("TR1:HC000000015VN:AAAAAAAAAAAAAAAA") },
  ];
  const match = await matchEnvelopeScan(good, stops);
  assert.equal(match.result, "match");
  assert.equal(match.stop.stop_id, 1);
  assert.equal(match.payload, good);
  const forged = await matchEnvelopeScan("TR1:HC123456785VN:ZZZZZZZZZZZZZZZZ", stops);
  assert.equal(forged.result, "forged");
  assert.equal(forged.stop.stop_id, 1);
  assert.equal((await matchEnvelopeScan("TR1:HC000000028VN:ABCDEFGHIJKLMNOP", stops)).result, "not_on_run");
  assert.equal((await matchEnvelopeScan("001090123456||Nguyễn Văn An|01011990|Nam|Lạng Sơn", stops)).result, "id_card");
  assert.equal((await matchEnvelopeScan("hello", stops)).result, "not_envelope");
});
