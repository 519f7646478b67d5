"""The audit trail of running the office: who changed which account or agency, and when."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, event
from sqlalchemy.orm import Mapped, mapped_column

from backend.extensions import db
from backend.models.events import AppendOnlyError, BigId
from backend.models.types import JSONType, UTCDateTime, utcnow


class AuditEvent(db.Model):
    """One administrative change. Never updated or deleted; `data` holds ids and codes only."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_user", "user_id", "id"),
        Index("ix_audit_event_agency", "agency_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(48))  # e.g. user.deactivate
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    data: Mapped[dict] = mapped_column(JSONType, default=dict)


@event.listens_for(AuditEvent, "before_update")
def _refuse_update(mapper, connection, target):
    raise AppendOnlyError("audit events are append-only")


@event.listens_for(AuditEvent, "before_delete")
def _refuse_delete(mapper, connection, target):
    raise AppendOnlyError("audit events are append-only")
