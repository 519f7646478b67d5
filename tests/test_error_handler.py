"""The one error handler: domain errors reach users in their language, with their stable code."""

from __future__ import annotations

import pytest
from flask_babel import force_locale, gettext
from markupsafe import escape

from backend.domain import errors as domain_errors
from backend.errors import DOMAIN_MESSAGES, STATUS_BY_KIND


def all_domain_errors() -> list[type[domain_errors.DomainError]]:
    found, todo = [], [domain_errors.DomainError]
    while todo:
        cls = todo.pop()
        todo += cls.__subclasses__()
        if cls is not domain_errors.DomainError:
            found.append(cls)
    return sorted(found, key=lambda c: c.code)


def raise_it(cls: type[domain_errors.DomainError]):
    if cls is domain_errors.TransitionNotAllowed:
        raise cls("delivered", "load")
    raise cls("An English detail for developers.", fields={"why": "detail"})


@pytest.fixture
def raising_app(app):
    """The app with a page and an API route that raise the domain error named in the URL."""
    by_code = {cls.code: cls for cls in all_domain_errors()}
    app.add_url_rule("/raise/<code>", "raise_page", lambda code: raise_it(by_code[code]))
    app.add_url_rule("/api/v1/raise/<code>", "raise_api", lambda code: raise_it(by_code[code]))
    return app


@pytest.mark.parametrize("cls", all_domain_errors(), ids=lambda c: c.code)
def test_every_domain_error_has_words_for_the_user(app, cls):
    assert cls.code in DOMAIN_MESSAGES
    with app.test_request_context(), force_locale("vi"):
        assert gettext(DOMAIN_MESSAGES[cls.code]) != DOMAIN_MESSAGES[cls.code]


@pytest.mark.parametrize("cls", all_domain_errors(), ids=lambda c: c.code)
def test_a_domain_error_is_answered_in_the_users_language(raising_app, cls):
    client = raising_app.test_client()
    response = client.get(f"/api/v1/raise/{cls.code}")
    assert response.status_code == STATUS_BY_KIND[cls.kind]
    error = response.get_json()["error"]
    assert error["code"] == cls.code
    with raising_app.test_request_context(), force_locale("vi"):
        vietnamese = gettext(DOMAIN_MESSAGES[cls.code])
    assert error["message"] == vietnamese
    assert "English detail" not in error["message"] and "delivered" not in error["message"]

    page = client.get(f"/raise/{cls.code}", headers={"Accept": "text/html"})
    assert page.status_code == STATUS_BY_KIND[cls.kind]
    assert str(escape(vietnamese)) in page.get_data(as_text=True)
