"""Watch live: today's runs as they progress, a page that polls its JSON by itself."""

from __future__ import annotations

from flask import current_app, jsonify, render_template
from flask_login import current_user

from backend import clock
from backend.auth.access import roles_required
from backend.console import bp
from backend.console.live import dump_live, live_runs
from backend.console.services import office_scope
from backend.domain.lifecycle import State
from backend.models import Role
from backend.templating import state_label

STAFF = (Role.supervisor, Role.admin)


def office_today():
    """Today in the user's office's time zone (the app's for administrators)."""
    office = current_user.post_office
    return clock.today_in(office.timezone if office else current_app.config["TIMEZONE"])


@bp.get("/live")
@roles_required(*STAFF)
def live():
    """Today's runs, their postmen's last sync and position, the stops on a map."""
    day = office_today()
    config = current_app.config
    return render_template(
        "console/live.html",
        day=day,
        runs=live_runs(office_scope(current_user), day),
        poll_seconds=config["TRAO_LIVE_POLL_SECONDS"],
        map_tiles=config["TRAO_MAP_TILES"],
        map_attribution=config["TRAO_MAP_ATTRIBUTION"],
        state_labels={state.value: state_label(state) for state in State},
        now=clock.now(),
    )


@bp.get("/live.json")
@roles_required(*STAFF)
def live_json():
    """The same, as JSON: what the live page asks for every few seconds."""
    day = office_today()
    return jsonify(dump_live(live_runs(office_scope(current_user), day), day=day, now=clock.now()))
