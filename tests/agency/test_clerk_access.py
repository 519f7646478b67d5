"""Every page of the agency clerk, walked: without a session nothing is served, and only agency
clerks are let in — postmen, supervisors and administrators are refused (the console shows staff
the same envelopes). Another agency's records are covered by each page's own tests."""

from __future__ import annotations

import pytest
from flask import url_for
from werkzeug.routing import IntegerConverter

from backend.extensions import db
from backend.models import Role
from tests.conftest import login


def clerk_urls(app) -> list[tuple[str, str]]:
    """(method, url) of every page under /agency, with well-formed values for its parts."""
    urls = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if not rule.rule.startswith("/agency"):
                continue
            values = {
                name: 1
                if isinstance(conv, IntegerConverter)
                else ("a" * 64 if name == "sha256" else "000.00.24.H20-261123-0001")
                for name, conv in rule._converters.items()
            }
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                urls.append((method, url_for(rule.endpoint, **values)))
    return urls


def test_the_walk_covers_the_clerks_pages(app):
    walked = {url for _method, url in clerk_urls(app)}
    for path in (
        "/agency",
        "/agency/register",
        "/agency/import",
        "/agency/import/template.csv",
        "/agency/import/template.xlsx",
        "/agency/dossiers/000.00.24.H20-261123-0001",
        "/agency/proof-files/" + "a" * 64,
        "/agency/proof-files/" + "a" * 64 + "/display.jpg",
    ):
        assert path in walked


def test_without_a_session_no_clerk_page_answers(app, client):
    for method, url in clerk_urls(app):
        response = client.open(url, method=method, data={"x": "1"})
        assert response.status_code in (302, 401), (method, url, response.status_code)
        if response.status_code == 302:
            assert "/login" in response.headers["Location"], (method, url)


@pytest.mark.parametrize("role", [Role.postman, Role.supervisor, Role.admin])
def test_other_roles_are_refused_every_clerk_page(app, client, factory, role):
    user = factory.user(role)
    db.session.commit()
    login(client, user)
    for method, url in clerk_urls(app):
        response = client.open(url, method=method, data={"x": "1"})
        assert response.status_code == 403, (method, url, response.status_code)


def test_a_clerk_reaches_each_page_or_a_404_for_what_is_not_theirs(app, client, factory):
    clerk = factory.user(Role.agency)
    db.session.commit()
    login(client, clerk)
    for method, url in clerk_urls(app):
        response = client.open(url, method=method, data={"x": "1"})
        if method == "GET" and ("/dossiers/" in url or "/proof-files/" in url):
            assert response.status_code == 404, url
        else:
            assert response.status_code in (200, 422), (method, url, response.status_code)
