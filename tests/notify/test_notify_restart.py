"""Exactly once across a restart: events written, the worker (Huey's consumer, two threads) stopped
gracefully mid-way, the app object rebuilt and the worker started again — every message reaches
the stand-ins once, counted by tracking_id (the outbox id). And what a hard kill does: the
in-flight message is sent again when its lease ends (the providers de-duplicate on tracking_id)."""

from __future__ import annotations

import random
import signal
from contextlib import contextmanager
from datetime import timedelta

from backend import clock
from backend.extensions import db
from backend.notify.gateways import build_gateways
from backend.notify.services import compose
from backend.outbox.services import NOTIFY, OutboxSettings, claim_messages
from backend.outbox.tasks import deliver_pass, http
from tests.conftest import make_test_app
from tests.notify.conftest import notifications
from tests.notify.test_notify_send import _out_for_delivery
from tests.outbox.conftest import wait_until

COUNT = 12


@contextmanager
def worker(huey, workers: int = 2):
    """Huey's consumer as `flask outbox-worker` runs it (its stop flag watched), stopped
    gracefully at the end of the block."""
    from backend.outbox import tasks

    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    running = huey.create_consumer(
        workers=workers,
        worker_type="thread",
        periodic=False,
        initial_delay=0.02,
        max_delay=0.1,
        check_worker_health=False,
    )
    tasks.stop_with(running.stop_flag)
    running.start()
    try:
        yield running
    finally:
        running.stop(graceful=True)
        tasks.stop_with(None)
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def test_every_message_arrives_once_across_a_restart(shared_notify_app, queue, stand_in):
    from backend.outbox import tasks

    stand_in.slow = 0.08
    stand_in.zalo = lambda tracking_id, n: "zns:-118" if int(tracking_id[5:]) % 3 == 0 else "ok"
    _out_for_delivery(count=COUNT)  # the commit wakes the worker through the queue
    assert queue.pending_count() >= 1

    with worker(queue):
        assert wait_until(lambda: len(stand_in.delivered) >= 3, timeout=20)
    # Stopped: the messages in flight were finished, the rest of the batches given back.
    first = len(stand_in.delivered)
    rows = notifications()
    assert 3 <= first < COUNT, first
    assert {r.claim_token for r in rows} == {None}
    assert sum(r.status == "sent" for r in rows) == first

    # The app restarts: a new app object on the same database and queue; the worker again.
    url, settings = shared_notify_app.config["_NOTIFY_TEST_SETTINGS"]
    restarted = make_test_app(SQLALCHEMY_DATABASE_URI=url, **settings)
    tasks.use_app(restarted)
    try:
        tasks.kick()  # as the sweep would within a minute
        with worker(queue):
            assert wait_until(lambda: {r.status for r in notifications()} == {"sent"}, timeout=30)
    finally:
        tasks.use_app(shared_notify_app)
        with restarted.app_context():
            db.engine.dispose()

    rows = notifications()
    assert len(rows) == COUNT
    assert set(stand_in.delivered) == {f"trao-{r.id}" for r in rows}
    assert max(stand_in.accepted.values()) == 1, "a message reached a phone twice"
    assert len(stand_in.of("/sms")) == sum(1 for r in rows if r.id % 3 == 0)
    assert {r.gateway for r in rows if r.id % 3 == 0} == {"sms"}


def test_a_hard_kill_resends_the_message_in_flight_once_after_its_lease(
    notify_app, stand_in, monkeypatch
):
    _out_for_delivery(count=3)
    config = notify_app.config
    outbox = OutboxSettings.from_config(config)
    # A worker claims the batch, sends the first message, and dies before recording anything.
    claims = claim_messages(
        now=clock.now(), settings=outbox, webhook_key=config["WEBHOOK_KEY"], channels=(NOTIFY,)
    )
    db.session.commit()
    assert len(claims) == 3
    message = compose(claims[0], config, now=clock.now())
    db.session.commit()
    assert build_gateways(config, http)[0].send(message).ok

    deliver_pass(notify_app, rng=random.Random(1))  # the leases hold: nothing is sent
    assert len(stand_in.requests) == 1
    later = clock.now() + timedelta(seconds=outbox.lease_seconds + 1)
    monkeypatch.setattr(clock, "now", lambda: later)
    deliver_pass(notify_app, rng=random.Random(1))  # the leases ended: the batch is sent

    rows = notifications()
    assert {r.status for r in rows} == {"sent"}
    assert stand_in.accepted[f"trao-{rows[0].id}"] == 2  # the window: sent, never recorded
    assert [stand_in.accepted[f"trao-{r.id}"] for r in rows[1:]] == [1, 1]
    assert len(stand_in.delivered) == 3  # the provider de-duplicates on tracking_id
