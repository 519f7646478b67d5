"""Staff revoke a citizen's tracking link: the old one opens nothing, the next carries a new one."""

from __future__ import annotations

from flask import current_app
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from backend.extensions import db
from backend.models import Event, Role, TrackingLink
from backend.tracking.links import LINK_REVOKED_EVENT, token_for
from tests.conftest import NOW, login


def _link(factory):
    supervisor = factory.user(Role.supervisor)
    agency = factory.agency(post_office=supervisor.post_office)
    envelope = factory.envelope(agency=agency)
    token = token_for(envelope, key=current_app.config["TRACKING_KEY"], now=NOW)
    db.session.commit()
    return supervisor, envelope, token


def test_a_supervisor_revokes_the_link_and_the_next_one_is_new(client, factory):
    supervisor, envelope, old = _link(factory)
    assert client.get(f"/t/{old}").status_code == 200
    login(client, supervisor)
    response = client.post(f"/console/envelopes/{envelope.code}/tracking-link/revoke")
    assert response.status_code == 303
    assert client.get(f"/t/{old}").status_code == 404
    new = token_for(envelope, key=current_app.config["TRACKING_KEY"], now=NOW)
    db.session.commit()
    assert new != old and client.get(f"/t/{new}").status_code == 200
    kinds = db.session.scalars(select(Event.kind).where(Event.envelope_id == envelope.id)).all()
    assert LINK_REVOKED_EVENT in kinds
    page = client.get(f"/console/envelopes/{envelope.code}").get_data(as_text=True)
    assert "revoke-tracking" in page


def test_another_office_and_postmen_cannot_revoke(client, factory):
    _supervisor, envelope, token = _link(factory)
    for user in (factory.user(Role.supervisor), factory.user(Role.postman)):
        db.session.commit()
        login(client, user)
        response = client.post(f"/console/envelopes/{envelope.code}/tracking-link/revoke")
        assert response.status_code in (403, 404)
        client.post("/logout")
    assert client.get(f"/t/{token}").status_code == 200


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(code=st.text(min_size=1, max_size=80).filter(lambda c: "/" not in c and c not in ".."))
def test_no_code_earns_a_5xx_and_a_refused_one_changes_nothing(client, factory, code):
    supervisor = factory.user(Role.supervisor)
    db.session.commit()
    login(client, supervisor)
    before = db.session.scalar(select(func.count()).select_from(TrackingLink))
    response = client.post(f"/console/envelopes/{code}/tracking-link/revoke")
    assert response.status_code < 500
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(TrackingLink)) == before
