"""Receiving an attempt takes a handful of database statements, whatever the run's size: what it
needs is loaded in one statement, everything is inserted without being read back, and nothing is
lazily loaded. A statement more than listed here is an N+1 creeping in."""

from contextlib import contextmanager

import pytest
from sqlalchemy import event

from backend.extensions import db
from tests.conftest import login
from tests.delivery.helpers import (
    default_files,
    delivered_meta,
    failed_meta,
    make_run,
    post_attempt,
)

# The log-in (user and session, one join), the stop with its run, office, envelope, dossier
# and agency and whether the attempt came before; then the attempt, its files (one statement for
# all of them), the envelope's state and its event, which PostgreSQL writes in one statement;
# then the citizen's notification (backend/notify: delivered, or failed), written in the same
# transaction by the session's flush at commit.
STATEMENTS = [
    "SELECT user_account",
    "SELECT run_stop",
    "INSERT INTO delivery_attempt",
    "INSERT INTO proof_file",
    "UPDATE envelope",
    "INSERT INTO event",
    "INSERT INTO outbox_message",
]
AT_ONCE = [
    "SELECT user_account",
    "SELECT run_stop",
    "WITH new_attempt AS",
    "INSERT INTO outbox_message",
]


def expected(files: bool = True) -> list[str]:
    if db.engine.dialect.name == "postgresql":
        return AT_ONCE
    return STATEMENTS if files else [s for s in STATEMENTS if s != "INSERT INTO proof_file"]


@contextmanager
def statements():
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(" ".join(statement.split()[:3]))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def _kinds(seen: list[str]) -> list[str]:
    """'SELECT user_account.id, …' → 'SELECT user_account', 'UPDATE envelope SET' →
    'UPDATE envelope', 'INSERT INTO event (…' → 'INSERT INTO event'."""
    out = []
    for s in seen:
        verb, *rest = s.split()
        if verb == "SELECT":
            out.append(f"SELECT {rest[0].split('.')[0]}")
        elif verb == "UPDATE":
            out.append(f"UPDATE {rest[0]}")
        else:
            out.append(" ".join([verb, *rest[:2]]))
    return out


def test_an_attempt_takes_a_few_statements_however_large_the_run(client, factory):
    postman, run = make_run(factory, count=30)
    login(client, postman)
    files = default_files()
    metas = [delivered_meta(stop, files) for stop in run.stops[:3]]  # read before counting
    failure = failed_meta(run.stops[3])
    assert post_attempt(client, metas[0], files).status_code == 201  # the run starts: +1 UPDATE

    for meta in metas[1:]:
        with statements() as seen:
            assert post_attempt(client, meta, files).status_code == 201
        assert _kinds(seen) == expected(), seen
    with statements() as seen:
        assert post_attempt(client, failure, []).status_code == 201
    assert _kinds(seen) == expected(files=False), seen  # no files, no file statement


def test_an_agency_with_a_webhook_adds_at_most_one_statement_for_its_message(client, factory):
    """PostgreSQL writes the webhook's row and the notification's in one multi-row INSERT
    (SQLAlchemy's "insertmanyvalues"); SQLite in two."""
    agency = factory.agency(webhook_url="https://agency.example/hook")
    postman, run = make_run(factory, count=2, agency=agency)
    login(client, postman)
    files = default_files()
    metas = [delivered_meta(stop, files) for stop in run.stops]
    assert post_attempt(client, metas[0], files).status_code == 201
    with statements() as seen:
        assert post_attempt(client, metas[1], files).status_code == 201
    webhook = [] if db.engine.dialect.name == "postgresql" else ["INSERT INTO outbox_message"]
    assert sorted(_kinds(seen)) == sorted([*expected(), *webhook]), seen


def test_a_recipient_without_a_phone_adds_no_statement(client, factory):
    postman, run = make_run(factory, count=2)
    for stop in run.stops:
        stop.envelope.dossier.recipient_phone = None
    db.session.commit()
    login(client, postman)
    files = default_files()
    metas = [delivered_meta(stop, files) for stop in run.stops]
    assert post_attempt(client, metas[0], files).status_code == 201
    with statements() as seen:
        assert post_attempt(client, metas[1], files).status_code == 201
    assert _kinds(seen) == [s for s in expected() if s != "INSERT INTO outbox_message"], seen


def test_a_replay_takes_three(client, factory):
    postman, run = make_run(factory)
    login(client, postman)
    files = default_files()
    meta = delivered_meta(run.stops[0], files)
    assert post_attempt(client, meta, files).status_code == 201
    with statements() as seen:
        assert post_attempt(client, meta, files).status_code == 200
    assert len(seen) <= 6, seen  # log-in, stop, check, the attempt, its files, state after


def test_the_receipt_written_by_hand_is_the_schemas(client, factory):
    """dump_receipt skips the schema's walk; the schema stays the documented contract."""
    from backend.delivery.schemas import AttemptReceiptSchema

    postman, run = make_run(factory, count=2)
    login(client, postman)
    files = default_files()
    delivered = delivered_meta(run.stops[0], files)
    bodies = [
        post_attempt(client, delivered, files).get_json(),
        post_attempt(client, failed_meta(run.stops[1]), []).get_json(),
        post_attempt(client, delivered, files).get_json(),  # the replay
    ]
    schema = AttemptReceiptSchema()
    for body in bodies:
        assert body == schema.dump(schema.load(body)), body
    assert bodies[0] == bodies[2]
    assert isinstance(bodies[0]["distance_m"], float) and bodies[0]["files"]


def test_the_statement_at_once_is_compiled_once():
    """SQLAlchemy caches the compiled form only of a statement it can key: a multi-row VALUES
    cannot be, and compiling it again for every attempt cost a quarter of its CPU."""
    from backend.delivery.receiving import _statement_at_once
    from backend.models import DeliveryAttempt, Event

    statement = _statement_at_once(
        tuple(c.key for c in DeliveryAttempt.__table__.c if c.key != "derivative_sha256"),
        tuple(c.key for c in Event.__table__.c if c.key != "id"),
    )
    assert statement._generate_cache_key() is not None


def test_psycopg_keeps_the_conversion_of_the_statement_at_once(app):
    """Past its MAX_CACHED_STATEMENT_PARAMS psycopg converts a query's placeholders every time."""
    pytest.importorskip("psycopg")
    from psycopg import _queries
    from sqlalchemy.dialects.postgresql import psycopg as dialect

    from backend.delivery.receiving import _statement_at_once
    from backend.models import DeliveryAttempt, Event

    statement = _statement_at_once(
        tuple(c.key for c in DeliveryAttempt.__table__.c if c.key != "derivative_sha256"),
        tuple(c.key for c in Event.__table__.c if c.key != "id"),
    )
    compiled = statement.compile(dialect=dialect.dialect())
    assert len(compiled.params) <= _queries.MAX_CACHED_STATEMENT_PARAMS
    assert len(str(compiled)) <= _queries.MAX_CACHED_STATEMENT_LENGTH
