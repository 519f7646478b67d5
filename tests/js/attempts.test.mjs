// The identity papers' numbers and how a passport checks the holder: the JS mirror of idnum.py.
import { test } from "node:test";
import assert from "node:assert/strict";
import { DOCUMENT_TYPES, SIGNATURE_MAX_RATIO, SIGNATURE_MAX_SIDE, buildMeta, checkHolder, documentMatch, normaliseDocumentNumber, signatureCanvasSize, signatureRatio } from "../../pwa/static/js/attempts.js";

const RECIPIENT = { name: "Nguyễn Văn An", id_last4: "3456" };

test("the three papers of the API", () => {
  assert.deepEqual(DOCUMENT_TYPES, ["cccd", "passport", "other"]);
});

test("a CCCD number is 12 digits", () => {
  assert.equal(normaliseDocumentNumber("cccd", "001 090 123 456"), "001090123456");
  for (const bad of ["00109012345", "0010901234567", "C1234567", ""]) {
    assert.equal(normaliseDocumentNumber("cccd", bad), null, bad);
  }
});

test("a passport number is one letter and 7 digits, case and spaces normalised", () => {
  assert.equal(normaliseDocumentNumber("passport", "c 1234567"), "C1234567");
  for (const bad of ["C123456", "C12345678", "12345678", "CC123456", "001090123456", null]) {
    assert.equal(normaliseDocumentNumber("passport", bad), null, String(bad));
  }
});

test("another paper has 5 to 20 letters or digits", () => {
  assert.equal(normaliseDocumentNumber("other", "ab 123"), "AB123");
  assert.equal(normaliseDocumentNumber("other", "ab12"), null);
  assert.equal(normaliseDocumentNumber("other", "1".repeat(21)), null);
  assert.equal(normaliseDocumentNumber("other", "AB-123"), null);
  assert.equal(normaliseDocumentNumber("unknown", "AB123"), null);
});

test("a passport is at best a weak match, on the name alone", () => {
  assert.equal(documentMatch(RECIPIENT, "passport", "NGUYỄN VĂN AN", "C1234567"), "weak");
  assert.equal(documentMatch(RECIPIENT, "passport", "Nguyen Van An", "C1234567"), "weak");
  assert.equal(documentMatch(RECIPIENT, "passport", "Lê Văn Cường", "C1234567"), "mismatch");
  assert.equal(documentMatch(RECIPIENT, "other", "Nguyễn Văn An", "AB12345"), "weak");
});

test("a CCCD is still compared on its last four", () => {
  assert.equal(documentMatch(RECIPIENT, "cccd", "Nguyễn Văn An", "001090123456"), "match");
  assert.equal(documentMatch(RECIPIENT, "cccd", "Nguyễn Văn An", "001090129999"), "mismatch");
});

test("the meta carries the recipient's paper", () => {
  const recipient = { name: "Nguyễn Văn An", relation: "holder", id_document_type: "passport",
    id_check_method: "typed", id_number: "C1234567" };
  const meta = buildMeta({ stop: { stop_id: 5, envelope_code: "HC000000015VN" },
    scan: { method: "typed" }, outcome: "delivered", attemptNumber: 1, recipient, attemptId: "x" });
  assert.equal(meta.recipient.id_document_type, "passport");
});

const STOP = { stop_id: 5, envelope_code: "HC000000015VN" };

test("a CCCD of a dossier with no last four is compared on the name alone", () => {
  const noNumber = { name: "Nguyễn Văn An", id_last4: null };
  assert.equal(documentMatch(noNumber, "cccd", "Nguyễn Văn An", "001090123456"), "match");
  assert.equal(documentMatch(noNumber, "cccd", "Nguyen Van An", "001090123456"), "weak");
  assert.equal(documentMatch(noNumber, "cccd", "Lê Văn Cường", "001090123456"), "mismatch");
  assert.equal(documentMatch(noNumber, "passport", "Nguyễn Văn An", "C1234567"), "weak");
});

