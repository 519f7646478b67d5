"""Receiving an attempt from the phone: every proof rule checked, its files staged, its record
written and the envelope moved through the lifecycle, in the request's one transaction."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import Integer, String, bindparam, func, insert, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import aliased, joinedload, selectinload
from sqlalchemy.orm.exc import StaleDataError

from backend.delivery.proof_files import ProofSettings, Upload, check_files, check_image
from backend.delivery.services import PAYING_OUTCOMES
from backend.domain.envelope_qr import verify_envelope_qr
from backend.domain.identity import IdentityOutcome, check_holder, needs_confirmation
from backend.domain.idnum import document_last4, hash_document_number
from backend.domain.lifecycle import Action, State
from backend.domain.policy import DEFAULT_POLICY, DeliveryPolicy, IdCheckMethod, Relation
from backend.domain.proof import ProofGap, proof_gaps
from backend.domain.review import ReviewFlag, assess_fix, beyond_geofence, clock_gap
from backend.domain.routing import haversine_m
from backend.envelopes.services import (
    UPDATE_STATE,
    StateChange,
    apply_action,
    can_write_in_one_statement,
    event_written,
    plan_action,
    write_change,
)
from backend.errors import Conflict, Invalid, NotFound
from backend.extensions import db
from backend.models import (
    Agency,
    DeliveryAttempt,
    DeliveryRun,
    Dossier,
    Envelope,
    Event,
    PostOffice,
    ProofFile,
    RunState,
    RunStop,
    User,
)
from backend.storage import Staging, Storage, sha256_hex

ATTEMPT_EVENT_KINDS = ("envelope.deliver", "envelope.fail")
DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"


@dataclass(frozen=True)
class AttemptReceipt:
    """The server's answer for an attempt; the same on first receipt and on replay."""

    attempt_id: str
    envelope_code: str
    envelope_state: str
    attempt_number: int
    outcome: str
    received_at: datetime
    distance_m: float | None
    distance_flagged: bool
    files: list[dict[str, str]]
    replay: bool = False


META_DIGEST_CONTEXT = b"trao-attempt-meta:"


def meta_digest(text: str, key: bytes) -> str:
    """A keyed digest of the meta's text exactly as the phone sent it.

    The phone sends the same text every time it sends an attempt again, so the text itself is
    what a replay is compared by: nothing to parse, sort or re-serialise. Keyed (HMAC), because
    the text holds an ID number that a plain hash of a known record would give away.
    """
    return hmac.new(key, META_DIGEST_CONTEXT + text.encode(), hashlib.sha256).hexdigest()


def legacy_meta_digest(meta: Mapping[str, Any], id_key: bytes) -> str:
    """The digest attempts were stored with before meta_digest: SHA-256 of the canonical JSON
    (sorted keys) with the ID number replaced by its keyed hash. Kept to recognise their replays.
    """
    canonical = json.loads(json.dumps(meta))
    recipient = canonical.get("recipient")
    if isinstance(recipient, dict) and recipient.get("id_number"):
        doc_type = recipient.get("id_document_type") or "cccd"
        recipient["id_number"] = hash_document_number(doc_type, recipient["id_number"], id_key)
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


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
    timezone: str = DEFAULT_TIMEZONE,
    details: dict[str, Any] | None = None,
    proof: dict[str, Any] | None = None,
    files: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """Write one attempt's record and move its envelope through the lifecycle (one transaction).

    `details` are the record's columns (scan, recipient, position...); `proof` is the summary
    written into the envelope's event for the dossier's history and the agency's webhook;
    `files` the rows of the attempt's proof files. The record is inserted as it is (an
    immutable row, nothing to track): its columns are returned.
    """
    envelope = stop.envelope
    action = Action.deliver if outcome == "delivered" else Action.fail
    attempt = {
        "reason_code": None,
        "distance_m": None,
        "distance_flagged": False,
        **(details or {}),
        "id": attempt_id,
        "envelope_id": envelope.id,
        "run_id": stop.run_id,
        "stop_id": stop.id,
        "postman_id": postman.id,
        "attempt_number": envelope.attempts_made + 1,
        "outcome": outcome,
        "device_time": device_time,
        "received_at": now,
        "meta_digest": meta_digest,
    }
    for name, default in _ATTEMPT_DEFAULTS.items():  # one statement for every row: all columns
        if name not in attempt:
            attempt[name] = default.arg if default.is_scalar else default.arg(None)
    change = plan_action(
        envelope,
        action,
        now=now,
        actor=postman,
        policy=policy,
        timezone=timezone,
        data={
            "attempt_id": attempt_id,
            "outcome": outcome,
            "reason": attempt["reason_code"],
            "attempt_number": attempt["attempt_number"],
            **(proof or {}),
        },
    )
    run = stop.run
    if run.state == RunState.planned.value:
        run.state = RunState.in_progress.value  # written with the commit (once per run)
        run.started_at = now
    connection = db.session.connection()
    if connection.dialect.name == "postgresql" and can_write_in_one_statement(change):
        _write_at_once(connection, attempt, files, change)
    else:
        connection.execute(_INSERT_ATTEMPT, attempt)
        if files:
            connection.execute(_INSERT_FILES, list(files))
        write_change(change)
    return attempt


