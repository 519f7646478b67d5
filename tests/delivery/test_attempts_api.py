"""POST /api/v1/attempts: every proof rule enforced on the server, idempotent on attempt_id."""

import functools
import hashlib
import json
import struct
import uuid
import zlib
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import select

from backend.delivery.receiving import legacy_meta_digest, meta_digest
from backend.domain.lifecycle import Action
from backend.envelopes.services import apply_action
from backend.extensions import db
from backend.models import DeliveryAttempt, Event, ProofFile, Role
from backend.storage import get_storage
from tests.conftest import NOW, login, running_app
from tests.delivery.helpers import (
    HOLDER_ID,
    OFFICE_TZ,
    STROKES,
    default_files,
    delivered_meta,
    failed_meta,
    jpeg,
    make_run,
    png,
    post_attempt,
    sha,
    stored_files,
)

REPRESENTATIVE_ID = "001085009876"


@pytest.fixture
def stop(client, factory):
    """The first stop of a logged-in postman's run of today (a citizen ID card)."""
    postman, run = make_run(factory)
    login(client, postman)
    return run.stops[0]


@pytest.fixture
def land_stop(client, factory):
    """A stop whose result (a land certificate) a representative may receive."""
    postman, run = make_run(factory, result_type="land_certificate")
    login(client, postman)
    return run.stops[0]


def error_code(response) -> str:
    return response.get_json()["error"]["code"]


def deliver(client, stop, files=None, /, **overrides):
    files = default_files() if files is None else files
    return post_attempt(client, delivered_meta(stop, files, **overrides), files)


# --- Accepted ------------------------------------------------------------------------------


def test_a_delivery_is_recorded_with_its_proof(app, client, stop):
    files = default_files()
    meta = delivered_meta(stop, files)
    response = post_attempt(client, meta, files)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body == {
        "attempt_id": meta["attempt_id"],
        "envelope_code": stop.envelope.code,
        "envelope_state": "delivered",
        "attempt_number": 1,
        "outcome": "delivered",
        "received_at": NOW.isoformat(),
        "distance_m": body["distance_m"],
        "distance_flagged": False,
        "files": [{"kind": kind, "sha256": sha(data)} for kind, data in files],
    }
    assert 0 < body["distance_m"] < 30
    attempt = db.session.get(DeliveryAttempt, meta["attempt_id"])
    assert attempt.scan_method == "qr" and attempt.qr_payload == meta["scan"]["payload"]
    assert attempt.relation == "holder" and attempt.id_check_method == "chip_qr"
    assert attempt.id_last4 == "3456" and len(attempt.id_hash) == 64
    assert attempt.name_match == "exact" and attempt.number_match is True
    assert attempt.fees_collected_vnd == 26_000 and attempt.signature_strokes == STROKES
    assert attempt.device_time == NOW - timedelta(minutes=3)
    assert stop.run.state == "in_progress"


def test_files_are_stored_under_their_sha256_as_they_came_and_nothing_else(app, client, stop):
    exif = Image.Exif()
    exif[0x010F] = "Phone maker"  # Make
    exif[0x8825] = {2: (21.0, 51.0, 0.0)}  # GPS
    photo = jpeg(1600, 1200, exif=exif.tobytes())
    files = [("signature", png()), ("photo", photo)]
    assert deliver(client, stop, files).status_code == 201
    storage = get_storage()
    rows = db.session.execute(select(ProofFile).order_by(ProofFile.id)).scalars().all()
    assert [(r.kind, r.sha256) for r in rows] == [(k, sha(d)) for k, d in files]
    signature, photo_row = rows
    assert signature.content_type == "image/png" and signature.derivative_sha256 is None
    assert (photo_row.content_type, photo_row.width, photo_row.height) == ("image/jpeg", 1600, 1200)
    assert photo_row.size_bytes == len(photo)
    with storage.open(photo_row.sha256) as f:
        assert f.read() == photo  # the evidence is kept as the phone made it
    # No display copy yet: it is made the first time someone opens the proof.
    assert photo_row.derivative_sha256 is None
    assert sorted(storage.stored_hashes()) == sorted(sha(d) for _, d in files)


