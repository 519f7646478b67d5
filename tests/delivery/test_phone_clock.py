"""The clock-gap exception measures the phone's clock, not how long an attempt waited offline: the
phone sends its clock as it sends (X-Trao-Sent-At) and the server compares that with its own.
A missing or unreadable header never refuses an attempt and never flags it."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from backend.domain.review import clock_gap, read_phone_clock
from backend.extensions import db
from backend.models import DeliveryAttempt
from tests.conftest import NOW, login
from tests.delivery.helpers import OFFICE_TZ, failed_meta, make_run, post_attempt

LIMIT = timedelta(minutes=15)
LATENCY = timedelta(minutes=3)


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    monkeypatch.setattr("backend.clock.now", lambda: NOW)


def sent(at: datetime) -> dict:
    """The header as the phone sends it: its local time with its offset."""
    return {"X-Trao-Sent-At": at.astimezone(OFFICE_TZ).isoformat(timespec="milliseconds")}


def flags_of(attempt_id: str) -> list[str]:
    return db.session.get(DeliveryAttempt, attempt_id).review_flags


def send_failure(client, stop, *, recorded: datetime, headers: dict | None):
    meta = failed_meta(stop, device_time=recorded.astimezone(OFFICE_TZ).isoformat())
    response = post_attempt(client, meta, [], headers=headers)
    return meta["attempt_id"], response


@pytest.fixture
def phone(client, factory):
    postman, run = make_run(factory, 4)
    login(client, postman)
    return client, run.stops


# --- The rule, on its own ----------------------------------------------------------------------


def test_an_attempt_kept_offline_is_not_a_clock_gap_whatever_its_age():
    # Recorded hours ago and sent now by a phone whose clock is right: what counts is the send.
    assert not clock_gap(NOW - timedelta(seconds=5), NOW, LIMIT, LATENCY)


def test_a_clock_off_by_twenty_minutes_either_way_is_a_gap():
    assert clock_gap(NOW - timedelta(minutes=20), NOW, LIMIT, LATENCY)
    assert clock_gap(NOW + timedelta(minutes=20), NOW, LIMIT, LATENCY)


def test_a_slow_trip_is_allowed_for_on_the_late_side_only():
    assert not clock_gap(NOW - LIMIT - LATENCY, NOW, LIMIT, LATENCY)
    assert clock_gap(NOW - LIMIT - LATENCY - timedelta(seconds=1), NOW, LIMIT, LATENCY)
    assert not clock_gap(NOW + LIMIT, NOW, LIMIT, LATENCY)
    assert clock_gap(NOW + LIMIT + timedelta(seconds=1), NOW, LIMIT, LATENCY)


def test_no_reading_no_gap():
    assert not clock_gap(None, NOW, LIMIT, LATENCY)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "  ",
        "yesterday",
        "2026-11-23T09:00:00",  # no offset: which clock?
        "2026-11-23",
        "9999-12-31T23:59:59-23:59",  # beyond the calendar once in UTC
        "0001-01-01T00:00:00+23:59",
        "2026-11-23T09:00:00." + "0" * 60 + "+07:00",  # longer than any phone writes
        "-2026-11-23T09:00:00+07:00",
        "2026-13-23T09:00:00+07:00",
        "\x00",
    ],
)
def test_what_is_not_a_clock_reading_is_none(text):
    assert read_phone_clock(text) is None


def test_a_reading_with_an_offset_is_its_instant():
    assert read_phone_clock("2026-11-23T09:00:00.250+07:00") == datetime(
        2026, 11, 23, 2, 0, 0, 250000, tzinfo=UTC
    )
    assert read_phone_clock("2026-11-23T02:00:00Z") == NOW


@given(st.text(max_size=80))
@example("9999-12-31T23:59:59.999999-23:59")
@settings(max_examples=500)
def test_any_text_is_read_or_refused_never_raises(text):
    instant = read_phone_clock(text)
    assert instant is None or instant.tzinfo is not None


@given(st.datetimes(timezones=st.timezones()))
@settings(max_examples=200)
def test_a_reading_names_the_instant_it_was_written_from(instant):
    try:
        expected = instant.astimezone(UTC)
    except OverflowError:
        return
    text = instant.isoformat()
    if len(text) <= 64 and instant.utcoffset() is not None:
        assert read_phone_clock(text) == expected


# --- Through the API ---------------------------------------------------------------------------


def test_an_offline_attempt_synced_thirty_minutes_later_is_not_flagged(phone):
    client, stops = phone
    attempt_id, response = send_failure(
        client,
        stops[0],
        recorded=NOW - timedelta(minutes=30),
        headers=sent(NOW - timedelta(seconds=2)),  # the phone's clock is right
    )
    assert response.status_code == 201, response.get_json()
    assert "clock_gap" not in flags_of(attempt_id)


def test_a_phone_whose_clock_is_twenty_minutes_off_is_flagged(phone):
    client, stops = phone
    behind, response = send_failure(
        client,
        stops[0],
        recorded=NOW - timedelta(minutes=21),
        headers=sent(NOW - timedelta(minutes=20)),
    )
    assert response.status_code == 201
    assert "clock_gap" in flags_of(behind)
    # Ahead by 20 minutes: the attempt's own time (a minute ago by the phone) is accepted, as
    # it is no later than the server's clock allows, but the clock is flagged.
    ahead, response = send_failure(
        client,
        stops[1],
        recorded=NOW - timedelta(minutes=1),
        headers=sent(NOW + timedelta(minutes=20)),
    )
    assert response.status_code == 201
    assert "clock_gap" in flags_of(ahead)


def test_an_attempt_dated_far_ahead_is_still_refused(phone):
    client, stops = phone
    _attempt_id, response = send_failure(
        client, stops[0], recorded=NOW + timedelta(hours=1), headers=sent(NOW)
    )
    assert response.status_code == 422
    assert "device_time" in response.get_json()["error"]["fields"]


def test_no_header_no_flag_and_the_log_says_the_clock_was_not_checked(phone, caplog):
    client, stops = phone
    with caplog.at_level(logging.INFO):
        attempt_id, response = send_failure(
            client, stops[0], recorded=NOW - timedelta(hours=2), headers=None
        )
    assert response.status_code == 201
    assert flags_of(attempt_id) == []
    assert any(
        attempt_id in r.getMessage() and "not checked" in r.getMessage() for r in caplog.records
    )


def test_a_replay_sent_later_is_the_same_attempt(phone):
    client, stops = phone
    meta = failed_meta(stops[0])
    first = post_attempt(client, meta, [], headers=sent(NOW))
    again = post_attempt(client, meta, [], headers=sent(NOW + timedelta(hours=1)))
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json() == again.get_json()


@given(
    header=st.one_of(
        st.text(max_size=200),
        st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
        st.sampled_from(["2026-11-23T08:40:00+07:00", "Z", "+07:00", "2026-11-23T09:00:00"]),
    )
)
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_header_garbage_is_never_a_5xx_nor_a_refusal_nor_a_flag(client, factory, header):
    try:
        header.encode("latin-1")
    except UnicodeEncodeError:
        header = header.encode("utf-8").decode("latin-1")  # what a wire would carry
    header = header.replace("\r", " ").replace("\n", " ")
    postman, run = make_run(factory, 1)
    db.session.commit()
    login(client, postman)
    reading = read_phone_clock(header)
    meta = failed_meta(run.stops[0])
    response = post_attempt(client, meta, [], headers={"X-Trao-Sent-At": header})
    assert response.status_code == 201, (header, response.get_json())
    expected = reading is not None and clock_gap(reading, NOW, LIMIT, LATENCY)
    assert ("clock_gap" in flags_of(meta["attempt_id"])) is expected
