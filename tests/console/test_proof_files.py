"""Staff open a proof's files: the evidence byte for byte, and a display copy made on first view.

The display copy is not made when the attempt is received (most proofs are never opened): the
first time staff open a photo it is made — upright, 800 px, no metadata of any kind — kept in
the store, named on the file's record, and served from the store after that.
"""

import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageCms

import backend.console.services as console_services
from backend.extensions import db
from backend.models import ProofFile, Role
from backend.storage import get_storage
from tests.conftest import NOW, login
from tests.delivery.helpers import delivered_meta, jpeg, make_run, png, post_attempt, sha


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    monkeypatch.setattr("backend.clock.now", lambda: NOW)


def photo_with_every_kind_of_metadata(size=(400, 300)) -> bytes:
    """A photo taken sideways (EXIF orientation 6), with GPS, an ICC profile, XMP, a comment."""
    exif = Image.Exif()
    exif[0x010F] = "Phone maker"
    exif[0x0112] = 6  # rotated 90°: shown upright it is taller than wide
    exif[0x8825] = {2: (21.0, 51.0, 0.0)}  # GPS
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>'
    out = io.BytesIO()
    Image.new("RGB", size, (200, 120, 40)).save(
        out,
        format="JPEG",
        exif=exif.tobytes(),
        icc_profile=icc,
        comment=b"Nguyen Van An, 0912345678",
        xmp=xmp,
    )
    return out.getvalue()


def jpeg_markers(data: bytes) -> set[int]:
    """The markers of a JPEG's header segments, up to the start of the scan."""
    markers, i = set(), 2
    while i < len(data) - 4 and data[i] == 0xFF:
        marker = int.from_bytes(data[i : i + 2], "big")
        markers.add(marker)
        if marker == 0xFFDA:
            break
        i += 2 + int.from_bytes(data[i + 2 : i + 4], "big")
    return markers


@pytest.fixture
def proof(app, factory):
    """A delivered attempt with a metadata-laden photo; its office's supervisor, logged in."""
    postman, run = make_run(factory)
    phone = app.test_client()
    login(phone, postman)
    files = [("signature", png()), ("photo", photo_with_every_kind_of_metadata())]
    response = post_attempt(phone, delivered_meta(run.stops[0], files), files)
    assert response.status_code == 201, response.get_json()
    supervisor = factory.user(Role.supervisor, post_office=run.post_office)
    return {"files": dict(files), "office": run.post_office, "supervisor": supervisor}


def test_staff_get_the_evidence_byte_for_byte(client, proof):
    login(client, proof["supervisor"])
    for kind, mimetype in (("photo", "image/jpeg"), ("signature", "image/png")):
        data = proof["files"][kind]
        response = client.get(f"/console/proof-files/{sha(data)}")
        assert response.status_code == 200 and response.mimetype == mimetype
        assert response.data == data
        assert response.headers["Content-Disposition"].startswith("inline; filename=")
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_display_copy_is_made_on_first_view_then_served_from_the_store(
    client, proof, monkeypatch
):
    login(client, proof["supervisor"])
    photo_sha = sha(proof["files"]["photo"])
    row = db.session.execute(db.select(ProofFile).filter_by(sha256=photo_sha)).scalar_one()
    assert row.derivative_sha256 is None  # nothing made when the attempt was received

    first = client.get(f"/console/proof-files/{photo_sha}/display.jpg")
    assert first.status_code == 200 and first.mimetype == "image/jpeg"
    db.session.expire_all()
    row = db.session.get(ProofFile, row.id)
    assert row.derivative_sha256 == sha(first.data)
    assert get_storage().exists(row.derivative_sha256)

    def no_second_copy(*args, **kwargs):
        raise AssertionError("the display copy was made again")

    monkeypatch.setattr(console_services, "display_copy", no_second_copy)
    again = client.get(f"/console/proof-files/{photo_sha}/display.jpg")
    assert again.status_code == 200 and again.data == first.data


def test_the_display_copy_is_upright_and_carries_no_metadata(client, proof):
    login(client, proof["supervisor"])
    data = client.get(f"/console/proof-files/{sha(proof['files']['photo'])}/display.jpg").data
    copy = Image.open(io.BytesIO(data))
    assert copy.size == (300, 400)  # the orientation was applied, then dropped
    assert not copy.getexif() and "icc_profile" not in copy.info
    assert "comment" not in copy.info and "xmp" not in copy.info
    assert b"Nguyen Van An" not in data and b"xmpmeta" not in data
    # No APPn segment but the JFIF header (APP0), and no comment (COM) at all.
    assert not ({0xFFFE} | set(range(0xFFE1, 0xFFF0))) & jpeg_markers(data)


def test_a_large_photo_gets_an_800_px_copy(app, client, factory):
    postman, run = make_run(factory)
    phone = app.test_client()
    login(phone, postman)
    photo = jpeg(1600, 1200)
    files = [("signature", png()), ("photo", photo)]
    assert post_attempt(phone, delivered_meta(run.stops[0], files), files).status_code == 201
    login(client, factory.user(Role.supervisor, post_office=run.post_office))
    data = client.get(f"/console/proof-files/{sha(photo)}/display.jpg").data
    assert Image.open(io.BytesIO(data)).size == (800, 600)  # TRAO_DISPLAY_MAX_SIDE


def test_a_signature_has_no_display_copy(client, proof):
    login(client, proof["supervisor"])
    response = client.get(f"/console/proof-files/{sha(proof['files']['signature'])}/display.jpg")
    assert response.status_code == 404


@pytest.mark.parametrize("path", ["", "/display.jpg"])
def test_only_staff_of_the_office_see_a_proof(app, client, factory, proof, path):
    url = f"/console/proof-files/{sha(proof['files']['photo'])}{path}"
    assert client.get(url).status_code == 302  # not logged in: to the log-in page
    for user, status in (
        (factory.user(Role.supervisor), 404),  # another office: as if it did not exist
        (factory.user(Role.postman, post_office=proof["office"]), 403),
        (factory.user(Role.agency), 403),
        (factory.user(Role.admin), 200),
        (proof["supervisor"], 200),
    ):
        other = app.test_client()
        login(other, user)
        assert other.get(url).status_code == status, user.role


def test_a_file_the_store_lost_is_a_404_not_a_500(client, proof):
    login(client, proof["supervisor"])
    photo_sha = sha(proof["files"]["photo"])
    get_storage().path(photo_sha).unlink()
    for path in ("", "/display.jpg"):
        response = client.get(f"/console/proof-files/{photo_sha}{path}")
        assert response.status_code == 404


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    database=None,
)
@given(name=st.text(min_size=1, max_size=80), suffix=st.sampled_from(["", "/display.jpg"]))
def test_no_file_name_earns_a_5xx(client, proof, name, suffix):
    login(client, proof["supervisor"])
    response = client.get(f"/console/proof-files/{name}{suffix}".replace("?", "%3F"))
    assert response.status_code < 500
