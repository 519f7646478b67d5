"""Attempts the server refused on sync, kept as events so a supervisor sees them.

The phone shows a refusal to the postman; without a record no one else would. Only what names
the attempt and why it was refused is kept: codes, enumerated choices, the names of the fields
at fault — never a value the postman typed or scanned (a name, an ID number, a position).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from backend.envelopes.services import record_office_event
from backend.extensions import db
from backend.models import Dossier, Envelope, Event, User

REFUSAL_EVENT = "attempt.refused"
# Enumerated choices of the meta that say what kind of attempt it was, kept when they are
# one of the known values (anything else is dropped, not stored).
_CHOICES = {
    "outcome": {"delivered", "failed"},
    "reason_code": None,  # checked against the pattern below
}
_CODE = re.compile(r"[a-z_]{1,32}")
_ENVELOPE_CODE = re.compile(r"[A-Z]{2}[0-9]{9}[A-Z]{2}")
_ATTEMPT_ID = re.compile(r"[0-9a-fA-F-]{1,36}")
# Error details that are match results or counts, never personal data.
_KEPT_DETAILS = {"name_match", "number_match", "attempts_made", "attempt_number", "fees_due_vnd"}
MAX_FIELDS = 20
# A phone may send a refused attempt again (the postman retries it): one event per refusal.
DEDUPE_WINDOW = timedelta(days=1)


def refusal_data(meta: Any, status: int, code: str, fields: Any) -> dict[str, Any]:
    """What a refusal event keeps of the attempt and of the error (no personal data)."""
    meta = meta if isinstance(meta, Mapping) else {}
    data: dict[str, Any] = {"status": status, "code": str(code)[:48]}
    attempt_id = meta.get("attempt_id")
    if isinstance(attempt_id, str) and _ATTEMPT_ID.fullmatch(attempt_id):
        data["attempt_id"] = attempt_id.lower()
    envelope_code = meta.get("envelope_code")
    if isinstance(envelope_code, str) and _ENVELOPE_CODE.fullmatch(envelope_code):
        data["envelope_code"] = envelope_code
    stop_id = meta.get("stop_id")
    if isinstance(stop_id, int) and not isinstance(stop_id, bool) and 0 < stop_id < 2**31:
        data["stop_id"] = stop_id
    if meta.get("outcome") in _CHOICES["outcome"]:
        data["outcome"] = meta["outcome"]
    reason = meta.get("reason_code")
    if isinstance(reason, str) and _CODE.fullmatch(reason):
        data["reason_code"] = reason
    scan = meta.get("scan")
    if isinstance(scan, Mapping) and scan.get("method") in ("qr", "typed"):
        data["scan_method"] = scan["method"]
    if isinstance(fields, Mapping):
        data["fields"] = sorted(_field_paths(fields))[:MAX_FIELDS]
        details = {
            key: value
            for key, value in fields.items()
            if key in _KEPT_DETAILS and isinstance(value, bool | int | str) and len(str(value)) < 16
        }
        if details:
            data["details"] = details
    return data


def _field_paths(fields: Mapping, prefix: str = "", depth: int = 0) -> set[str]:
    """The dotted names of the fields at fault (only known-looking names, never values)."""
    paths: set[str] = set()
    for key, value in fields.items():
        name = str(key)
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,40}|[0-9]{1,4}", name):
            continue
        if name in _KEPT_DETAILS:
            continue
        path = f"{prefix}{name}"
        if isinstance(value, Mapping) and depth < 2:
            paths |= _field_paths(value, path + ".", depth + 1) or {path}
        else:
            paths.add(path)
    return paths


def record_refusal(*, postman: User, data: dict[str, Any], now: datetime) -> Event | None:
    """Append the refusal event (flush only); None when this refusal is already on record.

    The envelope is named only when it is one of the postman's office: a foreign label's
    refusal belongs to the postman's supervisor, not to another office's timeline.
    """
    if _already_recorded(postman, data, now):
        return None
    envelope = None
    if "envelope_code" in data and postman.post_office_id is not None:
        envelope = db.session.execute(
            select(Envelope)
            .join(Dossier, Envelope.dossier_id == Dossier.id)
            .where(
                Envelope.code == data["envelope_code"],
                Dossier.post_office_id == postman.post_office_id,
            )
        ).scalar_one_or_none()
    return record_office_event(REFUSAL_EVENT, now=now, actor=postman, envelope=envelope, data=data)


def _already_recorded(postman: User, data: dict[str, Any], now: datetime) -> bool:
    if "attempt_id" not in data:
        return False
    recent = db.session.execute(
        select(Event.data)
        .where(
            Event.kind == REFUSAL_EVENT,
            Event.occurred_at >= now - DEDUPE_WINDOW,
            Event.actor_id == postman.id,
        )
        .order_by(Event.id.desc())
        .limit(200)
    ).scalars()
    key = (data["attempt_id"], data["code"])
    return any((d or {}).get("attempt_id") == key[0] and d.get("code") == key[1] for d in recent)
