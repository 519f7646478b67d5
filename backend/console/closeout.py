"""Closing a run at the end of the day (issue 11): the postman hands back what was not delivered
and the money collected.

What should come back is every envelope of the run not delivered: never attempted
(`out_for_delivery`) or failed (`attempt_failed`) — counted only where this run is the envelope's
latest (a failed envelope planned again since belongs to its new run). Each is scanned back in
through the lifecycle:

- never attempted: `unload`, back to `at_office`, in the planning pool;
- failed with home attempts left: it stays `attempt_failed` (in the pool already), its return
  an `envelope.back_at_office` event;
- failed with every home attempt made: `hold`, to `held_at_office` (its hold deadline follows
  from the hold, backend/domain/policy.hold_deadline).

The money expected is what the postman recorded as collected on the run's delivered attempts,
once per dossier (a dossier's fee is paid once, whichever of its envelopes carried it). Closing
writes the record (`run_closeout`), a `run.close` event, a `run.envelope_missing` event for each
envelope not scanned back, and closes the run; a closed run changes no more. Refusals change
nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import and_, exists, select
from sqlalchemy.orm import aliased

from backend.console.handovers import _code_from_scan as code_from_scan
from backend.console.planning import run_for_staff
from backend.domain.i18n import N_
from backend.domain.lifecycle import (
    BACK_FROM_RUN_STATES,
    STATE_LABELS,
    Action,
    State,
    back_from_run,
)
from backend.domain.policy import DEFAULT_POLICY, DeliveryPolicy
from backend.envelopes.services import apply_action, record_office_event
from backend.errors import Conflict, Invalid, NotFound
from backend.extensions import db
from backend.models import (
    DeliveryAttempt,
    DeliveryRun,
    Envelope,
    RunCloseout,
    RunReturn,
    RunState,
    RunStop,
    User,
)

# The states of an envelope that should come back to the office at the end of its run.
BACK_STATES = tuple(sorted(BACK_FROM_RUN_STATES))
BACK_EVENT = "envelope.back_at_office"
CLOSE_EVENT = "run.close"
MISSING_EVENT = "run.envelope_missing"
# What one run may hand over, at most (a form field no one types more into).
MAX_VND = 1_000_000_000
MAX_NOTE_CHARS = 1000


class ReturnOutcome:
    unloaded = "unloaded"
    back = "back"
    held = "held"


OUTCOME_LABELS = {
    ReturnOutcome.unloaded: N_("Back at the office, waiting for a run"),
    ReturnOutcome.back: N_("Failed attempt, back at the office"),
    ReturnOutcome.held: N_("Every home attempt made: held at the office"),
}


def run_for_closeout(run_id: int, office_id: int | None) -> DeliveryRun:
    """A run of the user's office (any, for an administrator); NotFound otherwise."""
    return run_for_staff(run_id, office_id)


def _latest_stop_on(run_id: int):
    """The condition: a stop of this run that is its envelope's latest stop anywhere."""
    later = aliased(RunStop)
    return and_(
        RunStop.run_id == run_id,
        ~exists().where(later.envelope_id == RunStop.envelope_id, later.id > RunStop.id),
    )


def outstanding(run: DeliveryRun) -> list[Envelope]:
    """The run's envelopes that should come back and have not been scanned back, in run order."""
    returned = exists().where(RunReturn.run_id == run.id, RunReturn.envelope_id == Envelope.id)
    return list(
        db.session.scalars(
            select(Envelope)
            .join(RunStop, RunStop.envelope_id == Envelope.id)
            .where(
                _latest_stop_on(run.id),
                Envelope._state.in_([s.value for s in BACK_STATES]),
                ~returned,
            )
            .order_by(RunStop.position)
        )
    )


def returns(run: DeliveryRun) -> list[RunReturn]:
    """The envelopes scanned back from this run, in the order they were scanned."""
    return list(
        db.session.scalars(
            select(RunReturn).where(RunReturn.run_id == run.id).order_by(RunReturn.id)
        )
    )


