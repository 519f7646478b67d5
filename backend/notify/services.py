"""Which events notify the recipient, the day-before-the-hold-ends job, and sending one claimed
notification through the gateways (Zalo first, SMS as the fallback).

The outbox row holds ids and the kind, never the phone or the text: both are read and composed
at send time, with the tracking link made from TRACKING_KEY (backend/tracking/links.py), so the
database never holds the link's token and the message follows a phone number corrected since.
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from backend import clock
from backend.clock import local_date
from backend.domain.lifecycle import State
from backend.domain.policy import add_working_days
from backend.envelopes.services import record_office_event
from backend.extensions import db
from backend.models import Dossier, Envelope, Event, OutboxMessage, PostOffice
from backend.notify import texts
from backend.notify.events import HOLD_ENDING_EVENT, queue_notification
from backend.notify.gateways import Gateway, Notification
from backend.outbox.services import (
    MAX_ERROR,
    PARKED,
    SENT,
    Claim,
    OutboxSettings,
    retry_delay,
)
from backend.tracking.links import token_for, tracking_url

log = logging.getLogger(__name__)
_PHONE = re.compile(r"(?:\+?84|0)([1-9][0-9]{8,9})\Z")


@dataclass(frozen=True)
class NotifySettings:
    """The settings of notifications (backend/config.py documents each)."""

    fallback_after: int = 3
    hours: tuple[time, time] | None = (time(7), time(21))
    timezone: str = "Asia/Ho_Chi_Minh"

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> NotifySettings:
        return cls(
            fallback_after=config["TRAO_NOTIFY_FALLBACK_AFTER_TRIES"],
            hours=parse_hours(config["TRAO_NOTIFY_HOURS"]),
            timezone=config["TIMEZONE"],
        )


def parse_hours(text: str) -> tuple[time, time] | None:
    """ "07:00-21:00" → (07:00, 21:00); empty → None (any time of day)."""
    if not text.strip():
        return None
    start, end = (time.fromisoformat(part.strip()) for part in text.split("-", 1))
    return start, end


def sending_allowed(now: datetime, settings: NotifySettings) -> bool:
    """Whether citizens may be sent messages now (not at night: they wait till morning)."""
    if settings.hours is None:
        return True
    start, end = settings.hours
    local = now.astimezone(ZoneInfo(settings.timezone)).time()
    return start <= local < end if start <= end else (local >= start or local < end)


def international(phone: str | None) -> str | None:
    """A Vietnamese number as gateways want it (84…), or None when it is not one."""
    digits = re.sub(r"[\s.()-]", "", phone or "")
    match = _PHONE.fullmatch(digits)
    return f"84{match.group(1)}" if match else None


# --- The day before the hold ends ------------------------------------------------------------


def record_hold_endings(*, now: datetime, closures: frozenset = frozenset()) -> int:
    """One `envelope.hold_ending` event (and its notification) for each held envelope whose last
    day is the next working day (or today, when a run was missed) in its office's zone, never two
    for one envelope: an envelope is held at most once, and one that has the event is skipped.
    On PostgreSQL the envelopes are locked first and checked again after: two runs at once
    write each event once (flush; the caller commits)."""
    postgres = db.session.get_bind().dialect.name == "postgresql"
    written = 0
    zones = db.session.execute(select(PostOffice.timezone).distinct()).scalars().all()
    for zone in zones:
        today = local_date(now, zone)
        last = add_working_days(today, 1, closures=closures)
        done = select(Event.envelope_id).where(Event.kind == HOLD_ENDING_EVENT)
        query = (
            select(Envelope)
            .join(Dossier, Dossier.id == Envelope.dossier_id)
            .join(PostOffice, PostOffice.id == Dossier.post_office_id)
            .options(joinedload(Envelope.dossier, innerjoin=True))
            .where(
                Envelope._state == State.held_at_office.value,
                Envelope.hold_deadline >= today,
                Envelope.hold_deadline <= last,
                PostOffice.timezone == zone,
                Envelope.id.not_in(done),
            )
            .order_by(Envelope.id)
        )
        if postgres:
            query = query.with_for_update(of=Envelope.__table__)
        envelopes = db.session.execute(query).unique().scalars().all()
        if postgres and envelopes:
            # A run that waited for our locks sees the events the other run committed.
            again = set(
                db.session.execute(
                    done.where(Event.envelope_id.in_([e.id for e in envelopes]))
                ).scalars()
            )
            envelopes = [e for e in envelopes if e.id not in again]
        for envelope in envelopes:
            data = {
                "held_on": envelope.held_on.isoformat() if envelope.held_on else None,
                "hold_deadline": envelope.hold_deadline.isoformat(),
            }
            # The office's own event: agencies' webhooks are not told, the citizen is.
            event = record_office_event(
                HOLD_ENDING_EVENT, now=now, actor=None, envelope=envelope, data=data
            )
            queue_notification(event.id, _values(event), envelope.dossier)
            written += 1
    db.session.flush()
    return written


def _values(event: Event) -> dict[str, Any]:
    return {
        "kind": event.kind,
        "envelope_id": event.envelope_id,
        "occurred_at": event.occurred_at,
        "data": event.data,
    }


# --- Sending a claimed notification ----------------------------------------------------------


def compose(claim: Claim, config: Mapping[str, Any], *, now: datetime) -> Notification | None:
    """The message of a claimed notification, read from its envelope now (the link's record may
    be made: flush, and commit before sending, so the link the citizen gets exists). None when
    there is nobody to send it to (the envelope is gone, the phone removed or not a number)."""
    payload = claim.payload or {}
    envelope = db.session.get(Envelope, payload.get("envelope_id") or 0)
    kind = payload.get("kind")
    if envelope is None or kind not in texts.TEXTS:
        return None
    phone = international(envelope.dossier.recipient_phone)
    if phone is None:
        return None
    token = token_for(envelope, key=config["TRACKING_KEY"], now=now)
    params = texts.parameters(
        kind,
        code=envelope.code,
        link=tracking_url(config["PUBLIC_URL"], token),
        reason=payload.get("reason"),
        deadline=envelope.hold_deadline if kind in (texts.HELD, texts.HOLD_ENDING) else None,
    )
    return Notification(
        outbox_id=claim.id,
        kind=kind,
        phone=phone,
        text=texts.sms_text(kind, params),
        template_data=params,
    )


def send_notification(
    claim: Claim,
    gateways: Sequence[Gateway],
    *,
    config: Mapping[str, Any],
    outbox: OutboxSettings,
    settings: NotifySettings,
    rng: random.Random | None = None,
) -> bool:
    """Send one claimed notification and record the outcome (commits). Whether it was sent.

    The gateways are tried in order from the one the message is at: a permanent failure moves to
    the next at once, a transient one is retried with the outbox's backoff and moves on after
    `fallback_after` tries; the last gateway's tries count towards parking. `tries` counts the
    tries of the current gateway."""
    message = compose(claim, config, now=clock.now())
    db.session.commit()
    if message is None:
        _record(claim, status=PARKED, tries=claim.tries + 1, last_error="no_recipient")
        db.session.commit()
        return False
    names = [gateway.name for gateway in gateways]
    index = names.index(claim.gateway) if claim.gateway in names else 0
    tries = claim.tries
    while True:
        gateway = gateways[index]
        result = gateway.send(message)
        now = clock.now()
        tries += 1
        if result.ok:
            _record(
                claim,
                status=SENT,
                sent_at=now,
                tries=tries,
                gateway=gateway.name,
                provider_message_id=result.message_id,
                last_error=None,
            )
            db.session.commit()
            return True
        error = f"{gateway.name}:{result.error}"[:MAX_ERROR]
        log.info("notify: message %s failed (%s), try %s", claim.id, error, tries)
        has_next = index + 1 < len(gateways)
        if has_next and (result.permanent or tries >= settings.fallback_after):
            index, tries = index + 1, 0
            if now + timedelta(seconds=outbox.timeout_seconds) < claim.claimed_until:
                continue  # the fallback at once, under the same lease
            _record(claim, tries=0, gateway=names[index], next_attempt_at=now, last_error=error)
        elif result.permanent or tries >= outbox.max_tries:
            _record(claim, status=PARKED, tries=tries, gateway=gateway.name, last_error=error)
        else:
            delay = retry_delay(tries, outbox, rng)
            _record(
                claim,
                tries=tries,
                gateway=gateway.name,
                next_attempt_at=now + timedelta(seconds=delay),
                last_error=error,
            )
        db.session.commit()
        return False


def _record(claim: Claim, **values: Any) -> bool:
    """Write the outcome under the claim (flush). False when the lease was lost meanwhile."""
    table = OutboxMessage.__table__
    result = db.session.execute(
        update(table)
        .where(table.c.id == claim.id, table.c.claim_token == claim.token)
        .values(claimed_until=None, claim_token=None, **values),
        execution_options={"synchronize_session": False},
    )
    return result.rowcount == 1
