// The chip ID card's QR and name comparison: the JS mirror of backend/domain/cccd.py and names.py.
import { test } from "node:test";
import assert from "node:assert/strict";
import { InvalidIdQr, compareNames, identityMatch, parseCccdQr } from "../../pwa/static/js/cccd.js";

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

const BAD = {
  "wrong field count": "001090123456|Nguyễn Văn An|01011990",
  "ID not 12 digits": "00109012345|012345678|Nguyễn Văn An|01011990|Nam|X|15042021",
  "old number not 9 digits": "001090123456|0123|Nguyễn Văn An|01011990|Nam|X|15042021",
  "digits in the name": "001090123456|012345678|Nguyen 2|01011990|Nam|X|15042021",
  "impossible date": "001090123456|012345678|Nguyễn Văn An|31021990|Nam|X|15042021",
  "future birth": "001099123456|012345678|Nguyễn Văn An|01012099|Nam|X|15042021",
  "sex word": "001090123456|012345678|Nguyễn Văn An|01011990|M|X|15042021",
  "year digits disagree": "001091123456|012345678|Nguyễn Văn An|01011990|Nam|X|15042021",
  "sex digit disagrees": "001190123456|012345678|Nguyễn Văn An|01011990|Nam|X|15042021",
  "unknown province": "099090123456|012345678|Nguyễn Văn An|01011990|Nam|X|15042021",
  "issued before birth": "001090123456|012345678|Nguyễn Văn An|01011990|Nam|X|15041989",
  "an envelope QR": "TR1:HC123456785VN:ABCDEFGHIJKLMNOP",
  "control characters": "001090123456|012345678|Nguyễn\u200bVăn An|01011990|Nam|X|15042021",
  empty: "   ",
};

for (const [why, text] of Object.entries(BAD)) {
  test(`refused: ${why}`, () => {
    assert.throws(() => parseCccdQr(text, TODAY), InvalidIdQr);
  });
}

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
