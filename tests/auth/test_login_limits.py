"""Log-in limits: refused log-ins counted per address and per account, the address read through
trusted proxies only, and the count shared by every worker through the limiter's storage."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import PASSWORD, REDIS_URL, Factory, running_app

ROOT = Path(__file__).resolve().parents[2]
PROXY = "10.0.0.1"


def limited_app(**overrides):
    settings = {
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": "memory://",
        "RATELIMIT_LOGIN": "3 per day",
        "RATELIMIT_LOGIN_ACCOUNT": "3 per day",
        **overrides,
    }
    return running_app(**settings)


def attempt(client, username, password="wrong", address="192.0.2.1", forwarded=None) -> int:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    response = client.post(
        "/login",
        data={"username": username, "password": password},
        environ_base={"REMOTE_ADDR": address},
        headers=headers,
    )
    return response.status_code


def test_the_limiter_checks_only_where_a_view_has_a_limit():
    """Its hook before every request found no limit anywhere else, at a cost to every attempt."""
    from backend.extensions import limiter

    with limited_app() as app:
        assert limiter._check_request_limit not in app.before_request_funcs.get(None, [])
        client = app.test_client()
        assert client.get("/login").status_code == 200  # a view without a limit answers as before
        assert [attempt(client, "guess") for _ in range(4)] == [401, 401, 401, 429]


def test_refused_log_ins_are_counted_per_address():
    with limited_app(RATELIMIT_LOGIN_ACCOUNT="100 per day") as app:
        client = app.test_client()
        codes = [attempt(client, f"guess{i}", address="198.51.100.7") for i in range(4)]
        assert codes == [401, 401, 401, 429]
        assert attempt(client, "guess9", address="198.51.100.7") == 429  # any account from there
        assert attempt(client, "guess9", address="198.51.100.8") == 401  # another address is free


def test_refused_log_ins_are_counted_per_account_across_addresses():
    with limited_app(RATELIMIT_LOGIN="100 per day") as app:
        postman = Factory().user(username="buuta7")
        client = app.test_client()
        addresses = [f"203.0.113.{n}" for n in range(1, 5)]
        codes = [attempt(client, "BuuTa7 ", address=a) for a in addresses]
        assert codes == [401, 401, 401, 429]
        # Locked for the window, even with the right password, from yet another address.
        assert attempt(client, postman.username, PASSWORD, address="203.0.113.99") == 429
        assert attempt(client, "buuta8", address="203.0.113.99") == 401  # other accounts are not


def test_an_unknown_username_is_counted_like_a_known_one():
    """Otherwise a 429 would tell a stranger which usernames exist."""
    with limited_app(RATELIMIT_LOGIN="100 per day") as app:
        client = app.test_client()
        codes = [attempt(client, "nobody", address=f"203.0.113.{n}") for n in range(4)]
        assert codes == [401, 401, 401, 429]


def test_successful_log_ins_do_not_use_up_the_offices_address():
    """At 7 a.m. a post office's postmen log in from one address: only refusals count."""
    with limited_app() as app:
        factory = Factory()
        postmen = [factory.user() for _ in range(5)]
        client = app.test_client()
        for postman in postmen:
            assert attempt(client, postman.username, PASSWORD, address="192.0.2.50") == 302
            client.post("/logout")
        assert attempt(client, postmen[0].username, "typo", address="192.0.2.50") == 401


def test_without_trusted_proxies_a_forwarded_for_header_is_ignored():
    """Trust none by default: a client cannot pick a fresh bucket by inventing the header."""
    with limited_app(RATELIMIT_LOGIN_ACCOUNT="100 per day") as app:
        client = app.test_client()
        codes = [
            attempt(client, "guess", address=PROXY, forwarded=f"198.51.100.{n}") for n in range(4)
        ]
        assert codes == [401, 401, 401, 429]


def test_behind_a_trusted_proxy_each_client_has_its_own_bucket():
    with limited_app(TRAO_TRUSTED_PROXIES=1, RATELIMIT_LOGIN_ACCOUNT="100 per day") as app:
        client = app.test_client()
        stranger = [attempt(client, "guess", address=PROXY, forwarded="198.51.100.66")]
        stranger += [attempt(client, "guess", address=PROXY, forwarded="198.51.100.66")]
        stranger += [attempt(client, "guess", address=PROXY, forwarded="198.51.100.66")]
        stranger += [attempt(client, "guess", address=PROXY, forwarded="198.51.100.66")]
        assert stranger == [401, 401, 401, 429]
        # The postmen behind the same proxy are not locked out by him.
        assert attempt(client, "buuta1", address=PROXY, forwarded="198.51.100.10") == 401
        # Nor can he escape his bucket by writing his own header before the proxy's.
        forged = "192.0.2.200, 198.51.100.66"
        assert attempt(client, "guess", address=PROXY, forwarded=forged) == 429


def test_the_limits_log_names_no_address_or_username(caplog):
    caplog.set_level(logging.INFO)
    with limited_app(RATELIMIT_LOGIN_ACCOUNT="1 per day") as app:
        client = app.test_client()
        for _ in range(3):
            attempt(client, "buuta1", address="198.51.100.23")
    text = caplog.text
    assert "exceeded" in text  # Flask-Limiter logged the breach…
    assert "198.51.100.23" not in text and "buuta1" not in text  # …by a digest only


# --- Several workers ------------------------------------------------------------------------

WORKER = """
import json, sys
from tests.conftest import running_app

redis_url, prefix, address, *usernames = sys.argv[1:]
with running_app(
    RATELIMIT_ENABLED=True,
    RATELIMIT_STORAGE_URI=redis_url,
    RATELIMIT_KEY_PREFIX=prefix,
    RATELIMIT_LOGIN="100 per day",
    RATELIMIT_LOGIN_ACCOUNT="3 per day",
) as app:
    client = app.test_client()
    codes = [
        client.post(
            "/login",
            data={"username": name, "password": "wrong"},
            environ_base={"REMOTE_ADDR": address},
        ).status_code
        for name in usernames
    ]
print(json.dumps(codes))
"""


def run_worker(prefix: str, address: str, *usernames: str) -> list[int]:
    """A separate process (a gunicorn worker, another server) with its own app instance."""
    env = {k: v for k, v in os.environ.items() if k != "TEST_DATABASE_URL"}  # its own SQLite
    result = subprocess.run(
        [sys.executable, "-c", WORKER, REDIS_URL, prefix, address, *usernames],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_two_workers_sharing_redis_share_the_count(redis_prefix):
    assert run_worker(redis_prefix, "203.0.113.1", "buuta1", "buuta1", "buuta1") == [401] * 3
    # Another worker, another address: the account is already locked, other accounts are not.
    assert run_worker(redis_prefix, "203.0.113.2", "buuta1", "buuta2") == [429, 401]


def test_log_ins_go_on_when_the_limiters_storage_is_down():
    """Redis unreachable: each worker counts in its own memory rather than answering 500."""
    with limited_app(RATELIMIT_STORAGE_URI="redis://127.0.0.1:9/0") as app:
        postman = Factory().user(username="buuta8")
        client = app.test_client()
        assert attempt(client, "buuta8", password=PASSWORD) == 302
        codes = [attempt(client, "nobody", address="198.51.100.20") for _ in range(4)]
        assert codes == [401, 401, 401, 429]
        assert postman.id
