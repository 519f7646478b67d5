"""The agency clerk's page."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user

from backend.agency_api import bp
from backend.agency_api.services import agency_dossiers
from backend.auth.access import roles_required
from backend.models import Role


@bp.get("/agency")
@roles_required(Role.agency)
def home():
    """The agency's latest dossiers and where their envelopes are."""
    return render_template("agency/home.html", dossiers=agency_dossiers(current_user.agency_id))
