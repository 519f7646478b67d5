"""Planning the day's runs: the pool waiting at the office, runs filled by hand, by scanning at
the counter or by splitting the pool between postmen, each run ordered from the office.

A run's stops are grouped into visits (doors): envelopes for the same recipient at the same
address share a visit and move together. Assigning an envelope loads it (out for delivery) and
taking it off unloads it (back at the office), each through the lifecycle with its event; both
are allowed only while the run is planned: once its postman has recorded an attempt it has
started and refuses changes. A run is on the postman's phone as soon as it exists (runs/today
serves today's runs); the phone picks changes up at its next sync.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import contains_eager, selectinload

from backend.console.handovers import _code_from_scan
from backend.console.requests import check_not_asked_later
from backend.domain.lifecycle import STATE_LABELS, Action, State
from backend.domain.planning import (
    PlanSettings,
    estimate_minutes,
    group_visits,
    insertion_index,
    visit_key,
)
from backend.domain.policy import DEFAULT_POLICY, DeliveryPolicy
from backend.domain.routing import (
    HAVERSINE,
    Distances,
    Point,
    PoolTooLarge,
    order_stops,
    split_pool,
    tour_metres,
)
from backend.envelopes.services import apply_action
from backend.errors import Conflict, Invalid, NotFound
from backend.extensions import db
from backend.models import DeliveryRun, Dossier, Envelope, PostOffice, Role, RunState, RunStop, User

# Waiting at the office and allowed out again (attempt_failed ones with attempts left).
POOL_STATES = (State.at_office, State.attempt_failed)
POOL_LIMIT = 1000
MAX_SELECTED = 1000


@dataclass(frozen=True)
class PoolFilter:
    """What the supervisor narrows the pool to; None is any."""

    commune_code: int | None = None
    result_type: str | None = None
    attempt: int | None = None  # the attempt loading would start: attempts made + 1
    promised_by: date | None = None  # promised on or before this day


def pool(
    office_id: int,
    filters: PoolFilter = PoolFilter(),
    policy: DeliveryPolicy = DEFAULT_POLICY,
    limit: int = POOL_LIMIT,
) -> list[Envelope]:
    """The envelopes waiting at the office that may go out, the earliest promised first."""
    stmt = (
        select(Envelope)
        .join(Envelope.dossier)
        .where(
            Dossier.post_office_id == office_id,
            Envelope._state.in_([s.value for s in POOL_STATES]),
            Envelope.attempts_made < policy.max_home_attempts,
        )
        .options(contains_eager(Envelope.dossier))
        .order_by(Dossier.promised_date.is_(None), Dossier.promised_date, Envelope.id)
        .limit(limit)
    )
    if filters.commune_code is not None:
        stmt = stmt.where(Dossier.commune_code == filters.commune_code)
    if filters.result_type:
        stmt = stmt.where(Dossier.result_type == filters.result_type)
    if filters.attempt is not None:
        stmt = stmt.where(Envelope.attempts_made == filters.attempt - 1)
    if filters.promised_by is not None:
        stmt = stmt.where(Dossier.promised_date <= filters.promised_by)
    return list(db.session.execute(stmt).scalars())


def pool_communes(office_id: int) -> list[tuple[int, str]]:
    """The communes the office's waiting envelopes go to, for the filter."""
    rows = db.session.execute(
        select(Dossier.commune_code, func.min(Dossier.commune_name))
        .join(Envelope, Envelope.dossier_id == Dossier.id)
        .where(
            Dossier.post_office_id == office_id,
            Envelope._state.in_([s.value for s in POOL_STATES]),
        )
        .group_by(Dossier.commune_code)
        .order_by(func.min(Dossier.commune_name))
    ).all()
    return [(code, name) for code, name in rows]


def office_postmen(office_id: int) -> list[User]:
    """The active postmen of the office, by name."""
    return list(
        db.session.scalars(
            select(User)
            .where(
                User.post_office_id == office_id,
                User.role == Role.postman.value,
                User.active.is_(True),
            )
            .order_by(User.full_name, User.id)
        )
    )


