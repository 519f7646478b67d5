"""Use cases of the supervisor: receiving envelopes from agencies and planning runs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from backend.delivery.proof_files import DERIVATIVE_KINDS, display_copy
from backend.delivery.services import DONE_STATES, FAILED_STATES, RunProgress
from backend.domain.envelope_qr import sign_envelope_qr
from backend.domain.lifecycle import FINAL_STATES, Action, State
from backend.domain.policy import DEFAULT_POLICY, DeliveryPolicy
from backend.envelopes.services import apply_action
from backend.errors import Invalid, NotFound
from backend.extensions import db
from backend.labels import LabelData
from backend.models import (
    DeliveryAttempt,
    DeliveryRun,
    Dossier,
    Envelope,
    PostOffice,
    ProofFile,
    Role,
    RunStop,
    User,
)
from backend.storage import Staging, Storage


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


def office_runs(office_id: int | None, day: date) -> list[tuple[DeliveryRun, RunProgress]]:
    """The runs of a day at one office (or all offices), each with its progress.

    The progress is counted in the database (stops by their envelope's state), not from every
    stop and envelope loaded: an administrator's day is every office's runs, thousands of stops
    (bench/console_scale.py)."""
    runs = day_runs(office_id, day)
    counts: dict[int, dict[str, int]] = {run.id: {} for run in runs}
    if runs:
        rows = db.session.execute(
            select(RunStop.run_id, Envelope._state, func.count())
            .join(Envelope, RunStop.envelope_id == Envelope.id)
            .where(RunStop.run_id.in_(list(counts)))
            .group_by(RunStop.run_id, Envelope._state)
        )
        for run_id, state, n in rows:
            counts[run_id][state] = n
    return [(run, progress_by_state(counts[run.id])) for run in runs]


def day_runs(office_id: int | None, day: date) -> list[DeliveryRun]:
    """The runs of a day at one office (or all offices), with their postmen, by postman."""
    stmt = (
        select(DeliveryRun)
        .where(DeliveryRun.run_date == day)
        .options(selectinload(DeliveryRun.postman))
        .order_by(DeliveryRun.postman_id, DeliveryRun.id)
    )
    if office_id is not None:
        stmt = stmt.where(DeliveryRun.post_office_id == office_id)
    return list(db.session.execute(stmt).scalars())


def progress_by_state(by_state: Mapping[str, int]) -> RunProgress:
    """A run's progress from its stops counted by state, as run_progress counts them."""
    return RunProgress(
        total=sum(by_state.values()),
        delivered=sum(by_state.get(state.value, 0) for state in DONE_STATES),
        failed=sum(by_state.get(state.value, 0) for state in FAILED_STATES),
    )


# The states where work is still to do: the day's page counts these. An envelope's story ends
# in the others, and a province's year of them (a million) is for search and reports.
OPEN_STATES = tuple(state for state in State if state not in FINAL_STATES)


def envelope_counts(office_id: int | None) -> dict[str, int]:
    """How many envelopes are in each open state at an office (or everywhere).

    Counted through the state index: only the open envelopes are read, however long the
    history (bench/console_scale.py: a full count took 0.5 s at a million envelopes)."""
    stmt = (
        select(Envelope._state, func.count())
        .where(Envelope._state.in_([state.value for state in OPEN_STATES]))
        .group_by(Envelope._state)
    )
    if office_id is not None:  # every office's: no dossier to read
        stmt = stmt.join(Envelope.dossier).where(Dossier.post_office_id == office_id)
    counts = {state.value: 0 for state in OPEN_STATES}
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
        # By creation, not id: ordered by id PostgreSQL walks the primary key from the oldest
        # envelope, through a year of delivered ones (a million, bench/console_scale.py),
        # where the state index holds the few waiting ones to sort.
        .order_by(Envelope.created_at, Envelope.id)
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


def proof_file_for_staff(sha256: str, office_id: int | None) -> ProofFile:
    """A proof file of an attempt on an envelope of the office (any office for None); else 404.

    Content addressing means one file may stand in several attempts: any of them will do.
    """
    stmt = (
        select(ProofFile)
        .join(ProofFile.attempt)
        .join(Envelope, DeliveryAttempt.envelope_id == Envelope.id)
        .join(Dossier, Envelope.dossier_id == Dossier.id)
        .where(ProofFile.sha256 == sha256)
        .order_by(ProofFile.id)
        .limit(1)
    )
    if office_id is not None:
        stmt = stmt.where(Dossier.post_office_id == office_id)
    row = db.session.execute(stmt).scalar_one_or_none()
    if row is None:
        raise NotFound(_("No such proof file."), code="no_such_proof_file")
    return row


def display_copy_of(row: ProofFile, *, storage: Storage, staging: Staging, settings) -> str:
    """The SHA-256 of the file's display copy, made from the original the first time it is asked.

    Most proofs are never opened, so the copy is not made when the attempt is received. Once
    made it is staged (published after the request commits) and named on every row of the file.
    """
    if row.kind not in DERIVATIVE_KINDS:
        raise NotFound(_("A signature has no display copy."), code="no_display_copy")
    if row.derivative_sha256 and storage.exists(row.derivative_sha256):
        return row.derivative_sha256
    original = stored_bytes(storage, row.sha256)
    digest = staging.put(display_copy(original, settings.display_max_side, settings.photo_quality))
    db.session.execute(
        update(ProofFile).where(ProofFile.sha256 == row.sha256).values(derivative_sha256=digest)
    )
    return digest


def stored_bytes(storage: Storage, sha256: str) -> bytes:
    """A stored file's bytes; 404 (and an error in the log) if the store lacks a named file."""
    try:
        with storage.open(sha256) as f:
            return f.read()
    except FileNotFoundError:
        # A record names a file the store lacks: `flask proof-files orphans` says why.
        current_app.logger.error("proof file missing from the store sha256=%s", sha256)
        raise NotFound(
            _("This file is missing from the store."), code="proof_file_missing"
        ) from None
