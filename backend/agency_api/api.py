"""The agencies' REST API v1 (docs/api-agency.md): register, list, follow and cancel dossiers,
and fetch their proof. Every view is authenticated by the agency's API key (keys.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import current_app, jsonify, request
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from marshmallow import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from backend import clock
from backend.agency_api import bp
from backend.agency_api.intake import DossierIn, Outcome, register_dossiers
from backend.agency_api.keys import agency_endpoint
from backend.agency_api.schemas import (
    BATCH_RESULT,
    DOSSIER_OUT,
    DOSSIER_PAGE,
    DOSSIER_QUERY,
    HISTORY,
    MAX_BATCH,
    PROOF_BUNDLE,
)
from backend.agency_api.services import (
    agency_dossier,
    cancel_dossier,
    dossier_attempts,
    dossier_history,
    list_dossiers,
    proof_file_of_agency,
)
from backend.console.proof_serving import proof_file_response
from backend.errors import AppError, Conflict, Invalid, NotFound
from backend.extensions import db
from backend.models import Agency, DeliveryAttempt, Dossier, ProofFile
from backend.tracking.services import tracking_urls
from backend.wrappers import json_body

PROOF_LINK_SALT = "trao-proof-file-link"
CURSOR_SALT = "trao-dossier-cursor"


class LinkExpired(AppError):
    status, code = 410, "link_expired"


# --- Registering ---------------------------------------------------------------------------------


@bp.post("/api/v1/dossiers")
@agency_endpoint
def api_register_dossiers(agency: Agency):
    """Register one dossier (201 created, 200 exists, 409 conflict) or a batch (200, each item's
    result); idempotent on the agency's own dossier code."""
    body = json_body(current_app.config["TRAO_API_MAX_BODY_MB"] * 1024 * 1024)
    schema = DossierIn(province_code=agency.province_code)
    config = current_app.config
    register = {
        "now": clock.now(),
        "id_key": config["ID_HASH_KEY"],
        "code_prefix": config["ENVELOPE_CODE_PREFIX"],
    }
    if "dossiers" not in body:
        (done,) = register_dossiers(agency, [schema.load(body)], **register)
        db.session.commit()
        if done.outcome is Outcome.conflict:
            raise Conflict(
                _("This dossier code is already used by a dossier with other content."),
                code="dossier_code_taken",
                fields={name: [_("Differs from the dossier kept.")] for name in done.differs},
            )
        status = 201 if done.outcome is Outcome.created else 200
        return jsonify(_detail(done.dossier)), status  # the receipt, with the tracking links
    return jsonify(BATCH_RESULT.dump(_register_batch(agency, body, schema, register)))


def _register_batch(agency: Agency, body: dict, schema: DossierIn, register: dict) -> dict:
    items = body["dossiers"]
    if set(body) != {"dossiers"}:
        unknown = sorted(set(body) - {"dossiers"})
        raise ValidationError({name: [_("Unknown field.")] for name in unknown})
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_BATCH:
        raise ValidationError(
            {"dossiers": [_("A list of 1 to %(n)d dossiers.", n=MAX_BATCH)]},
        )
    results: list[dict[str, Any]] = []
    valid: list[tuple[int, dict]] = []
    for index, item in enumerate(items):
        try:
            valid.append((index, schema.load(item)))
        except ValidationError as err:
            results.append(
                {
                    "index": index,
                    "code": _item_code(item),
                    "result": "invalid",
                    "errors": _translated(err.messages),
                    "envelopes": [],
                }
            )
    done = register_dossiers(agency, [data for _i, data in valid], **register)
    db.session.commit()
    for (index, _data), registered in zip(valid, done, strict=True):
        differs = {name: [_("Differs from the dossier kept.")] for name in registered.differs}
        results.append(
            {
                "index": index,
                "code": registered.dossier.code,
                "result": registered.outcome.value,
                "errors": differs,
                "envelopes": [envelope.code for envelope in registered.dossier.envelopes],
            }
        )
    results.sort(key=lambda result: result["index"])
    counts = {kind: 0 for kind in ("created", "exists", "conflict", "invalid")}
    for result in results:
        counts[result["result"]] += 1
    return {"results": results, **counts}


def _item_code(item: Any) -> str | None:
    code = item.get("code") if isinstance(item, dict) else None
    return code if isinstance(code, str) and len(code) <= 64 else None


def _translated(messages: Any) -> Any:
    """Marshmallow's messages (English msgids marked N_) in the user's language."""
    if isinstance(messages, dict):
        return {str(key): _translated(value) for key, value in messages.items()}
    if isinstance(messages, list):
        return [_translated(value) for value in messages]
    return _(messages) if isinstance(messages, str) else messages


# --- Following -----------------------------------------------------------------------------------


@bp.get("/api/v1/dossiers")
@agency_endpoint
def api_list_dossiers(agency: Agency):
    """The agency's dossiers, newest first, filtered by envelope state and registration days;
    a page at a time (`limit`, `cursor` → `next_cursor`)."""
    query = DOSSIER_QUERY.load(request.args.to_dict())
    after_id = _read_cursor(query["cursor"], agency) if "cursor" in query else None
    dossiers, last_id = list_dossiers(
        agency,
        limit=query["limit"],
        after_id=after_id,
        status=query.get("status"),
        registered_from=query.get("registered_from"),
        registered_to=query.get("registered_to"),
    )
    next_cursor = _cursor_serializer().dumps([agency.id, last_id]) if last_id else None
    return jsonify(DOSSIER_PAGE.dump({"dossiers": dossiers, "next_cursor": next_cursor}))


def _cursor_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=CURSOR_SALT)