def _write_at_once(connection, attempt: dict, files: Sequence[dict], change: StateChange) -> None:
    """The attempt, its files, the envelope's state and its event in one statement (PostgreSQL's
    data-modifying WITH): one round trip and one statement's overhead where there were four,
    which was a fifth of the CPU an attempt costs. Foreign keys are checked at the statement's
    end, so the files may point at the attempt inserted beside them. The state is guarded by
    the envelope's version as UPDATE_STATE always is: no row updated is a lost race."""
    params = {f"a_{name}": value for name, value in attempt.items()}
    # The files as one array per column (unnested in the statement): one shape for any count.
    params["f_attempt_id"] = attempt["id"]
    params.update({f"f_{name}": [row[name] for row in files] for name in _FILE_ARRAYS})
    params.update(change.update_params())
    params.update({f"e_{name}": value for name, value in change.event.items()})
    statement = _statement_at_once(tuple(attempt), tuple(change.event))
    updated, event_id = connection.execute(statement, params).one()
    if updated != 1:
        raise StaleDataError(f"envelope {change.envelope.id} was changed by another transaction")
    change.written()
    event_written(event_id, change.event, change.envelope.dossier, change.envelope)


_ATTEMPT_DEFAULTS = {c.key: c.default for c in DeliveryAttempt.__table__.c if c.default is not None}
_FILE_ARRAYS = {
    "kind": ARRAY(String),
    "sha256": ARRAY(String),
    "content_type": ARRAY(String),
    "size_bytes": ARRAY(Integer),
    "width": ARRAY(Integer),
    "height": ARRAY(Integer),
}
_AT_ONCE: dict[tuple, Any] = {}


def _statement_at_once(attempt_columns: tuple, event_columns: tuple):
    """The statement of _write_at_once for these columns, built once (and so compiled once:
    SQLAlchemy caches the compiled form of a statement it can key, which a multi-row VALUES is
    not)."""
    key = (attempt_columns, event_columns)
    statement = _AT_ONCE.get(key)
    if statement is not None:
        return statement
    attempts, proof_files, events = (
        DeliveryAttempt.__table__,
        ProofFile.__table__,
        Event.__table__,
    )
    new_attempt = (
        insert(attempts)
        .values({name: bindparam(f"a_{name}") for name in attempt_columns})
        .cte("new_attempt")
    )
    new_files = (
        insert(proof_files)
        .from_select(
            ["attempt_id", *_FILE_ARRAYS],
            select(
                bindparam("f_attempt_id", type_=String),
                *(func.unnest(bindparam(f"f_{name}", type_=t)) for name, t in _FILE_ARRAYS.items()),
            ),
        )
        .cte("new_files")
    )
    state = UPDATE_STATE.returning(UPDATE_STATE.table.c.id).cte("new_state")
    event = (
        insert(events)
        .values({name: bindparam(f"e_{name}") for name in event_columns})
        .returning(events.c.id)
        .cte("new_event")
    )
    statement = select(
        select(func.count()).select_from(state).scalar_subquery(),
        select(event.c.id).scalar_subquery(),
    ).add_cte(new_attempt, new_files)
    _AT_ONCE[key] = statement
    return statement


