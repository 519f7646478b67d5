"""Citizens' tracking links: made per envelope, found by their token, revoked, expired.

A token is 16 bytes (128 bits) of HMAC-SHA256 over the envelope's id and a random salt, written
in base64url (22 characters). The database keeps the salt and the token's SHA-256: the link is
found by the hash, and the server (which holds TRACKING_KEY) can write the same link again into a
message days later, without the database ever holding the token itself.

A link works while its envelope's story goes on and for `keep_days` after it ends (delivered,
collected, returned, cancelled); a revoked link never again. Unknown, revoked and expired tokens
are all simply not found.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from backend.domain.lifecycle import State
from backend.extensions import db
from backend.models import Dossier, Envelope, TrackingLink

TOKEN_BYTES = 16
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{22}\Z")
_ENDED = frozenset({State.delivered, State.collected, State.returned_to_agency, State.cancelled})


def _token(key: bytes, envelope_id: int, salt: str) -> str:
    message = f"tracking:{envelope_id}:{salt}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()[:TOKEN_BYTES]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_link(envelope: Envelope, *, key: bytes, now: datetime) -> str:
    """A new link for the envelope (flushed); its token."""
    salt = secrets.token_hex(16)
    token = _token(key, envelope.id, salt)
    db.session.add(
        TrackingLink(
            envelope_id=envelope.id, token_hash=hash_token(token), salt=salt, created_at=now
        )
    )
    db.session.flush()
    return token


def current_link(envelope_id: int) -> TrackingLink | None:
    """The envelope's newest link that was not revoked."""
    stmt = (
        select(TrackingLink)
        .where(TrackingLink.envelope_id == envelope_id, TrackingLink.revoked_at.is_(None))
        .order_by(TrackingLink.id.desc())
        .limit(1)
    )
    return db.session.execute(stmt).scalar_one_or_none()


def token_for(envelope: Envelope, *, key: bytes, now: datetime) -> str:
    """The token of the envelope's current link, made if it has none (flushed)."""
    link = current_link(envelope.id)
    if link is None:
        return issue_link(envelope, key=key, now=now)
    return _token(key, envelope.id, link.salt)


def tracking_url(public_url: str, token: str) -> str:
    """The link in full, as a message carries it."""
    return f"{public_url}/t/{token}"


def find_link(token: str, *, now: datetime, keep_days: int) -> TrackingLink | None:
    """The working link this token opens, or None (unknown, malformed, revoked or expired)."""
    if not isinstance(token, str) or not TOKEN_PATTERN.fullmatch(token):
        return None
    link = db.session.execute(
        select(TrackingLink).where(TrackingLink.token_hash == hash_token(token))
    ).scalar_one_or_none()
    if link is None or link.revoked_at is not None or expired(link, now=now, keep_days=keep_days):
        return None
    return link


def expired(link: TrackingLink, *, now: datetime, keep_days: int) -> bool:
    """Past the link's own end, or `keep_days` after its envelope's story ended."""
    if link.expires_at is not None and link.expires_at <= now:
        return True
    # With its dossier and office: the tracking page shows them (one query, not three).
    envelope = db.session.get(
        Envelope,
        link.envelope_id,
        options=[joinedload(Envelope.dossier).joinedload(Dossier.post_office)],
    )
    if envelope is None:
        return True
    return envelope.state in _ENDED and envelope.updated_at + timedelta(days=keep_days) <= now


LINK_REVOKED_EVENT = "envelope.link_revoked"


def revoke_tracking(envelope: Envelope, *, actor, now: datetime) -> int:
    """Staff revoke the envelope's links (a link was passed to someone it should not reach): the
    old ones open nothing from now on, the next message or receipt carries a new one. Recorded
    for the office (no webhook); flushed. How many links were revoked."""
    from backend.envelopes.services import record_office_event

    revoked = revoke_links(envelope.id, now=now)
    record_office_event(
        LINK_REVOKED_EVENT, now=now, actor=actor, envelope=envelope, data={"links": revoked}
    )
    return revoked


def revoke_links(envelope_id: int, *, now: datetime) -> int:
    """Revoke every working link of the envelope (flushed); how many."""
    links = db.session.scalars(
        select(TrackingLink).where(
            TrackingLink.envelope_id == envelope_id, TrackingLink.revoked_at.is_(None)
        )
    ).all()
    for link in links:
        link.revoked_at = now
    db.session.flush()
    return len(links)