def _read_cursor(cursor: str, agency: Agency) -> int:
    try:
        agency_id, after_id = _cursor_serializer().loads(cursor)
    except (BadSignature, TypeError, ValueError):
        agency_id = after_id = None
    if agency_id != agency.id or type(after_id) is not int:
        raise Invalid(
            _("This cursor is not one this API gave."),
            code="invalid_cursor",
            fields={"cursor": [_("Not a valid cursor.")]},
        )
    return after_id


@bp.get("/api/v1/dossiers/<path:code>")
@agency_endpoint
def api_dossier(agency: Agency, code: str):
    """A dossier's envelopes and their states, and its history."""
    return jsonify(_detail(agency_dossier(agency, code)))


def _detail(dossier: Dossier) -> dict[str, Any]:
    """The dossier and its history, as DossierDetail dumps them, each envelope with the
    citizen's tracking link (made for an envelope that had none: committed)."""
    config = current_app.config
    links = tracking_urls(
        list(dossier.envelopes),
        key=config["TRACKING_KEY"],
        public_url=config["PUBLIC_URL"],
        now=clock.now(),
    )
    db.session.commit()
    body = {**DOSSIER_OUT.dump(dossier), "history": HISTORY.dump(dossier_history(dossier))}
    for envelope in body["envelopes"]:
        envelope["tracking_url"] = links.get(envelope["code"])
    return body


@bp.post("/api/v1/dossiers/<path:code>/cancel")
@agency_endpoint
def api_cancel_dossier(agency: Agency, code: str):
    """Cancel a dossier before the post office receives it (every envelope still registered)."""
    dossier = agency_dossier(agency, code)
    try:
        cancel_dossier(agency, dossier, now=clock.now())
        db.session.commit()
    except (IntegrityError, StaleDataError):
        db.session.rollback()
        raise Conflict(
            _("The dossier was being changed at the same moment. Try again."), code="dossier_busy"
        ) from None
    return jsonify(_detail(agency_dossier(agency, code)))


# --- Proof ---------------------------------------------------------------------------------------


class _ClockSigner(TimestampSigner):
    """Timestamps from Trao's clock (backend.clock), so a link's age is what the server says."""

    def get_timestamp(self) -> int:
        return int(clock.now().timestamp())


def _link_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        current_app.config["SECRET_KEY"], salt=PROOF_LINK_SALT, signer=_ClockSigner
    )


@bp.get("/api/v1/dossiers/<path:code>/proof")
@agency_endpoint
def api_dossier_proof(agency: Agency, code: str):
    """The proof bundle: each attempt's record, the SHA-256 of each file, and links to the files
    that expire after TRAO_PROOF_LINK_SECONDS."""
    dossier = agency_dossier(agency, code)
    expires = clock.now() + timedelta(seconds=current_app.config["TRAO_PROOF_LINK_SECONDS"])
    serializer = _link_serializer()
    attempts = [
        _attempt_record(attempt, agency, serializer, expires)
        for attempt in dossier_attempts(dossier)
    ]
    return jsonify(
        PROOF_BUNDLE.dump(
            {"dossier_code": dossier.code, "envelopes": dossier.envelopes, "attempts": attempts}
        )
    )


def _attempt_record(
    attempt: DeliveryAttempt, agency: Agency, serializer, expires: datetime
) -> dict[str, Any]:
    has_position = attempt.latitude is not None and attempt.longitude is not None
    return {
        "attempt_id": attempt.id,
        "envelope_code": attempt.envelope.code,
        "attempt_number": attempt.attempt_number,
        "outcome": attempt.outcome,
        "reason_code": attempt.reason_code,
        "recipient": None
        if attempt.recipient_name is None
        else {
            "name": attempt.recipient_name,
            "relation": attempt.relation,
            "id_document_type": attempt.id_document_type,
            "id_check_method": attempt.id_check_method,
            "id_last4": attempt.id_last4,
            "number_match": attempt.number_match,
            "name_match": attempt.name_match,
        },
        "device_time": attempt.device_time,
        "received_at": attempt.received_at,
        "position": {
            "lat": attempt.latitude,
            "lon": attempt.longitude,
            "accuracy_m": attempt.accuracy_m,
        }
        if has_position
        else None,
        "distance_m": attempt.distance_m,
        "distance_flagged": bool(attempt.distance_flagged),
        "fees_collected_vnd": attempt.fees_collected_vnd,
        "files": [_file_record(row, agency, serializer, expires) for row in attempt.files],
    }


def _file_record(row: ProofFile, agency: Agency, serializer, expires: datetime) -> dict[str, Any]:
    token = serializer.dumps([agency.id, row.id])
    return {
        "kind": row.kind,
        "sha256": row.sha256,
        "content_type": row.content_type,
        "size_bytes": row.size_bytes,
        "url": f"{request.host_url.rstrip('/')}/api/v1/proof-files/{token}",
        "url_expires_at": expires,
    }


@bp.get("/api/v1/proof-files/<token>")
def api_proof_file(token: str):
    """A proof file byte for byte as the phone made it, for whoever holds an unexpired link
    (no other authentication: the link is the permission). 404 forged, 410 expired."""
    if len(token) > 200:
        raise NotFound(_("No such proof file."), code="no_such_proof_file")
    max_age = current_app.config["TRAO_PROOF_LINK_SECONDS"]
    try:
        agency_id, file_id = _link_serializer().loads(token, max_age=max_age)
    except SignatureExpired:
        raise LinkExpired(_("This link has expired: ask for the proof again.")) from None
    except (BadSignature, TypeError, ValueError):
        raise NotFound(_("No such proof file."), code="no_such_proof_file") from None
    row = proof_file_of_agency(agency_id, file_id)
    return proof_file_response(row, name=f"{row.kind}-{row.sha256[:16]}")
