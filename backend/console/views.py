"""The supervisor's pages."""

from __future__ import annotations

import re

from flask import Response, current_app, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from backend.auth.access import roles_required
from backend.clock import today_in
from backend.console import bp
from backend.console.proof_serving import display_copy_response, proof_file_response
from backend.console.services import (
    envelope_counts,
    envelopes_for_labels,
    envelopes_in_state,
    label_data,
    office_runs,
    office_scope,
    proof_file_for_staff,
)
from backend.domain.codes import validate_envelope_code
from backend.domain.lifecycle import State
from backend.errors import Invalid, NotFound
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
        runs=runs,
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


# --- Proof files: the evidence as the phone made it, and its display copy ---------------------

_SHA256 = re.compile(r"[0-9a-f]{64}")


def _proof_file(sha256: str):
    if not _SHA256.fullmatch(sha256):
        raise NotFound(_("No such proof file."), code="no_such_proof_file")
    return proof_file_for_staff(sha256, office_scope(current_user))


@bp.get("/proof-files/<sha256>")
@roles_required(*STAFF)
def proof_file(sha256: str):
    """A proof file byte for byte as the phone made it (the evidence)."""
    return proof_file_response(_proof_file(sha256))


@bp.get("/proof-files/<sha256>/display.jpg")
@roles_required(*STAFF)
def proof_display_copy(sha256: str):
    """A photo's display copy: made and kept the first time it is asked for, then served."""
    return display_copy_response(_proof_file(sha256))
