"""No input earns a 5xx from POST /api/v1/attempts (the phone retries a 5xx forever), and a
refused attempt changes nothing: no row, no event, no file.

First the inputs outside testers found answered 500, each now a 422 naming the field; then a
property-based test that mutates a valid attempt every way it can and checks both promises.
"""

from __future__ import annotations

import copy
import io
import json
import os
import random

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from backend.delivery.refusals import REFUSAL_EVENT
from backend.extensions import db
from backend.models import DeliveryAttempt, Envelope, Event, ProofFile
from tests.conftest import login
from tests.delivery.helpers import (
    default_files,
    delivered_meta,
    failed_meta,
    make_run,
    post_attempt,
    sha,
    stored_files,
)

# Examples of the property-based test: about 30 ms each (TRAO_FUZZ_EXAMPLES to change).
FUZZ_EXAMPLES = int(os.environ.get("TRAO_FUZZ_EXAMPLES", "300"))


@pytest.fixture
def stop(client, factory):
    postman, run = make_run(factory)
    login(client, postman)
    return run.stops[0]


def snapshot() -> tuple:
    """What a refused attempt must leave as it was: rows, events, states, files.

    The refusal itself is recorded, as an event of its own kind (tests/console/test_refusals.py).
    """
    counts = tuple(
        db.session.scalar(select(func.count()).select_from(model))
        for model in (DeliveryAttempt, ProofFile)
    ) + (db.session.scalar(select(func.count()).where(Event.kind != REFUSAL_EVENT)),)
    states = tuple(db.session.execute(select(Envelope.code, Envelope._state)).all())
    return counts, states, tuple(stored_files())


def refused_with_field(response, *path: str) -> None:
    """A 422 whose field errors name `path` (nested keys)."""
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    fields = error["fields"]
    for key in path:
        assert key in fields, error
        fields = fields[key]


# --- What outside testing found answering 500 ----------------------------------------------


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("note",), "Chó dữ\x00"),
        (("recipient", "name"), "Nguyễn\x00 Văn An"),
        (("scan", "payload"), "TR1:\x00"),
        (("envelope_code",), "HC\x00"),
        (("note",), "\ud800"),
        (("recipient", "name"), "An \udfff"),
        (("recipient", "id_number"), "\ud83d"),
    ],
    ids=[
        "nul-note",
        "nul-name",
        "nul-payload",
        "nul-code",
        "surrogate-note",
        "surrogate-name",
        "surrogate-number",
    ],
)
def test_text_no_database_can_store_is_a_field_error(client, stop, path, value):
    files = default_files()
    meta = delivered_meta(stop, files)
    target = meta
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    before = snapshot()
    refused_with_field(post_attempt(client, json.dumps(meta), files), *path)
    assert snapshot() == before


def test_a_lone_surrogate_in_a_key_is_refused(client, stop):
    files = default_files()
    meta = delivered_meta(stop, files)
    meta["\ud800"] = 1
    before = snapshot()
    response = post_attempt(client, json.dumps(meta), files)
    assert response.status_code == 422
    assert snapshot() == before


@pytest.mark.parametrize("stop_id", [2**31, 2**63, -1, 0, 2**200])
def test_a_stop_id_beyond_the_databases_range_is_a_field_error(client, stop, stop_id):
    files = default_files()
    before = snapshot()
    refused_with_field(
        post_attempt(client, delivered_meta(stop, files, stop_id=stop_id), files), "stop_id"
    )
    assert snapshot() == before


@pytest.mark.parametrize("value", [2**31, 2**63])
def test_fees_beyond_the_databases_range_are_a_field_error(client, stop, value):
    files = default_files()
    meta = delivered_meta(stop, files, fees_collected_vnd=value)
    refused_with_field(post_attempt(client, meta, files), "fees_collected_vnd")


@pytest.mark.parametrize(
    "device_time",
    ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "1970-01-01T00:00:00+00:00"],
)
def test_a_device_time_no_phone_could_have_is_a_field_error(client, stop, device_time):
    files = default_files()
    before = snapshot()
    meta = delivered_meta(stop, files, device_time=device_time)
    refused_with_field(post_attempt(client, meta, files), "device_time")
    assert snapshot() == before


