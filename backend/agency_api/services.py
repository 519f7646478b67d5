"""Use cases of an agency: registering dossiers and following them."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from backend.domain.idnum import hash_id_number, last4, validate_id_number
from backend.domain.lifecycle import Action, State
from backend.domain.policy import ResultType
from backend.envelopes.services import apply_action, create_envelopes, record_event
from backend.errors import Conflict, NotFound
from backend.extensions import db
from backend.models import Agency, DeliveryAttempt, Dossier, Envelope, Event, ProofFile

DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
# What intake.DossierIn accepts as a dossier's code (intake imports this module: not from there).
DOSSIER_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,63}\Z")


def register_dossier(
    agency: Agency,
    fields: dict[str, Any],
    *,
    envelope_count: int = 1,
    now: datetime,
    id_key: bytes,
    code_prefix: str,
    recipient_id_number: str | None = None,
) -> Dossier:
    """Register a dossier and its envelopes; an ID number is kept only as keyed hash + last four."""
    ResultType(fields["result_type"])  # refuse an unknown result type early
    dossier = Dossier(agency=agency, post_office_id=agency.post_office_id, created_at=now, **fields)
    if recipient_id_number:
        number = validate_id_number(recipient_id_number)
        dossier.recipient_id_hash = hash_id_number(number, id_key)
        dossier.recipient_id_last4 = last4(number)
    db.session.add(dossier)
    db.session.flush()
    record_event("dossier.register", dossier=dossier, now=now, actor_kind="agency")
    create_envelopes(dossier, envelope_count, prefix=code_prefix, now=now)
    return dossier


def agency_dossiers(agency_id: int, limit: int = 200) -> list[Dossier]:
    """An agency's latest dossiers with their envelopes."""
    stmt = (
        select(Dossier)
        .where(Dossier.agency_id == agency_id)
        .options(selectinload(Dossier.envelopes))
        .order_by(Dossier.id.desc())
        .limit(limit)
    )
    return list(db.session.execute(stmt).scalars())


# --- The agencies' API (docs/api-agency.md) ------------------------------------------------------


def agency_dossier(agency: Agency, code: str) -> Dossier:
    """The agency's own dossier with this code; another agency's answers as a missing one."""
    if not DOSSIER_CODE.fullmatch(code):  # no such code can be registered (nor asked of the
        raise NotFound(_("No such dossier."), code="dossier_not_found")  # database: a NUL)
    stmt = (
        select(Dossier)
        .where(Dossier.agency_id == agency.id, Dossier.code == code)
        .options(selectinload(Dossier.envelopes))
    )
    dossier = db.session.execute(stmt).scalar_one_or_none()
    if dossier is None:
        raise NotFound(_("No such dossier."), code="dossier_not_found")
    return dossier


def list_dossiers(
    agency: Agency,
    *,
    limit: int,
    after_id: int | None = None,
    status: str | None = None,
    registered_from: date | None = None,
    registered_to: date | None = None,
) -> tuple[list[Dossier], int | None]:
    """A page of the agency's dossiers, newest first, and the id to continue after (None: the
    last page). Keyset on the id: dossiers registered meanwhile never shift a later page."""
    tz = ZoneInfo(agency.post_office.timezone if agency.post_office else DEFAULT_TIMEZONE)
    stmt = select(Dossier).where(Dossier.agency_id == agency.id)
    if after_id is not None:
        stmt = stmt.where(Dossier.id < after_id)
    if status is not None:
        in_state = select(Envelope.id).where(
            Envelope.dossier_id == Dossier.id, Envelope._state == status
        )
        stmt = stmt.where(in_state.exists())
    if registered_from is not None:
        start = datetime.combine(registered_from, time.min, tz)
        stmt = stmt.where(Dossier.created_at >= start.astimezone(UTC))
    if registered_to is not None and registered_to < date.max:
        end = datetime.combine(registered_to + timedelta(days=1), time.min, tz)
        stmt = stmt.where(Dossier.created_at < end.astimezone(UTC))
    stmt = stmt.options(selectinload(Dossier.envelopes)).order_by(Dossier.id.desc())
    rows = list(db.session.execute(stmt.limit(limit + 1)).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more else None)


def dossier_history(dossier: Dossier) -> list[dict[str, Any]]:
    """The dossier's events in order: kind, envelope code, states, time (no `data`: it may name
    people or places beyond what the agency sent)."""
    codes = {envelope.id: envelope.code for envelope in dossier.envelopes}
    stmt = select(Event).where(Event.dossier_id == dossier.id).order_by(Event.id)
    return [
        {
            "kind": event.kind,
            "envelope_code": codes.get(event.envelope_id),
            "from_state": event.from_state,
            "to_state": event.to_state,
            "occurred_at": event.occurred_at,
        }
        for event in db.session.execute(stmt).scalars()
    ]


def dossier_attempts(dossier: Dossier) -> list[DeliveryAttempt]:
    """The delivery attempts of the dossier's envelopes, with their files, in order."""
    ids = [envelope.id for envelope in dossier.envelopes]
    if not ids:
        return []
    stmt = (
        select(DeliveryAttempt)
        .where(DeliveryAttempt.envelope_id.in_(ids))
        .options(selectinload(DeliveryAttempt.files), selectinload(DeliveryAttempt.envelope))
        .order_by(DeliveryAttempt.received_at, DeliveryAttempt.attempt_number)
    )
    return list(db.session.execute(stmt).scalars())


def proof_file_of_agency(agency_id: int, file_id: int) -> ProofFile:
    """A proof file of one of the agency's dossiers (a link names both), or 404."""
    stmt = (
        select(ProofFile)
        .join(ProofFile.attempt)
        .join(DeliveryAttempt.envelope)
        .join(Envelope.dossier)
        .where(ProofFile.id == file_id, Dossier.agency_id == agency_id)
    )
    row = db.session.execute(stmt).scalar_one_or_none()
    if row is None:
        raise NotFound(_("No such proof file."), code="no_such_proof_file")
    return row


def cancel_dossier(agency: Agency, dossier: Dossier, *, now: datetime) -> Dossier:
    """Cancel every envelope of a dossier that has not gone out: all still `registered` (not yet
    received by the office). Cancelled already: nothing changes. Otherwise 409."""
    states = {envelope.state for envelope in dossier.envelopes}
    if states == {State.cancelled}:
        return dossier
    if not states <= {State.registered, State.cancelled}:
        raise Conflict(
            _("The dossier has already been handed to the post office: it cannot be cancelled."),
            code="dossier_not_cancellable",
            fields={"states": sorted(state.value for state in states)},
        )
    for envelope in dossier.envelopes:
        if envelope.state is State.registered:
            apply_action(envelope, Action.cancel, now=now, actor_kind="agency")
    return dossier
