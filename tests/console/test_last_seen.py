"""Watch live: each postman's last contact with the API (not only his last attempt), written at
most once a minute, shown as "5 phút trước" and called out when it is old; and the office picker
of administrators on the live and plan pages, which supervisors cannot forge their way around."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import event

from backend.extensions import db
from backend.models import Role, User
from tests.conftest import NOW, login
from tests.delivery.helpers import TODAY, failed_meta, make_run, post_attempt


class Clock:
    """The server's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self):
        return self.now


@pytest.fixture(autouse=True)
def clock(monkeypatch) -> Clock:
    frozen = Clock()
    monkeypatch.setattr("backend.clock.now", frozen)
    return frozen


@contextmanager
def writes_to_users():
    """The statements that write a user's row, while the block runs."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE USER_ACCOUNT"):
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def seen_at(user: User):
    db.session.expire(user)
    return user.last_seen_at


@pytest.fixture
def day(app, factory):
    """A run of three stops, its postman's phone (logged in) and the office's supervisor."""
    postman, run = make_run(factory, 3)
    phone = app.test_client()
    login(phone, postman)
    supervisor = factory.user(Role.supervisor, post_office=run.post_office)
    db.session.commit()
    return {"postman": postman, "run": run, "phone": phone, "supervisor": supervisor}


def live_run(client) -> dict:
    (run,) = client.get("/console/live.json").get_json()["runs"]
    return run


# --- Last seen ---------------------------------------------------------------------------------


def test_fetching_the_run_is_contact_written_at_most_once_a_minute(day, clock):
    phone, postman = day["phone"], day["postman"]
    assert seen_at(postman) is None
    with writes_to_users() as writes:
        assert phone.get("/api/v1/runs/today").status_code == 200
    assert len(writes) == 1 and seen_at(postman) == NOW

    clock.now = NOW + timedelta(seconds=50)
    with writes_to_users() as writes:
        assert phone.get("/api/v1/runs/today").status_code == 200
    assert writes == [] and seen_at(postman) == NOW  # within the minute: nothing written

    clock.now = NOW + timedelta(seconds=61)
    etag = phone.get("/api/v1/runs/today").headers["ETag"]
    assert seen_at(postman) == NOW + timedelta(seconds=61)
    clock.now = NOW + timedelta(minutes=5)
    # A 304 (the run unchanged on the phone) is contact too.
    assert phone.get("/api/v1/runs/today", headers={"If-None-Match": etag}).status_code == 304
    assert seen_at(postman) == NOW + timedelta(minutes=5)


def test_an_attempt_and_a_refused_one_are_contact(day, clock):
    phone, postman = day["phone"], day["postman"]
    assert post_attempt(phone, failed_meta(day["run"].stops[0]), []).status_code == 201
    assert seen_at(postman) == NOW
    clock.now = NOW + timedelta(minutes=2)
    refused = post_attempt(phone, "{not json", [])
    assert refused.status_code == 422
    assert seen_at(postman) == NOW + timedelta(minutes=2)


def test_a_clock_that_moved_back_does_not_write_the_past(day, clock):
    phone, postman = day["phone"], day["postman"]
    clock.now = NOW + timedelta(minutes=10)
    phone.get("/api/v1/runs/today")
    clock.now = NOW  # another server, a minute slow … or ten
    phone.get("/api/v1/runs/today")
    assert seen_at(postman) == NOW + timedelta(minutes=10)


def test_a_postman_who_only_fetched_his_run_is_seen_not_never_synced(client, day, clock):
    login(client, day["supervisor"])
    run = live_run(client)
    assert run["last_seen"] is None and run["unseen"] is True  # never heard from, work left

    clock.now = NOW - timedelta(minutes=5)
    day["phone"].get("/api/v1/runs/today")
    clock.now = NOW
    run = live_run(client)
    assert run["last_sync"] is None  # no attempt yet …
    assert run["last_seen"] == (NOW - timedelta(minutes=5)).isoformat()  # … but seen
    assert run["unseen"] is False
    html = client.get("/console/live").get_data(as_text=True)
    assert "5 phút trước" in html


def test_a_postman_not_heard_from_for_long_is_called_out(client, day, clock):
    day["phone"].get("/api/v1/runs/today")
    login(client, day["supervisor"])
    clock.now = NOW + timedelta(minutes=30)
    assert live_run(client)["unseen"] is False  # the setting's 30 minutes: not yet
    clock.now = NOW + timedelta(minutes=31)
    run = live_run(client)
    assert run["unseen"] is True and run["last_seen"] == NOW.isoformat()
    html = client.get("/console/live").get_data(as_text=True)
    assert 'class="unseen-warning"' in html
    assert "Không liên lạc được hơn 30 phút" in html
    assert "31 phút trước" in html


def test_the_setting_says_how_long_is_too_long(app, client, day, clock, monkeypatch):
    monkeypatch.setitem(app.config, "TRAO_LIVE_UNSEEN_MINUTES", 5)
    day["phone"].get("/api/v1/runs/today")
    login(client, day["supervisor"])
    clock.now = NOW + timedelta(minutes=6)
    assert live_run(client)["unseen"] is True


def test_a_run_with_nothing_left_calls_no_one_out(client, day, clock):
    for stop in day["run"].stops:
        assert post_attempt(day["phone"], failed_meta(stop), []).status_code == 201
    login(client, day["supervisor"])
    clock.now = NOW + timedelta(hours=3)
    run = live_run(client)
    assert run["progress"]["left"] == 0 and run["unseen"] is False
    assert run["last_seen"] == NOW.isoformat()


def test_the_live_page_adds_no_statement_for_last_seen(app, client, day, factory):
    """The postman's row comes with the runs: one more run does not add a query."""

    def count() -> int:
        n = 0

        def tick(*args):
            nonlocal n
            n += 1

        db.session.commit()
        db.session.expunge_all()
        event.listen(db.engine, "before_cursor_execute", tick)
        try:
            assert client.get("/console/live.json").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", tick)
        return n

    login(client, factory.user(Role.admin))
    day["phone"].get("/api/v1/runs/today")
    one = count()
    other, _run = make_run(factory, 2)
    phone = app.test_client()
    login(phone, other)
    phone.get("/api/v1/runs/today")
    assert count() == one


