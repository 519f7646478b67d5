"""Running the office: accounts, postmen's offices and agencies, every change audited, every
refusal changing nothing; who may reach each page."""

from __future__ import annotations

import logging
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from backend.extensions import db
from backend.models import Agency, AuditEvent, AuthSession, DeliveryRun, Role, RunState, User
from tests.conftest import login

NEW_PASSWORD = "a new password 9"


@pytest.fixture
def office(factory):
    return factory.office(name="Bưu cục Lạng Sơn")


@pytest.fixture
def admin(app, factory, office):
    return factory.user(Role.admin, post_office=office, full_name="Quản Trị Viên")


@pytest.fixture
def postman(factory, office):
    return factory.user(Role.postman, post_office=office, full_name="Nguyễn Văn Tư")


@pytest.fixture
def as_admin(app, client, admin, postman):
    db.session.commit()
    login(client, admin)
    return client


def is_logged_in(client) -> bool:
    return client.get("/console/users").status_code == 200


def sessions_of(user: User) -> int:
    return db.session.scalar(
        select(func.count()).select_from(AuthSession).where(AuthSession.user_id == user.id)
    )


def audit_kinds(**where) -> list[str]:
    statement = select(AuditEvent.kind).order_by(AuditEvent.id)
    for name, value in where.items():
        statement = statement.where(getattr(AuditEvent, name) == value)
    return list(db.session.scalars(statement))


def snapshot():
    """Everything an administrative action may change."""
    db.session.expire_all()
    users = db.session.execute(
        select(
            User.id,
            User.username,
            User.full_name,
            User.role,
            User.active,
            User.post_office_id,
            User.agency_id,
            User.password_hash,
        ).order_by(User.id)
    ).all()
    agencies = db.session.execute(
        select(
            Agency.id,
            Agency.code,
            Agency.name,
            Agency.post_office_id,
            Agency.contact_name,
            Agency.contact_phone,
            Agency.contact_email,
            Agency.webhook_url,
            Agency.webhook_secret_salt,
        ).order_by(Agency.id)
    ).all()
    sessions = db.session.scalar(select(func.count()).select_from(AuthSession))
    audits = db.session.scalar(select(func.count()).select_from(AuditEvent))
    return users, agencies, sessions, audits


# --- Users ----------------------------------------------------------------------------------


def test_the_administrator_lists_users_by_office_role_and_name(as_admin, factory, office):
    elsewhere = factory.user(Role.supervisor, full_name="Hoàng Thị Mai")
    db.session.commit()
    page = as_admin.get("/console/users").get_data(as_text=True)
    assert "Nguyễn Văn Tư" in page and "Hoàng Thị Mai" in page
    page = as_admin.get(f"/console/users?office_id={office.id}").get_data(as_text=True)
    assert "Nguyễn Văn Tư" in page and "Hoàng Thị Mai" not in page
    page = as_admin.get("/console/users?role=supervisor").get_data(as_text=True)
    assert "Hoàng Thị Mai" in page and "Nguyễn Văn Tư" not in page
    page = as_admin.get("/console/users?q=thị mai").get_data(as_text=True)
    assert "Hoàng Thị Mai" in page and "Nguyễn Văn Tư" not in page
    page = as_admin.get(f"/console/users?q={elsewhere.username}").get_data(as_text=True)
    assert f'data-user="{elsewhere.username}"' in page


def test_an_administrator_creates_an_account_that_logs_in(app, as_admin, office):
    response = as_admin.post(
        "/console/users/new",
        data={
            "username": "BuuTa9",
            "full_name": "  Lê   Văn Chín ",
            "role": "postman",
            "office_id": office.id,
            "password": NEW_PASSWORD,
        },
    )
    assert response.status_code == 303
    user = db.session.scalars(select(User).where(User.username == "buuta9")).one()
    assert (user.full_name, user.role, user.post_office_id, user.active) == (
        "Lê Văn Chín",
        "postman",
        office.id,
        True,
    )
    assert audit_kinds(user_id=user.id) == ["user.create"]
    phone = app.test_client()
    assert (
        phone.post("/login", data={"username": "buuta9", "password": NEW_PASSWORD}).status_code
        == 302
    )


def test_an_agency_clerk_is_created_for_an_agency(as_admin, factory):
    agency = factory.agency()
    db.session.commit()
    response = as_admin.post(
        "/console/users/new",
        data={
            "username": "vanthu",
            "full_name": "Văn thư",
            "role": "agency",
            "agency_id": agency.id,
            "password": NEW_PASSWORD,
        },
    )
    assert response.status_code == 303
    user = db.session.scalars(select(User).where(User.username == "vanthu")).one()
    assert (user.agency_id, user.post_office_id) == (agency.id, None)


