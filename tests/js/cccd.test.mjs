// The chip ID card's QR and name comparison: the JS mirror of backend/domain/cccd.py and names.py.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ID_QR_CODES, InvalidIdQr, compareNames, holderCheck, idQrReasonKey, identityMatch, parseCccdQr, vneidMatch } from "../../pwa/static/js/cccd.js";
import { MESSAGES } from "../../pwa/static/js/i18n.js";

const TODAY = new Date(2026, 10, 23);
const CARD7 = "001090123456|012345678|Nguyễn Văn An|01011990|Nam|Số 5, Kỳ Lừa, Lạng Sơn|15042021";

test("a 7-field card is read", () => {
  const card = parseCccdQr(CARD7, TODAY);
  assert.deepEqual(
    [card.idNumber, card.oldIdNumber, card.fullName, card.dateOfBirth, card.sex, card.variant],
    ["001090123456", "012345678", "Nguyễn Văn An", "1990-01-01", "Nam", "cccd_7"],
  );
});

test("6 fields (no old number), upper case, and the 2024 Căn cước's extra fields", () => {
  const six = parseCccdQr("001090123456|NGUYỄN VĂN AN|01011990|Nam|Lạng Sơn|15042021", TODAY);
  assert.equal(six.variant, "cccd_6");
  assert.equal(six.oldIdNumber, null);
  assert.equal(six.fullName, "NGUYỄN VĂN AN");
  const canCuoc = parseCccdQr(`${CARD7}|Nguyễn Văn B|Trần Thị C|extra`, TODAY);
  assert.equal(canCuoc.variant, "can_cuoc");
});

test("decomposed (NFD) text is composed before reading", () => {
  const card = parseCccdQr(CARD7.normalize("NFD"), TODAY);
  assert.equal(card.fullName, "Nguyễn Văn An");
});

test("a female born in the 2000s: century and sex digit agree", () => {
  const card = parseCccdQr("020305004321||Lê Thị Hoa|12032005|Nữ|Lạng Sơn|", TODAY);
  assert.equal(card.sex, "Nữ");
});

// Each refusal carries a stable code, so the app can say why in the postman's language.
const BAD = {
  field_count: ["wrong field count", "001090123456|Nguyễn Văn An|01011990"],
  number_format: ["ID not 12 digits", "00109012345|012345678|Nguyễn Văn An|01011990|Nam|X|15042021"],
  old_number_format: ["old number not 9 digits", "001090123456|0123|Nguyễn Văn An|01011990|Nam|X|15042021"],
  name_has_digits: ["digits in the name", "001090123456|012345678|Nguyen 2|01011990|Nam|X|15042021"],
  name_not_a_name: ["no letter in the name", "001090123456|012345678|---|01011990|Nam|X|15042021"],
  birth_date_not_real: ["impossible date", "001090123456|012345678|Nguyễn Văn An|31021990|Nam|X|15042021"],
  birth_date_future: ["future birth", "001099123456|012345678|Nguyễn Văn An|01012099|Nam|X|15042021"],
  birth_date_format: ["birth date not 8 digits", "001090123456|012345678|Nguyễn Văn An|1/1/1990|Nam|X|15042021"],
  birth_date_too_early: ["born before 1900", "001890123456|012345678|Nguyễn Văn An|01011890|Nam|X|15042021"],
  issue_date_future: ["issued in the future", "001090123456|012345678|Nguyễn Văn An|01011990|Nam|X|15042099"],
  sex_value: ["sex word", "001090123456|012345678|Nguyễn Văn An|01011990|M|X|15042021"],
  year_mismatch: ["year digits disagree", "001091123456|012345678|Nguyễn Văn An|01011990|Nam|X|15042021"],
  sex_mismatch: ["sex digit disagrees", "001190123456|012345678|Nguyễn Văn An|01011990|Nam|X|15042021"],
  century_mismatch: ["a forged century digit: 2 (a man born 2000-2099) for a 1990 birth", "001290123456|012345678|Nguyễn Văn An|01011990|Nam|X|15042021"],
  unknown_province: ["unknown province", "099090123456|012345678|Nguyễn Văn An|01011990|Nam|X|15042021"],
  issued_before_birth: ["issued before birth", "001090123456|012345678|Nguyễn Văn An|01011990|Nam|X|15041989"],
  envelope_qr: ["an envelope QR", "TR1:HC123456785VN:ABCDEFGHIJKLMNOP"],
  invisible_characters: ["control characters", "001090123456|012345678|Nguyễn\u200bVăn An|01011990|Nam|X|15042021"],
  empty: ["empty", "   "],
  too_long: ["too long", "9".repeat(2000)],
};

for (const [code, [why, text]] of Object.entries(BAD)) {
  test(`refused with code ${code}: ${why}`, () => {
    assert.throws(() => parseCccdQr(text, TODAY), (err) => err instanceof InvalidIdQr && err.code === code);
  });
}