def test_the_dossier_history_carries_the_proof_summary(client, stop):
    files = default_files()
    meta = delivered_meta(stop, files)
    assert post_attempt(client, meta, files).status_code == 201
    event = db.session.execute(
        select(Event).where(Event.envelope_id == stop.envelope_id, Event.kind == "envelope.deliver")
    ).scalar_one()
    assert event.dossier_id == stop.envelope.dossier_id
    assert event.data == {
        "attempt_id": meta["attempt_id"],
        "outcome": "delivered",
        "reason": None,
        "attempt_number": 1,
        "relation": "holder",
        "id_check_method": "chip_qr",
        "name_match": "exact",
        "number_match": True,
        "distance_m": event.data["distance_m"],
        "distance_flagged": False,
        "review_flags": [],
        "device_time": meta["device_time"],  # as the phone gave it, with its offset
        "files": [{"kind": kind, "sha256": sha(data)} for kind, data in files],
    }


def test_no_full_id_number_is_stored_anywhere(client, factory, stop):
    _, land_run = make_run(factory, postman=stop.run.postman, result_type="land_certificate")
    land_stop = land_run.stops[0]
    assert deliver(client, stop).status_code == 201
    files = [*default_files(), ("authorization", jpeg(colour=(1, 2, 3)))]
    representative = {
        "name": "Trần Thị Bình",
        "relation": "representative",
        "id_document_type": "cccd",
        "id_check_method": "typed",
        "id_number": REPRESENTATIVE_ID,
    }
    response = deliver(client, land_stop, files, recipient=representative)
    assert response.status_code == 201, response.get_json()
    db.session.commit()
    dump = []
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            for row in conn.execute(table.select()):
                dump.append(json.dumps([str(v) for v in row], ensure_ascii=False))
    everything = "\n".join(dump)
    assert "3456" in everything and "9876" in everything  # the last four digits are kept
    assert HOLDER_ID not in everything and REPRESENTATIVE_ID not in everything


def test_a_representative_with_an_authorisation_may_receive_a_land_certificate(client, land_stop):
    files = [*default_files(), ("authorization", jpeg(colour=(9, 9, 9)))]
    recipient = {
        "name": "Trần Thị Bình",
        "relation": "representative",
        "id_document_type": "cccd",
        "id_check_method": "chip_qr",
        "id_number": REPRESENTATIVE_ID,
    }
    response = deliver(client, land_stop, files, recipient=recipient)
    assert response.status_code == 201, response.get_json()
    attempt = db.session.get(DeliveryAttempt, response.get_json()["attempt_id"])
    assert attempt.relation == "representative" and attempt.id_last4 == "9876"
    assert attempt.name_match is None and attempt.number_match is None
    kinds = [f["kind"] for f in response.get_json()["files"]]
    assert kinds == ["signature", "photo", "authorization"]


def test_an_id_shown_on_vneid_keeps_its_last_four_and_no_hash(client, stop):
    recipient = {
        "name": "Nguyen Van An",
        "relation": "holder",
        "id_document_type": "cccd",
        "id_check_method": "vneid_shown",
        "id_number": None,
        "id_last4": "3456",
        "weak_match_confirmed": True,
    }
    response = deliver(client, stop, recipient=recipient)
    assert response.status_code == 201, response.get_json()
    attempt = db.session.get(DeliveryAttempt, response.get_json()["attempt_id"])
    assert attempt.id_hash is None and attempt.id_last4 == "3456"
    assert attempt.name_match == "weak" and attempt.number_match is True


def test_a_typed_envelope_code_is_recorded_as_typed(client, stop):
    response = deliver(client, stop, scan={"method": "typed", "payload": None})
    assert response.status_code == 201
    attempt = db.session.get(DeliveryAttempt, response.get_json()["attempt_id"])
    assert attempt.scan_method == "typed" and attempt.qr_payload is None


