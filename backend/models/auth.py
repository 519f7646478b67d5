"""Log-ins held on the server: what a session cookie must name to be honoured."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.extensions import db
from backend.models.types import UTCDateTime, utcnow


class AuthSession(db.Model):
    """One log-in on one device, until it expires or is ended.

    The signed session cookie carries a random 128-bit id; only its SHA-256 is kept here, so the
    table cannot be turned back into cookies. Deleting the row ends every copy of that cookie.
    """

    __tablename__ = "auth_session"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The server's expiry is the authority; the cookie's Expires only spares a dead request.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
