"""Two uploads racing for one envelope: exactly one lands, the other gets a clean 409 or replay.

Each request runs in its own thread with its own database connection (a SQLite file, or the
PostgreSQL test database); a barrier holds both until each has read the envelope, so they
really do write against the same version of it.
"""

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

import backend.delivery.receiving as delivery_receiving
from backend.extensions import db
from backend.models import DeliveryAttempt, Event
from backend.storage import get_storage
from tests.conftest import Factory, login, running_app
from tests.delivery.helpers import (
    default_files,
    delivered_meta,
    failed_meta,
    jpeg,
    make_run,
    post_attempt,
    sha,
)


@pytest.fixture
def shared_app(tmp_path):
    """An app on a database that several connections can share (not SQLite in memory)."""
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        url = f"sqlite:///{tmp_path / 'race.db'}"
    with running_app(SQLALCHEMY_DATABASE_URI=url, STORAGE_URL=str(tmp_path / "proofs")) as app:
        yield app


@pytest.fixture
def both_at_the_door(monkeypatch):
    """Hold each request just before it writes, until the other has read the envelope too."""
    barrier = threading.Barrier(2, timeout=10)
    original = delivery_receiving.record_attempt

    def record_after_both_read(**kwargs):
        barrier.wait()
        return original(**kwargs)

    monkeypatch.setattr(delivery_receiving, "record_attempt", record_after_both_read)


def _race(app, postman, requests):
    clients = []
    for _ in requests:
        # A plain client: each request in its thread gets its own app context and session.
        client = FlaskClient(app, app.response_class, use_cookies=True)
        login(client, postman)
        clients.append(client)
    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        futures = [
            pool.submit(post_attempt, client, meta, files)
            for client, (meta, files) in zip(clients, requests, strict=True)
        ]
        return [f.result() for f in futures]


def test_two_attempts_for_one_envelope_cannot_both_land(shared_app, both_at_the_door):
    postman, run = make_run(Factory())
    stop = run.stops[0]
    db.session.commit()
    files = default_files()
    delivered = delivered_meta(stop, files)
    doorstep = [("photo", jpeg(colour=(10, 200, 30)))]  # the failure's photo of the door
    failed = failed_meta(stop, doorstep)
    responses = _race(shared_app, postman, [(delivered, files), (failed, doorstep)])

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201, 409], [r.get_json() for r in responses]
    loser = next(r for r in responses if r.status_code == 409)
    assert loser.get_json()["error"]["code"] == "envelope_busy"
    stored = {p.name for p in get_storage(shared_app).root.rglob("*") if p.is_file()}
    sent = [files, doorstep]
    won, lost = (0, 1) if responses[0].status_code == 201 else (1, 0)
    # The winner's files; no trace of the loser's photo.
    assert stored == {sha(data) for _, data in sent[won]}
    assert not {sha(data) for _, data in sent[lost]} & stored
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(DeliveryAttempt)) == 1
    events = db.session.scalar(
        select(func.count())
        .select_from(Event)
        .where(Event.kind.in_(["envelope.deliver", "envelope.fail"]))
    )
    assert events == 1


def test_the_same_upload_sent_twice_at_once_is_answered_as_a_replay(shared_app, both_at_the_door):
    postman, run = make_run(Factory())
    stop = run.stops[0]
    db.session.commit()
    files = default_files()
    meta = delivered_meta(stop, files)
    responses = _race(shared_app, postman, [(meta, files), (meta, files)])

    assert sorted(r.status_code for r in responses) == [200, 201], [r.get_json() for r in responses]
    assert responses[0].get_json() == responses[1].get_json()
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(DeliveryAttempt)) == 1