def test_a_failed_attempt_needs_a_reason_but_no_signature(client, stop):
    photo = jpeg()
    response = post_attempt(client, failed_meta(stop, [("photo", photo)]), [("photo", photo)])
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["envelope_state"] == "attempt_failed" and body["outcome"] == "failed"
    attempt = db.session.get(DeliveryAttempt, body["attempt_id"])
    assert attempt.reason_code == "not_home" and attempt.recipient_name is None


def test_other_reason_with_a_note(client, stop):
    meta = failed_meta(stop, reason="other", note="Chó dữ, không vào được")
    assert post_attempt(client, meta, []).status_code == 201


@pytest.mark.parametrize(
    ("position", "flagged"),
    [
        ({"lat": 21.8452, "lon": 106.7612, "accuracy_m": 5.0}, False),
        ({"lat": 21.8552, "lon": 106.7612, "accuracy_m": 20.0}, True),  # ~1.1 km away
        ({"lat": 21.8552, "lon": 106.7612, "accuracy_m": 1500.0}, False),  # a poor fix
        (None, False),
    ],
)
def test_an_attempt_far_from_the_address_is_flagged(client, stop, position, flagged):
    response = deliver(client, stop, position=position)
    assert response.status_code == 201
    body = response.get_json()
    assert body["distance_flagged"] is flagged
    assert (body["distance_m"] is None) is (position is None)


# --- Idempotence ---------------------------------------------------------------------------


def test_a_replay_gets_the_same_body_with_200(client, stop):
    files = default_files()
    meta = delivered_meta(stop, files)
    first = post_attempt(client, meta, files)
    again = post_attempt(client, meta, files)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json() == first.get_json()
    assert db.session.scalar(select(db.func.count()).select_from(DeliveryAttempt)) == 1
    assert db.session.scalar(select(db.func.count()).select_from(ProofFile)) == 2


def test_a_failed_attempt_replayed_later_still_reports_its_own_state(client, stop):
    meta = failed_meta(stop)
    first = post_attempt(client, meta, [])
    assert first.status_code == 201
    # The envelope's story went on since: loaded again for a second attempt.
    apply_action(stop.envelope, Action.load, now=NOW)
    db.session.commit()
    assert stop.envelope.state.value == "out_for_delivery"
    again = post_attempt(client, meta, [])
    assert again.status_code == 200 and again.get_json() == first.get_json()


def test_the_same_id_with_other_content_is_a_conflict(client, stop):
    files = default_files()
    meta = delivered_meta(stop, files)
    assert post_attempt(client, meta, files).status_code == 201
    changed = {**meta, "note": "sửa lại"}
    response = post_attempt(client, changed, files)
    assert response.status_code == 409 and error_code(response) == "attempt_conflict"


def test_an_attempt_stored_with_the_old_digest_is_still_recognised_on_replay(app, client, stop):
    """Attempts received before the digest of the meta's text was stored with the canonical
    digest; a phone sending one again after the upgrade gets its receipt, not a conflict."""
    files = default_files()
    meta = delivered_meta(stop, files)
    first = post_attempt(client, meta, files)
    attempt = db.session.get(DeliveryAttempt, meta["attempt_id"])
    attempt.meta_digest = legacy_meta_digest(meta, app.config["ID_HASH_KEY"])
    db.session.commit()
    again = post_attempt(client, meta, files)
    assert again.status_code == 200 and again.get_json() == first.get_json()
    changed = post_attempt(client, {**meta, "note": "sửa lại"}, files)
    assert changed.status_code == 409


def test_the_digest_of_the_meta_is_keyed(app, client, stop):
    """The meta holds a 12-digit ID number: an unkeyed hash of it would give the number away."""
    files = default_files()
    meta = delivered_meta(stop, files)
    text = json.dumps(meta)
    assert post_attempt(client, text, files).status_code == 201
    stored = db.session.get(DeliveryAttempt, meta["attempt_id"]).meta_digest
    assert stored == meta_digest(text, app.config["ID_HASH_KEY"])
    assert stored != hashlib.sha256(text.encode()).hexdigest()