def find_replay(
    attempt_id: str,
    *,
    postman: User,
    digest: str,
    legacy_digest: Callable[[], str] | None = None,
    uploads: Sequence[Upload] = (),
    storage: Storage | None = None,
) -> AttemptReceipt | None:
    """The stored receipt when this attempt was already received; a conflict if it differs.

    `legacy_digest` gives the meta's digest the old way, for attempts stored before the
    current one. A replay carries the files again: any of the attempt's files missing from the
    store (a crash between the commit and the publish) is put back from them.
    """
    # Nearly every attempt is new: two columns answer that, without loading an entity.
    stored = db.session.connection().execute(_STORED_ATTEMPT, {"attempt_id": attempt_id}).first()
    if stored is None:
        return None
    same = stored.meta_digest == digest or (
        legacy_digest is not None and stored.meta_digest == legacy_digest()
    )
    if stored.postman_id != postman.id or not same:
        raise Conflict(
            _("An attempt with this id was already received with other content."),
            code="attempt_conflict",
        )
    attempt = db.session.get(
        DeliveryAttempt,
        attempt_id,
        options=[selectinload(DeliveryAttempt.files), joinedload(DeliveryAttempt.envelope)],
    )
    if storage is not None:
        _restore_missing_files(attempt, uploads, storage)
    files = [
        {"kind": row.kind, "sha256": row.sha256}
        for row in sorted(attempt.files, key=lambda row: row.id)
    ]
    columns = {name: getattr(attempt, name) for name in _RECEIPT_COLUMNS}
    return _receipt(columns, attempt.envelope.code, _state_after(attempt), files, replay=True)


def _restore_missing_files(
    attempt: DeliveryAttempt, uploads: Sequence[Upload], storage: Storage
) -> None:
    missing = {f.sha256 for f in attempt.files if not storage.exists(f.sha256)}
    for upload in uploads:
        if missing and sha256_hex(upload.data) in missing:
            missing.discard(storage.put(upload.data))


def receive_attempt(
    *,
    meta: Mapping[str, Any],
    stop: RunStop,
    digest: str,
    uploads: Sequence[Upload],
    postman: User,
    now: datetime,
    settings: ProofSettings,
    staging: Staging,
    policy: DeliveryPolicy = DEFAULT_POLICY,
    sent_at: datetime | None = None,  # the phone's clock as it sent (None: not checked)
) -> AttemptReceipt:
    """Check an attempt from the phone against every proof rule, stage its files and record it.

    `stop` is find_stop's, for an attempt not received before (the view answers replays with
    find_replay). Flushes only: the request commits (or rolls back) once, then publishes (or
    discards) the staged files.
    """
    attempt_id = str(meta["attempt_id"])
    if stop.envelope.code != meta["envelope_code"]:
        raise not_on_your_run()
    run, envelope = stop.run, stop.envelope
    dossier = envelope.dossier
    timezone = run.post_office.timezone if run.post_office else DEFAULT_TIMEZONE
    after_close = run.state == RunState.closed.value
    if after_close:
        _check_still_out(stop)
    again_on_run = _again_on_run(envelope, meta["attempt_number"])
    hashes = check_files(meta["files"], uploads, settings)
    scan = _check_scan(meta["scan"], meta["envelope_code"], settings.qr_key)
    kinds = [ref["field"] for ref in meta["files"]]
    flags: list[ReviewFlag] = []
    if meta["outcome"] == "delivered":
        fees_due = _fees_due(meta, dossier, stop)
        recipient = _check_delivery(meta, kinds, dossier, policy, settings.id_key, flags, fees_due)
    else:
        recipient = {}
        _refuse_proof_gaps(meta, kinds, dossier, None, 0)
    device_time = _check_device_time(meta["device_time"], run, timezone, now, settings)
    if clock_gap(sent_at, now, settings.clock_gap, settings.send_latency):
        flags.append(ReviewFlag.clock_gap)
    if after_close:
        flags.append(ReviewFlag.after_close)
    where = _position(meta["position"], dossier, policy, flags)

    # Each file proven to be the image it claims (no full decode), then staged as it came.
    # Its display copy is made the first time someone opens the proof (most never are).
    rows = []
    for upload, sha in zip(uploads, hashes, strict=True):
        facts = check_image(upload, settings.bounds(upload.field))
        staging.put(upload.data, sha)
        rows.append(
            {
                "attempt_id": attempt_id,
                "kind": upload.field,
                "sha256": sha,
                "content_type": facts.content_type,
                "size_bytes": len(upload.data),
                "width": facts.width,
                "height": facts.height,
            }
        )

    details = {
        "reason_code": meta["reason_code"] if meta["outcome"] == "failed" else None,
        "note": (meta["note"] or "").strip() or None,
        **scan,
        **recipient,
        **where,
        "fees_collected_vnd": meta["fees_collected_vnd"],
        "signature_strokes": meta["signature_strokes"],
        "review_flags": [flag.value for flag in flags],
        "needs_review": bool(flags),
    }
    files = [{"kind": ref["field"], "sha256": ref["sha256"]} for ref in meta["files"]]
    proof = {
        "relation": recipient.get("relation"),
        "id_check_method": recipient.get("id_check_method"),
        "name_match": recipient.get("name_match"),
        "number_match": recipient.get("number_match"),
        "distance_m": where["distance_m"],
        "distance_flagged": where["distance_flagged"],
        "review_flags": details["review_flags"],
        "device_time": device_time.isoformat(),
        "files": files,
    }
    if again_on_run:
        # The citizen called back: the envelope goes out again on the same run, and the
        # attempt counts like any other (the lifecycle refuses it once none is left).
        apply_action(
            envelope,
            Action.load,
            now=now,
            actor=postman,
            policy=policy,
            timezone=timezone,
            data={"run_id": run.id, "again_on_run": True},
        )
    attempt = record_attempt(
        attempt_id=attempt_id,
        stop=stop,
        postman=postman,
        outcome=meta["outcome"],
        now=now,
        device_time=device_time,
        meta_digest=digest,
        policy=policy,
        timezone=timezone,
        details=details,
        proof=proof,
        files=rows,
    )
    files = [{"kind": row["kind"], "sha256": row["sha256"]} for row in rows]
    return _receipt(attempt, envelope.code, envelope.state.value, files)


