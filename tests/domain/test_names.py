import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.domain.names import NameMatch, compare_names, fold_name, normalise_name

SYLLABLES = [
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng",
    "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý", "Văn", "Thị", "Hữu", "Đức", "Minh",
    "Ngọc", "Thu", "Hương", "Quỳnh", "Tuấn", "Dũng", "Nguyệt", "Phương", "Khánh",
    "Thủy", "Thụy", "Ánh", "Ất", "Ưng", "Ơn", "Giáp", "Yến", "Đào", "Xuân",
]  # fmt: skip


def test_normalise_composes_and_collapses_spaces():
    nfd = unicodedata.normalize("NFD", "Nguyễn  Văn\tAn ")
    assert normalise_name(nfd) == "Nguyễn Văn An"
    assert unicodedata.is_normalized("NFC", normalise_name(nfd))


def test_fold_strips_diacritics_and_d_bar():
    assert fold_name("  ĐẶNG Thị   Đào ") == "dang thi dao"
    assert fold_name(unicodedata.normalize("NFD", "Nguyễn Thủy")) == "nguyen thuy"


@pytest.mark.parametrize(
    ("expected", "given", "result"),
    [
        ("Nguyễn Văn An", "Nguyễn Văn An", NameMatch.exact),
        ("Nguyễn Văn An", "NGUYỄN VĂN AN", NameMatch.exact),
        ("Nguyễn Văn An", "  nguyễn  văn an ", NameMatch.exact),
        (
            "Nguyễn Văn An",
            unicodedata.normalize("NFD", "NGUYỄN VĂN AN"),
            NameMatch.exact,
        ),
        ("Nguyễn Văn An", "Nguyen Van An", NameMatch.weak),
        ("Đặng Thủy", "DANG THUY", NameMatch.weak),
        ("Nguyễn Thủy", "Nguyễn Thụy", NameMatch.weak),  # a different tone mark
        ("Nguyễn Văn An", "Nguyễn Văn Anh", NameMatch.mismatch),
        ("Nguyễn Văn An", "Trần Văn An", NameMatch.mismatch),
        ("Nguyễn Văn An", "", NameMatch.mismatch),
        ("", "", NameMatch.mismatch),
    ],
)
def test_compare_names(expected, given, result):
    assert compare_names(expected, given) is result


def strip_diacritics(s: str) -> str:
    """Independent of fold_name: what a keyboard without Vietnamese input types."""
    out = "".join(c for c in unicodedata.normalize("NFD", s) if unicodedata.category(c) != "Mn")
    return out.replace("Đ", "D").replace("đ", "d")


names = st.lists(st.sampled_from(SYLLABLES), min_size=1, max_size=5).map(" ".join)


@settings(max_examples=200, deadline=None)
@given(name=names, upper=st.booleans(), nfd=st.booleans())
def test_names_match_themselves_and_their_bare_spelling(name, upper, nfd):
    assert compare_names(name, name) is NameMatch.exact
    variant = name.upper() if upper else name
    if nfd:
        variant = unicodedata.normalize("NFD", variant)
    assert compare_names(name, variant) is NameMatch.exact
    assert compare_names(name, strip_diacritics(name)) in {
        NameMatch.exact,
        NameMatch.weak,
    }