def test_another_postmans_attempt_id_is_a_conflict(app, client, factory, stop):
    files = default_files()
    meta = delivered_meta(stop, files)
    assert post_attempt(client, meta, files).status_code == 201
    other_postman, other_run = make_run(factory)
    other = app.test_client()
    login(other, other_postman)
    stolen = {**meta, "stop_id": other_run.stops[0].id}
    response = post_attempt(other, stolen, files)
    assert response.status_code == 409 and error_code(response) == "attempt_conflict"


def test_a_second_attempt_on_a_delivered_envelope_is_refused(client, stop):
    assert deliver(client, stop).status_code == 201
    response = deliver(client, stop)
    assert response.status_code == 409 and error_code(response) == "transition_not_allowed"


def test_no_attempt_is_left_after_the_policy_limit(client, stop):
    stop.envelope.attempts_made = 2
    db.session.commit()
    response = deliver(client, stop)
    assert response.status_code == 409 and error_code(response) == "attempts_exhausted"


# --- Refused -------------------------------------------------------------------------------


def test_meta_that_is_not_a_json_object_is_malformed(client, stop):
    for meta in ["{not json", "[1, 2]", "", "null"]:
        response = post_attempt(client, meta, default_files())
        assert response.status_code == 422, meta
        assert error_code(response) == "malformed_meta", meta


WRONG_SHAPES = [
    ({"stop_id": "5"}, "stop_id"),
    ({"attempt_id": "not-a-uuid"}, "attempt_id"),
    ({"outcome": "lost"}, "outcome"),
    ({"fees_collected_vnd": 26000.5}, "fees_collected_vnd"),
    ({"device_time": "2026-11-23T09:41:07"}, "device_time"),  # no offset
    ({"device_time": "yesterday"}, "device_time"),
    ({"position": {"lat": 91, "lon": 106.7, "accuracy_m": 5}}, "position"),
    ({"position": {"lat": 21, "lon": 181, "accuracy_m": 5}}, "position"),
    ({"position": {"lat": 21, "lon": 106, "accuracy_m": -1}}, "position"),
    ({"surprise": True}, "surprise"),
    ({"reason_code": "not_home"}, "reason_code"),  # a delivery has no failure reason
    ({"scan": {"method": "qr", "payload": None}}, "scan"),
    ({"files": [{"field": "photo", "sha256": "abc"}]}, "files"),
]


def test_fields_of_the_wrong_shape_are_invalid(client, stop):
    # One run for all the cases: each is refused before anything is written.
    for overrides, field in WRONG_SHAPES:
        response = deliver(client, stop, **overrides)
        assert response.status_code == 422, overrides
        assert error_code(response) == "invalid", overrides
        assert field in response.get_json()["error"]["fields"], overrides


def test_a_recipient_field_of_the_wrong_shape_is_invalid(client, stop):
    recipient = {**delivered_meta(stop, [])["recipient"], "id_number": "12345"}
    response = deliver(client, stop, recipient=recipient)
    assert response.status_code == 422 and error_code(response) == "invalid"
    assert "id_number" in response.get_json()["error"]["fields"]["recipient"]


def test_a_phone_clock_far_ahead_is_refused(client, stop):
    ahead = (NOW + timedelta(minutes=11)).astimezone(OFFICE_TZ).isoformat()
    response = deliver(client, stop, device_time=ahead)
    assert response.status_code == 422 and "device_time" in response.get_json()["error"]["fields"]
    slightly = (NOW + timedelta(minutes=9)).astimezone(OFFICE_TZ).isoformat()
    assert deliver(client, stop, device_time=slightly).status_code == 201