def _receipt(
    attempt: Mapping[str, Any],
    envelope_code: str,
    envelope_state: str,
    files: list[dict[str, str]],
    replay: bool = False,
) -> AttemptReceipt:
    """The receipt of an attempt's record (its columns by name)."""
    return AttemptReceipt(
        attempt_id=attempt["id"],
        envelope_code=envelope_code,
        envelope_state=envelope_state,
        attempt_number=attempt["attempt_number"],
        outcome=attempt["outcome"],
        received_at=attempt["received_at"],
        distance_m=attempt["distance_m"],
        distance_flagged=bool(attempt["distance_flagged"]),
        files=files,
        replay=replay,
    )


def _state_after(attempt: DeliveryAttempt) -> str:
    """The state the attempt left its envelope in, read from the envelope's own events."""
    stmt = (
        select(Event)
        .where(Event.envelope_id == attempt.envelope_id, Event.kind.in_(ATTEMPT_EVENT_KINDS))
        .order_by(Event.id)
    )
    for event in db.session.execute(stmt).scalars():
        if (event.data or {}).get("attempt_id") == attempt.id:
            return event.to_state
    return attempt.envelope.state.value


def _shares_dossier(envelope_id):
    """EXISTS: another envelope carries the same dossier as the envelope `envelope_id` (one
    index look-up: envelopes by dossier)."""
    other, mine = aliased(Envelope), aliased(Envelope)
    return (
        select(other.id)
        .join(mine, mine.dossier_id == other.dossier_id)
        .where(mine.id == envelope_id, other.id != mine.id)
        .exists()
    )


def _fees_paid(envelope_id):
    """EXISTS: a hand-over that collected fees (PAYING_OUTCOMES), on another envelope of the
    dossier of the envelope `envelope_id` (a column or a value). Two index look-ups (envelope by dossier,
    attempt by envelope)."""
    attempt, other, mine = aliased(DeliveryAttempt), aliased(Envelope), aliased(Envelope)
    return (
        select(attempt.id)
        .join(other, attempt.envelope_id == other.id)
        .join(mine, mine.dossier_id == other.dossier_id)
        .where(
            mine.id == envelope_id,
            other.id != mine.id,  # its own delivery is the lifecycle's to refuse
            attempt.outcome.in_(PAYING_OUTCOMES),
            attempt.fees_collected_vnd > 0,
        )
        .exists()
    )


