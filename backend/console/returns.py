"""Returned to the agency: after the hold, held envelopes go back on a signed hand-over list.

A return is a Handover of kind "return" for one agency. Each envelope is scanned out: one that
is not held, still within its hold (unless a supervisor overrides it with a note), another
agency's or another office's, or a forged label, is refused saying why and nothing changes. A
returned one moves to `returned_to_agency` through the lifecycle, its event naming the hand-over.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy import func, select

from backend.console.counter import MAX_NOTE, hold_dates
from backend.console.handovers import _code_from_scan
from backend.domain.lifecycle import STATE_LABELS, Action, State
from backend.domain.policy import DEFAULT_POLICY, DeliveryPolicy
from backend.envelopes.services import apply_action
from backend.errors import Conflict, NotFound
from backend.extensions import db
from backend.models import Agency, Dossier, Envelope, Handover, HandoverItem, PostOffice, User
from backend.validation import one_line

RETURN = "return"


@dataclass(frozen=True)
class DueBack:
    """An agency with held envelopes past their deadline at the office."""

    agency: Agency
    due: int


def _past_deadline(office_id: int, today: date):
    return (
        select(Envelope.id)
        .join(Dossier, Envelope.dossier_id == Dossier.id)
        .where(
            Dossier.post_office_id == office_id,
            Envelope._state == State.held_at_office.value,
            Envelope.hold_deadline < today,
        )
    )


def due_back_by_agency(office_id: int, today: date) -> list[DueBack]:
    """The agencies whose held envelopes are past their deadline here, most first."""
    rows = db.session.execute(
        select(Agency, func.count(Envelope.id))
        .join(Dossier, Dossier.agency_id == Agency.id)
        .join(Envelope, Envelope.dossier_id == Dossier.id)
        .where(
            Dossier.post_office_id == office_id,
            Envelope._state == State.held_at_office.value,
            Envelope.hold_deadline < today,
        )
        .group_by(Agency.id)
        .order_by(func.count(Envelope.id).desc(), Agency.name)
    ).all()
    return [DueBack(agency, due) for agency, due in rows]


def due_back_from(office_id: int, agency_id: int, today: date) -> int:
    """How many of this agency's held envelopes are past their deadline at this office."""
    return db.session.execute(
        select(func.count()).select_from(
            _past_deadline(office_id, today).where(Dossier.agency_id == agency_id).subquery()
        )
    ).scalar_one()


def start_return(
    office: PostOffice,
    agency: Agency,
    *,
    actor: User,
    now: datetime,
    today: date,
    officer_name: str | None,
) -> Handover:
    """Open a return to `agency` at `office`, noting how many envelopes are due back."""
    handover = Handover(
        kind=RETURN,
        post_office_id=office.id,
        agency_id=agency.id,
        started_by_id=actor.id,
        courier_name=officer_name or None,
        announced=due_back_from(office.id, agency.id, today),
        started_at=now,
    )
    db.session.add(handover)
    db.session.flush()
    return handover


def return_scan(
    handover: Handover,
    text: str,
    *,
    actor: User,
    now: datetime,
    today: date,
    qr_key: bytes,
    override_note: str | None = None,
    policy: DeliveryPolicy = DEFAULT_POLICY,
) -> Envelope:
    """Return the envelope a scan names in this open hand-over, or refuse it saying why."""
    if handover.finished_at is not None:
        raise Conflict(_("This hand-over is finished."), code="handover_finished")
    code = _code_from_scan(text, qr_key)
    envelope = db.session.execute(
        select(Envelope).join(Envelope.dossier).where(Envelope.code == code)
    ).scalar_one_or_none()
    if envelope is None:
        raise NotFound(_("No envelope has the code %(code)s.", code=code), code="not_found")
    dossier = envelope.dossier
    if dossier.post_office_id != handover.post_office_id:
        raise Conflict(
            _("Envelope %(code)s belongs to another post office.", code=code),
            code="other_office",
        )
    if dossier.agency_id != handover.agency_id:
        raise Conflict(
            _("Envelope %(code)s belongs to another agency.", code=code), code="other_agency"
        )
    state_fields = {"state": envelope.state.value, "state_label": _(STATE_LABELS[envelope.state])}
    if envelope.state is State.returned_to_agency:
        raise Conflict(
            _("Envelope %(code)s was returned already.", code=code),
            code="already_returned",
            fields=state_fields,
        )
    if envelope.state is not State.held_at_office:
        raise Conflict(
            _("Envelope %(code)s is not held at the office.", code=code),
            code="not_held",
            fields=state_fields,
        )
    _held_on, deadline, _reminder = hold_dates(envelope, policy)
    note = one_line(override_note, MAX_NOTE) if isinstance(override_note, str) else ""
    if today <= deadline and not note:
        raise Conflict(
            _(
                "Envelope %(code)s is held until %(deadline)s: a supervisor may return it "
                "earlier with a note.",
                code=code,
                deadline=format_date(deadline, "short"),
            ),
            code="hold_not_over",
            fields={"hold_deadline": deadline.isoformat()},
        )
    data = {"handover_id": handover.id, "hold_deadline": deadline.isoformat()}
    if today <= deadline:
        data["override_note"] = note
    apply_action(envelope, Action.return_to_agency, now=now, actor=actor, policy=policy, data=data)
    handover.items.append(HandoverItem(envelope=envelope, scanned_at=now))
    db.session.flush()
    return envelope