def test_failed_needs_a_reason_and_other_needs_a_note(client, stop):
    response = post_attempt(client, failed_meta(stop, reason=None), [])
    assert (
        error_code(response) == "invalid"
        and "reason_code" in response.get_json()["error"]["fields"]
    )
    response = post_attempt(client, failed_meta(stop, reason="other", note="  "), [])
    assert error_code(response) == "invalid" and "note" in response.get_json()["error"]["fields"]


def test_money_is_not_collected_on_a_failed_attempt(client, stop):
    response = post_attempt(client, failed_meta(stop, fees_collected_vnd=26_000), [])
    assert response.status_code == 422 and error_code(response) == "fees_mismatch"


def test_an_unknown_file_field_is_invalid(client, stop):
    files = [*default_files(), ("selfie", jpeg())]
    meta = delivered_meta(stop, default_files())
    response = post_attempt(client, meta, files)
    assert response.status_code == 422 and "selfie" in response.get_json()["error"]["fields"]


def test_another_postmans_envelope_is_not_on_your_run(app, client, factory, stop):
    _, other_run = make_run(factory)
    other_stop = other_run.stops[0]
    response = deliver(client, other_stop)
    assert response.status_code == 404 and error_code(response) == "not_on_your_run"


def test_an_envelope_code_not_at_this_stop_is_not_on_your_run(client, factory, stop):
    other = factory.envelope()
    response = deliver(client, stop, envelope_code=other.code)
    assert response.status_code == 404 and error_code(response) == "not_on_your_run"


def test_a_closed_run_still_receives_an_attempt_for_an_envelope_still_out(client, stop):
    # Synced after the close-out (issue 11): nothing the phone recorded is lost; flagged for review
    # (tests/console/test_closeout.py has the rest: an envelope taken back refuses it).
    stop.run.state = "closed"
    db.session.commit()
    response = deliver(client, stop)
    assert response.status_code == 201
    attempt = db.session.get(DeliveryAttempt, response.get_json()["attempt_id"])
    assert attempt.needs_review and attempt.review_flags == ["after_close"]


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ("HELLO", "malformed_qr"),
        ("TR1:HC000000015VN:ABCDEFGHIJKLMNOP", "malformed_qr"),  # bad check digit
        (None, "forged_qr"),  # built below: this envelope's code with a made-up MAC
        ("other", "qr_other_envelope"),  # built below: another envelope's genuine label
    ],
)
def test_the_scanned_label_must_be_this_envelopes_genuine_one(
    app, client, factory, stop, payload, code
):
    from backend.domain.envelope_qr import sign_envelope_qr

    if payload is None:
        payload = f"TR1:{stop.envelope.code}:AAAAAAAAAAAAAAAA"
    elif payload == "other":
        payload = sign_envelope_qr(factory.envelope().code, app.config["QR_SIGNING_KEY"])
    response = deliver(client, stop, scan={"method": "qr", "payload": payload})
    assert response.status_code == 422 and error_code(response) == code


def test_an_id_card_goes_to_the_holder_only(client, stop):
    recipient = {
        "name": "Trần Thị Bình",
        "relation": "representative",
        "id_document_type": "cccd",
        "id_check_method": "chip_qr",
        "id_number": REPRESENTATIVE_ID,
    }
    files = [*default_files(), ("authorization", jpeg())]
    response = deliver(client, stop, files, recipient=recipient)
    assert response.status_code == 422 and error_code(response) == "recipient_not_allowed"


@pytest.mark.parametrize(
    ("name", "number"),
    [("Nguyễn Văn An", "020090129999"), ("Lê Văn Cường", HOLDER_ID)],
)
def test_an_id_that_does_not_match_the_holder_is_refused(client, stop, name, number):
    recipient = {**delivered_meta(stop, [])["recipient"], "name": name, "id_number": number}
    response = deliver(client, stop, recipient=recipient)
    assert response.status_code == 422 and error_code(response) == "identity_mismatch"
    assert db.session.scalar(select(db.func.count()).select_from(DeliveryAttempt)) == 0


