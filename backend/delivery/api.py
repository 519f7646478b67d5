"""The postman's JSON API (docs/api-delivery.md): session, today's runs, attempts."""

from __future__ import annotations

import hashlib

import orjson
from flask import current_app, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf
from marshmallow import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from backend import __version__, clock
from backend.auth.access import roles_required
from backend.delivery import bp
from backend.delivery.contact import SENT_AT_HEADER, note_contact, phone_sent_at
from backend.delivery.ordering import postman_run, set_door_order
from backend.delivery.proof_files import ProofSettings, Upload
from backend.delivery.receiving import (
    find_replay,
    find_stop,
    legacy_meta_digest,
    meta_digest,
    not_on_your_run,
    receive_attempt,
)
from backend.delivery.refusals import record_refusal, refusal_data
from backend.delivery.schemas import (
    FILE_FIELDS,
    AttemptMetaSchema,
    RunOrderSchema,
    dump_receipt,
    dump_runs_today,
)
from backend.delivery.services import last_attempts, open_runs_today
from backend.domain.errors import DomainError
from backend.errors import STATUS_BY_KIND, AppError, Conflict, Invalid, TooLarge
from backend.extensions import db
from backend.http_cache import conditional
from backend.models import Role
from backend.storage import get_storage
from backend.validation import UnreadableJson, error_tree, parse_json_object
from backend.wrappers import json_body

DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
# Made once: a schema deep-copies its fields when made, which cost as much as loading the meta.
ATTEMPT_META = AttemptMetaSchema()
RUN_ORDER = RunOrderSchema()
# A run's order is a list of stop ids: 5,000 of them fit in 60 KB.
MAX_ORDER_BYTES = 256 * 1024


@bp.get("/api/v1/session")
@login_required
def api_session():
    """Who is logged in, a fresh CSRF token and the server's clock."""
    user = current_user
    return jsonify(
        user={
            "id": user.id,
            "username": user.username,
            "full_name": user.full_name,
            "role": user.role,
        },
        csrf_token=generate_csrf(),
        server_time=clock.now().isoformat(),
        app_version=__version__,
    )


@bp.get("/api/v1/runs/today")
@roles_required(Role.postman)
def api_runs_today():
    """The logged-in postman's open runs of today (office time), with all a run needs offline."""
    config = current_app.config
    office = current_user.post_office
    now = clock.now()
    note_contact(current_user._get_current_object(), now)
    day = clock.local_date(now, office.timezone if office else DEFAULT_TIMEZONE)
    runs = open_runs_today(current_user, day)
    attempts = last_attempts(stop.envelope_id for run in runs for stop in run.stops)
    policy = config["DELIVERY_POLICY"]
    settings = {
        "photo_max_side": config["TRAO_PHOTO_MAX_SIDE"],
        "photo_quality": config["TRAO_PHOTO_QUALITY"],
        "max_photos": config["TRAO_MAX_PHOTOS"],
        "geofence_metres": policy.geofence_metres,
        "max_home_attempts": policy.max_home_attempts,
    }
    data = dump_runs_today(
        runs,
        attempts,
        day=day,
        now=now,
        settings=settings,
        qr_key=config["QR_SIGNING_KEY"],
        policy=policy,
    )
    # The phone sends the ETag of the run it holds (kept in IndexedDB, the answer stays no-store):
    # unchanged, it gets a 304 and keeps it.
    return conditional(jsonify(data), runs_etag(data))


