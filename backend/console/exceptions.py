"""The exception queue: what at an office needs a person, and its resolution with a note.

An exception is found, not stored: a failed attempt, an attempt flagged for review (a weak
identity match the postman confirmed, far from the address, a clock gap, a poor GPS fix), an
attempt refused on sync (its event), an envelope past its promised date. A supervisor resolves
one with a note, which is an event on the envelope (its timeline shows it); an exception with
such an event has left the queue. Each exception has a subject that names it:
`attempt:<uuid>`, `refusal:<event id>` or `overdue:<envelope id>`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from flask_babel import gettext as _
from sqlalchemy import and_, literal, literal_column, or_, select
from sqlalchemy.orm import aliased

from backend.delivery.refusals import REFUSAL_EVENT
from backend.domain.i18n import N_
from backend.domain.lifecycle import State
from backend.domain.review import ReviewFlag
from backend.envelopes.services import record_office_event
from backend.errors import Conflict, Invalid, NotFound
from backend.extensions import db
from backend.models import DeliveryAttempt, DeliveryRun, Dossier, Envelope, Event, User
from backend.validation import INT32_MAX

RESOLVE_EVENT = "exception.resolve"
MAX_NOTE_CHARS = 1000
QUEUE_LIMIT = 300
# Still on the office's hands: an envelope in these states past its promised date is late.
LATE_STATES = (State.at_office, State.out_for_delivery, State.attempt_failed)
_SUBJECT = re.compile(r"(attempt):([0-9a-fA-F-]{1,36})|(refusal|overdue):([0-9]{1,18})")


class ExceptionKind(StrEnum):
    failed_attempt = "failed_attempt"
    weak_identity = "weak_identity"
    far_from_address = "far_from_address"
    clock_gap = "clock_gap"
    after_close = "after_close"
    poor_position = "poor_position"
    position_dropped = "position_dropped"
    refused_on_sync = "refused_on_sync"
    past_promised_date = "past_promised_date"


KIND_LABELS = {
    ExceptionKind.failed_attempt: N_("Failed attempt"),
    ExceptionKind.weak_identity: N_("Weak identity match, confirmed by the postman"),
    ExceptionKind.far_from_address: N_("Far from the address"),
    ExceptionKind.clock_gap: N_("Phone clock far from the server's"),
    ExceptionKind.after_close: N_("Received after its run was closed"),
    ExceptionKind.poor_position: N_("Poor GPS fix"),
    ExceptionKind.position_dropped: N_("No usable GPS fix"),
    ExceptionKind.refused_on_sync: N_("Refused on sync"),
    ExceptionKind.past_promised_date: N_("Past its promised date"),
}
_FLAG_KINDS = {flag.value: ExceptionKind(flag.value) for flag in ReviewFlag}


@dataclass
class OfficeException:
    """One thing that needs a person, with what the queue shows of it."""

    subject: str
    kinds: list[ExceptionKind]
    occurred_at: datetime | None
    envelope_code: str | None = None
    postman_name: str | None = None
    details: dict = field(default_factory=dict)

    @property
    def labels(self) -> list[str]:
        return [_(KIND_LABELS[kind]) for kind in self.kinds]


def exception_queue(
    office_id: int | None,
    *,
    today: date,
    now: datetime,
    days: int,
    envelope_id: int | None = None,
    limit: int = QUEUE_LIMIT,
) -> list[OfficeException]:
    """The open exceptions of an office (every office for None), newest first.

    Attempts and refusals of the last `days` days; late envelopes whatever their age. With
    `envelope_id`, only that envelope's (its page), attempts of any age.
    """
    since = now - timedelta(days=days)
    items = (
        _attempt_exceptions(office_id, since, envelope_id, limit)
        + _refusal_exceptions(office_id, since, envelope_id, limit)
        + _late_envelopes(office_id, today, envelope_id, limit)
    )
    resolved = resolved_subjects(
        [i.subject for i in items], {i.details.get("envelope_id") for i in items}, since
    )
    open_items = [i for i in items if i.subject not in resolved]
    far_past = datetime.min.replace(tzinfo=now.tzinfo)
    open_items.sort(key=lambda i: i.occurred_at or far_past, reverse=True)
    return open_items[:limit]


# A phone may sync an attempt days after its run: the office's attempts of the last `days`
# days are looked for on its runs of this many days more (the queue reads them through the
# runs: an office's slice of a province's attempts, bench/console_scale.py).
SYNC_GRACE_DAYS = 30


def _attempt_exceptions(
    office_id, since, envelope_id, limit, *, open_only: bool = True
) -> list[OfficeException]:
    resolution = aliased(Event)
    resolved = (
        select(resolution.id)
        .where(
            resolution.envelope_id == DeliveryAttempt.envelope_id,
            resolution.kind == RESOLVE_EVENT,
            resolution.data["subject"].as_string() == literal("attempt:") + DeliveryAttempt.id,
        )
        .exists()
    )
    stmt = (
        select(DeliveryAttempt, Envelope.code, User.full_name)
        .join(Envelope, DeliveryAttempt.envelope_id == Envelope.id)
        .join(Dossier, Envelope.dossier_id == Dossier.id)
        .join(User, DeliveryAttempt.postman_id == User.id)
        # The same condition as the partial index ix_attempt_exception_run (migration 0008c).
        # (literal, not a parameter: a generic plan could not prove the index's condition)
        .where(
            or_(
                DeliveryAttempt.outcome == literal_column("'failed'"),
                DeliveryAttempt.needs_review.is_(True),
            )
        )
        .order_by(DeliveryAttempt.received_at.desc())
        .limit(limit)
    )
    if open_only:
        # Resolved ones left out here, so that the limit counts open ones only.
        stmt = stmt.where(~resolved)
    if envelope_id is not None:
        stmt = stmt.where(DeliveryAttempt.envelope_id == envelope_id)
    else:
        stmt = stmt.where(DeliveryAttempt.received_at >= since)
    if office_id is not None:
        stmt = stmt.where(Dossier.post_office_id == office_id)
        if envelope_id is None:
            runs = select(DeliveryRun.id).where(
                DeliveryRun.post_office_id == office_id,
                DeliveryRun.run_date >= (since - timedelta(days=SYNC_GRACE_DAYS)).date(),
            )
            stmt = stmt.where(DeliveryAttempt.run_id.in_(runs))
    items = []
    for attempt, code, postman_name in db.session.execute(stmt):
        kinds = [ExceptionKind.failed_attempt] if attempt.outcome == "failed" else []
        kinds += [_FLAG_KINDS[f] for f in attempt.review_flags or [] if f in _FLAG_KINDS]
        items.append(
            OfficeException(
                subject=f"attempt:{attempt.id}",
                kinds=kinds,
                occurred_at=attempt.received_at,
                envelope_code=code,
                postman_name=postman_name,
                details={
                    "envelope_id": attempt.envelope_id,
                    "attempt_number": attempt.attempt_number,
                    "reason_code": attempt.reason_code,
                    "distance_m": attempt.distance_m,
                    "device_time": attempt.device_time,
                },
            )
        )
    return items


def _refusal_exceptions(
    office_id, since, envelope_id, limit, event_id: int | None = None
) -> list[OfficeException]:
    postman = aliased(User)
    stmt = (
        select(Event, postman.full_name, Envelope.code)
        .join(postman, Event.actor_id == postman.id)
        .outerjoin(Envelope, Event.envelope_id == Envelope.id)
        .where(Event.kind == REFUSAL_EVENT, Event.occurred_at >= since)
        .order_by(Event.id.desc())
        .limit(limit)
    )
    if envelope_id is not None:
        stmt = stmt.where(Event.envelope_id == envelope_id)
    if event_id is not None:
        stmt = stmt.where(Event.id == event_id)
    if office_id is not None:
        # The postman's office: a refusal may name no envelope, or one of no office of ours.
        stmt = stmt.where(postman.post_office_id == office_id)
    items = []
    for event, postman_name, code in db.session.execute(stmt):
        data = event.data or {}
        items.append(
            OfficeException(
                subject=f"refusal:{event.id}",
                kinds=[ExceptionKind.refused_on_sync],
                occurred_at=event.occurred_at,
                envelope_code=code or data.get("envelope_code"),
                postman_name=postman_name,
                details={
                    "envelope_id": event.envelope_id,
                    "code": data.get("code"),
                    "fields": data.get("fields", []),
                    "linked": event.envelope_id is not None,
                },
            )
        )
    return items


def _late_envelopes(office_id, today, envelope_id, limit) -> list[OfficeException]:
    stmt = (
        select(Envelope.id, Envelope.code, Dossier.promised_date, Envelope.updated_at)
        .join(Dossier, Envelope.dossier_id == Dossier.id)
        .where(
            Dossier.promised_date < today,
            Envelope._state.in_([s.value for s in LATE_STATES]),
        )
        .order_by(Dossier.promised_date)
        .limit(limit)
    )
    if envelope_id is not None:
        stmt = stmt.where(Envelope.id == envelope_id)
    if office_id is not None:
        stmt = stmt.where(Dossier.post_office_id == office_id)
    return [
        OfficeException(
            subject=f"overdue:{env_id}",
            kinds=[ExceptionKind.past_promised_date],
            occurred_at=None,
            envelope_code=code,
            details={"envelope_id": env_id, "promised_date": promised},
        )
        for env_id, code, promised, _updated in db.session.execute(stmt)
    ]


def resolved_subjects(subjects: Iterable[str], envelope_ids: set, since: datetime) -> set[str]:
    """Which of these subjects a resolution event names already."""
    subjects = set(subjects)
    if not subjects:
        return set()
    ids = [i for i in envelope_ids if i is not None]
    where = [and_(Event.envelope_id.is_(None), Event.occurred_at >= since)]
    if ids:
        where.append(Event.envelope_id.in_(ids))
    stmt = select(Event.data).where(Event.kind == RESOLVE_EVENT, or_(*where))
    named = {(data or {}).get("subject") for data in db.session.execute(stmt).scalars()}
    return subjects & named


def resolve_exception(
    subject: str,
    note: str,
    *,
    actor: User,
    office_id: int | None,
    today: date,
    now: datetime,
    days: int,
) -> Event:
    """Record a supervisor's resolution of an open exception of the office, with a note.

    404 when the subject names nothing open at this office (another office's exception is
    none of ours), 409 when already resolved, 422 without a note.
    """
    # Control characters have no place in a note (and PostgreSQL refuses NUL): line breaks stay.
    note = "".join(ch for ch in (note or "") if ch in "\n\t" or ch >= " ").strip()
    if not note:
        raise Invalid(_("Write a note saying how it was resolved."), code="note_required")
    if len(note) > MAX_NOTE_CHARS:
        raise Invalid(_("The note is too long."), code="note_too_long")
    item = _open_subject(subject, office_id, today=today, now=now, days=days)
    envelope_id = item.details.get("envelope_id")
    if item.subject in resolved_subjects([item.subject], {envelope_id}, now - timedelta(days=days)):
        raise Conflict(_("This exception was already resolved."), code="already_resolved")
    envelope = db.session.get(Envelope, envelope_id) if envelope_id else None
    return record_office_event(
        RESOLVE_EVENT,
        now=now,
        actor=actor,
        envelope=envelope,
        data={"subject": item.subject, "kinds": [k.value for k in item.kinds], "note": note},
    )


def _open_subject(
    subject: str, office_id: int | None, *, today: date, now: datetime, days: int
) -> OfficeException:
    """The exception a subject names, if it is one at this office; else 404."""
    match = _SUBJECT.fullmatch(subject or "")
    not_found = NotFound(_("There is no such exception."), code="no_such_exception")
    if match is None:
        raise not_found
    since = now - timedelta(days=days)
    if match.group(3) == "overdue" and int(match.group(4)) > INT32_MAX:
        raise not_found  # beyond any envelope id (PostgreSQL would refuse to compare it)
    if match.group(1):
        attempt = db.session.get(DeliveryAttempt, match.group(2).lower())
        candidates = (
            _attempt_exceptions(office_id, since, attempt.envelope_id, QUEUE_LIMIT, open_only=False)
            if attempt
            else []
        )
    elif match.group(3) == "refusal":
        candidates = _refusal_exceptions(office_id, since, None, 1, int(match.group(4)))
    else:
        candidates = _late_envelopes(office_id, today, int(match.group(4)), QUEUE_LIMIT)
    for item in candidates:
        if item.subject == subject.lower():
            return item
    raise not_found
