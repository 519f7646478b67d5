"""Held at the office, collected at the counter.

An envelope whose home attempts are spent is held (the lifecycle's `hold`): it waits the
policy's working days (weekends and Vietnam's holidays skipped), the citizen is reminded on the
policy's day, and it is handed over at the counter with the same identity rules and the same
proof record as at a door: a DeliveryAttempt with no run (the clerk as the actor, outcome
`collected`), its signature and photos staged and published only once the record committed,
and the lifecycle's `collect` with its event.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from backend.console.handovers import _code_from_scan as code_from_scan
from backend.delivery.proof_files import (
    FILE_FORMATS,
    ProofSettings,
    Upload,
    check_image,
)
from backend.delivery.receiving import fees_due_once
from backend.delivery.schemas import Strokes
from backend.domain.cccd import parse_cccd_qr
from backend.domain.envelope_qr import QR_PREFIX, QR_SEPARATOR
from backend.domain.errors import DomainError
from backend.domain.identity import IdentityOutcome, check_holder, needs_confirmation
from backend.domain.idnum import document_last4, hash_document_number
from backend.domain.lifecycle import STATE_LABELS, Action, State
from backend.domain.policy import (
    DEFAULT_POLICY,
    DeliveryPolicy,
    IdCheckMethod,
    Relation,
    hold_deadline,
    is_working_day,
    reminder_date,
)
from backend.domain.review import ReviewFlag
from backend.envelopes.services import apply_action, record_office_event
from backend.errors import Conflict, Invalid, NotFound, TooLarge
from backend.extensions import db
from backend.models import DeliveryAttempt, Dossier, Envelope, Event, ProofFile, User
from backend.storage import Staging, sha256_hex
from backend.validation import one_line

COLLECTED = "collected"  # the outcome of a counter hand-over's record
REMIND_EVENT = "envelope.remind"
REMINDER_CHANNELS = ("phone",)
HELD_LIST_LIMIT = 500
MAX_NAME = 200
MAX_NOTE = 500
MAX_ID_TEXT = 1024
DOCUMENT_TYPES = ("cccd", "passport", "other")
COUNTER_METHODS = (IdCheckMethod.chip_qr, IdCheckMethod.typed)
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
DIGEST_CONTEXT = b"trao-counter-collect:"


# --- The held list -------------------------------------------------------------------------


def working_days_left(today: date, deadline: date, closures: frozenset[date] = frozenset()) -> int:
    """Working days from today to the deadline: 0 on the deadline itself (its last day),
    negative once it is past (minus the working days since it, at least one)."""
    if today <= deadline:
        return _working_days_in(today, deadline, closures)
    return -max(1, _working_days_in(deadline, today, closures))


def _working_days_in(start: date, end: date, closures: frozenset[date]) -> int:
    """The working days after `start`, up to and including `end`."""
    count, day = 0, start
    while day < end:
        day += timedelta(days=1)
        count += is_working_day(day, closures)
    return count


@dataclass(frozen=True)
class HeldEnvelope:
    """A held envelope with its dates as the policy gives them."""

    envelope: Envelope
    held_on: date
    deadline: date
    reminder_due: date
    days_left: int
    reminded: bool
    # Due a reminder today: its day has come, nobody reminded the citizen yet, still in its hold.
    reminder_due_now: bool = False

    @property
    def overdue(self) -> bool:
        return self.days_left < 0


def hold_dates(
    envelope: Envelope, policy: DeliveryPolicy, closures: frozenset[date] = frozenset()
) -> tuple[date, date, date]:
    """The day it was held, its deadline and its reminder day: the one place they are worked
    out (the deadline as the lifecycle stored it when it was held, the reminder by the policy)."""
    held_on = envelope.held_on or envelope.updated_at.date()
    deadline = envelope.hold_deadline or hold_deadline(held_on, policy, closures)
    return held_on, deadline, reminder_date(held_on, policy, closures)


def _reminded(envelopes: Sequence[Envelope]) -> set[int]:
    """The envelopes whose citizen was reminded during their current hold."""
    if not envelopes:
        return set()
    held = {e.id: e.held_on.isoformat() if e.held_on else None for e in envelopes}
    rows = db.session.execute(
        select(Event.envelope_id, Event.data).where(
            Event.kind == REMIND_EVENT, Event.envelope_id.in_(list(held))
        )
    )
    return {
        envelope_id
        for envelope_id, data in rows
        if (data or {}).get("held_on") == held[envelope_id]
    }


def held_envelopes(
    office_id: int | None,
    today: date,
    policy: DeliveryPolicy = DEFAULT_POLICY,
    *,
    agency_id: int | None = None,
    limit: int = HELD_LIST_LIMIT,
) -> list[HeldEnvelope]:
    """The office's held envelopes (every office's for None), soonest deadline first."""
    stmt = (
        select(Envelope)
        .join(Dossier, Envelope.dossier_id == Dossier.id)
        .where(Envelope._state == State.held_at_office.value)
        .options(selectinload(Envelope.dossier).selectinload(Dossier.agency))
        .order_by(Envelope.hold_deadline, Envelope.id)
        .limit(limit)
    )
    if office_id is not None:
        stmt = stmt.where(Dossier.post_office_id == office_id)
    if agency_id is not None:
        stmt = stmt.where(Dossier.agency_id == agency_id)
    envelopes = list(db.session.scalars(stmt))
    reminded = _reminded(envelopes)
    rows = []
    for envelope in envelopes:
        held_on, deadline, reminder_due = hold_dates(envelope, policy)
        rows.append(
            HeldEnvelope(
                envelope=envelope,
                held_on=held_on,
                deadline=deadline,
                reminder_due=reminder_due,
                days_left=working_days_left(today, deadline),
                reminded=envelope.id in reminded,
                reminder_due_now=(
                    envelope.id not in reminded and reminder_due <= today <= deadline
                ),
            )
        )
    rows.sort(key=lambda row: (row.deadline, row.envelope.id))
    return rows


def envelope_for_staff(code: str, office_id: int | None) -> Envelope:
    """The envelope with this code in the user's office (any, for an administrator); else 404
    (another office's envelope is not told apart from one that does not exist)."""
    envelope = db.session.execute(
        select(Envelope).where(Envelope.code == code).options(selectinload(Envelope.dossier))
    ).scalar_one_or_none()
    if envelope is None or (office_id is not None and envelope.dossier.post_office_id != office_id):
        raise NotFound(_("No held envelope has this code here."), code="envelope_not_found")
    return envelope


def _require_held(envelope: Envelope) -> None:
    if envelope.state is not State.held_at_office:
        raise Conflict(
            _("Envelope %(code)s is not held at the office.", code=envelope.code),
            code="not_held",
            fields={"state": envelope.state.value, "state_label": _(STATE_LABELS[envelope.state])},
        )


def record_reminder(
    envelope: Envelope, *, actor: User, now: datetime, channel: str = "phone"
) -> Event:
    """The clerk reminded the citizen (a phone call): an event, once per hold."""
    _require_held(envelope)
    if channel not in REMINDER_CHANNELS:
        raise Invalid(_("Choose how the citizen was reminded."), code="bad_channel")
    if envelope.id in _reminded([envelope]):
        raise Conflict(_("This citizen was reminded already."), code="already_reminded")
    return record_office_event(
        REMIND_EVENT,
        now=now,
        actor=actor,
        envelope=envelope,
        data={
            "channel": channel,
            "held_on": envelope.held_on.isoformat() if envelope.held_on else None,
        },
    )


# --- The counter ---------------------------------------------------------------------------


def find_held(text: str, office_id: int | None, qr_key: bytes) -> Envelope:
    """The held envelope a scan (the label's QR payload or its code) names, or refuse saying why."""
    code = code_from_scan(text, qr_key)
    envelope = envelope_for_staff(code, office_id)
    _require_held(envelope)
    return envelope


@dataclass(frozen=True)
class CounterReceipt:
    attempt_id: str
    envelope_code: str
    replay: bool = False


def _text(form: Mapping[str, Any], name: str, max_chars: int) -> str:
    value = form.get(name)
    return one_line(value if isinstance(value, str) else "", max_chars)


def _choice(form: Mapping[str, Any], name: str, choices: Sequence[str], message: str) -> str:
    value = form.get(name)
    if not isinstance(value, str) or value not in choices:
        raise Invalid(message, code=f"bad_{name}", fields={name: [f"one of {', '.join(choices)}"]})
    return value


def counter_digest(form: Mapping[str, Any], uploads: Sequence[Upload], key: bytes) -> str:
    """A keyed digest of what was submitted (the form's fields and the files' hashes): a double
    submit is the same; another hand-over under the same id is a conflict. Keyed, because the
    form holds an ID number."""
    fields = {k: form.get(k) for k in sorted(form) if k != "csrf_token"}
    files = sorted((u.field, sha256_hex(u.data)) for u in uploads)
    text = json.dumps([fields, files], ensure_ascii=False, sort_keys=True, default=str)
    return hmac.new(key, DIGEST_CONTEXT + text.encode(), hashlib.sha256).hexdigest()


def attempt_id_of(form: Mapping[str, Any]) -> str:
    value = form.get("attempt_id")
    if not isinstance(value, str) or not _UUID.fullmatch(value.strip().lower()):
        raise Invalid(_("Reload the page and try again."), code="bad_attempt_id")
    return value.strip().lower()


def find_counter_replay(
    attempt_id: str, *, clerk: User, digest: str, envelope: Envelope
) -> CounterReceipt | None:
    """The receipt of a counter hand-over already recorded under this id; a conflict if it was
    another's or other content."""
    stored = db.session.get(DeliveryAttempt, attempt_id)
    if stored is None:
        return None
    if (
        stored.postman_id != clerk.id
        or stored.meta_digest != digest
        or stored.run_id is not None
        or stored.envelope_id != envelope.id
    ):
        raise Conflict(
            _("A hand-over with this id was already recorded with other content."),
            code="attempt_conflict",
        )
    return CounterReceipt(attempt_id, stored.envelope.code, replay=True)


def _check_uploads(uploads: Sequence[Upload], settings: ProofSettings) -> dict[str, list[Upload]]:
    limits = {"signature": 1, "photo": settings.max_photos, "authorization": 1}
    by_kind: dict[str, list[Upload]] = {}
    for upload in uploads:
        if upload.field not in limits:
            continue  # a part the counter does not take is ignored, like any unknown field
        by_kind.setdefault(upload.field, []).append(upload)
        if len(by_kind[upload.field]) > limits[upload.field]:
            raise Invalid(_("Too many files in this attempt."), code="too_many_files")
        limit = (
            settings.max_signature_bytes
            if upload.field == "signature"
            else settings.max_photo_bytes
        )
        if len(upload.data) > limit:
            raise TooLarge(_("This image is too large."), code="image_too_large")
    return by_kind


def _recipient(
    form: Mapping[str, Any],
    dossier: Dossier,
    policy: DeliveryPolicy,
    id_key: bytes,
    today: date,
    flags: list[ReviewFlag],
) -> dict[str, Any]:
    """The recipient's columns after the door's identity rules (no full ID number kept)."""
    relation = Relation(
        _choice(form, "relation", [r.value for r in Relation], _("Say who collects the envelope."))
    )
    if not policy.allows_recipient(dossier.result_type, relation, dossier.holder_only):
        raise Invalid(
            _("This result must be handed to the holder in person."), code="recipient_not_allowed"
        )
    method = IdCheckMethod(
        _choice(
            form,
            "id_check_method",
            [m.value for m in COUNTER_METHODS],
            _("Scan the ID card's QR code or type the ID number."),
        )
    )
    if method is IdCheckMethod.chip_qr:
        text = form.get("id_qr")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_ID_TEXT:
            raise Invalid(_("Scan the ID card's QR code."), code="invalid_id_qr")
        if text.strip().startswith(QR_PREFIX + QR_SEPARATOR):
            raise Invalid(
                _("This is the envelope's QR code: scan the ID card's."), code="invalid_id_qr"
            )
        try:
            card = parse_cccd_qr(text, today=today)
        except DomainError:
            raise Invalid(
                _("This QR code is not a chip ID card's."), code="invalid_id_qr"
            ) from None
        doc_type, number, name = "cccd", card.id_number, card.full_name
    else:
        doc_type = _choice(form, "id_document_type", DOCUMENT_TYPES, _("Choose the ID paper."))
        number = _text(form, "id_number", 32).replace(" ", "")
        name = _text(form, "recipient_name", MAX_NAME)
        if not name:
            raise Invalid(_("Type the name on the ID paper."), code="name_required")
    try:
        last4 = document_last4(doc_type, number)
        id_hash = hash_document_number(doc_type, number, id_key)
    except DomainError:
        raise Invalid(_("This ID number is not valid."), code="invalid_id_number") from None
    columns: dict[str, Any] = {
        "recipient_name": name,
        "relation": relation.value,
        "id_document_type": doc_type,
        "id_check_method": method.value,
        "id_last4": last4,
        "id_hash": id_hash,
        "name_match": None,
        "number_match": None,
    }
    if relation is Relation.holder:
        check = check_holder(
            method=method.value,
            expected_name=dossier.recipient_name,
            expected_id_last4=dossier.recipient_id_last4,
            given_name=name,
            given_id_number=number,
            document_type=doc_type,
        )
        match = {"name_match": check.name_match.value, "number_match": check.number_match}
        if check.outcome is IdentityOutcome.mismatch:
            raise Invalid(
                _("The ID shown does not match the recipient."),
                code="identity_mismatch",
                fields=match,
            )
        if needs_confirmation(check):
            if form.get("weak_match_confirmed") not in ("1", "true", "on"):
                raise Invalid(
                    _("The ID matches the recipient only in part: confirm the person first."),
                    code="weak_match_unconfirmed",
                    fields=match,
                )
            flags.append(ReviewFlag.weak_identity)
        columns.update(match)
    return columns


def collect_at_counter(
    envelope: Envelope,
    form: Mapping[str, Any],
    uploads: Sequence[Upload],
    *,
    attempt_id: str,
    digest: str,
    clerk: User,
    now: datetime,
    today: date,
    settings: ProofSettings,
    staging: Staging,
    policy: DeliveryPolicy = DEFAULT_POLICY,
    timezone: str = "Asia/Ho_Chi_Minh",
) -> CounterReceipt:
    """Check the hand-over at the counter by the door's rules, stage its files, write its proof
    record and move the envelope to `collected` (flushes only: the caller commits, then
    publishes the staged files, or rolls back and discards them)."""
    _require_held(envelope)
    dossier = envelope.dossier
    flags: list[ReviewFlag] = []
    recipient = _recipient(form, dossier, policy, settings.id_key, today, flags)
    by_kind = _check_uploads(uploads, settings)
    if recipient["relation"] != Relation.holder.value and "authorization" not in by_kind:
        raise Invalid(
            _("A representative must show an authorisation paper: photograph it."),
            code="authorization_required",
        )
    raw_strokes = form.get("signature_strokes")
    try:
        strokes = Strokes().deserialize(json.loads(raw_strokes)) if raw_strokes else None
    except (ValueError, TypeError, RecursionError, ValidationError):
        strokes = None
    if "signature" not in by_kind or not strokes:
        raise Invalid(_("The recipient's signature is required."), code="signature_required")
    try:
        fees = int(_text(form, "fees_collected_vnd", 12) or "-1")
    except ValueError:
        fees = -1
    # Once per dossier, as at a door: paid with another of its envelopes, nothing more is due
    # (and a second collection is refused, 409 fees_already_collected).
    due = fees_due_once(dossier, envelope.id, collected=max(fees, 0))
    if fees != due:
        raise Invalid(
            _("The amount collected must be the fees due."),
            code="fees_mismatch",
            fields={"fees_due_vnd": due},
        )
    scanned = form.get("scan")
    scan = {"scan_method": "typed", "qr_payload": None}
    if isinstance(scanned, str) and scanned.strip().startswith(QR_PREFIX + QR_SEPARATOR):
        scan = {"scan_method": "qr", "qr_payload": scanned.strip()[:64]}

    rows = []
    for kind, items in by_kind.items():
        for upload in items:
            facts = check_image(upload, settings.bounds(kind))
            if facts.format != FILE_FORMATS[kind]:
                raise Invalid(
                    _("A file is not a readable image of the expected type."),
                    code="bad_image",
                    fields={kind: [f"must be {FILE_FORMATS[kind]}"]},
                )
            sha = staging.put(upload.data, sha256_hex(upload.data))
            rows.append(
                {
                    "attempt_id": attempt_id,
                    "kind": kind,
                    "sha256": sha,
                    "content_type": facts.content_type,
                    "size_bytes": len(upload.data),
                    "width": facts.width,
                    "height": facts.height,
                }
            )
    attempt = DeliveryAttempt(
        id=attempt_id,
        envelope_id=envelope.id,
        run_id=None,
        stop_id=None,
        postman_id=clerk.id,
        attempt_number=envelope.attempts_made + 1,
        outcome=COLLECTED,
        note=_text(form, "note", MAX_NOTE) or None,
        **scan,
        **recipient,
        device_time=now,
        received_at=now,
        fees_collected_vnd=fees,
        signature_strokes=strokes,
        meta_digest=digest,
        review_flags=[flag.value for flag in flags],
        needs_review=bool(flags),
    )
    db.session.add(attempt)
    db.session.flush()
    if rows:
        db.session.execute(ProofFile.__table__.insert(), rows)
    apply_action(
        envelope,
        Action.collect,
        now=now,
        actor=clerk,
        policy=policy,
        timezone=timezone,
        data={
            "attempt_id": attempt_id,
            "outcome": COLLECTED,
            "at": "counter",
            "relation": recipient["relation"],
            "id_check_method": recipient["id_check_method"],
            "name_match": recipient["name_match"],
            "number_match": recipient["number_match"],
            "review_flags": attempt.review_flags,
            "files": [{"kind": row["kind"], "sha256": row["sha256"]} for row in rows],
        },
    )
    return CounterReceipt(attempt_id, envelope.code)
