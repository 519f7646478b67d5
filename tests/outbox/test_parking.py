"""After its tries a message is parked for a person; later messages of its dossier wait behind
it; the console lists it and re-sends it (one, or all of an agency's), audited."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from backend.extensions import db
from backend.models import AuditEvent, OutboxMessage, Role
from backend.outbox.tasks import deliver_pass
from tests.conftest import Factory, login
from tests.outbox.conftest import outbox_statuses, webhook_agency

TRIES = 3


@pytest.fixture
def parked(fast_app, make_receiver):
    """One agency whose receiver refuses everything, until its tries are spent."""
    fast_app.config["TRAO_WEBHOOK_MAX_TRIES"] = TRIES
    fast_app.config["TRAO_WEBHOOK_BACKOFF_SECONDS"] = 0.0
    factory = Factory()
    agency = webhook_agency(factory, "http://127.0.0.1:9/")
    receiver = make_receiver(
        agency.webhook_secret(fast_app.config["WEBHOOK_KEY"]), fail_tries=lambda _id: 10**6
    )
    agency.webhook_url = receiver.url
    supervisor = factory.user(Role.supervisor, post_office=agency.post_office)
    dossier = factory.dossier(agency)
    db.session.commit()
    for _ in range(TRIES):
        deliver_pass(fast_app, rng=random.Random(1))
    return agency, supervisor, dossier, receiver


def _messages():
    db.session.rollback()
    return db.session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars().all()


def test_a_message_is_parked_after_its_tries_and_the_next_waits_behind_it(parked):
    _agency, _supervisor, _dossier, receiver = parked
    head, *behind = _messages()
    assert head.status == "parked" and head.tries == TRIES
    assert head.last_error == "http_500"
    assert behind and all(m.status == "pending" and m.tries == 0 for m in behind)
    assert sum(receiver.tries.values()) == TRIES  # only the head was ever tried


def test_the_console_lists_it_and_re_sends_it_in_order(parked, fast_app):
    agency, supervisor, _dossier, receiver = parked
    client = fast_app.test_client()
    login(client, supervisor)
    head, *behind = _messages()
    page = client.get("/console/outbox")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'data-testid="resend-{head.id}"' in html
    assert f'data-testid="waiting-{head.id}">{len(behind)}<' in html
    assert "http_500" in html

    receiver.fail_tries = lambda _id: 0
    response = client.post(f"/console/outbox/messages/{head.id}/resend")
    assert response.status_code == 302
    assert outbox_statuses() == {"pending": 1 + len(behind)}
    audit = db.session.execute(select(AuditEvent).where(AuditEvent.kind == "webhook.resend"))
    assert audit.scalar_one().data == {"message_id": head.id}

    deliver_pass(fast_app)
    assert outbox_statuses() == {"sent": 1 + len(behind)}
    [(code, order)] = receiver.order.items()
    assert order == sorted(order) and len(order) == 1 + len(behind)
    assert "outbox-empty" in client.get("/console/outbox").get_data(as_text=True)


def test_re_send_all_parked_of_an_agency(parked, fast_app):
    agency, supervisor, _dossier, receiver = parked
    other = Factory().dossier(agency)  # a second dossier, parked too
    db.session.commit()
    for _ in range(TRIES):
        deliver_pass(fast_app)
    assert outbox_statuses()["parked"] == 2
    client = fast_app.test_client()
    login(client, supervisor)
    receiver.fail_tries = lambda _id: 0
    response = client.post(f"/console/outbox/agencies/{agency.id}/resend", follow_redirects=True)
    assert response.status_code == 200
    assert outbox_statuses()["parked"] == 0
    deliver_pass(fast_app)
    assert set(outbox_statuses()) == {"sent"}
    assert other.code in receiver.order


def test_another_offices_supervisor_sees_nothing_and_gets_404(parked, fast_app):
    agency, _supervisor, _dossier, _receiver = parked
    stranger = Factory().user(Role.supervisor)
    db.session.commit()
    client = fast_app.test_client()
    login(client, stranger)
    head = _messages()[0]
    assert "outbox-empty" in client.get("/console/outbox").get_data(as_text=True)
    assert client.post(f"/console/outbox/messages/{head.id}/resend").status_code == 404
    assert client.post(f"/console/outbox/agencies/{agency.id}/resend").status_code == 404
    assert _messages()[0].status == "parked"


def test_a_message_not_parked_is_not_re_sent(parked, fast_app):
    _agency, supervisor, _dossier, _receiver = parked
    client = fast_app.test_client()
    login(client, supervisor)
    waiting = _messages()[1]
    response = client.post(
        f"/console/outbox/messages/{waiting.id}/resend", headers={"Accept": "application/json"}
    )
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "message_not_parked"


def test_an_admin_sees_every_agency(parked, fast_app):
    agency, _supervisor, _dossier, _receiver = parked
    admin = Factory().user(Role.admin)
    db.session.commit()
    client = fast_app.test_client()
    login(client, admin)
    assert f"outbox-agency-{agency.code}" in client.get("/console/outbox").get_data(as_text=True)


def _state():
    db.session.rollback()
    rows = db.session.execute(
        select(OutboxMessage.id, OutboxMessage.status, OutboxMessage.tries).order_by(
            OutboxMessage.id
        )
    ).all()
    return rows, db.session.execute(select(func.count()).select_from(AuditEvent)).scalar()


ANYTHING = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=6,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    target=st.sampled_from(["messages", "agencies"]),
    ident=st.integers(min_value=-5, max_value=2**40)
    | st.text(st.characters(blacklist_characters="/?#%\\", codec="utf-8"), max_size=12),
    form=st.dictionaries(st.text(max_size=10), st.text(max_size=30), max_size=4),
    body=ANYTHING,
    as_json=st.booleans(),
)
def test_console_posts_never_fail_and_change_nothing_on_bad_input(
    parked, fast_app, target, ident, form, body, as_json
):
    agency, supervisor, _dossier, _receiver = parked
    head = _messages()[0]
    stranger_agency = Factory().agency()
    db.session.commit()
    own = {"messages": head.id, "agencies": agency.id}[target]
    if ident == own:
        ident = stranger_agency.id if target == "agencies" else -1
    client = fast_app.test_client()
    login(client, supervisor)
    before = _state()
    url = f"/console/outbox/{target}/{ident}/resend"
    response = client.post(url, json=body) if as_json else client.post(url, data=form)
    assert response.status_code < 500, (url, response.status_code)
    assert response.status_code in (400, 404, 405, 409, 422), (url, response.status_code)
    assert _state() == before
