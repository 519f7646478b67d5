"""Checking a citizen's delivery receipt: the envelope code and the verification code printed
on it, against the office's records (the code is HMAC(RECEIPT_KEY, the handing-over attempt))."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from backend.extensions import db
from backend.models import Dossier, Envelope
from backend.tracking.services import handed_over_attempt, normalise_receipt_code, receipt_code

MAX_CODE_CHARS = 32


@dataclass(frozen=True)
class ReceiptCheck:
    """What the records say about a receipt: whether its code matches, and the facts."""

    envelope_code: str
    found: bool
    matches: bool = False
    procedure_name: str = ""
    recipient_name: str = ""
    handed_at: datetime | None = None
    collected: bool = False


def check_receipt(
    envelope_code: str, verification: str, *, office_id: int | None, key: bytes
) -> ReceiptCheck:
    """Whether the receipt's verification code is the one the records give this envelope's
    hand-over; an envelope of another office, or not handed over, is not found."""
    code = "".join(envelope_code.split()).upper()[:MAX_CODE_CHARS]
    stmt = select(Envelope).join(Dossier).where(Envelope.code == code)
    if office_id is not None:
        stmt = stmt.where(Dossier.post_office_id == office_id)
    envelope = db.session.scalars(stmt).first()
    attempt = handed_over_attempt(envelope.id) if envelope else None
    if attempt is None:
        return ReceiptCheck(envelope_code=code, found=False)
    expected = receipt_code(key, attempt.id)
    typed = normalise_receipt_code(verification[:MAX_CODE_CHARS])
    return ReceiptCheck(
        envelope_code=envelope.code,
        found=True,
        matches=hmac.compare_digest(typed.encode(), expected.encode()),
        procedure_name=envelope.dossier.procedure_name,
        recipient_name=attempt.recipient_name or "",
        handed_at=attempt.device_time or attempt.received_at,
        collected=attempt.outcome == "collected",
    )
