"""Bounds on the evidence: GPS fixes, the phone's clock, text as Unicode, display copies bare."""

import unicodedata
from datetime import timedelta

import pytest

from backend.extensions import db
from backend.models import DeliveryAttempt, Event, ProofFile
from tests.conftest import NOW, login
from tests.delivery.helpers import (
    LEGACY_STROKES,
    OFFICE_TZ,
    STROKES,
    default_files,
    delivered_meta,
    failed_meta,
    jpeg,
    make_run,
    png,
    post_attempt,
)


@pytest.fixture
def stop(client, factory):
    postman, run = make_run(factory)
    login(client, postman)
    return run.stops[0]


def attempt_of(response) -> DeliveryAttempt:
    assert response.status_code == 201, response.get_json()
    return db.session.get(DeliveryAttempt, response.get_json()["attempt_id"])


# --- GPS --------------------------------------------------------------------------------------


def test_a_fix_no_one_could_use_is_dropped_and_flagged(client, stop):
    """11,746 km away with an accuracy of 1e308: the fix is kept out, the attempt flagged."""
    position = {"lat": -33.86, "lon": 151.21, "accuracy_m": 1e308}
    attempt = attempt_of(post_attempt(client, failed_meta(stop, position=position), []))
    assert (attempt.latitude, attempt.longitude, attempt.accuracy_m) == (None, None, None)
    assert attempt.distance_m is None
    assert attempt.review_flags == ["position_dropped"] and attempt.needs_review


def test_a_coarse_fix_is_kept_and_flagged(client, stop):
    position = {"lat": 21.8453, "lon": 106.7613, "accuracy_m": 1500.0}
    attempt = attempt_of(post_attempt(client, failed_meta(stop, position=position), []))
    assert attempt.accuracy_m == 1500.0 and attempt.distance_m is not None
    assert attempt.review_flags == ["poor_position"] and not attempt.distance_flagged


def test_a_precise_fix_far_from_the_address_is_flagged(client, stop):
    position = {"lat": -33.86, "lon": 151.21, "accuracy_m": 8.0}  # Sydney
    attempt = attempt_of(post_attempt(client, failed_meta(stop, position=position), []))
    assert attempt.distance_m > 7_000_000 and attempt.distance_flagged
    assert attempt.review_flags == ["far_from_address"]
    event = db.session.execute(
        db.select(Event).where(Event.envelope_id == stop.envelope_id, Event.kind == "envelope.fail")
    ).scalar_one()
    assert event.data["review_flags"] == ["far_from_address"]


def test_a_good_fix_at_the_door_flags_nothing(client, stop):
    attempt = attempt_of(post_attempt(client, failed_meta(stop), []))
    assert attempt.review_flags == [] and attempt.needs_review is False


@pytest.mark.parametrize("accuracy", [-1, float("nan"), float("inf")])
def test_an_impossible_accuracy_is_a_field_error(client, stop, accuracy):
    position = {"lat": 21.8453, "lon": 106.7613, "accuracy_m": accuracy}
    response = post_attempt(client, failed_meta(stop, position=position), [])
    assert response.status_code == 422


# --- The phone's clock --------------------------------------------------------------------------


def test_a_time_before_the_runs_day_is_refused(client, stop):
    """The run is of 23 November (Lạng Sơn); 23:59 on the 22nd there is before it."""
    day_before = NOW.astimezone(OFFICE_TZ).replace(hour=0, minute=0) - timedelta(minutes=1)
    response = post_attempt(client, failed_meta(stop, device_time=day_before.isoformat()), [])
    assert response.status_code == 422
    assert "device_time" in response.get_json()["error"]["fields"]
    midnight = day_before + timedelta(minutes=1)
    attempt = attempt_of(
        post_attempt(client, failed_meta(stop, device_time=midnight.isoformat()), [])
    )
    assert attempt.device_time == midnight


def test_a_time_ahead_of_the_server_is_still_refused(client, stop):
    ahead = (NOW + timedelta(minutes=11)).isoformat()
    response = post_attempt(client, failed_meta(stop, device_time=ahead), [])
    assert response.status_code == 422


# --- Text ---------------------------------------------------------------------------------------


def test_text_is_stored_composed(client, stop):
    """A phone may send Vietnamese decomposed (NFD): stored composed, compared as such."""
    name = unicodedata.normalize("NFD", "Nguyễn Văn An")
    note = unicodedata.normalize("NFD", "Đã gọi điện, người nhận ở nhà")
    files = default_files()
    meta = delivered_meta(stop, files, note=note)
    meta["recipient"]["name"] = name
    attempt = attempt_of(post_attempt(client, meta, files))
    assert attempt.recipient_name == "Nguyễn Văn An" and attempt.name_match == "exact"
    assert attempt.note == unicodedata.normalize("NFC", note)


def test_a_name_with_control_characters_is_refused(client, stop):
    files = default_files()
    meta = delivered_meta(stop, files)
    meta["recipient"]["name"] = "Nguyễn\u0007Văn An"
    response = post_attempt(client, meta, files)
    assert response.status_code == 422
    assert "name" in response.get_json()["error"]["fields"]["recipient"]


# --- Files ----------------------------------------------------------------------------------------


def test_the_proof_file_records_what_the_header_said(client, stop):
    files = [("signature", png(300, 120)), ("photo", jpeg(1280, 960))]
    attempt = attempt_of(post_attempt(client, delivered_meta(stop, files), files))
    rows = sorted(attempt.files, key=lambda f: f.id)
    assert [(r.kind, r.width, r.height, r.content_type) for r in rows] == [
        ("signature", 300, 120, "image/png"),
        ("photo", 1280, 960, "image/jpeg"),
    ]
    assert all(isinstance(r, ProofFile) for r in rows)


# --- The signature's strokes --------------------------------------------------------------------


def test_strokes_sent_the_old_way_are_kept_in_the_compact_form(client, stop):
    files = default_files()
    attempt = attempt_of(
        post_attempt(client, delivered_meta(stop, files, signature_strokes=LEGACY_STROKES), files)
    )
    assert attempt.signature_strokes == STROKES


@pytest.mark.parametrize(
    "strokes",
    [
        [[[1, 2, 3]]] * 201,  # too many strokes
        [[[1, 2, 3]] * 2001],  # too many points in a stroke
        [[[1, 2]]],
        [[[1, 2, 3, 4]]],
        [[[1, "2", 3]]],
        [[[1, True, 3]]],
        [[[1, 2, 2**60]]],
        [[{"x": 1, "y": 2}]],
        [[{"x": 1, "y": 2, "t": 3, "p": 0.5}]],
        [{"x": 1}],
        "strokes",
    ],
)
def test_strokes_out_of_shape_are_refused(client, stop, strokes):
    files = default_files()
    response = post_attempt(client, delivered_meta(stop, files, signature_strokes=strokes), files)
    assert response.status_code == 422
    assert "signature_strokes" in response.get_json()["error"]["fields"]
