"""Finding an envelope or dossier: by code, by the recipient's name (with or without
diacritics) or phone; and an envelope's whole story, from its events."""

from __future__ import annotations

import re

from flask_babel import gettext as _
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from backend.domain.codes import is_valid_envelope_code, validate_envelope_code
from backend.domain.names import fold_name
from backend.errors import NotFound
from backend.extensions import db
from backend.models import DeliveryAttempt, Dossier, Envelope, Event
from backend.validation import one_line

SEARCH_LIMIT = 50
MAX_QUERY_CHARS = 100
_PHONE = re.compile(r"(?:\+?84|0)(\d{9})")


def _like(text: str) -> str:
    """`text` as a LIKE pattern matching anywhere, its own % and _ taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_envelopes(query: str, office_id: int | None) -> list[Envelope]:
    """Envelopes whose code, dossier code, recipient's phone or name matches `query`."""
    query = one_line(query, MAX_QUERY_CHARS)
    if not query:
        return []
    statement = (
        select(Envelope)
        .join(Envelope.dossier)
        .options(selectinload(Envelope.dossier))
        .order_by(Envelope.id.desc())
        .limit(SEARCH_LIMIT)
    )
    if office_id is not None:
        statement = statement.where(Dossier.post_office_id == office_id)
    phone = _PHONE.fullmatch(re.sub(r"[\s.\-]", "", query))
    if is_valid_envelope_code(query):
        statement = statement.where(Envelope.code == validate_envelope_code(query))
    elif phone:
        statement = statement.where(Dossier.recipient_phone == "0" + phone.group(1))
    else:
        folded = fold_name(query)
        statement = statement.where(
            or_(
                Dossier.code == query,
                Dossier.recipient_name_folded.like(_like(folded), escape="\\"),
            )
        )
    return list(db.session.scalars(statement))


def envelope_story(code: str, office_id: int | None) -> tuple[Envelope, list[Event], list]:
    """The envelope, its events oldest first, and its attempts with their files."""
    envelope = None
    if is_valid_envelope_code(code):
        envelope = db.session.scalars(
            select(Envelope)
            .where(Envelope.code == validate_envelope_code(code))
            .options(selectinload(Envelope.dossier))
        ).first()
    if envelope is None or (office_id is not None and envelope.dossier.post_office_id != office_id):
        raise NotFound(_("No such envelope: %(codes)s", codes=code[:20]), code="envelope_not_found")
    events = list(
        db.session.scalars(select(Event).where(Event.envelope_id == envelope.id).order_by(Event.id))
    )
    attempts = list(
        db.session.scalars(
            select(DeliveryAttempt)
            .where(DeliveryAttempt.envelope_id == envelope.id)
            .options(selectinload(DeliveryAttempt.files))
            .order_by(DeliveryAttempt.attempt_number)
        )
    )
    return envelope, events, attempts
