"""The citizen's requests from the tracking page: the same events a clerk records (as the
citizen), heeded by planning, refused in plain words with nothing changed."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from backend.console.requests import REQUEST_EVENT, check_not_asked_later
from backend.domain.lifecycle import State
from backend.errors import Conflict
from backend.extensions import db
from backend.models import Event
from tests.tracking.conftest import verify

# NOW is Monday 23 November 2026 in Vietnam; Tuesday 24 is Vietnamese Culture Day (a holiday
# from 2026): the next working days are Wednesday 25 onwards.
WEDNESDAY, THURSDAY = date(2026, 11, 25), date(2026, 11, 26)


def ask(client, token, kind, day=None):
    data = {"kind": kind}
    if day is not None:
        data["day"] = day.isoformat() if isinstance(day, date) else day
    return client.post(f"/t/{token}/request", data=data)


def events(kind=REQUEST_EVENT):
    return db.session.scalar(select(func.count()).select_from(Event).where(Event.kind == kind))


@pytest.fixture
def failed(story, client):
    """Out this morning, nobody at home; the citizen gave the digits."""
    story.receive()
    story.load()
    story.attempt("failed", reason="not_home")
    verify(client, story.token)
    return story


def test_another_day_is_recorded_as_the_citizen_and_planning_heeds_it(client, failed):
    response = ask(client, failed.token, "another_day", THURSDAY)
    assert response.status_code == 303
    event = db.session.scalars(select(Event).where(Event.kind == REQUEST_EVENT)).one()
    assert event.actor_kind == "citizen" and event.actor_id is None
    assert event.data == {"kind": "another_day", "day": "2026-11-26"}
    with pytest.raises(Conflict):
        check_not_asked_later([failed.envelope], WEDNESDAY)
    check_not_asked_later([failed.envelope], THURSDAY)
    html = client.get(f"/t/{failed.token}").get_data(as_text=True)
    assert "Yêu cầu của bạn" in html and "theo yêu cầu của bạn" in html and "26" in html


def test_collecting_it_holds_the_envelope_at_the_office(client, failed):
    assert ask(client, failed.token, "collect").status_code == 303
    db.session.refresh(failed.envelope)
    assert failed.envelope.state is State.held_at_office
    hold = db.session.scalars(select(Event).where(Event.kind == "envelope.hold")).one()
    assert hold.actor_kind == "citizen"


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 11, 23),
        date(2026, 11, 24),
        date(2026, 11, 28),
        date(2026, 12, 31),
        "",
        "tomorrow",
        None,
    ],
)
def test_a_day_not_offered_is_refused(client, failed, day):
    response = ask(client, failed.token, "another_day", day)
    assert response.status_code == 422
    assert events() == 0


def test_nothing_can_be_asked_while_the_postman_is_on_the_way(client, story):
    story.receive()
    story.load()
    verify(client, story.token)
    response = ask(client, story.token, "another_day", WEDNESDAY)
    assert response.status_code == 409
    assert "Hôm nay bưu tá đang mang đến" in client.post(
        f"/t/{story.token}/request", data={"kind": "collect"}
    ).get_data(as_text=True)
    assert events() == 0


def test_a_held_envelope_cannot_be_asked_for_again(client, failed):
    ask(client, failed.token, "collect")
    assert ask(client, failed.token, "collect").status_code == 409
    assert ask(client, failed.token, "another_day", WEDNESDAY).status_code == 409
    assert events() == 1


def test_another_day_is_refused_once_every_home_attempt_was_made(client, failed):
    failed.load()
    failed.attempt("failed", reason="not_home")
    response = ask(client, failed.token, "another_day", WEDNESDAY)
    assert response.status_code == 409
    assert events() == 0
    assert ask(client, failed.token, "collect").status_code == 303


def test_requests_need_the_digits_first(client, story):
    story.receive()
    assert ask(client, story.token, "collect").status_code == 403
    assert events() == 0 and story.envelope.state is State.at_office


def test_the_form_offers_the_next_working_days(client, failed):
    html = client.get(f"/t/{failed.token}").get_data(as_text=True)
    assert 'value="2026-11-25"' in html and 'value="2026-12-01"' in html
    assert 'value="2026-11-24"' not in html  # a holiday
    assert 'value="2026-11-28"' not in html  # a Saturday


def test_the_supervisor_sees_the_citizens_request_on_the_envelopes_page(client, failed, factory):
    from backend.models import Role
    from tests.conftest import login

    ask(client, failed.token, "another_day", THURSDAY)
    supervisor = factory.user(Role.supervisor, post_office=failed.envelope.dossier.post_office)
    db.session.commit()
    login(client, supervisor)
    html = client.get(f"/console/envelopes/{failed.envelope.code}").get_data(as_text=True)
    assert 'data-testid="by-citizen"' in html and "2026-11-26" in html
