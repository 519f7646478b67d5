"""Logging in and out, landing by role, and what a log-in refuses."""

import pytest

from backend.models import Role
from tests.conftest import PASSWORD, login, running_app

LANDINGS = {
    Role.postman: "/app",
    Role.supervisor: "/console",
    Role.admin: "/console",
    Role.agency: "/agency",
}


def test_login_page_is_in_vietnamese_by_default(client):
    page = client.get("/login").get_data(as_text=True)
    assert "Đăng nhập" in page
    assert 'lang="vi"' in page


def test_head_of_the_login_page_answers_like_get(client, factory):
    """Monitors and link checkers send HEAD: it is the page's GET without a body, never a 422."""
    response = client.head("/login")
    assert response.status_code == 200 and response.data == b""
    assert response.headers["Content-Type"].startswith("text/html")
    login(client, factory.user())
    assert client.head("/login").status_code == 302


def test_english_can_be_chosen_and_is_remembered(client):
    assert "Log in" in client.get("/login?lang=en").get_data(as_text=True)
    assert 'lang="en"' in client.get("/login").get_data(as_text=True)


@pytest.mark.parametrize("role", list(LANDINGS))
def test_each_role_lands_on_its_own_page(client, factory, role):
    user = factory.user(role)
    response = login(client, user)
    assert response.status_code == 302
    assert response.headers["Location"] == LANDINGS[role]
    assert client.get("/").headers["Location"] == LANDINGS[role]


def test_the_form_with_its_csrf_field_logs_in(client, factory):
    user = factory.user()
    data = {"username": user.username, "password": PASSWORD, "csrf_token": "x", "next": ""}
    assert client.post("/login", data=data).status_code == 302


def test_username_is_case_insensitive(client, factory):
    factory.user(username="buuta9")
    response = client.post("/login", data={"username": " BuuTa9 ", "password": PASSWORD})
    assert response.status_code == 302


@pytest.mark.parametrize(
    ("username", "password"),
    [("buuta9", "wrong"), ("nobody", PASSWORD), ("", ""), ("buuta9", "")],
)
def test_bad_credentials_are_refused_with_a_message(client, factory, username, password):
    factory.user(username="buuta9")
    response = client.post("/login", data={"username": username, "password": password})
    assert response.status_code in (401, 422)
    assert 'class="flash flash-error"' in response.get_data(as_text=True)
    assert client.get("/app").status_code == 302  # still not logged in


def test_an_inactive_user_cannot_log_in(client, factory):
    user = factory.user(active=False)
    assert login(client, user).status_code == 401


def test_next_only_follows_same_site_paths(client, factory):
    user = factory.user(Role.supervisor)
    data = {"username": user.username, "password": PASSWORD}
    assert (
        client.post("/login", data={**data, "next": "/console"}).headers["Location"] == "/console"
    )
    client.post("/logout")
    for evil in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)"):
        response = client.post("/login", data={**data, "next": evil})
        assert response.headers["Location"] == "/console"
        client.post("/logout")


def test_logout_ends_the_session(client, factory):
    login(client, factory.user())
    assert client.get("/app").status_code == 200
    client.post("/logout")
    assert client.get("/app").status_code == 302


def test_session_cookie_is_http_only(client, factory):
    response = login(client, factory.user())
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_password_is_stored_hashed(factory):
    user = factory.user()
    assert PASSWORD not in user.password_hash
    assert user.check_password(PASSWORD)


def test_demo_account_refused_when_demo_logins_are_off(app, client, factory):
    user = factory.user(is_demo=True)
    app.config["TRAO_CONFIG"].ENV = "production"
    assert login(client, user).status_code == 401
    app.config["TRAO_CONFIG"].ENV = "testing"
    assert login(client, user).status_code == 302


def test_login_is_rate_limited():
    with running_app(RATELIMIT_ENABLED=True, RATELIMIT_LOGIN="3 per minute") as app:
        client = app.test_client()
        codes = [
            client.post("/login", data={"username": "x", "password": "y"}).status_code
            for _ in range(4)
        ]
    assert codes[:3] == [401, 401, 401]
    assert codes[3] == 429


def test_csrf_is_required_on_the_login_form():
    with running_app(WTF_CSRF_ENABLED=True) as app:
        response = app.test_client().post("/login", data={"username": "x", "password": "y"})
    assert response.status_code == 400


def test_a_session_survives_the_phone_changing_network(client, factory):
    """A phone moves between cell towers and Wi-Fi: a new IP must not log the postman out."""
    login(client, factory.user())
    response = client.get("/app", environ_base={"REMOTE_ADDR": "10.20.30.40"})
    assert response.status_code == 200
