"""No input earns the tracking page a 5xx, and refused input changes nothing."""

from __future__ import annotations

from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from backend.extensions import db
from backend.models import Envelope, Event, TrackingGuard
from tests.tracking.conftest import verify

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
form_values = st.one_of(
    st.text(max_size=80),
    st.integers().map(str),
    st.just(""),
    st.sampled_from(["collect", "another_day", "2026-11-25", "5678", "0000"]),
)
forms = st.dictionaries(
    st.one_of(st.sampled_from(["kind", "day", "digits", "csrf_token"]), st.text(max_size=10)),
    form_values,
    max_size=4,
)


def snapshot(envelope_id: int):
    db.session.expire_all()
    envelope = db.session.get(Envelope, envelope_id)
    events = db.session.scalar(select(func.count()).select_from(Event))
    return envelope.state, envelope.version, events


@SETTINGS
@given(token=st.text(max_size=300), suffix=st.sampled_from(["", "/receipt.pdf"]))
def test_no_token_earns_a_5xx(client, story, token, suffix):
    response = client.get("/t/" + quote(token, safe="") + suffix)
    assert response.status_code < 500


@SETTINGS
@given(form=forms, body=st.one_of(st.none(), st.binary(max_size=200)))
def test_no_guess_earns_a_5xx_or_changes_the_envelope(client, story, form, body):
    before = snapshot(story.envelope.id)
    if body is None:
        response = client.post(f"/t/{story.token}/verify", data=form)
    else:
        response = client.post(
            f"/t/{story.token}/verify", data=body, content_type="application/octet-stream"
        )
    assert response.status_code < 500
    assert snapshot(story.envelope.id) == before
    # Put the envelope's guard back, so a lock earned here does not decide the next example.
    db.session.execute(db.delete(TrackingGuard))
    db.session.commit()


@SETTINGS
@given(form=forms)
def test_no_request_earns_a_5xx_and_a_refused_one_changes_nothing(client, story, form):
    if story.envelope.state.value == "registered":
        story.receive()
    verify(client, story.token)
    before = snapshot(story.envelope.id)
    response = client.post(f"/t/{story.token}/request", data=form)
    assert response.status_code < 500
    if response.status_code != 303:
        assert snapshot(story.envelope.id) == before


@SETTINGS
@given(token=st.text(max_size=40), form=forms)
def test_posting_to_any_token_earns_no_5xx(client, story, token, form):
    for action in ("verify", "request"):
        response = client.post(f"/t/{quote(token, safe='')}/{action}", data=form)
        assert response.status_code < 500


def test_a_guess_counts_only_against_the_guard(client, story):
    """(The guess fuzz above puts the guard back; here the count itself is the change.)"""
    before = snapshot(story.envelope.id)
    assert verify(client, story.token, "0000").status_code == 403
    assert snapshot(story.envelope.id) == before
    assert db.session.get(TrackingGuard, story.envelope.id).wrong_guesses == 1
