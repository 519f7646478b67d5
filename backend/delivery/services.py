"""The postman's run as read: today's runs, their progress, each envelope's last attempt.

Receiving an attempt is backend.delivery.receiving."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from backend.domain.lifecycle import State
from backend.extensions import db
from backend.models import (
    DeliveryAttempt,
    DeliveryRun,
    Envelope,
    RunState,
    RunStop,
    User,
)

DONE_STATES = {State.delivered}
# The outcomes that hand an envelope over and collect its dossier's fees: at the door, and at
# the office's counter (backend/console/counter.py). A dossier pays once, by either.
PAYING_OUTCOMES = ("delivered", "collected")
FAILED_STATES = {State.attempt_failed, State.held_at_office}


@dataclass(frozen=True)
class RunProgress:
    """How far a run has got: delivered, failed and left to do."""

    total: int
    delivered: int
    failed: int

    @property
    def left(self) -> int:
        return self.total - self.delivered - self.failed


def run_progress(run: DeliveryRun) -> RunProgress:
    """Count the stops by outcome so far."""
    states = [stop.envelope.state for stop in run.stops]
    return RunProgress(
        total=len(states),
        delivered=sum(s in DONE_STATES for s in states),
        failed=sum(s in FAILED_STATES for s in states),
    )


def open_runs_today(postman: User, day: date) -> list[DeliveryRun]:
    """The postman's runs of the day that are not closed, loaded for the API in one go."""
    stmt = (
        select(DeliveryRun)
        .where(
            DeliveryRun.postman_id == postman.id,
            DeliveryRun.run_date == day,
            DeliveryRun.state != RunState.closed.value,
        )
        .options(
            selectinload(DeliveryRun.stops)
            .selectinload(RunStop.envelope)
            .selectinload(Envelope.dossier)
        )
        .order_by(DeliveryRun.id)
    )
    return list(db.session.execute(stmt).scalars())


def last_attempts(envelope_ids: Iterable[int]) -> dict[int, DeliveryAttempt]:
    """The latest attempt of each envelope, in one query."""
    ids = list(envelope_ids)
    if not ids:
        return {}
    stmt = (
        select(DeliveryAttempt)
        .where(DeliveryAttempt.envelope_id.in_(ids))
        .order_by(DeliveryAttempt.envelope_id, DeliveryAttempt.attempt_number)
    )
    return {a.envelope_id: a for a in db.session.execute(stmt).scalars()}


def dossiers_paid(dossier_ids: Iterable[int]) -> set[int]:
    """Of these dossiers, those whose fees were collected (delivered or collected at the counter,
    on any envelope, any run), in one query: the phone shows and collects a dossier's fees once."""
    ids = list(set(dossier_ids))
    if not ids:
        return set()
    stmt = (
        select(Envelope.dossier_id)
        .join(DeliveryAttempt, DeliveryAttempt.envelope_id == Envelope.id)
        .where(
            Envelope.dossier_id.in_(ids),
            DeliveryAttempt.outcome.in_(PAYING_OUTCOMES),
            DeliveryAttempt.fees_collected_vnd > 0,
        )
        .distinct()
    )
    return set(db.session.execute(stmt).scalars())
