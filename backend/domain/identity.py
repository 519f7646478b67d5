"""Checking the recipient's identity at the door against the expected holder."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from .idnum import VISIBLE_DIGITS, last4, validate_document_number
from .names import NameMatch, compare_names

_LAST4 = re.compile(rf"[0-9]{{{VISIBLE_DIGITS}}}", re.ASCII)


class IdentityOutcome(StrEnum):
    """The verdict of an identity check."""

    match = "match"
    weak_match = "weak_match"
    mismatch = "mismatch"


@dataclass(frozen=True)
class IdentityCheck:
    """What matched between the expected recipient and the ID shown."""

    name_match: NameMatch
    # None when the paper shown is not a CCCD: its number can't be compared with the CCCD's.
    number_match: bool | None
    outcome: IdentityOutcome


def check_identity(
    *,
    expected_name: str,
    expected_id_last4: str | None,
    given_name: str,
    given_id_number: str | None,
    document_type: str = "cccd",
) -> IdentityCheck:
    """Compare the name and ID number shown with the recipient the agency registered.

    A passport or other paper's number can't be compared with the expected CCCD's last four:
    `number_match` is None and the best outcome is a weak match, on the name alone.
    """
    if document_type != "cccd":
        if given_id_number is not None:
            validate_document_number(document_type, given_id_number)
        name_match = compare_names(expected_name, given_name)
        outcome = (
            IdentityOutcome.mismatch
            if name_match is NameMatch.mismatch
            else IdentityOutcome.weak_match
        )
        return IdentityCheck(name_match=name_match, number_match=None, outcome=outcome)
    # A number that is shown must be well formed, whether or not one was expected.
    given_last4 = None if given_id_number is None else last4(given_id_number)
    if expected_id_last4 is None:
        # The agency sent no number: nothing to compare, so it can't count against
        # the recipient.
        number_match = True
    elif not _LAST4.fullmatch(expected_id_last4):
        raise ValueError("expected_id_last4 must be four digits")
    else:
        # A number was expected but none was shown: the check is not passed.
        number_match = given_last4 == expected_id_last4
    return _verdict(number_match, compare_names(expected_name, given_name))


def _verdict(number_match: bool, name_match: NameMatch) -> IdentityCheck:
    """Match when both agree, weak when the name agrees only without diacritics, else mismatch."""
    if number_match and name_match is NameMatch.exact:
        outcome = IdentityOutcome.match
    elif number_match and name_match is NameMatch.weak:
        outcome = IdentityOutcome.weak_match
    else:
        outcome = IdentityOutcome.mismatch
    return IdentityCheck(name_match=name_match, number_match=number_match, outcome=outcome)


def may_deliver(check: IdentityCheck) -> bool:
    """Whether the envelope may be handed over after this check."""
    return check.outcome is not IdentityOutcome.mismatch


def check_holder(
    *,
    method: str,
    expected_name: str,
    expected_id_last4: str | None,
    given_name: str,
    given_id_number: str | None = None,
    given_id_last4: str | None = None,
    document_type: str = "cccd",
) -> IdentityCheck:
    """The holder's identity, by the same rule whichever way it was checked.

    A chip QR scanned or a number typed gives the whole number (see check_identity). VNeID's
    screen can only be read by eye: the postman types the name and the last four digits it
    shows, and both are compared just the same.
    """
    if method != "vneid_shown":
        return check_identity(
            expected_name=expected_name,
            expected_id_last4=expected_id_last4,
            given_name=given_name,
            given_id_number=given_id_number,
            document_type=document_type,
        )
    if given_id_last4 is None or not _LAST4.fullmatch(given_id_last4):
        raise ValueError("VNeID's last four digits must be four digits")
    number_match = expected_id_last4 is None or given_id_last4 == expected_id_last4
    return _verdict(number_match, compare_names(expected_name, given_name))


def needs_confirmation(check: IdentityCheck) -> bool:
    """Whether the postman must confirm the person on the phone before handing over.

    A weak match (the name only without diacritics, or a paper whose number can't be compared)
    may be the right person: the postman looks again and confirms, and the attempt is flagged
    for the supervisor.
    """
    return check.outcome is IdentityOutcome.weak_match