def postman_of(office: PostOffice, postman_id: int) -> User:
    """A postman of this office, or NotFound."""
    postman = db.session.get(User, postman_id) if 0 < postman_id < 2**31 else None
    if (
        postman is None
        or not postman.has_role(Role.postman)
        or postman.post_office_id != office.id
        or not postman.active
    ):
        raise NotFound(_("This postman does not work at this post office."), code="no_such_postman")
    return postman


def run_for_staff(run_id: int, office_id: int | None) -> DeliveryRun:
    """A run of the user's office (any, for an administrator); NotFound otherwise."""
    run = db.session.get(DeliveryRun, run_id) if 0 < run_id < 2**31 else None
    if run is None or (office_id is not None and run.post_office_id != office_id):
        raise NotFound(_("This run does not exist."), code="run_not_found")
    return run


def envelopes_by_id(office: PostOffice, ids: Iterable[int]) -> list[Envelope]:
    """The office's envelopes with these ids, in the order given; NotFound if one is missing."""
    wanted = list(dict.fromkeys(i for i in ids if 0 < i < 2**31))
    if len(wanted) > MAX_SELECTED:
        raise Invalid(_("Too many envelopes at once."), code="too_many_envelopes")
    if not wanted:
        raise Invalid(_("Choose at least one envelope."), code="no_envelopes")
    found = {
        e.id: e
        for e in db.session.scalars(
            select(Envelope)
            .join(Envelope.dossier)
            .where(Envelope.id.in_(wanted), Dossier.post_office_id == office.id)
            .options(contains_eager(Envelope.dossier))
        )
    }
    if len(found) != len(wanted):
        raise NotFound(_("Some of these envelopes are not at this post office."), code="not_found")
    return [found[i] for i in wanted]


# --- A run as planned: its visits, length and time ------------------------------------------


@dataclass
class Visit:
    """One door of a run: the stops (envelopes) handed over there."""

    number: int
    stops: list[RunStop]

    @property
    def dossier(self) -> Dossier:
        return self.stops[0].envelope.dossier

    @property
    def point(self) -> Point | None:
        return _point(self.dossier)


@dataclass
class RunPlan:
    """A run with its visits in order, its length (metres) and estimated minutes."""

    run: DeliveryRun
    visits: list[Visit]
    metres: float
    minutes: int

    @property
    def editable(self) -> bool:
        return self.run.state == RunState.planned.value

    @property
    def envelopes(self) -> int:
        return sum(len(v.stops) for v in self.visits)


def _point(dossier: Dossier) -> Point | None:
    if dossier.latitude is None or dossier.longitude is None:
        return None
    return (dossier.latitude, dossier.longitude)


def depot_of(office: PostOffice, points: Sequence[Point | None] = ()) -> Point:
    """Where runs start: the office, or (without its position) the middle of the stops."""
    if office.latitude is not None and office.longitude is not None:
        return (office.latitude, office.longitude)
    located = [p for p in points if p is not None]
    if not located:
        return (0.0, 0.0)
    return (
        sum(p[0] for p in located) / len(located),
        sum(p[1] for p in located) / len(located),
    )


def _key(envelope: Envelope):
    d = envelope.dossier
    return visit_key(d.recipient_name, d.address_line, d.hamlet, d.commune_code)


def visits_of(run: DeliveryRun) -> list[Visit]:
    """The run's stops grouped into visits, in order."""
    groups: dict[int, list[RunStop]] = {}
    for stop in sorted(run.stops, key=lambda s: s.position):
        groups.setdefault(stop.visit, []).append(stop)
    return [Visit(number, stops) for number, stops in groups.items()]


def plan_of(
    run: DeliveryRun,
    settings: PlanSettings,
    distances: Distances = HAVERSINE,
) -> RunPlan:
    """The run's visits, length from the office and back, and estimated time."""
    visits = visits_of(run)
    located = [v.point for v in visits if v.point is not None]
    depot = depot_of(run.post_office, located)
    metres = tour_metres(depot, located, list(range(len(located))), distances=distances)
    return RunPlan(run, visits, metres, estimate_minutes(metres, len(visits), settings))


