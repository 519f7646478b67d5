"""Delivery runs, their ordered stops, and the attempts made at each door."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.extensions import db
from backend.models.dossier import Envelope
from backend.models.org import PostOffice, User
from backend.models.types import JSONType, UTCDateTime, utcnow


class RunState(StrEnum):
    planned = "planned"
    in_progress = "in_progress"
    closed = "closed"


class DeliveryRun(db.Model):
    """One postman's round for one working day."""

    __tablename__ = "delivery_run"
    __table_args__ = (
        Index("ix_run_postman_date", "postman_id", "run_date"),
        Index("ix_run_office_date", "post_office_id", "run_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    post_office_id: Mapped[int] = mapped_column(ForeignKey("post_office.id"))
    postman_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    run_date: Mapped[date] = mapped_column(Date)  # a day in the office's time zone
    state: Mapped[str] = mapped_column(String(16), default=RunState.planned.value)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    post_office: Mapped[PostOffice] = relationship()
    postman: Mapped[User] = relationship()
    stops: Mapped[list[RunStop]] = relationship(
        back_populates="run", order_by="RunStop.position", cascade="all, delete-orphan"
    )


def _own_visit(context) -> int:
    """A stop made without a visit number is a door of its own (numbered as its position)."""
    return context.get_current_parameters()["position"]


class RunStop(db.Model):
    """An envelope's place in a run."""

    __tablename__ = "run_stop"
    __table_args__ = (
        UniqueConstraint("run_id", "position", name="uq_run_stop_position"),
        UniqueConstraint("run_id", "envelope_id", name="uq_run_stop_envelope"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("delivery_run.id"))
    envelope_id: Mapped[int] = mapped_column(ForeignKey("envelope.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    # The door: envelopes for the same recipient at the same address share a visit number and
    # are handed over in one stop. Visits follow the positions' order; alone, visit = position.
    visit: Mapped[int] = mapped_column(Integer, default=_own_visit)

    run: Mapped[DeliveryRun] = relationship(back_populates="stops")
    envelope: Mapped[Envelope] = relationship()


# An attempt that is an exception (backend/console/exceptions.py queries it in these words).
_EXCEPTION = "outcome = 'failed' OR needs_review IS true"


class DeliveryAttempt(db.Model):
    """One attempt at the door: the proof record, immutable once accepted.

    The primary key is the UUID the phone made, so a replayed upload finds its record.
    """

    __tablename__ = "delivery_attempt"
    __table_args__ = (
        # Unique: two attempts racing for one envelope cannot both be its attempt n.
        Index("uq_attempt_envelope_number", "envelope_id", "attempt_number", unique=True),
        Index("ix_attempt_run", "run_id"),
        Index("ix_attempt_received", "received_at"),
        Index("ix_attempt_needs_review", "needs_review"),
        # The exception queue's attempts, found through an office's runs (migration 0008c).
        Index(
            "ix_attempt_exception_run",
            "run_id",
            postgresql_where=text(_EXCEPTION),
            sqlite_where=text(_EXCEPTION),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # attempt_id from the phone
    envelope_id: Mapped[int] = mapped_column(ForeignKey("envelope.id"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("delivery_run.id"))
    stop_id: Mapped[int | None] = mapped_column(ForeignKey("run_stop.id"))
    postman_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    attempt_number: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(16))  # delivered | failed
    reason_code: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    # The envelope scan: the signed payload read at the door, or a code typed by hand.
    scan_method: Mapped[str | None] = mapped_column(String(16))  # qr | typed
    qr_payload: Mapped[str | None] = mapped_column(String(64))
    # The recipient.
    recipient_name: Mapped[str | None] = mapped_column(String(200))
    relation: Mapped[str | None] = mapped_column(String(32))
    id_document_type: Mapped[str | None] = mapped_column(String(32))
    id_check_method: Mapped[str | None] = mapped_column(String(16))
    id_last4: Mapped[str | None] = mapped_column(String(4))
    id_hash: Mapped[str | None] = mapped_column(String(64))
    name_match: Mapped[str | None] = mapped_column(String(16))
    number_match: Mapped[bool | None] = mapped_column(Boolean)
    # Where and when.
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    distance_m: Mapped[float | None] = mapped_column(Float)
    distance_flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    device_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    fees_collected_vnd: Mapped[int] = mapped_column(Integer, default=0)
    signature_strokes: Mapped[list | None] = mapped_column(JSONType)
    # SHA-256 of the canonical meta: a replay with other content is a conflict.
    meta_digest: Mapped[str] = mapped_column(String(64))
    # What the supervisor should look at (a weak identity match the postman confirmed, a poor
    # or dropped GPS fix, far from the address): codes of backend.domain.review.ReviewFlag.
    review_flags: Mapped[list] = mapped_column(JSONType, default=list)
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)

    envelope: Mapped[Envelope] = relationship()
    files: Mapped[list[ProofFile]] = relationship(back_populates="attempt")


class ProofFile(db.Model):
    """A file of a proof, stored under its SHA-256 as the phone made it."""

    __tablename__ = "proof_file"
    __table_args__ = (Index("ix_proof_file_sha256", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[str] = mapped_column(ForeignKey("delivery_attempt.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # signature | photo | authorization
    sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    derivative_sha256: Mapped[str | None] = mapped_column(String(64))

    attempt: Mapped[DeliveryAttempt] = relationship(back_populates="files")