# The statements of every attempt, built once: building and keying one costs more than its run.
_STOP_ON_RUN = (
    # The stop, and (in the same statement) whether this attempt was received already and
    # whether its dossier travels in other envelopes too (its fees are collected once).
    select(RunStop, DeliveryAttempt.id, _shares_dossier(RunStop.envelope_id).correlate(RunStop))
    .join(DeliveryRun, RunStop.run_id == DeliveryRun.id)
    .outerjoin(DeliveryAttempt, DeliveryAttempt.id == bindparam("attempt_id"))
    .where(
        RunStop.id == bindparam("stop_id"),
        DeliveryRun.postman_id == bindparam("postman_id"),
    )
    # Only the columns an attempt reads (a statement-count test catches one forgotten).
    .options(
        joinedload(RunStop.run)
        .load_only(DeliveryRun.state, DeliveryRun.run_date, DeliveryRun.post_office_id)
        .joinedload(DeliveryRun.post_office)
        .load_only(PostOffice.timezone),
        joinedload(RunStop.envelope)
        .joinedload(Envelope.dossier)
        .load_only(
            Dossier.code,
            Dossier.agency_id,
            Dossier.result_type,
            Dossier.holder_only,
            Dossier.recipient_name,
            Dossier.recipient_id_last4,
            Dossier.recipient_phone,  # whether the attempt notifies the citizen (backend/notify)
            Dossier.postage_vnd,
            Dossier.agency_fee_vnd,
            Dossier.latitude,
            Dossier.longitude,
        )
        .joinedload(Dossier.agency)
        .load_only(Agency.webhook_url),
    )
)
_STORED_ATTEMPT = select(DeliveryAttempt.postman_id, DeliveryAttempt.meta_digest).where(
    DeliveryAttempt.id == bindparam("attempt_id")
)
_INSERT_FILES = ProofFile.__table__.insert()
_INSERT_ATTEMPT = DeliveryAttempt.__table__.insert()
_RECEIPT_COLUMNS = (
    "id",
    "attempt_number",
    "outcome",
    "received_at",
    "distance_m",
    "distance_flagged",
)


def find_stop(stop_id: int, attempt_id: str, postman: User) -> tuple[RunStop | None, bool | None]:
    """The stop if it is on a run of this postman, and whether this attempt id was received
    already (None: unknown, when the stop is not found). A closed run's stop is found too: an
    attempt the phone syncs after the close-out is received when it can be (receive_attempt).

    Loaded with its run, office, envelope, dossier and agency (for the webhook) in one
    statement: for a new attempt, the only look-up before it is recorded.
    """
    params = {"stop_id": stop_id, "postman_id": postman.id, "attempt_id": attempt_id}
    row = db.session.execute(_STOP_ON_RUN, params).first()
    if row is None:
        return None, None
    stop = row[0]
    stop.dossier_shared = bool(row[2])  # read by _fees_due; not a column
    return stop, row[1] is not None


def _check_still_out(stop: RunStop) -> None:
    """An attempt synced after its run was closed (issue 11) is received — nothing the phone
    recorded is lost — only for an envelope the close-out did not take back (still out for
    delivery, this stop its latest); otherwise the office holds the envelope: refused, and the
    refusal kept for the supervisor."""
    envelope = stop.envelope
    later = db.session.scalars(
        select(RunStop.id).where(RunStop.envelope_id == envelope.id, RunStop.id > stop.id).limit(1)
    ).first()
    if envelope.state is not State.out_for_delivery or later is not None:
        raise Conflict(
            _("This run was closed at the office before this attempt arrived."),
            code="run_closed",
        )


def not_on_your_run() -> NotFound:
    return NotFound(_("This envelope is not on your run."), code="not_on_your_run")


def _again_on_run(envelope: Envelope, attempt_number: int | None) -> bool:
    """Whether this is another attempt on the same run after a failed one.

    The phone says which attempt it makes; one made before the envelope's last accepted
    attempt (another phone's, or the same attempt recorded twice offline) is out of date.
    """
    if attempt_number is None:
        return False  # an app that does not count attempts: only the first on a run
    if attempt_number != envelope.attempts_made + 1:
        raise Conflict(
            _("This envelope's attempts changed since the phone loaded the run."),
            code="attempt_out_of_date",
            fields={"attempts_made": envelope.attempts_made, "attempt_number": attempt_number},
        )
    return envelope.state is State.attempt_failed


