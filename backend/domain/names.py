"""Comparing Vietnamese personal names as printed, typed or read from a chip card."""

from __future__ import annotations

import unicodedata
from enum import StrEnum


class NameMatch(StrEnum):
    """How closely a name given at the door matches the expected one."""

    exact = "exact"  # same letters and diacritics, ignoring case and spacing
    weak = "weak"  # same only once diacritics are removed (typed without accents)
    mismatch = "mismatch"


def normalise_name(s: str) -> str:
    """The name in NFC with runs of whitespace collapsed to one space."""
    # Phones and PDFs may send decomposed (NFD) Vietnamese: compose before comparing.
    return " ".join(unicodedata.normalize("NFC", s).split())


def fold_name(s: str) -> str:
    """The name without diacritics (đ -> d), lower case, spacing collapsed."""
    decomposed = unicodedata.normalize("NFD", s)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    # Đ/đ are letters of their own, not d plus a mark: NFD leaves them alone.
    bare = bare.replace("đ", "d").replace("Đ", "D")
    return " ".join(bare.casefold().split())


def _same_letters(s: str) -> str:
    return unicodedata.normalize("NFC", normalise_name(s).casefold())


def compare_names(expected: str, given: str) -> NameMatch:
    """Exact if equal but for case and spacing, weak if equal without diacritics."""
    # Chip cards print names in upper case: case never shows a different person.
    if not _same_letters(expected) or not _same_letters(given):
        return NameMatch.mismatch
    if _same_letters(expected) == _same_letters(given):
        return NameMatch.exact
    if fold_name(expected) == fold_name(given):
        return NameMatch.weak
    return NameMatch.mismatch
