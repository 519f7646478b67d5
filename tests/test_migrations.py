"""The Alembic migrations build exactly the schema the models describe, and undo cleanly."""

import os
import uuid
from datetime import UTC, date, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import MetaData, Table, create_engine, inspect, text

from backend.extensions import db
from tests.conftest import make_test_app


@pytest.fixture
def empty_database_url(tmp_path):
    """A database nobody else uses: a SQLite file, or a fresh PostgreSQL database."""
    base = os.environ.get("TEST_DATABASE_URL", "")
    if not base.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'migrate.db'}"
        return
    name = f"trao_migrate_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_migrations_match_the_models_and_downgrade(empty_database_url):
    app = make_test_app(empty_database_url)
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
        assert diff == [], f"models and migrations differ: {diff}"
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        db.engine.dispose()


def _insert_minimal(conn, table_name: str, **values) -> None:
    """A row with every required column filled (1 for numbers and keys, "x" for text)."""
    table = Table(table_name, MetaData(), autoload_with=conn)
    row = {}
    for column in table.columns:
        if column.name in values or column.nullable or column.primary_key:
            continue
        kind = column.type.python_type
        row[column.name] = {str: "x", bool: False, float: 0.0, int: 1}.get(kind)
        if row[column.name] is None:
            row[column.name] = (
                datetime(2026, 12, 1, tzinfo=UTC) if kind is datetime else date(2026, 12, 1)
            )
    conn.execute(table.insert().values(**row, **values))


def test_names_already_registered_are_folded_for_search(empty_database_url):
    """0006 fills the searchable name of the dossiers that were there before it."""
    app = make_test_app(empty_database_url)
    with app.app_context():
        upgrade(revision="0005")
        with db.engine.begin() as conn:
            _insert_minimal(conn, "post_office")
            _insert_minimal(conn, "agency")
            _insert_minimal(conn, "dossier", recipient_name="Đặng Thị Ánh")
        upgrade()
        with db.engine.connect() as conn:
            folded = conn.execute(text("SELECT recipient_name_folded FROM dossier")).scalar_one()
        assert folded == "dang thi anh"
        downgrade(revision="base")
        db.engine.dispose()
