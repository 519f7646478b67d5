"""Search and history: an envelope found by code, name (diacritics optional) or phone, only
within the user's office; its page tells its whole story from the events."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from backend.extensions import db
from backend.models import Role
from tests.conftest import login


@pytest.fixture
def office(client, factory):
    office = factory.office()
    agency = factory.agency(post_office=office)
    anh = factory.dossier(
        agency=agency, recipient_name="Đặng Thị Ánh", recipient_phone="0987654321"
    )
    an = factory.dossier(agency=agency, recipient_name="Nguyễn Văn An")
    elsewhere = factory.dossier(recipient_name="Đặng Thị Ánh")  # another office's
    supervisor = factory.user(Role.supervisor, post_office=office)
    db.session.commit()
    login(client, supervisor)
    return {"anh": anh, "an": an, "elsewhere": elsewhere, "supervisor": supervisor}


def found(client, query) -> list[str]:
    page = client.get("/console/search", query_string={"q": query})
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    return [code for code in ("anh", "an") if f"/console/envelopes/{CODES[code]}" in text]


CODES: dict[str, str] = {}


@pytest.fixture(autouse=True)
def _codes(office):
    CODES.update({key: office[key].envelopes[0].code for key in ("anh", "an", "elsewhere")})


@pytest.mark.parametrize(
    "query, expected",
    [
        ("Đặng Thị Ánh", ["anh"]),
        ("dang thi anh", ["anh"]),  # typed without diacritics
        ("THỊ ÁNH", ["anh"]),
        ("van an", ["an"]),
        ("0987 654 321", ["anh"]),
        ("+84987654321", ["anh"]),
        ("%", []),  # a wildcard is a character like any other
        ("_", []),
    ],
)
def test_a_recipient_is_found_by_name_or_phone(client, office, query, expected):
    assert found(client, query) == expected


def test_an_envelope_and_a_dossier_are_found_by_code(client, office):
    assert found(client, CODES["an"].lower()) == ["an"]
    assert found(client, office["anh"].code) == ["anh"]


def test_another_offices_envelopes_are_not_found_nor_shown(client, office):
    page = client.get("/console/search", query_string={"q": CODES["elsewhere"]})
    assert f"/console/envelopes/{CODES['elsewhere']}" not in page.get_data(as_text=True)
    assert client.get(f"/console/envelopes/{CODES['elsewhere']}").status_code == 404


def test_an_envelopes_page_tells_its_story(client, office):
    page = client.get(f"/console/envelopes/{CODES['anh']}").get_data(as_text=True)
    assert "Đặng Thị Ánh" in page and 'data-testid="timeline"' in page
    assert page.count("<li><time") >= 1  # registered: the first event


def test_only_staff_search(app, factory, office):
    for role, status in ((Role.postman, 403), (Role.agency, 403)):
        other = app.test_client()
        login(other, factory.user(role))
        assert other.get("/console/search?q=an").status_code == status
        assert other.get(f"/console/envelopes/{CODES['an']}").status_code == status


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    database=None,
)
@given(text=st.text(max_size=150))
@example(text="an\x00")  # PostgreSQL refuses NUL in text
def test_no_query_earns_a_5xx(client, office, text):
    assert client.get("/console/search", query_string={"q": text}).status_code < 500
    path = text.replace("/", "%2F").replace("?", "%3F").replace("#", "%23") or "x"
    assert client.get(f"/console/envelopes/{path}").status_code < 500
