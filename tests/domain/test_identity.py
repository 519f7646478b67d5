import pytest

from backend.domain.errors import InvalidIdNumber
from backend.domain.identity import (
    IdentityCheck,
    IdentityOutcome,
    check_identity,
    may_deliver,
)
from backend.domain.names import NameMatch

NAME = "Nguyễn Văn An"
NUMBER = "001090123456"


def check(given_name=NAME, given_id=NUMBER, expected_last4="3456", expected_name=NAME):
    return check_identity(
        expected_name=expected_name,
        expected_id_last4=expected_last4,
        given_name=given_name,
        given_id_number=given_id,
    )


def test_exact_name_and_number_is_a_match():
    result = check(given_name="NGUYỄN VĂN AN")
    assert result == IdentityCheck(NameMatch.exact, True, IdentityOutcome.match)
    assert may_deliver(result)


def test_name_without_diacritics_is_a_weak_match():
    result = check(given_name="Nguyen Van An")
    assert result.outcome is IdentityOutcome.weak_match
    assert may_deliver(result)


def test_wrong_number_is_a_mismatch_even_with_exact_name():
    result = check(given_id="001090129999")
    assert result.number_match is False
    assert result.outcome is IdentityOutcome.mismatch
    assert not may_deliver(result)


def test_wrong_name_is_a_mismatch():
    result = check(given_name="Trần Thị Bích")
    assert result.name_match is NameMatch.mismatch
    assert not may_deliver(result)


def test_expected_number_but_none_shown_is_a_mismatch():
    result = check(given_id=None)
    assert result.number_match is False and not may_deliver(result)


def test_no_expected_number_checks_the_name_only():
    assert check(expected_last4=None, given_id=None).outcome is IdentityOutcome.match
    result = check(expected_last4=None, given_name="Nguyen Van An", given_id="079303001234")
    assert result.outcome is IdentityOutcome.weak_match


def test_a_malformed_shown_number_is_refused():
    with pytest.raises(InvalidIdNumber):
        check(given_id="12345")


def test_a_malformed_expected_last4_is_a_programming_error():
    with pytest.raises(ValueError):
        check(expected_last4="34a6")
