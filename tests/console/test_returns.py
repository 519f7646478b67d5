"""Returned to the agency: held envelopes past their deadline go back on a hand-over scanned
envelope by envelope, each refusal saying why and changing nothing, with a record to sign."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.domain.envelope_qr import sign_envelope_qr
from backend.domain.lifecycle import Action, State
from backend.envelopes.services import apply_action
from backend.extensions import db
from backend.models import Envelope, Event, Handover, HandoverItem, Role
from tests.conftest import login
from tests.console.test_counter import DEADLINE, at, hold

JSON = {"Accept": "application/json"}
AFTER_DEADLINE = date(2026, 9, 17)


@pytest.fixture
def returns(app, client, factory, monkeypatch):
    """An office past the hold of two of an agency's envelopes and one of another agency's; a
    third envelope of the first agency held later, still within its hold."""
    monkeypatch.setattr("backend.clock.now", lambda: at(AFTER_DEADLINE))
    office = factory.office()
    agency = factory.agency(post_office=office, name="UBND phường Đông Kinh")
    other_agency = factory.agency(post_office=office, name="Công an tỉnh")
    due = [hold(factory.envelope(agency=agency)) for _ in range(2)]
    other = hold(factory.envelope(agency=other_agency))
    recent = hold(factory.envelope(agency=agency), at(date(2026, 9, 10)))
    supervisor = factory.user(Role.supervisor, post_office=office, full_name="Trần Thị Bình")
    db.session.commit()
    login(client, supervisor)
    return {
        "office": office,
        "agency": agency,
        "other_agency": other_agency,
        "due": due,
        "other": other,
        "recent": recent,
        "supervisor": supervisor,
    }


def start(client, agency, officer="Lê Văn Cường") -> int:
    response = client.post(
        "/console/returns", data={"agency_id": agency.id, "officer_name": officer}
    )
    assert response.status_code == 302
    return int(response.headers["Location"].rstrip("/").split("/")[-1])


def scan(client, handover_id, text, note=None):
    data = {"code": text} | ({"override_note": note} if note is not None else {})
    return client.post(f"/console/returns/{handover_id}/scan", data=data, headers=JSON)


def pages(pdf: bytes) -> int:
    assert pdf.startswith(b"%PDF")
    return len(re.findall(rb"/Type /Page\b(?!s)", pdf))


def counts() -> tuple[int, int]:
    db.session.expire_all()
    return (
        db.session.scalar(db.select(db.func.count(Event.id))),
        db.session.scalar(db.select(db.func.count(HandoverItem.id))),
    )


def test_the_page_lists_what_is_due_back_by_agency(client, returns):
    page = client.get("/console/returns").get_data(as_text=True)
    assert f'data-testid="due-{returns["agency"].code}">2 ' in page
    assert f'data-testid="due-{returns["other_agency"].code}">1 ' in page


def test_envelopes_past_their_hold_go_back_each_with_its_event(app, client, returns):
    assert returns["recent"].hold_deadline > DEADLINE
    handover_id = start(client, returns["agency"])
    first, second = returns["due"]
    answer = scan(client, handover_id, first.code)
    assert answer.status_code == 200, answer.get_json()
    assert answer.json["counts"] == {"received": 1, "announced": 2, "waiting": 1}
    payload = sign_envelope_qr(second.code, app.config["QR_SIGNING_KEY"])
    assert scan(client, handover_id, payload).json["counts"]["waiting"] == 0
    db.session.expire_all()
    for envelope in (first, second):
        assert db.session.get(Envelope, envelope.id).state is State.returned_to_agency
        event = db.session.scalars(
            db.select(Event).where(
                Event.envelope_id == envelope.id, Event.kind == "envelope.return_to_agency"
            )
        ).one()
        assert event.data["handover_id"] == handover_id
        assert event.actor_id == returns["supervisor"].id
        assert (event.from_state, event.to_state) == ("held_at_office", "returned_to_agency")
    handover = db.session.get(Handover, handover_id)
    assert handover.kind == "return" and handover.courier_name == "Lê Văn Cường"
    assert client.post(f"/console/returns/{handover_id}/finish").status_code == 302
    record = client.get(f"/console/returns/{handover_id}/record.pdf")
    assert record.status_code == 200 and record.mimetype == "application/pdf"
    assert pages(record.data) == 1
    assert scan(client, handover_id, returns["recent"].code).json["error"]["code"] == (
        "handover_finished"
    )


@pytest.mark.parametrize(
    "case, code",
    [
        ("not_over", "hold_not_over"),
        ("not_held", "not_held"),
        ("twice", "already_returned"),
        ("other_agency", "other_agency"),
        ("other_office", "other_office"),
        ("forged", "forged_label"),
        ("junk", "not_a_code"),
        ("unknown", "not_found"),
    ],
)
def test_a_refused_return_says_why_and_changes_nothing(app, client, factory, returns, case, code):
    handover_id = start(client, returns["agency"])
    if case == "not_over":
        text = returns["recent"].code
    elif case == "not_held":
        envelope = factory.envelope(agency=returns["agency"])
        apply_action(envelope, Action.receive, now=at(AFTER_DEADLINE))
        text = envelope.code
    elif case == "twice":
        assert scan(client, handover_id, returns["due"][0].code).status_code == 200
        text = returns["due"][0].code
    elif case == "other_agency":
        text = returns["other"].code
    elif case == "other_office":
        text = hold(factory.envelope()).code
    elif case == "forged":
        text = sign_envelope_qr(returns["due"][0].code, b"not the office key")
    elif case == "junk":
        text = "'; DROP TABLE envelope; --"
    else:
        text = "HC999999995VN"
    db.session.commit()
    before = counts()
    answer = scan(client, handover_id, text)
    assert 400 <= answer.status_code < 500
    assert answer.json["error"]["code"] == code and answer.json["error"]["message"]
    assert counts() == before


def test_a_lost_race_is_a_409_and_changes_nothing(client, returns, monkeypatch):
    from sqlalchemy.orm.exc import StaleDataError

    def lost_race(*args, **kwargs):
        raise StaleDataError("changed by another transaction")

    handover_id = start(client, returns["agency"])
    monkeypatch.setattr("backend.console.returns.apply_action", lost_race)
    before = counts()
    answer = scan(client, handover_id, returns["due"][0].code)
    assert answer.status_code == 409 and answer.json["error"]["code"] == "envelope_busy"
    assert counts() == before


def test_a_supervisor_returns_one_early_with_a_note(client, returns):
    handover_id = start(client, returns["agency"])
    recent = returns["recent"]
    assert scan(client, handover_id, recent.code, note="   ").json["error"]["code"] == (
        "hold_not_over"
    )
    answer = scan(client, handover_id, recent.code, note="Cơ quan yêu cầu trả sớm")
    assert answer.status_code == 200
    event = db.session.scalars(
        db.select(Event).where(Event.envelope_id == recent.id, Event.kind.like("%return%"))
    ).one()
    assert event.data["override_note"] == "Cơ quan yêu cầu trả sớm"


def test_another_offices_return_is_not_found(app, client, factory, returns):
    handover_id = start(client, returns["agency"])
    stranger = factory.user(Role.supervisor, post_office=factory.office())
    db.session.commit()
    other = app.test_client()
    login(other, stranger)
    before = counts()
    assert other.get(f"/console/returns/{handover_id}").status_code == 404
    assert other.get(f"/console/returns/{handover_id}/record.pdf").status_code == 404
    assert scan(other, handover_id, returns["due"][0].code).status_code == 404
    assert other.post(f"/console/returns/{handover_id}/finish").status_code == 404
    assert counts() == before
    assert f'data-testid="due-{returns["agency"].code}"' not in other.get(
        "/console/returns"
    ).get_data(as_text=True)


def test_a_return_is_not_a_receipt_and_the_other_way(client, returns):
    handover_id = start(client, returns["agency"])
    assert client.get(f"/console/receive/{handover_id}").status_code == 404
    assert client.get(f"/console/receive/{handover_id}/record.pdf").status_code == 404
    receive_scan = client.post(
        f"/console/receive/{handover_id}/scan", data={"code": returns["due"][0].code}, headers=JSON
    )
    assert receive_scan.status_code == 404
    receive = client.post("/console/receive", data={"agency_id": returns["agency"].id})
    receive_id = int(receive.headers["Location"].rstrip("/").split("/")[-1])
    assert client.get(f"/console/returns/{receive_id}").status_code == 404
    assert "Lê Văn Cường" not in client.get("/console/receive").get_data(as_text=True)


def test_the_return_record_runs_over_pages(app):
    from backend.console.records import HandoverRecord, RecordLine, _texts, render_handover_pdf

    line = RecordLine("HC123456785VN", "DOSSIER-1", "Nguyễn Văn An", "Cấp thẻ Căn cước")
    record = HandoverRecord(
        kind="return",
        number=9,
        office_name="Bưu cục Lạng Sơn",
        agency_name="Công an tỉnh",
        courier_name="Lê Văn Cường",
        received_by="Trần Thị Bình",
        started_at=datetime(2026, 9, 17, 2, 0, tzinfo=UTC),
        finished_at=None,
        announced=60,
        lines=[line] * 60,
    )
    with app.test_request_context("/?lang=vi"):
        assert pages(render_handover_pdf(record)) == 2
        texts = _texts(record)
    assert texts["title"] != _texts_receive_title(app)
    assert [who for who, _name in texts["signatures"]][1] and texts["signatures"][0][1] == (
        "Trần Thị Bình"
    )


def _texts_receive_title(app) -> str:
    from backend.console.records import HandoverRecord, _texts

    with app.test_request_context("/?lang=vi"):
        return _texts(
            HandoverRecord(1, "o", "a", None, "r", datetime(2026, 1, 1, tzinfo=UTC), None, 0, [])
        )["title"]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    database=None,
)
@given(
    code=st.text(max_size=150),
    note=st.one_of(st.none(), st.text(max_size=80)),
    agency=st.one_of(st.text(max_size=20), st.integers()),
    officer=st.text(max_size=300),
)
def test_no_input_earns_a_5xx(client, returns, code, note, agency, officer):
    assert (
        client.post(
            "/console/returns", data={"agency_id": agency, "officer_name": officer}
        ).status_code
        < 500
    )
    handover_id = start(client, returns["agency"])
    before = counts()
    answer = scan(client, handover_id, code, note)
    assert answer.status_code < 500
    if answer.status_code >= 400:
        assert counts() == before
    data = {"code": code} | ({"override_note": note} if note is not None else {})
    assert client.post(f"/console/returns/{handover_id}/scan", data=data).status_code < 500
