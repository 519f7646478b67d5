"""The agency clerk registers a dossier by form and follows it: its story and its proof, only for
the clerk's own agency."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from backend.extensions import db
from backend.models import Dossier, Envelope, Role
from tests.conftest import NOW, login
from tests.delivery.helpers import delivered_meta, jpeg, make_run, png, post_attempt, sha

FORM = {
    "code": "000.00.24.H20-261123-0042",
    "procedure_code": "1.001751",
    "procedure_name": "Cấp thẻ Căn cước",
    "result_type": "citizen_id_card",
    "applicant_name": "Nguyễn Văn An",
    "recipient_name": "Nguyễn Văn An",
    "recipient_phone": "0912 345 678",
    "recipient_id_number": "020090123456",
    "address_line": "Số 5, đường Lê Lợi",
    "hamlet": "Tổ dân phố 3",
    "commune_code": "5977",
    "postage_vnd": "26.000",
    "agency_fee_vnd": "",
    "promised_date": "2026-11-25",
    "envelopes": "2",
    "holder_only": "",
    "latitude": "",
    "longitude": "",
}


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    monkeypatch.setattr("backend.clock.now", lambda: NOW)


@pytest.fixture
def clerk(client, factory):
    user = factory.user(Role.agency)
    db.session.commit()
    login(client, user)
    return user


def dossier_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Dossier))


def test_the_form_lists_the_communes_of_the_agencys_province(client, clerk):
    page = client.get("/agency/register").get_data(as_text=True)
    assert 'value="5977"' in page and "Phường Đông Kinh" in page
    assert 'value="4"' not in page  # Phường Ba Đình, Hà Nội
    assert "Điện thoại người nhận" in page  # Vietnamese first


def test_a_dossier_registered_by_form_lands_on_its_page_with_its_envelopes(client, clerk):
    response = client.post("/agency/register", data=FORM)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/agency/dossiers/000.00.24.H20-261123-0042")
    dossier = db.session.scalars(select(Dossier)).one()
    assert dossier.agency_id == clerk.agency_id
    assert dossier.postage_vnd == 26_000 and dossier.recipient_phone == "0912345678"
    assert dossier.recipient_id_last4 == "3456" and len(dossier.envelopes) == 2
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    for envelope in dossier.envelopes:
        assert envelope.code in page
    assert "020090123456" not in page  # never a full ID number


def test_the_same_dossier_sent_again_changes_nothing(client, clerk):
    client.post("/agency/register", data=FORM)
    response = client.post("/agency/register", data=FORM)
    assert response.status_code == 303
    assert dossier_count() == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"recipient_phone": "12345"}, "recipient_phone"),
        ({"recipient_id_number": "02009"}, "recipient_id_number"),
        ({"commune_code": "4"}, "commune_code"),
        ({"commune_code": "abc"}, "commune_code"),
        ({"procedure_name": "  "}, "procedure_name"),
        ({"envelopes": "21"}, "envelopes"),
        ({"postage_vnd": "-5"}, "postage_vnd"),
        ({"promised_date": "mai"}, "promised_date"),
    ],
)
def test_a_wrong_field_is_named_beside_it_and_nothing_is_registered(client, clerk, change, field):
    response = client.post("/agency/register", data={**FORM, **change})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f'id="{field}-error"' in page
    assert dossier_count() == 0


def test_field_errors_are_in_vietnamese_beside_their_field(client, clerk):
    page = client.post("/agency/register", data={**FORM, "recipient_phone": "1"})
    beside = page.get_data(as_text=True).split('id="recipient_phone-error"')[1][:200]
    assert "Không phải số điện thoại Việt Nam" in beside


def test_a_code_taken_by_other_content_is_explained_and_nothing_changes(client, clerk):
    client.post("/agency/register", data=FORM)
    response = client.post("/agency/register", data={**FORM, "recipient_name": "Trần Thị Bình"})
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert 'data-testid="conflict"' in page and FORM["code"] in page
    assert db.session.scalars(select(Dossier)).one().recipient_name == "Nguyễn Văn An"


FORM_FIELDS = st.dictionaries(
    st.sampled_from([*FORM, "surprise", "csrf_token", "agency_id"]),
    st.text(max_size=30),
    max_size=12,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(form=FORM_FIELDS)
def test_no_form_earns_a_5xx_and_a_refused_one_changes_nothing(client, clerk, form):
    before = dossier_count()
    response = client.post("/agency/register", data=form)
    assert response.status_code < 500
    if response.status_code != 303:
        assert dossier_count() == before


# --- The story and the proof ---------------------------------------------------------------------


@pytest.fixture
def delivered(app, factory):
    """A dossier delivered with a signature and a photo; a clerk of its agency."""
    postman, run = make_run(factory)
    phone = app.test_client()
    login(phone, postman)
    files = [("signature", png()), ("photo", jpeg())]
    response = post_attempt(phone, delivered_meta(run.stops[0], files), files)
    assert response.status_code == 201, response.get_json()
    envelope = db.session.get(Envelope, run.stops[0].envelope_id)
    clerk = factory.user(Role.agency, agency=envelope.dossier.agency)
    other_clerk = factory.user(Role.agency)
    db.session.commit()
    return {
        "dossier": envelope.dossier,
        "envelope": envelope,
        "clerk": clerk,
        "other": other_clerk,
        "files": {kind: sha(data) for kind, data in files},
    }


def test_the_story_tells_the_attempt_and_shows_its_proof(client, delivered):
    login(client, delivered["clerk"])
    home = client.get("/agency").get_data(as_text=True)
    url = f"/agency/dossiers/{delivered['dossier'].code}"
    assert f'href="{url}"' in home
    page = client.get(url).get_data(as_text=True)
    assert delivered["envelope"].code in page
    assert 'data-testid="attempt"' in page and 'data-testid="received-by"' in page
    assert "Đã phát" in page or "Delivered" in page
    for digest in delivered["files"].values():
        assert f"/agency/proof-files/{digest}" in page
    signature = client.get(f"/agency/proof-files/{delivered['files']['signature']}")
    assert signature.status_code == 200 and signature.mimetype == "image/png"
    assert signature.headers["X-Content-Type-Options"] == "nosniff"
    assert signature.headers["Cache-Control"] == "no-store"
    photo = client.get(f"/agency/proof-files/{delivered['files']['photo']}/display.jpg")
    assert photo.status_code == 200 and photo.mimetype == "image/jpeg"


def test_another_agencys_dossier_and_files_answer_404(client, delivered):
    login(client, delivered["other"])
    assert client.get(f"/agency/dossiers/{delivered['dossier'].code}").status_code == 404
    for digest in delivered["files"].values():
        assert client.get(f"/agency/proof-files/{digest}").status_code == 404
        assert client.get(f"/agency/proof-files/{digest}/display.jpg").status_code == 404
    assert client.get("/agency/proof-files/" + "0" * 64).status_code == 404
    assert client.get("/agency/proof-files/not-a-digest").status_code == 404


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(code=st.text(min_size=1, max_size=80).filter(lambda s: "/" not in s[:1]))
def test_no_dossier_code_earns_a_5xx(client, clerk, code):
    response = client.get("/agency/dossiers/" + code.replace("?", "").replace("#", ""))
    assert response.status_code < 500
