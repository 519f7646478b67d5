"""Bounds on the evidence: GPS fixes, the phone's clock, text as Unicode, display copies bare."""

import io
import unicodedata
from datetime import timedelta

import pytest
from PIL import Image, ImageCms

from backend.extensions import db
from backend.models import DeliveryAttempt, Event, ProofFile
from backend.storage import get_storage
from tests.conftest import NOW, login
from tests.delivery.helpers import (
    OFFICE_TZ,
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


# --- Display copies -------------------------------------------------------------------------------


def _photo_with_every_kind_of_metadata() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "Phone maker"
    exif[0x0112] = 6  # orientation: rotated 90°
    exif[0x8825] = {2: (21.0, 51.0, 0.0)}  # GPS
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>'
    out = io.BytesIO()
    Image.new("RGB", (400, 300), (200, 120, 40)).save(
        out,
        format="JPEG",
        exif=exif.tobytes(),
        icc_profile=icc,
        comment=b"Nguyen Van An, 0912345678",
        xmp=xmp,
    )
    return out.getvalue()


def test_a_display_copy_carries_no_metadata_of_any_kind(client, stop):
    photo = _photo_with_every_kind_of_metadata()
    files = [("signature", png()), ("photo", photo)]
    attempt = attempt_of(post_attempt(client, delivered_meta(stop, files), files))
    row = next(f for f in attempt.files if f.kind == "photo")
    with get_storage().open(row.derivative_sha256) as f:
        data = f.read()
    copy = Image.open(io.BytesIO(data))
    assert copy.size == (300, 400)  # upright: the orientation was applied, then dropped
    assert not copy.getexif() and "icc_profile" not in copy.info
    assert "comment" not in copy.info and "xmp" not in copy.info
    assert b"Nguyen Van An" not in data and b"xmpmeta" not in data
    # No APPn segment but the JFIF header (APP0), and no comment (COM) at all.
    markers = _jpeg_markers(data)
    assert not ({0xFFFE} | set(range(0xFFE1, 0xFFF0))) & markers
    with get_storage().open(row.sha256) as f:
        assert f.read() == photo  # the evidence itself is kept as the phone made it


def _jpeg_markers(data: bytes) -> set[int]:
    """The markers of a JPEG's header segments, up to the start of the scan."""
    markers, i = set(), 2
    while i < len(data) - 4 and data[i] == 0xFF:
        marker = int.from_bytes(data[i : i + 2], "big")
        markers.add(marker)
        if marker == 0xFFDA:
            break
        i += 2 + int.from_bytes(data[i + 2 : i + 4], "big")
    return markers


def test_the_proof_file_records_what_the_header_said(client, stop):
    files = [("signature", png(300, 120)), ("photo", jpeg(1280, 960))]
    attempt = attempt_of(post_attempt(client, delivered_meta(stop, files), files))
    rows = sorted(attempt.files, key=lambda f: f.id)
    assert [(r.kind, r.width, r.height, r.content_type) for r in rows] == [
        ("signature", 300, 120, "image/png"),
        ("photo", 1280, 960, "image/jpeg"),
    ]
    assert all(isinstance(r, ProofFile) for r in rows)
