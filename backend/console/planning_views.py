"""Planning runs: the pool on a map and in a list, runs filled by hand, by the counter's scanner
or split automatically, reordered by hand. Forms post and come back to the page (the page
works without JavaScript); with `Accept: application/json` the answer is JSON."""

from __future__ import annotations

from datetime import date
from urllib.parse import parse_qs, urlencode, urlsplit

from flask import current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from backend import clock
from backend.auth.access import roles_required
from backend.console import bp
from backend.console.admin import offices_for
from backend.console.planning import (
    PoolFilter,
    assign_envelopes,
    day_runs,
    envelopes_by_id,
    move_envelopes,
    move_visit,
    office_postmen,
    order_run,
    plan_of,
    pool,
    pool_communes,
    postman_of,
    run_for_staff,
    scan_onto_run,
    set_visit_order,
    split_among_postmen,
    unassign_envelopes,
)
from backend.console.requests import (
    REQUEST_LABELS,
    RequestKind,
    last_failures,
    latest_requests,
)
from backend.console.services import office_scope
from backend.domain.planning import PlanSettings
from backend.domain.policy import RESULT_TYPE_LABELS
from backend.domain.routing import distances_from_setting
from backend.errors import AppError, Invalid, NotFound
from backend.extensions import db
from backend.models import PostOffice, Role

STAFF = (Role.supervisor, Role.admin)
FILTER_KEYS = ("date", "commune", "result_type", "attempt", "promised_by", "office")
MAX_CAPACITY = 500
MAX_DAYS_AHEAD = 366


def _settings() -> PlanSettings:
    config = current_app.config
    return PlanSettings(
        speed_kmh=config["TRAO_PLAN_SPEED_KMH"],
        minutes_per_stop=config["TRAO_PLAN_MINUTES_PER_STOP"],
        capacity=config["TRAO_PLAN_CAPACITY"],
    )


def _distances():
    return distances_from_setting(current_app.config["TRAO_DISTANCES"])


def _int(value: str | None, what: str, *, low: int = 0, high: int = 2**31 - 1) -> int:
    try:
        number = int((value or "").strip())
    except ValueError:
        raise Invalid(_("Not a number: %(what)s.", what=what), code="not_a_number") from None
    if not low <= number <= high:
        raise Invalid(_("Out of range: %(what)s.", what=what), code="out_of_range")
    return number


def _ints(values: list[str], what: str) -> list[int]:
    return [_int(v, what) for v in values]


def _args() -> MultiDict:
    return request.args if request.method == "GET" else request.form


def _office() -> PostOffice:
    """The office planned: the user's own; an administrator's choice (`office`) or the first.

    A supervisor naming another office than their own gets a 404, as for anything not theirs.
    """
    scope = office_scope(current_user)
    wanted = (_args().get("office") or "").strip()
    if wanted:
        office = db.session.get(PostOffice, _int(wanted, "office"))
        if office is None or (scope is not None and office.id != scope):
            raise NotFound(_("This post office does not exist."), code="office_not_found")
        return office
    if scope is not None:
        return db.session.get(PostOffice, scope)
    office = (
        current_user.post_office
        or db.session.scalars(db.select(PostOffice).order_by(PostOffice.id).limit(1)).first()
    )
    if office is None:
        raise NotFound(_("This post office does not exist."), code="office_not_found")
    return office


def _today(office: PostOffice) -> date:
    return clock.today_in(office.timezone or current_app.config["TIMEZONE"])


def _day(office: PostOffice) -> date:
    """The day planned: `date` (today or a later day), today by default."""
    today = _today(office)
    text = (_args().get("date") or "").strip()
    if not text:
        return today
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise Invalid(_("Not a date: %(text)s.", text=text[:20]), code="not_a_date") from None
    if day < today or (day - today).days > MAX_DAYS_AHEAD:
        raise Invalid(_("Runs are planned for today or a later day."), code="day_past")
    return day


def _filters() -> PoolFilter:
    args = request.args
    promised = (args.get("promised_by") or "").strip()
    try:
        promised_by = date.fromisoformat(promised) if promised else None
    except ValueError:
        raise Invalid(_("Not a date: %(text)s.", text=promised[:20]), code="not_a_date") from None
    commune, attempt = args.get("commune"), args.get("attempt")
    return PoolFilter(
        commune_code=_int(commune, "commune") if commune else None,
        result_type=(args.get("result_type") or None),
        attempt=_int(attempt, "attempt", low=1, high=99) if attempt else None,
        promised_by=promised_by,
    )


def _back(office: PostOffice, day: date):
    """To the planning page of the day, with the filters the form came from."""
    kept = parse_qs(request.form.get("back", "")[:500])
    query = {k: kept[k][0] for k in FILTER_KEYS if kept.get(k)}
    query["date"] = day.isoformat()
    if office_scope(current_user) is None:
        query["office"] = str(office.id)
    return redirect(url_for("console.plan") + "?" + urlencode(query))


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def _done(office: PostOffice, day: date, message: str, **extra):
    db.session.commit()
    if _wants_json():
        return jsonify(message=message, **extra)
    flash(message, "info")
    return _back(office, day)


