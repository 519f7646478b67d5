"""backend/validation.py: JSON no API will store, found quickly and named by its place."""

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.validation import UnreadableJson, check_json_value, dumps_json, parse_json_object

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(alphabet=st.characters(exclude_categories=()), max_size=8),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.text(alphabet=st.characters(exclude_categories=()), max_size=4), children, max_size=4
        )
    ),
    max_leaves=20,
)


def _fault(value, depth=0) -> bool:
    """The rule, written the plain way: too deep, NUL or a lone surrogate, NaN or infinity."""
    if isinstance(value, str):
        return "\x00" in value or any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return depth >= 4 or any(_fault(k) or _fault(v, depth + 1) for k, v in value.items())
    if isinstance(value, list):
        return depth >= 4 or any(_fault(v, depth + 1) for v in value)
    return False


@given(value=st.dictionaries(st.text(max_size=4), json_values, max_size=4))
def test_the_quick_check_finds_exactly_the_faults_and_names_where(value):
    if _fault(value):
        with pytest.raises(UnreadableJson) as raised:
            check_json_value(value, max_depth=4)
        assert raised.value.reason in (
            "Nested too deep.",
            "Contains a character that cannot be stored.",
            "Not a finite number.",
        )
    else:
        check_json_value(value, max_depth=4)


@given(value=st.dictionaries(st.text(max_size=4), json_values, max_size=4))
def test_the_text_shortcut_misses_no_unstorable_string(value):
    """Strings are checked only when the text holds a suspect escape: never a miss."""
    text = json.dumps(value)  # ASCII: every NUL or surrogate is an escape
    try:
        parse_json_object(text, max_depth=4)
    except UnreadableJson:
        assert _fault(value) or "Infinity" in text or "NaN" in text
    else:
        assert not _fault(value)


def test_the_place_of_a_fault_is_named():
    with pytest.raises(UnreadableJson) as raised:
        parse_json_object(json.dumps({"recipient": {"name": "An\x00"}}))
    assert raised.value.path == "recipient.name"
    with pytest.raises(UnreadableJson) as raised:
        nested = [1]
        for _ in range(20):
            nested = [nested]
        parse_json_object(json.dumps({"note": nested}))
    assert (raised.value.reason, raised.value.path) == ("Nested too deep.", "note")


@given(value=st.dictionaries(st.text(max_size=4), json_values | st.integers(), max_size=4))
def test_the_fast_parser_reads_what_pythons_reads(value):
    """orjson first, Python's parser for what it refuses (NaN, integers past 64 bits, lone
    surrogates): the same value or the same refusal as Python's parser alone."""
    text = json.dumps(value)
    try:
        parsed = parse_json_object(text, max_depth=4)
    except UnreadableJson:
        assert _fault(value)
    else:
        assert not _fault(value)
        assert parsed == json.loads(text)


@given(value=st.dictionaries(st.text(max_size=4), json_values, max_size=4))
def test_what_the_database_gets_reads_back_the_same(value):
    """The engine's JSON serializer (orjson, Python's for integers past 64 bits)."""
    if _fault(value):
        return  # refused before it reaches a column
    assert json.loads(dumps_json(value)) == value


def test_integers_past_64_bits_are_written_all_the_same():
    assert json.loads(dumps_json({"n": 2**70})) == {"n": 2**70}
    assert json.loads(dumps_json({1: "a"})) == {"1": "a"}


@given(text=st.text(alphabet=st.characters(exclude_categories=()), max_size=60))
def test_a_one_line_field_is_always_storable(text):
    from backend.validation import _CONTROL, _UNSTORABLE, one_line

    line = one_line(text, 40)
    assert len(line) <= 40 and not _UNSTORABLE.search(line) and not _CONTROL.search(line)
    assert "\n" not in line and line == line.strip()


def test_integers_past_64_bits_are_read_exactly():
    """orjson reads them as floats (2**64 would come back as 1.8446744073709552e+19)."""
    for number in (2**64, -(2**63) - 1, -(10**20), 2**70):
        assert parse_json_object(json.dumps({"n": number})) == {"n": number}
    assert parse_json_object('{"n": 1e19, "m": -1e300}') == {"n": 1e19, "m": -1e300}