def test_a_scanned_or_typed_id_needs_the_number(client, stop):
    recipient = {**delivered_meta(stop, [])["recipient"], "id_number": None}
    response = deliver(client, stop, recipient=recipient)
    assert response.status_code == 422 and error_code(response) == "invalid"


def test_a_delivery_needs_a_recipient(client, stop):
    response = deliver(client, stop, recipient=None)
    assert response.status_code == 422 and "recipient" in response.get_json()["error"]["fields"]


def test_a_representative_needs_an_authorisation_photo(client, land_stop):
    recipient = {
        "name": "Trần Thị Bình",
        "relation": "representative",
        "id_document_type": "cccd",
        "id_check_method": "chip_qr",
        "id_number": REPRESENTATIVE_ID,
    }
    response = deliver(client, land_stop, recipient=recipient)
    assert response.status_code == 422 and error_code(response) == "authorization_required"


def test_a_delivery_needs_signature_photo_and_fees(client, stop):
    signature, photo = ("signature", png()), ("photo", jpeg())
    cases = [
        ([photo], {}, "signature_required"),
        ([signature, photo], {"signature_strokes": None}, "signature_required"),
        ([signature, photo], {"signature_strokes": []}, "signature_required"),
        ([signature], {}, "photo_required"),
        ([signature, photo], {"fees_collected_vnd": 0}, "fees_mismatch"),
        ([signature, photo], {"fees_collected_vnd": 30_000}, "fees_mismatch"),
    ]
    for files, overrides, code in cases:
        response = deliver(client, stop, files, **overrides)
        assert response.status_code == 422, (code, overrides)
        assert error_code(response) == code, (code, overrides)


def test_each_file_must_match_its_recorded_hash(client, stop):
    files = default_files()
    meta = delivered_meta(stop, files)
    meta["files"][1]["sha256"] = sha(b"another photo")
    response = post_attempt(client, meta, files)
    assert response.status_code == 422 and error_code(response) == "file_hash_mismatch"


def test_a_file_listed_but_not_sent_and_one_sent_but_not_listed_are_refused(client, stop):
    files = default_files()
    meta = delivered_meta(stop, [*files, ("photo", jpeg(colour=(0, 0, 0)))])
    response = post_attempt(client, meta, files)
    assert error_code(response) == "file_hash_mismatch"
    meta = delivered_meta(stop, files)
    response = post_attempt(client, meta, [*files, ("photo", jpeg(colour=(0, 0, 0)))])
    assert error_code(response) == "file_hash_mismatch"


def test_too_many_photos_are_refused(client, stop):
    files = [("signature", png())] + [("photo", jpeg(colour=(i, i, i))) for i in range(7)]
    response = deliver(client, stop, files)
    assert response.status_code == 422 and error_code(response) == "too_many_files"


def test_two_signatures_are_refused(client, stop):
    files = [("signature", png()), ("signature", png(50, 50)), ("photo", jpeg())]
    response = deliver(client, stop, files)
    assert response.status_code == 422 and error_code(response) == "too_many_files"


def test_an_oversized_signature_is_refused_with_413(client, stop):
    big = png() + b"\0" * (1024 * 1024)
    response = deliver(client, stop, [("signature", big), ("photo", jpeg())])
    assert response.status_code == 413 and error_code(response) == "image_too_large"


@functools.cache
def _blank_png(width: int, height: int) -> bytes:
    """A 1-bit all-black PNG, written by hand: huge in pixels, tiny compressed."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    row = b"\0" * (1 + (width + 7) // 8)
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def _bomb_png() -> bytes:
    """400 MP in under 50 kB: Pillow's own guard refuses it when opening."""
    return _blank_png(20_000, 20_000)


def _over_the_pixel_limit_png() -> bytes:
    """48 MP: under Pillow's guard, over the signature pad's size, refused before decoding."""
    return _blank_png(8_000, 6_000)


def _bomb_jpeg_header() -> bytes:
    """A small real JPEG whose header claims 9000 x 9000 pixels (81 MP)."""
    data = bytearray(jpeg(16, 16))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = (9000).to_bytes(2, "big") + (9000).to_bytes(2, "big")
    return bytes(data)


