"""The one service that moves envelopes: state, attempts, hold deadline, event and outbox together."""

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from backend.domain.errors import AttemptsExhausted, TransitionNotAllowed
from backend.domain.lifecycle import Action, State
from backend.domain.policy import DeliveryPolicy
from backend.envelopes.services import allocate_envelope_codes, apply_action
from backend.extensions import db
from backend.models import AppendOnlyError, Event, OutboxMessage
from tests.conftest import NOW


def events_of(envelope):
    return (
        db.session.execute(select(Event).where(Event.envelope_id == envelope.id).order_by(Event.id))
        .scalars()
        .all()
    )


def test_a_new_envelope_is_registered_with_its_first_event(factory):
    envelope = factory.envelope()
    assert envelope.state is State.registered
    assert [e.kind for e in events_of(envelope)] == ["envelope.register"]


def test_an_action_moves_the_state_and_appends_one_event(factory):
    envelope = factory.envelope()
    actor = factory.user()
    event = apply_action(envelope, Action.receive, now=NOW, actor=actor)
    assert envelope.state is State.at_office
    assert (event.from_state, event.to_state) == ("registered", "at_office")
    assert event.actor_id == actor.id and event.occurred_at == NOW
    assert events_of(envelope)[-1].id == event.id


def test_a_forbidden_action_raises_and_changes_nothing(factory):
    envelope = factory.envelope()
    before = len(events_of(envelope))
    with pytest.raises(TransitionNotAllowed):
        apply_action(envelope, Action.deliver, now=NOW)
    assert envelope.state is State.registered
    assert envelope.attempts_made == 0
    assert len(events_of(envelope)) == before


def test_delivered_is_final(factory):
    envelope = factory.envelope()
    for action in (Action.receive, Action.load, Action.deliver):
        apply_action(envelope, action, now=NOW)
    for action in Action:
        with pytest.raises(TransitionNotAllowed):
            apply_action(envelope, action, now=NOW)
    assert envelope.state is State.delivered


def test_attempts_are_counted_and_capped_by_the_policy(factory):
    envelope = factory.envelope()
    policy = DeliveryPolicy(max_home_attempts=2)
    apply_action(envelope, Action.receive, now=NOW)
    for _ in range(2):
        apply_action(envelope, Action.load, now=NOW, policy=policy)
        apply_action(envelope, Action.fail, now=NOW, policy=policy)
    assert envelope.attempts_made == 2
    with pytest.raises(AttemptsExhausted):
        apply_action(envelope, Action.load, now=NOW, policy=policy)
    apply_action(envelope, Action.hold, now=NOW, policy=policy)
    assert envelope.state is State.held_at_office


def test_holding_sets_a_deadline_in_working_days_of_the_office(factory):
    envelope = factory.envelope()
    apply_action(envelope, Action.receive, now=NOW)
    apply_action(envelope, Action.hold, now=NOW)  # Monday 23 Nov 2026, 09:00 in Vietnam
    assert envelope.held_on.isoformat() == "2026-11-23"
    # 10 working days later: 24 Nov is Vietnamese Culture Day, a public holiday from 2026.
    assert envelope.hold_deadline.isoformat() == "2026-12-08"
    apply_action(envelope, Action.collect, now=NOW)
    assert envelope.hold_deadline is None


def test_the_state_cannot_be_assigned_directly(factory):
    envelope = factory.envelope()
    with pytest.raises(AttributeError):
        envelope.state = State.delivered


def test_only_the_lifecycle_service_writes_an_envelope_state():
    root = Path(__file__).resolve().parents[2] / "backend"
    writers = [
        path.relative_to(root).as_posix()
        for path in root.rglob("*.py")
        # An assignment to the attribute, or its name given to setattr / a statement.
        if re.search(r"\._state\s*=[^=]|[\"']_state[\"']", path.read_text(encoding="utf-8"))
    ]
    assert writers == ["envelopes/services.py"]


def test_events_are_append_only(factory):
    envelope = factory.envelope()
    db.session.commit()
    event = events_of(envelope)[0]
    event.kind = "tampered"
    with pytest.raises(AppendOnlyError):
        db.session.flush()
    db.session.rollback()
    event = db.session.execute(select(Event)).scalars().first()
    db.session.delete(event)
    with pytest.raises(AppendOnlyError):
        db.session.flush()


def test_an_agency_with_a_webhook_gets_each_event_in_the_outbox(factory):
    agency = factory.agency(webhook_url="https://one-stop.example/hook", webhook_secret="s")
    envelope = factory.envelope(agency=agency)
    apply_action(envelope, Action.receive, now=NOW)
    messages = db.session.execute(select(OutboxMessage)).scalars().all()
    kinds = [m.payload["kind"] for m in messages]
    assert kinds == ["dossier.register", "envelope.register", "envelope.receive"]
    assert all(m.status == "pending" and m.agency_id == agency.id for m in messages)
    assert messages[-1].payload["envelope_code"] == envelope.code


def test_an_agency_without_a_webhook_gets_no_outbox_messages(factory):
    apply_action(factory.envelope(), Action.receive, now=NOW)
    assert db.session.execute(select(OutboxMessage)).first() is None


def test_allocated_codes_are_valid_consecutive_and_never_reused(app):
    from backend.domain.codes import is_valid_envelope_code

    first = allocate_envelope_codes("HC", 3)
    second = allocate_envelope_codes("HC", 2)
    codes = first + second
    assert len(set(codes)) == 5
    assert all(is_valid_envelope_code(c) for c in codes)
    assert [int(c[2:10]) for c in codes] == [1, 2, 3, 4, 5]


def test_a_stale_writer_loses_the_race(app, factory):
    """Two sessions change one envelope: the optimistic version lock lets only the first win."""
    from sqlalchemy.orm import Session
    from sqlalchemy.orm.exc import StaleDataError

    from backend.models import Envelope

    envelope = factory.envelope()
    apply_action(envelope, Action.receive, now=NOW)
    db.session.commit()
    with Session(db.engine) as other:
        rival = other.get(Envelope, envelope.id)
        apply_action(envelope, Action.load, now=NOW)
        db.session.commit()
        rival.attempts_made = 5  # any write from the stale copy
        with pytest.raises(StaleDataError):
            other.commit()


def test_planning_follows_the_deployments_attempt_limit(factory):
    """The console plans with the configured policy: one attempt allowed, no second load."""
    from backend.console.services import plan_run, receive_envelopes
    from backend.models import Role

    policy = DeliveryPolicy(max_home_attempts=1, reminder_after_working_days=1)
    envelope = factory.envelope()
    office = envelope.dossier.post_office
    supervisor = factory.user(Role.supervisor, post_office=office)
    postman = factory.user(Role.postman, post_office=office)
    receive_envelopes([envelope], actor=supervisor, now=NOW, policy=policy)
    plan = {"office": office, "postman": postman, "actor": supervisor, "now": NOW}
    plan_run(run_date=NOW.date(), envelopes=[envelope], policy=policy, **plan)
    apply_action(envelope, Action.fail, now=NOW, policy=policy)
    with pytest.raises(AttemptsExhausted):
        plan_run(run_date=NOW.date(), envelopes=[envelope], policy=policy, **plan)
