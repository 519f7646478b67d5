"""Use cases of the postman: today's runs, and recording an attempt at the door."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from geopy.distance import geodesic
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from backend.delivery.proof_files import (
    CONTENT_TYPES,
    DERIVATIVE_KINDS,
    Upload,
    check_files,
    display_copy,
    open_image,
)
from backend.domain.envelope_qr import verify_envelope_qr
from backend.domain.identity import check_identity, may_deliver
from backend.domain.idnum import document_last4, hash_document_number
from backend.domain.lifecycle import Action, State
from backend.domain.names import compare_names
from backend.domain.policy import DEFAULT_POLICY, DeliveryPolicy, IdCheckMethod, Relation
from backend.domain.proof import ProofGap, proof_gaps
from backend.envelopes.services import apply_action
from backend.errors import Conflict, Invalid, NotFound
from backend.extensions import db
from backend.models import (
    DeliveryAttempt,
    DeliveryRun,
    Dossier,
    Envelope,
    Event,
    ProofFile,
    RunState,
    RunStop,
    User,
)
from backend.storage import Storage

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
    proof: dict[str, Any] | None = None,
) -> DeliveryAttempt:
    """Write one attempt's record and move its envelope through the lifecycle (one transaction).

    `details` are the record's columns (scan, recipient, position...); `proof` is the summary
    written into the envelope's event for the dossier's history and the agency's webhook.
    """
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
        data={
            "attempt_id": attempt_id,
            "outcome": outcome,
            "reason": attempt.reason_code,
            "attempt_number": attempt.attempt_number,
            **(proof or {}),
        },
    )
    return attempt


# --- The postman's API: today's runs, and receiving an attempt from the phone -------------


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


@dataclass(frozen=True)
class ProofSettings:
    """The limits and keys that receiving a proof needs (see Config)."""

    qr_key: bytes
    id_key: bytes
    max_photos: int
    max_photo_bytes: int
    max_signature_bytes: int
    max_image_pixels: int
    photo_max_side: int
    photo_quality: float
    display_max_side: int
    max_clock_ahead: timedelta

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ProofSettings:
        return cls(
            qr_key=config["QR_SIGNING_KEY"],
            id_key=config["ID_HASH_KEY"],
            max_photos=config["TRAO_MAX_PHOTOS"],
            max_photo_bytes=config["TRAO_MAX_PHOTO_MB"] * 1024 * 1024,
            max_signature_bytes=config["TRAO_MAX_SIGNATURE_MB"] * 1024 * 1024,
            max_image_pixels=config["TRAO_MAX_IMAGE_PIXELS"],
            photo_max_side=config["TRAO_PHOTO_MAX_SIDE"],
            photo_quality=config["TRAO_PHOTO_QUALITY"],
            display_max_side=config["TRAO_DISPLAY_MAX_SIDE"],
            max_clock_ahead=timedelta(minutes=config["TRAO_MAX_CLOCK_AHEAD_MINUTES"]),
        )


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


ATTEMPT_EVENT_KINDS = ("envelope.deliver", "envelope.fail")


def meta_digest(meta: Mapping[str, Any], id_key: bytes) -> str:
    """SHA-256 of the canonical JSON of an attempt's meta (sorted keys; the files' hashes in it).

    An ID number in the meta is replaced by its keyed hash first: a plain hash of a record
    holding a 12-digit number would let anyone with the rest of the record recover it.
    """
    canonical = json.loads(json.dumps(meta))
    recipient = canonical.get("recipient")
    if isinstance(recipient, dict) and recipient.get("id_number"):
        doc_type = recipient.get("id_document_type") or "cccd"
        recipient["id_number"] = hash_document_number(doc_type, recipient["id_number"], id_key)
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def find_replay(attempt_id: str, *, postman: User, digest: str) -> AttemptReceipt | None:
    """The stored receipt when this attempt was already received; a conflict if it differs."""
    attempt = db.session.get(DeliveryAttempt, attempt_id)
    if attempt is None:
        return None
    if attempt.postman_id != postman.id or attempt.meta_digest != digest:
        raise Conflict(
            _("An attempt with this id was already received with other content."),
            code="attempt_conflict",
        )
    return _receipt(attempt, _state_after(attempt), replay=True)


def receive_attempt(
    *,
    meta: Mapping[str, Any],
    digest: str,
    uploads: Sequence[Upload],
    postman: User,
    now: datetime,
    settings: ProofSettings,
    storage: Storage,
    policy: DeliveryPolicy = DEFAULT_POLICY,
) -> AttemptReceipt:
    """Check an attempt from the phone against every proof rule, store its files and record it.

    Idempotent on attempt_id. Flushes only: the request commits (or rolls back) once.
    """
    attempt_id = str(meta["attempt_id"])
    replay = find_replay(attempt_id, postman=postman, digest=digest)
    if replay is not None:
        return replay
    stop = _stop_on_run(meta["stop_id"], meta["envelope_code"], postman)
    dossier = stop.envelope.dossier
    hashed = check_files(meta["files"], uploads, settings)
    scan = _check_scan(meta["scan"], meta["envelope_code"], settings.qr_key)
    kinds = [ref["field"] for ref in meta["files"]]
    if meta["outcome"] == "delivered":
        recipient = _check_delivery(meta, kinds, dossier, policy, settings.id_key)
    else:
        recipient = {}
        _refuse_proof_gaps(meta, kinds, dossier, None)
    device_time = _check_device_time(meta["device_time"], now, settings.max_clock_ahead)
    where = _position(meta["position"], dossier, policy)
    images = [open_image(up, settings.max_image_pixels) for up in uploads]

    stored = []
    for upload, sha, image in zip(uploads, hashed, images, strict=True):
        storage.put(upload.data)
        derivative = None
        if upload.field in DERIVATIVE_KINDS:
            derivative = storage.put(
                display_copy(image, settings.display_max_side, settings.photo_quality)
            )
        stored.append((upload, sha, image, derivative))

    details = {
        "reason_code": meta["reason_code"] if meta["outcome"] == "failed" else None,
        "note": (meta["note"] or "").strip() or None,
        **scan,
        **recipient,
        **where,
        "fees_collected_vnd": meta["fees_collected_vnd"],
        "signature_strokes": meta["signature_strokes"],
    }
    files = [{"kind": ref["field"], "sha256": ref["sha256"]} for ref in meta["files"]]
    proof = {
        "relation": recipient.get("relation"),
        "id_check_method": recipient.get("id_check_method"),
        "name_match": recipient.get("name_match"),
        "number_match": recipient.get("number_match"),
        "distance_m": where["distance_m"],
        "distance_flagged": where["distance_flagged"],
        "device_time": device_time.isoformat(),
        "files": files,
    }
    run = stop.run
    attempt = record_attempt(
        attempt_id=attempt_id,
        stop=stop,
        postman=postman,
        outcome=meta["outcome"],
        now=now,
        device_time=device_time,
        meta_digest=digest,
        policy=policy,
        timezone=run.post_office.timezone if run.post_office else "Asia/Ho_Chi_Minh",
        details=details,
        proof=proof,
    )
    for upload, sha, image, derivative in stored:
        db.session.add(
            ProofFile(
                attempt=attempt,
                kind=upload.field,
                sha256=sha,
                content_type=CONTENT_TYPES[image.format],
                size_bytes=len(upload.data),
                width=image.width,
                height=image.height,
                derivative_sha256=derivative,
            )
        )
    db.session.flush()
    return _receipt(attempt, stop.envelope.state.value)


def _receipt(attempt: DeliveryAttempt, envelope_state: str, replay: bool = False):
    return AttemptReceipt(
        attempt_id=attempt.id,
        envelope_code=attempt.envelope.code,
        envelope_state=envelope_state,
        attempt_number=attempt.attempt_number,
        outcome=attempt.outcome,
        received_at=attempt.received_at,
        distance_m=attempt.distance_m,
        distance_flagged=bool(attempt.distance_flagged),
        files=[{"kind": f.kind, "sha256": f.sha256} for f in sorted(attempt.files, key=_by_id)],
        replay=replay,
    )


def _by_id(row: ProofFile) -> int:
    return row.id


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


def _stop_on_run(stop_id: int, envelope_code: str, postman: User) -> RunStop:
    """The stop, if it is on an open run of this postman and holds this envelope; else 404."""
    stmt = (
        select(RunStop)
        .join(DeliveryRun, RunStop.run_id == DeliveryRun.id)
        .where(
            RunStop.id == stop_id,
            DeliveryRun.postman_id == postman.id,
            DeliveryRun.state != RunState.closed.value,
        )
        .options(selectinload(RunStop.run), selectinload(RunStop.envelope))
    )
    stop = db.session.execute(stmt).scalar_one_or_none()
    if stop is None or stop.envelope.code != envelope_code:
        raise NotFound(_("This envelope is not on your run."), code="not_on_your_run")
    return stop


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
        "id_last4": document_last4(doc_type, number) if number else None,
        "id_hash": hash_document_number(doc_type, number, id_key) if number else None,
        "name_match": None,
        "number_match": None,
    }
    if relation is Relation.holder:
        if method is IdCheckMethod.vneid_shown:
            # Checked by eye: record how the name compares, nothing for the machine to refuse.
            columns["name_match"] = compare_names(dossier.recipient_name, recipient["name"]).value
        else:
            check = check_identity(
                expected_name=dossier.recipient_name,
                expected_id_last4=dossier.recipient_id_last4,
                given_name=recipient["name"],
                given_id_number=number,
                document_type=doc_type,
            )
            if not may_deliver(check):
                raise Invalid(
                    _("The ID shown does not match the recipient."),
                    code="identity_mismatch",
                    fields={
                        "name_match": check.name_match.value,
                        "number_match": check.number_match,
                    },
                )
            columns["name_match"] = check.name_match.value
            columns["number_match"] = check.number_match
    _refuse_proof_gaps(meta, kinds, dossier, relation)
    return columns


def _refuse_proof_gaps(
    meta: Mapping[str, Any], kinds: Sequence[str], dossier: Dossier, relation: Relation | None
) -> None:
    """Refuse an attempt whose proof misses a part the domain requires, naming the first."""
    delivered = meta["outcome"] == "delivered"
    gaps = proof_gaps(
        delivered=delivered,
        relation=relation,
        file_kinds=set(kinds),
        has_signature_strokes=bool(meta["signature_strokes"]),
        fees_collected_vnd=meta["fees_collected_vnd"],
        fees_due_vnd=dossier.fees_due_vnd if delivered else 0,
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
    fields = (
        {"fees_due_vnd": dossier.fees_due_vnd}
        if delivered and gap is ProofGap.fees_mismatch
        else None
    )
    raise Invalid(message, code=gap.value, fields=fields)


def _check_device_time(device_time: datetime, now: datetime, max_ahead: timedelta) -> datetime:
    """The phone's time as given, unless it is ahead of the server by more than allowed."""
    if device_time - now > max_ahead:
        raise Invalid(
            _("Some fields are not valid."),
            fields={"device_time": ["The phone's clock is ahead of the server's."]},
        )
    return device_time


def _position(
    position: Mapping[str, float] | None, dossier: Dossier, policy: DeliveryPolicy
) -> dict[str, Any]:
    """The GPS columns and the distance from the address, flagged past the geofence."""
    if position is None:
        return {
            "latitude": None,
            "longitude": None,
            "accuracy_m": None,
            "distance_m": None,
            "distance_flagged": False,
        }
    distance = flagged = None
    if dossier.latitude is not None and dossier.longitude is not None:
        distance = round(
            geodesic(
                (position["lat"], position["lon"]), (dossier.latitude, dossier.longitude)
            ).meters,
            1,
        )
        # A fix is a circle: only flag when even its nearest edge is beyond the geofence.
        flagged = distance - position["accuracy_m"] > policy.geofence_metres
    return {
        "latitude": position["lat"],
        "longitude": position["lon"],
        "accuracy_m": position["accuracy_m"],
        "distance_m": distance,
        "distance_flagged": bool(flagged),
    }
