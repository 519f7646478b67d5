"""Search and history: any envelope or dossier by code, name or phone, and its whole story."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, render_template, request
from flask_login import current_user

from backend import clock
from backend.auth.access import roles_required
from backend.console import bp
from backend.console.exceptions_views import envelope_exceptions
from backend.console.requests import (
    MAX_DAYS_AHEAD,
    MAX_NOTE_CHARS,
    OPEN_STATES,
    REQUEST_LABELS,
    latest_requests,
)
from backend.console.search import MAX_QUERY_CHARS, envelope_story, search_envelopes
from backend.console.services import office_scope
from backend.models import Role

STAFF = (Role.supervisor, Role.admin)


@bp.get("/search")
@roles_required(*STAFF)
def search():
    """Envelopes matching what was typed: a code, a name (diacritics optional) or a phone."""
    query = request.args.get("q", "")[:MAX_QUERY_CHARS]
    results = search_envelopes(query, office_scope(current_user)) if query.strip() else []
    return render_template("console/search.html", query=query, results=results)


@bp.get("/envelopes/<code>")
@roles_required(*STAFF)
def envelope_page(code: str):
    """One envelope: its dossier, its attempts with their proof, and every event in order."""
    scope = office_scope(current_user)
    envelope, events, attempts = envelope_story(code[:64], scope)
    office = envelope.dossier.post_office
    today = clock.today_in(office.timezone or current_app.config["TIMEZONE"])
    return render_template(
        "console/envelope.html",
        envelope=envelope,
        events=events,
        attempts=attempts,
        citizen_request=latest_requests([envelope.id]).get(envelope.id),
        request_labels=REQUEST_LABELS,
        can_request=envelope.state in OPEN_STATES,
        request_days=(today + timedelta(days=1), today + timedelta(days=MAX_DAYS_AHEAD)),
        max_request_note=MAX_NOTE_CHARS,
        **envelope_exceptions(envelope, scope),
    )
