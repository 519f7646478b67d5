"""Vietnam's 12-digit personal identification number: validate, mask, hash."""

from __future__ import annotations

import hashlib
import hmac
import re

from .errors import InvalidIdNumber

ID_NUMBER_DIGITS = 12
VISIBLE_DIGITS = 4
MASK_CHAR = "*"
# Domain separation: the server secret may key other HMACs too.
HASH_CONTEXT = b"trao-id-number:"

_ID_NUMBER = re.compile(rf"[0-9]{{{ID_NUMBER_DIGITS}}}", re.ASCII)


def validate_id_number(s: str) -> str:
    """The 12-digit ID number without surrounding spaces, or raise InvalidIdNumber."""
    if not isinstance(s, str) or not _ID_NUMBER.fullmatch(number := s.strip()):
        raise InvalidIdNumber(
            f"An ID number must be exactly {ID_NUMBER_DIGITS} digits.",
            fields={"id_number": "must be 12 digits"},
        )
    return number


def last4(number: str) -> str:
    """The last four digits, the only part of the number kept in clear."""
    return validate_id_number(number)[-VISIBLE_DIGITS:]


def mask_id_number(number: str) -> str:
    """The number with all but its last four digits hidden, e.g. '********3456'."""
    return MASK_CHAR * (ID_NUMBER_DIGITS - VISIBLE_DIGITS) + last4(number)


def hash_id_number(number: str, key: bytes) -> str:
    """A keyed hash of the number (hex): it has too little entropy to hash unkeyed."""
    if not key:
        raise ValueError("the ID number hashing key must not be empty")
    message = HASH_CONTEXT + validate_id_number(number).encode("ascii")
    return hmac.new(key, message, hashlib.sha256).hexdigest()
