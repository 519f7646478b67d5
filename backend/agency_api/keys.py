"""Agencies' API keys: issued (shown once), looked up by hash, revoked; and the rate-limit key.

A key is `trao_` and 43 random URL-safe characters (256 bits). Only its SHA-256 is kept: the key
is random, so no salt or slow hash is needed, and the lookup goes through the unique index on the
hash, so no comparison in Python can leak by its timing how close a guess was.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import wraps

from flask import current_app, g, request
from flask_babel import gettext as _
from sqlalchemy import or_, select, update

from backend import clock
from backend.console.admin import audit, require_admin
from backend.errors import AppError, NotFound, error_response
from backend.extensions import csrf, db, limiter
from backend.models import Agency, ApiKey, User
from backend.models.api_key import KEY_PREFIX_CHARS

KEY_PREFIX = "trao_"
KEY_BYTES = 32
MAX_LABEL_CHARS = 100
# Longer than any key we make: a longer header is refused before it is hashed.
MAX_KEY_CHARS = 200


class ApiKeyRefused(AppError):
    status, code = 401, "invalid_api_key"


@dataclass(frozen=True)
class IssuedKey:
    """A new key: the row kept, and the key itself, which is shown this once."""

    api_key: ApiKey
    secret: str


def issue_api_key(actor: User, agency: Agency, *, label: str, now: datetime) -> IssuedKey:
    """A new live key for `agency` beside its others (rotation: deploy it, then revoke the old)."""
    require_admin(actor)
    secret = KEY_PREFIX + secrets.token_urlsafe(KEY_BYTES)
    row = ApiKey(
        agency=agency,
        key_hash=ApiKey.hash_key(secret),
        prefix=secret[:KEY_PREFIX_CHARS],
        label=label,
        created_at=now,
        created_by_id=actor.id,
    )
    db.session.add(row)
    db.session.flush()
    audit("agency.api_key.issue", actor=actor, now=now, agency=agency, api_key_id=row.id)
    return IssuedKey(row, secret)


def agency_keys(agency: Agency) -> list[ApiKey]:
    """The agency's keys, newest first, revoked ones included."""
    stmt = select(ApiKey).where(ApiKey.agency_id == agency.id).order_by(ApiKey.id.desc())
    return list(db.session.scalars(stmt))


def revoke_api_key(actor: User, agency: Agency, key_id: int, *, now: datetime) -> ApiKey:
    """Stop a key working at once; revoking a revoked key changes nothing."""
    require_admin(actor)
    row = db.session.get(ApiKey, key_id) if 0 < key_id < 2**31 else None
    if row is None or row.agency_id != agency.id:
        raise NotFound(_("This key does not exist."), code="api_key_not_found")
    if row.revoked_at is None:
        row.revoked_at = now
        audit("agency.api_key.revoke", actor=actor, now=now, agency=agency, api_key_id=row.id)
    return row


def key_from_header(header: str | None) -> str | None:
    """The key of an `Authorization: Bearer <key>` header, or None."""
    if not header or len(header) > MAX_KEY_CHARS + 10:
        return None
    scheme, _sep, key = header.partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key or len(key) > MAX_KEY_CHARS:
        return None
    return key


def authenticate(header: str | None, *, now: datetime, every_seconds: int) -> ApiKey:
    """The live key the header carries, its use noted (at most once every `every_seconds`)."""
    key = key_from_header(header)
    row = None
    if key is not None:
        stmt = select(ApiKey).where(
            ApiKey.key_hash == ApiKey.hash_key(key), ApiKey.revoked_at.is_(None)
        )
        row = db.session.execute(stmt).scalar_one_or_none()
    if row is None:
        raise ApiKeyRefused(_("A valid API key is needed (Authorization: Bearer <key>)."))
    if row.last_used_at is None or now - row.last_used_at >= timedelta(seconds=every_seconds):
        # Conditional, so two requests at once write it once; committed on its own, so a
        # request that fails later still counts as a use.
        db.session.execute(
            update(ApiKey)
            .where(
                ApiKey.id == row.id,
                or_(
                    ApiKey.last_used_at.is_(None),
                    ApiKey.last_used_at <= now - timedelta(seconds=every_seconds),
                ),
            )
            .values(last_used_at=now)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
    return row


def rate_limit_key() -> str:
    """Requests are counted per API key (its id names no one)."""
    api_key = g.get("api_key_id")
    return f"apikey:{api_key}" if api_key else "apikey:none"


def _agency_rate() -> str:
    return current_app.config["TRAO_API_RATE"]


def agency_endpoint(view):
    """An agency API view: Bearer key required (401 otherwise), counted against the key's rate
    limit (429), no CSRF token (no cookie authenticates it). The view gets `agency`."""
    limited = limiter.shared_limit(_agency_rate, scope="agency_api", key_func=rate_limit_key)(view)

    @wraps(view)
    def wrapped(*args, **kwargs):
        try:
            api_key = authenticate(
                request.headers.get("Authorization"),
                now=clock.now(),
                every_seconds=current_app.config["TRAO_API_KEY_LAST_USED_EVERY_SECONDS"],
            )
        except ApiKeyRefused as err:
            db.session.rollback()
            response = current_app.make_response(error_response(err.status, err.code, err.message))
            response.headers["WWW-Authenticate"] = 'Bearer realm="trao"'
            return response
        g.api_key_id = api_key.id
        agency = db.session.get(Agency, api_key.agency_id)
        return limited(*args, agency=agency, **kwargs)

    return csrf.exempt(wrapped)