@pytest.mark.parametrize(
    "change, status",
    [
        ({"username": "POSTMAN_TAKEN"}, 409),  # replaced by the postman's own name below
        ({"office_id": 999_999}, 422),
        ({"office_id": ""}, 422),  # a postman works at an office
        ({"role": "agency", "agency_id": ""}, 422),
        ({"password": "short"}, 422),
        ({"username": "a b"}, 422),
        ({"role": "king"}, 422),
        ({"full_name": "   "}, 422),
    ],
)
def test_a_refused_account_changes_nothing(as_admin, office, postman, change, status):
    form = {
        "username": "moi",
        "full_name": "Người mới",
        "role": "postman",
        "office_id": office.id,
        "password": NEW_PASSWORD,
        **change,
    }
    if form["username"] == "POSTMAN_TAKEN":
        form["username"] = postman.username.upper()  # usernames are one whatever the case
    before = snapshot()
    response = as_admin.post("/console/users/new", data=form)
    assert response.status_code == status
    assert NEW_PASSWORD not in response.get_data(as_text=True)
    assert snapshot() == before


def test_deactivating_refuses_the_open_session_and_the_next_log_in(app, as_admin, postman):
    phone = app.test_client()
    login(phone, postman)
    assert phone.get("/app").status_code == 200

    response = as_admin.post(f"/console/users/{postman.id}/deactivate")
    assert response.status_code == 303
    db.session.expire_all()
    assert postman.active is False and sessions_of(postman) == 0
    # The phone's next request is refused: back to the log-in page.
    assert phone.get("/app").headers["Location"].startswith("/login")
    again = login(phone, postman)
    assert again.status_code == 401
    assert "Tài khoản này đã bị vô hiệu hóa" in again.get_data(as_text=True)
    assert audit_kinds(user_id=postman.id) == ["user.deactivate"]
    event = db.session.scalars(select(AuditEvent)).one()
    assert event.data == {"sessions_ended": 1}

    assert as_admin.post(f"/console/users/{postman.id}/reactivate").status_code == 303
    assert login(phone, postman).status_code == 302


def test_a_wrong_password_for_a_deactivated_account_says_only_wrong(app, as_admin, postman):
    as_admin.post(f"/console/users/{postman.id}/deactivate")
    answer = login(app.test_client(), postman, "not the password")
    assert answer.status_code == 401
    assert "vô hiệu hóa" not in answer.get_data(as_text=True)


def test_an_administrator_cannot_deactivate_themselves_nor_the_last_admin(as_admin, admin, factory):
    before = snapshot()
    response = as_admin.post(f"/console/users/{admin.id}/deactivate")
    assert response.status_code == 409 and "tài khoản của chính mình" in response.get_data(
        as_text=True
    )
    assert snapshot() == before

    other = factory.user(Role.admin)
    other.active = False
    db.session.commit()
    # Only the acting admin is active: the other is reactivated, then deactivated again...
    assert as_admin.post(f"/console/users/{other.id}/reactivate").status_code == 303
    assert as_admin.post(f"/console/users/{other.id}/deactivate").status_code == 303


def test_the_last_active_administrator_stays_active(app, factory, office):
    # Two admins; the second is deactivated by the first, who then tries on a sole-admin world
    # through the service: a stale admin (not self) whose deactivation would leave none active.
    from backend.console.admin import deactivate
    from backend.errors import Conflict
    from tests.conftest import NOW

    actor = factory.user(Role.admin, post_office=office)
    last = factory.user(Role.admin, post_office=office)
    actor.active = False  # e.g. deactivated a moment ago by `last`, in another request
    db.session.commit()
    with app.test_request_context(), pytest.raises(Conflict) as refused:
        deactivate(actor, last, now=NOW)
    assert refused.value.code == "last_admin"
    db.session.rollback()
    assert last.active is True


def test_resetting_a_password_ends_every_log_in(app, as_admin, postman):
    phone = app.test_client()
    login(phone, postman)
    response = as_admin.post(
        f"/console/users/{postman.id}/password", data={"password": NEW_PASSWORD}
    )
    assert response.status_code == 303
    assert sessions_of(postman) == 0
    assert phone.get("/app").status_code == 302
    assert login(phone, postman).status_code == 401  # the old password
    assert login(phone, postman, NEW_PASSWORD).status_code == 302
    assert audit_kinds(user_id=postman.id) == ["user.reset_password"]


