// Reading a chip ID card's QR, and comparing names: mirrors backend/domain/cccd.py and names.py.
import { fold } from "./format.js";

const MAX_QR_CHARS = 1024;
const STANDARD_FIELDS = 7;
const SHORT_FIELDS = 6;
const MAX_FIELDS = 16;
const MIN_BIRTH_YEAR = 1900;

/**
 * Thrown when a text is not a readable ID card's QR: `code` is stable (the app words it, see
 * idQrReasonKey), the message a short English reason for logs.
 */
export class InvalidIdQr extends Error {
  constructor(code, message = code) {
    super(message);
    this.name = "InvalidIdQr";
    this.code = code;
  }
}

/** Every InvalidIdQr code, for the words the app has for each. */
export const ID_QR_CODES = Object.freeze([
  "not_text", "too_long", "empty", "envelope_qr", "invisible_characters", "field_count",
  "number_format", "old_number_format", "name_empty", "name_not_a_name", "name_has_digits",
  "address_too_long", "birth_date_format", "birth_date_not_real", "birth_date_future",
  "birth_date_too_early", "issue_date_format", "issue_date_not_real", "issue_date_future",
  "issue_date_too_early", "sex_value", "issued_before_birth", "unknown_province",
  "century_mismatch", "year_mismatch", "sex_mismatch",
]);

/** The i18n key of why a QR was refused as an ID card ("scan_not_id_card" for anything else). */
export function idQrReasonKey(err) {
  return err instanceof InvalidIdQr && ID_QR_CODES.includes(err.code) ? `idqr_${err.code}` : "scan_not_id_card";
}

/** which: "birth" | "issue", naming the codes (birth_date_future…) and the message. */
function parseDate(value, which, today) {
  const label = which === "birth" ? "date of birth" : "issue date";
  if (!/^[0-9]{8}$/.test(value)) throw new InvalidIdQr(`${which}_date_format`, `${label} must be 8 digits (ddMMyyyy)`);
  const d = Number(value.slice(0, 2));
  const m = Number(value.slice(2, 4));
  const y = Number(value.slice(4));
  const date = new Date(Date.UTC(y, m - 1, d));
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) {
    throw new InvalidIdQr(`${which}_date_not_real`, `${label} is not a real date`);
  }
  const todayUtc = Date.UTC(today.getFullYear(), today.getMonth(), today.getDate());
  if (date.getTime() > todayUtc) throw new InvalidIdQr(`${which}_date_future`, `${label} is in the future`);
  if (y < MIN_BIRTH_YEAR) throw new InvalidIdQr(`${which}_date_too_early`, `${label} is before ${MIN_BIRTH_YEAR}`);
  return { y, m, d, time: date.getTime() };
}

function parseSex(value) {
  const v = value.normalize("NFC").toLowerCase();
  if (v === "nam") return "Nam";
  if (v === "nữ") return "Nữ";
  throw new InvalidIdQr("sex_value", "sex must be Nam or Nữ");
}

