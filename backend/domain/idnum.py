"""Vietnam's 12-digit personal identification number, and the other identity papers' numbers.

A chip ID card (CCCD/Căn cước) carries the 12-digit personal identification number; a
Vietnamese passport a letter and 7 digits (e.g. "C1234567"); another identity paper 5 to 20
letters or digits. Only the last four characters and a keyed hash are ever kept.
"""

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

DOCUMENT_TYPES = ("cccd", "passport", "other")
_PASSPORT_NUMBER = re.compile(r"[A-Z][0-9]{7}", re.ASCII)
_OTHER_NUMBER = re.compile(r"[A-Z0-9]{5,20}", re.ASCII)
_SPACES = re.compile(r"\s+")
_DOCUMENT_RULES = {
    "passport": (_PASSPORT_NUMBER, "must be a letter and 7 digits"),
    "other": (_OTHER_NUMBER, "must be 5 to 20 letters or digits"),
}


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


def validate_document_number(doc_type: str, number: str) -> str:
    """The number of an identity paper of `doc_type`, normalised, or raise InvalidIdNumber.

    cccd: the 12-digit rule above. passport: one letter and 7 digits. other: 5 to 20 letters or
    digits. Spaces are dropped and letters upper-cased for the passport and other papers.
    """
    if doc_type == "cccd":
        return validate_id_number(number)
    if doc_type not in _DOCUMENT_RULES:
        raise ValueError(f"unknown identity document type: {doc_type!r}")
    pattern, message = _DOCUMENT_RULES[doc_type]
    normalised = _SPACES.sub("", number).upper() if isinstance(number, str) else ""
    if not pattern.fullmatch(normalised):
        raise InvalidIdNumber(
            f"The {doc_type} number is not valid: it {message}.",
            fields={"id_number": message},
        )
    return normalised


def document_last4(doc_type: str, number: str) -> str:
    """The last four characters of a paper's number, the only part kept in clear."""
    return validate_document_number(doc_type, number)[-VISIBLE_DIGITS:]


def hash_document_number(doc_type: str, number: str, key: bytes) -> str:
    """A keyed hash of a paper's number (hex); a CCCD number hashes as hash_id_number does."""
    if doc_type == "cccd":
        return hash_id_number(number, key)
    if not key:
        raise ValueError("the ID number hashing key must not be empty")
    normalised = validate_document_number(doc_type, number)
    message = HASH_CONTEXT + f"{doc_type}:{normalised}".encode("ascii")
    return hmac.new(key, message, hashlib.sha256).hexdigest()
