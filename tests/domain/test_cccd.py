import contextlib
import unicodedata
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.domain.cccd import MAX_QR_CHARS, CccdData, parse_cccd_qr
from backend.domain.errors import InvalidIdQr

TODAY = date(2025, 6, 1)
STANDARD = "001090123456|012345678|Nguyễn Văn An|01011990|Nam|Số 5, Lạng Sơn|15042021"


def parse(text: str) -> CccdData:
    return parse_cccd_qr(text, today=TODAY)


def refuses(text: str) -> str:
    with pytest.raises(InvalidIdQr) as exc:
        parse(text)
    assert exc.value.code == "invalid_id_qr"
    return exc.value.message


def test_standard_seven_fields():
    assert parse(STANDARD) == CccdData(
        id_number="001090123456",
        old_id_number="012345678",
        full_name="Nguyễn Văn An",
        date_of_birth=date(1990, 1, 1),
        sex="Nam",
        address="Số 5, Lạng Sơn",
        issue_date=date(2021, 4, 15),
        variant="cccd_7",
    )


def test_seven_fields_with_empty_old_number():
    data = parse("001090123456||Nguyễn Văn An|01011990|Nam|Lạng Sơn|15042021")
    assert data.old_id_number is None and data.variant == "cccd_7"


def test_six_fields_without_old_number():
    data = parse("079303001234|TRẦN THỊ BÍCH|09092003|Nữ|Quận 1, TP Hồ Chí Minh|10102021")
    assert data.variant == "cccd_6"
    assert data.old_id_number is None
    assert data.full_name == "TRẦN THỊ BÍCH"  # kept as printed
    assert data.sex == "Nữ"
    assert data.date_of_birth == date(2003, 9, 9)


@pytest.mark.parametrize("extra", ["|", "||", "|Hà Nội|x", "|" + "|".join(["a"] * 9)])
def test_can_cuoc_card_extra_fields_are_ignored(extra):
    data = parse(STANDARD + extra)
    assert data.variant == "can_cuoc"
    assert data.id_number == "001090123456"
    assert data.issue_date == date(2021, 4, 15)


@pytest.mark.parametrize("sex", ["NAM", "nam", "Nam"])
def test_sex_is_case_insensitive_and_canonical(sex):
    assert parse(STANDARD.replace("|Nam|", f"|{sex}|")).sex == "Nam"


def test_upper_case_female():
    text = "079303001234|TRẦN THỊ BÍCH|09092003|NỮ|Quận 1|10102021"
    assert parse(text).sex == "Nữ"


def test_decomposed_text_is_normalised():
    data = parse(unicodedata.normalize("NFD", STANDARD))
    assert data.full_name == "Nguyễn Văn An"
    assert unicodedata.is_normalized("NFC", data.address)


def test_whitespace_around_text_and_fields_is_tolerated():
    text = " 001090123456 | 012345678 |  Nguyễn   Văn An |01011990|Nam|Lạng Sơn|15042021\n"
    data = parse(text)
    assert data.full_name == "Nguyễn Văn An" and data.old_id_number == "012345678"


def test_missing_issue_date_is_allowed():
    assert parse("001090123456||Nguyễn Văn An|01011990|Nam|Lạng Sơn|").issue_date is None


def test_default_today_is_the_real_date():
    assert parse_cccd_qr(STANDARD).id_number == "001090123456"


def _with(field: int, value: str) -> str:
    fields = STANDARD.split("|")
    fields[field] = value
    return "|".join(fields)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("a|b|c", "expected 6 or 7 fields, got 3"),
        ("just some text", "expected 6 or 7 fields, got 1"),
        ("|" * 20, "expected 6 or 7 fields, got 21"),
        ("", "empty"),
        ("   ", "empty"),
        ("TR1:HC123456785VN:AAAAAAAAAAAAAAAA", "envelope QR code"),
        ("x" * (MAX_QR_CHARS + 1), "too long"),
        (STANDARD.replace("Văn", "Văn\n"), "control"),
        (STANDARD.replace("Văn", "Văn\u200b"), "invisible"),
        (_with(0, "00109012345"), "ID number must be 12 digits"),
        (_with(0, "00109012345a"), "ID number must be 12 digits"),
        (_with(0, "097090123456"), "province code 097"),
        (_with(0, "000090123456"), "province code 000"),
        (_with(0, "001290123456"), "century digit"),
        (_with(0, "001091123456"), "year digits"),
        (_with(0, "001190123456"), "sex digit"),
        (_with(1, "12345678"), "old ID number must be 9 digits"),
        (_with(2, ""), "full name is empty"),
        (_with(2, "Nguyen Van 4n"), "digits"),
        (_with(2, "..."), "not a name"),
        (_with(3, "1011990"), "date of birth must be 8 digits"),
        (_with(3, "31021990"), "date of birth is not a real date"),
        (_with(3, "01011890"), "before 1900"),
        (_with(4, "Male"), "sex must be Nam or Nữ"),
        (_with(6, "15042099"), "issue date is in the future"),
        (_with(6, "01011980"), "issue date is not after the date of birth"),
    ],
)
def test_refusals_say_why(text, reason):
    assert reason in refuses(text)


def test_future_birth_date_is_refused():
    text = "001225123456||Bé Na|01012025|Nam|Hà Nội|"
    assert parse_cccd_qr(text, today=date(2025, 6, 1)).date_of_birth == date(2025, 1, 1)
    assert "in the future" in refuses(text.replace("01012025", "01072025"))


def test_non_text_is_refused():
    with pytest.raises(InvalidIdQr):
        parse_cccd_qr(b"001090123456")  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300) | st.lists(st.text(max_size=20), max_size=10).map("|".join))
def test_arbitrary_text_never_raises_anything_but_invalid_id_qr(text):
    with contextlib.suppress(InvalidIdQr):
        parse(text)
