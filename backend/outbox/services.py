"""Sending the outbox: claim due messages for a lease, POST each signed, record the outcome.

The `outbox_message` table is the source of truth. A worker claims due rows in a short
transaction (on PostgreSQL `SELECT … FOR UPDATE SKIP LOCKED`, on SQLite one `UPDATE` under the
database's write lock), commits, sends, and records each result under its claim token: a worker
whose lease ran out records nothing over the worker that claimed the row after it.

Order: a message is claimable only while no earlier message of its dossier and channel is unsent
(pending or parked), so one dossier's messages of a channel are never in flight together and
arrive in order; a parked webhook does not hold back the citizen's notifications. A parked
message holds back the later ones of its dossier until a person re-sends it (the console says how
many wait): order is a promise, and an agency system that got "delivered" before "out for
delivery" would show the wrong state.
"""

from __future__ import annotations

import json
import random
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.orm import aliased

from backend.console.admin import audit
from backend.errors import Conflict, NotFound
from backend.extensions import db
from backend.models import Agency, OutboxMessage, Role, User
from backend.models.events import OUTBOX_WRITTEN
from backend.notify.events import NOTIFY  # a citizen's Zalo/SMS message (backend/notify)
from backend.outbox.signing import signed_headers

WEBHOOK = "webhook"
CHANNELS = (WEBHOOK, NOTIFY)
PENDING, SENT, PARKED = "pending", "sent", "parked"
MAX_ERROR = 64
# Console lists are bounded: a failing agency can hold thousands of messages.
LIST_LIMIT = 200


@dataclass(frozen=True)
class OutboxSettings:
    """The settings of delivery (backend/config.py documents each)."""

    max_tries: int = 12
    backoff_seconds: float = 30.0
    backoff_cap_seconds: float = 3600.0
    timeout_seconds: float = 10.0
    lease_seconds: float = 300.0
    batch: int = 20

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> OutboxSettings:
        return cls(
            max_tries=config["TRAO_WEBHOOK_MAX_TRIES"],
            backoff_seconds=config["TRAO_WEBHOOK_BACKOFF_SECONDS"],
            backoff_cap_seconds=config["TRAO_WEBHOOK_BACKOFF_CAP_SECONDS"],
            timeout_seconds=config["TRAO_WEBHOOK_TIMEOUT_SECONDS"],
            lease_seconds=config["TRAO_WEBHOOK_LEASE_SECONDS"],
            batch=config["TRAO_WEBHOOK_BATCH"],
        )


@dataclass(frozen=True)
class Claim:
    """One message a worker holds for its lease, with what it needs to send it."""

    id: int
    token: str
    event_id: int | None
    tries: int
    url: str | None
    secret: str | None
    body: bytes
    claimed_until: datetime
    channel: str = WEBHOOK
    payload: dict | None = None
    gateway: str | None = None  # notifications: the gateway to try (None: the first)


def retry_delay(tries: int, settings: OutboxSettings, rng: random.Random | None = None) -> float:
    """Exponential backoff with full jitter: a random wait up to min(cap, base x 2^(tries-1))."""
    ceiling = min(settings.backoff_cap_seconds, settings.backoff_seconds * 2 ** max(tries - 1, 0))
    return (rng or random).uniform(0, ceiling)


