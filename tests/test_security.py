"""Headers every response carries: the Content-Security-Policy, HSTS in production, and no cache
of anything that names a person."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from backend.delivery import pwa
from backend.models import Role
from backend.security import CONTENT_SECURITY_POLICY
from tests.conftest import login, make_test_app

TEMPLATES = Path(__file__).resolve().parents[1] / "pwa" / "templates"


def directives(policy: str) -> dict[str, list[str]]:
    return {d.split()[0]: d.split()[1:] for d in (p.strip() for p in policy.split(";")) if d}


@pytest.fixture
def staff_clients(app, factory):
    """A logged-in client per role whose pages are checked."""
    office = factory.office()
    clients = {}
    for role in (Role.postman, Role.supervisor, Role.agency):
        user = factory.user(role, **({"post_office": office} if role != Role.agency else {}))
        clients[role] = app.test_client()
        login(clients[role], user)
    return clients


def test_the_policy_allows_no_inline_script_or_style_and_nothing_from_elsewhere():
    policy = directives(CONTENT_SECURITY_POLICY)
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'", "'wasm-unsafe-eval'"]  # the QR decoder's wasm
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    assert not re.search(r"unsafe-inline|'unsafe-eval'|\*|https?:", CONTENT_SECURITY_POLICY)


@pytest.mark.parametrize(
    ("role", "url"),
    [
        (None, "/login"),
        (None, "/api/v1/runs/today"),  # a 401 in JSON
        (None, "/static/js/app.js"),
        (None, "/static/css/app.css"),
        (None, "/sw.js"),
        (None, "/manifest.webmanifest"),
        (Role.postman, "/app"),
        (Role.postman, "/api/v1/runs/today"),
        (Role.postman, "/api/v1/session"),
        (Role.supervisor, "/console"),
        (Role.agency, "/agency"),
    ],
)
def test_every_response_carries_the_content_security_policy(client, staff_clients, role, url):
    response = (staff_clients[role] if role else client).get(url)
    assert response.status_code in (200, 401), url
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    ("role", "url"),
    [
        (Role.postman, "/api/v1/runs/today"),
        (Role.postman, "/api/v1/session"),
        (Role.supervisor, "/console"),
        (Role.agency, "/agency"),
        (None, "/login"),
        (None, "/api/v1/runs/today"),
    ],
)
def test_pages_and_answers_that_name_people_are_never_stored(client, staff_clients, role, url):
    response = (staff_clients[role] if role else client).get(url)
    assert response.headers["Cache-Control"] == "no-store"


def test_what_may_be_cached_keeps_its_own_caching(client, staff_clients):
    """The shell holds no personal data and is the service worker's to cache; assets too."""
    assert staff_clients[Role.postman].get("/app").headers["Cache-Control"] == "no-cache"
    assert client.get("/sw.js").headers["Cache-Control"] == "no-cache"
    assert client.get("/static/js/app.js").headers["Cache-Control"] != "no-store"
    assert "max-age" in client.get("/icons/icon-192.png").headers["Cache-Control"]


def test_hsts_only_in_production(client, monkeypatch):
    assert "Strict-Transport-Security" not in client.get("/login").headers
    monkeypatch.setenv("TRAO_ALLOW_SQLITE", "1")
    monkeypatch.setenv("TRAO_ALLOW_MEMORY_RATELIMIT", "1")
    production = make_test_app(ENV="production").test_client()
    for url in ("/login", "/static/js/app.js", "/api/v1/session"):
        hsts = production.get(url).headers["Strict-Transport-Security"]
        assert re.fullmatch(r"max-age=\d{8,}", hsts), hsts


@pytest.mark.parametrize("template", sorted(TEMPLATES.rglob("*.html")), ids=lambda p: p.name)
def test_no_template_has_inline_script_style_or_event_handler(template):
    html = template.read_text()
    for tag in re.findall(r"<script\b[^>]*>", html):
        # A JSON data block is never run (the browser only parses it when a script reads it).
        data_block = 'type="application/json"' in tag
        assert "src=" in tag or data_block, f"inline script in {template.name}: {tag}"
    assert "<style" not in html
    assert not re.search(r"\sstyle\s*=", html), template.name
    assert not re.search(r"\son[a-z]+\s*=", html), template.name
    assert "javascript:" not in html


def test_the_app_shells_language_script_runs_before_the_modules_and_is_precached(
    staff_clients,
):
    html = staff_clients[Role.postman].get("/app").get_data(as_text=True)
    classic = re.search(r'<script src="/static/js/lang.js"></script>', html)
    module = re.search(r'<script type="module"', html)
    assert classic and module and classic.start() < module.start()
    assert "js/lang.js" in pwa.static_assets()
