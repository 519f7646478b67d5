"""What a citizen asks of an envelope that is waiting: another day, or to collect it at the office.

A clerk records the request (the citizen phoned, or came by); the citizen's own tracking page
(backend/tracking) records it the same way, as the citizen (`actor_kind="citizen"`). A request
is an event (`envelope.request`, its data the kind, the day asked for and the clerk's note), so
the envelope's history tells it; the latest one counts. "Another day" keeps the envelope out of the runs of any earlier day, on every path that
loads it (assigning, splitting, scanning at the counter: `check_not_asked_later`), and the
planner sees the day asked for beside the last failure's reason. "Collect at the office" holds
the envelope there (`hold`, through the lifecycle) for the counter.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from flask_babel import gettext as _
from sqlalchemy import func, select

from backend.domain.i18n import N_
from backend.domain.lifecycle import STATE_LABELS, Action, State
from backend.domain.policy import FAILURE_REASON_LABELS, DeliveryPolicy, FailureReason
from backend.envelopes.services import apply_action, record_office_event
from backend.errors import Conflict, Invalid
from backend.extensions import db
from backend.models import DeliveryAttempt, Envelope, Event, User

REQUEST_EVENT = "envelope.request"
# A day asked for lies within this many days of today.
MAX_DAYS_AHEAD = 60
MAX_NOTE_CHARS = 500
# Waiting at the office: where a request can still change what happens next.
OPEN_STATES = (State.at_office, State.attempt_failed)


class RequestKind(StrEnum):
    """What the citizen asked for."""

    another_day = "another_day"
    collect = "collect"


REQUEST_LABELS = {
    RequestKind.another_day: N_("Deliver on another day"),
    RequestKind.collect: N_("Collect it at the post office"),
}


@dataclass(frozen=True)
class CitizenRequest:
    """The latest request for one envelope."""

    kind: RequestKind
    day: date | None
    note: str
    made_at: datetime


@dataclass(frozen=True)
class LastFailure:
    """Why the envelope's last home attempt failed."""

    attempt_number: int
    reason_code: str | None
    note: str | None
    received_at: datetime

    @property
    def reason_label(self) -> str:
        try:
            return _(FAILURE_REASON_LABELS[FailureReason(self.reason_code)])
        except ValueError:
            return self.reason_code or ""


def record_request(
    envelope: Envelope,
    kind: str,
    *,
    day: date | None,
    note: str,
    actor: User | None,
    now: datetime,
    today: date,
    policy: DeliveryPolicy,
    actor_kind: str | None = None,
) -> Event:
    """Record what the citizen asked for, or refuse it (nothing changed) with the reason.

    A clerk records it as `actor` (the citizen phoned or came by); the citizen's own page
    records it with no user and `actor_kind="citizen"`.
    """
    try:
        kind = RequestKind(kind)
    except ValueError:
        raise Invalid(_("Choose what the citizen asked for."), fields={"kind": kind}) from None
    note = note.strip()
    if len(note) > MAX_NOTE_CHARS:
        raise Invalid(
            _("The note is too long (at most %(n)s characters).", n=MAX_NOTE_CHARS),
            fields={"note": len(note)},
        )
    if envelope.state not in OPEN_STATES:
        raise Conflict(
            _(
                "Envelope %(code)s is not waiting at the office (%(state)s): "
                "a request can only change what happens to a waiting envelope.",
                code=envelope.code,
                state=_(STATE_LABELS[envelope.state]),
            ),
            code="not_waiting",
        )
    data: dict = {"kind": kind.value}
    if kind is RequestKind.another_day:
        if day is None or not today < day <= today + timedelta(days=MAX_DAYS_AHEAD):
            raise Invalid(
                _(
                    "Give a day after today and within %(n)s days.",
                    n=MAX_DAYS_AHEAD,
                ),
                code="bad_day",
                fields={"day": day.isoformat() if day else None},
            )
        data["day"] = day.isoformat()
    if note:
        data["note"] = note
    event = record_office_event(
        REQUEST_EVENT, now=now, actor=actor, actor_kind=actor_kind, envelope=envelope, data=data
    )
    if kind is RequestKind.collect:
        apply_action(
            envelope,
            Action.hold,
            now=now,
            actor=actor,
            actor_kind=actor_kind,
            policy=policy,
            data={"request_event_id": event.id},
        )
    return event


def latest_requests(envelope_ids: Iterable[int]) -> dict[int, CitizenRequest]:
    """The latest request of each envelope that has one (one query)."""
    ids = list(envelope_ids)
    if not ids:
        return {}
    latest = (
        select(func.max(Event.id))
        .where(Event.kind == REQUEST_EVENT, Event.envelope_id.in_(ids))
        .group_by(Event.envelope_id)
    )
    rows = db.session.execute(
        select(Event.envelope_id, Event.data, Event.occurred_at).where(Event.id.in_(latest))
    ).all()
    found = {}
    for envelope_id, data, occurred_at in rows:
        try:
            kind = RequestKind(data.get("kind"))
            day = date.fromisoformat(data["day"]) if data.get("day") else None
        except (ValueError, TypeError):
            continue  # not one this code wrote
        found[envelope_id] = CitizenRequest(kind, day, data.get("note", ""), occurred_at)
    return found


def last_failures(envelope_ids: Iterable[int]) -> dict[int, LastFailure]:
    """The last failed home attempt of each envelope that has one (one query)."""
    ids = list(envelope_ids)
    if not ids:
        return {}
    last = (
        select(func.max(DeliveryAttempt.attempt_number))
        .where(
            DeliveryAttempt.envelope_id == Envelope.id,
            DeliveryAttempt.outcome == "failed",
        )
        .correlate(Envelope)
        .scalar_subquery()
    )
    rows = db.session.execute(
        select(
            DeliveryAttempt.envelope_id,
            DeliveryAttempt.attempt_number,
            DeliveryAttempt.reason_code,
            DeliveryAttempt.note,
            DeliveryAttempt.received_at,
        )
        .join(Envelope, Envelope.id == DeliveryAttempt.envelope_id)
        .where(
            Envelope.id.in_(ids),
            DeliveryAttempt.outcome == "failed",
            DeliveryAttempt.attempt_number == last,
        )
        .order_by(DeliveryAttempt.received_at)
    ).all()
    return {row.envelope_id: LastFailure(*row[1:]) for row in rows}


def asked_for_later(envelope_ids: Iterable[int], day: date) -> dict[int, date]:
    """The envelopes whose citizen asked for a day after `day`, with that day."""
    return {
        envelope_id: request.day
        for envelope_id, request in latest_requests(envelope_ids).items()
        if request.kind is RequestKind.another_day and request.day and request.day > day
    }


def check_not_asked_later(envelopes: Iterable[Envelope], day: date) -> None:
    """Refuse (409 `asked_for_later_day`) to load an envelope onto a run of a day before the
    one its citizen asked for."""
    envelopes = list(envelopes)
    later = asked_for_later((e.id for e in envelopes), day)
    for envelope in envelopes:
        if envelope.id in later:
            raise Conflict(
                _(
                    "The citizen asked for envelope %(code)s to come on %(day)s, not before.",
                    code=envelope.code,
                    day=later[envelope.id].strftime("%d/%m/%Y"),
                ),
                code="asked_for_later_day",
                fields={"day": later[envelope.id].isoformat()},
            )
