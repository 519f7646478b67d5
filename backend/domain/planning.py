"""Planning runs: which envelopes make one stop, where a new stop fits, how long a run takes.

Pure rules over plain values; the solvers themselves are in `routing`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from .names import fold_name
from .routing import HAVERSINE, Distances, Point

T = TypeVar("T")

# A motorbike in a provincial town, on distances as the crow flies (roads run about a third
# longer, so this is some 25 km/h on the road), and the minutes at each door: find the
# recipient, check the ID, take the signature and a photo.
DEFAULT_SPEED_KMH = 20.0
DEFAULT_MINUTES_PER_STOP = 6.0
# Stops (doors, not envelopes) one postman takes in a day when the pool is split automatically.
DEFAULT_CAPACITY = 40


@dataclass(frozen=True)
class PlanSettings:
    """How runs are estimated and split (settings TRAO_PLAN_*)."""

    speed_kmh: float = DEFAULT_SPEED_KMH
    minutes_per_stop: float = DEFAULT_MINUTES_PER_STOP
    capacity: int = DEFAULT_CAPACITY


def visit_key(
    recipient_name: str, address_line: str, hamlet: str | None, commune_code: int
) -> tuple[str, str, str, int]:
    """What makes two envelopes one stop: the same recipient at the same address.

    Compared without diacritics, case or extra spaces, as agencies type them differently.
    """
    return (
        fold_name(recipient_name),
        fold_name(address_line),
        fold_name(hamlet or ""),
        commune_code,
    )


def group_visits(items: Sequence[T], key: Callable[[T], Hashable]) -> list[list[T]]:
    """The items grouped by key, groups in the order of their first item, items in order."""
    groups: dict[Hashable, list[T]] = {}
    for item in items:
        groups.setdefault(key(item), []).append(item)
    return list(groups.values())


def estimate_minutes(metres: float, stops: int, settings: PlanSettings) -> int:
    """A run's time: riding its length at the set speed, plus the minutes at each stop."""
    riding = metres / 1000 / max(settings.speed_kmh, 0.1) * 60
    return math.ceil(riding + stops * settings.minutes_per_stop)


def insertion_index(
    depot: Point,
    route: Sequence[Point | None],
    point: Point | None,
    *,
    distances: Distances = HAVERSINE,
) -> int:
    """Where a new stop adds the least length to a route from `depot` and back (the index it
    takes in `route`). Stops without a position are passed over; a new one without a
    position goes last."""
    if point is None or not route:
        return len(route)
    located = [(i, p) for i, p in enumerate(route) if p is not None]
    if not located:
        return len(route)
    metres = distances.matrix([depot, point, *(p for _, p in located)])
    new = 1

    def node(k: int) -> int:  # the k-th located stop, 0 and len(located)+1 the depot
        return 0 if k < 0 or k >= len(located) else k + 2

    best, best_cost = len(route), math.inf
    for k in range(len(located) + 1):
        before, after = node(k - 1), node(k)
        cost = metres[before, new] + metres[new, after] - metres[before, after]
        if cost < best_cost - 1e-9:
            best_cost = cost
            best = located[k][0] if k < len(located) else located[-1][0] + 1
    return best
