"""The pieces: signatures a receiver can check, backoff with full jitter, claims and leases,
and the wake-up after a commit (never inside it, never failing it)."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from backend import clock
from backend.extensions import db
from backend.models import OutboxMessage
from backend.models.events import OUTBOX_WRITTEN
from backend.outbox.services import (
    OutboxSettings,
    claim_messages,
    record_outcome,
    retry_delay,
)
from backend.outbox.signing import signature, signed_headers, verify
from tests.conftest import Factory
from tests.outbox.conftest import webhook_agency

SECRET = "s3cret"


def test_a_signature_verifies_and_a_replay_or_a_changed_body_does_not():
    body = b'{"event_id":7}'
    headers = signed_headers(SECRET, 7, 1_800_000_000, body)
    assert headers["X-Trao-Event-Id"] == "7"
    assert headers["X-Trao-Signature"] == signature(SECRET, 1_800_000_000, body)
    assert headers["X-Trao-Signature"].startswith("sha256=")
    ts, sig = headers["X-Trao-Timestamp"], headers["X-Trao-Signature"]
    assert verify(SECRET, ts, sig, body, now=1_800_000_010)
    assert not verify(SECRET, ts, sig, body, now=1_800_000_000 + 3600)  # a replay, later
    assert not verify(SECRET, ts, sig, body + b" ", now=1_800_000_010)
    assert not verify("other", ts, sig, body, now=1_800_000_010)
    assert not verify(SECRET, "x", sig, body, now=1_800_000_010)
    assert not verify(SECRET, None, None, body, now=1_800_000_010)


@given(tries=st.integers(1, 60), seed=st.integers(0, 2**32))
def test_the_backoff_is_full_jitter_below_a_capped_exponential(tries, seed):
    settings = OutboxSettings(backoff_seconds=30, backoff_cap_seconds=3600)
    delay = retry_delay(tries, settings, random.Random(seed))
    assert 0 <= delay <= min(3600, 30 * 2 ** (tries - 1))


def _setup(app, dossiers: int = 2):
    factory = Factory()
    agency = webhook_agency(factory, "http://127.0.0.1:9/hook")
    made = [factory.dossier(agency) for _ in range(dossiers)]
    db.session.commit()
    return agency, made


SETTINGS = OutboxSettings(batch=50, lease_seconds=60, max_tries=3, backoff_seconds=0)


def test_a_claim_takes_only_the_first_unsent_message_of_each_dossier(app):
    agency, dossiers = _setup(app)
    key = app.config["WEBHOOK_KEY"]
    claims = claim_messages(now=clock.now(), settings=SETTINGS, webhook_key=key)
    db.session.commit()
    heads = {
        d.id: db.session.execute(
            select(OutboxMessage.id).where(OutboxMessage.dossier_id == d.id).order_by("id")
        )
        .scalars()
        .first()
        for d in dossiers
    }
    assert sorted(c.id for c in claims) == sorted(heads.values())
    assert all(c.secret == agency.webhook_secret(key) for c in claims)
    # Claimed: a second worker gets nothing until they are sent or their lease ends.
    assert claim_messages(now=clock.now(), settings=SETTINGS, webhook_key=key) == []
    for claim in claims:
        record_outcome(claim, None, now=clock.now(), settings=SETTINGS)
    db.session.commit()
    following = claim_messages(now=clock.now(), settings=SETTINGS, webhook_key=key)
    assert following and all(c.id not in heads.values() for c in following)


def test_a_crashed_workers_lease_ends_and_its_late_record_is_ignored(app):
    _setup(app, dossiers=1)
    key = app.config["WEBHOOK_KEY"]
    now = clock.now()
    [first] = claim_messages(now=now, settings=SETTINGS, webhook_key=key)
    db.session.commit()
    later = now + timedelta(seconds=SETTINGS.lease_seconds + 1)
    [again] = claim_messages(now=later, settings=SETTINGS, webhook_key=key)
    db.session.commit()
    assert again.id == first.id and again.token != first.token
    assert not record_outcome(first, None, now=later, settings=SETTINGS)  # lost its lease
    assert record_outcome(again, "http_503", now=later, settings=SETTINGS)
    db.session.commit()
    message = db.session.get(OutboxMessage, first.id)
    assert (message.status, message.tries, message.last_error) == ("pending", 1, "http_503")


def test_the_worker_sends_nothing_on_a_lease_too_short_for_a_post(app, monkeypatch):
    from backend.outbox import tasks

    _setup(app, dossiers=1)
    app.config["TRAO_WEBHOOK_LEASE_SECONDS"] = 1.0
    app.config["TRAO_WEBHOOK_TIMEOUT_SECONDS"] = 5.0
    sent = []
    monkeypatch.setattr(tasks, "send_message", lambda *a, **k: sent.append(a) or None)
    monkeypatch.setattr(tasks, "_schedule_next", lambda now: None)
    monkeypatch.setattr(tasks, "claim_messages", _claim_once(tasks.claim_messages))
    tasks.deliver_pass(app)
    assert sent == []
    message = db.session.execute(select(OutboxMessage).order_by("id")).scalars().first()
    assert message.claim_token is None and message.tries == 0  # given back untried


def _claim_once(claim):
    calls = []

    def once(**kwargs):
        calls.append(1)
        return claim(**kwargs) if len(calls) == 1 else []

    return once


def test_a_rolled_back_transaction_wakes_nobody(app, monkeypatch):
    from backend.outbox import tasks

    kicks = []
    monkeypatch.setattr(tasks, "kick", lambda: kicks.append(1))
    app.config["TRAO_OUTBOX_ENQUEUE"] = True
    factory = Factory()
    agency = webhook_agency(factory, "http://127.0.0.1:9/hook")
    factory.dossier(agency)
    assert db.session.info.get(OUTBOX_WRITTEN)
    db.session.rollback()
    db.session.commit()
    assert kicks == []
    factory.dossier(webhook_agency(factory, "http://127.0.0.1:9/hook"))
    db.session.commit()
    assert kicks == [1]


def test_a_queue_that_is_down_does_not_fail_the_request(app, monkeypatch):
    from backend.outbox import tasks

    def down(*args, **kwargs):
        raise ConnectionError("refused")

    monkeypatch.setattr(tasks.huey, "put_if_empty", down)
    app.config["TRAO_OUTBOX_ENQUEUE"] = True
    assert tasks.kick() is False
    factory = Factory()
    factory.dossier(webhook_agency(factory, "http://127.0.0.1:9/hook"))
    db.session.commit()  # no exception
    assert db.session.execute(select(OutboxMessage)).first() is not None


@pytest.mark.parametrize(
    ("url", "kind"),
    [("redis://127.0.0.1:6379/0", "RedisHuey"), ("memory://", "MemoryHuey")],
)
def test_the_queue_url_chooses_the_store(url, kind, tmp_path):
    from backend.outbox.tasks import make_queue

    assert type(make_queue(url, "x")).__name__ == kind
    assert type(make_queue(f"sqlite:///{tmp_path / 'q.db'}", "x")).__name__ == "SqliteHuey"
    with pytest.raises(RuntimeError):
        make_queue("amqp://x", "x")
