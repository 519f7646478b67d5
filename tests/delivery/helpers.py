"""Helpers of the postman's API tests: a run of today, real images, an attempt's meta."""

from __future__ import annotations

import hashlib
import io
import json
import uuid
from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from PIL import Image

from backend.clock import local_date
from backend.console.services import plan_run, receive_envelopes
from backend.domain.envelope_qr import sign_envelope_qr
from backend.models import Role
from tests.conftest import NOW

HOLDER_NAME = "Nguyễn Văn An"
HOLDER_ID = "020090123456"  # the factory's default recipient number
OFFICE_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
TODAY = local_date(NOW, "Asia/Ho_Chi_Minh")


def make_run(factory, count=1, *, postman=None, agency=None, run_date=TODAY, **dossier_kw):
    """A postman's run of today with `count` envelopes loaded; returns (postman, run)."""
    office = postman.post_office if postman else factory.office()
    postman = postman or factory.user(Role.postman, post_office=office)
    supervisor = factory.user(Role.supervisor, post_office=office)
    agency = agency or factory.agency(post_office=office)
    envelopes = [factory.envelope(agency=agency, **dossier_kw) for _ in range(count)]
    receive_envelopes(envelopes, actor=supervisor, now=NOW)
    run = plan_run(
        office=office,
        postman=postman,
        run_date=run_date,
        envelopes=envelopes,
        actor=supervisor,
        now=NOW,
    )
    return postman, run


def jpeg(width=64, height=48, colour=(200, 120, 40), exif=None) -> bytes:
    out = io.BytesIO()
    image = Image.new("RGB", (width, height), colour)
    kwargs = {"exif": exif} if exif is not None else {}
    image.save(out, format="JPEG", quality=85, **kwargs)
    return out.getvalue()


def png(width=120, height=60) -> bytes:
    out = io.BytesIO()
    Image.new("L", (width, height), 255).save(out, format="PNG")
    return out.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# Points as [x, y, t] (CSS px, ms since the epoch); apps before it sent {"x", "y", "t"}.
STROKES = [[[10.5, 20.1, 1700000000000], [30.0, 22.0, 1700000000040]]]
LEGACY_STROKES = [
    [{"x": 10.5, "y": 20.1, "t": 1700000000000}, {"x": 30.0, "y": 22.0, "t": 1700000000040}]
]


def delivered_meta(stop, files, /, **overrides) -> dict:
    """The meta of a good hand-over to the holder at the door, for `files` [(field, bytes)]."""
    code = stop.envelope.code
    meta = {
        "attempt_id": str(uuid.uuid4()),
        "stop_id": stop.id,
        "envelope_code": code,
        "outcome": "delivered",
        "reason_code": None,
        "note": "",
        "scan": {
            "method": "qr",
            "payload": sign_envelope_qr(code, current_app.config["QR_SIGNING_KEY"]),
        },
        "recipient": {
            "name": HOLDER_NAME.upper(),
            "relation": "holder",
            "id_document_type": "cccd",
            "id_check_method": "chip_qr",
            "id_number": HOLDER_ID,
        },
        "position": {"lat": 21.8453, "lon": 106.7613, "accuracy_m": 12.0},
        "device_time": (NOW - timedelta(minutes=3)).astimezone(OFFICE_TZ).isoformat(),
        "fees_collected_vnd": stop.envelope.dossier.fees_due_vnd,
        "signature_strokes": STROKES,
        "files": [{"field": field, "sha256": sha(data)} for field, data in files],
    }
    meta.update(overrides)
    return meta


def failed_meta(stop, files=(), /, reason="not_home", **overrides) -> dict:
    """The meta of a failed attempt (nobody at home by default)."""
    defaults = {
        "outcome": "failed",
        "reason_code": reason,
        "recipient": None,
        "fees_collected_vnd": 0,
        "signature_strokes": None,
    }
    return delivered_meta(stop, files, **{**defaults, **overrides})


def default_files() -> list[tuple[str, bytes]]:
    return [("signature", png()), ("photo", jpeg())]


def post_attempt(client, meta, files, headers=None):
    """POST /api/v1/attempts as the phone does: meta as JSON text, files as parts."""
    data: dict = {"meta": meta if isinstance(meta, str) else json.dumps(meta)}
    for index, (field, blob) in enumerate(files):
        ext = "png" if field == "signature" else "jpg"
        data.setdefault(field, []).append((io.BytesIO(blob), f"{field}{index}.{ext}"))
    return client.post(
        "/api/v1/attempts", data=data, content_type="multipart/form-data", headers=headers or {}
    )


def stored_files() -> list[str]:
    """Every file under the app's proof store, staging area included (paths from its root)."""
    from backend.storage import get_storage

    root = get_storage().root
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
