"""Signing an agency's webhook: HMAC-SHA256 over the timestamp and the body, both in headers.

The receiver recomputes the signature with its secret, refuses a timestamp too far from its own
clock (a replay) and de-duplicates on the event id (docs/webhooks.md shows it).
"""

from __future__ import annotations

import hashlib
import hmac

EVENT_ID_HEADER = "X-Trao-Event-Id"
TIMESTAMP_HEADER = "X-Trao-Timestamp"
SIGNATURE_HEADER = "X-Trao-Signature"
SIGNATURE_SCHEME = "sha256="
# How far a receiver's clock may be from the timestamp before it refuses the message.
DEFAULT_TOLERANCE_SECONDS = 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """`sha256=<hex>` of HMAC-SHA256(secret, "<timestamp>." + body)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return SIGNATURE_SCHEME + digest.hexdigest()


def signed_headers(secret: str, event_id: int | None, timestamp: int, body: bytes) -> dict:
    """The headers of one webhook POST."""
    return {
        "Content-Type": "application/json",
        "User-Agent": "Trao-Webhook/1",
        EVENT_ID_HEADER: str(event_id),
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, body),
    }


def verify(
    secret: str,
    timestamp: str | None,
    sent_signature: str | None,
    body: bytes,
    *,
    now: float,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    """What a receiver checks: a fresh timestamp and the signature of exactly these bytes."""
    if not timestamp or not sent_signature or not timestamp.isdigit():
        return False
    if abs(now - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, int(timestamp), body), sent_signature)
