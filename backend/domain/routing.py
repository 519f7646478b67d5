"""Routes: distances between stops, a run's visiting order, a pool split between postmen.

Two pure functions hold the solvers: `order_stops` (fast-tsp: one run's closed tour from the
post office) and `split_pool` (PyVRP: a capacitated split of the office's pool between several
postmen, each route already in order). Both take a `Distances` (metres between points):
`HaversineDistances` by default; a road-distance service (OSRM, Valhalla) plugs in behind the
same interface, named by the TRAO_DISTANCES setting (`distances_from_setting`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

import numpy as np

T = TypeVar("T")
Point = tuple[float, float]  # (latitude, longitude) in degrees
# WGS 84: the ellipsoid GPS positions are given on.
WGS84_A = 6_378_137.0
WGS84_E2 = 0.00669437999014


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres on the sphere that best fits the ellipsoid where the two
    points are (its Gaussian radius at their mean latitude): within 0.5 % of the ellipsoidal
    distance across Vietnam (a fixed mean radius is off by more near the equator), and a
    hundredth of its cost."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    sin_mid = math.sin((p1 + p2) / 2)
    radius = WGS84_A * math.sqrt(1 - WGS84_E2) / (1 - WGS84_E2 * sin_mid * sin_mid)
    return 2 * radius * math.asin(math.sqrt(a))


def order_nearest_first(
    origin: tuple[float, float],
    items: Sequence[T],
    position: Callable[[T], tuple[float, float] | None],
) -> list[T]:
    """Visit each next-nearest item from the origin; items without a position go last, in order."""
    placed = [item for item in items if position(item) is not None]
    unplaced = [item for item in items if position(item) is None]
    route: list[T] = []
    here = origin
    while placed:
        nearest = min(placed, key=lambda item: haversine_m(*here, *position(item)))
        placed.remove(nearest)
        route.append(nearest)
        here = position(nearest)
    return route + unplaced


def haversine_matrix(points: Sequence[Point]) -> np.ndarray:
    """Metres between every two points (a square float matrix): `haversine_m`, vectorised."""
    coords = np.radians(np.asarray(points, dtype=float).reshape(-1, 2))
    lat, lon = coords[:, 0], coords[:, 1]
    dlat = lat[:, None] - lat[None, :]
    dlon = lon[:, None] - lon[None, :]
    a = np.sin(dlat / 2) ** 2 + np.cos(lat)[:, None] * np.cos(lat)[None, :] * np.sin(dlon / 2) ** 2
    sin_mid = np.sin((lat[:, None] + lat[None, :]) / 2)
    radius = WGS84_A * math.sqrt(1 - WGS84_E2) / (1 - WGS84_E2 * sin_mid * sin_mid)
    return 2 * radius * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


class Distances(Protocol):
    """Metres from each point to each other (row: from, column: to); may be asymmetric."""

    def matrix(self, points: Sequence[Point]) -> np.ndarray: ...


class HaversineDistances:
    """As the crow flies, on the sphere that fits the ellipsoid where the points are."""

    def matrix(self, points: Sequence[Point]) -> np.ndarray:
        return haversine_matrix(points)


HAVERSINE = HaversineDistances()


def distances_from_setting(value: str) -> Distances:
    """The Distances a TRAO_DISTANCES setting names ("haversine", the default)."""
    if value.strip().lower() in ("", "haversine"):
        return HAVERSINE
    raise ValueError(f"unknown distance source: {value!r} (known: haversine)")


# fast-tsp reads distances as 16-bit integers: metres, or coarser units for a wider area.
_TSP_MAX = 2**16 - 1
# Enough for fast-tsp to settle at 150 stops on this project's 2-core machine (bench/routing.py).
ORDER_SECONDS = 0.08


def order_stops(
    depot: Point,
    points: Sequence[Point],
    *,
    distances: Distances = HAVERSINE,
    seconds: float = ORDER_SECONDS,
) -> list[int]:
    """A visiting order (indices of `points`) for one run that leaves `depot` and comes back.

    The closed tour is the shortest fast-tsp finds in `seconds` (exact up to 20 points); it is
    walked in the direction that starts at the nearer end.
    """
    count = len(points)
    if count < 2:
        return list(range(count))
    metres = distances.matrix([depot, *points])
    metres = (metres + metres.T) / 2  # one-way streets: the solver wants symmetric distances
    unit = max(1.0, math.ceil(float(metres.max()) / _TSP_MAX))
    matrix = np.rint(metres / unit).astype(np.int64)
    import fast_tsp

    tour = fast_tsp.find_tour(matrix, seconds)
    start = tour.index(0)
    tour = tour[start:] + tour[:start]
    if matrix[0, tour[-1]] < matrix[0, tour[1]]:
        tour = [0, *reversed(tour[1:])]
    return [node - 1 for node in tour[1:]]


def tour_metres(
    depot: Point, points: Sequence[Point], order: Sequence[int], *, distances: Distances = HAVERSINE
) -> float:
    """The length of a run visiting `points` in `order` from `depot` and back."""
    if not order:
        return 0.0
    metres = distances.matrix([depot, *points])
    path = [0, *(i + 1 for i in order), 0]
    return float(sum(metres[a, b] for a, b in zip(path, path[1:], strict=False)))


class PoolTooLarge(ValueError):
    """More envelopes than the postmen can carry together."""


# PyVRP's budget for a split: a second up to 150 stops (within 0.5 % of its 30 s result there,
# bench/routing.py), growing to two for 300 and more.
SPLIT_SECONDS = 1.0
SPLIT_SECONDS_MAX = 2.0


def split_seconds(count: int) -> float:
    """The time split_pool gives PyVRP for `count` stops."""
    return min(SPLIT_SECONDS_MAX, max(SPLIT_SECONDS, count / 150))


def split_pool(
    depot: Point,
    points: Sequence[Point],
    postmen: int,
    capacity: int | Sequence[int],
    *,
    distances: Distances = HAVERSINE,
    seconds: float | None = None,
    seed: int = 0,
) -> list[list[int]]:
    """Share `points` between `postmen` runs from `depot`, each run at most its `capacity`
    (one for all, or one per postman), so that the runs are short together.

    Returns one list per postman (some may be empty), each in visiting order. PyVRP's hybrid
    genetic search, stopped after `seconds` (split_seconds by default). PoolTooLarge if the
    capacities cannot hold them.
    """
    capacities = [capacity] * postmen if isinstance(capacity, int) else list(capacity)
    if postmen < 1 or len(capacities) != postmen or min(capacities) < 0:
        raise ValueError("one capacity (at least 0) for each of at least one postman")
    if len(points) > sum(capacities):
        raise PoolTooLarge(f"{len(points)} stops for {sum(capacities)} places")
    runs: list[list[int]] = [[] for _ in range(postmen)]
    if not points:
        return runs
    from pyvrp import Client, Depot, Location, ProblemData, VehicleType, solve
    from pyvrp.stop import MaxRuntime

    metres = np.rint(distances.matrix([depot, *points])).astype(np.int64)
    # One vehicle type per distinct capacity, remembering which postmen it stands for.
    by_capacity: dict[int, list[int]] = {}
    for who, places in enumerate(capacities):
        by_capacity.setdefault(places, []).append(who)
    kinds = list(by_capacity.items())
    data = ProblemData(
        locations=[Location(x=0, y=0) for _ in range(len(points) + 1)],
        clients=[Client(location=i + 1, delivery=[1]) for i in range(len(points))],
        depots=[Depot(location=0)],
        vehicle_types=[
            VehicleType(num_available=len(who), capacity=[places]) for places, who in kinds
        ],
        distance_matrices=[metres],
        duration_matrices=[np.zeros_like(metres)],
    )
    budget = split_seconds(len(points)) if seconds is None else seconds
    result = solve(data, stop=MaxRuntime(budget), seed=seed, display=False)
    free = {kind: list(who) for kind, (_, who) in enumerate(kinds)}
    for route in result.best.routes():
        who = free[route.vehicle_type()].pop(0)
        runs[who] = [activity.idx for activity in route if activity.is_client()]
    return runs
