"""Hand-overs between an agency and a post office, envelope by envelope, on a signed record."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.extensions import db
from backend.models.dossier import Envelope
from backend.models.org import Agency, PostOffice, User
from backend.models.types import UTCDateTime, utcnow


class Handover(db.Model):
    """One hand-over: an agency's courier brings envelopes to the office (`receive`).

    Open until finished; its record (a PDF signed by both sides) lists what changed hands.
    """

    __tablename__ = "handover"
    __table_args__ = (Index("ix_handover_office_started", "post_office_id", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default="receive")
    post_office_id: Mapped[int] = mapped_column(ForeignKey("post_office.id"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    started_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    # The agency's courier who hands the envelopes over, as written on the record.
    courier_name: Mapped[str | None] = mapped_column(String(200))
    # What the agency had announced (registered, not yet at the office) when it began.
    announced: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    post_office: Mapped[PostOffice] = relationship()
    agency: Mapped[Agency] = relationship()
    started_by: Mapped[User] = relationship()
    items: Mapped[list[HandoverItem]] = relationship(
        back_populates="handover", order_by="HandoverItem.id"
    )


class HandoverItem(db.Model):
    """One envelope scanned in during a hand-over."""

    __tablename__ = "handover_item"
    __table_args__ = (
        UniqueConstraint("handover_id", "envelope_id", name="uq_handover_item_envelope"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    handover_id: Mapped[int] = mapped_column(ForeignKey("handover.id"), index=True)
    envelope_id: Mapped[int] = mapped_column(ForeignKey("envelope.id"), index=True)
    scanned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    handover: Mapped[Handover] = relationship(back_populates="items")
    envelope: Mapped[Envelope] = relationship()
