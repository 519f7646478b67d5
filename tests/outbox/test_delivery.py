"""Every event reaches the agency's receiver once, signed, in order per dossier — through a
receiver that fails the first tries, is slow, and goes away for a while, with two workers."""

from __future__ import annotations

import time

from sqlalchemy import select

from backend.domain.lifecycle import Action
from backend.envelopes.services import apply_action
from backend.extensions import db
from backend.models import Dossier, Event, OutboxMessage, Role
from tests.conftest import NOW, Factory
from tests.outbox.conftest import consumer, outbox_statuses, wait_until, webhook_agency

DOSSIERS = 8


def _agency_events(agency) -> list[int]:
    db.session.rollback()
    return list(
        db.session.execute(
            select(Event.id)
            .join(Dossier, Dossier.id == Event.dossier_id)
            .where(Dossier.agency_id == agency.id)
        ).scalars()
    )


def test_two_workers_deliver_every_event_once_signed_and_in_order(shared_app, queue, make_receiver):
    factory = Factory()
    agency = webhook_agency(factory, "http://127.0.0.1:9/")
    secret = agency.webhook_secret(shared_app.config["WEBHOOK_KEY"])
    receiver = make_receiver(
        secret,
        fail_tries=lambda event_id: 2 if event_id % 3 == 0 else 0,  # the first two tries: 500
        slow=lambda event_id: 0.15 if event_id % 4 == 1 else 0.0,
    )
    agency.webhook_url = receiver.url
    supervisor = factory.user(Role.supervisor, post_office=agency.post_office)
    dossiers = [factory.dossier(agency, envelopes=2) for _ in range(DOSSIERS)]
    db.session.commit()  # wakes the (not yet running) workers through the queue
    assert queue.pending_count() >= 1

    with consumer(queue, workers=2):
        # More events while the workers run, each commit waking them.
        for dossier in dossiers[: DOSSIERS // 2]:
            for envelope in dossier.envelopes:
                apply_action(envelope, Action.receive, now=NOW, actor=supervisor)
            db.session.commit()
        assert wait_until(lambda: sum(receiver.deliveries.values()) >= 6, timeout=20)
        # The receiver goes away (connections refused), then comes back on the same port.
        receiver.stop()
        for dossier in dossiers[DOSSIERS // 2 :]:
            for envelope in dossier.envelopes:
                apply_action(envelope, Action.receive, now=NOW, actor=supervisor)
            db.session.commit()
        time.sleep(0.5)
        receiver.start()
        assert wait_until(lambda: outbox_statuses() == {"sent": len(_agency_events(agency))})

    events = _agency_events(agency)
    assert len(events) >= DOSSIERS * 3  # registered, and each of its two envelopes received
    assert set(receiver.deliveries) == set(events)
    assert max(receiver.deliveries.values()) == 1, "an event reached the handler twice"
    assert receiver.bad_signatures == 0
    assert not receiver.overlap, "two messages of one dossier were in flight together"
    for code, received in receiver.order.items():
        assert received == sorted(received), code
    failed = db.session.execute(
        select(OutboxMessage.tries).where(OutboxMessage.event_id % 3 == 0)
    ).scalars()
    assert all(tries >= 3 for tries in failed)


def test_a_lost_wake_up_is_found_by_the_sweep(shared_app, queue, make_receiver, monkeypatch):
    from backend.outbox import tasks

    factory = Factory()
    agency = webhook_agency(factory, "http://127.0.0.1:9/")
    receiver = make_receiver(agency.webhook_secret(shared_app.config["WEBHOOK_KEY"]))
    agency.webhook_url = receiver.url

    def queue_down(*args, **kwargs):
        raise ConnectionError("the queue is down")

    monkeypatch.setattr(queue, "put_if_empty", queue_down)
    factory.dossier(agency)
    db.session.commit()  # the request's commit succeeds; the wake-up is lost
    assert queue.pending_count() == 0
    waiting = outbox_statuses()
    assert set(waiting) == {"pending"}
    monkeypatch.undo()

    tasks.sweep_outbox.call_local()
    assert outbox_statuses() == {"sent": waiting["pending"]}
    assert sum(receiver.deliveries.values()) == waiting["pending"]
