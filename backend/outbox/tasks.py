"""The task queue (Huey) and its tasks: deliver the outbox when woken, and sweep every minute.

The queue only wakes workers; what is due lives in `outbox_message`. A lost wake-up (the queue
was down when a request committed) costs at most a minute: the periodic sweep finds the rows.

`huey` is built from the environment (TRAO_QUEUE_URL, TRAO_QUEUE_NAME): an empty URL is a SQLite
file in the instance folder, so `make run` needs nothing more; `redis://…` in production.
Run the consumer with `flask outbox-worker` (or `huey_consumer backend.outbox.tasks.huey`).
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta

import urllib3
from flask import Flask
from huey import MemoryHuey, RedisHuey, SqliteHuey, crontab

from backend import clock
from backend.config import INSTANCE_DIR, Config
from backend.extensions import db
from backend.outbox.services import (
    NOTIFY,
    WEBHOOK,
    OutboxSettings,
    claim_messages,
    next_wake,
    record_outcome,
    release_claims,
    send_message,
)

log = logging.getLogger(__name__)

KICK_KEY = "outbox-kick"
# A retry due sooner than the sweep's next run gets a task of its own at that time.
SWEEP_SECONDS = 60


def make_queue(url: str, name: str):
    """The Huey instance a queue URL names."""
    if not url:
        INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
        return SqliteHuey(name, filename=str(INSTANCE_DIR / "queue.db"))
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey(name, url=url)
    if url.startswith("sqlite:///"):
        return SqliteHuey(name, filename=url.removeprefix("sqlite:///"))
    if url == "memory://":
        return MemoryHuey(name)
    raise RuntimeError(f"TRAO_QUEUE_URL: unknown queue {url.split(':', 1)[0]!r}")


_settings = Config()
huey = make_queue(_settings.TRAO_QUEUE_URL, _settings.TRAO_QUEUE_NAME)
# One pool for the process (thread-safe), connections kept to each agency's server.
http = urllib3.PoolManager(num_pools=50, maxsize=4, retries=False)
_app: Flask | None = None
# The consumer's stop flag: once set, a pass sends nothing more and gives back what it claimed.
_stop_flag = None


def use_app(app: Flask) -> None:
    """The Flask app the tasks run in (the worker command's; a test's)."""
    global _app
    _app = app


def stop_with(flag) -> None:
    """Watch the consumer's stop flag (a graceful stop): the message in flight is finished and
    recorded, the rest of the claimed batch is given back at once rather than left to its lease."""
    global _stop_flag
    _stop_flag = flag


def stopping() -> bool:
    return _stop_flag is not None and _stop_flag.is_set()


def worker_app() -> Flask:
    global _app
    if _app is None:
        from backend import create_app

        _app = create_app()
    return _app


def kick() -> bool:
    """Wake a worker, unless a wake-up is already waiting. Never raises: a lost wake-up is
    found by the sweep, and the request that wrote the event must not fail for it."""
    try:
        if huey.put_if_empty(KICK_KEY, "1"):
            deliver_outbox()
        return True
    except Exception as exc:
        log.warning("outbox: could not wake the worker (%s)", type(exc).__name__)
        return False


@huey.task()
def deliver_outbox(wake_key: str | None = None) -> int:
    """Send every due message, then make sure the next retry is not forgotten."""
    huey.delete(wake_key or KICK_KEY)
    return deliver_pass(worker_app())


@huey.periodic_task(crontab(minute="*"))
def sweep_outbox() -> int:
    """Every minute: whatever is due, however its wake-up was lost."""
    return deliver_pass(worker_app())


def deliver_pass(app: Flask, rng: random.Random | None = None) -> int:
    """Claim, send and record until nothing is due; how many messages were sent."""
    from backend.notify.gateways import build_gateways
    from backend.notify.services import NotifySettings, sending_allowed

    settings = OutboxSettings.from_config(app.config)
    notify = NotifySettings.from_config(app.config)
    key = app.config["WEBHOOK_KEY"]
    sent = 0
    with app.app_context():
        try:
            while not stopping():
                # Citizens' messages wait out the night; agencies' webhooks do not.
                channels = (WEBHOOK, NOTIFY) if sending_allowed(clock.now(), notify) else (WEBHOOK,)
                claims = claim_messages(
                    now=clock.now(), settings=settings, webhook_key=key, channels=channels
                )
                db.session.commit()
                if not claims:
                    break
                if len(claims) == settings.batch:
                    kick()  # more may be due: let another worker share them
                gateways = build_gateways(app.config, http) if NOTIFY in channels else []
                sent += _send_claimed(claims, settings, rng, app, gateways, notify)
            _schedule_next(clock.now())
        finally:
            db.session.rollback()
    return sent


def _send_claimed(claims, settings: OutboxSettings, rng, app, gateways, notify) -> int:
    from backend.notify.services import send_notification

    sent = 0
    for index, claim in enumerate(claims):
        now = clock.now()
        if stopping() or now + timedelta(seconds=settings.timeout_seconds) >= claim.claimed_until:
            # The worker is stopping, or the lease could end mid-POST and another worker send it
            # too: give the rest back.
            release_claims(claims[index:])
            db.session.commit()
            break
        if claim.channel == NOTIFY:
            sent += send_notification(
                claim, gateways, config=app.config, outbox=settings, settings=notify, rng=rng
            )
            continue
        error = send_message(claim, http=http, now=now, settings=settings)
        record_outcome(claim, error, now=clock.now(), settings=settings, rng=rng)
        db.session.commit()
        sent += error is None
        if error:
            log.info("outbox: message %s failed (%s), try %s", claim.id, error, claim.tries + 1)
    return sent


def _schedule_next(now: datetime) -> None:
    """A task at the next retry when it comes before the sweep (one per second at most).
    Notifications waiting out the night are left to the sweep."""
    from flask import current_app

    from backend.notify.services import NotifySettings, sending_allowed

    notify = sending_allowed(now, NotifySettings.from_config(current_app.config))
    wake = next_wake((WEBHOOK, NOTIFY) if notify else (WEBHOOK,))
    db.session.rollback()
    if wake is None or wake > now + timedelta(seconds=SWEEP_SECONDS):
        return
    eta = max(wake, now)
    wake_key = f"outbox-wake:{int(eta.timestamp())}"
    try:
        if huey.put_if_empty(wake_key, "1"):
            deliver_outbox.schedule(
                kwargs={"wake_key": wake_key}, eta=eta + timedelta(seconds=0.01)
            )
    except Exception as exc:
        log.warning("outbox: could not schedule the next retry (%s)", type(exc).__name__)


# --- Citizens' notifications: the day before the hold ends (backend/notify) -------------------

HOLD_ENDING_LOCK = "notify-hold-ending"


@huey.periodic_task(crontab(minute="5"))
def hold_ending_reminders() -> int:
    """Every hour: an event and a message for each held envelope whose last day is the next
    working day (one per envelope however often it runs: a missed run costs an hour, not a
    day; the message itself waits for TRAO_NOTIFY_HOURS)."""
    with huey.lock_task(HOLD_ENDING_LOCK):  # two consumers' schedulers: one runs it
        return run_hold_endings(worker_app())


def run_hold_endings(app: Flask) -> int:
    from backend.notify.services import record_hold_endings

    with app.app_context():
        try:
            written = record_hold_endings(now=clock.now())
            db.session.commit()
        finally:
            db.session.rollback()
    return written