def day_runs(office_id: int, day: date) -> list[DeliveryRun]:
    """The office's runs of a day, with their stops, envelopes and dossiers."""
    stmt = (
        select(DeliveryRun)
        .where(DeliveryRun.post_office_id == office_id, DeliveryRun.run_date == day)
        .options(
            selectinload(DeliveryRun.postman),
            selectinload(DeliveryRun.post_office),
            selectinload(DeliveryRun.stops)
            .selectinload(RunStop.envelope)
            .selectinload(Envelope.dossier),
        )
        .order_by(DeliveryRun.postman_id, DeliveryRun.id)
    )
    return list(db.session.execute(stmt).scalars())


# --- Changing runs -------------------------------------------------------------------------


def _check_planned(run: DeliveryRun) -> None:
    if run.state != RunState.planned.value:
        raise Conflict(
            _(
                "%(name)s's run has started: its stops can no longer be changed.",
                name=run.postman.full_name,
            ),
            code="run_started",
        )


def _write_order(run: DeliveryRun, visits: Sequence[Sequence[RunStop]]) -> None:
    """Number the stops in visit order. Positions are unique per run, and the database checks
    that row by row, so every stop first steps aside to a negative position."""
    stops = [stop for visit in visits for stop in visit]
    for i, stop in enumerate(stops, start=1):
        stop.position = -i
        stop.visit = -i
    db.session.flush()
    position = 0
    for number, visit in enumerate(visits, start=1):
        for stop in visit:
            position += 1
            stop.position = position
            stop.visit = number
    db.session.flush()


def planned_run(
    office: PostOffice, postman: User, day: date, *, now: datetime, create: bool = True
) -> DeliveryRun | None:
    """The postman's run of the day still being planned, made if there is none (the day's
    earlier runs may have started: a new one goes out later)."""
    run = db.session.scalars(
        select(DeliveryRun)
        .where(
            DeliveryRun.postman_id == postman.id,
            DeliveryRun.run_date == day,
            DeliveryRun.state == RunState.planned.value,
            DeliveryRun.post_office_id == office.id,
        )
        .order_by(DeliveryRun.id.desc())
        .limit(1)
    ).first()
    if run is None and create:
        run = DeliveryRun(post_office=office, postman=postman, run_date=day, created_at=now)
        db.session.add(run)
        db.session.flush()
    return run


def _check_waiting(envelope: Envelope, policy: DeliveryPolicy) -> None:
    if envelope.state not in POOL_STATES:
        stop = db.session.scalars(
            select(RunStop)
            .join(RunStop.run)
            .where(RunStop.envelope_id == envelope.id, DeliveryRun.state != RunState.closed.value)
            .order_by(RunStop.id.desc())
            .limit(1)
        ).first()
        if envelope.state is State.out_for_delivery and stop is not None:
            message = _(
                "Envelope %(code)s is already on %(name)s's run.",
                code=envelope.code,
                name=stop.run.postman.full_name,
            )
        else:
            message = _(
                "Envelope %(code)s is not waiting at the office (%(state)s).",
                code=envelope.code,
                state=_(STATE_LABELS[envelope.state]),
            )
        raise Conflict(message, code="not_waiting", fields={"state": envelope.state.value})
    if envelope.attempts_made >= policy.max_home_attempts:
        raise Conflict(
            _(
                "Envelope %(code)s has had every home attempt: hold it at the office.",
                code=envelope.code,
            ),
            code="attempts_exhausted",
        )