def body_of(payload: dict) -> bytes:
    """The JSON bytes that are signed and sent (compact, UTF-8)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def _blocked(table):
    """An earlier message of the same dossier and channel is not sent yet (a parked webhook does
    not hold back the citizen's notifications, nor the reverse)."""
    earlier = table.alias("earlier")
    return exists().where(
        earlier.c.dossier_id == table.c.dossier_id,
        earlier.c.channel == table.c.channel,
        earlier.c.id < table.c.id,
        earlier.c.status != SENT,
    )


def _claimable(table, now: datetime, channels: tuple[str, ...]):
    return and_(
        table.c.channel.in_(channels),
        table.c.status == PENDING,
        table.c.next_attempt_at <= now,
        or_(table.c.claimed_until.is_(None), table.c.claimed_until < now),
        ~_blocked(table),
    )


def claim_messages(
    *,
    now: datetime,
    settings: OutboxSettings,
    webhook_key: bytes,
    channels: tuple[str, ...] = (WEBHOOK,),
) -> list[Claim]:
    """Claim up to `settings.batch` due messages of these channels for a lease (flush; the
    caller commits at once)."""
    table = OutboxMessage.__table__
    token = secrets.token_hex(16)
    until = now + timedelta(seconds=settings.lease_seconds)
    due = (
        select(table.c.id)
        .where(_claimable(table, now, channels))
        .order_by(table.c.id)
        .limit(settings.batch)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        # Rows another worker is claiming are skipped, not waited for.
        ids = db.session.execute(due.with_for_update(skip_locked=True, of=table)).scalars().all()
        if not ids:
            return []
        condition = table.c.id.in_(ids)
    else:
        # SQLite: one statement under the database's write lock is the claim.
        condition = table.c.id.in_(due.scalar_subquery())
    db.session.execute(
        update(table).where(condition).values(claimed_until=until, claim_token=token),
        execution_options={"synchronize_session": False},
    )
    rows = db.session.execute(
        select(
            table.c.id,
            table.c.event_id,
            table.c.tries,
            table.c.payload,
            table.c.channel,
            table.c.gateway,
            Agency.id.label("agency_id"),
            Agency.webhook_url,
            Agency.webhook_secret_salt,
        )
        .outerjoin(Agency, Agency.id == table.c.agency_id)
        .where(table.c.claim_token == token)
        .order_by(table.c.id)
    ).all()
    claims = []
    for row in rows:
        if row.channel != WEBHOOK:
            claims.append(
                Claim(
                    id=row.id,
                    token=token,
                    event_id=row.event_id,
                    tries=row.tries,
                    url=None,
                    secret=None,
                    body=b"",
                    claimed_until=until,
                    channel=row.channel,
                    payload=row.payload,
                    gateway=row.gateway,
                )
            )
            continue
        agency = Agency(id=row.agency_id, webhook_secret_salt=row.webhook_secret_salt)
        claims.append(
            Claim(
                id=row.id,
                token=token,
                event_id=row.event_id,
                tries=row.tries,
                url=row.webhook_url,
                secret=agency.webhook_secret(webhook_key) if row.agency_id else None,
                body=body_of(row.payload),
                claimed_until=until,
            )
        )
    return claims


def send_message(claim: Claim, *, http, now: datetime, settings: OutboxSettings) -> str | None:
    """POST one message; None when the receiver answered 2xx, else what went wrong (a status
    code or an exception's class: never the body, which may hold anything)."""
    import urllib3

    if not claim.url:
        return "no_webhook_url"
    if not claim.secret:
        return "no_webhook_secret"
    headers = signed_headers(claim.secret, claim.event_id, int(now.timestamp()), claim.body)
    try:
        response = http.request(
            "POST",
            claim.url,
            body=claim.body,
            headers=headers,
            timeout=urllib3.Timeout(total=settings.timeout_seconds),
            retries=False,
            redirect=False,
            preload_content=False,
        )
        try:
            response.drain_conn()
        finally:
            response.release_conn()
    except Exception as exc:  # connection refused, timeout, a bad URL: all retried alike
        return type(exc).__name__[:MAX_ERROR]
    if 200 <= response.status < 300:
        return None
    return f"http_{response.status}"


def record_outcome(
    claim: Claim,
    error: str | None,
    *,
    now: datetime,
    settings: OutboxSettings,
    rng: random.Random | None = None,
) -> bool:
    """Write what happened under the claim (flush). False when the lease was lost meanwhile."""
    table = OutboxMessage.__table__
    tries = claim.tries + 1
    if error is None:
        values: dict[str, Any] = {"status": SENT, "sent_at": now, "last_error": None}
    elif tries >= settings.max_tries:
        values = {"status": PARKED, "last_error": error[:MAX_ERROR]}
    else:
        delay = retry_delay(tries, settings, rng)
        values = {
            "next_attempt_at": now + timedelta(seconds=delay),
            "last_error": error[:MAX_ERROR],
        }
    result = db.session.execute(
        update(table)
        .where(table.c.id == claim.id, table.c.claim_token == claim.token)
        .values(tries=tries, claimed_until=None, claim_token=None, **values),
        execution_options={"synchronize_session": False},
    )
    return result.rowcount == 1


def release_claims(claims: list[Claim]) -> None:
    """Give back messages not sent (their lease was running short), untried (flush)."""
    table = OutboxMessage.__table__
    for claim in claims:
        db.session.execute(
            update(table)
            .where(table.c.id == claim.id, table.c.claim_token == claim.token)
            .values(claimed_until=None, claim_token=None),
            execution_options={"synchronize_session": False},
        )


def next_wake(channels: tuple[str, ...] = (WEBHOOK,)) -> datetime | None:
    """When the earliest pending message of these channels not waiting behind another becomes
    due (its retry time, or the end of a worker's lease on it)."""
    table = OutboxMessage.__table__
    due_at = func.coalesce(table.c.claimed_until, table.c.next_attempt_at)
    return db.session.execute(
        select(func.min(due_at)).where(
            table.c.channel.in_(channels), table.c.status == PENDING, ~_blocked(table)
        )
    ).scalar()


# --- The console: parked and failing messages, re-sent by a person ---------------------------


@dataclass(frozen=True)
class ProblemMessage:
    """A parked or failing message as the console lists it."""

    message: OutboxMessage
    waiting: int  # later messages of its dossier held back behind it


@dataclass(frozen=True)
class AgencyProblems:
    agency: Agency
    parked: int
    messages: list[ProblemMessage]


def _visible_agencies(actor: User):
    """The agencies whose messages `actor` sees: every one for an admin, their office's else."""
    statement = select(Agency.id)
    if not actor.has_role(Role.admin):
        statement = statement.where(Agency.post_office_id == actor.post_office_id)
    return statement


def problem_messages(actor: User) -> list[AgencyProblems]:
    """Parked and failing (retried, not sent yet) messages by agency, oldest first."""
    table = OutboxMessage.__table__
    later = aliased(OutboxMessage)
    waiting = (
        select(func.count())
        .where(
            later.dossier_id == OutboxMessage.dossier_id,
            later.channel == OutboxMessage.channel,
            later.id > OutboxMessage.id,
            later.status != SENT,
        )
        .correlate(table)
        .scalar_subquery()
    )
    rows = db.session.execute(
        select(OutboxMessage, waiting)
        .where(
            OutboxMessage.channel.in_(CHANNELS),
            OutboxMessage.agency_id.in_(_visible_agencies(actor)),
            or_(
                OutboxMessage.status == PARKED,
                and_(OutboxMessage.status == PENDING, OutboxMessage.tries > 0),
            ),
        )
        .order_by(OutboxMessage.agency_id, OutboxMessage.id)
        .limit(LIST_LIMIT)
    ).all()
    by_agency: dict[int, list[ProblemMessage]] = {}
    for message, count in rows:
        by_agency.setdefault(message.agency_id, []).append(ProblemMessage(message, count))
    if not by_agency:
        return []
    agencies = db.session.execute(select(Agency).where(Agency.id.in_(by_agency))).scalars()
    parked = dict(
        db.session.execute(
            select(OutboxMessage.agency_id, func.count())
            .where(OutboxMessage.agency_id.in_(by_agency), OutboxMessage.status == PARKED)
            .group_by(OutboxMessage.agency_id)
        ).all()
    )
    return [
        AgencyProblems(agency, parked.get(agency.id, 0), by_agency[agency.id])
        for agency in sorted(agencies, key=lambda a: a.name)
    ]


def _wake_after_commit() -> None:
    db.session.info[OUTBOX_WRITTEN] = True


def _resend(message: OutboxMessage, now: datetime) -> None:
    message.status = PENDING
    message.tries = 0
    message.next_attempt_at = now
    message.claimed_until = None
    message.claim_token = None
    message.gateway = None  # a notification starts again with the first gateway


def resend_message(actor: User, message_id: int, *, now: datetime) -> OutboxMessage:
    """Put a parked message back in line, its tries counted afresh (audited; flush)."""
    message = db.session.get(OutboxMessage, message_id)
    visible = set(db.session.execute(_visible_agencies(actor)).scalars())
    if message is None or message.channel not in CHANNELS or message.agency_id not in visible:
        raise NotFound(_("This message does not exist."), code="message_not_found")
    if message.status != PARKED:
        raise Conflict(_("Only a parked message can be re-sent."), code="message_not_parked")
    _resend(message, now)
    agency = db.session.get(Agency, message.agency_id)
    audit("webhook.resend", actor=actor, now=now, agency=agency, message_id=message.id)
    db.session.flush()
    _wake_after_commit()
    return message


def resend_parked(actor: User, agency_id: int, *, now: datetime) -> int:
    """Put every parked message of an agency back in line (audited; flush). How many."""
    agency = db.session.get(Agency, agency_id)
    visible = set(db.session.execute(_visible_agencies(actor)).scalars())
    if agency is None or agency.id not in visible:
        raise NotFound(_("This agency does not exist."), code="agency_not_found")
    messages = (
        db.session.execute(
            select(OutboxMessage).where(
                OutboxMessage.agency_id == agency.id,
                OutboxMessage.channel.in_(CHANNELS),
                OutboxMessage.status == PARKED,
            )
        )
        .scalars()
        .all()
    )
    for message in messages:
        _resend(message, now)
    if messages:
        audit("webhook.resend_all", actor=actor, now=now, agency=agency, count=len(messages))
        db.session.flush()
        _wake_after_commit()
    return len(messages)
