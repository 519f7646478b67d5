"""No id in a URL earns a 5xx, however large: an int converter takes any number of digits and
PostgreSQL refuses to compare some of them with its integer columns."""

from __future__ import annotations

import pytest
from werkzeug.routing import IntegerConverter

from backend.extensions import db
from backend.models import Role
from tests.conftest import login

HUGE = (2**31, 2**63, 10**30)


def _int_routes(app) -> list[tuple[str, str, list[str]]]:
    routes = []
    for rule in app.url_map.iter_rules():
        ints = [
            name for name, conv in rule._converters.items() if isinstance(conv, IntegerConverter)
        ]
        if ints and not rule.arguments - set(ints):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                routes.append((rule.endpoint, method, ints))
    return routes


@pytest.mark.parametrize("role", [Role.admin, Role.supervisor, Role.postman])
def test_huge_ids_are_not_found_never_a_5xx(app, client, factory, role):
    user = factory.user(role)
    db.session.commit()
    login(client, user)
    routes = _int_routes(app)
    assert routes, "the console has routes with ids"
    with app.test_request_context():
        from flask import url_for

        for endpoint, method, names in routes:
            for number in HUGE:
                url = url_for(endpoint, **{name: number for name in names})
                response = client.open(url, method=method, data={"note": "x"})
                assert response.status_code < 500, (method, url, response.status_code)
