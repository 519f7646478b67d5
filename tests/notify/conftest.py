"""Fixtures of the notifications' tests: local stand-ins of the Zalo ZNS API and of an SMS
provider (threaded http.server on loopback), and apps whose gateways point at them.

The outbox's fixtures (its own Redis queue, the shared-database app, Huey's consumer) come from
tests/outbox/conftest.py, imported first so the queue's name is set before the tasks load.
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from backend.extensions import db  # noqa: E402
from backend.models import OutboxMessage  # noqa: E402
from tests.conftest import running_app  # noqa: E402
from tests.outbox.conftest import FAST, queue  # noqa: F401  (a fixture)

ACCESS_TOKEN = "zns-access-token-for-tests"
SMS_TOKEN = "sms-token-for-tests"
TEMPLATES = {
    "out_for_delivery": "301001",
    "attempt_failed": "301002",
    "held": "301003",
    "hold_ending": "301004",
    "delivered": "301005",
    "collected": "301006",
}


class StandIn:
    """Zalo ZNS and an SMS provider on one loopback server (/zns, /sms).

    `zalo(tracking_id, try_number)` and `sms(...)` say how to answer: "ok", "zns:<code>" (ZNS's
    200 with a non-zero error), "http:<status>". Every request is kept; `delivered` counts what
    reached a phone, de-duplicated on tracking_id as the providers do."""

    def __init__(self) -> None:
        self.zalo = lambda tracking_id, n: "ok"
        self.sms = lambda tracking_id, n: "ok"
        self.slow = 0.0
        self.lock = threading.Lock()
        self.requests: list[tuple[str, dict, dict]] = []  # (path, headers, body)
        self.tries: Counter = Counter()  # (path, tracking_id)
        self.accepted: Counter = Counter()  # tracking_id: answered ok (before de-duplication)
        self.delivered: dict[str, str] = {}  # tracking_id: path of the gateway that delivered it
        self.serial = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                stand_in.handle(self, body)

        return Handler

    def handle(self, handler, body: dict) -> None:
        import time

        path = handler.path
        zalo = path == "/zns"
        tracking_id = body.get("tracking_id") if zalo else body.get("ref")
        with self.lock:
            self.requests.append((path, dict(handler.headers), body))
            self.tries[path, tracking_id] += 1
            n = self.tries[path, tracking_id]
        authorised = (
            handler.headers.get("access_token") == ACCESS_TOKEN
            if zalo
            else handler.headers.get("Authorization") == f"Bearer {SMS_TOKEN}"
        )
        how = (self.zalo if zalo else self.sms)(tracking_id, n) if authorised else "http:401"
        if self.slow:
            time.sleep(self.slow)
        if how.startswith("http:"):
            return self._answer(handler, int(how[5:]), {})
        if how.startswith("zns:"):
            return self._answer(handler, 200, {"error": int(how[4:]), "message": "refused"})
        with self.lock:
            self.serial += 1
            msg_id = f"{'z' if zalo else 's'}{self.serial}"
            self.accepted[tracking_id] += 1
            self.delivered.setdefault(tracking_id, path)
        if zalo:
            answer = {"error": 0, "message": "Success", "data": {"msg_id": msg_id}}
        else:
            answer = {"id": msg_id, "status": "queued"}
        return self._answer(handler, 200, answer)

    def _answer(self, handler, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def of(self, path: str) -> list[dict]:
        return [body for p, _headers, body in self.requests if p == path]


@pytest.fixture
def stand_in():
    made = StandIn()
    yield made
    made.stop()


def gateway_settings(stand_in: StandIn, gateways: str = "zalo,sms") -> dict:
    return {
        **FAST,
        "TRAO_NOTIFY_GATEWAYS": gateways,
        "TRAO_NOTIFY_HOURS": "",
        "TRAO_NOTIFY_FALLBACK_AFTER_TRIES": 3,
        "TRAO_NOTIFY_TIMEOUT_SECONDS": 2.0,
        "TRAO_ZNS_URL": f"{stand_in.url}/zns",
        "TRAO_ZNS_ACCESS_TOKEN": ACCESS_TOKEN,
        "TRAO_ZNS_TEMPLATES": ",".join(f"{k}={v}" for k, v in TEMPLATES.items()),
        "TRAO_SMS_URL": f"{stand_in.url}/sms",
        "TRAO_SMS_TOKEN": SMS_TOKEN,
        "TRAO_SMS_SENDER": "TRAO",
        "PUBLIC_URL": "https://trao.example.vn",
    }


@pytest.fixture
def notify_app(queue, stand_in):  # noqa: F811
    """The in-memory test app with its gateways at the stand-ins, the tasks running in it."""
    from backend.outbox import tasks

    with running_app(**gateway_settings(stand_in)) as app:
        tasks.use_app(app)
        try:
            yield app
        finally:
            tasks.use_app(None)


@pytest.fixture
def shared_notify_app(tmp_path, queue, stand_in):  # noqa: F811
    """An app on a database several threads (and a rebuilt app) share: a SQLite file, or
    PostgreSQL when TEST_DATABASE_URL says so."""
    from backend.outbox import tasks

    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'notify.db'}"
    settings = gateway_settings(stand_in)
    with running_app(SQLALCHEMY_DATABASE_URI=url, **settings) as app:
        app.config["_NOTIFY_TEST_SETTINGS"] = (url, settings)
        tasks.use_app(app)
        try:
            yield app
        finally:
            tasks.use_app(None)


def notifications() -> list[OutboxMessage]:
    db.session.rollback()
    return list(
        db.session.execute(
            db.select(OutboxMessage)
            .where(OutboxMessage.channel == "notify")
            .order_by(OutboxMessage.id)
        ).scalars()
    )
