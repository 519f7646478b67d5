"""The supervisor's pages."""

from __future__ import annotations

from flask import Response, current_app, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from backend.auth.access import roles_required
from backend.clock import today_in
from backend.console import bp
from backend.console.services import (
    envelope_counts,
    envelopes_for_labels,
    envelopes_in_state,
    label_data,
    office_runs,
    office_scope,
)
from backend.delivery.services import run_progress
from backend.domain.codes import validate_envelope_code
from backend.domain.lifecycle import State
from backend.errors import Invalid
from backend.labels import render_label_png, render_label_sheet_pdf
from backend.models import Role

STAFF = (Role.supervisor, Role.admin)
MAX_LABELS_PER_SHEET_REQUEST = 500
WAITING_STATES = (State.at_office, State.held_at_office)
WAITING_LIST_LIMIT = 200


def _office_day():
    office = current_user.post_office
    return today_in(office.timezone if office else current_app.config["TIMEZONE"])


@bp.get("")
@roles_required(*STAFF)
def home():
    """Today at the office: runs with their progress, envelopes by state."""
    scope = office_scope(current_user)
    day = _office_day()
    runs = office_runs(scope, day)
    return render_template(
        "console/home.html",
        day=day,
        runs=[(run, run_progress(run)) for run in runs],
        counts=envelope_counts(scope),
        waiting=envelopes_in_state(scope, WAITING_STATES, limit=WAITING_LIST_LIMIT),
    )


@bp.get("/envelopes/<code>/label.png")
@roles_required(*STAFF)
def label_png(code: str):
    """One envelope's label as a PNG, for a label printer."""
    (envelope,) = envelopes_for_labels([validate_envelope_code(code)], office_scope(current_user))
    png = render_label_png(label_data(envelope, current_app.config["QR_SIGNING_KEY"]))
    return Response(
        png,
        mimetype="image/png",
        headers={"Content-Disposition": f'inline; filename="{envelope.code}.png"'},
    )


@bp.get("/labels.pdf")
@roles_required(*STAFF)
def labels_pdf():
    """An A4 sheet of labels for the envelopes named by `code` (repeated), or by `state`."""
    scope = office_scope(current_user)
    codes = request.args.getlist("code")
    if codes:
        if len(codes) > MAX_LABELS_PER_SHEET_REQUEST:
            raise Invalid(_("Too many labels in one sheet."), code="too_many_labels")
        envelopes = envelopes_for_labels([validate_envelope_code(c) for c in codes], scope)
    else:
        state = request.args.get("state", State.at_office.value)
        if state not in {s.value for s in State}:
            raise Invalid(_("Unknown envelope state."), code="unknown_state")
        envelopes = envelopes_in_state(scope, [State(state)], limit=MAX_LABELS_PER_SHEET_REQUEST)
    if not envelopes:
        raise Invalid(_("There are no envelopes to label."), code="no_envelopes")
    key = current_app.config["QR_SIGNING_KEY"]
    pdf = render_label_sheet_pdf([label_data(e, key) for e in envelopes])
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": 'inline; filename="labels.pdf"'},
    )