def expected_vnd(run: DeliveryRun) -> int:
    """The fees the postman recorded as collected on the run's delivered attempts, counting each
    dossier once (the largest amount recorded on one of its envelopes): a dossier's fee is paid
    once, and an app that writes it on each of the dossier's envelopes would count it twice."""
    rows = db.session.execute(
        select(Envelope.dossier_id, DeliveryAttempt.fees_collected_vnd)
        .join(Envelope, DeliveryAttempt.envelope_id == Envelope.id)
        .where(DeliveryAttempt.run_id == run.id, DeliveryAttempt.outcome == "delivered")
    )
    by_dossier: dict[int, int] = {}
    for dossier_id, fees in rows:
        by_dossier[dossier_id] = max(by_dossier.get(dossier_id, 0), fees or 0)
    return sum(by_dossier.values())


@dataclass(frozen=True)
class PhoneReport:
    """What the postman's phone last said of its outbox (X-Trao-Outbox)."""

    waiting: int
    reported_at: datetime | None


def phone_waiting(run: DeliveryRun) -> PhoneReport | None:
    """The attempts the run's phone reported still waiting to be sent, if any."""
    postman: User = run.postman
    if not postman.outbox_waiting:
        return None
    return PhoneReport(postman.outbox_waiting, postman.outbox_reported_at)


def _check_open(run: DeliveryRun) -> None:
    if run.state == RunState.closed.value:
        raise Conflict(_("This run is closed: nothing more can change on it."), code="run_closed")


def scan_back(
    run: DeliveryRun,
    text: str,
    *,
    actor: User,
    now: datetime,
    qr_key: bytes,
    policy: DeliveryPolicy = DEFAULT_POLICY,
    timezone: str = "Asia/Ho_Chi_Minh",
) -> RunReturn:
    """Take back the envelope a scan names (its label's QR or its printed code) from this run,
    or refuse it saying why; a refusal changes nothing."""
    _check_open(run)
    code = code_from_scan(text, qr_key)
    envelope = db.session.execute(
        select(Envelope).where(Envelope.code == code)
    ).scalar_one_or_none()
    stop = None
    if envelope is not None:
        stop = db.session.scalars(
            select(RunStop).where(RunStop.run_id == run.id, RunStop.envelope_id == envelope.id)
        ).first()
    if envelope is None or stop is None:
        raise NotFound(_("Envelope %(code)s is not on this run.", code=code), code="not_on_run")
    if db.session.scalars(
        select(RunReturn.id).where(RunReturn.run_id == run.id, RunReturn.envelope_id == envelope.id)
    ).first():
        raise Conflict(
            _("Envelope %(code)s was scanned back already.", code=code), code="already_back"
        )
    state = envelope.state
    if state is State.delivered:
        raise Conflict(
            _(
                "Envelope %(code)s was recorded as delivered: it should not be here. "
                "Keep it aside and check with the postman.",
                code=code,
            ),
            code="delivered",
        )
    latest = db.session.scalars(
        select(RunStop.id).where(_latest_stop_on(run.id), RunStop.envelope_id == envelope.id)
    ).first()
    if state not in BACK_STATES or latest is None:
        raise Conflict(
            _(
                "Envelope %(code)s is not waiting to come back from this run (%(state)s).",
                code=code,
                state=_(STATE_LABELS[state]),
            ),
            code="not_expected",
            fields={"state": state.value},
        )
    data = {"run_id": run.id}
    action = back_from_run(state, attempts_made=envelope.attempts_made, policy=policy)
    if action is None:
        record_office_event(BACK_EVENT, now=now, actor=actor, envelope=envelope, data=data)
        outcome = ReturnOutcome.back
    else:
        if action is Action.hold:
            data["attempts_made"] = envelope.attempts_made
        apply_action(
            envelope, action, now=now, actor=actor, policy=policy, timezone=timezone, data=data
        )
        outcome = ReturnOutcome.unloaded if action is Action.unload else ReturnOutcome.held
    item = RunReturn(
        run_id=run.id,
        envelope=envelope,
        outcome=outcome,
        scanned_by_id=actor.id,
        scanned_at=now,
    )
    db.session.add(item)
    db.session.flush()
    return item


