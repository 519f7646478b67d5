"""Agencies' API keys: several may be live at once, so a new one is deployed before the old one
is revoked. The key itself is shown once; only its SHA-256 is kept."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.extensions import db
from backend.models.org import Agency
from backend.models.types import UTCDateTime, utcnow

# What the console shows of a key, enough to tell two apart ("trao_AbCdEf…").
KEY_PREFIX_CHARS = 12


class ApiKey(db.Model):
    """One key an agency's system authenticates with (`Authorization: Bearer <key>`)."""

    __tablename__ = "api_key"
    __table_args__ = (Index("ix_api_key_agency", "agency_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    # SHA-256 of a random key (no salt needed): looked up through the unique index, so no
    # comparison in Python can tell by its timing how much of a guess was right.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(KEY_PREFIX_CHARS))
    label: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # Written at most once a minute (API_KEY_LAST_USED_EVERY_SECONDS), not at every call.
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    agency: Mapped[Agency] = relationship()

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @property
    def live(self) -> bool:
        return self.revoked_at is None
