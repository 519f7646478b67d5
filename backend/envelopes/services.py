"""The one place where an envelope's state changes, always with an event in the same transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, inspect, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from backend.clock import local_date
from backend.domain.codes import make_envelope_code
from backend.domain.lifecycle import Action, State, next_state
from backend.domain.policy import DEFAULT_POLICY, DeliveryPolicy, hold_deadline
from backend.extensions import db
from backend.models import CodeSequence, Dossier, Envelope, Event, OutboxMessage, User
from backend.models.events import OUTBOX_WRITTEN
from backend.notify.events import queue_notification

# Counting attempts belongs to the actions made at the door.
_ATTEMPT_ACTIONS = frozenset({Action.deliver, Action.fail})


def event_values(
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
) -> dict[str, Any]:
    """The columns of one event, as record_event writes them."""
    return {
        "kind": kind,
        "dossier_id": dossier.id,
        "envelope_id": envelope.id if envelope else None,
        "from_state": from_state.value if from_state else None,
        "to_state": to_state.value if to_state else None,
        "actor_id": actor.id if actor else None,
        "actor_kind": actor_kind or ("user" if actor else "system"),
        "occurred_at": now,
        "data": data or {},
    }


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
    """Append one event, and queue it for the agency's webhook (transactional outbox).

    Events are never changed once written, so the row is inserted as it is (nothing for the
    session to track); the event comes back detached, as it was written.
    """
    values = event_values(
        kind,
        dossier=dossier,
        now=now,
        actor=actor,
        actor_kind=actor_kind,
        envelope=envelope,
        from_state=from_state,
        to_state=to_state,
        data=data,
    )
    event_id = db.session.connection().execute(INSERT_EVENT, values).scalar_one()
    return event_written(event_id, values, dossier, envelope)


def record_events(
    kind: str,
    subjects: Sequence[tuple[Dossier, Envelope | None]],
    *,
    now: datetime,
    actor: User | None = None,
    actor_kind: str | None = None,
    to_state: State | None = None,
) -> list[Event]:
    """Append one event of `kind` for each (dossier, envelope), in order, in one statement (a batch
    of dossiers registered at once); each queued for its agency's webhook as record_event does."""
    if not subjects:
        return []
    rows = [
        event_values(
            kind,
            dossier=dossier,
            now=now,
            actor=actor,
            actor_kind=actor_kind,
            envelope=envelope,
            to_state=to_state,
        )
        for dossier, envelope in subjects
    ]
    ids = db.session.connection().execute(INSERT_EVENTS, rows).scalars().all()
    return [
        event_written(event_id, values, dossier, envelope)
        for event_id, values, (dossier, envelope) in zip(ids, rows, subjects, strict=True)
    ]


def event_written(
    event_id: int, values: dict[str, Any], dossier: Dossier, envelope: Envelope | None
) -> Event:
    """The event inserted with these columns, detached; its webhook message and the citizen's
    notification queued (outbox), in the event's transaction."""
    event = Event(id=event_id, **values)
    make_transient_to_detached(event)
    agency = dossier.agency
    if agency is not None and agency.webhook_url:
        db.session.add(
            OutboxMessage(
                event_id=event_id,
                channel="webhook",
                agency_id=agency.id,
                dossier_id=dossier.id,
                payload=_webhook_payload(event, dossier, envelope),
                next_attempt_at=values["occurred_at"],
                created_at=values["occurred_at"],
            )
        )
        # After the commit, the outbox's worker is woken (backend/outbox: never inside it).
        db.session.info[OUTBOX_WRITTEN] = True
    queue_notification(event_id, values, dossier)
    return event


INSERT_EVENT = Event.__table__.insert().returning(Event.__table__.c.id)
# Many rows at once (SQLAlchemy's "insertmanyvalues"), the ids in the rows' order.
INSERT_EVENTS = Event.__table__.insert().returning(
    Event.__table__.c.id, sort_by_parameter_order=True
)


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


@dataclass(frozen=True)
class StateChange:
    """An action worked out for an envelope, before anything is written: its new state columns
    (guarded by the version it was read at) and the event that tells it."""

    envelope: Envelope
    state: dict[str, Any]  # every column of _STATE_COLUMNS
    version: int
    event: dict[str, Any]  # the event's columns (event_values)

    def update_params(self) -> dict[str, Any]:
        """The parameters of UPDATE_STATE for this change."""
        return {
            **self.state,
            "envelope_id": self.envelope.id,
            "expected_version": self.version,
            "new_version": self.version + 1,
        }

    def written(self) -> None:
        """The envelope as the database now has it (nothing left for the session to track)."""
        for name, value in self.state.items():
            set_committed_value(self.envelope, name, value)
        set_committed_value(self.envelope, "version", self.version + 1)


