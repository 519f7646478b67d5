"""Reading the QR code of Vietnam's chip ID card (CCCD) and the 2024 Căn cước card."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from .envelope_qr import QR_PREFIX as ENVELOPE_QR_PREFIX
from .errors import InvalidIdQr
from .idnum import ID_NUMBER_DIGITS

MAX_QR_CHARS = 1024  # a real card's text is about 150 characters
FIELD_SEPARATOR = "|"
STANDARD_FIELDS = 7  # id|old id|name|birth date|sex|address|issue date
SHORT_FIELDS = 6  # the same without the old ID number
# The Căn cước card adds fields after the standard seven; more than this is not a card.
MAX_FIELDS = 16
OLD_ID_DIGITS = 9
MAX_NAME_CHARS = 100
MAX_ADDRESS_CHARS = 400
DATE_FORMAT_LABEL = "ddMMyyyy"
MIN_BIRTH_YEAR = 1900
# Province codes of birth registration run from 001 to 096 (Circular 07/2016/TT-BCA).
MIN_PROVINCE_CODE, MAX_PROVINCE_CODE = 1, 96
SEX_MALE, SEX_FEMALE = "Nam", "Nữ"

VARIANT_CCCD_7 = "cccd_7"
VARIANT_CCCD_6 = "cccd_6"
VARIANT_CAN_CUOC = "can_cuoc"

_DIGITS8 = re.compile(r"[0-9]{8}", re.ASCII)
_ID_NUMBER = re.compile(rf"[0-9]{{{ID_NUMBER_DIGITS}}}", re.ASCII)
_OLD_ID = re.compile(rf"[0-9]{{{OLD_ID_DIGITS}}}", re.ASCII)


@dataclass(frozen=True)
class CccdData:
    """The identity fields read from an ID card's QR code."""

    id_number: str
    old_id_number: str | None
    full_name: str
    date_of_birth: date
    sex: str
    address: str
    issue_date: date | None
    variant: str


def _parse_date(value: str, label: str, today: date) -> date:
    if not _DIGITS8.fullmatch(value):
        raise InvalidIdQr(f"{label} must be 8 digits ({DATE_FORMAT_LABEL}), got {value[:16]!r}")
    try:
        parsed = date(int(value[4:]), int(value[2:4]), int(value[:2]))
    except ValueError:
        raise InvalidIdQr(f"{label} is not a real date: {value}") from None
    if parsed > today:
        raise InvalidIdQr(f"{label} is in the future: {value}")
    if parsed.year < MIN_BIRTH_YEAR:
        raise InvalidIdQr(f"{label} is before {MIN_BIRTH_YEAR}: {value}")
    return parsed


def _parse_sex(value: str) -> str:
    folded = value.casefold()
    if folded == SEX_MALE.casefold():
        return SEX_MALE
    if folded == SEX_FEMALE.casefold():
        return SEX_FEMALE
    raise InvalidIdQr(f"sex must be {SEX_MALE} or {SEX_FEMALE}, got {value[:16]!r}")


def _check_id_number(number: str, date_of_birth: date, sex: str) -> None:
    if not _ID_NUMBER.fullmatch(number):
        raise InvalidIdQr(f"ID number must be {ID_NUMBER_DIGITS} digits")
    if not MIN_PROVINCE_CODE <= int(number[:3]) <= MAX_PROVINCE_CODE:
        raise InvalidIdQr(f"ID number starts with an unknown province code {number[:3]}")
    # Digit 4 encodes century and sex (0/1: 1900s, 2/3: 2000s, …; even male, odd
    # female), digits 5-6 the year of birth: fields that disagree are not a real card.
    century_sex = int(number[3])
    century_start = 1900 + 100 * (century_sex // 2)
    if not century_start <= date_of_birth.year < century_start + 100:
        raise InvalidIdQr("ID number's century digit does not match the date of birth")
    if int(number[4:6]) != date_of_birth.year % 100:
        raise InvalidIdQr("ID number's year digits do not match the date of birth")
    if (sex == SEX_FEMALE) != bool(century_sex % 2):
        raise InvalidIdQr("ID number's sex digit does not match the sex field")


def parse_cccd_qr(text: str, *, today: date | None = None) -> CccdData:
    """The fields of a chip ID card's QR text, or raise InvalidIdQr with the reason."""
    today = today or date.today()
    if not isinstance(text, str):
        raise InvalidIdQr("the QR code holds no text")
    if len(text) > MAX_QR_CHARS:
        raise InvalidIdQr(f"text is too long for an ID card QR ({len(text)} characters)")
    text = unicodedata.normalize("NFC", text).strip()
    if not text:
        raise InvalidIdQr("the QR code is empty")
    if text.startswith(ENVELOPE_QR_PREFIX + ":"):
        raise InvalidIdQr("this is an envelope QR code, not an ID card")
    if any(unicodedata.category(ch).startswith("C") for ch in text):
        raise InvalidIdQr("text contains control or invisible characters")

    fields = [f.strip() for f in text.split(FIELD_SEPARATOR)]
    count = len(fields)
    if count == STANDARD_FIELDS:
        variant = VARIANT_CCCD_7
    elif count == SHORT_FIELDS:
        variant = VARIANT_CCCD_6
        fields.insert(1, "")  # no old number: align with the standard layout
    elif STANDARD_FIELDS < count <= MAX_FIELDS:
        variant = VARIANT_CAN_CUOC
    else:
        raise InvalidIdQr(f"expected 6 or 7 fields, got {count}")
    number, old_number, name, birth, sex_text, address, issued = fields[:STANDARD_FIELDS]

    if not _ID_NUMBER.fullmatch(number):
        raise InvalidIdQr(f"ID number must be {ID_NUMBER_DIGITS} digits")
    if old_number and not _OLD_ID.fullmatch(old_number):
        raise InvalidIdQr(f"old ID number must be {OLD_ID_DIGITS} digits")
    name = " ".join(name.split())
    if not name:
        raise InvalidIdQr("full name is empty")
    if len(name) > MAX_NAME_CHARS or not any(ch.isalpha() for ch in name):
        raise InvalidIdQr("full name is not a name")
    if any(ch.isdigit() for ch in name):
        raise InvalidIdQr("full name contains digits")
    if len(address) > MAX_ADDRESS_CHARS:
        raise InvalidIdQr("address is too long")
    date_of_birth = _parse_date(birth, "date of birth", today)
    sex = _parse_sex(sex_text)
    issue_date = _parse_date(issued, "issue date", today) if issued else None
    if issue_date is not None and issue_date <= date_of_birth:
        raise InvalidIdQr("issue date is not after the date of birth")
    _check_id_number(number, date_of_birth, sex)

    return CccdData(
        id_number=number,
        old_id_number=old_number or None,
        full_name=name,
        date_of_birth=date_of_birth,
        sex=sex,
        address=" ".join(address.split()),
        issue_date=issue_date,
        variant=variant,
    )
