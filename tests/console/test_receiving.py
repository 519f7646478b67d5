"""Receiving from an agency: envelope by envelope against what it announced, refusals that
change nothing, and the hand-over record to sign."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from backend.domain.envelope_qr import sign_envelope_qr
from backend.domain.lifecycle import State
from backend.extensions import db
from backend.models import Event, Handover, Role
from tests.conftest import login

JSON = {"Accept": "application/json"}


@pytest.fixture
def office_day(app, client, factory):
    """An office, its supervisor (logged in), an agency that announced three envelopes."""
    office = factory.office()
    agency = factory.agency(post_office=office, name="UBND phường Đông Kinh")
    envelopes = [factory.envelope(agency=agency) for _ in range(3)]
    supervisor = factory.user(Role.supervisor, post_office=office, full_name="Trần Thị Bình")
    db.session.commit()
    login(client, supervisor)
    return {"office": office, "agency": agency, "envelopes": envelopes, "supervisor": supervisor}


def start(client, agency, courier="Lê Văn Cường") -> int:
    response = client.post(
        "/console/receive", data={"agency_id": agency.id, "courier_name": courier}
    )
    assert response.status_code == 302
    return int(response.headers["Location"].rstrip("/").split("/")[-1])


def pages(pdf: bytes) -> int:
    assert pdf.startswith(b"%PDF")
    return len(re.findall(rb"/Type /Page\b(?!s)", pdf))


def scan(client, handover_id, text):
    return client.post(f"/console/receive/{handover_id}/scan", data={"code": text}, headers=JSON)


def test_the_office_sees_what_each_agency_announced(client, office_day):
    page = client.get("/console/receive").get_data(as_text=True)
    assert "UBND phường Đông Kinh" in page
    assert f'data-testid="announced-{office_day["agency"].code}">3 ' in page


def test_envelopes_are_received_one_by_one_against_the_announcement(client, office_day):
    handover_id = start(client, office_day["agency"])
    first, second, _third = office_day["envelopes"]
    answer = scan(client, handover_id, first.code)
    assert answer.status_code == 200
    assert answer.json["counts"] == {"received": 1, "announced": 3, "waiting": 2}
    # A USB scanner reading the label's QR types its payload: the same envelope, verified.
    payload = sign_envelope_qr(second.code, client.application.config["QR_SIGNING_KEY"])
    answer = scan(client, handover_id, payload)
    assert answer.json["counts"] == {"received": 2, "announced": 3, "waiting": 1}
    db.session.expire_all()
    assert first.state is State.at_office and second.state is State.at_office
    events = db.session.scalars(
        db.select(Event).where(Event.envelope_id == first.id, Event.kind == "envelope.receive")
    ).all()
    assert [e.data["handover_id"] for e in events] == [handover_id]
    page = client.get(f"/console/receive/{handover_id}").get_data(as_text=True)
    assert first.code in page and second.code in page


@pytest.mark.parametrize(
    "case, code",
    [
        ("twice", "already_received"),
        ("unknown", "not_announced"),
        ("other_agency", "other_agency"),
        ("other_office", "other_office"),
        ("forged", "forged_label"),
        ("junk", "not_a_code"),
        ("cancelled", "cancelled"),
    ],
)
def test_a_refused_scan_says_why_and_changes_nothing(app, client, factory, office_day, case, code):
    handover_id = start(client, office_day["agency"])
    envelope = office_day["envelopes"][0]
    if case == "twice":
        assert scan(client, handover_id, envelope.code).status_code == 200
        text = envelope.code
    elif case == "unknown":
        text = "HC999999995VN"
    elif case == "other_agency":
        other = factory.agency(post_office=office_day["office"])
        text = factory.envelope(agency=other).code
    elif case == "other_office":
        text = factory.envelope().code
    elif case == "forged":
        text = sign_envelope_qr(envelope.code, b"not the office key")
    elif case == "junk":
        text = "'; DROP TABLE envelope; --"
    else:
        from backend.domain.lifecycle import Action
        from backend.envelopes.services import apply_action
        from tests.conftest import NOW

        apply_action(office_day["envelopes"][1], Action.cancel, now=NOW)
        text = office_day["envelopes"][1].code
    db.session.commit()
    before = db.session.scalar(db.select(db.func.count(Event.id)))
    answer = scan(client, handover_id, text)
    assert 400 <= answer.status_code < 500
    assert answer.json["error"]["code"] == code and answer.json["error"]["message"]
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count(Event.id))) == before
    received = 1 if case == "twice" else 0
    assert len(db.session.get(Handover, handover_id).items) == received


def test_a_scan_losing_a_race_with_another_desk_is_a_409_and_changes_nothing(
    client, office_day, monkeypatch
):
    from sqlalchemy.orm.exc import StaleDataError

    def lost_race(*args, **kwargs):
        raise StaleDataError("changed by another transaction")

    handover_id = start(client, office_day["agency"])
    monkeypatch.setattr("backend.console.handovers.apply_action", lost_race)
    answer = scan(client, handover_id, office_day["envelopes"][0].code)
    assert answer.status_code == 409 and answer.json["error"]["code"] == "envelope_busy"
    db.session.expire_all()
    assert office_day["envelopes"][0].state.value == "registered"


def test_without_javascript_the_form_answers_with_the_page(client, office_day):
    handover_id = start(client, office_day["agency"])
    response = client.post(
        f"/console/receive/{handover_id}/scan",
        data={"code": "HC999999995VN"},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "HC999999995VN" in response.get_data(as_text=True)  # the refusal, flashed


def test_the_record_lists_what_changed_hands_and_a_finished_one_takes_no_more(client, office_day):
    handover_id = start(client, office_day["agency"])
    first, second, third = office_day["envelopes"]
    for envelope in (first, second):
        scan(client, handover_id, envelope.code)
    assert client.post(f"/console/receive/{handover_id}/finish").status_code == 302
    assert scan(client, handover_id, third.code).json["error"]["code"] == "handover_finished"
    pdf = client.get(f"/console/receive/{handover_id}/record.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.headers["Cache-Control"] == "no-store"
    assert pages(pdf.data) == 1
    labels = client.get(f"/console/receive/{handover_id}").get_data(as_text=True)
    assert f"code={first.code}" in labels.replace("&amp;", "&")


def test_only_staff_of_the_office_see_a_hand_over(app, client, factory, office_day):
    handover_id = start(client, office_day["agency"])
    url = f"/console/receive/{handover_id}"
    for user, status in (
        (factory.user(Role.supervisor), 404),  # another office: as if it did not exist
        (factory.user(Role.postman, post_office=office_day["office"]), 403),
        (factory.user(Role.agency), 403),
    ):
        db.session.commit()
        other = app.test_client()
        login(other, user)
        assert other.get(url).status_code == status, user.role
        scanned = other.post(f"{url}/scan", data={"code": office_day["envelopes"][0].code})
        assert scanned.status_code == status, user.role
        assert other.get(f"{url}/record.pdf").status_code == status, user.role
        assert other.post(f"{url}/finish").status_code == status, user.role
        assert other.get("/console/receive").status_code in (status, 200), user.role
    for path in ("", "/record.pdf"):
        assert app.test_client().get(url + path).status_code == 302  # to the log-in page
    db.session.expire_all()
    handover = db.session.get(Handover, handover_id)
    assert handover.finished_at is None and not handover.items  # nobody else changed it


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    database=None,
)
@given(
    code=st.text(max_size=200) | st.from_regex(r"TR1:[A-Z]{2}[0-9]{9}[A-Z]{2}:[A-Z2-7]{0,20}"),
    agency=st.text(max_size=30),
    courier=st.text(max_size=300),
)
@example(code="\x00", agency="1", courier="Lê\x00Cường")  # PostgreSQL refuses NUL
def test_no_input_earns_a_5xx(client, office_day, code, agency, courier):
    for agency_id in (agency, office_day["agency"].id):
        form = {"agency_id": agency_id, "courier_name": courier}
        assert client.post("/console/receive", data=form).status_code < 500
    handover_id = start(client, office_day["agency"])
    assert scan(client, handover_id, code).status_code < 500
    assert (
        client.post(f"/console/receive/{handover_id}/scan", data={"code": code}).status_code < 500
    )


def test_a_long_record_runs_over_pages_with_the_signatures_on_the_last(app):
    from backend.console.records import HandoverRecord, RecordLine, render_handover_pdf

    line = RecordLine("HC123456785VN", "DOSSIER-1", "Nguyễn Văn An", "Cấp thẻ Căn cước")
    with app.test_request_context():
        pdf = render_handover_pdf(
            HandoverRecord(
                number=7,
                office_name="Bưu cục Lạng Sơn",
                agency_name="Công an tỉnh",
                courier_name=None,
                received_by="Trần Thị Bình",
                started_at=datetime(2026, 12, 1, 2, 0, tzinfo=UTC),
                finished_at=None,
                announced=100,
                lines=[line] * 100,
            )
        )
    assert pages(pdf) == 3  # 34 lines on the first page, 44 on the next ones