def _check_scan(scan: Mapping[str, Any], envelope_code: str, qr_key: bytes) -> dict[str, Any]:
    """The scan columns, after checking a QR's signature and that it is this envelope's."""
    if scan["method"] == "typed":
        return {"scan_method": "typed", "qr_payload": None}
    code = verify_envelope_qr(scan["payload"], qr_key)
    if code != envelope_code:
        raise Invalid(
            _("The scanned QR code belongs to another envelope."), code="qr_other_envelope"
        )
    return {"scan_method": "qr", "qr_payload": scan["payload"].strip()}


def _check_delivery(
    meta: Mapping[str, Any],
    kinds: Sequence[str],
    dossier: Dossier,
    policy: DeliveryPolicy,
    id_key: bytes,
    flags: list[ReviewFlag],
    fees_due: int,
) -> dict[str, Any]:
    """Every proof rule of a hand-over; the recipient's columns (no full ID number)."""
    recipient = meta["recipient"]
    if recipient is None:
        raise Invalid(
            _("Some fields are not valid."),
            fields={"recipient": ["A delivery needs the recipient."]},
        )
    relation = Relation(recipient["relation"])
    if not policy.allows_recipient(dossier.result_type, relation, dossier.holder_only):
        raise Invalid(
            _("This result must be handed to the holder in person."),
            code="recipient_not_allowed",
        )
    method = IdCheckMethod(recipient["id_check_method"])
    doc_type = recipient["id_document_type"]
    number = recipient["id_number"]
    if method is not IdCheckMethod.vneid_shown and not number:
        raise Invalid(
            _("Some fields are not valid."),
            fields={"recipient": {"id_number": ["Required when the ID is scanned or typed."]}},
        )
    columns: dict[str, Any] = {
        "recipient_name": recipient["name"].strip(),
        "relation": relation.value,
        "id_document_type": doc_type,
        "id_check_method": method.value,
        "id_last4": document_last4(doc_type, number) if number else recipient["id_last4"],
        "id_hash": hash_document_number(doc_type, number, id_key) if number else None,
        "name_match": None,
        "number_match": None,
    }
    if relation is Relation.holder:
        check = check_holder(
            method=method,
            expected_name=dossier.recipient_name,
            expected_id_last4=dossier.recipient_id_last4,
            given_name=recipient["name"],
            given_id_number=number,
            given_id_last4=recipient["id_last4"],
            document_type=doc_type,
        )
        match_fields = {
            "name_match": check.name_match.value,
            "number_match": check.number_match,
        }
        if check.outcome is IdentityOutcome.mismatch:
            raise Invalid(
                _("The ID shown does not match the recipient."),
                code="identity_mismatch",
                fields=match_fields,
            )
        if needs_confirmation(check):
            if not recipient["weak_match_confirmed"]:
                raise Invalid(
                    _("The ID matches the recipient only in part: confirm the person first."),
                    code="weak_match_unconfirmed",
                    fields=match_fields,
                )
            flags.append(ReviewFlag.weak_identity)
        columns.update(match_fields)
    _refuse_proof_gaps(meta, kinds, dossier, relation, fees_due)
    return columns


def _fees_due(meta: Mapping[str, Any], dossier: Dossier, stop: RunStop) -> int:
    """What this delivery must collect (fees_due_once), refusing a second collection."""
    return fees_due_once(
        dossier,
        stop.envelope_id,
        collected=meta["fees_collected_vnd"],
        shared=getattr(stop, "dossier_shared", None),
    )


