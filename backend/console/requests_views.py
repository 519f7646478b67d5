"""The clerk records what the citizen asked for, on the envelope's page."""

from __future__ import annotations

from datetime import date

from flask import current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from backend import clock
from backend.auth.access import roles_required
from backend.console import bp
from backend.console.requests import MAX_NOTE_CHARS, REQUEST_LABELS, RequestKind, record_request
from backend.console.search import envelope_story
from backend.console.services import office_scope
from backend.errors import AppError
from backend.extensions import db
from backend.models import Role
from backend.tracking.links import revoke_tracking

STAFF = (Role.supervisor, Role.admin)


@bp.post("/envelopes/<code>/request")
@roles_required(*STAFF)
def envelope_request(code: str):
    """Record the citizen's request (another day, or collect at the office); back to the page."""
    envelope, _events, _attempts = envelope_story(code[:64], office_scope(current_user))
    office = envelope.dossier.post_office
    day_text = request.form.get("day", "").strip()[:20]
    try:
        day = date.fromisoformat(day_text) if day_text else None
    except ValueError:
        day = None
    try:
        record_request(
            envelope,
            request.form.get("kind", "")[:32],
            day=day,
            note=request.form.get("note", "")[: MAX_NOTE_CHARS + 1],
            actor=current_user._get_current_object(),
            now=clock.now(),
            today=clock.today_in(office.timezone or current_app.config["TIMEZONE"]),
            policy=current_app.config["DELIVERY_POLICY"],
        )
    except AppError as err:
        db.session.rollback()
        if request.accept_mimetypes.best == "application/json":
            raise
        flash(err.message, "error")
        return redirect(url_for("console.envelope_page", code=envelope.code), 303)
    db.session.commit()
    kind = RequestKind(request.form["kind"][:32])
    flash(_("Recorded: %(what)s.", what=_(REQUEST_LABELS[kind])), "success")
    return redirect(url_for("console.envelope_page", code=envelope.code), 303)


@bp.post("/envelopes/<code>/tracking-link/revoke")
@roles_required(*STAFF)
def envelope_revoke_tracking(code: str):
    """Revoke the citizen's tracking link (it reached someone it should not); back to the page."""
    envelope, _events, _attempts = envelope_story(code[:64], office_scope(current_user))
    revoke_tracking(envelope, actor=current_user._get_current_object(), now=clock.now())
    db.session.commit()
    flash(_("The tracking link was revoked: the next message carries a new one."), "success")
    return redirect(url_for("console.envelope_page", code=envelope.code), 303)