@pytest.mark.parametrize("depth", [17, 1000, 100_000])
def test_meta_nested_deep_is_refused(client, stop, depth):
    files = default_files()
    nested = "[" * depth + "]" * depth
    text = json.dumps(delivered_meta(stop, files))[:-1] + f', "note": {nested}}}'
    before = snapshot()
    response = post_attempt(client, text, files)
    assert response.status_code == 422, response.get_json()
    fields = response.get_json()["error"]["fields"]
    assert fields in ({"note": ["Nested too deep."]}, {"meta": ["Nested too deep."]})
    assert snapshot() == before


def test_json_that_is_not_json_is_malformed(client, stop):
    files = default_files()
    for text in ['{"stop_id": NaN}', "1" * 5000, "[]", "", '{"a": 1e999}', "{" * 10]:
        response = post_attempt(client, text, files)
        assert response.status_code == 422, (text[:20], response.get_json())


def test_the_meta_limit_holds_however_meta_is_sent(client, stop):
    files = default_files()
    meta = delivered_meta(stop, files, note="x" * 3_000_000)
    multipart = post_attempt(client, meta, files)
    assert multipart.status_code == 413
    urlencoded = client.post(
        "/api/v1/attempts",
        data={"meta": json.dumps(meta)},
        content_type="application/x-www-form-urlencoded",
    )
    # Refused unread: only a multipart text field is bounded while it is parsed.
    assert urlencoded.status_code in (413, 422)
    assert urlencoded.get_json()["error"]["code"] in (
        "request_entity_too_large",
        "multipart_required",
    )
    small = client.post(
        "/api/v1/attempts",
        data={"meta": json.dumps(delivered_meta(stop, files))},
        content_type="application/x-www-form-urlencoded",
    )
    assert small.status_code == 422 and small.get_json()["error"]["code"] == "multipart_required"
    as_json = client.post("/api/v1/attempts", json=delivered_meta(stop, files))
    assert as_json.status_code == 422


def test_no_urlencoded_form_is_read_past_the_form_limit(client):
    """Werkzeug would parse a urlencoded body whole (up to the 64 MB upload limit)."""
    response = client.post(
        "/login",
        data="username=" + "x" * 3_000_000,
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 413


# --- Every mutation of a valid attempt ------------------------------------------------------

SPECIAL_STRINGS = [
    "",
    " ",
    "\x00",
    "\ud800",
    "a\udfff",
    "\u202e",
    "NaN",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "2026-11-23T09:00:00",
    "Nguye\u0302\u0303n Va\u0306n An",  # decomposed Vietnamese
    "x" * 300,
    "TR1:HC000000015VN:AAAAAAAAAAAAAAAA",
    "0" * 64,
]
SPECIAL_NUMBERS = [0, -1, 1, 2**31 - 1, 2**31, 2**63, -(2**63) - 1, 10**400, 1e308, -0.0]

json_leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.sampled_from(SPECIAL_NUMBERS)
    | st.text(alphabet=st.characters(exclude_categories=()), max_size=40)
    | st.sampled_from(SPECIAL_STRINGS)
)
json_values = st.recursive(
    json_leaves,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=10,
)
FILE_FIELD_NAMES = ["signature", "photo", "authorization", "meta", "x", ""]


def json_paths(value, prefix=()):
    """Every path to a value inside a JSON document: dict keys and list indexes."""
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from json_paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from json_paths(child, (*prefix, index))


def _parent(doc, path):
    for key in path[:-1]:
        doc = doc[key]
    return doc


@st.composite
def mutations(draw):
    """A list of changes to make to a valid attempt: to its meta and to its files."""
    kinds = st.sampled_from(
        ["replace", "tweak", "tweak", "delete", "add", "corrupt", "rehash"]
        + ["drop_file", "extra_file", "rename_file"]
    )
    return [
        (draw(kinds), draw(st.integers(0, 10**6)), draw(json_values), draw(st.binary(max_size=64)))
        for _ in range(draw(st.integers(1, 3)))
    ]


