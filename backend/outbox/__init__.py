"""Agencies' webhooks through the transactional outbox, sent by a task queue (Huey).

`event_written` adds an outbox row in the event's transaction; after that commit the worker is
woken (`tasks.kick`), and a periodic sweep catches any wake-up lost. The console page lists
parked and failing messages with a re-send button.
"""

from __future__ import annotations

import logging

import click
from flask import Blueprint, Flask, current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from backend.models.events import OUTBOX_WRITTEN

bp = Blueprint("outbox", __name__, url_prefix="/console/outbox")


def init_app(app: Flask) -> None:
    """Wake the worker after commits that wrote outbox rows; add `flask outbox-worker`."""
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_rollback", _after_rollback)
    app.cli.add_command(outbox_worker_command)
    from backend.outbox import views  # noqa: F401

    app.register_blueprint(bp)


def _after_commit(session: Session) -> None:
    # A savepoint's release fires this too, inside the transaction: wait for the real commit.
    if session.in_nested_transaction() or not session.info.pop(OUTBOX_WRITTEN, False):
        return
    from flask import has_app_context

    if has_app_context() and not current_app.config.get("TRAO_OUTBOX_ENQUEUE", True):
        return
    try:
        from backend.outbox.tasks import kick
    except Exception as exc:  # a queue that cannot even be opened: the commit stands
        logging.getLogger(__name__).warning("outbox: no queue (%s)", type(exc).__name__)
        return
    kick()  # never raises: the sweep finds what a lost wake-up missed


def _after_rollback(session: Session) -> None:
    if not session.in_nested_transaction():  # a savepoint's rollback leaves the transaction's rows
        session.info.pop(OUTBOX_WRITTEN, None)


@click.command("outbox-worker")
@click.option("--workers", default=2, show_default=True, help="Threads sending at once.")
def outbox_worker_command(workers: int) -> None:
    """Run the queue's consumer: sends agencies' webhooks from the outbox."""
    from backend.outbox.tasks import huey, stop_with, use_app

    use_app(current_app._get_current_object())
    consumer = huey.create_consumer(workers=workers, worker_type="thread")
    stop_with(consumer.stop_flag)  # a graceful stop (SIGINT) gives back unsent claims at once
    consumer.run()