def test_a_too_short_password_is_refused_and_changes_nothing(app, as_admin, postman):
    phone = app.test_client()
    login(phone, postman)
    before = snapshot()
    response = as_admin.post(f"/console/users/{postman.id}/password", data={"password": "1234567"})
    assert response.status_code == 422
    assert snapshot() == before


def test_signing_out_everywhere_ends_every_log_in_and_keeps_the_account(app, as_admin, postman):
    phones = [app.test_client(), app.test_client()]
    for phone in phones:
        login(phone, postman)
    assert sessions_of(postman) == 2
    assert as_admin.post(f"/console/users/{postman.id}/sign-out").status_code == 303
    assert sessions_of(postman) == 0
    assert all(phone.get("/app").status_code == 302 for phone in phones)
    assert login(phones[0], postman).status_code == 302
    assert audit_kinds(user_id=postman.id) == ["user.sign_out_everywhere"]


def test_moving_a_postman_to_another_office(as_admin, factory, postman):
    other = factory.office(name="Bưu cục Cao Lộc")
    db.session.commit()
    response = as_admin.post(f"/console/users/{postman.id}/office", data={"office_id": other.id})
    assert response.status_code == 303
    db.session.expire_all()
    assert postman.post_office_id == other.id
    event = db.session.scalars(select(AuditEvent)).one()
    assert event.kind == "user.move" and event.data["to_office_id"] == other.id


@pytest.mark.parametrize("state", [RunState.planned, RunState.in_progress])
def test_a_postman_with_an_open_run_is_not_moved(as_admin, factory, office, postman, state):
    other = factory.office()
    db.session.add(
        DeliveryRun(
            post_office=office, postman=postman, run_date=date(2026, 11, 23), state=state.value
        )
    )
    db.session.commit()
    before = snapshot()
    response = as_admin.post(f"/console/users/{postman.id}/office", data={"office_id": other.id})
    assert response.status_code == 409
    assert "chuyến phát chưa đóng" in response.get_data(as_text=True)
    assert snapshot() == before


@pytest.mark.parametrize("office_id", ["999999", "abc", "", "-1", "99999999999999"])
def test_a_postman_is_not_moved_to_an_office_that_does_not_exist(as_admin, postman, office_id):
    before = snapshot()
    response = as_admin.post(f"/console/users/{postman.id}/office", data={"office_id": office_id})
    assert response.status_code == 422
    assert snapshot() == before


def test_nothing_personal_reaches_the_log(app, as_admin, postman, caplog):
    caplog.set_level(logging.INFO)
    as_admin.post(f"/console/users/{postman.id}/deactivate")
    as_admin.post(f"/console/users/{postman.id}/reactivate")
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("user.")]
    assert len(lines) == 2
    assert all(postman.full_name not in line and postman.username not in line for line in lines)
    assert f"user_id={postman.id}" in lines[0]


# --- Supervisors: their office, read-only, and signing a postman out ------------------------


@pytest.fixture
def as_supervisor(app, client, factory, office, postman):
    supervisor = factory.user(Role.supervisor, post_office=office, full_name="Trần Thị Bình")
    db.session.commit()
    login(client, supervisor)
    return client


def test_a_supervisor_sees_the_accounts_of_their_office_only(as_supervisor, factory):
    stranger = factory.user(Role.postman, full_name="Đinh Văn Lạ")
    db.session.commit()
    page = as_supervisor.get("/console/users").get_data(as_text=True)
    assert "Nguyễn Văn Tư" in page and "Đinh Văn Lạ" not in page
    # Asking for another office's list still shows only theirs.
    page = as_supervisor.get(f"/console/users?office_id={stranger.post_office_id}").get_data(
        as_text=True
    )
    assert "Đinh Văn Lạ" not in page
    assert as_supervisor.get(f"/console/users/{stranger.id}").status_code == 404


def test_a_supervisor_signs_a_postman_of_the_office_out_but_changes_nothing_else(
    app, as_supervisor, postman, factory
):
    phone = app.test_client()
    login(phone, postman)
    page = as_supervisor.get(f"/console/users/{postman.id}").get_data(as_text=True)
    assert 'data-testid="sign-out-everywhere"' in page and 'data-testid="deactivate"' not in page
    assert as_supervisor.post(f"/console/users/{postman.id}/sign-out").status_code == 303
    assert sessions_of(postman) == 0

    stranger = factory.user(Role.postman)
    db.session.commit()
    assert as_supervisor.post(f"/console/users/{stranger.id}/sign-out").status_code == 404


# --- Agencies -------------------------------------------------------------------------------


