"""Every page against every role: each role sees only its own pages."""

import pytest

from backend.models import Role
from tests.conftest import login

ROLES = [None, Role.postman, Role.supervisor, Role.agency, Role.admin]
# page -> roles allowed to see it
PAGES = {
    "/app": {Role.postman},
    "/console": {Role.supervisor, Role.admin},
    "/console/labels.pdf?state=at_office": {Role.supervisor, Role.admin},
    "/console/envelopes/{code}/label.png": {Role.supervisor, Role.admin},
    "/agency": {Role.agency},
}


@pytest.mark.parametrize("url", list(PAGES))
@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value if r else "anonymous")
def test_page_by_role(client, factory, url, role):
    office = factory.office()
    agency = factory.agency(post_office=office)
    envelope = factory.envelope(agency=agency)
    from backend.console.services import receive_envelopes
    from tests.conftest import NOW

    user = None
    if role is not None:
        extra = {"agency": agency} if role is Role.agency else {}
        if role in (Role.postman, Role.supervisor):
            extra["post_office"] = office
        user = factory.user(role, **extra)
        receive_envelopes([envelope], actor=user, now=NOW)
        login(client, user)
    response = client.get(url.format(code=envelope.code))
    if role is None:
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")
    elif role in PAGES[url]:
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
    else:
        assert response.status_code == 403
        assert "Trao" in response.get_data(as_text=True)  # a readable page, not a bare error


def test_api_errors_are_json(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.is_json
    assert "error" in response.get_json()
