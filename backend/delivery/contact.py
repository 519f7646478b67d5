"""What the server learns of a postman's phone from each call it makes, beyond its payload: when
it was last heard from (the live page's "last seen"), what its clock said when it sent, and how
many attempts its outbox still held (closing a run over them needs a confirmation)."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Response, after_this_request, current_app, request
from sqlalchemy import bindparam, or_, update
from sqlalchemy.orm.attributes import set_committed_value

from backend.domain.review import read_phone_clock
from backend.extensions import db
from backend.models import User

# The phone's own clock at the moment it sends an attempt (ISO 8601 with its offset). A header,
# not a field of the meta: the meta's bytes are the attempt's identity for replays, and the
# same attempt sent again later carries a later clock.
SENT_AT_HEADER = "X-Trao-Sent-At"
MAX_HEADER_CHARS = 64
# How many attempts the phone's outbox holds waiting to be sent, beside the one a request carries
# (a whole number, "0" once everything is sent). Sent with runs/today and every attempt.
OUTBOX_HEADER = "X-Trao-Outbox"
MAX_OUTBOX_DIGITS = 6

# Moves forward only: two servers answering the same phone at once do not write a minute back.
_NOTE_SEEN = (
    update(User)
    .where(
        User.id == bindparam("user_id"),
        or_(User.last_seen_at.is_(None), User.last_seen_at < bindparam("now")),
    )
    .values(last_seen_at=bindparam("now"))
    .execution_options(synchronize_session=False)
)


# The phone's count, and when it said so; forward only, like the last contact.
_NOTE_OUTBOX = (
    update(User)
    .where(
        User.id == bindparam("user_id"),
        or_(User.outbox_reported_at.is_(None), User.outbox_reported_at <= bindparam("now")),
    )
    .values(outbox_waiting=bindparam("waiting"), outbox_reported_at=bindparam("now"))
    .execution_options(synchronize_session=False)
)


def outbox_count(value: str | None) -> int | None:
    """The count an X-Trao-Outbox header gives, or None (absent or unreadable: nothing noted)."""
    if value is None:
        return None
    value = value.strip()
    if not 0 < len(value) <= MAX_OUTBOX_DIGITS or not value.isascii() or not value.isdigit():
        return None
    return int(value)


def seen_due(last_seen: datetime | None, now: datetime, every: timedelta) -> bool:
    """Whether `last_seen` is old enough (or in the future: a clock moved back) to write again."""
    return last_seen is None or not timedelta(0) <= now - last_seen < every


def note_contact(user: User, now: datetime) -> None:
    """Remember that `user`'s phone reached the API, at most once a minute (a setting), and
    what its outbox held (X-Trao-Outbox) when that changed, or with the contact's own write.

    The user row was loaded for the request already: when the last write is recent and the count
    unchanged, nothing is read or written. Otherwise the UPDATEs are committed after the answer
    is made, whatever it was (a replay, a refusal or a 304 are contact too), in their own
    transaction.
    """
    every = timedelta(seconds=current_app.config["TRAO_LAST_SEEN_EVERY_SECONDS"])
    seen = seen_due(user.last_seen_at, now, every)
    waiting = outbox_count(request.headers.get(OUTBOX_HEADER))
    report = waiting is not None and (seen or waiting != user.outbox_waiting)
    if not seen and not report:
        return
    user_id = user.id

    @after_this_request
    def _write(response: Response) -> Response:
        try:
            if seen:
                db.session.execute(_NOTE_SEEN, {"user_id": user_id, "now": now})
            if report:
                db.session.execute(
                    _NOTE_OUTBOX, {"user_id": user_id, "now": now, "waiting": waiting}
                )
            db.session.commit()
        except Exception:
            db.session.rollback()
            current_app.logger.exception("noting user %s's last contact failed", user_id)
            return response
        # The object the session holds says so too (no statement): a later call of the same
        # session does not write again.
        if seen:
            set_committed_value(user, "last_seen_at", now)
        if report:
            set_committed_value(user, "outbox_waiting", waiting)
            set_committed_value(user, "outbox_reported_at", now)
        return response


def phone_sent_at(value: str | None, attempt_id: str) -> datetime | None:
    """The phone's clock from the X-Trao-Sent-At header, or None (then the clock is not checked).

    A missing or unreadable header is never refused (an older app, a proxy that drops it): the
    attempt is received, its clock unchecked, and the log says so, by attempt id only.
    """
    if value is None:
        current_app.logger.info("attempt %s: no %s, clock not checked", attempt_id, SENT_AT_HEADER)
        return None
    sent_at = read_phone_clock(value[: MAX_HEADER_CHARS + 1], max_chars=MAX_HEADER_CHARS)
    if sent_at is None:
        current_app.logger.warning(
            "attempt %s: unreadable %s, clock not checked", attempt_id, SENT_AT_HEADER
        )
    return sent_at