def agency_form(office, **kw):
    return {
        "code": "stp-ls",
        "name": "Sở Tư pháp Lạng Sơn",
        "office_id": office.id,
        "contact_name": "Chị Hà",
        "contact_phone": "0205 3812 345",
        "contact_email": "vanthu@stp.langson.gov.vn",
        "webhook_url": "https://motcua.langson.gov.vn/trao",
        **kw,
    }


def test_an_administrator_creates_and_edits_an_agency(as_admin, office, factory):
    response = as_admin.post("/console/agencies/new", data=agency_form(office))
    assert response.status_code == 303
    agency = db.session.scalars(select(Agency).where(Agency.code == "STP-LS")).one()
    assert (agency.name, agency.post_office_id, agency.contact_phone, agency.webhook_url) == (
        "Sở Tư pháp Lạng Sơn",
        office.id,
        "0205 3812 345",
        "https://motcua.langson.gov.vn/trao",
    )
    other = factory.office()
    db.session.commit()
    response = as_admin.post(
        f"/console/agencies/{agency.id}",
        data=agency_form(other, name="Sở Tư pháp", contact_email="", webhook_url=""),
    )
    assert response.status_code == 303
    db.session.expire_all()
    assert (agency.name, agency.post_office_id, agency.contact_email, agency.webhook_url) == (
        "Sở Tư pháp",
        other.id,
        None,
        None,
    )
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.agency_id == agency.id)).all()
    assert [e.kind for e in events] == ["agency.create", "agency.update"]
    assert events[1].data["fields"] == ["contact_email", "name", "office", "webhook_url"]
    listing = as_admin.get("/console/agencies").get_data(as_text=True)
    assert 'data-agency="STP-LS"' in listing


@pytest.mark.parametrize(
    "change",
    [
        {"code": "AG-TAKEN"},
        {"office_id": 999_999},
        {"webhook_url": "http://insecure.example/hook"},
        {"webhook_url": "javascript:alert(1)"},
        {"contact_email": "not an email"},
        {"contact_phone": "call me"},
        {"name": ""},
    ],
)
def test_a_refused_agency_changes_nothing(as_admin, office, factory, change):
    factory.agency(code="AG-TAKEN")
    db.session.commit()
    before = snapshot()
    response = as_admin.post("/console/agencies/new", data=agency_form(office, **change))
    assert response.status_code in (409, 422)
    assert snapshot() == before


def test_the_webhook_secret_is_shown_once_and_kept_only_as_a_salt(app, as_admin, factory):
    agency = factory.agency()
    db.session.commit()
    response = as_admin.post(f"/console/agencies/{agency.id}/webhook-secret")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    secret = page.split('data-testid="webhook-secret">')[1].split("<")[0]
    assert len(secret) >= 43  # 256 bits
    db.session.expire_all()
    # Not in the database in any column; the server key rebuilds it for signing.
    row = db.session.execute(select(Agency.__table__).where(Agency.id == agency.id)).one()
    assert secret not in repr(tuple(row))
    assert agency.webhook_secret(app.config["WEBHOOK_KEY"]) == secret
    assert agency.webhook_secret(b"another server key") != secret
    # Never shown again.
    assert secret not in as_admin.get(f"/console/agencies/{agency.id}").get_data(as_text=True)
    # A new one replaces it.
    again = as_admin.post(f"/console/agencies/{agency.id}/webhook-secret").get_data(as_text=True)
    assert secret not in again
    assert audit_kinds(agency_id=agency.id) == ["agency.webhook_secret"] * 2


# --- Who may reach each page ----------------------------------------------------------------

ROUTES = [
    # (method, path template, supervisor's answer)
    ("get", "/console/users", 200),
    ("get", "/console/users/new", 403),
    ("post", "/console/users/new", 403),
    ("get", "/console/users/{user}", 200),
    ("post", "/console/users/{user}/password", 403),
    ("post", "/console/users/{user}/deactivate", 403),
    ("post", "/console/users/{user}/reactivate", 403),
    ("post", "/console/users/{user}/sign-out", 303),
    ("post", "/console/users/{user}/office", 403),
    ("get", "/console/agencies", 403),
    ("get", "/console/agencies/new", 403),
    ("post", "/console/agencies/new", 403),
    ("get", "/console/agencies/{agency}", 403),
    ("post", "/console/agencies/{agency}", 403),
    ("post", "/console/agencies/{agency}/webhook-secret", 403),
]


