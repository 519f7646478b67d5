"""Which events notify the recipient: their outbox row, written in the event's transaction
(`event_written` calls `queue_notification`). Few imports: backend/envelopes uses it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from backend.extensions import db
from backend.models import Dossier, OutboxMessage
from backend.models.events import OUTBOX_WRITTEN
from backend.notify import texts

# The outbox channel of citizens' notifications.
NOTIFY = "notify"
# The system's own event: the envelope's hold ends on the next working day.
HOLD_ENDING_EVENT = "envelope.hold_ending"
# The events that notify the recipient, and the kind of message each sends.
NOTIFYING_EVENTS = {
    "envelope.load": texts.OUT_FOR_DELIVERY,
    "envelope.fail": texts.ATTEMPT_FAILED,
    "envelope.hold": texts.HELD,
    HOLD_ENDING_EVENT: texts.HOLD_ENDING,
    "envelope.deliver": texts.DELIVERED,
    "envelope.collect": texts.COLLECTED,
}


def notification_payload(event_id: int, values: Mapping[str, Any]) -> dict | None:
    """The outbox payload of the event's notification (ids and the kind), or None."""
    kind = NOTIFYING_EVENTS.get(values["kind"])
    if kind is None or values.get("envelope_id") is None:
        return None
    payload = {"kind": kind, "event_id": event_id, "envelope_id": values["envelope_id"]}
    reason = (values.get("data") or {}).get("reason")
    if kind == texts.ATTEMPT_FAILED and reason in texts.POLITE_REASONS:
        payload["reason"] = reason
    return payload


def queue_notification(event_id: int, values: Mapping[str, Any], dossier: Dossier) -> bool:
    """Add the event's notification to the outbox, in the event's transaction, when the event
    notifies and the recipient has a phone.

    One message per envelope event: each envelope has its own link and its own story, and the
    envelopes of one dossier rarely travel together (most dossiers have one)."""
    payload = notification_payload(event_id, values)
    if payload is None or not dossier.recipient_phone:
        return False
    db.session.add(
        OutboxMessage(
            event_id=event_id,
            channel=NOTIFY,
            agency_id=dossier.agency_id,
            dossier_id=dossier.id,
            payload=payload,
            next_attempt_at=values["occurred_at"],
            created_at=values["occurred_at"],
        )
    )
    db.session.info[OUTBOX_WRITTEN] = True
    return True