/** The fields of a chip ID card QR text, or throw InvalidIdQr. */
export function parseCccdQr(text, today = new Date()) {
  if (typeof text !== "string") throw new InvalidIdQr("not_text", "the QR code holds no text");
  if (text.length > MAX_QR_CHARS) throw new InvalidIdQr("too_long", "text is too long for an ID card QR");
  text = text.normalize("NFC").trim();
  if (!text) throw new InvalidIdQr("empty", "the QR code is empty");
  if (text.startsWith("TR1:")) throw new InvalidIdQr("envelope_qr", "this is an envelope QR code, not an ID card");
  if (/\p{C}/u.test(text)) throw new InvalidIdQr("invisible_characters", "text contains control or invisible characters");
  const fields = text.split("|").map((f) => f.trim());
  let variant;
  if (fields.length === STANDARD_FIELDS) variant = "cccd_7";
  else if (fields.length === SHORT_FIELDS) {
    variant = "cccd_6";
    fields.splice(1, 0, "");
  } else if (fields.length > STANDARD_FIELDS && fields.length <= MAX_FIELDS) variant = "can_cuoc";
  else throw new InvalidIdQr("field_count", `expected 6 or 7 fields, got ${fields.length}`);
  const [number, oldNumber, rawName, birth, sexText, address, issued] = fields;
  if (!/^[0-9]{12}$/.test(number)) throw new InvalidIdQr("number_format", "ID number must be 12 digits");
  if (oldNumber && !/^[0-9]{9}$/.test(oldNumber)) throw new InvalidIdQr("old_number_format", "old ID number must be 9 digits");
  const name = rawName.split(/\s+/).filter(Boolean).join(" ");
  if (!name) throw new InvalidIdQr("name_empty", "full name is empty");
  if (name.length > 100 || !/\p{L}/u.test(name)) throw new InvalidIdQr("name_not_a_name", "full name is not a name");
  if (/\p{N}/u.test(name)) throw new InvalidIdQr("name_has_digits", "full name contains digits");
  if (address.length > 400) throw new InvalidIdQr("address_too_long", "address is too long");
  const dob = parseDate(birth, "birth", today);
  const sex = parseSex(sexText);
  const issue = issued ? parseDate(issued, "issue", today) : null;
  if (issue && issue.time <= dob.time) throw new InvalidIdQr("issued_before_birth", "issue date is not after the date of birth");
  const province = Number(number.slice(0, 3));
  if (province < 1 || province > 96) throw new InvalidIdQr("unknown_province", "ID number starts with an unknown province code");
  const centurySex = Number(number[3]);
  const centuryStart = 1900 + 100 * Math.floor(centurySex / 2);
  if (dob.y < centuryStart || dob.y >= centuryStart + 100) {
    throw new InvalidIdQr("century_mismatch", "ID number's century digit does not match the date of birth");
  }
  if (Number(number.slice(4, 6)) !== dob.y % 100) {
    throw new InvalidIdQr("year_mismatch", "ID number's year digits do not match the date of birth");
  }
  if ((sex === "Nữ") !== Boolean(centurySex % 2)) {
    throw new InvalidIdQr("sex_mismatch", "ID number's sex digit does not match the sex field");
  }
  return {
    idNumber: number,
    oldIdNumber: oldNumber || null,
    fullName: name,
    dateOfBirth: `${birth.slice(4)}-${birth.slice(2, 4)}-${birth.slice(0, 2)}`,
    sex,
    address: address.split(/\s+/).filter(Boolean).join(" "),
    variant,
  };
}

const sameLetters = (s) => String(s ?? "").normalize("NFC").split(/\s+/).filter(Boolean).join(" ").toLowerCase();

/** "exact" if equal but for case and spacing, "weak" if equal without diacritics, else "mismatch". */
export function compareNames(expected, given) {
  const a = sameLetters(expected);
  const b = sameLetters(given);
  if (!a || !b) return "mismatch";
  if (a === b) return "exact";
  if (fold(a) === fold(b)) return "weak";
  return "mismatch";
}

const LAST4 = /^[0-9]{4}$/;

/**
 * The holder rule, however the ID was read (backend/domain/identity.py `_verdict`):
 * {outcome: "match" | "weak" | "mismatch", nameMatch: "exact" | "weak" | "mismatch", numberMatch}.
 * The number counts when its last four equal the recipient's; a dossier without `id_last4` has
 * nothing to compare, so the number can't count against the person: the name alone decides.
 * "match" needs the number and the exact name (case and spacing aside); "weak", the number and
 * the name equal only without diacritics; anything else is a "mismatch".
 */
export function holderCheck(recipient, name, givenLast4) {
  const expected = recipient?.id_last4 ?? null;
  const numberMatch = !expected || (LAST4.test(String(givenLast4 ?? "")) && givenLast4 === expected);
  const nameMatch = compareNames(recipient?.name, name);
  const outcome = !numberMatch ? "mismatch" : nameMatch === "exact" ? "match" : nameMatch;
  return { outcome, nameMatch, numberMatch };
}

/** How a CCCD (scanned or typed, its whole number) compares to the recipient: "match" | "weak" | "mismatch". */
export function identityMatch(recipient, name, idNumber) {
  const digits = String(idNumber ?? "").replace(/\s+/g, "");
  return holderCheck(recipient, name, digits.slice(-4)).outcome;
}

/**
 * How an ID shown on VNeID compares to the recipient: VNeID's screen is read by eye, so the
 * postman types the name and the last four digits it shows, compared like the others.
 */
export function vneidMatch(recipient, name, last4) {
  return holderCheck(recipient, name, String(last4 ?? "").replace(/\s+/g, "")).outcome;
}
