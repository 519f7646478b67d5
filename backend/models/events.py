"""The append-only event log, tracking links and the outbox of outgoing messages."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column

from backend.extensions import db
from backend.models.types import JSONType, UTCDateTime, utcnow

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Event(db.Model):
    """Something that happened to a dossier or envelope. Never updated or deleted."""

    __tablename__ = "event"
    __table_args__ = (
        Index("ix_event_dossier", "dossier_id", "id"),
        Index("ix_event_envelope", "envelope_id", "id"),
        Index("ix_event_kind_time", "kind", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(48))  # e.g. envelope.deliver
    dossier_id: Mapped[int | None] = mapped_column(ForeignKey("dossier.id"))
    envelope_id: Mapped[int | None] = mapped_column(ForeignKey("envelope.id"))
    from_state: Mapped[str | None] = mapped_column(String(24))
    to_state: Mapped[str | None] = mapped_column(String(24))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    actor_kind: Mapped[str] = mapped_column(String(16))  # user | agency | citizen | system
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    data: Mapped[dict] = mapped_column(JSONType, default=dict)


class AppendOnlyError(RuntimeError):
    """Raised when code tries to change or remove a logged event."""


@event.listens_for(Event, "before_update")
def _refuse_event_update(mapper, connection, target):
    raise AppendOnlyError("events are append-only; record a correction as a new event")


@event.listens_for(Event, "before_delete")
def _refuse_event_delete(mapper, connection, target):
    raise AppendOnlyError("events are append-only; they are never deleted")


class TrackingLink(db.Model):
    """A citizen's link to follow an envelope: a 128-bit token, kept only as its hash.

    The token is HMAC(TRACKING_KEY, envelope and salt): the database holds the salt and the
    token's SHA-256, so a copy of the database alone makes no link, while the server can write the
    link again into each message it sends (backend/tracking/links.py).
    """

    __tablename__ = "tracking_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    envelope_id: Mapped[int] = mapped_column(ForeignKey("envelope.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    salt: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TrackingGuard(db.Model):
    """Wrong guesses at an envelope's phone digits on its tracking page, and the lock they earn.

    In the database, not a worker's memory, so the lock holds across workers and restarts
    (backend/tracking/services.py); one row per envelope that was ever guessed wrong.
    """

    __tablename__ = "tracking_guard"

    envelope_id: Mapped[int] = mapped_column(ForeignKey("envelope.id"), primary_key=True)
    wrong_guesses: Mapped[int] = mapped_column(Integer, default=0)
    last_wrong_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OutboxMessage(db.Model):
    """A message to send (webhook, SMS), written in the same transaction as its event.

    The table is the source of truth of delivery (backend/outbox): a worker claims due rows
    for a lease (`claimed_until`, `claim_token`), sends them, then records the outcome. One
    dossier's messages of one channel go out in order: a row waits while an earlier one of its
    dossier and channel is unsent (pending or parked).
    """

    __tablename__ = "outbox_message"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_dossier", "dossier_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("event.id"))
    channel: Mapped[str] = mapped_column(String(16))  # webhook | notify (a citizen's Zalo/SMS)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    dossier_id: Mapped[int | None] = mapped_column(ForeignKey("dossier.id"))
    payload: Mapped[dict] = mapped_column(JSONType)
    # pending (to send, or being retried) | sent | parked (tries spent: waits for a person)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    tries: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)  # a status code or exception class
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The lease of the worker sending it: past `claimed_until` another worker may claim it.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    # Notifications (backend/notify): the gateway being tried (zalo, sms, log) while pending,
    # the one that delivered it once sent, and the provider's id of the message it sent.
    gateway: Mapped[str | None] = mapped_column(String(16))
    provider_message_id: Mapped[str | None] = mapped_column(String(64))


# Set in a session's `info` when it adds outbox rows: its commit wakes the worker.
OUTBOX_WRITTEN = "trao_outbox_written"