# --- The office picker -------------------------------------------------------------------------


@pytest.fixture
def two_offices(day, factory):
    other_postman, other_run = make_run(factory, 1)
    admin = factory.user(Role.admin)
    db.session.commit()
    return {**day, "other_run": other_run, "admin": admin}


def test_an_administrator_picks_the_office_on_the_live_page(client, two_offices):
    t = two_offices
    login(client, t["admin"])
    html = client.get("/console/live").get_data(as_text=True)
    assert 'data-testid="office-select"' in html
    assert t["run"].post_office.name in html and t["other_run"].post_office.name in html
    assert len(client.get("/console/live.json").get_json()["runs"]) == 2  # every office
    office = t["other_run"].post_office_id
    runs = client.get(f"/console/live.json?office={office}").get_json()["runs"]
    assert [r["id"] for r in runs] == [t["other_run"].id]
    page = client.get(f"/console/live?office={office}").get_data(as_text=True)
    assert f'data-url="/console/live.json?office={office}"' in page


def test_an_administrator_picks_the_office_on_the_plan_page_and_keeps_the_day(client, two_offices):
    t = two_offices
    login(client, t["admin"])
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    office = t["other_run"].post_office
    html = client.get(f"/console/plan?office={office.id}&date={tomorrow}").get_data(as_text=True)
    assert 'data-testid="office-picker"' in html
    picker = html.split('data-testid="office-picker"')[1].split("</form>")[0]
    assert f'name="date" value="{tomorrow}"' in picker
    assert f'<option value="{office.id}" selected>' in picker
    assert t["run"].post_office.name in picker


def test_a_supervisor_has_no_picker_and_cannot_forge_another_office(client, two_offices):
    t = two_offices
    login(client, t["supervisor"])
    own, other = t["run"].post_office_id, t["other_run"].post_office_id
    for url in ("/console/live", "/console/plan"):
        assert 'data-testid="office-select"' not in client.get(url).get_data(as_text=True)
        assert client.get(f"{url}?office={own}").status_code == 200
        assert client.get(f"{url}?office={other}").status_code == 404
    answer = client.get(
        f"/console/live.json?office={other}", headers={"Accept": "application/json"}
    )
    assert answer.status_code == 404
    assert answer.get_json()["error"]["code"] == "office_not_found"
    assert client.get(f"/console/live.json?office={own}").status_code == 200
    # A form posted with another office named: refused, nothing assigned.
    envelope = t["other_run"].stops[0].envelope
    refused = client.post(
        "/console/plan/assign",
        data={"office": other, "postman_id": t["other_run"].postman_id, "envelope_id": envelope.id},
        headers={"Accept": "application/json"},
    )
    assert refused.status_code == 404


@given(office=st.one_of(st.text(max_size=40), st.integers().map(str)))
@example(office="2147483648")
@example(office="-1")
@example(office="٣")  # an Arabic-Indic digit: isdigit() says yes, int() would too
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_any_office_asked_for_is_a_page_or_a_4xx(client, two_offices, office):
    for user in (two_offices["admin"], two_offices["supervisor"]):
        login(client, user)
        for url in ("/console/live.json", "/console/live", "/console/plan"):
            status = client.get(url, query_string={"office": office}).status_code
            assert status in (200, 404, 422), (url, office, status)