def _add_envelopes(
    run: DeliveryRun,
    envelopes: Sequence[Envelope],
    *,
    actor: User,
    now: datetime,
    policy: DeliveryPolicy,
    distances: Distances,
) -> None:
    """Load the envelopes onto the run: each joins the visit of the same recipient and address,
    or makes a new one where it lengthens the run least."""
    _check_planned(run)
    for envelope in envelopes:
        _check_waiting(envelope, policy)
    check_not_asked_later(envelopes, run.run_date)
    visits = [list(v.stops) for v in visits_of(run)]
    keys = [_key(v[0].envelope) for v in visits]
    depot = depot_of(run.post_office, [_point(v[0].envelope.dossier) for v in visits])
    for envelope in envelopes:
        apply_action(
            envelope,
            Action.load,
            now=now,
            actor=actor,
            policy=policy,
            data={"postman_id": run.postman_id, "run_id": run.id},
        )
        stop = RunStop(envelope=envelope, position=0, visit=0)
        key = _key(envelope)
        if key in keys:
            visits[keys.index(key)].append(stop)
        else:
            where = insertion_index(
                depot,
                [_point(v[0].envelope.dossier) for v in visits],
                _point(envelope.dossier),
                distances=distances,
            )
            visits.insert(where, [stop])
            keys.insert(where, key)
    for i, stop in enumerate(s for v in visits for s in v if s.id is None):
        stop.position = -(10_000 + i)  # out of the way until the run is renumbered
        stop.visit = stop.position
        run.stops.append(stop)
    _write_order(run, visits)


def assign_envelopes(
    office: PostOffice,
    postman: User,
    day: date,
    envelopes: Sequence[Envelope],
    *,
    actor: User,
    now: datetime,
    policy: DeliveryPolicy = DEFAULT_POLICY,
    distances: Distances = HAVERSINE,
) -> DeliveryRun:
    """Put envelopes from the pool on the postman's run of the day (made if needed)."""
    for envelope in envelopes:
        _check_waiting(envelope, policy)
    run = planned_run(office, postman, day, now=now)
    fresh = not run.stops
    _add_envelopes(run, envelopes, actor=actor, now=now, policy=policy, distances=distances)
    if fresh:
        order_run(run, distances=distances)
    return run


def unassign_envelopes(
    run: DeliveryRun,
    envelopes: Sequence[Envelope],
    *,
    actor: User,
    now: datetime,
    policy: DeliveryPolicy = DEFAULT_POLICY,
) -> None:
    """Take envelopes off a planned run: back at the office, in the pool. An emptied run goes."""
    _check_planned(run)
    wanted = {e.id for e in envelopes}
    leaving = [stop for stop in run.stops if stop.envelope_id in wanted]
    if len(leaving) != len(wanted):
        raise NotFound(_("These envelopes are not on this run."), code="not_on_run")
    for stop in leaving:
        apply_action(
            stop.envelope,
            Action.unload,
            now=now,
            actor=actor,
            policy=policy,
            data={"postman_id": run.postman_id, "run_id": run.id},
        )
        run.stops.remove(stop)
    db.session.flush()
    if not run.stops:
        db.session.delete(run)
        db.session.flush()
        return
    _write_order(run, [v.stops for v in visits_of(run)])


def move_envelopes(
    run: DeliveryRun,
    envelopes: Sequence[Envelope],
    postman: User,
    *,
    actor: User,
    now: datetime,
    policy: DeliveryPolicy = DEFAULT_POLICY,
    distances: Distances = HAVERSINE,
) -> DeliveryRun:
    """Move envelopes from a planned run to another postman's planned run of the same day."""
    _check_planned(run)
    if postman.id == run.postman_id:
        return run
    office, day = run.post_office, run.run_date
    unassign_envelopes(run, envelopes, actor=actor, now=now, policy=policy)
    return assign_envelopes(
        office, postman, day, envelopes, actor=actor, now=now, policy=policy, distances=distances
    )


def move_visit(run: DeliveryRun, number: int, step: int) -> None:
    """Move one visit earlier (step -1) or later (+1) in the run, by hand."""
    _check_planned(run)
    visits = [v.stops for v in visits_of(run)]
    numbers = [v.number for v in visits_of(run)]
    if number not in numbers or step not in (-1, 1):
        raise NotFound(_("This stop is not on this run."), code="no_such_stop")
    i = numbers.index(number)
    j = i + step
    if 0 <= j < len(visits):
        visits[i], visits[j] = visits[j], visits[i]
        _write_order(run, visits)


def set_visit_order(run: DeliveryRun, numbers: Sequence[int]) -> None:
    """Put the run's visits in this order (every visit, each once), as dragged by hand."""
    _check_planned(run)
    visits = {v.number: v.stops for v in visits_of(run)}
    if sorted(numbers) != sorted(visits):
        raise Invalid(_("The new order must name every stop of the run once."), code="bad_order")
    _write_order(run, [visits[n] for n in numbers])


