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


def use_app(app: Flask) -> None:
    """The Flask app the tasks run in (the worker command's; a test's)."""
    global _app
    _app = app


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
    settings = OutboxSettings.from_config(app.config)
    key = app.config["WEBHOOK_KEY"]
    sent = 0
    with app.app_context():
        try:
            while True:
                claims = claim_messages(now=clock.now(), settings=settings, webhook_key=key)
                db.session.commit()
                if not claims:
                    break
                if len(claims) == settings.batch:
                    kick()  # more may be due: let another worker share them
                sent += _send_claimed(claims, settings, rng)
            _schedule_next(clock.now())
        finally:
            db.session.rollback()
    return sent


def _send_claimed(claims, settings: OutboxSettings, rng) -> int:
    sent = 0
    for index, claim in enumerate(claims):
        now = clock.now()
        if now + timedelta(seconds=settings.timeout_seconds) >= claim.claimed_until:
            # The lease could end mid-POST and another worker send it too: give the rest back.
            release_claims(claims[index:])
            db.session.commit()
            break
        error = send_message(claim, http=http, now=now, settings=settings)
        record_outcome(claim, error, now=clock.now(), settings=settings, rng=rng)
        db.session.commit()
        sent += error is None
        if error:
            log.info("outbox: message %s failed (%s), try %s", claim.id, error, claim.tries + 1)
    return sent


def _schedule_next(now: datetime) -> None:
    """A task at the next retry when it comes before the sweep (one per second at most)."""
    wake = next_wake()
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