@pytest.fixture
def world(app, factory, office, postman, admin):
    agency = factory.agency(post_office=office)
    people = {
        role: factory.user(role, post_office=office) for role in (Role.postman, Role.supervisor)
    }
    people[Role.agency] = factory.user(Role.agency, agency=agency)
    people[Role.admin] = admin
    db.session.commit()
    return {"agency": agency, "target": postman, "people": people}


def _path(template, world):
    return template.format(user=world["target"].id, agency=world["agency"].id)


@pytest.mark.parametrize("method, template, _supervisor", ROUTES)
def test_without_a_session_every_page_sends_to_the_login(
    client, world, method, template, _supervisor
):
    response = getattr(client, method)(_path(template, world))
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("role", [Role.postman, Role.agency])
@pytest.mark.parametrize("method, template, _supervisor", ROUTES)
def test_postmen_and_agency_clerks_are_refused(client, world, role, method, template, _supervisor):
    login(client, world["people"][role])
    before = snapshot()
    assert getattr(client, method)(_path(template, world)).status_code == 403
    assert snapshot()[:2] == before[:2]


@pytest.mark.parametrize("method, template, supervisor", ROUTES)
def test_a_supervisor_reaches_what_their_office_allows(client, world, method, template, supervisor):
    login(client, world["people"][Role.supervisor])
    assert getattr(client, method)(_path(template, world)).status_code == supervisor


@pytest.mark.parametrize("method, template, _supervisor", ROUTES)
def test_an_administrator_reaches_every_page(client, world, method, template, _supervisor):
    login(client, world["people"][Role.admin])
    data = {"password": NEW_PASSWORD, **agency_form(world["agency"].post_office, code="NEW")}
    if template.endswith("/office"):
        data["office_id"] = world["people"][Role.agency].agency.post_office_id
    response = getattr(client, method)(_path(template, world), data=data)
    # Allowed in: the page, the change done (303), or a refusal about the data (409/422).
    assert response.status_code in (200, 303, 409, 422)
    assert "/login" not in response.headers.get("Location", "")


# --- Arbitrary input: never a 5xx, and a refused form changes nothing ----------------------

TEXT = st.text(max_size=300) | st.sampled_from(["", " ", "0", "-1", "1e9", "99999999999", "\x00"])
NUMBER = st.integers(min_value=-(2**63), max_value=2**63).map(str) | TEXT


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    database=None,
)
@given(
    username=TEXT,
    full_name=TEXT,
    role=TEXT | st.sampled_from([r.value for r in Role]),
    office_id=NUMBER,
    agency_id=NUMBER,
    password=TEXT,
    q=TEXT,
)
def test_user_forms_never_earn_a_5xx(
    as_admin, postman, username, full_name, role, office_id, agency_id, password, q
):
    before = snapshot()
    form = {
        "username": username,
        "full_name": full_name,
        "role": role,
        "office_id": office_id,
        "agency_id": agency_id,
        "password": password,
    }
    created = as_admin.post("/console/users/new", data=form)
    assert created.status_code < 500
    if created.status_code != 303:
        assert snapshot() == before
    listing = as_admin.get(
        "/console/users", query_string={"q": q, "office_id": office_id, "role": role}
    )
    assert listing.status_code < 500
    for action, data in [
        ("password", {"password": password}),
        ("office", {"office_id": office_id}),
    ]:
        before = snapshot()
        response = as_admin.post(f"/console/users/{postman.id}/{action}", data=data)
        assert response.status_code < 500
        if response.status_code != 303:
            assert snapshot() == before


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    database=None,
)
@given(
    code=TEXT,
    name=TEXT,
    office_id=NUMBER,
    contact_name=TEXT,
    contact_phone=TEXT,
    contact_email=TEXT,
    webhook_url=TEXT | st.just("https://x.vn/hook"),
)
def test_agency_forms_never_earn_a_5xx(
    as_admin,
    factory,
    code,
    name,
    office_id,
    contact_name,
    contact_phone,
    contact_email,
    webhook_url,
):
    form = {
        "code": code,
        "name": name,
        "office_id": office_id,
        "contact_name": contact_name,
        "contact_phone": contact_phone,
        "contact_email": contact_email,
        "webhook_url": webhook_url,
    }
    before = snapshot()
    created = as_admin.post("/console/agencies/new", data=form)
    assert created.status_code < 500
    if created.status_code != 303:
        assert snapshot() == before
    agency = db.session.scalars(select(Agency).order_by(Agency.id)).first() or factory.agency()
    db.session.commit()
    before = snapshot()
    edited = as_admin.post(f"/console/agencies/{agency.id}", data=form)
    assert edited.status_code < 500
    if edited.status_code != 303:
        assert snapshot() == before