@pytest.mark.parametrize(
    ("field", "make", "code"),
    [
        ("signature", _bomb_png, "image_too_many_pixels"),
        ("signature", _over_the_pixel_limit_png, "image_too_many_pixels"),
        ("photo", _bomb_jpeg_header, "image_too_many_pixels"),
        ("photo", lambda: b"This is not a JPEG, just some text pretending to be one.", "bad_image"),
        ("photo", lambda: jpeg(400, 300)[:600], "bad_image"),  # truncated
        ("photo", png, "bad_image"),  # a PNG sent as the photo
        ("signature", jpeg, "bad_image"),  # a JPEG sent as the signature
    ],
    ids=[
        "bomb-png",
        "png-48mp",
        "bomb-jpeg",
        "text",
        "truncated",
        "png-as-photo",
        "jpeg-as-signature",
    ],
)
def test_a_file_that_is_not_a_sane_image_of_its_type_is_refused(client, stop, field, make, code):
    blob = make()
    files = [("signature", png()), ("photo", jpeg())]
    files = [(f, blob if f == field else data) for f, data in files]
    response = deliver(client, stop, files)
    assert response.status_code == 422 and error_code(response) == code
    assert stored_files() == []  # nothing stored for a refused attempt


@pytest.mark.parametrize(
    ("setting", "field"),
    [("TRAO_PHOTO_MAX_SIDE", "photo"), ("TRAO_SIGNATURE_MAX_SIDE", "signature")],
)
def test_the_pixel_bounds_are_settings(tmp_path, setting, field):
    """The default files are a 64 x 48 photo and a 120 x 60 signature: both over 40 px."""
    with running_app(STORAGE_URL=str(tmp_path / "p"), **{setting: 40}) as app:
        from tests.conftest import Factory

        postman, run = make_run(Factory())
        client = app.test_client()
        login(client, postman)
        response = deliver(client, run.stops[0])
        assert error_code(response) == "image_too_many_pixels"
        assert field in response.get_json()["error"]["fields"]


# --- CSRF ----------------------------------------------------------------------------------


def test_a_post_without_the_csrf_header_is_refused(tmp_path):
    with running_app(STORAGE_URL=str(tmp_path / "p"), WTF_CSRF_ENABLED=True) as app:
        from tests.conftest import Factory

        postman, run = make_run(Factory())
        db.session.commit()
        client = app.test_client()
        client.get("/login")
        token = _login_with_csrf(client, postman)
        stop = run.stops[0]
        files = default_files()
        meta = delivered_meta(stop, files)
        refused = post_attempt(client, meta, files)
        assert refused.status_code == 400 and error_code(refused) == "csrf_failed"
        token = client.get("/api/v1/session").get_json()["csrf_token"]
        accepted = post_attempt(client, meta, files, headers={"X-CSRFToken": token})
        assert accepted.status_code == 201, accepted.get_json()


