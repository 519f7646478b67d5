"""The tracking page's limits: look-ups per client address, wrong digits per address
(Flask-Limiter, Redis in production) and per envelope (the database: it holds across workers
and restarts)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from backend.extensions import db
from tests.auth.test_login_limits import ROOT
from tests.conftest import REDIS_URL, Factory, clean_database, make_test_app, running_app
from tests.tracking.conftest import make_story, verify


def limited(**overrides):
    settings = {
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": "memory://",
        "RATELIMIT_TRACKING_LOOKUP": "1000 per minute",
        "RATELIMIT_TRACKING_GUESS": "1000 per hour",
        **overrides,
    }
    return running_app(**settings)


def test_look_ups_are_limited_per_address_on_every_tracking_route():
    with limited(RATELIMIT_TRACKING_LOOKUP="3 per minute") as app:
        story = make_story(Factory())
        client = app.test_client()
        here = {"REMOTE_ADDR": "198.51.100.7"}
        codes = [client.get("/t/" + "A" * 22, environ_base=here).status_code for _ in range(2)]
        codes.append(client.get(f"/t/{story.token}", environ_base=here).status_code)
        codes.append(client.get(f"/t/{story.token}", environ_base=here).status_code)
        codes.append(verify(client, story.token, address="198.51.100.7").status_code)
        assert codes == [404, 404, 200, 429, 429]
        other = client.get(f"/t/{story.token}", environ_base={"REMOTE_ADDR": "198.51.100.8"})
        assert other.status_code == 200
        limited_page = client.get(f"/t/{story.token}", environ_base=here)
        assert "Có quá nhiều lượt thử" in limited_page.get_data(as_text=True)


def test_wrong_digits_are_limited_per_address_across_envelopes():
    with limited(RATELIMIT_TRACKING_GUESS="3 per hour") as app:
        factory = Factory()
        stories = [make_story(factory) for _ in range(4)]
        client = app.test_client()
        codes = [
            verify(client, s.token, "0000", address="203.0.113.5").status_code for s in stories
        ]
        assert codes == [403, 403, 403, 429]
        # The right digits do not use the address's tries up; another address has its own.
        assert verify(client, stories[3].token, address="203.0.113.6").status_code == 303
        assert verify(client, stories[3].token, "0000", address="203.0.113.6").status_code == 403


@pytest.fixture
def database_url(tmp_path):
    """A database two app instances share (a file for SQLite; PostgreSQL's test database)."""
    base = os.environ.get("TEST_DATABASE_URL", "")
    return base if base.startswith("postgresql") else f"sqlite:///{tmp_path / 'guard.db'}"


def test_the_envelope_lock_holds_in_a_new_app_instance(database_url):
    first = make_test_app(database_url)
    with first.app_context():
        db.create_all()
        story = make_story(Factory())
        client = first.test_client()
        codes = [verify(client, story.token, "0000").status_code for _ in range(5)]
        assert codes == [403, 403, 403, 403, 429]
        db.session.remove()
        db.engine.dispose()
    second = make_test_app(database_url)  # another worker, or the app restarted
    with second.app_context():
        try:
            client = second.test_client()
            response = verify(client, story.token, address="192.0.2.99")
            assert response.status_code == 429
        finally:
            clean_database()
            db.session.remove()
            db.engine.dispose()


WORKER = """
import json, sys
from tests.conftest import running_app

redis_url, prefix, count = sys.argv[1:]
with running_app(
    RATELIMIT_ENABLED=True,
    RATELIMIT_STORAGE_URI=redis_url,
    RATELIMIT_KEY_PREFIX=prefix,
    RATELIMIT_TRACKING_LOOKUP="2 per minute",
) as app:
    client = app.test_client()
    here = {"REMOTE_ADDR": "192.0.2.44"}
    codes = [client.get("/t/" + "A" * 22, environ_base=here).status_code for _ in range(int(count))]
print(json.dumps(codes))
"""


def run_worker(prefix: str, count: int) -> list[int]:
    """A separate process (a gunicorn worker, another server) with its own app instance."""
    env = {k: v for k, v in os.environ.items() if k != "TEST_DATABASE_URL"}  # its own SQLite
    result = subprocess.run(
        [sys.executable, "-c", WORKER, REDIS_URL, prefix, str(count)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_two_workers_on_redis_share_the_look_up_count(redis_prefix):
    assert run_worker(redis_prefix, 2) == [404, 404]
    assert run_worker(redis_prefix, 1) == [429]