def fees_due_once(
    dossier: Dossier, envelope_id: int, *, collected: int, shared: bool | None = None
) -> int:
    """What handing over this envelope must collect: the dossier's fees, once per dossier.

    A dossier's result may travel in several envelopes (handed over at one door, on other days,
    or at the counter): the first envelope handed over collects the dossier's fees, the others
    nothing. A second collection (`collected` > 0 when paid) is refused (409
    fees_already_collected) rather than taken silently. Every path that records a hand-over
    with fees calls it (the phone's; the counter's should too).

    A dossier of one envelope (`shared` False: find_stop says so, in its own statement) costs
    nothing more. For one of several (or unknown), the dossier's row is locked for this
    transaction (FOR NO KEY UPDATE: the rows pointing at it are not held up) and only then is
    it read whether another envelope paid: two of its envelopes received at the same moment are
    taken one after the other, and the second sees the first's fees.
    """
    due = dossier.fees_due_vnd
    if not due:
        return 0
    if shared is False:
        return due
    db.session.execute(
        select(Dossier.id).where(Dossier.id == dossier.id).with_for_update(key_share=True)
    )
    if not dossier_fees_paid(envelope_id):
        return due
    if collected:
        raise Conflict(
            _("This dossier's fees were already collected with another of its envelopes."),
            code="fees_already_collected",
            fields={"fees_due_vnd": 0},
        )
    return 0


def dossier_fees_paid(envelope_id: int) -> bool:
    """Whether another envelope of this envelope's dossier was handed over with its fees."""
    return bool(db.session.execute(select(_fees_paid(envelope_id))).scalar())


def _refuse_proof_gaps(
    meta: Mapping[str, Any],
    kinds: Sequence[str],
    dossier: Dossier,
    relation: Relation | None,
    fees_due: int,
) -> None:
    """Refuse an attempt whose proof misses a part the domain requires, naming the first."""
    delivered = meta["outcome"] == "delivered"
    gaps = proof_gaps(
        delivered=delivered,
        relation=relation,
        file_kinds=set(kinds),
        has_signature_strokes=bool(meta["signature_strokes"]),
        fees_collected_vnd=meta["fees_collected_vnd"],
        fees_due_vnd=fees_due if delivered else 0,
    )
    if not gaps:
        return
    gap = gaps[0]
    if gap is ProofGap.authorization_required:
        message = _("A representative must show an authorisation paper: photograph it.")
    elif gap is ProofGap.signature_required:
        message = _("The recipient's signature is required.")
    elif gap is ProofGap.photo_required:
        message = _("Take at least one photo of the hand-over.")
    elif delivered:
        message = _("The amount collected must be the fees due.")
    else:
        message = _("Nothing is collected on a failed attempt.")
    fields = {"fees_due_vnd": fees_due} if delivered and gap is ProofGap.fees_mismatch else None
    raise Invalid(message, code=gap.value, fields=fields)


def _check_device_time(
    device_time: datetime,
    run: DeliveryRun,
    timezone: str,
    now: datetime,
    settings: ProofSettings,
) -> datetime:
    """The phone's time as given, unless it is before the run's day or ahead of the server."""
    if device_time - now > settings.max_clock_ahead:
        raise Invalid(
            _("Some fields are not valid."),
            fields={"device_time": ["The phone's clock is ahead of the server's."]},
        )
    day_starts = datetime.combine(run.run_date, time(0), tzinfo=ZoneInfo(timezone))
    if device_time < day_starts:
        raise Invalid(
            _("Some fields are not valid."),
            fields={"device_time": ["Before the run's day: the phone's clock is wrong."]},
        )
    return device_time


def _position(
    position: Mapping[str, float] | None,
    dossier: Dossier,
    policy: DeliveryPolicy,
    flags: list[ReviewFlag],
) -> dict[str, Any]:
    """The GPS columns and the distance from the address; a useless fix is dropped, flagged."""
    columns: dict[str, Any] = {
        "latitude": None,
        "longitude": None,
        "accuracy_m": None,
        "distance_m": None,
        "distance_flagged": False,
    }
    if position is None:
        return columns
    assessment = assess_fix(position["accuracy_m"], policy)
    flags.extend(assessment.flags)
    if not assessment.usable:
        return columns
    columns.update(
        latitude=position["lat"], longitude=position["lon"], accuracy_m=position["accuracy_m"]
    )
    if dossier.latitude is not None and dossier.longitude is not None:
        distance = haversine_m(
            position["lat"], position["lon"], dossier.latitude, dossier.longitude
        )
        columns["distance_m"] = round(distance, 1)
        columns["distance_flagged"] = beyond_geofence(distance, position["accuracy_m"], policy)
        if columns["distance_flagged"]:
            flags.append(ReviewFlag.far_from_address)
    return columns