def _refused(err: AppError, office: PostOffice, day: date):
    db.session.rollback()
    if _wants_json():
        raise err
    flash(err.message, "error")
    return _back(office, day)


@bp.get("/plan")
@roles_required(*STAFF)
def plan():
    """The day's pool (filtered, listed and on a map) and the runs being planned."""
    office = _office()
    day = _day(office)
    filters = _filters()
    policy = current_app.config["DELIVERY_POLICY"]
    settings = _settings()
    waiting = pool(office.id, filters, policy)
    # Failed ones show why; those whose citizen asked for a later day wait for it, listed apart.
    ids = [e.id for e in waiting]
    failures, requests = last_failures(ids), latest_requests(ids)
    later = [
        e
        for e in waiting
        if (asked := requests.get(e.id))
        and asked.kind is RequestKind.another_day
        and asked.day
        and asked.day > day
    ]
    waiting = [e for e in waiting if e not in later]
    plans = [plan_of(run, settings, _distances()) for run in day_runs(office.id, day)]
    tiles = current_app.config["TRAO_MAP_TILES"]
    result_types = [(t.value, _(label)) for t, label in RESULT_TYPE_LABELS.items()]
    map_data = {
        "office": [office.latitude, office.longitude] if office.latitude is not None else None,
        "tiles": tiles,
        "pool": [
            {
                "code": e.code,
                "name": e.dossier.recipient_name,
                "at": [e.dossier.latitude, e.dossier.longitude],
            }
            for e in waiting
            if e.dossier.latitude is not None
        ],
        "runs": [
            {
                "id": p.run.id,
                "postman": p.run.postman.full_name,
                "visits": [
                    {"n": v.number, "name": v.dossier.recipient_name, "at": list(v.point)}
                    for v in p.visits
                    if v.point is not None
                ],
            }
            for p in plans
        ],
    }
    response = current_app.make_response(
        render_template(
            "console/plan.html",
            office=office,
            day=day,
            today=_today(office),
            filters=filters,
            waiting=waiting,
            later=later,
            failures=failures,
            requests=requests,
            request_labels=REQUEST_LABELS,
            communes=pool_communes(office.id),
            result_types=result_types,
            result_labels=dict(result_types),
            postmen=office_postmen(office.id),
            plans=plans,
            settings=settings,
            map_data=map_data,
            back=request.query_string.decode("latin-1"),
            admin=office_scope(current_user) is None,
            offices=offices_for(current_user) if office_scope(current_user) is None else [],
        )
    )
    origin = _tile_origin(tiles)
    if origin:
        # The tiles come from the server the setting names: let the map's images through.
        from backend.security import CONTENT_SECURITY_POLICY

        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.replace(
            "img-src 'self' blob:", f"img-src 'self' blob: {origin}"
        )
    return response


def _tile_origin(url: str) -> str | None:
    parts = urlsplit(url.replace("{s}", "a").replace("{z}", "0").replace("{x}", "0"))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    host = parts.netloc.split(".", 1)
    # Tile servers spread over sub-domains ({s}.tile…): allow them all.
    netloc = f"*.{host[1]}" if "{s}" in url and len(host) == 2 else parts.netloc
    return f"{parts.scheme}://{netloc}"


@bp.post("/plan/assign")
@roles_required(*STAFF)
def plan_assign():
    """Put the envelopes chosen on a postman's run of the day."""
    office = _office()
    day = _day(office)
    try:
        postman = postman_of(office, _int(request.form.get("postman_id"), "postman"))
        envelopes = envelopes_by_id(office, _ints(request.form.getlist("envelope_id"), "envelope"))
        run = assign_envelopes(
            office,
            postman,
            day,
            envelopes,
            actor=current_user,
            now=clock.now(),
            policy=current_app.config["DELIVERY_POLICY"],
            distances=_distances(),
        )
    except AppError as err:
        return _refused(err, office, day)
    message = _("%(n)s envelopes put on %(name)s's run.", n=len(envelopes), name=postman.full_name)
    return _done(office, day, message, run_id=run.id)