test("one holder rule for every method: chip QR, typed, VNeID's last four, other papers", () => {
  const name = "Nguyễn Văn An";
  const cases = [
    [{ method: "chip_qr", name, idNumber: "001090123456" }, "match", true],
    [{ method: "chip_qr", name: "NGUYỄN VĂN ANH", idNumber: "001090123456" }, "mismatch", true],
    [{ method: "typed", name: "Nguyen Van An", idNumber: "001090123456" }, "weak", true],
    [{ method: "typed", name, idNumber: "001090120000" }, "mismatch", false],
    [{ method: "vneid_shown", name, idLast4: "3456" }, "match", true],
    [{ method: "vneid_shown", name: "Nguyen Van An", idLast4: "3456" }, "weak", true],
    [{ method: "vneid_shown", name, idLast4: "3457" }, "mismatch", false],
    [{ method: "vneid_shown", name, idLast4: "" }, "mismatch", false],
    [{ method: "typed", documentType: "passport", name, idNumber: "C1234567" }, "weak", null],
    [{ method: "typed", documentType: "other", name: "Lê Văn Cường", idNumber: "AB12345" }, "mismatch", null],
  ];
  for (const [given, outcome, numberMatch] of cases) {
    const check = checkHolder(RECIPIENT, given);
    assert.deepEqual([check.outcome, check.numberMatch], [outcome, numberMatch], JSON.stringify(given));
  }
});

test("the meta carries the attempt's number, and refuses to be built without one", () => {
  const meta = buildMeta({ stop: STOP, scan: { method: "typed" }, outcome: "failed", reasonCode: "not_home", attemptNumber: 2 });
  assert.equal(meta.attempt_number, 2);
  for (const bad of [undefined, null, 0, 1.5, "2"]) {
    assert.throws(() => buildMeta({ stop: STOP, scan: { method: "typed" }, outcome: "failed", attemptNumber: bad }), TypeError);
  }
});

test("VNeID sends the last four digits and no number; the others the number and no last four", () => {
  const build = (recipient) => buildMeta({ stop: STOP, scan: { method: "typed" }, outcome: "delivered", attemptNumber: 1, recipient }).recipient;
  const vneid = build({ name: "Nguyễn Văn An", relation: "holder", id_document_type: "cccd",
    id_check_method: "vneid_shown", id_number: "001090123456", id_last4: "3456", weak_match_confirmed: true });
  assert.deepEqual([vneid.id_number, vneid.id_last4, vneid.weak_match_confirmed], [null, "3456", true]);
  const chip = build({ name: "Nguyễn Văn An", relation: "holder", id_document_type: "cccd",
    id_check_method: "chip_qr", id_number: "001090123456", id_last4: "3456" });
  assert.deepEqual([chip.id_number, chip.id_last4, chip.weak_match_confirmed], ["001090123456", null, false]);
  // A failure carries no recipient at all.
  assert.equal(buildMeta({ stop: STOP, scan: { method: "typed" }, outcome: "failed", attemptNumber: 1,
    recipient: { name: "x", id_check_method: "typed" } }).recipient, null);
});

test("the signature canvas never exceeds the server's 2400 px a side, nor 3 pixels per CSS pixel", () => {
  // A 360 px phone: its own ratio up to 3.
  assert.equal(signatureRatio(2, 328, 220), 2);
  assert.equal(signatureRatio(4, 328, 220), 3);
  assert.equal(signatureRatio(0.5, 328, 220), 1);
  assert.equal(signatureRatio(undefined, 328, 220), 1);
  // A wide box (a tablet, or zoomed out): the side caps the ratio.
  assert.equal(signatureRatio(3, 1200, 220), 2);
  assert.equal(signatureRatio(8, 3000, 220), 0.8);
  assert.equal(signatureRatio(4, 300, 1000), 2.4);
  for (const [dpr, w, hgt] of [[4, 328, 220], [5.5, 701, 220], [3, 1200, 220], [12, 999, 333], [2.75, 873, 220], [8, 3000, 3000]]) {
    const size = signatureCanvasSize(dpr, w, hgt);
    assert.ok(size.width <= SIGNATURE_MAX_SIDE && size.height <= SIGNATURE_MAX_SIDE, JSON.stringify({ dpr, w, hgt, size }));
    assert.ok(size.ratio <= SIGNATURE_MAX_RATIO);
    assert.equal(size.width, Math.floor(w * size.ratio));
  }
  assert.deepEqual(signatureCanvasSize(4, 328, 220), { ratio: 3, width: 984, height: 660 });
});