def plan_action(
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
) -> StateChange:
    """Work out an action (raise if the rules forbid it); apply_action writes it."""
    before = envelope.state
    after = next_state(before, action, attempts_made=envelope.attempts_made, policy=policy)
    changes: dict[str, Any] = {"_state": after.value, "updated_at": now}
    if action in _ATTEMPT_ACTIONS:
        changes["attempts_made"] = envelope.attempts_made + 1
    if after is State.held_at_office:
        changes["held_on"] = local_date(now, timezone)
        changes["hold_deadline"] = hold_deadline(changes["held_on"], policy, closures)
    elif before is State.held_at_office:
        changes["held_on"] = changes["hold_deadline"] = None
    state = {name: changes.get(name, getattr(envelope, name)) for name in _STATE_COLUMNS}
    event = event_values(
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
    return StateChange(envelope=envelope, state=state, version=envelope.version, event=event)


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
    change = plan_action(
        envelope,
        action,
        now=now,
        actor=actor,
        actor_kind=actor_kind,
        policy=policy,
        timezone=timezone,
        closures=closures,
        data=data,
    )
    return write_change(change)


def write_change(change: StateChange) -> Event:
    """Write a planned action: the envelope's state (version-guarded) and its event."""
    _write_state(change)
    event_id = db.session.connection().execute(INSERT_EVENT, change.event).scalar_one()
    return event_written(event_id, change.event, change.envelope.dossier, change.envelope)


def can_write_in_one_statement(change: StateChange) -> bool:
    """Whether the change may be written by a caller's own statement with UPDATE_STATE (the
    envelope is in the database and has no changes pending in the session)."""
    state = inspect(change.envelope)
    return state.persistent and not state.modified


_STATE_COLUMNS = ("_state", "attempts_made", "held_on", "hold_deadline", "updated_at")
UPDATE_STATE = (
    update(Envelope.__table__)
    .where(
        Envelope.__table__.c.id == bindparam("envelope_id"),
        Envelope.__table__.c.version == bindparam("expected_version"),
    )
    .values(
        state=bindparam("_state"),
        attempts_made=bindparam("attempts_made"),
        held_on=bindparam("held_on"),
        hold_deadline=bindparam("hold_deadline"),
        updated_at=bindparam("updated_at"),
        version=bindparam("new_version"),
    )
)


def _write_state(change: StateChange) -> None:
    """Write the envelope's new state at once, guarded by its version: a writer that read the
    envelope before another changed it loses (StaleDataError), as the ORM's version check does.

    One statement, nothing left for the session to track; an envelope not yet in the database
    (never the case in the service, but possible in a script) goes through the session.
    """
    envelope = change.envelope
    state = inspect(envelope)
    if not state.persistent or state.modified:
        for name, value in change.state.items():
            setattr(envelope, name, value)
        return
    result = db.session.connection().execute(UPDATE_STATE, change.update_params())
    if result.rowcount != 1:
        raise StaleDataError(f"envelope {envelope.id} was changed by another transaction")
    change.written()


def allocate_envelope_codes(prefix: str, count: int) -> list[str]:
    """Reserve `count` consecutive S10 codes; atomic, so two requests never share a serial."""
    if count < 1:
        raise ValueError("count must be positive")
    stmt = (
        update(CodeSequence)
        .where(CodeSequence.prefix == prefix)
        .values(next_serial=CodeSequence.next_serial + count)
        .returning(CodeSequence.next_serial)
        # No CodeSequence is ever loaded as an object: without this the ORM would scan every
        # object in the session on each call, and a batch of n dossiers would cost n².
        .execution_options(synchronize_session=False)
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


def record_office_event(
    kind: str,
    *,
    now: datetime,
    actor: User | None,
    envelope: Envelope | None = None,
    data: dict[str, Any] | None = None,
    actor_kind: str | None = None,
) -> Event:
    """Append an event for the office's own eyes: no webhook, and no dossier needed.

    A refused attempt names an envelope only when it is known (else the postman is the only
    subject); a supervisor's note on an exception is the office's business, not the agency's.
    """
    values = {
        "kind": kind,
        "dossier_id": envelope.dossier_id if envelope else None,
        "envelope_id": envelope.id if envelope else None,
        "from_state": None,
        "to_state": None,
        "actor_id": actor.id if actor else None,
        "actor_kind": actor_kind or ("user" if actor else "system"),
        "occurred_at": now,
        "data": data or {},
    }
    event_id = db.session.connection().execute(INSERT_EVENT, values).scalar_one()
    event = Event(id=event_id, **values)
    make_transient_to_detached(event)
    return event
