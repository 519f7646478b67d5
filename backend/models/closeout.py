"""Closing a run: the envelopes handed back at the end of the day, and the close-out record."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.extensions import db
from backend.models.dossier import Envelope
from backend.models.org import User
from backend.models.runs import DeliveryRun
from backend.models.types import JSONType, UTCDateTime, utcnow


class RunReturn(db.Model):
    """One envelope of a run scanned back in at the office (issue 11).

    `outcome` is what the scan did: `unloaded` (never attempted: back to at_office), `back`
    (failed with attempts left: stays attempt_failed, its return recorded) or `held` (its home
    attempts spent: held_at_office)."""

    __tablename__ = "run_return"
    __table_args__ = (UniqueConstraint("run_id", "envelope_id", name="uq_run_return_envelope"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("delivery_run.id"), index=True)
    envelope_id: Mapped[int] = mapped_column(ForeignKey("envelope.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    scanned_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    scanned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    envelope: Mapped[Envelope] = relationship()


class RunCloseout(db.Model):
    """The close-out of a run: what should have come back, what did, and the money.

    Written once, when the run is closed; never changed after (a later correction is an event).
    """

    __tablename__ = "run_closeout"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("delivery_run.id"), unique=True)
    # The fees the postman recorded as collected on the run's delivered attempts (once per
    # dossier), and what was handed over at the counter.
    expected_vnd: Mapped[int] = mapped_column(Integer)
    received_vnd: Mapped[int] = mapped_column(Integer)
    # Envelopes that should have come back (not delivered) and those scanned back.
    expected_back: Mapped[int] = mapped_column(Integer)
    scanned_back: Mapped[int] = mapped_column(Integer)
    # Envelope ids that should have come back and were not scanned: an exception.
    missing_envelope_ids: Mapped[list] = mapped_column(JSONType, default=list)
    note: Mapped[str | None] = mapped_column(Text)
    # What the phone last reported waiting in its outbox when the run was closed (None: nothing
    # reported, or none waiting); closing over it took an explicit confirmation.
    phone_waiting: Mapped[int | None] = mapped_column(Integer)
    closed_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    closed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    run: Mapped[DeliveryRun] = relationship()
    closed_by: Mapped[User] = relationship()

    @property
    def difference_vnd(self) -> int:
        """Received less expected: negative is short, positive is over."""
        return self.received_vnd - self.expected_vnd
