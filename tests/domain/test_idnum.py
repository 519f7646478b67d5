import pytest

from backend.domain.errors import InvalidIdNumber
from backend.domain.idnum import (
    hash_id_number,
    last4,
    mask_id_number,
    validate_id_number,
)

NUMBER = "001090123456"
KEY = b"server-secret"


def test_validate_strips_surrounding_spaces():
    assert validate_id_number(f" {NUMBER}\n") == NUMBER


@pytest.mark.parametrize(
    "bad", ["", "00109012345", "0010901234567", "00109012345x", "001 090 123 456",
            "٠٠١٠٩٠١٢٣٤٥٦", None, 1090123456],
)  # fmt: skip
def test_validate_refuses_anything_but_twelve_digits(bad):
    with pytest.raises(InvalidIdNumber) as exc:
        validate_id_number(bad)
    assert exc.value.code == "invalid_id_number"
    assert "id_number" in exc.value.fields


def test_last4_and_mask():
    assert last4(NUMBER) == "3456"
    assert mask_id_number(NUMBER) == "********3456"
    with pytest.raises(InvalidIdNumber):
        mask_id_number("123")


def test_hash_is_keyed_stable_and_hides_the_number():
    h = hash_id_number(NUMBER, KEY)
    assert h == hash_id_number(f" {NUMBER} ", KEY)
    assert len(h) == 64 and int(h, 16) >= 0
    assert h != hash_id_number(NUMBER, b"another secret")
    assert h != hash_id_number("001090123457", KEY)
    assert NUMBER not in h


def test_hash_refuses_empty_key_and_bad_numbers():
    with pytest.raises(ValueError):
        hash_id_number(NUMBER, b"")
    with pytest.raises(InvalidIdNumber):
        hash_id_number("12345", KEY)
