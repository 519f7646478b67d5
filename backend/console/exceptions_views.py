"""Exceptions: the queue of what needs a person, and resolving one with a note."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from backend import clock
from backend.auth.access import roles_required
from backend.console import bp
from backend.console.exceptions import (
    KIND_LABELS,
    MAX_NOTE_CHARS,
    exception_queue,
    resolve_exception,
)
from backend.console.live_views import office_today
from backend.console.services import office_scope
from backend.extensions import db
from backend.models import Role

STAFF = (Role.supervisor, Role.admin)
MAX_SUBJECT_CHARS = 64


@bp.get("/exceptions")
@roles_required(*STAFF)
def exceptions():
    """The open exceptions of the office, newest first; each opens its envelope's proof."""
    items = exception_queue(
        office_scope(current_user),
        today=office_today(),
        now=clock.now(),
        days=current_app.config["TRAO_EXCEPTION_DAYS"],
    )
    return render_template("console/exceptions.html", items=items, max_note=MAX_NOTE_CHARS)


@bp.post("/exceptions/resolve")
@roles_required(*STAFF)
def resolve():
    """Resolve one exception with a note (an event); back to the queue or the envelope."""
    subject = request.form.get("subject", "")[:MAX_SUBJECT_CHARS]
    event = resolve_exception(
        subject,
        request.form.get("note", "")[: MAX_NOTE_CHARS + 1],
        actor=current_user._get_current_object(),
        office_id=office_scope(current_user),
        today=office_today(),
        now=clock.now(),
        days=current_app.config["TRAO_EXCEPTION_DAYS"],
    )
    db.session.commit()
    flash(_("Resolved. The note is in the envelope's history."), "success")
    code = request.form.get("envelope_code", "")
    if request.form.get("back") == "envelope" and event.envelope_id and code.isalnum():
        return redirect(url_for("console.envelope_page", code=code[:13]))
    return redirect(url_for("console.exceptions"))


def envelope_exceptions(envelope, office_id: int | None) -> dict:
    """What the envelope's page adds: its open exceptions (to resolve there) and the map."""
    config = current_app.config
    return {
        "exceptions": exception_queue(
            office_id,
            today=office_today(),
            now=clock.now(),
            days=config["TRAO_EXCEPTION_DAYS"],
            envelope_id=envelope.id,
        ),
        "max_note": MAX_NOTE_CHARS,
        "flag_labels": {kind.value: _(label) for kind, label in KIND_LABELS.items()},
        "map_tiles": config["TRAO_MAP_TILES"],
        "map_attribution": config["TRAO_MAP_ATTRIBUTION"],
    }
