"""Shared fixtures: the app on a clean database, a client, and factories for records.

The suite runs on SQLite in memory by default; set TEST_DATABASE_URL to run it on PostgreSQL.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime

import pytest
from flask import Flask, current_app, g, has_app_context
from flask.testing import FlaskClient

from backend import create_app
from backend.config import TestConfig
from backend.extensions import db
from backend.models import Agency, Dossier, Envelope, PostOffice, Role, User

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 09:00 in Lạng Sơn
PASSWORD = "correct horse"
_serial = itertools.count(1)


def pytest_configure(config) -> None:
    """Under pytest-xdist, each worker gets a PostgreSQL database of its own (SQLite is per process
    already): tests empty and refill their tables, so two workers cannot share one."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    base = os.environ.get("TEST_DATABASE_URL", "")
    if not worker or not base.startswith("postgresql"):
        return
    url = f"{base}_{worker}"
    _admin_execute(url, "DROP DATABASE IF EXISTS {name} WITH (FORCE)", "CREATE DATABASE {name}")
    os.environ["TEST_DATABASE_URL"] = url
    config.stash[_WORKER_DATABASE] = url


def pytest_unconfigure(config) -> None:
    url = config.stash.get(_WORKER_DATABASE, None)
    if url:
        _admin_execute(url, "DROP DATABASE IF EXISTS {name} WITH (FORCE)")


_WORKER_DATABASE = pytest.StashKey[str]()


def _admin_execute(url: str, *statements: str) -> None:
    """Run statements about the database `url` names, from the server's `postgres` database."""
    from sqlalchemy import create_engine, text

    base, name = url.rsplit("/", 1)
    admin = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            for statement in statements:
                conn.execute(text(statement.format(name=f'"{name}"')))
    finally:
        admin.dispose()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist (`--dist loadgroup`): a module whose tests share a fixture made once
    for the module (a browser module's live server) stays on one worker; every other test is
    handed out alone, so a long module cannot leave one worker finishing it while the other sits
    idle. Browser tests first: they are the longest."""
    items.sort(key=lambda item: "e2e" not in item.path.parts)
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        definitions = info.name2fixturedefs.values() if info else ()
        if any(d.scope in ("module", "class") for defs in definitions for d in defs):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))


def pytest_sessionstart(session) -> None:
    """Compile the translation catalogues if they are missing or stale (they are not in git)."""
    from backend.i18n import compile_catalogs

    compile_catalogs()


class RequestIsolatingClient(FlaskClient):
    """A test client whose requests do not see the user cached on `g` by an earlier request.

    Tests keep one app context open (for factories); Flask reuses it for each request, and
    Flask-Login caches the loaded user on `g`, which would hide what a real request does.
    """

    def open(self, *args, **kwargs):
        if not has_app_context():
            return super().open(*args, **kwargs)
        g.pop("_login_user", None)
        try:
            return super().open(*args, **kwargs)
        finally:
            g.pop("_login_user", None)


def make_test_app(database_url: str | None = None, **overrides) -> Flask:
    config = TestConfig(database_url)
    for key, value in overrides.items():
        setattr(config, key, value)
    app = create_app(config)
    app.test_client_class = RequestIsolatingClient
    return app


def clean_database() -> None:
    """Empty every table (reverse dependency order), so a shared database starts each test bare."""
    db.session.rollback()
    with db.engine.begin() as conn:
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(table.delete())


@contextmanager
def running_app(**overrides) -> Iterator[Flask]:
    """An app on the test database with its schema, emptied again afterwards."""
    app = make_test_app(**overrides)
    with app.app_context():
        db.create_all()
        try:
            yield app
        finally:
            clean_database()
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app() -> Iterator[Flask]:
    with running_app() as app:
        yield app


@pytest.fixture
def redis_prefix():
    """A key prefix of this test's own on the shared Redis, its keys removed afterwards."""
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip(f"no Redis at {REDIS_URL}")
    prefix = f"trao-test-{uuid.uuid4().hex}"
    yield prefix
    for key in client.scan_iter(f"*{prefix}*"):
        client.delete(key)
    client.close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def factory(app: Flask) -> Factory:
    return Factory()


class Factory:
    """Makes records with sensible defaults; keyword arguments override."""

    def office(self, **kw) -> PostOffice:
        n = next(_serial)
        office = PostOffice(
            **{
                "code": f"24{n:04d}",
                "name": f"Bưu cục {n}",
                "address": "Số 51 đường Lê Lợi, Lạng Sơn",
                "province_code": 20,
                "latitude": 21.8486,
                "longitude": 106.7610,
                **kw,
            }
        )
        db.session.add(office)
        db.session.flush()
        return office

    def user(self, role: Role = Role.postman, **kw) -> User:
        n = next(_serial)
        if role in (Role.postman, Role.supervisor) and "post_office" not in kw:
            kw["post_office"] = self.office()
        if role is Role.agency and "agency" not in kw:
            kw["agency"] = self.agency()
        user = User(
            username=kw.pop("username", f"{role.value}{n}"),
            full_name=kw.pop("full_name", f"Người dùng {n}"),
            role=role.value,
            **kw,
        )
        user.set_password(kw.pop("password", PASSWORD), method="pbkdf2:sha256:1000")
        db.session.add(user)
        db.session.flush()
        return user

    def agency(self, **kw) -> Agency:
        n = next(_serial)
        if "post_office" not in kw:
            kw["post_office"] = self.office()
        agency = Agency(**{"code": f"AG{n}", "name": f"Cơ quan {n}", "province_code": 20, **kw})
        db.session.add(agency)
        db.session.flush()
        return agency

    def dossier(self, agency: Agency | None = None, envelopes: int = 1, **kw) -> Dossier:
        from backend.agency_api.services import register_dossier

        agency = agency or self.agency()
        n = next(_serial)
        fields = {
            "code": f"TEST-{n:05d}",
            "procedure_code": "1.001751",
            "procedure_name": "Cấp thẻ Căn cước",
            "result_type": "citizen_id_card",
            "applicant_name": "Nguyễn Văn An",
            "recipient_name": "Nguyễn Văn An",
            "recipient_phone": "0912345678",
            "address_line": "Số 5, đường Lê Lợi",
            "hamlet": "Tổ dân phố 3",
            "commune_code": 5977,
            "commune_name": "Phường Đông Kinh",
            "province_code": 20,
            "province_name": "Lạng Sơn",
            "latitude": 21.8452,
            "longitude": 106.7612,
            "postage_vnd": 26_000,
            "promised_date": date(2026, 11, 24),
            **kw,
        }
        id_number = fields.pop("recipient_id_number", "020090123456")
        return register_dossier(
            agency,
            fields,
            envelope_count=envelopes,
            now=NOW,
            id_key=current_app.config["ID_HASH_KEY"],
            code_prefix="HC",
            recipient_id_number=id_number,
        )

    def envelope(self, **kw) -> Envelope:
        return self.dossier(**kw).envelopes[0]


def login(client: FlaskClient, user: User, password: str = PASSWORD):
    """Log a user in through the real form."""
    return client.post("/login", data={"username": user.username, "password": password})
