"""Use cases of an agency: registering dossiers and following them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from backend.domain.idnum import hash_id_number, last4, validate_id_number
from backend.domain.policy import ResultType
from backend.envelopes.services import create_envelopes, record_event
from backend.extensions import db
from backend.models import Agency, Dossier


def register_dossier(
    agency: Agency,
    fields: dict[str, Any],
    *,
    envelope_count: int = 1,
    now: datetime,
    id_key: bytes,
    code_prefix: str,
    recipient_id_number: str | None = None,
) -> Dossier:
    """Register a dossier and its envelopes; an ID number is kept only as keyed hash + last four."""
    ResultType(fields["result_type"])  # refuse an unknown result type early
    dossier = Dossier(agency=agency, post_office_id=agency.post_office_id, created_at=now, **fields)
    if recipient_id_number:
        number = validate_id_number(recipient_id_number)
        dossier.recipient_id_hash = hash_id_number(number, id_key)
        dossier.recipient_id_last4 = last4(number)
    db.session.add(dossier)
    db.session.flush()
    record_event("dossier.register", dossier=dossier, now=now, actor_kind="agency")
    create_envelopes(dossier, envelope_count, prefix=code_prefix, now=now)
    return dossier


def agency_dossiers(agency_id: int, limit: int = 200) -> list[Dossier]:
    """An agency's latest dossiers with their envelopes."""
    stmt = (
        select(Dossier)
        .where(Dossier.agency_id == agency_id)
        .options(selectinload(Dossier.envelopes))
        .order_by(Dossier.id.desc())
        .limit(limit)
    )
    return list(db.session.execute(stmt).scalars())
