"""What a citizen's tracking link opens: the stage for anyone with the link; the timeline, the
requests and the receipt once the last four digits of the recipient's phone were given.

Nothing here ever hands a template the ID number, the full address, the phone, a signature, a
photo or a postman's name: the page's facts are built here, field by field, from what a citizen
may see (docs/tracking.md).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from backend.console.requests import (
    REQUEST_EVENT,
    RequestKind,
    latest_requests,
    record_request,
)
from backend.domain.i18n import N_
from backend.domain.lifecycle import FINAL_STATES, State
from backend.domain.policy import (
    RESULT_TYPE_LABELS,
    DeliveryPolicy,
    FailureReason,
    ResultType,
    add_working_days,
    is_working_day,
)
from backend.errors import Conflict, Forbidden, Invalid, NotFound
from backend.extensions import db
from backend.models import (
    DeliveryAttempt,
    DeliveryRun,
    Dossier,
    Envelope,
    Event,
    PostOffice,
    RunStop,
    TrackingGuard,
    TrackingLink,
)
from backend.tracking.links import find_link, token_for, tracking_url

# The stage in plain words, for anyone holding the link.
STAGE_WORDS = {
    State.registered: N_("The agency has your result ready. It is on its way to the post office."),
    State.at_office: N_("Your result is at the post office, waiting to be delivered to you."),
    State.out_for_delivery: N_("The postman is bringing your result today."),
    State.attempt_failed: N_("The postman could not hand your result over. It will come again."),
    State.held_at_office: N_("Your result is waiting for you at the post office."),
    State.delivered: N_("Your result has been delivered."),
    State.collected: N_("Your result was collected at the post office."),
    State.returned_to_agency: N_("Your result went back to the agency that issued it."),
    State.cancelled: N_("This delivery was cancelled."),
}

# Why an attempt failed, said politely to the citizen (the staff's words are in domain/policy).
CITIZEN_REASONS = {
    FailureReason.not_home: N_("The postman came, but nobody was at home."),
    FailureReason.refused: N_("The envelope was declined at the door."),
    FailureReason.wrong_address: N_("The postman could not find the address."),
    FailureReason.not_the_recipient: N_("The person at the door could not receive it for you."),
    FailureReason.no_authorisation: N_(
        "The person receiving it for you had no authorisation paper."
    ),
    FailureReason.phone_unreachable: N_("The postman could not reach you by phone."),
    FailureReason.envelope_damaged: N_(
        "The envelope must be checked at the post office before it is delivered."
    ),
    FailureReason.moved: N_("The postman was told you no longer live at this address."),
    FailureReason.other: N_("The postman could not hand it over this time."),
}

# The expected time of a delivery: the first half of a run's stops in the morning, the rest in
# the afternoon (a postman's day, docs/tracking.md).
MORNING = N_("in the morning, between 8:00 and 12:00")
AFTERNOON = N_("in the afternoon, between 13:30 and 17:30")

# Moments of the story a citizen sees; the rest (reminders, the office's own notes) is staff's.
_SHOWN_EVENTS = (
    "envelope.register",
    "envelope.receive",
    "envelope.load",
    "envelope.fail",
    "envelope.deliver",
    "envelope.hold",
    "envelope.collect",
    "envelope.return_to_agency",
    "envelope.cancel",
    REQUEST_EVENT,
)
_HANDED_OVER = ("delivered", "collected")
SESSION_KEY = "tracking_verified"
RECEIPT_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed back
RECEIPT_CODE_CHARS = 12


@dataclass(frozen=True)
class Tracked:
    """What one working link opens."""

    link: TrackingLink
    envelope: Envelope
    dossier: Dossier
    office: PostOffice

    @property
    def stage(self) -> str:
        return _(STAGE_WORDS[self.envelope.state])

    @property
    def result_type(self) -> str:
        try:
            return _(RESULT_TYPE_LABELS[ResultType(self.dossier.result_type)])
        except ValueError:
            return _(RESULT_TYPE_LABELS[ResultType.other])

    @property
    def ended(self) -> bool:
        return self.envelope.state in FINAL_STATES


def open_link(token: str, *, now: datetime, keep_days: int) -> Tracked:
    """The envelope a token opens; unknown, malformed, revoked and expired are all NotFound."""
    link = find_link(token, now=now, keep_days=keep_days)
    if link is None:
        raise NotFound(_("Not found."), code="tracking_not_found")
    envelope = db.session.get(Envelope, link.envelope_id)
    dossier = envelope.dossier
    return Tracked(link, envelope, dossier, dossier.post_office)


def mask_name(name: str | None) -> str:
    """The family name and initials: 'Nguyễn Văn An' -> 'Nguyễn V. A.'."""
    words = (name or "").split()
    if not words:
        return ""
    if len(words) == 1:
        return words[0][0].upper() + "."
    return " ".join([words[0], *(w[0].upper() + "." for w in words[1:])])


# --- Knowing it is you ------------------------------------------------------------------------


class Guess(StrEnum):
    right = "right"
    wrong = "wrong"
    locked = "locked"
    no_phone = "no_phone"


@dataclass(frozen=True)
class GuessResult:
    """How a guess at the phone's last four digits went."""

    outcome: Guess
    remaining: int = 0
    locked_until: datetime | None = None