def parse_vnd(value) -> int:
    """An amount of đồng typed by the supervisor ("150000", "150.000", "150 000"), or Invalid."""
    text = str(value if value is not None else "").strip()
    digits = text.replace(".", "").replace(",", "").replace(" ", "").replace("\u00a0", "")
    if not digits or len(digits) > 10 or not digits.isascii() or not digits.isdigit():
        raise Invalid(_("Type the amount handed over, in đồng (0 if nothing)."), code="bad_amount")
    amount = int(digits)
    if amount > MAX_VND:
        raise Invalid(_("This amount is too large."), code="bad_amount")
    return amount


def close_run(
    run: DeliveryRun,
    *,
    received_vnd: int,
    note: str | None,
    confirm_waiting: bool,
    actor: User,
    now: datetime,
) -> RunCloseout:
    """Close the run: its record, its events; refused (409) over attempts the phone said were
    waiting unless confirmed, and without a note when the money differs."""
    _check_open(run)
    expected = expected_vnd(run)
    note = (note or "").strip() or None
    if received_vnd != expected and note is None:
        raise Invalid(
            _("The money differs from what was collected: say why in the note."),
            code="note_required",
            fields={"expected_vnd": expected, "received_vnd": received_vnd},
        )
    report = phone_waiting(run)
    if report is not None and not confirm_waiting:
        raise Conflict(
            _(
                "The phone reported %(count)d attempt(s) waiting to be sent: "
                "confirm to close the run anyway.",
                count=report.waiting,
            ),
            code="phone_waiting",
            fields={
                "waiting": report.waiting,
                "reported_at": report.reported_at.isoformat() if report.reported_at else None,
            },
        )
    missing = outstanding(run)
    scanned = len(returns(run))
    record = RunCloseout(
        run_id=run.id,
        expected_vnd=expected,
        received_vnd=received_vnd,
        expected_back=scanned + len(missing),
        scanned_back=scanned,
        missing_envelope_ids=[envelope.id for envelope in missing],
        note=note,
        phone_waiting=report.waiting if report else None,
        closed_by_id=actor.id,
        closed_at=now,
    )
    db.session.add(record)
    run.state = RunState.closed.value
    run.closed_at = now
    db.session.flush()
    record_office_event(
        CLOSE_EVENT,
        now=now,
        actor=actor,
        data={
            "run_id": run.id,
            "closeout_id": record.id,
            "expected_vnd": expected,
            "received_vnd": received_vnd,
            "difference_vnd": received_vnd - expected,
            "expected_back": record.expected_back,
            "scanned_back": scanned,
            "missing_envelope_ids": record.missing_envelope_ids,
            "phone_waiting": record.phone_waiting,
        },
    )
    for envelope in missing:
        record_office_event(
            MISSING_EVENT, now=now, actor=actor, envelope=envelope, data={"run_id": run.id}
        )
    return record


def closeout_of(run: DeliveryRun) -> RunCloseout | None:
    """The run's close-out record, once it is closed."""
    return db.session.scalars(select(RunCloseout).where(RunCloseout.run_id == run.id)).first()


def missing_envelopes(record: RunCloseout) -> list[Envelope]:
    """The envelopes the record lists as not handed back."""
    ids = [i for i in record.missing_envelope_ids if isinstance(i, int)]
    if not ids:
        return []
    found = {e.id: e for e in db.session.scalars(select(Envelope).where(Envelope.id.in_(ids)))}
    return [found[i] for i in ids if i in found]
