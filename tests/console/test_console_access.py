"""Every console route, walked: without a session nothing is served, and postmen and agency
clerks are refused. (Each route's own tests go further: another office, each rule.)"""

from __future__ import annotations

import pytest
from flask import url_for
from werkzeug.routing import IntegerConverter

from backend.extensions import db
from backend.models import Role
from tests.conftest import login


def console_urls(app) -> list[tuple[str, str]]:
    """(method, url) of every console route, its ids 1 and its codes a well-formed one."""
    urls = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if not rule.endpoint.startswith(("console.", "outbox.")):
                continue
            values = {
                name: 1 if isinstance(conv, IntegerConverter) else "HC0000000001"
                for name, conv in rule._converters.items()
            }
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                urls.append((method, url_for(rule.endpoint, **values)))
    return urls


def test_the_walk_covers_this_issues_routes(app):
    walked = {url for _method, url in console_urls(app)}
    for path in ("/console/reports", "/console/counter", "/console/held", "/console/runs/1/close"):
        assert path in walked
    # Issue 13: checking a citizen's delivery receipt; the office's opening hours.
    for path in ("/console/receipts", "/console/office"):
        assert path in walked
    for path in ("/console/outbox", "/console/outbox/messages/1/resend"):
        assert path in walked


def test_without_a_session_no_console_route_answers(app, client):
    for method, url in console_urls(app):
        response = client.open(url, method=method, data={"x": "1"})
        assert response.status_code in (302, 401), (method, url, response.status_code)
        if response.status_code == 302:
            assert "/login" in response.headers["Location"], (method, url)


@pytest.mark.parametrize("role", [Role.postman, Role.agency])
def test_postmen_and_agency_clerks_are_refused_every_console_route(app, client, factory, role):
    user = factory.user(role)
    db.session.commit()
    login(client, user)
    for method, url in console_urls(app):
        response = client.open(url, method=method, data={"x": "1"})
        assert response.status_code in (302, 403, 404), (method, url, response.status_code)
        assert response.status_code < 500