def runs_etag(data: dict) -> str:
    """A hash of the runs payload, but for `server_time` (new at every call, used by no one)."""
    unstamped = {key: value for key, value in data.items() if key != "server_time"}
    return hashlib.sha256(orjson.dumps(unstamped, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]


@bp.post("/api/v1/runs/<int:run_id>/order")
@roles_required(Role.postman)
def api_run_order(run_id: int):
    """The postman's own order of the run's doors: every stop id, in order. 200 with the doors
    in their new order, the same for the same order sent again; a refusal changes nothing."""
    run = postman_run(run_id, current_user)
    body = json_body(MAX_ORDER_BYTES)
    try:
        doors = set_door_order(run, RUN_ORDER.load(body)["stop_ids"])
        db.session.commit()
    except (IntegrityError, StaleDataError):
        # The supervisor renumbered the run at the same moment: nothing of this order was kept.
        db.session.rollback()
        raise Conflict(
            _("The run was being changed at the same moment. Send the order again."),
            code="run_busy",
        ) from None
    return jsonify(run_id=run.id, state=run.state, doors=doors)


@bp.post("/api/v1/attempts")
@roles_required(Role.postman)
def api_post_attempt():
    """Receive one attempt (meta + files); 201 the first time, 200 with the same body on replay.

    The files are staged while the attempt is checked and recorded, and published into the
    store only once the record has committed: a refused or lost attempt leaves no file.
    """
    note_contact(current_user._get_current_object(), clock.now())
    if request.mimetype != "multipart/form-data":
        # Only multipart bounds a text field's size while parsing (MAX_FORM_MEMORY_SIZE).
        raise Invalid(_("An attempt is sent as multipart/form-data."), code="multipart_required")
    text = request.form.get("meta")
    raw = _parse_meta(text)
    try:
        return _post_attempt(text, raw)
    except (AppError, DomainError, ValidationError) as err:
        _keep_refusal(raw, err)
        raise


def _post_attempt(text: str, raw: dict):
    """The attempt checked, recorded (or found as a replay) and its receipt answered."""
    meta = ATTEMPT_META.load(raw)
    uploads = _uploads()
    key = current_app.config["ID_HASH_KEY"]
    replay = {
        "postman": current_user._get_current_object(),
        "digest": meta_digest(text, key),
        "legacy_digest": lambda: legacy_meta_digest(raw, key),
        "uploads": uploads,
        "storage": get_storage(),
    }
    attempt_id = str(meta["attempt_id"])
    stop, received = find_stop(meta["stop_id"], attempt_id, replay["postman"])
    receipt = None
    if received is not False:  # received already, or maybe (its stop is no longer open)
        receipt = find_replay(attempt_id, **replay)
    if receipt is None:
        if stop is None:
            raise not_on_your_run()
        receipt = _receive(meta, stop, replay)
    status = 200 if receipt.replay else 201
    return jsonify(dump_receipt(receipt)), status


def _keep_refusal(raw: dict, err: Exception) -> None:
    """Record a refused attempt as an event for the supervisor, in its own transaction.

    Only on the refusal path (an accepted attempt never comes here); a failure to record it
    is logged and never hides the refusal the phone is owed.
    """
    if isinstance(err, AppError):
        status, code, fields = err.status, err.code, err.fields
    elif isinstance(err, DomainError):
        status, code, fields = STATUS_BY_KIND.get(err.kind, 400), err.code, err.fields
    else:
        status, code, fields = 422, "invalid", getattr(err, "messages", None)
    db.session.rollback()
    try:
        data = refusal_data(raw, status, code, fields)
        record_refusal(postman=current_user._get_current_object(), data=data, now=clock.now())
        db.session.commit()
    except Exception:
        db.session.rollback()
        current_app.logger.exception("recording a refused attempt failed")


def _receive(meta, stop, replay: dict):
    """Check, stage, commit, publish; a lost race is answered as a replay or a 409.

    `replay` holds what find_replay is given: the postman, the digests, the uploads, the store.
    """
    config = current_app.config
    staging = replay["storage"].stage()
    try:
        receipt = receive_attempt(
            meta=meta,
            stop=stop,
            digest=replay["digest"],
            uploads=replay["uploads"],
            postman=replay["postman"],
            now=clock.now(),
            settings=ProofSettings.from_config(config),
            staging=staging,
            policy=config["DELIVERY_POLICY"],
            sent_at=phone_sent_at(request.headers.get(SENT_AT_HEADER), str(meta["attempt_id"])),
        )
        staging.seal()
        db.session.commit()
    except (IntegrityError, StaleDataError):
        # Lost a race: the same upload sent twice at once (answered as a replay), or another
        # attempt for this envelope got in first.
        db.session.rollback()
        staging.discard()
        receipt = find_replay(str(meta["attempt_id"]), **replay)
        if receipt is None:
            raise Conflict(
                _("Another attempt for this envelope was recorded at the same moment."),
                code="envelope_busy",
            ) from None
        return receipt
    except BaseException:
        db.session.rollback()
        staging.discard()
        raise
    try:
        staging.publish()
    except OSError:
        # Committed: the files are safe in staging; `flask proof-files orphans --apply`
        # (or the phone's replay, which carries them again) puts them in place.
        current_app.logger.exception("publishing attempt %s's files failed", receipt.attempt_id)
    return receipt


def _parse_meta(text: str | None) -> dict:
    """The attempt's meta as a JSON object, or 422 (malformed_meta, or the field at fault)."""
    if text is None or not text.strip():
        raise Invalid(_("The attempt's data could not be read."), code="malformed_meta")
    if len(text) > current_app.config["MAX_FORM_MEMORY_SIZE"]:
        raise TooLarge(_("The attempt's data is too large."), code="meta_too_large")
    try:
        return parse_json_object(text)
    except UnreadableJson as err:
        if err.path:
            fields = error_tree(err.path, err.reason)
            raise Invalid(_("Some fields are not valid."), fields=fields) from None
        raise Invalid(
            _("The attempt's data could not be read."),
            code="malformed_meta",
            fields={"meta": [err.reason]},
        ) from None


def _uploads() -> list[Upload]:
    """The uploaded files, in order; only the fields the contract names."""
    unexpected = sorted({name for name in request.files if name not in FILE_FIELDS})
    if unexpected:
        raise Invalid(
            _("Some fields are not valid."),
            fields={name: ["Unknown file field."] for name in unexpected},
        )
    return [
        Upload(field=name, data=storage.read()) for name, storage in request.files.items(multi=True)
    ]
