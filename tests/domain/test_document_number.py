"""The identity papers other than the CCCD: their numbers, and how they check the holder."""

import pytest

from backend.domain.errors import InvalidIdNumber
from backend.domain.identity import IdentityOutcome, check_identity, may_deliver
from backend.domain.idnum import (
    document_last4,
    hash_document_number,
    hash_id_number,
    validate_document_number,
    validate_id_number,
)
from backend.domain.names import NameMatch

KEY = b"server-secret"
NAME = "Nguyễn Văn An"


@pytest.mark.parametrize("number", ["001090123456", " 001090123456\n", "x", "001 090 123 456"])
def test_cccd_follows_the_12_digit_rule(number):
    try:
        expected = validate_id_number(number)
    except InvalidIdNumber:
        with pytest.raises(InvalidIdNumber):
            validate_document_number("cccd", number)
    else:
        assert validate_document_number("cccd", number) == expected


@pytest.mark.parametrize(
    ("given", "normalised"),
    [("C1234567", "C1234567"), ("c1234567", "C1234567"), (" C 123 4567 ", "C1234567"),
     ("B7654321", "B7654321")],
)  # fmt: skip
def test_a_passport_number_is_a_letter_and_7_digits(given, normalised):
    assert validate_document_number("passport", given) == normalised


@pytest.mark.parametrize(
    "bad", ["", "C123456", "C12345678", "12345678", "CC123456", "C12345A7", "Đ1234567", None]
)
def test_a_malformed_passport_number_is_refused(bad):
    with pytest.raises(InvalidIdNumber) as raised:
        validate_document_number("passport", bad)
    assert "id_number" in raised.value.fields


@pytest.mark.parametrize(("given", "normalised"), [("ab123", "AB123"), ("1" * 20, "1" * 20)])
def test_another_paper_has_5_to_20_letters_or_digits(given, normalised):
    assert validate_document_number("other", given) == normalised


@pytest.mark.parametrize("bad", ["ab12", "1" * 21, "AB-1234", "ÂB1234"])
def test_a_malformed_other_number_is_refused(bad):
    with pytest.raises(InvalidIdNumber):
        validate_document_number("other", bad)


def test_an_unknown_document_type_is_a_programming_error():
    with pytest.raises(ValueError):
        validate_document_number("driving_licence", "C1234567")


def test_last_four_and_keyed_hash_of_a_passport_number():
    assert document_last4("passport", "c1234567") == "4567"
    digest = hash_document_number("passport", "c 1234567", KEY)
    assert digest == hash_document_number("passport", "C1234567", KEY) and len(digest) == 64
    assert digest != hash_document_number("passport", "C1234567", b"other-key")
    assert digest != hash_document_number("other", "C1234567", KEY)  # the type is in the hash
    assert hash_document_number("cccd", "001090123456", KEY) == hash_id_number("001090123456", KEY)
    with pytest.raises(ValueError):
        hash_document_number("passport", "C1234567", b"")


def passport(given_name, number="C1234567", expected_last4="3456"):
    return check_identity(
        expected_name=NAME,
        expected_id_last4=expected_last4,
        given_name=given_name,
        given_id_number=number,
        document_type="passport",
    )


@pytest.mark.parametrize(
    ("name", "name_match"), [("NGUYỄN VĂN AN", "exact"), ("Nguyen Van An", "weak")]
)
def test_a_passport_with_the_holders_name_is_a_weak_match(name, name_match):
    result = passport(name)
    assert result.name_match is NameMatch(name_match)
    assert result.number_match is None
    assert result.outcome is IdentityOutcome.weak_match and may_deliver(result)


def test_a_passport_with_another_name_is_a_mismatch():
    result = passport("Trần Thị Bích")
    assert result.number_match is None and result.outcome is IdentityOutcome.mismatch
    assert not may_deliver(result)


def test_another_paper_is_checked_on_the_name_only_even_with_no_expected_number():
    result = check_identity(
        expected_name=NAME,
        expected_id_last4=None,
        given_name=NAME,
        given_id_number="AB12345",
        document_type="other",
    )
    assert result.outcome is IdentityOutcome.weak_match and result.number_match is None


def test_a_malformed_passport_number_is_refused_by_the_check():
    with pytest.raises(InvalidIdNumber):
        passport(NAME, number="123")


def test_the_default_document_is_the_cccd():
    result = check_identity(
        expected_name=NAME,
        expected_id_last4="3456",
        given_name=NAME,
        given_id_number="001090123456",
    )
    assert result.outcome is IdentityOutcome.match and result.number_match is True
