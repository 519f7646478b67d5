"""Use cases of the supervisor: receiving envelopes from agencies and planning runs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from backend.domain.envelope_qr import sign_envelope_qr
from backend.domain.lifecycle import Action, State
from backend.domain.policy import DEFAULT_POLICY, DeliveryPolicy
from backend.envelopes.services import apply_action
from backend.errors import Invalid, NotFound
from backend.extensions import db
from backend.labels import LabelData
from backend.models import DeliveryRun, Dossier, Envelope, PostOffice, Role, RunStop, User


def office_scope(user: User) -> int | None:
    """The post office a staff user may see; None means every office (administrators)."""
    return None if user.has_role(Role.admin) else user.post_office_id


def receive_envelopes(
    envelopes: Iterable[Envelope],
    *,
    actor: User,
    now: datetime,
    policy: DeliveryPolicy = DEFAULT_POLICY,
) -> None:
    """Record the hand-over from the agency: each envelope scanned in at the office."""
    for envelope in envelopes:
        apply_action(envelope, Action.receive, now=now, actor=actor, policy=policy)


def plan_run(
    *,
    office: PostOffice,
    postman: User,
    run_date: date,
    envelopes: Sequence[Envelope],
    actor: User,
    now: datetime,
    policy: DeliveryPolicy = DEFAULT_POLICY,
) -> DeliveryRun:
    """Create a run with the envelopes in the given order, each loaded out for delivery."""
    if not postman.has_role(Role.postman) or postman.post_office_id != office.id:
        raise Invalid(_("This postman does not work at this post office."), code="not_a_postman")
    run = DeliveryRun(post_office=office, postman=postman, run_date=run_date, created_at=now)
    db.session.add(run)
    for position, envelope in enumerate(envelopes, start=1):
        run.stops.append(RunStop(envelope=envelope, position=position))
        apply_action(
            envelope,
            Action.load,
            now=now,
            actor=actor,
            policy=policy,
            data={"postman_id": postman.id},
        )
    db.session.flush()
    return run


def office_runs(office_id: int | None, day: date) -> list[DeliveryRun]:
    """The runs of a day at one office (or all offices), with what their progress needs."""
    stmt = (
        select(DeliveryRun)
        .where(DeliveryRun.run_date == day)
        .options(
            selectinload(DeliveryRun.postman),
            selectinload(DeliveryRun.stops).selectinload(RunStop.envelope),
        )
        .order_by(DeliveryRun.postman_id, DeliveryRun.id)
    )
    if office_id is not None:
        stmt = stmt.where(DeliveryRun.post_office_id == office_id)
    return list(db.session.execute(stmt).scalars())


def envelope_counts(office_id: int | None) -> dict[str, int]:
    """How many envelopes are in each state at an office (or everywhere)."""
    stmt = select(Envelope._state, func.count()).join(Envelope.dossier).group_by(Envelope._state)
    if office_id is not None:
        stmt = stmt.where(Dossier.post_office_id == office_id)
    counts = {state.value: 0 for state in State}
    counts.update({state: n for state, n in db.session.execute(stmt)})
    return counts


def envelopes_for_labels(codes: Sequence[str], office_id: int | None) -> list[Envelope]:
    """The envelopes to label, in the order asked; every code must exist and be the user's."""
    stmt = (
        select(Envelope)
        .join(Envelope.dossier)
        .where(Envelope.code.in_(codes))
        .options(selectinload(Envelope.dossier))
    )
    if office_id is not None:
        stmt = stmt.where(Dossier.post_office_id == office_id)
    found = {e.code: e for e in db.session.execute(stmt).scalars()}
    missing = [c for c in codes if c not in found]
    if missing:
        raise NotFound(_("No such envelope: %(codes)s", codes=", ".join(missing[:5])))
    return [found[c] for c in codes]


def envelopes_in_state(
    office_id: int | None, states: Iterable[State], limit: int = 500
) -> list[Envelope]:
    """Envelopes of an office in some states, oldest first."""
    stmt = (
        select(Envelope)
        .join(Envelope.dossier)
        .where(Envelope._state.in_([s.value for s in states]))
        .options(selectinload(Envelope.dossier))
        .order_by(Envelope.id)
        .limit(limit)
    )
    if office_id is not None:
        stmt = stmt.where(Dossier.post_office_id == office_id)
    return list(db.session.execute(stmt).scalars())


def label_data(envelope: Envelope, qr_key: bytes) -> LabelData:
    """What an envelope's label shows, with its signed QR payload."""
    dossier = envelope.dossier
    return LabelData(
        code=envelope.code,
        qr_payload=sign_envelope_qr(envelope.code, qr_key),
        recipient_name=dossier.recipient_name,
        commune=dossier.commune_name,
        procedure=dossier.procedure_name,
        office=dossier.post_office.name if dossier.post_office else None,
    )