def _phone_last4(dossier: Dossier) -> str | None:
    digits = "".join(c for c in dossier.recipient_phone or "" if c.isdigit())
    return digits[-4:] if len(digits) >= 4 else None


def check_phone_digits(
    tracked: Tracked, digits: str, *, now: datetime, max_guesses: int, lock_hours: int
) -> GuessResult:
    """Compare the digits with the recipient's phone; count a wrong guess against the envelope
    (in the database, so every worker sees it), locking it for `lock_hours` after `max_guesses`
    (flushed)."""
    expected = _phone_last4(tracked.dossier)
    if expected is None:
        return GuessResult(Guess.no_phone)
    guard = db.session.execute(
        select(TrackingGuard)
        .where(TrackingGuard.envelope_id == tracked.envelope.id)
        .with_for_update()
    ).scalar_one_or_none()
    if guard is not None and guard.locked_until is not None and guard.locked_until > now:
        return GuessResult(Guess.locked, locked_until=guard.locked_until)
    if hmac.compare_digest(digits.encode(), expected.encode()):
        if guard is not None:
            guard.wrong_guesses, guard.locked_until = 0, None
            db.session.flush()
        return GuessResult(Guess.right)
    if guard is None:
        guard = _new_guard(tracked.envelope.id)
    if guard.locked_until is not None and guard.locked_until > now:  # locked meanwhile
        return GuessResult(Guess.locked, locked_until=guard.locked_until)
    if guard.locked_until is not None:  # a lock that has run out starts a new count
        guard.wrong_guesses, guard.locked_until = 0, None
    guard.wrong_guesses += 1
    guard.last_wrong_at = now
    if guard.wrong_guesses >= max_guesses:
        guard.locked_until = now + timedelta(hours=lock_hours)
        db.session.flush()
        return GuessResult(Guess.locked, locked_until=guard.locked_until)
    db.session.flush()
    return GuessResult(Guess.wrong, remaining=max_guesses - guard.wrong_guesses)


def _new_guard(envelope_id: int) -> TrackingGuard:
    """The envelope's guard row, made now, or locked as another request just made it (two
    first wrong guesses at once: one inserts, the other waits for it and counts on it)."""
    try:
        with db.session.begin_nested():
            db.session.add(TrackingGuard(envelope_id=envelope_id, wrong_guesses=0))
    except IntegrityError:
        pass
    return db.session.execute(
        select(TrackingGuard).where(TrackingGuard.envelope_id == envelope_id).with_for_update()
    ).scalar_one()


def is_verified(store: dict, link: TrackingLink, *, now: datetime) -> bool:
    """Whether the right digits were given for this link, on this session, not too long ago."""
    until = (store.get(SESSION_KEY) or {}).get(str(link.id))
    return isinstance(until, (int, float)) and until > now.timestamp()


