"""Redelivery: a failed envelope back in the pool with its reason, and the citizen's request
(another day, or collect at the office) recorded on the envelope's page and heeded on every path
that loads an envelope onto a run."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from backend.console import planning
from backend.console.requests import REQUEST_EVENT, latest_requests
from backend.console.services import receive_envelopes
from backend.domain.envelope_qr import sign_envelope_qr
from backend.domain.lifecycle import Action, State
from backend.envelopes.services import apply_action
from backend.extensions import db
from backend.models import DeliveryAttempt, Envelope, Event, OutboxMessage, Role
from tests.conftest import NOW, login
from tests.console.test_planning import JSON, SPOTS, TODAY, post, runs_of, snapshot


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    monkeypatch.setattr("backend.clock.now", lambda: NOW)


@pytest.fixture
def office(app, client, factory):
    """An office, its supervisor (logged in), a postman; one envelope that failed yesterday
    (nobody at home) and two fresh ones, all waiting."""
    office = factory.office()
    agency = factory.agency(post_office=office)
    supervisor = factory.user(Role.supervisor, post_office=office)
    postman = factory.user(Role.postman, post_office=office, full_name="Nông Văn Thắng")
    failed, fresh, other = (
        factory.envelope(
            agency=agency,
            recipient_name=f"Người nhận {i}",
            address_line=f"Số {i + 1}, đường Lê Lợi",
            latitude=SPOTS[i][0],
            longitude=SPOTS[i][1],
        )
        for i in range(3)
    )
    receive_envelopes([failed, fresh, other], actor=supervisor, now=NOW - timedelta(days=1))
    apply_action(failed, Action.load, now=NOW - timedelta(days=1), actor=supervisor)
    apply_action(failed, Action.fail, now=NOW - timedelta(days=1), actor=postman)
    db.session.add(
        DeliveryAttempt(
            id=str(uuid.uuid4()),
            envelope_id=failed.id,
            postman_id=postman.id,
            attempt_number=1,
            outcome="failed",
            reason_code="not_home",
            note="Gọi ba lần không ai nghe",
            meta_digest="0" * 64,
            received_at=NOW - timedelta(days=1),
        )
    )
    db.session.commit()
    login(client, supervisor)
    return {
        "office": office,
        "agency": agency,
        "supervisor": supervisor,
        "postman": postman,
        "failed": failed,
        "fresh": fresh,
        "other": other,
    }


def ask(client, envelope, kind, day=None, note="", json=True):
    data = {"kind": kind, "note": note}
    if day is not None:
        data["day"] = day.isoformat()
    return client.post(
        f"/console/envelopes/{envelope.code}/request", data=data, headers=JSON if json else {}
    )


def pool_page(client, day=TODAY) -> str:
    return client.get(f"/console/plan?date={day.isoformat()}").get_data(as_text=True)


def in_pool(html: str, envelope) -> bool:
    """Listed among the envelopes that may go out (not among those waiting for a later day)."""
    table = html.split('data-testid="pool-later"')[0]
    return f'data-code="{envelope.code}"' in table


# --- Redelivery: the failed envelope is back in the pool, with why -----------------------------


def test_a_failed_envelope_is_planned_again_with_its_reason_shown(client, office):
    html = pool_page(client)
    assert in_pool(html, office["failed"]) and in_pool(html, office["fresh"])
    row = html.split(f'data-code="{office["failed"].code}"')[1].split("</tr>")[0]
    assert 'data-testid="pool-failure"' in row
    assert "Không có người ở nhà" in row or "Nobody at home" in row
    assert "Gọi ba lần không ai nghe" in row
    assert ">2<" in row.replace(" ", "").replace("\n", "")  # its second attempt
    # Planned again: onto the postman's run of the day, its second attempt to come.
    response = post(
        client,
        "/console/plan/assign",
        {"postman_id": office["postman"].id, "envelope_id": [office["failed"].id]},
    )
    assert response.status_code == 200, response.get_json()
    db.session.expire_all()
    assert office["failed"].state is State.out_for_delivery
    assert office["failed"].attempts_made == 1


def test_an_envelope_whose_attempts_are_spent_is_not_planned_again(client, office, app):
    failed = office["failed"]
    apply_action(failed, Action.load, now=NOW, actor=office["supervisor"])
    apply_action(failed, Action.fail, now=NOW, actor=office["postman"])
    db.session.commit()
    assert failed.attempts_made == app.config["DELIVERY_POLICY"].max_home_attempts
    assert not in_pool(pool_page(client), failed)


# --- Another day ---------------------------------------------------------------------------


def test_another_day_keeps_the_envelope_for_that_day_and_says_so(client, office):
    failed, later_day = office["failed"], TODAY + timedelta(days=3)
    response = ask(client, failed, "another_day", later_day, note="Chị Lan gọi: thứ Năm có nhà")
    assert response.status_code == 303
    db.session.expire_all()
    assert failed.state is State.attempt_failed  # a request changes no state
    (event,) = db.session.scalars(db.select(Event).filter_by(kind=REQUEST_EVENT)).all()
    assert event.envelope_id == failed.id and event.actor_id == office["supervisor"].id
    assert event.data == {
        "kind": "another_day",
        "day": later_day.isoformat(),
        "note": "Chị Lan gọi: thứ Năm có nhà",
    }
    # Not in today's pool, nor the day before the one asked for: listed apart, with the day.
    for day in (TODAY, later_day - timedelta(days=1)):
        html = pool_page(client, day)
        assert not in_pool(html, failed) and in_pool(html, office["fresh"])
        assert f'<li data-code="{failed.code}">' in html
    # On the day asked for it is in the pool, the request beside its reason.
    html = pool_page(client, later_day)
    assert in_pool(html, failed)
    row = html.split(f'data-code="{failed.code}"')[1].split("</tr>")[0]
    assert 'data-testid="pool-request"' in row
    # The envelope's page tells the request and its history.
    page = client.get(f"/console/envelopes/{failed.code}").get_data(as_text=True)
    assert 'data-testid="current-request"' in page and "Chị Lan gọi" in page


@pytest.mark.parametrize("path", ["assign", "split", "scan"])
def test_no_path_loads_an_envelope_before_the_day_its_citizen_asked_for(client, office, app, path):
    fresh = office["fresh"]
    ask(client, fresh, "another_day", TODAY + timedelta(days=2))
    before = snapshot(office["office"])
    postman = office["postman"]
    if path == "assign":
        data = {"postman_id": postman.id, "envelope_id": [fresh.id]}
    elif path == "split":
        data = {"split_postman_id": [postman.id], "envelope_id": [fresh.id, office["other"].id]}
    else:
        qr = sign_envelope_qr(fresh.code, app.config["QR_SIGNING_KEY"])
        data = {"postman_id": postman.id, "code": qr}
    response = post(client, f"/console/plan/{path}", data)
    assert response.status_code == 409, response.get_json()
    assert response.get_json()["error"]["code"] == "asked_for_later_day"
    assert snapshot(office["office"]) == before
    # On the day asked for, the same envelope goes.
    response = client.post(
        f"/console/plan/{path}",
        data={**data, "date": (TODAY + timedelta(days=2)).isoformat()},
        headers=JSON,
    )
    assert response.status_code == 200, response.get_json()


def test_the_latest_request_counts(client, office):
    failed = office["failed"]
    ask(client, failed, "another_day", TODAY + timedelta(days=5))
    ask(client, failed, "another_day", TODAY + timedelta(days=1))
    assert latest_requests([failed.id])[failed.id].day == TODAY + timedelta(days=1)
    assert in_pool(pool_page(client, TODAY + timedelta(days=1)), failed)


# --- Collect at the office -----------------------------------------------------------------


def test_collect_at_the_office_holds_the_envelope_for_the_counter(client, office):
    failed = office["failed"]
    assert ask(client, failed, "collect", note="Anh Tuấn sẽ ra bưu cục").status_code == 303
    db.session.expire_all()
    assert failed.state is State.held_at_office
    kinds = db.session.scalars(
        db.select(Event.kind).where(Event.envelope_id == failed.id).order_by(Event.id)
    ).all()
    assert kinds[-2:] == [REQUEST_EVENT, "envelope.hold"]
    assert not in_pool(pool_page(client), failed)


# --- Refusals ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind, days, note, status, code",
    [
        ("sometime", 2, "", 422, "invalid"),
        ("another_day", None, "", 422, "bad_day"),
        ("another_day", 0, "", 422, "bad_day"),
        ("another_day", -1, "", 422, "bad_day"),
        ("another_day", 61, "", 422, "bad_day"),
        ("another_day", 2, "x" * 501, 422, "invalid"),
    ],
)
def test_a_bad_request_is_refused_and_changes_nothing(
    client, office, kind, days, note, status, code
):
    before = snapshot(office["office"])
    day = TODAY + timedelta(days=days) if days is not None else None
    response = ask(client, office["failed"], kind, day, note)
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code
    assert snapshot(office["office"]) == before


def test_a_request_for_an_envelope_no_longer_waiting_is_a_409(client, office):
    envelope = office["fresh"]
    apply_action(envelope, Action.load, now=NOW, actor=office["supervisor"])
    apply_action(envelope, Action.deliver, now=NOW, actor=office["postman"])
    db.session.commit()
    before = snapshot(office["office"])
    response = ask(client, envelope, "another_day", TODAY + timedelta(days=2))
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "not_waiting"
    assert snapshot(office["office"]) == before
    # On the page: no form, and a message rather than an error page when posted anyway.
    page = client.get(f"/console/envelopes/{envelope.code}").get_data(as_text=True)
    assert 'data-testid="request-form"' not in page
    response = ask(client, envelope, "collect", json=False)
    assert response.status_code == 303


def test_another_offices_envelope_is_not_found(client, office, factory):
    elsewhere = factory.office(code="250000")
    envelope = factory.envelope(agency=factory.agency(post_office=elsewhere, code="CA-CB"))
    receive_envelopes([envelope], actor=office["supervisor"], now=NOW)
    db.session.commit()
    before = snapshot(office["office"])
    assert ask(client, envelope, "collect").status_code == 404
    assert snapshot(office["office"]) == before


def test_only_staff_record_requests(client, office):
    login(client, office["postman"])
    assert ask(client, office["failed"], "collect").status_code in (401, 403)
    db.session.expire_all()
    assert office["failed"].state is State.attempt_failed


form_values = st.one_of(st.text(max_size=80), st.integers().map(str), st.just(""))


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    kind=st.one_of(st.sampled_from(["another_day", "collect"]), form_values),
    day=st.one_of(st.dates().map(str), form_values),
    note=form_values,
    extra=st.dictionaries(st.text(max_size=10), form_values, max_size=3),
)
def test_no_form_earns_a_5xx(client, office, kind, day, note, extra):
    envelope = office["fresh"]
    response = client.post(
        f"/console/envelopes/{envelope.code}/request",
        data={**extra, "kind": kind, "day": day, "note": note},
        headers=JSON,
    )
    assert response.status_code < 500
    db.session.rollback()
    db.session.expire_all()
    if response.status_code >= 400:
        return
    # Accepted: a request event, the state waiting or held; put back for the next example.
    envelope = db.session.get(Envelope, envelope.id)
    assert envelope.state in (State.at_office, State.held_at_office)
    undone = select(Event.id).where(Event.kind.in_([REQUEST_EVENT, "envelope.hold"]))
    # The citizen's message about the hold points at its event (backend/notify).
    db.session.execute(db.delete(OutboxMessage).where(OutboxMessage.event_id.in_(undone)))
    db.session.execute(db.delete(Event).where(Event.id.in_(undone)))
    envelope._state = State.at_office.value
    db.session.commit()


def test_planning_module_heeds_requests_directly(app, office):
    # The rule lives in the service, not only the view: assign_envelopes refuses too.
    from backend.console.requests import record_request
    from backend.errors import Conflict

    record_request(
        office["fresh"],
        "another_day",
        day=TODAY + timedelta(days=4),
        note="",
        actor=office["supervisor"],
        now=NOW,
        today=TODAY,
        policy=planning.DEFAULT_POLICY,
    )
    with app.test_request_context(), pytest.raises(Conflict):
        planning.assign_envelopes(
            office["office"],
            office["postman"],
            TODAY,
            [office["fresh"]],
            actor=office["supervisor"],
            now=NOW,
        )
    db.session.rollback()
    assert runs_of(office["office"]) == []
