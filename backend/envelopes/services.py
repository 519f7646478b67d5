"""The one place where an envelope's state changes, always with an event in the same transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from backend.clock import local_date
from backend.domain.codes import make_envelope_code
from backend.domain.lifecycle import Action, State, next_state
from backend.domain.policy import DEFAULT_POLICY, DeliveryPolicy, hold_deadline
from backend.extensions import db
from backend.models import CodeSequence, Dossier, Envelope, Event, OutboxMessage, User

# Counting attempts belongs to the actions made at the door.
_ATTEMPT_ACTIONS = frozenset({Action.deliver, Action.fail})


def record_event(
    kind: str,
    *,
    dossier: Dossier,
    now: datetime,
    actor: User | None = None,
    actor_kind: str | None = None,
    envelope: Envelope | None = None,
    from_state: State | None = None,
    to_state: State | None = None,
    data: dict[str, Any] | None = None,
) -> Event:
    """Append one event, and queue it for the agency's webhook (transactional outbox)."""
    event = Event(
        kind=kind,
        dossier_id=dossier.id,
        envelope_id=envelope.id if envelope else None,
        from_state=from_state.value if from_state else None,
        to_state=to_state.value if to_state else None,
        actor_id=actor.id if actor else None,
        actor_kind=actor_kind or ("user" if actor else "system"),
        occurred_at=now,
        data=data or {},
    )
    db.session.add(event)
    db.session.flush()
    agency = dossier.agency
    if agency is not None and agency.webhook_url:
        db.session.add(
            OutboxMessage(
                event_id=event.id,
                channel="webhook",
                agency_id=agency.id,
                payload=_webhook_payload(event, dossier, envelope),
                next_attempt_at=now,
                created_at=now,
            )
        )
    return event


def _webhook_payload(event: Event, dossier: Dossier, envelope: Envelope | None) -> dict:
    """What the agency's system is told: codes and states, no personal data beyond its own dossier."""
    return {
        "event_id": event.id,
        "kind": event.kind,
        "dossier_code": dossier.code,
        "envelope_code": envelope.code if envelope else None,
        "from_state": event.from_state,
        "to_state": event.to_state,
        "occurred_at": event.occurred_at.isoformat(),
        "data": event.data,
    }


def apply_action(
    envelope: Envelope,
    action: Action,
    *,
    now: datetime,
    actor: User | None = None,
    actor_kind: str | None = None,
    policy: DeliveryPolicy = DEFAULT_POLICY,
    timezone: str = "Asia/Ho_Chi_Minh",
    closures: frozenset = frozenset(),
    data: dict[str, Any] | None = None,
) -> Event:
    """Move an envelope through the lifecycle and log the event; raise if the rules forbid it."""
    before = envelope.state
    after = next_state(before, action, attempts_made=envelope.attempts_made, policy=policy)
    if action in _ATTEMPT_ACTIONS:
        envelope.attempts_made += 1
    if after is State.held_at_office:
        envelope.held_on = local_date(now, timezone)
        envelope.hold_deadline = hold_deadline(envelope.held_on, policy, closures)
    elif before is State.held_at_office:
        envelope.held_on = envelope.hold_deadline = None
    envelope._state = after.value
    envelope.updated_at = now
    return record_event(
        f"envelope.{action.value}",
        dossier=envelope.dossier,
        envelope=envelope,
        now=now,
        actor=actor,
        actor_kind=actor_kind,
        from_state=before,
        to_state=after,
        data=data,
    )


def allocate_envelope_codes(prefix: str, count: int) -> list[str]:
    """Reserve `count` consecutive S10 codes; atomic, so two requests never share a serial."""
    if count < 1:
        raise ValueError("count must be positive")
    stmt = (
        update(CodeSequence)
        .where(CodeSequence.prefix == prefix)
        .values(next_serial=CodeSequence.next_serial + count)
        .returning(CodeSequence.next_serial)
    )
    end = db.session.execute(stmt).scalar_one_or_none()
    if end is None:
        try:
            with db.session.begin_nested():
                db.session.execute(
                    insert(CodeSequence).values(prefix=prefix, next_serial=1 + count)
                )
            end = 1 + count
        except IntegrityError:  # another request created the row first
            end = db.session.execute(stmt).scalar_one()
    return [make_envelope_code(serial, prefix=prefix) for serial in range(end - count, end)]


def create_envelopes(
    dossier: Dossier, count: int, *, prefix: str, now: datetime, actor_kind: str = "agency"
) -> Sequence[Envelope]:
    """Create a dossier's envelopes in state `registered`, each with its first event."""
    envelopes = [
        Envelope(code=code, dossier=dossier, created_at=now, updated_at=now)
        for code in allocate_envelope_codes(prefix, count)
    ]
    db.session.add_all(envelopes)
    db.session.flush()
    for envelope in envelopes:
        record_event(
            "envelope.register",
            dossier=dossier,
            envelope=envelope,
            now=now,
            actor_kind=actor_kind,
            to_state=State.registered,
        )
    return envelopes


def find_envelope(code: str) -> Envelope | None:
    """The envelope with this code, if any."""
    return db.session.execute(select(Envelope).where(Envelope.code == code)).scalar_one_or_none()
