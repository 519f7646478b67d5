"""The postman's JSON API (docs/api-delivery.md): session, today's runs, attempts."""

from __future__ import annotations

import json

from flask import current_app, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from backend import __version__, clock
from backend.auth.access import roles_required
from backend.delivery import bp
from backend.delivery.proof_files import Upload
from backend.delivery.schemas import (
    FILE_FIELDS,
    AttemptMetaSchema,
    AttemptReceiptSchema,
    dump_runs_today,
)
from backend.delivery.services import (
    ProofSettings,
    find_replay,
    last_attempts,
    meta_digest,
    open_runs_today,
    receive_attempt,
)
from backend.errors import Conflict, Invalid
from backend.extensions import db
from backend.models import Role
from backend.storage import get_storage

DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"


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
    return jsonify(
        dump_runs_today(
            runs,
            attempts,
            day=day,
            now=now,
            settings=settings,
            qr_key=config["QR_SIGNING_KEY"],
            policy=policy,
        )
    )


@bp.post("/api/v1/attempts")
@roles_required(Role.postman)
def api_post_attempt():
    """Receive one attempt (meta + files); 201 the first time, 200 with the same body on replay."""
    raw = _parse_meta(request.form.get("meta"))
    meta = AttemptMetaSchema().load(raw)
    uploads = _uploads()
    config = current_app.config
    digest = meta_digest(raw, config["ID_HASH_KEY"])
    try:
        receipt = receive_attempt(
            meta=meta,
            digest=digest,
            uploads=uploads,
            postman=current_user,
            now=clock.now(),
            settings=ProofSettings.from_config(config),
            storage=get_storage(),
            policy=config["DELIVERY_POLICY"],
        )
        db.session.commit()
    except (IntegrityError, StaleDataError):
        # Lost a race: the same upload sent twice at once (answered as a replay), or another
        # attempt for this envelope got in first.
        db.session.rollback()
        receipt = find_replay(str(meta["attempt_id"]), postman=current_user, digest=digest)
        if receipt is None:
            raise Conflict(
                _("Another attempt for this envelope was recorded at the same moment."),
                code="envelope_busy",
            ) from None
    except Exception:
        db.session.rollback()
        raise
    status = 200 if receipt.replay else 201
    return jsonify(AttemptReceiptSchema().dump(receipt)), status


def _parse_meta(text: str | None) -> dict:
    """The attempt's meta as a JSON object, or 422 malformed_meta."""
    try:
        raw = json.loads(text) if text else None
    except ValueError:
        raw = None
    if not isinstance(raw, dict):
        raise Invalid(_("The attempt's data could not be read."), code="malformed_meta")
    return raw


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
