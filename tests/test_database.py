"""A connection the database dropped while it sat idle in the pool is replaced before use."""

import os

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.pool import NullPool

from backend.extensions import db
from tests.conftest import running_app

POSTGRES = os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql")


def test_a_connection_used_a_moment_ago_is_not_pinged():
    with running_app(TRAO_DB_IDLE_PING_SECONDS=60) as app, app.app_context():
        executed: list[str] = []

        @event.listens_for(db.engine, "before_cursor_execute")
        def _record(conn, cursor, statement, *args):
            executed.append(statement)

        for _ in range(3):
            db.session.execute(text("SELECT 2")).scalar()
            db.session.remove()
        assert executed == ["SELECT 2"] * 3  # no SELECT 1 before each


@pytest.mark.skipif(not POSTGRES, reason="needs a server that can drop a connection")
def test_a_connection_dropped_while_idle_is_replaced_before_the_request_sees_it():
    with running_app(TRAO_DB_IDLE_PING_SECONDS=0) as app, app.app_context():
        pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar()
        db.session.remove()  # back to the pool
        # Another client ends the pooled connection, as a database restart would.
        other = create_engine(db.engine.url, poolclass=NullPool)
        with other.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        other.dispose()
        new_pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar()
        assert new_pid != pid  # no error: the dead connection was found and replaced
