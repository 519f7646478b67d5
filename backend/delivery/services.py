"""Use cases of the postman: today's runs, and recording an attempt at the door."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from backend.domain.lifecycle import Action, State
from backend.domain.policy import DEFAULT_POLICY, DeliveryPolicy
from backend.envelopes.services import apply_action
from backend.extensions import db
from backend.models import DeliveryAttempt, DeliveryRun, Envelope, RunState, RunStop, User

DONE_STATES = {State.delivered}
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


def runs_for_day(postman: User, day: date) -> list[DeliveryRun]:
    """The postman's runs of a day, with stops, envelopes and dossiers loaded in one go."""
    stmt = (
        select(DeliveryRun)
        .where(DeliveryRun.postman_id == postman.id, DeliveryRun.run_date == day)
        .options(
            selectinload(DeliveryRun.stops)
            .selectinload(RunStop.envelope)
            .selectinload(Envelope.dossier)
        )
        .order_by(DeliveryRun.id)
    )
    return list(db.session.execute(stmt).scalars())


def run_progress(run: DeliveryRun) -> RunProgress:
    """Count the stops by outcome so far."""
    states = [stop.envelope.state for stop in run.stops]
    return RunProgress(
        total=len(states),
        delivered=sum(s in DONE_STATES for s in states),
        failed=sum(s in FAILED_STATES for s in states),
    )


def record_attempt(
    *,
    attempt_id: str,
    stop: RunStop,
    postman: User,
    outcome: str,
    now: datetime,
    device_time: datetime,
    meta_digest: str,
    policy: DeliveryPolicy = DEFAULT_POLICY,
    timezone: str = "Asia/Ho_Chi_Minh",
    details: dict[str, Any] | None = None,
) -> DeliveryAttempt:
    """Write one attempt's record and move its envelope through the lifecycle (one transaction)."""
    envelope = stop.envelope
    action = Action.deliver if outcome == "delivered" else Action.fail
    attempt = DeliveryAttempt(
        id=attempt_id,
        envelope=envelope,
        run_id=stop.run_id,
        stop_id=stop.id,
        postman_id=postman.id,
        attempt_number=envelope.attempts_made + 1,
        outcome=outcome,
        device_time=device_time,
        received_at=now,
        meta_digest=meta_digest,
        **(details or {}),
    )
    db.session.add(attempt)
    run = stop.run
    if run.state == RunState.planned.value:
        run.state = RunState.in_progress.value
        run.started_at = now
    apply_action(
        envelope,
        action,
        now=now,
        actor=postman,
        policy=policy,
        timezone=timezone,
        data={"attempt_id": attempt_id, "reason": attempt.reason_code},
    )
    return attempt
