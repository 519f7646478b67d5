"""Another attempt on the same run after a failed one (the citizen called back), counted like any
other while the policy's attempts remain; a stale attempt from another phone is refused."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from backend.extensions import db
from backend.models import DeliveryAttempt, Event
from tests.conftest import NOW, login
from tests.delivery.helpers import (
    OFFICE_TZ,
    default_files,
    delivered_meta,
    failed_meta,
    make_run,
    post_attempt,
)


@pytest.fixture
def stop(client, factory):
    postman, run = make_run(factory)
    login(client, postman)
    return run.stops[0]


def later(minutes: int) -> str:
    return (NOW - timedelta(minutes=60 - minutes)).astimezone(OFFICE_TZ).isoformat()


def error(response) -> str:
    return response.get_json()["error"]["code"]


def test_a_failed_stop_is_delivered_later_on_the_same_run(client, stop):
    first = post_attempt(client, failed_meta(stop, attempt_number=1, device_time=later(0)), [])
    assert first.status_code == 201 and first.get_json()["envelope_state"] == "attempt_failed"
    files = default_files()
    again = delivered_meta(stop, files, attempt_number=2, device_time=later(30))
    response = post_attempt(client, again, files)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["envelope_state"] == "delivered" and body["attempt_number"] == 2
    kinds = (
        db.session.execute(
            select(Event.kind).where(Event.envelope_id == stop.envelope_id).order_by(Event.id)
        )
        .scalars()
        .all()
    )
    assert kinds[-3:] == ["envelope.fail", "envelope.load", "envelope.deliver"]
    assert stop.envelope.attempts_made == 2
    # A replay of the second attempt is still a replay.
    assert post_attempt(client, again, files).status_code == 200


def test_no_attempt_is_made_beyond_the_policy(client, stop):
    for number in (1, 2):
        meta = failed_meta(stop, attempt_number=number, device_time=later(number))
        assert post_attempt(client, meta, []).status_code == 201
    files = default_files()
    third = delivered_meta(stop, files, attempt_number=3, device_time=later(5))
    response = post_attempt(client, third, files)
    assert response.status_code == 409 and error(response) == "attempts_exhausted"
    assert db.session.scalar(select(db.func.count()).select_from(DeliveryAttempt)) == 2


def test_a_stale_attempt_from_another_phone_is_out_of_date(client, stop):
    """Phone A recorded attempt 1; phone B, offline since the morning, also thinks it made
    attempt 1: it is refused, not counted as a second attempt."""
    assert (
        post_attempt(client, failed_meta(stop, attempt_number=1, reason="refused"), []).status_code
        == 201
    )
    stale = post_attempt(client, failed_meta(stop, attempt_number=1), [])
    assert stale.status_code == 409 and error(stale) == "attempt_out_of_date"
    assert stale.get_json()["error"]["fields"] == {"attempts_made": 1, "attempt_number": 1}


def test_an_app_that_does_not_count_attempts_gets_one_per_run(client, stop):
    """Attempts queued by an older app carry no number: only the first of the run lands."""
    assert post_attempt(client, failed_meta(stop), []).status_code == 201
    response = post_attempt(client, failed_meta(stop), [])
    assert response.status_code == 409 and error(response) == "transition_not_allowed"


def test_the_run_tells_the_phone_how_many_attempts_are_left(client, stop):
    assert post_attempt(client, failed_meta(stop, attempt_number=1), []).status_code == 201
    (run,) = client.get("/api/v1/runs/today").get_json()["runs"]
    (listed,) = run["stops"]
    assert (listed["state"], listed["attempts_made"], listed["attempts_left"]) == (
        "attempt_failed",
        1,
        1,
    )
    assert listed["attempt_number"] == 2
