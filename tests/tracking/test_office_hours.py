"""A supervisor sets the office's opening hours, which the tracking page of a held envelope
shows; an administrator names the office; no form earns a 5xx."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.extensions import db
from backend.models import PostOffice, Role
from tests.conftest import login


def test_a_supervisor_sets_the_hours_of_their_office(client, factory):
    office = factory.office()
    supervisor = factory.user(Role.supervisor, post_office=office)
    db.session.commit()
    login(client, supervisor)
    assert client.get("/console/office").status_code == 200
    response = client.post("/console/office", data={"opening_hours": "  7:30–17:00,\n thứ Hai  "})
    assert response.status_code == 303
    db.session.refresh(office)
    assert office.opening_hours == "7:30–17:00, thứ Hai"
    # Another office named in the form changes nothing there: a supervisor has only their own.
    other = factory.office()
    db.session.commit()
    client.post("/console/office", data={"office": other.code, "opening_hours": "x"})
    db.session.refresh(other)
    assert other.opening_hours is None


def test_an_administrator_names_the_office(client, factory):
    office = factory.office()
    admin = factory.user(Role.admin)
    db.session.commit()
    login(client, admin)
    assert client.get("/console/office").status_code == 404
    response = client.post("/console/office", data={"office": office.code, "opening_hours": "8–17"})
    assert response.status_code == 303
    db.session.refresh(office)
    assert office.opening_hours == "8–17"


def test_too_long_is_refused_and_changes_nothing(client, factory):
    supervisor = factory.user(Role.supervisor)
    db.session.commit()
    login(client, supervisor)
    assert client.post("/console/office", data={"opening_hours": "x" * 301}).status_code == 422
    assert db.session.get(PostOffice, supervisor.post_office_id).opening_hours is None


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    form=st.dictionaries(st.sampled_from(["office", "opening_hours", "x"]), st.text(max_size=700))
)
def test_no_form_earns_a_5xx_and_a_refused_one_changes_nothing(client, factory, form):
    supervisor = factory.user(Role.supervisor)
    db.session.commit()
    login(client, supervisor)
    response = client.post("/console/office", data=form)
    assert response.status_code < 500
    if response.status_code != 303:
        db.session.expire_all()
        assert db.session.get(PostOffice, supervisor.post_office_id).opening_hours is None


@pytest.mark.parametrize("text", ["8:00\x00-17:00", "\x1b[31m8:00", "giờ\x07"])
def test_hours_no_database_stores_are_refused_and_nothing_changes(client, factory, text):
    supervisor = factory.user(Role.supervisor)
    office = supervisor.post_office
    office.opening_hours = "7:30–17:00"
    db.session.commit()
    login(client, supervisor)
    response = client.post("/console/office", data={"opening_hours": text})
    assert response.status_code == 422
    db.session.expire_all()
    assert db.session.get(PostOffice, office.id).opening_hours == "7:30–17:00"