def _login_with_csrf(client, user):
    import re

    from tests.conftest import PASSWORD

    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = client.post(
        "/login", data={"username": user.username, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code in (302, 303)
    return token


def test_uuid_is_the_attempt_id(client, stop):
    attempt_id = str(uuid.uuid4())
    response = deliver(client, stop, attempt_id=attempt_id)
    assert response.get_json()["attempt_id"] == attempt_id


def test_the_postman_role_is_required(app, factory):
    postman, run = make_run(factory)
    supervisor = factory.user(Role.supervisor, post_office=postman.post_office)
    client = app.test_client()
    login(client, supervisor)
    response = deliver(client, run.stops[0])
    assert response.status_code == 403


def test_proof_files_are_fetched_only_by_hash(app):
    with pytest.raises(ValueError):
        get_storage().path("../../etc/passwd")


# --- Other identity papers: a passport or another paper instead of the chip ID card ----------


def passport_holder(stop, name="Nguyễn Văn An", number="c 1234567"):
    return {
        **delivered_meta(stop, [])["recipient"],
        "name": name,
        "id_document_type": "passport",
        "id_check_method": "typed",
        "id_number": number,
        # A passport's number can't be compared with the ID card's: the postman confirms.
        "weak_match_confirmed": True,
    }


def test_a_passport_with_the_holders_name_is_accepted_without_a_number_match(client, stop):
    response = deliver(client, stop, recipient=passport_holder(stop))
    assert response.status_code == 201, response.get_json()
    attempt = db.session.get(DeliveryAttempt, response.get_json()["attempt_id"])
    assert attempt.id_document_type == "passport" and attempt.id_check_method == "typed"
    assert attempt.name_match == "exact" and attempt.number_match is None
    assert attempt.id_last4 == "4567" and len(attempt.id_hash) == 64
    db.session.commit()
    with db.engine.connect() as conn:
        rows = [
            str(row) for table in db.metadata.sorted_tables for row in conn.execute(table.select())
        ]
    everything = "\n".join(rows)
    assert "C1234567" not in everything and "c 1234567" not in everything


def test_a_passport_with_another_name_is_an_identity_mismatch(client, stop):
    response = deliver(client, stop, recipient=passport_holder(stop, name="Lê Văn Cường"))
    assert response.status_code == 422 and error_code(response) == "identity_mismatch"
    assert response.get_json()["error"]["fields"]["number_match"] is None
    assert db.session.scalar(select(db.func.count()).select_from(DeliveryAttempt)) == 0


@pytest.mark.parametrize(
    ("doc_type", "number"),
    [("passport", "C123456"), ("passport", "020090123456"), ("other", "AB1"), ("cccd", "C1234567")],
)
def test_a_number_not_of_its_papers_form_is_invalid(client, stop, doc_type, number):
    recipient = {**passport_holder(stop), "id_document_type": doc_type, "id_number": number}
    response = deliver(client, stop, recipient=recipient)
    assert response.status_code == 422 and error_code(response) == "invalid"
    assert "id_number" in response.get_json()["error"]["fields"]["recipient"]


def test_another_paper_is_accepted_on_the_name(client, stop):
    recipient = {**passport_holder(stop), "id_document_type": "other", "id_number": "ab-12345"}
    assert deliver(client, stop, recipient=recipient).status_code == 422  # a hyphen is not allowed
    recipient["id_number"] = "ab 12345"
    response = deliver(client, stop, recipient=recipient)
    assert response.status_code == 201, response.get_json()
    attempt = db.session.get(DeliveryAttempt, response.get_json()["attempt_id"])
    assert attempt.id_document_type == "other" and attempt.id_last4 == "2345"
    assert attempt.number_match is None


def test_a_passport_attempt_replayed_gets_200(client, stop):
    files = default_files()
    meta = delivered_meta(stop, files, recipient=passport_holder(stop))
    assert post_attempt(client, meta, files).status_code == 201
    assert post_attempt(client, meta, files).status_code == 200


def test_a_cccd_is_still_compared_on_its_last_four(client, stop):
    recipient = {**delivered_meta(stop, [])["recipient"], "id_number": "020090129999"}
    response = deliver(client, stop, recipient=recipient)
    assert response.status_code == 422 and error_code(response) == "identity_mismatch"
    assert response.get_json()["error"]["fields"]["number_match"] is False
    response = deliver(client, stop)
    assert response.status_code == 201
    attempt = db.session.get(DeliveryAttempt, response.get_json()["attempt_id"])
    assert attempt.id_document_type == "cccd" and attempt.number_match is True


@pytest.mark.parametrize("method", ["chip_qr", "vneid_shown"])
def test_a_chip_scan_or_vneid_is_only_of_the_id_card(client, stop, method):
    recipient = {**passport_holder(stop), "id_check_method": method}
    response = deliver(client, stop, recipient=recipient)
    assert response.status_code == 422 and error_code(response) == "invalid"
    assert "id_document_type" in response.get_json()["error"]["fields"]["recipient"]
