"""Agencies' API keys from the console: made with a label and shown once, kept only as a hash,
several live at once (rotation), revoked with a button; and the migration that moved the one
key an agency had into the new table."""

from __future__ import annotations

import hashlib
import re

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import select, text

from backend.extensions import db
from backend.models import ApiKey, AuditEvent, Role
from tests.conftest import NOW, login, make_test_app
from tests.test_migrations import _insert_minimal, empty_database_url  # noqa: F401

KEY_SHOWN = re.compile(r'data-testid="new-api-key">(trao_[A-Za-z0-9_-]+)<')


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    monkeypatch.setattr("backend.clock.now", lambda: NOW)


@pytest.fixture
def admin(client, factory):
    user = factory.user(Role.admin, post_office=factory.office())
    db.session.commit()
    login(client, user)
    return user


def make_key(client, agency, label="Một cửa 2026"):
    response = client.post(f"/console/agencies/{agency.id}/api-keys", data={"label": label})
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    return KEY_SHOWN.search(response.text).group(1)


def api(client, key):
    return client.get("/api/v1/dossiers", headers={"Authorization": f"Bearer {key}"})


def test_a_key_is_shown_once_and_kept_only_as_its_hash(client, factory, admin):
    agency = factory.agency()
    db.session.commit()
    key = make_key(client, agency)
    assert len(key) >= 40
    row = db.session.execute(select(ApiKey)).scalar_one()
    assert row.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert row.label == "Một cửa 2026" and row.prefix == key[:12] and row.created_by_id == admin.id
    page = client.get(f"/console/agencies/{agency.id}")
    assert key not in page.text and row.prefix in page.text and "Một cửa 2026" in page.text
    for table in db.metadata.sorted_tables:  # nowhere in the database in clear
        for values in db.session.execute(select(table)):
            assert key not in [v for v in values if isinstance(v, str)]
    assert api(client, key).status_code == 200
    kinds = db.session.scalars(select(AuditEvent.kind)).all()
    assert "agency.api_key.issue" in kinds


def test_keys_rotate_two_live_at_once_then_the_old_one_revoked(client, factory, admin):
    agency = factory.agency()
    db.session.commit()
    old = make_key(client, agency, "old")
    new = make_key(client, agency, "new")
    assert api(client, old).status_code == api(client, new).status_code == 200
    old_row = db.session.execute(select(ApiKey).filter_by(label="old")).scalar_one()
    response = client.post(f"/console/agencies/{agency.id}/api-keys/{old_row.id}/revoke")
    assert response.status_code == 303
    assert api(client, old).status_code == 401
    assert api(client, new).status_code == 200
    db.session.refresh(old_row)
    assert old_row.revoked_at == NOW


def test_a_key_needs_a_label(client, factory, admin):
    agency = factory.agency()
    db.session.commit()
    response = client.post(f"/console/agencies/{agency.id}/api-keys", data={"label": "  "})
    assert response.status_code == 422 and db.session.scalar(select(ApiKey.id)) is None


def test_another_agencys_key_cannot_be_revoked_through_this_one(client, factory, admin):
    one, two = factory.agency(), factory.agency()
    two.set_api_key("trao_two-0123456789abcdef0123456789abcdef")
    db.session.commit()
    key_id = db.session.scalar(select(ApiKey.id))
    response = client.post(f"/console/agencies/{one.id}/api-keys/{key_id}/revoke")
    assert response.status_code == 404
    assert db.session.scalar(select(ApiKey.revoked_at)) is None


@pytest.mark.parametrize("role", [Role.supervisor, Role.agency])
def test_only_administrators_make_or_revoke_keys(client, factory, role):
    agency = factory.agency()
    user = factory.user(role)
    db.session.commit()
    login(client, user)
    response = client.post(f"/console/agencies/{agency.id}/api-keys", data={"label": "x"})
    assert response.status_code == 403
    assert db.session.scalar(select(ApiKey.id)) is None


def test_the_migration_moves_each_agencys_key_into_the_new_table(empty_database_url):  # noqa: F811
    app = make_test_app(empty_database_url)
    with app.app_context():
        upgrade(revision="0009a")
        digest = hashlib.sha256(b"demo-key").hexdigest()
        with db.engine.begin() as conn:
            _insert_minimal(conn, "post_office")
            _insert_minimal(conn, "agency", api_key_hash=digest, api_key_prefix="demo-key")
        upgrade(revision="0010a")
        with db.engine.connect() as conn:
            rows = conn.execute(text("SELECT key_hash, prefix, revoked_at FROM api_key")).all()
        assert [tuple(row) for row in rows] == [(digest, "demo-key", None)]
        downgrade(revision="0010b")
        with db.engine.connect() as conn:
            back = conn.execute(text("SELECT api_key_hash FROM agency")).scalar_one()
        assert back == digest
        downgrade(revision="base")
        db.engine.dispose()
