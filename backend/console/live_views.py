"""Watch live: today's runs as they progress, a page that polls its JSON by itself."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, jsonify, render_template, request
from flask_babel import format_timedelta
from flask_babel import gettext as _
from flask_login import current_user

from backend import clock
from backend.auth.access import roles_required
from backend.console import bp
from backend.console.admin import offices_for
from backend.console.live import dump_live, live_runs
from backend.console.services import office_scope
from backend.domain.lifecycle import State
from backend.errors import NotFound
from backend.extensions import db
from backend.models import PostOffice, Role
from backend.templating import state_label
from backend.validation import INT32_MAX

STAFF = (Role.supervisor, Role.admin)


def office_chosen(wanted: str | None) -> PostOffice | None:
    """The office a page shows: `wanted` (`?office=`) if this user may see it, else their own;
    None for an administrator who chose none (every office).

    A supervisor's `office` other than their own is a 404, as for anything not theirs.
    """
    scope = office_scope(current_user)
    wanted = (wanted or "").strip()
    if not wanted:
        return db.session.get(PostOffice, scope) if scope is not None else None
    office_id = int(wanted) if wanted.isascii() and wanted.isdigit() else 0
    office = db.session.get(PostOffice, office_id) if 0 < office_id <= INT32_MAX else None
    if office is None or (scope is not None and office.id != scope):
        raise NotFound(_("This post office does not exist."), code="office_not_found")
    return office


def office_today(office: PostOffice | None = None):
    """Today in the office's time zone (the user's office, else the app's for administrators)."""
    office = office or current_user.post_office
    return clock.today_in(office.timezone if office else current_app.config["TIMEZONE"])


def _unseen_after() -> timedelta:
    return timedelta(minutes=current_app.config["TRAO_LIVE_UNSEEN_MINUTES"])


@bp.get("/live")
@roles_required(*STAFF)
def live():
    """Today's runs, their postmen's last sync, last contact and position, the stops on a map."""
    office = office_chosen(request.args.get("office"))
    day = office_today(office)
    config = current_app.config
    now = clock.now()
    admin = office_scope(current_user) is None
    return render_template(
        "console/live.html",
        day=day,
        office=office,
        admin=admin,
        offices=offices_for(current_user) if admin else [],
        runs=live_runs(office.id if office else None, day, now=now, unseen_after=_unseen_after()),
        poll_seconds=config["TRAO_LIVE_POLL_SECONDS"],
        unseen_minutes=config["TRAO_LIVE_UNSEEN_MINUTES"],
        map_tiles=config["TRAO_MAP_TILES"],
        map_attribution=config["TRAO_MAP_ATTRIBUTION"],
        state_labels={state.value: state_label(state) for state in State},
        now=now,
        ago=lambda then: format_timedelta(then - now, add_direction=True),
    )


@bp.get("/live.json")
@roles_required(*STAFF)
def live_json():
    """The same, as JSON: what the live page asks for every few seconds."""
    office = office_chosen(request.args.get("office"))
    day = office_today(office)
    now = clock.now()
    runs = live_runs(office.id if office else None, day, now=now, unseen_after=_unseen_after())
    return jsonify(dump_live(runs, day=day, now=now))
