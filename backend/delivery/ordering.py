"""The postman's own order of a run's doors, set by hand on the phone (issue 10).

The phone sends every stop of the run in its new order; the doors (stops sharing a visit: one
recipient at one address) stay whole and take the order of their stops. Unlike the console's
reorder, the postman may reorder a run under way: only a closed run refuses. Any refusal comes
before the first write, so a refused order changes nothing; the same order sent again changes
nothing either (the phone resends an order it could not confirm).
"""

from __future__ import annotations

from collections.abc import Sequence

from flask_babel import gettext as _
from sqlalchemy import select

from backend.delivery.schemas import run_doors
from backend.errors import Conflict, Invalid, NotFound
from backend.extensions import db
from backend.models import DeliveryRun, RunState, RunStop, User


def postman_run(run_id: int, postman: User) -> DeliveryRun:
    """The postman's own run, locked for the change; 404 if missing or someone else's."""
    run = db.session.scalars(
        select(DeliveryRun)
        .where(DeliveryRun.id == run_id, DeliveryRun.postman_id == postman.id)
        .with_for_update()
    ).first()
    if run is None:
        raise NotFound(_("This run does not exist."), code="run_not_found")
    return run


def doors_in_order(doors: Sequence[Sequence[int]], wanted: Sequence[int]) -> list[list[int]]:
    """The doors (lists of stop ids) in the order `wanted` names their stops.

    `wanted` must name every stop once, and a door's stops side by side in the door's own
    order; otherwise Invalid (`bad_order`), with what is wrong in `fields`.
    """
    door_of = {stop_id: i for i, door in enumerate(doors) for stop_id in door}
    seen: set[int] = set()
    duplicate: set[int] = set()
    for stop_id in wanted:
        (duplicate if stop_id in seen else seen).add(stop_id)
    problems = [
        f"{what}: {_some(ids)}."
        for what, ids in (
            ("Named more than once", duplicate),
            ("Not on this run", seen - door_of.keys()),
            ("Missing", door_of.keys() - seen),
        )
        if ids
    ]
    if problems:
        raise Invalid(
            _("The new order must name every stop of the run once."),
            code="bad_order",
            fields={"stop_ids": problems},
        )
    order: list[int] = []  # door indexes, as their stops come
    for stop_id in wanted:
        if not order or order[-1] != door_of[stop_id]:
            order.append(door_of[stop_id])
    result = [list(doors[d]) for d in order]
    # A door met twice is split; its stops in another order are a door not kept whole either.
    if len(order) != len(doors) or [s for door in result for s in door] != list(wanted):
        raise Invalid(
            _("The envelopes of one door must stay together, in their order."),
            code="door_split",
        )
    return result


def _some(ids: set[int], shown: int = 10) -> str:
    """A few of the ids, for an error message that stays short whatever was sent."""
    first = sorted(ids)[:shown]
    return ", ".join(map(str, first)) + (", …" if len(ids) > shown else "")


def set_door_order(run: DeliveryRun, stop_ids: Sequence[int]) -> list[list[int]]:
    """Put the run's doors in the order the postman chose; its doors (stop ids) after."""
    if run.state == RunState.closed.value:
        raise Conflict(
            _("This run is closed: its order can no longer be changed."), code="run_closed"
        )
    current = run_doors(run.stops)
    doors = doors_in_order(current, stop_ids)
    if doors != current:
        _write_order(run, doors)
    return doors


def _write_order(run: DeliveryRun, doors: Sequence[Sequence[int]]) -> None:
    """Number the stops in door order (positions and visits from 1). Positions are unique per
    run, checked row by row, so every stop first steps aside to a negative position."""
    stops: dict[int, RunStop] = {stop.id: stop for stop in run.stops}
    flat = [stops[stop_id] for door in doors for stop_id in door]
    for i, stop in enumerate(flat, start=1):
        stop.position = stop.visit = -i
    db.session.flush()
    position = 0
    for number, door in enumerate(doors, start=1):
        for stop_id in door:
            position += 1
            stops[stop_id].position = position
            stops[stop_id].visit = number
    db.session.flush()
    run.stops.sort(key=lambda s: s.position)
