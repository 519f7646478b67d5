"""Who works in Trao: post offices, agencies and users."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import Boolean, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from backend.extensions import db
from backend.models.types import UTCDateTime, utcnow


class Role(StrEnum):
    postman = "postman"
    supervisor = "supervisor"
    agency = "agency"
    admin = "admin"


class PostOffice(db.Model):
    """A post office (bưu cục) that receives envelopes and runs deliveries."""

    __tablename__ = "post_office"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300))
    commune_code: Mapped[int | None] = mapped_column(Integer)
    province_code: Mapped[int] = mapped_column(Integer)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Ho_Chi_Minh")
    # Promised delivery times after collection (DOMAIN.md: 1–2 working days in towns, 2–3 outlying).
    delivery_days_town: Mapped[int] = mapped_column(Integer, default=2)
    delivery_days_outlying: Mapped[int] = mapped_column(Integer, default=3)
    # When citizens may collect a held envelope, in the office's own words (the tracking page).
    opening_hours: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Agency(db.Model):
    """An agency whose one-stop-shop system sends dossiers and receives proofs."""

    __tablename__ = "agency"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    province_code: Mapped[int] = mapped_column(Integer)
    post_office_id: Mapped[int] = mapped_column(ForeignKey("post_office.id"), index=True)
    # Who the office calls about this agency's hand-overs.
    contact_name: Mapped[str | None] = mapped_column(String(200))
    contact_phone: Mapped[str | None] = mapped_column(String(20))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    # The webhook secret is HMAC(TRAO_WEBHOOK_KEY, salt) (see `webhook_secret`): the database
    # holds only this random salt, so a copy of the database alone cannot sign a webhook.
    webhook_secret_salt: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    post_office: Mapped[PostOffice] = relationship()

    def set_api_key(self, key: str, *, label: str = "Key", now: datetime | None = None) -> None:
        """Add a live API key whose value is chosen by the caller (demo and tests; the console
        makes random ones with backend.agency_api.keys.issue_api_key)."""
        from backend.models.api_key import KEY_PREFIX_CHARS, ApiKey

        db.session.add(
            ApiKey(
                agency=self,
                key_hash=ApiKey.hash_key(key),
                prefix=key[:KEY_PREFIX_CHARS],
                label=label,
                created_at=now or utcnow(),
            )
        )

    def webhook_secret(self, key: bytes) -> str | None:
        """The secret signing this agency's webhooks, rebuilt from the server key and the salt."""
        if not self.webhook_secret_salt:
            return None
        message = f"agency-webhook:{self.id}:{self.webhook_secret_salt}".encode()
        digest = hmac.new(key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class User(UserMixin, db.Model):
    """A person who logs in: postman, supervisor, agency clerk or administrator."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    full_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), index=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    post_office_id: Mapped[int | None] = mapped_column(ForeignKey("post_office.id"), index=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Demo accounts share a published password: a production instance refuses them.
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    locale: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The last call of the postman's phone to the API (runs, attempts), written at most once
    # every TRAO_LAST_SEEN_EVERY_SECONDS: what the live page's "last seen" says.
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # How many attempts the phone said were waiting in its outbox (X-Trao-Outbox), and when it
    # said so: closing the postman's run over waiting attempts needs a confirmation (issue 11).
    outbox_waiting: Mapped[int | None] = mapped_column(Integer)
    outbox_reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    post_office: Mapped[PostOffice | None] = relationship()
    agency: Mapped[Agency | None] = relationship()

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    def set_password(self, password: str, method: str = "scrypt") -> None:
        self.password_hash = generate_password_hash(password, method=method)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def has_role(self, *roles: Role | str) -> bool:
        return self.role in {str(r) for r in roles}
