"""Dossiers from the agencies and the envelopes that carry their results."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    DDL,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from backend.domain.lifecycle import State
from backend.domain.names import fold_name
from backend.extensions import db
from backend.models.org import Agency, PostOffice
from backend.models.types import UTCDateTime, utcnow


def _folded_recipient(context) -> str:
    """For inserts that bypass the ORM (bulk loads): the folded name from the row's own."""
    return fold_name(context.get_current_parameters()["recipient_name"])


class Dossier(db.Model):
    """One administrative procedure's result to hand over to a citizen or organisation."""

    __tablename__ = "dossier"
    __table_args__ = (
        UniqueConstraint("agency_id", "code", name="uq_dossier_agency_code"),
        CheckConstraint("postage_vnd >= 0 AND agency_fee_vnd >= 0", name="fees_not_negative"),
        Index("ix_dossier_office_promised", "post_office_id", "promised_date"),
        # A name anywhere in the folded name (LIKE '%…%'): trigrams on PostgreSQL (0008c); on
        # SQLite (development, tests) a plain index, unused by such a LIKE.
        Index(
            "ix_dossier_name_trigram",
            "recipient_name_folded",
            postgresql_using="gin",
            postgresql_ops={"recipient_name_folded": "gin_trgm_ops"},
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), index=True)  # from the one-stop-shop system
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    post_office_id: Mapped[int] = mapped_column(ForeignKey("post_office.id"))
    procedure_code: Mapped[str] = mapped_column(String(64))
    procedure_name: Mapped[str] = mapped_column(String(300))
    result_type: Mapped[str] = mapped_column(String(32))
    # None: the policy's default for the result type decides who may receive.
    holder_only: Mapped[bool | None] = mapped_column(Boolean)
    applicant_name: Mapped[str] = mapped_column(String(200))
    recipient_name: Mapped[str] = mapped_column(String(200))
    # The name without diacritics, lower case: what staff type when they search for it.
    recipient_name_folded: Mapped[str] = mapped_column(
        String(200), default=_folded_recipient, index=True
    )
    recipient_phone: Mapped[str | None] = mapped_column(String(20), index=True)
    # The recipient's ID number is never kept in clear: a keyed hash and its last four digits.
    recipient_id_hash: Mapped[str | None] = mapped_column(String(64))
    recipient_id_last4: Mapped[str | None] = mapped_column(String(4))
    address_line: Mapped[str] = mapped_column(String(300))  # house number and street or lane
    hamlet: Mapped[str | None] = mapped_column(String(120))  # thôn / tổ dân phố
    commune_code: Mapped[int] = mapped_column(Integer, index=True)
    commune_name: Mapped[str] = mapped_column(String(120))
    province_code: Mapped[int] = mapped_column(Integer)
    province_name: Mapped[str] = mapped_column(String(120))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    postage_vnd: Mapped[int] = mapped_column(Integer, default=0)
    agency_fee_vnd: Mapped[int] = mapped_column(Integer, default=0)
    promised_date: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    agency: Mapped[Agency] = relationship()
    post_office: Mapped[PostOffice] = relationship()
    envelopes: Mapped[list[Envelope]] = relationship(
        back_populates="dossier", order_by="Envelope.id"
    )

    @validates("recipient_name")
    def _fold_recipient(self, _key: str, name: str) -> str:
        self.recipient_name_folded = fold_name(name)
        return name

    @property
    def fees_due_vnd(self) -> int:
        """What the postman collects at the door: postage plus fees forwarded for the agency."""
        return self.postage_vnd + self.agency_fee_vnd

    @property
    def full_address(self) -> str:
        parts = [self.address_line, self.hamlet, self.commune_name, self.province_name]
        return ", ".join(p for p in parts if p)


class Envelope(db.Model):
    """A sealed envelope with an S10 code; its state moves only through the lifecycle service."""

    __tablename__ = "envelope"
    __table_args__ = (Index("ix_envelope_state", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(13), unique=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), index=True)
    # Mapped as `_state`; read through `state`. Only backend.envelopes.services writes it.
    _state: Mapped[str] = mapped_column("state", String(24), default=State.registered.value)
    attempts_made: Mapped[int] = mapped_column(Integer, default=0)
    held_on: Mapped[date | None] = mapped_column(Date)
    hold_deadline: Mapped[date | None] = mapped_column(Date)
    # Optimistic lock: two writers racing on one envelope cannot both win.
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    dossier: Mapped[Dossier] = relationship(back_populates="envelopes")

    __mapper_args__ = {"version_id_col": version}

    @property
    def state(self) -> State:
        return State(self._state)


class CodeSequence(db.Model):
    """The next serial number for envelope codes of one prefix."""

    __tablename__ = "code_sequence"

    prefix: Mapped[str] = mapped_column(String(2), primary_key=True)
    next_serial: Mapped[int] = mapped_column(Integer, default=1)


# The trigram index needs its extension where the tables are made without migrations (tests).
event.listen(
    Dossier.__table__,
    "before_create",
    DDL("CREATE EXTENSION IF NOT EXISTS pg_trgm").execute_if(dialect="postgresql"),
)
