"""Log-ins held on the server: log-out and sign-out-everywhere end every copy of a cookie, and a
log-in lasts TRAO_SESSION_HOURS across restarts of the phone.

Design: each log-in is its own record. Logging out ends that one log-in (the device it is made
on); another device's log-in lives on. Signing a postman out everywhere, or deactivating him,
ends them all.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select

from backend.auth.services import (
    SESSION_ID_KEY,
    deactivate_user,
    end_all_sessions,
    session_user,
    start_session,
)
from backend.extensions import db
from backend.models import AuthSession, Role, User
from tests.conftest import NOW, login, running_app

SESSION_COOKIE = "session"


def copy_of(app: Flask, client: FlaskClient) -> FlaskClient:
    """Another client holding a copy of `client`'s session cookie (a stolen or backed-up copy)."""
    copy = app.test_client()
    copy.set_cookie(SESSION_COOKIE, client.get_cookie(SESSION_COOKIE).value)
    return copy


def is_logged_in(client: FlaskClient) -> bool:
    """Reads today's run, posts an attempt, opens the app: all allowed, or all refused."""
    runs = client.get("/api/v1/runs/today").status_code
    attempt = client.post("/api/v1/attempts", data={}).status_code  # 422 once past the log-in
    page = client.get("/app")
    if runs == 200 and attempt == 422 and page.status_code == 200:
        return True
    assert (runs, attempt, page.status_code) == (401, 401, 302)
    assert page.headers["Location"].startswith("/login")
    return False


def cookie_payload(app: Flask, client: FlaskClient) -> dict:
    serializer = app.session_interface.get_signing_serializer(app)
    return serializer.loads(client.get_cookie(SESSION_COOKIE).value)


@pytest.fixture
def postman(factory) -> User:
    return factory.user(Role.postman)


def test_a_cookie_copied_before_logout_is_refused_after_it(app, client, postman):
    login(client, postman)
    copy = copy_of(app, client)
    assert is_logged_in(copy)

    assert client.post("/logout").status_code == 302
    assert not is_logged_in(client)
    assert not is_logged_in(copy)


def test_sign_out_everywhere_ends_every_device_and_every_copy(app, client, postman):
    login(client, postman)
    other_phone = app.test_client()
    login(other_phone, postman)
    copy = copy_of(app, client)
    assert is_logged_in(copy) and is_logged_in(other_phone)

    result = app.test_cli_runner().invoke(args=["sign-out-everywhere", postman.username.upper()])
    assert result.exit_code == 0, result.output
    assert "2 session(s)" in result.output
    for device in (client, other_phone, copy):
        assert not is_logged_in(device)
    assert login(client, postman).status_code == 302  # he can log in again
    assert is_logged_in(client)


def test_sign_out_everywhere_is_a_service_the_console_can_call(app, client, postman, factory):
    login(client, postman)
    colleague = factory.user(Role.postman)
    colleagues_phone = app.test_client()
    login(colleagues_phone, colleague)

    assert end_all_sessions(postman) == 1
    db.session.commit()
    assert not is_logged_in(client)
    assert is_logged_in(colleagues_phone)  # only his own log-ins end


def test_a_plain_logout_leaves_the_other_devices_logged_in(app, client, postman):
    """By design: logging out of the office computer does not stop the phone mid-run."""
    login(client, postman)
    phone = app.test_client()
    login(phone, postman)

    client.post("/logout")
    assert not is_logged_in(client)
    assert is_logged_in(phone)


def test_an_unknown_user_cannot_be_signed_out(app):
    result = app.test_cli_runner().invoke(args=["sign-out-everywhere", "nobody"])
    assert result.exit_code != 0 and "No user named nobody" in result.output


def test_deactivating_a_user_ends_his_log_ins(app, client, postman):
    login(client, postman)
    assert deactivate_user(postman) == 1
    db.session.commit()
    assert not is_logged_in(client)
    assert login(client, postman).status_code == 401
    assert db.session.execute(select(AuthSession)).first() is None


def test_the_deactivate_command_ends_the_log_ins(app, client, postman):
    login(client, postman)
    result = app.test_cli_runner().invoke(args=["deactivate-user", postman.username])
    assert result.exit_code == 0, result.output
    assert not is_logged_in(client)


def test_a_user_deactivated_behind_the_services_back_is_refused(app, client, postman):
    login(client, postman)
    postman.active = False
    db.session.commit()
    assert not is_logged_in(client)


def test_an_expired_log_in_is_refused(app, client, postman, monkeypatch):
    hours = app.permanent_session_lifetime.total_seconds() / 3600
    clock = {"now": NOW}
    monkeypatch.setattr("backend.clock.now", lambda: clock["now"])
    login(client, postman)
    clock["now"] = NOW + timedelta(hours=hours) - timedelta(seconds=1)
    assert is_logged_in(client)
    clock["now"] = NOW + timedelta(hours=hours)
    assert not is_logged_in(client)


def test_the_cookie_lasts_the_sessions_hours(monkeypatch):
    monkeypatch.setenv("TRAO_SESSION_HOURS", "5")
    with running_app() as app:
        from tests.conftest import Factory

        postman = Factory().user(Role.postman)
        db.session.commit()
        client = app.test_client()
        before = datetime.now(UTC)
        response = login(client, postman)
        cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
        expires = parsedate_to_datetime(cookie.split("Expires=")[1].split(";")[0])
        assert abs(expires - (before + timedelta(hours=5))) < timedelta(minutes=1)
        (record,) = db.session.execute(select(AuthSession)).scalars()
        assert abs(record.expires_at - (before + timedelta(hours=5))) < timedelta(minutes=1)


def test_the_cookie_names_the_log_in_and_the_server_keeps_only_its_hash(app, client, postman):
    login(client, postman)
    session_id = cookie_payload(app, client)[SESSION_ID_KEY]
    assert len(session_id) >= 22  # 128 bits in url-safe base64
    (record,) = db.session.execute(select(AuthSession)).scalars()
    assert record.id_hash == hashlib.sha256(session_id.encode()).hexdigest()
    assert record.user_id == postman.id
    assert session_id not in (record.id_hash, str(record.user_id))


def test_logging_in_again_over_a_log_in_ends_the_old_one(app, client, postman, factory):
    login(client, postman)
    copy = copy_of(app, client)
    assert login(client, factory.user(Role.postman)).status_code == 302  # another postman
    assert not is_logged_in(copy)
    assert db.session.execute(select(AuthSession).filter_by(user_id=postman.id)).first() is None


def test_each_log_in_gets_its_own_id(app, client, postman):
    login(client, postman)
    first = cookie_payload(app, client)[SESSION_ID_KEY]
    client.post("/logout")
    login(client, postman)
    assert cookie_payload(app, client)[SESSION_ID_KEY] != first


def test_a_log_in_sweeps_the_users_expired_records(app, postman):
    start_session(postman, now=NOW - timedelta(days=2), lifetime=timedelta(hours=12))
    live = start_session(postman, now=NOW, lifetime=timedelta(hours=12))
    assert db.session.execute(select(AuthSession)).scalars().all().__len__() == 1
    assert session_user(postman.id, live, now=NOW) == postman
    assert session_user(postman.id + 1, live, now=NOW) is None  # another user's id in the cookie
    assert session_user(postman.id, None, now=NOW) is None


def test_each_request_loads_the_user_and_his_log_in_in_one_query(app, client, postman):
    login(client, postman)
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert client.get("/api/v1/session").status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    (query,) = statements
    assert "auth_session" in query and "user_account" in query
