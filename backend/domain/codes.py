"""UPU S10 envelope codes: two letters, eight digits, a check digit, a country code."""

from __future__ import annotations

import re

from .errors import InvalidEnvelopeCode

S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)
S10_MODULUS = 11
S10_LENGTH = 13
SERIAL_DIGITS = 8
MAX_SERIAL = 10**SERIAL_DIGITS - 1
DEFAULT_PREFIX = "HC"  # service indicator chosen for Trao's envelopes
DEFAULT_COUNTRY = "VN"

# re.ASCII: str.isdigit()/isalpha() would accept Arabic digits or "Đ".
_LETTERS2 = re.compile(r"[A-Z]{2}", re.ASCII)
_DIGITS = re.compile(r"[0-9]+", re.ASCII)


def s10_check_digit(digits: str) -> int:
    """The S10 check digit of an eight-digit serial number."""
    if len(digits) != SERIAL_DIGITS or not _DIGITS.fullmatch(digits):
        raise ValueError("the serial number must be exactly 8 ASCII digits")
    total = sum(int(d) * w for d, w in zip(digits, S10_WEIGHTS, strict=True))
    check = S10_MODULUS - total % S10_MODULUS
    # S10 maps the two out-of-range results onto digits: 10 -> 0, 11 -> 5.
    return {10: 0, 11: 5}.get(check, check)


def make_envelope_code(
    serial: int, prefix: str = DEFAULT_PREFIX, country: str = DEFAULT_COUNTRY
) -> str:
    """The S10 code for a serial, e.g. 12345678 gives 'HC123456785VN'."""
    if isinstance(serial, bool) or not isinstance(serial, int) or not 0 <= serial <= MAX_SERIAL:
        raise ValueError(f"serial must be an integer from 0 to {MAX_SERIAL}")
    for name, value in (("prefix", prefix), ("country", country)):
        if not isinstance(value, str) or not _LETTERS2.fullmatch(value):
            raise ValueError(f"{name} must be two uppercase letters A-Z")
    digits = f"{serial:0{SERIAL_DIGITS}d}"
    return f"{prefix}{digits}{s10_check_digit(digits)}{country}"


def _invalid(code: str, reason: str) -> InvalidEnvelopeCode:
    return InvalidEnvelopeCode(
        f"Invalid envelope code: {reason}.", fields={"code": code, "reason": reason}
    )


def validate_envelope_code(code: str) -> str:
    """The code upper-cased without spaces, or raise InvalidEnvelopeCode saying why."""
    if not isinstance(code, str):
        raise _invalid(repr(code), "not text")
    # Labels print the code grouped ("HC 123 456 785 VN"); a typed copy may keep the spaces.
    normal = "".join(code[:64].split()).upper() if len(code) <= 64 else code.strip().upper()
    if len(normal) != S10_LENGTH:
        # Do not echo arbitrarily long input back into error payloads.
        raise _invalid(normal[:32], f"expected {S10_LENGTH} characters, got {len(normal)}")
    if not _LETTERS2.fullmatch(normal[:2]):
        raise _invalid(normal, "the first two characters must be letters")
    if not _LETTERS2.fullmatch(normal[-2:]):
        raise _invalid(normal, "the last two characters must be letters")
    digits, check = normal[2:10], normal[10]
    if not _DIGITS.fullmatch(digits + check):
        raise _invalid(normal, "characters 3 to 11 must be digits")
    if int(check) != s10_check_digit(digits):
        raise _invalid(normal, "the check digit does not match")
    return normal


def is_valid_envelope_code(code: str) -> bool:
    """Whether the text is a valid S10 code (after stripping and upper-casing)."""
    try:
        validate_envelope_code(code)
    except InvalidEnvelopeCode:
        return False
    return True
