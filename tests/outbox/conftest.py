"""Fixtures of the outbox's tests: a queue of their own on Redis, a real receiver on loopback,
and an app on a database several threads share (a SQLite file, or PostgreSQL when
TEST_DATABASE_URL says so).

The queue is chosen from the environment when `backend.outbox.tasks` is first imported, so its
name (unique to this test process) is set here, before any test imports it.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

os.environ.setdefault("TRAO_QUEUE_URL", "redis://127.0.0.1:6379/0")
os.environ.setdefault("TRAO_QUEUE_NAME", f"trao-test-{os.getpid()}-{uuid.uuid4().hex[:8]}")

from backend.extensions import db  # noqa: E402
from backend.models import Agency, OutboxMessage  # noqa: E402
from backend.outbox.signing import (  # noqa: E402
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    verify,
)
from tests.conftest import running_app  # noqa: E402

# Tiny waits, so retries take milliseconds; a short lease is still far above one POST.
FAST = {
    "TRAO_OUTBOX_ENQUEUE": True,
    "TRAO_WEBHOOK_BACKOFF_SECONDS": 0.05,
    "TRAO_WEBHOOK_BACKOFF_CAP_SECONDS": 0.2,
    "TRAO_WEBHOOK_TIMEOUT_SECONDS": 2.0,
    "TRAO_WEBHOOK_LEASE_SECONDS": 30.0,
    "TRAO_WEBHOOK_MAX_TRIES": 30,
    "TRAO_WEBHOOK_BATCH": 5,
}


@pytest.fixture
def queue():
    """The Huey instance, emptied before and after the test."""
    from backend.outbox import tasks

    tasks.huey.flush()
    yield tasks.huey
    tasks.huey.flush()


@pytest.fixture
def shared_app(tmp_path, queue):
    """An app whose database every thread reaches with a connection of its own."""
    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'outbox.db'}"
    from backend.outbox import tasks

    with running_app(SQLALCHEMY_DATABASE_URI=url, **FAST) as app:
        tasks.use_app(app)
        try:
            yield app
        finally:
            tasks.use_app(None)


@pytest.fixture
def fast_app(queue):
    """The usual in-memory test app with tiny backoff settings, the tasks running in it."""
    from backend.outbox import tasks

    with running_app(**FAST) as app:
        tasks.use_app(app)
        try:
            yield app
        finally:
            tasks.use_app(None)


@contextmanager
def consumer(huey, workers: int) -> Iterator:
    """Huey's own consumer with `workers` threads, each task with its own database session."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    running = huey.create_consumer(
        workers=workers,
        worker_type="thread",
        periodic=False,
        initial_delay=0.02,
        max_delay=0.1,
        check_worker_health=False,
    )
    running.start()
    try:
        yield running
    finally:
        running.stop(graceful=True)
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def webhook_agency(factory, url: str) -> Agency:
    agency = factory.agency(webhook_url=url, webhook_secret_salt=uuid.uuid4().hex[:16])
    return agency


def outbox_statuses() -> Counter:
    db.session.rollback()
    return Counter(db.session.execute(db.select(OutboxMessage.status)).scalars())


def wait_until(predicate, timeout: float = 30.0, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


class Receiver:
    """An agency's server on loopback: verifies each signature, answers as told, and counts what
    its handler accepted, by event id and in order per dossier."""

    def __init__(self, secret: str, *, fail_tries=lambda event_id: 0, slow=lambda event_id: 0.0):
        self.secret = secret
        self.fail_tries = fail_tries  # how many first tries of an event get a 500
        self.slow = slow  # seconds the handler takes over an event
        self.lock = threading.Lock()
        self.tries: Counter = Counter()
        self.deliveries: Counter = Counter()
        self.order: dict[str, list[int]] = defaultdict(list)
        self.bad_signatures = 0
        self.in_flight: Counter = Counter()
        self.overlap = False
        self.port = 0
        self.server: ThreadingHTTPServer | None = None
        self.healthy = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/trao"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.handle(self, body)

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Gone: the socket is closed, connections are refused."""
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def answer(self, handler, status: int) -> None:
        handler.send_response(status)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    def handle(self, handler, body: bytes) -> None:
        import json

        signed = verify(
            self.secret,
            handler.headers.get(TIMESTAMP_HEADER),
            handler.headers.get(SIGNATURE_HEADER),
            body,
            now=time.time(),
        )
        event_id = int(handler.headers.get(EVENT_ID_HEADER, "0"))
        with self.lock:
            self.tries[event_id] += 1
            tries = self.tries[event_id]
            if not signed:
                self.bad_signatures += 1
        if not signed:
            return self.answer(handler, 401)
        if tries <= self.fail_tries(event_id) or not self.healthy:
            return self.answer(handler, 500)
        payload = json.loads(body)
        assert payload["event_id"] == event_id
        dossier = payload["dossier_code"]
        with self.lock:
            self.in_flight[dossier] += 1
            self.overlap |= self.in_flight[dossier] > 1
        time.sleep(self.slow(event_id))
        with self.lock:
            self.in_flight[dossier] -= 1
            self.deliveries[event_id] += 1
            self.order[dossier].append(event_id)
        return self.answer(handler, 204)


@pytest.fixture
def make_receiver():
    made: list[Receiver] = []

    def _make(secret: str, **kw) -> Receiver:
        receiver = Receiver(secret, **kw)
        receiver.start()
        made.append(receiver)
        return receiver

    yield _make
    for receiver in made:
        receiver.stop()