def remember_verified(store: dict, link: TrackingLink, *, now: datetime, minutes: int) -> None:
    """Remember the right digits for this link on this session for `minutes`."""
    kept = {
        k: v
        for k, v in (store.get(SESSION_KEY) or {}).items()
        if isinstance(v, (int, float)) and v > now.timestamp()
    }
    kept[str(link.id)] = (now + timedelta(minutes=minutes)).timestamp()
    store[SESSION_KEY] = kept


# --- The timeline -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Moment:
    """One line of the citizen's timeline."""

    at: datetime
    title: str
    detail: str = ""
    day: date | None = None


@dataclass(frozen=True)
class Story:
    """What a verified citizen sees."""

    moments: list[Moment]
    next_step: str = ""
    window: str = ""
    handed_to: str = ""
    handed_at: datetime | None = None
    request_kind: str | None = None
    request_day: date | None = None
    can_request: bool = False
    day_choices: list[date] = field(default_factory=list)
    receipt: bool = False


def _reason_words(code: str | None) -> str:
    try:
        return _(CITIZEN_REASONS[FailureReason(code)])
    except ValueError:
        return _(CITIZEN_REASONS[FailureReason.other])


def expected_window(envelope_id: int, today: date) -> str:
    """Morning or afternoon, from the stop's place in today's run; empty if not on one."""
    row = db.session.execute(
        select(RunStop.run_id, RunStop.visit)
        .join(DeliveryRun, DeliveryRun.id == RunStop.run_id)
        .where(RunStop.envelope_id == envelope_id, DeliveryRun.run_date == today)
        .order_by(RunStop.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return ""
    visits = db.session.scalar(
        select(func.count(func.distinct(RunStop.visit))).where(RunStop.run_id == row.run_id)
    )
    earlier = db.session.scalar(
        select(func.count(func.distinct(RunStop.visit))).where(
            RunStop.run_id == row.run_id, RunStop.visit < row.visit
        )
    )
    return _(MORNING) if earlier < max(visits, 1) / 2 else _(AFTERNOON)


def day_choices(today: date, count: int, closures: frozenset[date] = frozenset()) -> list[date]:
    """The next `count` working days after today (weekends, holidays, closures skipped)."""
    days, day = [], today
    while len(days) < count:
        day = add_working_days(day, 1, closures=closures)
        days.append(day)
    return days


def build_story(
    tracked: Tracked, *, today: date, policy: DeliveryPolicy, request_days: int
) -> Story:
    """The timeline, what happens next and by when, and what the citizen may still ask."""
    envelope, office = tracked.envelope, tracked.office
    events = db.session.execute(
        select(Event.kind, Event.occurred_at, Event.data)
        .where(Event.envelope_id == envelope.id, Event.kind.in_(_SHOWN_EVENTS))
        .order_by(Event.id)
    ).all()
    attempts = {
        a.id: a
        for a in db.session.scalars(
            select(DeliveryAttempt).where(DeliveryAttempt.envelope_id == envelope.id)
        )
    }
    moments: list[Moment] = []
    handed_to, handed_at = "", None
    for kind, at, data in events:
        data = data if isinstance(data, dict) else {}
        if kind == "envelope.register":
            moments.append(Moment(at, _("The agency sent your result to the post")))
        elif kind == "envelope.receive":
            moments.append(Moment(at, _("Received from the agency at the post office")))
        elif kind == "envelope.load":
            moments.append(Moment(at, _("Out for delivery")))
        elif kind == "envelope.fail":
            moments.append(
                Moment(at, _("Delivery attempt failed"), _reason_words(data.get("reason")))
            )
        elif kind == REQUEST_EVENT:
            moments.append(_request_moment(at, data))
        elif kind == "envelope.hold":
            moments.append(Moment(at, _("Held at the post office for you to collect"), office.name))
        elif kind in ("envelope.deliver", "envelope.collect"):
            attempt = attempts.get(str(data.get("attempt_id")))
            handed_to = mask_name(attempt.recipient_name if attempt else None)
            handed_at = at
            title = _("Delivered") if kind == "envelope.deliver" else _("Collected")
            detail = _("Received by %(name)s", name=handed_to) if handed_to else ""
            moments.append(Moment(at, title, detail))
        elif kind == "envelope.return_to_agency":
            moments.append(Moment(at, _("Returned to the agency")))
        elif kind == "envelope.cancel":
            moments.append(Moment(at, _("Delivery cancelled")))
    request = latest_requests([envelope.id]).get(envelope.id)
    choices = day_choices(today, request_days)
    can_request = envelope.state in (State.at_office, State.attempt_failed)
    window = ""
    if envelope.state is State.out_for_delivery:
        window = expected_window(envelope.id, today)
    return Story(
        moments=moments,
        next_step=_next_step(tracked, request, today=today, policy=policy),
        window=window,
        handed_to=handed_to,
        handed_at=handed_at,
        request_kind=request.kind.value if request else None,
        request_day=request.day if request else None,
        can_request=can_request,
        day_choices=choices,
        receipt=envelope.state in (State.delivered, State.collected) and handed_at is not None,
    )


def _request_moment(at: datetime, data: dict) -> Moment:
    if data.get("kind") == RequestKind.collect.value:
        return Moment(at, _("You asked to collect it at the post office"))
    try:
        day = date.fromisoformat(data.get("day") or "")
    except (TypeError, ValueError):
        day = None
    return Moment(at, _("You asked for delivery on another day"), day=day)


def _next_step(tracked: Tracked, request, *, today: date, policy: DeliveryPolicy) -> str:
    """What happens next and by when, in plain words ("" when nothing more will happen)."""
    envelope = tracked.envelope
    state = envelope.state
    asked_day = (
        request.day
        if request
        and request.kind is RequestKind.another_day
        and request.day
        and request.day > today
        else None
    )
    if state is State.held_at_office:
        return _(
            "You can collect it until %(day)s (the last day). After that it goes back to the "
            "agency.",
            day=_format_day(envelope.hold_deadline),
        )
    if state in (State.at_office, State.attempt_failed):
        if asked_day:
            return _(
                "The postman will bring it on %(day)s, as you asked.", day=_format_day(asked_day)
            )
        if envelope.attempts_made >= policy.max_home_attempts:
            return _(
                "Every home delivery has been tried: it will be held at the post office for you "
                "to collect, for %(n)s working days.",
                n=policy.hold_working_days,
            )
        if state is State.attempt_failed:
            return _(
                "The postman will try again from %(day)s (attempt %(next)s of %(max)s). You can "
                "also choose another day or collect it at the post office below.",
                day=_format_day(add_working_days(today, 1)),
                next=envelope.attempts_made + 1,
                max=policy.max_home_attempts,
            )
        return _("The postman will bring it on a coming working day.")
    if state is State.registered:
        return _("The post office will tell you when it is on its way.")
    return ""


def _format_day(day: date | None) -> str:
    from flask_babel import format_date

    return format_date(day, "full") if day else ""


# --- Requests ---------------------------------------------------------------------------------


def request_delivery_change(
    tracked: Tracked,
    kind: str,
    day: date | None,
    *,
    now: datetime,
    today: date,
    policy: DeliveryPolicy,
    request_days: int,
) -> Event:
    """Record the citizen's request (another day among the offered ones, or to collect it), as
    the same `envelope.request` event a clerk records; refuse it in the citizen's words."""
    envelope = tracked.envelope
    state = envelope.state
    if kind not in (RequestKind.another_day.value, RequestKind.collect.value):
        raise Invalid(_("Choose what you would like."), code="bad_kind")
    if state in FINAL_STATES:
        raise Conflict(
            _("The delivery of this result has ended: nothing can be changed now."),
            code="not_waiting",
        )
    if state is State.out_for_delivery:
        raise Conflict(
            _(
                "The postman is already bringing it today, so nothing can be changed now. If "
                "nobody is at home, you can choose again afterwards."
            ),
            code="out_for_delivery",
        )
    if state is State.registered:
        raise Conflict(
            _("Your result has not reached the post office yet. You can ask once it is there."),
            code="not_at_office",
        )
    if state is State.held_at_office:
        raise Conflict(
            _(
                "Your result is already waiting for you at the post office: please collect it "
                "there."
            ),
            code="already_held",
        )
    if kind == RequestKind.another_day.value:
        if envelope.attempts_made >= policy.max_home_attempts:
            raise Conflict(
                _(
                    "Every home delivery has been tried: please collect your result at the "
                    "post office."
                ),
                code="attempts_exhausted",
            )
        if day is None or day not in day_choices(today, request_days) or not is_working_day(day):
            raise Invalid(_("Choose one of the days offered."), code="bad_day")
    else:
        day = None
    return record_request(
        envelope,
        kind,
        day=day,
        note="",
        actor=None,
        actor_kind="citizen",
        now=now,
        today=today,
        policy=policy,
    )


def require_verified(verified: bool) -> None:
    """Refuse what needs the phone's digits when they were not given."""
    if not verified:
        raise Forbidden(
            _("Enter the last four digits of your phone number first."), code="not_verified"
        )


# --- The delivery receipt ---------------------------------------------------------------------


@dataclass(frozen=True)
class Receipt:
    """What the citizen's delivery receipt says."""

    envelope_code: str
    procedure_name: str
    result_type: str
    office_name: str
    handed_at: datetime
    handed_to: str
    collected: bool
    verification_code: str


def receipt_code(key: bytes, attempt_id: str) -> str:
    """12 characters of HMAC(key, attempt), in an alphabet read aloud without confusion,
    grouped in fours: 'ABCD-EFGH-JKLM'."""
    digest = hmac.new(key, f"receipt:{attempt_id}".encode(), "sha256").digest()
    number = int.from_bytes(digest, "big")
    chars = []
    for _i in range(RECEIPT_CODE_CHARS):
        number, index = divmod(number, len(RECEIPT_ALPHABET))
        chars.append(RECEIPT_ALPHABET[index])
    code = "".join(chars)
    return "-".join(code[i : i + 4] for i in range(0, RECEIPT_CODE_CHARS, 4))


def normalise_receipt_code(text: str) -> str:
    """A typed code as printed: upper case, separators and spaces dropped, regrouped."""
    kept = "".join(c for c in (text or "").upper() if c.isalnum())[: RECEIPT_CODE_CHARS + 1]
    return "-".join(kept[i : i + 4] for i in range(0, len(kept), 4))


def handed_over_attempt(envelope_id: int) -> DeliveryAttempt | None:
    """The attempt that handed the envelope over (at the door or at the counter)."""
    return db.session.scalars(
        select(DeliveryAttempt)
        .where(
            DeliveryAttempt.envelope_id == envelope_id,
            DeliveryAttempt.outcome.in_(_HANDED_OVER),
        )
        .order_by(DeliveryAttempt.attempt_number.desc())
        .limit(1)
    ).first()


def delivery_receipt(tracked: Tracked, *, key: bytes) -> Receipt:
    """The receipt of a delivered (or collected) envelope; NotFound before that."""
    attempt = None
    if tracked.envelope.state in (State.delivered, State.collected):
        attempt = handed_over_attempt(tracked.envelope.id)
    if attempt is None:
        raise NotFound(
            _("There is no receipt before the result is handed over."), code="no_receipt"
        )
    return Receipt(
        envelope_code=tracked.envelope.code,
        procedure_name=tracked.dossier.procedure_name,
        result_type=tracked.result_type,
        office_name=tracked.office.name,
        handed_at=attempt.device_time or attempt.received_at,
        handed_to=mask_name(attempt.recipient_name),
        collected=attempt.outcome == "collected",
        verification_code=receipt_code(key, attempt.id),
    )


# --- Where the agency sees the link ------------------------------------------------------------


def tracking_urls(
    envelopes: list[Envelope], *, key: bytes, public_url: str, now: datetime
) -> dict[str, str]:
    """Each envelope's tracking link in full, by envelope code; a link is made for an envelope
    that has none yet (flushed: the caller commits)."""
    return {
        envelope.code: tracking_url(public_url, token_for(envelope, key=key, now=now))
        for envelope in envelopes
    }
