"""Fixtures of the postman's API: one app for the folder, a clean database and proof folder
per test, and a frozen clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from backend.extensions import db
from backend.storage import LocalStorage
from tests.conftest import NOW, clean_database, make_test_app


@pytest.fixture(scope="session")
def delivery_app(tmp_path_factory) -> Iterator[Flask]:
    """The app, built once: making it per test costs more than these tests themselves."""
    app = make_test_app(STORAGE_URL=str(tmp_path_factory.mktemp("proofs")))
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def app(delivery_app: Flask, tmp_path) -> Iterator[Flask]:
    """The shared app in a fresh app context, on an emptied database, with its own proof folder."""
    proofs = tmp_path / "proofs"
    delivery_app.config["STORAGE_URL"] = str(proofs)
    delivery_app.extensions["trao_storage"] = LocalStorage(proofs)
    with delivery_app.app_context():
        try:
            yield delivery_app
        finally:
            clean_database()
            db.session.remove()


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    """The server's clock stands at NOW (09:00 in Lạng Sơn)."""
    monkeypatch.setattr("backend.clock.now", lambda: NOW)
