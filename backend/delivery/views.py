"""The postman's pages."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user

from backend.auth.access import roles_required
from backend.clock import today_in
from backend.delivery import bp
from backend.delivery.services import run_progress, runs_for_day
from backend.models import Role


@bp.get("/app")
@roles_required(Role.postman)
def app_shell():
    """Today's runs of the logged-in postman."""
    office = current_user.post_office
    day = today_in(office.timezone if office else "Asia/Ho_Chi_Minh")
    runs = runs_for_day(current_user, day)
    return render_template(
        "delivery/app.html",
        day=day,
        runs=[(run, run_progress(run)) for run in runs],
    )