test("not a string: refused with a code, like every other refusal", () => {
  assert.throws(() => parseCccdQr(null, TODAY), (err) => err instanceof InvalidIdQr && err.code === "not_text");
});

test("every refusal code is a known one, and has words in Vietnamese and English", () => {
  for (const code of Object.keys(BAD)) assert.ok(ID_QR_CODES.includes(code), code);
  for (const code of ID_QR_CODES) {
    const key = idQrReasonKey(new InvalidIdQr(code));
    assert.equal(key, `idqr_${code}`);
    for (const lang of ["vi", "en"]) assert.ok(MESSAGES[lang][key], `${lang}.${key}`);
  }
});

test("anything that is not a coded refusal falls back to the generic words", () => {
  assert.equal(idQrReasonKey(new InvalidIdQr("no_such_code")), "scan_not_id_card");
  assert.equal(idQrReasonKey(new Error("boom")), "scan_not_id_card");
});

test("names: exact ignoring case and spacing, weak without diacritics, else mismatch", () => {
  assert.equal(compareNames("Nguyễn Văn An", "NGUYỄN  VĂN AN"), "exact");
  assert.equal(compareNames("Nguyễn Văn An", "Nguyễn Văn An".normalize("NFD")), "exact");
  assert.equal(compareNames("Nguyễn Văn An", "Nguyen Van An"), "weak");
  assert.equal(compareNames("Đặng Thị Đào", "dang thi dao"), "weak");
  assert.equal(compareNames("Nguyễn Văn An", "Nguyễn Văn Ân"), "weak");
  assert.equal(compareNames("Nguyễn Văn An", "Nguyễn Văn Anh"), "mismatch");
  assert.equal(compareNames("Nguyễn Văn An", ""), "mismatch");
});

test("identity: last four digits and the name", () => {
  const recipient = { name: "Nông Hồng Hà", id_last4: "7926" };
  assert.equal(identityMatch(recipient, "NÔNG HỒNG HÀ", "020194797926"), "match");
  assert.equal(identityMatch(recipient, "Nong Hong Ha", "020194797926"), "weak");
  assert.equal(identityMatch(recipient, "Nông Hồng Hà", "020194791111"), "mismatch");
  assert.equal(identityMatch(recipient, "Nguyễn Văn An", "020194797926"), "mismatch");
});

test("identity: a dossier with no last four compares the name alone, as the server does", () => {
  for (const recipient of [{ name: "Nông Hồng Hà", id_last4: null }, { name: "Nông Hồng Hà" }]) {
    assert.equal(identityMatch(recipient, "NÔNG HỒNG HÀ", "020194797926"), "match");
    assert.equal(identityMatch(recipient, "Nong Hong Ha", "001090123456"), "weak");
    assert.equal(identityMatch(recipient, "Nguyễn Văn An", "020194797926"), "mismatch");
    assert.equal(vneidMatch(recipient, "Nông Hồng Hà", "1234"), "match");
  }
});

test("VNeID: the name typed and the last four digits it shows, compared like a card", () => {
  const recipient = { name: "Nông Hồng Hà", id_last4: "7926" };
  assert.equal(vneidMatch(recipient, "nông  hồng hà", "7926"), "match");
  assert.equal(vneidMatch(recipient, "Nông Hồng Hà", " 79 26 "), "match");
  assert.equal(vneidMatch(recipient, "Nong Hong Ha", "7926"), "weak");
  assert.equal(vneidMatch(recipient, "Nông Hồng Hà", "7925"), "mismatch");
  assert.equal(vneidMatch(recipient, "Nong Hong Ha", "1111"), "mismatch"); // weak name, wrong number
  assert.equal(vneidMatch(recipient, "Nông Hồng Hải", "7926"), "mismatch");
  assert.equal(vneidMatch(recipient, "Nông Hồng Hà", "926"), "mismatch");
  assert.equal(vneidMatch(recipient, "Nông Hồng Hà", "79a6"), "mismatch");
});

test("the holder check says what agreed: the name, the number", () => {
  const recipient = { name: "Nông Hồng Hà", id_last4: "7926" };
  assert.deepEqual(holderCheck(recipient, "Nông Hồng Hà", "7926"), { outcome: "match", nameMatch: "exact", numberMatch: true });
  assert.deepEqual(holderCheck(recipient, "Nông Hồng Hà", "0000"), { outcome: "mismatch", nameMatch: "exact", numberMatch: false });
  assert.deepEqual(holderCheck(recipient, "Lê Văn Cường", "7926"), { outcome: "mismatch", nameMatch: "mismatch", numberMatch: true });
  assert.deepEqual(holderCheck({ name: "Nông Hồng Hà" }, "Nong Hong Ha", null), { outcome: "weak", nameMatch: "weak", numberMatch: true });
});
