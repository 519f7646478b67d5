"""Input every API must survive: JSON too deep, characters no database stores, numbers no column
holds. Each is refused as invalid input (422 with the field), never left to fail at the database.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from typing import Any

import orjson
from marshmallow import ValidationError, fields

# Python's JSON parser recurses: refuse nesting long before that, and before any code walks it.
DEFAULT_MAX_DEPTH = 16
# What PostgreSQL cannot store in text (NUL) and what no UTF-8 can encode (a lone surrogate).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# Control characters other than tab and line breaks say nothing a person typed.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
INT32_MAX = 2**31 - 1
_WIDE = float(2**63)

UNSTORABLE_MESSAGE = "Contains a character that cannot be stored."


class UnreadableJson(ValueError):
    """The text is not JSON this service will read; `path` names where, `reason` why."""

    def __init__(self, reason: str, path: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.path = path


def _path(parent: str, key: str | int) -> str:
    return f"{parent}.{key}" if parent else str(key)


def check_json_value(
    value: Any, *, max_depth: int = DEFAULT_MAX_DEPTH, strings: bool = True, numbers: bool = True
) -> None:
    """Raise UnreadableJson if a parsed JSON value nests too deep or holds unstorable text.

    A quick pass over the containers first (an attempt's 240 stroke points are 720 numbers);
    only when it finds a fault does a second pass work out where, for the error. `strings`
    False skips the text checks, when the JSON's own text shows none can fail; `numbers` False the
    checks for NaN and the infinities, when the parser reads none (and counts as a fault a float
    of 2^63 or more, which orjson makes of an integer past 64 bits).
    """
    if _has_fault(value, max_depth, strings, numbers):
        _locate_fault(value, max_depth)
        raise UnreadableJson("Not valid JSON.")  # (the two passes always agree)


def _has_fault(value: Any, max_depth: int, strings: bool, numbers: bool) -> bool:
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth >= max_depth:
            return True
        if type(item) is dict:
            if strings and any(_UNSTORABLE.search(key) for key in item):
                return True
            children = item.values()
        else:
            children = item
        for child in children:
            kind = type(child)
            if kind is dict or kind is list:
                stack.append((child, depth + 1))
            elif kind is float:
                if numbers:
                    if not math.isfinite(child):
                        return True
                elif not -_WIDE < child < _WIDE:  # maybe an integer orjson read as a float
                    return True
            elif kind is str and strings and _UNSTORABLE.search(child):
                return True
    return False


def _locate_fault(value: Any, max_depth: int) -> None:
    """Raise UnreadableJson naming where the value fails check_json_value (slow: paths)."""
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, str):
            if _UNSTORABLE.search(item):
                raise UnreadableJson(UNSTORABLE_MESSAGE, path)
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise UnreadableJson("Not a finite number.", path)
        elif isinstance(item, dict | list):
            if depth >= max_depth:
                # Named by its top-level field: the whole path would nest the error as deep.
                raise UnreadableJson("Nested too deep.", path.split(".", 1)[0])
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            for key, child in pairs:
                if isinstance(key, str) and _UNSTORABLE.search(key):
                    raise UnreadableJson(UNSTORABLE_MESSAGE, path)
                stack.append((child, _path(path, key), depth + 1))


# Only an escape can put a NUL or a lone surrogate into a parsed string: a raw NUL is not JSON,
# and text decoded from UTF-8 holds no lone surrogate. No such escape, no string to check.
_SUSPECT_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")


def parse_json_object(text: str, *, max_depth: int = DEFAULT_MAX_DEPTH) -> dict[str, Any]:
    """A JSON object from text, checked with check_json_value; UnreadableJson otherwise."""
    strings = "\\u" in text and bool(_SUSPECT_ESCAPE.search(text))
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        pass
    else:
        # orjson reads no NaN or infinity; an integer past 64 bits it reads as a float, which
        # _has_fault counts as a fault (numbers False) so that the slow way reads it exactly.
        if type(value) is dict and not _has_fault(value, max_depth, strings, numbers=False):
            return value
    # What orjson refuses or may have changed (NaN, integers beyond 64 bits, lone surrogates,
    # nesting past 1,024), and anything at fault, is read again the slow way, for its error.
    try:
        value = json.loads(text)
    except RecursionError as exc:  # nested beyond what the parser itself will follow
        raise UnreadableJson("Nested too deep.") from exc
    except ValueError as exc:
        raise UnreadableJson("Not valid JSON.") from exc
    if not isinstance(value, dict):
        raise UnreadableJson("Not a JSON object.")
    check_json_value(value, max_depth=max_depth, strings=strings, numbers=True)
    return value


def dumps_json(value: Any) -> str:
    """JSON text for a database column: orjson, with Python's encoder for what it refuses
    (integers beyond 64 bits); the database's JSON types are what compare, not the text."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # orjson.JSONEncodeError
        return json.dumps(value)


def one_line(text: str | None, max_chars: int) -> str:
    """Text typed into a one-line field, made storable: NFC, no control or unstorable
    characters, runs of whitespace as one space, at most `max_chars`."""
    text = unicodedata.normalize("NFC", _UNSTORABLE.sub("", text or ""))
    return " ".join(_CONTROL.sub(" ", text).split())[:max_chars].rstrip()


def error_tree(path: str, message: str) -> dict[str, Any]:
    """A marshmallow-style error dict for a dotted path: "a.b" -> {"a": {"b": [message]}}."""
    tree: dict[str, Any] | list[str] = [message]
    for key in reversed(path.split(".") if path else ["_schema"]):
        tree = {key: tree}
    return tree  # type: ignore[return-value]


class Text(fields.String):
    """A string as people write it: Unicode NFC, no unstorable or control characters.

    Length validators see the normalised text (NFC can change the length).
    """

    def __init__(self, *args, multiline: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.multiline = multiline

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if _UNSTORABLE.search(text):
            raise ValidationError(UNSTORABLE_MESSAGE)
        if _CONTROL.search(text) or (not self.multiline and ("\n" in text or "\r" in text)):
            raise ValidationError("Contains control characters.")
        return unicodedata.normalize("NFC", text)
