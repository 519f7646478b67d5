"""Receiving from an agency: a hand-over opened for one agency, envelopes scanned in one by one.

Each scan is checked against what the agency announced (its envelopes registered for this
office and not yet here): an envelope that is not announced, already received, another
agency's or another office's is refused with the reason, and nothing changes. A received one
moves to `at_office` through the lifecycle (its event names the hand-over).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, select

from backend.domain.codes import validate_envelope_code
from backend.domain.envelope_qr import QR_PREFIX, QR_SEPARATOR, verify_envelope_qr
from backend.domain.errors import DomainError, ForgedEnvelopeQr
from backend.domain.lifecycle import STATE_LABELS, Action, State
from backend.domain.policy import DEFAULT_POLICY, DeliveryPolicy
from backend.envelopes.services import apply_action
from backend.errors import Conflict, Invalid, NotFound
from backend.extensions import db
from backend.models import Agency, Dossier, Envelope, Handover, HandoverItem, PostOffice, User

MAX_SCAN_CHARS = 128


@dataclass(frozen=True)
class Announced:
    """An agency with envelopes announced for the office and not yet received."""

    agency: Agency
    waiting: int


def announced_by_agency(office_id: int) -> list[Announced]:
    """The agencies with envelopes registered for this office, most waiting first."""
    rows = db.session.execute(
        select(Agency, func.count(Envelope.id))
        .join(Dossier, Dossier.agency_id == Agency.id)
        .join(Envelope, Envelope.dossier_id == Dossier.id)
        .where(Dossier.post_office_id == office_id, Envelope._state == State.registered.value)
        .group_by(Agency.id)
        .order_by(func.count(Envelope.id).desc(), Agency.name)
    ).all()
    return [Announced(agency, waiting) for agency, waiting in rows]


def recent_handovers(office_id: int, limit: int = 20, kind: str = "receive") -> list[Handover]:
    """The office's latest hand-overs of this kind, newest first."""
    return list(
        db.session.scalars(
            select(Handover)
            .where(Handover.post_office_id == office_id, Handover.kind == kind)
            .order_by(Handover.started_at.desc())
            .limit(limit)
        )
    )


def waiting_from(office_id: int, agency_id: int) -> int:
    """How many envelopes this agency announced for this office that are not here yet."""
    return db.session.execute(
        select(func.count(Envelope.id))
        .join(Dossier, Envelope.dossier_id == Dossier.id)
        .where(
            Dossier.post_office_id == office_id,
            Dossier.agency_id == agency_id,
            Envelope._state == State.registered.value,
        )
    ).scalar_one()


def start_handover(
    office: PostOffice, agency: Agency, *, actor: User, now: datetime, courier_name: str | None
) -> Handover:
    """Open a hand-over from `agency` at `office`, noting how many envelopes it announced."""
    handover = Handover(
        kind="receive",
        post_office_id=office.id,
        agency_id=agency.id,
        started_by_id=actor.id,
        courier_name=courier_name or None,
        announced=waiting_from(office.id, agency.id),
        started_at=now,
    )
    db.session.add(handover)
    db.session.flush()
    return handover


def handover_for_staff(handover_id: int, office_id: int | None, kind: str = "receive") -> Handover:
    """A hand-over of this kind of the user's office (any, for an administrator); else NotFound
    (a return is not scanned or printed through the receiving pages, nor the other way)."""
    handover = db.session.get(Handover, handover_id)
    if (
        handover is None
        or handover.kind != kind
        or (office_id is not None and handover.post_office_id != office_id)
    ):
        raise NotFound(_("This hand-over does not exist."), code="handover_not_found")
    return handover


def _code_from_scan(text: str, qr_key: bytes) -> str:
    """The envelope code a scanner typed: the label's QR payload or its printed code."""
    text = (text or "").strip()
    if not text or len(text) > MAX_SCAN_CHARS:
        raise Invalid(_("This is not an envelope code."), code="not_a_code")
    try:
        if text.startswith(QR_PREFIX + QR_SEPARATOR):
            return verify_envelope_qr(text, qr_key)
        return validate_envelope_code(text)
    except DomainError as err:
        forged = isinstance(err, ForgedEnvelopeQr)
        message = (
            _("This label's QR code was not made by Trao.")
            if forged
            else _("This is not an envelope code.")
        )
        raise Invalid(message, code="forged_label" if forged else "not_a_code") from None


def receive_scan(
    handover: Handover,
    text: str,
    *,
    actor: User,
    now: datetime,
    qr_key: bytes,
    policy: DeliveryPolicy = DEFAULT_POLICY,
) -> Envelope:
    """Receive the envelope a scan names into this open hand-over, or refuse it saying why."""
    if handover.finished_at is not None:
        raise Conflict(_("This hand-over is finished."), code="handover_finished")
    code = _code_from_scan(text, qr_key)
    envelope = db.session.execute(
        select(Envelope).join(Envelope.dossier).where(Envelope.code == code)
    ).scalar_one_or_none()
    if envelope is None:
        raise NotFound(
            _("Envelope %(code)s was not announced by any agency.", code=code),
            code="not_announced",
        )
    dossier = envelope.dossier
    if dossier.post_office_id != handover.post_office_id:
        raise Conflict(
            _("Envelope %(code)s belongs to another post office.", code=code),
            code="other_office",
        )
    if dossier.agency_id != handover.agency_id:
        raise Conflict(
            _("Envelope %(code)s was announced by another agency.", code=code),
            code="other_agency",
        )
    if envelope.state is not State.registered:
        in_this = any(item.envelope_id == envelope.id for item in handover.items)
        raise Conflict(
            _("Envelope %(code)s was received already.", code=code)
            if in_this or envelope.state is not State.cancelled
            else _("Envelope %(code)s was cancelled by the agency.", code=code),
            code="already_received" if envelope.state is not State.cancelled else "cancelled",
            fields={"state": envelope.state.value, "state_label": _(STATE_LABELS[envelope.state])},
        )
    apply_action(
        envelope,
        Action.receive,
        now=now,
        actor=actor,
        policy=policy,
        data={"handover_id": handover.id},
    )
    handover.items.append(HandoverItem(envelope=envelope, scanned_at=now))
    db.session.flush()
    return envelope


def finish_handover(handover: Handover, *, now: datetime) -> None:
    """Close the hand-over: nothing more is scanned into it; its record can be printed."""
    if handover.finished_at is None:
        handover.finished_at = now
        db.session.flush()
