"""How connections to the database are kept healthy without paying a round trip per request.

SQLAlchemy's `pool_pre_ping` sends `SELECT 1` every time a request takes a connection: a round
trip and about a millisecond of CPU on every attempt a phone sends. A connection that was in use
a moment ago is alive; one left idle may not be (the database restarted overnight, a firewall
dropped it). So only a connection idle for longer than a few seconds is pinged before use, and
a dead one is replaced before the request sees it.
"""

from __future__ import annotations

import contextlib
import time

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError

# A connection used within this many seconds is taken as alive.
DEFAULT_IDLE_SECONDS = 10.0
_LAST_USED = "trao_last_used"


def ping_when_idle(engine: Engine, idle_seconds: float = DEFAULT_IDLE_SECONDS) -> None:
    """Ping a pooled connection before use when it has been idle longer than `idle_seconds`."""

    @event.listens_for(engine, "checkin")
    def _remember_use(dbapi_connection, record) -> None:
        record.info[_LAST_USED] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection, record, proxy) -> None:
        last = record.info.get(_LAST_USED)
        if last is None or time.monotonic() - last <= idle_seconds:
            return  # new (just connected) or used a moment ago
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT 1")
        except Exception as exc:  # the DBAPI's own errors: the connection is gone
            # The pool throws this connection away and takes (or makes) another.
            raise DisconnectionError("an idle connection was found dead") from exc
        finally:
            with contextlib.suppress(Exception):  # a dead connection's cursor may not close
                cursor.close()


# psycopg keeps the conversion of a query's named placeholders (a regex pass over its text) for
# queries of at most 50 parameters: it expects longer ones to be an ORM's multi-row VALUES of
# varying size. Trao's longer statements have one shape (an attempt written at once has 55
# parameters): converted again on every attempt, they cost 3 % of its CPU (py-spy).
STATEMENT_PARAMS_KEPT = 128


def keep_long_statements() -> None:
    """Let psycopg keep the conversion of statements of up to STATEMENT_PARAMS_KEPT parameters
    (its own cache of 128 queries, least recently used, bounds the memory)."""
    try:
        from psycopg import _queries
    except ImportError:  # no psycopg: SQLite only
        return
    if (
        getattr(_queries, "MAX_CACHED_STATEMENT_PARAMS", STATEMENT_PARAMS_KEPT)
        < STATEMENT_PARAMS_KEPT
    ):
        _queries.MAX_CACHED_STATEMENT_PARAMS = STATEMENT_PARAMS_KEPT