def order_run(run: DeliveryRun, *, distances: Distances = HAVERSINE) -> None:
    """Order the run's visits from the office with the solver (order_stops); visits without a
    position go last, as they were."""
    _check_planned(run)
    visits = visits_of(run)
    located = [v for v in visits if v.point is not None]
    unlocated = [v for v in visits if v.point is None]
    points = [v.point for v in located]
    order = order_stops(depot_of(run.post_office, points), points, distances=distances)
    _write_order(run, [located[i].stops for i in order] + [v.stops for v in unlocated])


def split_among_postmen(
    office: PostOffice,
    day: date,
    postmen: Sequence[User],
    envelopes: Sequence[Envelope],
    *,
    capacity: int | None,
    day_limit: int | None = None,
    actor: User,
    now: datetime,
    policy: DeliveryPolicy = DEFAULT_POLICY,
    distances: Distances = HAVERSINE,
    seconds: float | None = None,
) -> list[DeliveryRun]:
    """Share the envelopes between the postmen's runs of the day so that the runs are short
    together, each postman taking at most `capacity` stops (those already on the run count);
    then order each run from the office.

    Shortest together alone would give everything to one postman whenever it fits: without a
    `capacity` the stops are shared evenly (each postman's run ends with about as many), up to
    `day_limit` each."""
    if not postmen:
        raise Invalid(_("Choose at least one postman."), code="no_postmen")
    for envelope in envelopes:
        _check_waiting(envelope, policy)
    check_not_asked_later(envelopes, day)  # before the solver's seconds, not after
    runs = [planned_run(office, p, day, now=now, create=False) for p in postmen]
    groups = group_visits(list(envelopes), _key)
    already = [len(visits_of(r)) if r else 0 for r in runs]
    if capacity is None:
        capacity = -(-(len(groups) + sum(already)) // len(postmen))
        # An even share, but never more than a postman's day (TRAO_PLAN_CAPACITY).
        capacity = min(capacity, day_limit) if day_limit else capacity
    room = [max(0, capacity - n) for n in already]
    points = [_point(g[0].dossier) for g in groups]
    depot = depot_of(office, points)
    try:
        shares = split_pool(
            depot,
            [p if p is not None else depot for p in points],
            len(postmen),
            room,
            distances=distances,
            seconds=seconds,
        )
    except PoolTooLarge:
        raise Invalid(
            _(
                "%(stops)s stops do not fit: the postmen chosen have room for %(room)s. "
                "Choose more postmen or raise the capacity.",
                stops=len(groups),
                room=sum(room),
            ),
            code="pool_too_large",
        ) from None
    planned: list[DeliveryRun] = []
    for postman, share in zip(postmen, shares, strict=True):
        if not share:
            continue
        run = planned_run(office, postman, day, now=now)
        chosen = [e for i in share for e in groups[i]]
        _add_envelopes(run, chosen, actor=actor, now=now, policy=policy, distances=distances)
        order_run(run, distances=distances)
        planned.append(run)
    return planned


def scan_onto_run(
    office: PostOffice,
    postman: User,
    day: date,
    text: str,
    *,
    actor: User,
    now: datetime,
    qr_key: bytes,
    policy: DeliveryPolicy = DEFAULT_POLICY,
    distances: Distances = HAVERSINE,
) -> Envelope:
    """At the counter: the envelope a scan names goes onto the postman's run, or is refused."""
    code = _code_from_scan(text, qr_key)
    envelope = db.session.scalars(
        select(Envelope)
        .join(Envelope.dossier)
        .where(Envelope.code == code)
        .options(contains_eager(Envelope.dossier))
    ).first()
    if envelope is None or envelope.dossier.post_office_id != office.id:
        raise NotFound(
            _("Envelope %(code)s is not at this post office.", code=code), code="not_found"
        )
    assign_envelopes(
        office, postman, day, [envelope], actor=actor, now=now, policy=policy, distances=distances
    )
    return envelope
