// The identity papers' numbers and how a passport checks the holder: the JS mirror of idnum.py.
import { test } from "node:test";
import assert from "node:assert/strict";
import { DOCUMENT_TYPES, buildMeta, documentMatch, normaliseDocumentNumber } from "../../pwa/static/js/attempts.js";

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
    scan: { method: "typed" }, outcome: "delivered", recipient, attemptId: "x" });
  assert.equal(meta.recipient.id_document_type, "passport");
});