@bp.post("/plan/split")
@roles_required(*STAFF)
def plan_split():
    """Share the envelopes chosen between the postmen chosen, each run ordered from the office."""
    office = _office()
    day = _day(office)
    try:
        ids = _ints(request.form.getlist("split_postman_id"), "postman")
        postmen = [postman_of(office, i) for i in dict.fromkeys(ids)]
        given = (request.form.get("capacity") or "").strip()
        capacity = _int(given, "capacity", low=1, high=MAX_CAPACITY) if given else None
        envelopes = envelopes_by_id(office, _ints(request.form.getlist("envelope_id"), "envelope"))
        runs = split_among_postmen(
            office,
            day,
            postmen,
            envelopes,
            capacity=capacity,
            day_limit=_settings().capacity,
            actor=current_user,
            now=clock.now(),
            policy=current_app.config["DELIVERY_POLICY"],
            distances=_distances(),
        )
    except AppError as err:
        return _refused(err, office, day)
    message = _("%(n)s envelopes shared between %(runs)s runs.", n=len(envelopes), runs=len(runs))
    return _done(office, day, message, run_ids=[r.id for r in runs])


@bp.post("/plan/scan")
@roles_required(*STAFF)
def plan_scan():
    """At the counter: the envelope scanned goes on the chosen postman's run."""
    office = _office()
    day = _day(office)
    try:
        postman = postman_of(office, _int(request.form.get("postman_id"), "postman"))
        envelope = scan_onto_run(
            office,
            postman,
            day,
            request.form.get("code", ""),
            actor=current_user,
            now=clock.now(),
            qr_key=current_app.config["QR_SIGNING_KEY"],
            policy=current_app.config["DELIVERY_POLICY"],
            distances=_distances(),
        )
    except AppError as err:
        return _refused(err, office, day)
    message = _(
        "%(code)s — %(recipient)s: on %(name)s's run.",
        code=envelope.code,
        recipient=envelope.dossier.recipient_name,
        name=postman.full_name,
    )
    return _done(
        office,
        day,
        message,
        envelope={"code": envelope.code, "recipient_name": envelope.dossier.recipient_name},
    )


def _run():
    run = run_for_staff(request.view_args["run_id"], office_scope(current_user))
    return run, run.post_office, run.run_date


@bp.post("/plan/runs/<int:run_id>/unassign")
@roles_required(*STAFF)
def plan_unassign(run_id: int):
    """Take the envelopes chosen off the run, back into the pool."""
    run, office, day = _run()
    try:
        envelopes = envelopes_by_id(office, _ints(request.form.getlist("envelope_id"), "envelope"))
        unassign_envelopes(
            run,
            envelopes,
            actor=current_user,
            now=clock.now(),
            policy=current_app.config["DELIVERY_POLICY"],
        )
    except AppError as err:
        return _refused(err, office, day)
    return _done(office, day, _("%(n)s envelopes taken off the run.", n=len(envelopes)))


@bp.post("/plan/runs/<int:run_id>/move")
@roles_required(*STAFF)
def plan_move(run_id: int):
    """Move the envelopes chosen to another postman's run of the day."""
    run, office, day = _run()
    try:
        postman = postman_of(office, _int(request.form.get("postman_id"), "postman"))
        envelopes = envelopes_by_id(office, _ints(request.form.getlist("envelope_id"), "envelope"))
        move_envelopes(
            run,
            envelopes,
            postman,
            actor=current_user,
            now=clock.now(),
            policy=current_app.config["DELIVERY_POLICY"],
            distances=_distances(),
        )
    except AppError as err:
        return _refused(err, office, day)
    message = _(
        "%(n)s envelopes moved to %(name)s's run.", n=len(envelopes), name=postman.full_name
    )
    return _done(office, day, message)


@bp.post("/plan/runs/<int:run_id>/step")
@roles_required(*STAFF)
def plan_step(run_id: int):
    """Move one stop up or down the run (`move` = "<visit>:up" or "<visit>:down")."""
    run, office, day = _run()
    try:
        number, _sep, way = (request.form.get("move") or "").partition(":")
        if way not in ("up", "down"):
            raise Invalid(_("Move a stop up or down."), code="bad_move")
        move_visit(run, _int(number, "stop"), -1 if way == "up" else 1)
    except AppError as err:
        return _refused(err, office, day)
    return _done(
        office, day, _("The order of %(name)s's run was changed.", name=run.postman.full_name)
    )


@bp.post("/plan/runs/<int:run_id>/reorder")
@roles_required(*STAFF)
def plan_reorder(run_id: int):
    """Put the run's stops in the order given (`visit`, repeated), as dragged by hand."""
    run, office, day = _run()
    try:
        set_visit_order(run, _ints(request.form.getlist("visit"), "stop"))
    except AppError as err:
        return _refused(err, office, day)
    return _done(
        office, day, _("The order of %(name)s's run was changed.", name=run.postman.full_name)
    )


@bp.post("/plan/runs/<int:run_id>/order")
@roles_required(*STAFF)
def plan_order(run_id: int):
    """Order the run from the office with the solver."""
    run, office, day = _run()
    try:
        order_run(run, distances=_distances())
    except AppError as err:
        return _refused(err, office, day)
    return _done(
        office, day, _("%(name)s's run was ordered from the office.", name=run.postman.full_name)
    )
