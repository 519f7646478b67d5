"""Which events notify: a row in the outbox written with the event (ids and the kind, nothing
personal), and the day-before-the-hold-ends job, once per envelope however often it runs."""

from __future__ import annotations

import json
from datetime import date, timedelta

from sqlalchemy import func, select

from backend.domain.lifecycle import Action
from backend.domain.policy import add_working_days
from backend.envelopes.services import apply_action
from backend.extensions import db
from backend.models import Event, OutboxMessage, Role
from backend.notify.events import HOLD_ENDING_EVENT
from backend.notify.services import record_hold_endings
from tests.conftest import NOW


def _rows() -> list[OutboxMessage]:
    return list(
        db.session.execute(
            select(OutboxMessage)
            .where(OutboxMessage.channel == "notify")
            .order_by(OutboxMessage.id)
        ).scalars()
    )


def test_each_citizen_facing_event_queues_one_message_with_ids_only(app, factory):
    supervisor = factory.user(Role.supervisor)
    first, second, third = (factory.envelope() for _ in range(3))
    for envelope in (first, second, third):
        apply_action(envelope, Action.receive, now=NOW, actor=supervisor)
    assert _rows() == []  # registered, received at the office: the citizen is not told
    apply_action(first, Action.load, now=NOW, actor=supervisor)
    apply_action(first, Action.fail, now=NOW, actor=supervisor, data={"reason": "not_home"})
    apply_action(first, Action.hold, now=NOW, actor=supervisor)
    apply_action(first, Action.collect, now=NOW, actor=supervisor)
    apply_action(second, Action.load, now=NOW, actor=supervisor)
    apply_action(second, Action.deliver, now=NOW, actor=supervisor)
    third.dossier.recipient_phone = None  # nobody to tell
    apply_action(third, Action.load, now=NOW, actor=supervisor)
    db.session.commit()

    rows = _rows()
    assert [(r.payload["envelope_id"], r.payload["kind"]) for r in rows] == [
        (first.id, "out_for_delivery"),
        (first.id, "attempt_failed"),
        (first.id, "held"),
        (first.id, "collected"),
        (second.id, "out_for_delivery"),
        (second.id, "delivered"),
    ]
    assert rows[1].payload["reason"] == "not_home"
    for row in rows:
        assert row.status == "pending" and row.dossier_id and row.agency_id and row.event_id
        assert set(row.payload) <= {"kind", "event_id", "envelope_id", "reason"}
        stored = json.dumps(row.payload)
        assert "0912345678" not in stored and "912345678" not in stored and "/t/" not in stored


def _held_envelope(factory, supervisor, held_on: date):
    envelope = factory.envelope()
    apply_action(envelope, Action.receive, now=NOW, actor=supervisor)
    apply_action(envelope, Action.hold, now=NOW, actor=supervisor)
    envelope.held_on = held_on
    return envelope


def test_the_day_before_the_hold_ends_one_event_and_one_message_even_run_twice(app, factory):
    supervisor = factory.user(Role.supervisor)
    today = date(2026, 11, 23)  # NOW's day in Lạng Sơn, a Monday
    ending = _held_envelope(factory, supervisor, today - timedelta(days=7))
    ending.hold_deadline = add_working_days(today, 1)  # tomorrow: the last day
    later = _held_envelope(factory, supervisor, today)
    later.hold_deadline = add_working_days(today, 3)
    db.session.commit()
    before = len(_rows())

    assert record_hold_endings(now=NOW) == 1
    db.session.commit()
    assert record_hold_endings(now=NOW) == 0  # the second run of the day
    assert record_hold_endings(now=NOW + timedelta(hours=5)) == 0
    db.session.commit()

    events = (
        db.session.execute(select(Event).where(Event.kind == HOLD_ENDING_EVENT)).scalars().all()
    )
    assert [e.envelope_id for e in events] == [ending.id]
    assert events[0].data["hold_deadline"] == ending.hold_deadline.isoformat()
    new = _rows()[before:]
    assert [(r.payload["kind"], r.payload["envelope_id"]) for r in new] == [
        ("hold_ending", ending.id)
    ]
    # Agencies' webhooks are not told of it: it is the office's own event.
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.channel == "webhook")
        )
        == 0
    )


def test_a_friday_tells_of_a_monday_deadline(app, factory):
    supervisor = factory.user(Role.supervisor)
    friday = NOW - timedelta(days=3)  # 2026-11-20, 09:00 in Lạng Sơn
    envelope = _held_envelope(factory, supervisor, date(2026, 11, 13))
    envelope.hold_deadline = date(2026, 11, 23)  # Monday, the next working day
    db.session.commit()
    assert record_hold_endings(now=friday - timedelta(days=1)) == 0  # Thursday: not yet
    assert record_hold_endings(now=friday) == 1


def test_the_hourly_task_runs_the_job_once_per_envelope(app, factory, queue, monkeypatch):
    from backend import clock
    from backend.outbox import tasks

    supervisor = factory.user(Role.supervisor)
    envelope = _held_envelope(factory, supervisor, date(2026, 11, 16))
    envelope.hold_deadline = date(2026, 11, 24)
    db.session.commit()
    monkeypatch.setattr(clock, "now", lambda: NOW)
    tasks.use_app(app)
    try:
        assert tasks.hold_ending_reminders.call_local() == 1
        assert tasks.hold_ending_reminders.call_local() == 0
    finally:
        tasks.use_app(None)
    assert [r.payload["kind"] for r in _rows()][-1:] == ["hold_ending"]