def apply_mutations(meta, files, changes):
    """Apply the drawn changes; return the meta (as JSON text) and the files to send."""
    meta, files = copy.deepcopy(meta), list(files)
    for kind, pick, value, blob in changes:
        rng = random.Random(pick)
        paths = [p for p in json_paths(meta) if p]
        if kind == "replace" and paths:
            path = rng.choice(paths)
            _parent(meta, path)[path[-1]] = value
        elif kind == "tweak" and paths:  # a value of the same type: gets past the schema
            path = rng.choice(paths)
            _parent(meta, path)[path[-1]] = _same_type(_get(meta, path), value, rng)
        elif kind == "delete" and paths:
            path = rng.choice(paths)
            del _parent(meta, path)[path[-1]]
        elif kind == "add":
            containers = [p for p in json_paths(meta) if isinstance(_get(meta, p), dict)]
            target = _get(meta, rng.choice(containers))
            target[
                rng.choice(["extra", "stop_id", "attempt_number", "weak_match_confirmed", "x"])
            ] = value
        elif kind in ("corrupt", "rehash") and files:
            index = rng.randrange(len(files))
            field, data = files[index]
            data = bytearray(data)
            for _ in range(rng.randint(1, 8)):
                if data:
                    data[rng.randrange(len(data))] = rng.randrange(256)
            data = bytes(data[: rng.randint(0, len(data))] if rng.random() < 0.3 else data) + blob
            if (
                kind == "rehash"
            ):  # the phone's hash matches the damaged file: the image check decides
                for ref in meta.get("files", []) if isinstance(meta.get("files"), list) else []:
                    if isinstance(ref, dict) and ref.get("sha256") == sha(files[index][1]):
                        ref["sha256"] = sha(data)
            files[index] = (field, data)
        elif kind == "drop_file" and files:
            files.pop(rng.randrange(len(files)))
        elif kind == "extra_file":
            files.append((rng.choice(FILE_FIELD_NAMES), blob))
        elif kind == "rename_file" and files:
            index = rng.randrange(len(files))
            files[index] = (rng.choice(FILE_FIELD_NAMES), files[index][1])
    return json.dumps(meta), files


def _same_type(old, drawn, rng):
    """A value like `old` (same JSON type), taken from what was drawn where it fits."""
    if isinstance(old, bool):
        return not old
    if isinstance(old, int):
        return (
            drawn
            if isinstance(drawn, int) and not isinstance(drawn, bool)
            else old + rng.randint(-3, 3)
        )
    if isinstance(old, float):
        return float(drawn) if isinstance(drawn, float) else old * rng.choice([-1, 0, 10, 1e6])
    if isinstance(old, str):
        return drawn if isinstance(drawn, str) else rng.choice(SPECIAL_STRINGS)
    if old is None:
        return drawn
    return old


def _get(doc, path):
    for key in path:
        doc = doc[key]
    return doc


def post_any(client, meta_text, files):
    """Post like post_attempt, but with any field names (even ones the form can't have)."""
    data = MultiDict([("meta", meta_text)])
    for index, (field, blob) in enumerate(files):
        data.add(field or "file", (io.BytesIO(blob), f"f{index}.bin"))
    return client.post("/api/v1/attempts", data=data, content_type="multipart/form-data")


class Door:
    """The stop the next example delivers to; a fresh one once an attempt has landed on it."""

    def __init__(self, factory, client):
        self.factory, self.client = factory, client
        self.postman = None
        self.next()

    def next(self):
        self.postman, run = make_run(self.factory, postman=self.postman)
        if self.postman is not None:
            login(self.client, self.postman)
        self.stop = run.stops[0]


@pytest.fixture
def door(client, factory):
    return Door(factory, client)


@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
@given(changes=mutations(), failed=st.booleans())
def test_no_mutation_of_an_attempt_earns_a_5xx_and_a_refused_one_changes_nothing(
    client, door, changes, failed
):
    files = [("photo", default_files()[1][1])] if failed else default_files()
    valid = failed_meta(door.stop, files) if failed else delivered_meta(door.stop, files)
    meta_text, sent = apply_mutations(valid, files, changes)
    before = snapshot()
    response = post_any(client, meta_text, sent)
    assert response.status_code < 500, (response.status_code, response.get_data()[:300])
    body = response.get_json()
    event(f"{response.status_code} {(body or {}).get('error', {}).get('code', '')}")
    if response.status_code in (200, 201):
        door.next()  # the envelope's attempt is spent: deliver to another one next time
        return
    assert isinstance(body, dict) and body["error"]["code"], body
    assert snapshot() == before, body
