// Words for an attempt the server refused: no raw code in the postman's face.
import { test } from "node:test";
import assert from "node:assert/strict";
import { describeRefusal, refusalKey, refusedFieldKeys } from "../../pwa/static/js/refusals.js";
import { MESSAGES } from "../../pwa/static/js/i18n.js";

test("a known code gets the app's words, in Vietnamese by default", () => {
  const words = describeRefusal({ code: "transition_not_allowed", message: "Action 'fail' is not allowed when the envelope is 'attempt_failed'.", fields: {} });
  assert.equal(words.text, MESSAGES.vi.err_transition_not_allowed);
  assert.deepEqual(words.fields, []);
  assert.doesNotMatch(words.text, /transition_not_allowed|not allowed/);
});

test("an unknown code, or an answer that was not JSON, gets plain words, never the code", () => {
  for (const code of ["something_new", "http_418", "", undefined]) {
    assert.equal(refusalKey(code), "err_unknown");
    assert.equal(describeRefusal({ code, message: "" }).text, MESSAGES.vi.err_unknown);
  }
  assert.equal(describeRefusal(null).text, MESSAGES.vi.err_unknown);
});

test("`invalid`: the server's translated message, and the fields named in words", () => {
  const words = describeRefusal({
    code: "invalid",
    message: "Một số trường chưa hợp lệ.",
    fields: { device_time: ["The phone's clock is ahead of the server's."], recipient: { id_number: ["Must be 12 digits."] } },
  });
  assert.equal(words.text, "Một số trường chưa hợp lệ.");
  assert.deepEqual(words.fields, [MESSAGES.vi.field_device_time, MESSAGES.vi.field_id_number]);
  // No message from the server: the app's own words.
  assert.equal(describeRefusal({ code: "invalid", message: "", fields: {} }).text, MESSAGES.vi.err_invalid);
});

test("field paths are named by their deepest known part, once; unknown parts are left out", () => {
  assert.deepEqual(refusedFieldKeys({ position: { lat: ["Must be between -90 and 90."] } }), ["field_position"]);
  assert.deepEqual(refusedFieldKeys({ files: { 0: { sha256: ["x"] }, 1: { sha256: ["y"] } } }), ["field_files"]);
  assert.deepEqual(refusedFieldKeys({ signature_strokes: { 0: { 3: { x: ["Not a number."] } } } }), ["field_signature_strokes"]);
  assert.deepEqual(refusedFieldKeys({ _schema: ["Invalid input type."], mystery: ["?"] }), []);
  assert.deepEqual(refusedFieldKeys(null), []);
});
