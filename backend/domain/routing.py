"""Routes: distances between stops, a run's visiting order, a pool split between postmen.

Two pure functions hold the solvers: `order_stops` (fast-tsp: one run's closed tour from the
post office) and `split_pool` (PyVRP: a capacitated split of the office's pool between several
postmen, each route already in order). Both take a `Distances` (metres between points):
`HaversineDistances` by default; a road-distance service (OSRM, Valhalla) plugs in behind the
same interface, named by the TRAO_DISTANCES setting (`distances_from_setting`).
"""

from __future__ import annotations

import json
import math
import os
import select
import signal
import time
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
# fast-tsp solves up to 20 nodes exactly, which takes it 0.3–1.3 s from 18 nodes (whatever the
# budget); 17 take under 10 ms. A tour of 18 to 20 nodes is padded to 21 so that its heuristic
# runs instead (the same tours, bench/routing.py; the pad is a copy of a stop, see _closed_tour).
_EXACT_FAST = 17
_HEURISTIC_FROM = 21


def _closed_tour(metres: np.ndarray, seconds: float) -> list[int]:
    """A short closed tour through every node of a square matrix of metres, starting at node 0
    (fast-tsp on the symmetric mean, in 16-bit units)."""
    count = len(metres)
    if count <= 3:
        return list(range(count))
    metres = (metres + metres.T) / 2  # one-way streets: the solver wants symmetric distances
    unit = max(1.0, math.ceil(float(metres.max()) / _TSP_MAX))
    matrix = np.rint(metres / unit).astype(np.int64)
    padded = _EXACT_FAST < count < _HEURISTIC_FROM
    if padded:
        # Copies of the last node, at no distance from it: a tour that visits them beside it is
        # the same tour; one that visits them elsewhere is no shorter (triangle inequality).
        extra = _HEURISTIC_FROM - count
        index = np.r_[np.arange(count), np.full(extra, count - 1)]
        matrix = matrix[np.ix_(index, index)]
    import fast_tsp

    tour = fast_tsp.find_tour(matrix, seconds)
    if padded:
        tour = [node for node in tour if node < count]
    start = tour.index(0)
    return tour[start:] + tour[:start]


def order_stops(
    depot: Point,
    points: Sequence[Point],
    *,
    distances: Distances = HAVERSINE,
    seconds: float = ORDER_SECONDS,
) -> list[int]:
    """A visiting order (indices of `points`) for one run that leaves `depot` and comes back.

    The closed tour is the shortest fast-tsp finds in `seconds` (exact up to 17 points); it is
    walked in the direction that starts at the nearer end.
    """
    count = len(points)
    if count < 2:
        return list(range(count))
    metres = distances.matrix([depot, *points])
    tour = _closed_tour(metres, seconds)
    if metres[0, tour[-1]] + metres[tour[-1], 0] < metres[0, tour[1]] + metres[tour[1], 0]:
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


# The whole budget of a split: a second up to 150 stops, growing to two for 300 and more.
SPLIT_SECONDS = 1.0
SPLIT_SECONDS_MAX = 2.0
# PyVRP's late-acceptance memory: its default (300 iterations) suits minutes of search; in a
# second or two a shorter one settles better (bench/routing.py, RESULTS.md).
SPLIT_HISTORY = 50
# Each stop's nearest stops the search tries moves with (PyVRP's default: 50; fewer make more
# iterations in two seconds, bench/routing.py), and the most random moves between searches.
SPLIT_NEIGHBOURS = 40
SPLIT_PERTURBATIONS = 25
# Where the giant tour is cut from: this many starting points round it.
CUT_ROTATIONS = 4
# fast-tsp's time to polish one run's order after the search.
POLISH_SECONDS = 0.02
# Kept from the budget for what follows the search besides the polish (seen: 30–60 ms).
SPLIT_MARGIN = 0.08
# How long a search in a child process may overrun the time it was given before it is stopped.
CHILD_GRACE = 1.0


def split_seconds(count: int) -> float:
    """The time split_pool takes for `count` stops."""
    return min(SPLIT_SECONDS_MAX, max(SPLIT_SECONDS, count / 150))


def route_metres(metres: np.ndarray, route: Sequence[int]) -> float:
    """The length of a closed route of matrix nodes from node 0 (the depot) and back."""
    path = [0, *route, 0]
    return float(metres[path[:-1], path[1:]].sum()) if route else 0.0


def cut_tour(
    metres: np.ndarray, tour: Sequence[int], capacities: Sequence[int]
) -> list[list[int]] | None:
    """Cut a giant tour (matrix nodes, the depot left out) into consecutive runs, the k-th of at
    most `capacities[k]` stops, so that the runs, each from the depot and back, are shortest
    together (Prins' split, by dynamic programming). One list per capacity, in order, some
    perhaps empty; None if the capacities cannot hold the tour."""
    count = len(tour)
    nodes = np.asarray(tour, dtype=np.int64)
    along = np.concatenate([[0.0], np.cumsum(metres[nodes[:-1], nodes[1:]])])
    out, back = metres[0, nodes], metres[nodes, 0]
    best = np.full(count + 1, np.inf)
    best[0] = 0.0
    starts = []
    for places in capacities:
        new, start = best.copy(), np.full(count + 1, -1)
        for end in range(1, count + 1):  # a run over tour[first:end]
            first = np.arange(max(0, end - places), end)
            if not len(first):
                continue
            cost = best[first] + out[first] + (along[end - 1] - along[first]) + back[end - 1]
            pick = int(np.argmin(cost))
            if cost[pick] < new[end]:
                new[end], start[end] = cost[pick], first[pick]
        starts.append(start)
        best = new
    if not np.isfinite(best[count]):
        return None
    runs: list[list[int]] = [[] for _ in capacities]
    end = count
    for k in range(len(capacities) - 1, -1, -1):
        if starts[k][end] >= 0:
            runs[k] = [int(node) for node in nodes[starts[k][end] : end]]
            end = int(starts[k][end])
    return runs if end == 0 else None


def polish_route(metres: np.ndarray, route: Sequence[int], seconds: float) -> list[int]:
    """The route (matrix nodes, the depot 0 left out) in fast-tsp's order when that is shorter
    (either way round), else as it was: never longer."""
    if len(route) < 3:
        return list(route)
    index = [0, *route]
    tour = _closed_tour(metres[np.ix_(index, index)], seconds)
    forward = [index[node] for node in tour[1:]]
    best = list(route)
    for candidate in (forward, forward[::-1]):
        if route_metres(metres, candidate) < route_metres(metres, best) - 1e-6:
            best = candidate
    return best


def split_pool(
    depot: Point,
    points: Sequence[Point],
    postmen: int,
    capacity: int | Sequence[int],
    *,
    distances: Distances = HAVERSINE,
    seconds: float | None = None,
    seed: int = 0,
    searches: int = 2,
) -> list[list[int]]:
    """Share `points` between `postmen` runs from `depot`, each run at most its `capacity`
    (one for all, or one per postman), so that the runs are short together.

    Returns one list per postman (some may be empty), each in visiting order. In `seconds`
    (split_seconds by default): one tour through every stop (fast-tsp) cut into runs within
    the capacities (`cut_tour`) is where PyVRP's iterated local search starts; each run of its
    best is then put in fast-tsp's order where that is shorter (`polish_route`). PoolTooLarge
    if the capacities cannot hold them.
    """
    started = time.perf_counter()
    capacities = [capacity] * postmen if isinstance(capacity, int) else list(capacity)
    if postmen < 1 or len(capacities) != postmen or min(capacities) < 0:
        raise ValueError("one capacity (at least 0) for each of at least one postman")
    if len(points) > sum(capacities):
        raise PoolTooLarge(f"{len(points)} stops for {sum(capacities)} places")
    runs: list[list[int]] = [[] for _ in range(postmen)]
    if not points:
        return runs
    # PyVRP loaded here, before a search is forked, and only when a pool is split.
    import pyvrp.IteratedLocalSearch  # noqa: F401
    import pyvrp.search  # noqa: F401
    from pyvrp import Client, Depot, Location, ProblemData, VehicleType

    budget = split_seconds(len(points)) if seconds is None else seconds
    deadline = started + budget
    exact = distances.matrix([depot, *points])
    metres = np.rint(exact).astype(np.int64)
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
    # Where the search starts: the giant tour cut into runs, the largest capacities first.
    tour = _closed_tour(exact, min(ORDER_SECONDS, budget / 10))[1:]
    order = sorted(range(len(kinds)), key=lambda kind: -kinds[kind][0])
    slots = [kind for kind in order for _ in kinds[kind][1]]
    places = [kinds[kind][0] for kind in slots]
    cut = None
    # The tour is a cycle: a run may go round its end through its start. A few ways round.
    for shift in range(0, len(tour), max(1, -(-len(tour) // CUT_ROTATIONS))):
        candidate = cut_tour(exact, tour[shift:] + tour[:shift], places)
        if candidate is not None and (
            cut is None
            or sum(route_metres(exact, run) for run in candidate)
            < sum(route_metres(exact, run) for run in cut)
        ):
            cut = candidate
    first = None
    if cut is not None:
        first = [(kind, run) for run, kind in zip(cut, slots, strict=True) if run]
    polish = min(POLISH_SECONDS, budget / 50)
    # When the searches stop: the polish (fast-tsp uses all its time) and a margin for the rest
    # are kept from the budget.
    until = deadline - polish * postmen - SPLIT_MARGIN
    # Two searches, the better kept: from the cut tour here and from a random start in a
    # process beside this one (on a second core: which start wins depends on the pool).
    beside = _in_child(lambda: _search(data, None, seed + 1, until)) if searches > 1 else None
    try:
        found = _search(data, first, seed, until)
    finally:
        other = beside() if beside is not None else None
    if other is not None and (found is None or other[0] < found[0]):
        found = other
    # Without a feasible result, the cut tour: within the capacities by construction (and
    # always made: the capacities hold the pool).
    routes = found[1] if found is not None else first
    if routes is None:
        raise PoolTooLarge(f"{len(points)} stops could not be cut into runs")
    free = {kind: list(who) for kind, (_, who) in enumerate(kinds)}
    for kind, nodes in routes:
        runs[free[kind].pop(0)] = [node - 1 for node in polish_route(exact, nodes, polish)]
    return runs


def _search(
    data, start: list[tuple[int, list[int]]] | None, seed: int, until: float
) -> tuple[int, list[tuple[int, list[int]]]] | None:
    """PyVRP's solve(), but searching locally from `start` (runs as (vehicle type, matrix
    nodes); None: a random start) before its iterations, which stop when the clock reads
    `until`: however short the time, the runs are a local optimum. The best feasible result
    as (its length, its runs in the same form), or None."""
    from pyvrp import RandomNumberGenerator, Route, Solution
    from pyvrp.IteratedLocalSearch import IteratedLocalSearch, IteratedLocalSearchParams
    from pyvrp.PenaltyManager import PenaltyManager, PenaltyParams
    from pyvrp.search import (
        OPERATORS,
        LocalSearch,
        NeighbourhoodParams,
        PerturbationManager,
        PerturbationParams,
        compute_neighbours,
    )
    from pyvrp.stop import MaxRuntime

    rng = RandomNumberGenerator(seed=seed)
    search = LocalSearch(
        data,
        rng,
        compute_neighbours(data, NeighbourhoodParams(num_neighbours=SPLIT_NEIGHBOURS)),
        PerturbationManager(PerturbationParams(max_perturbations=SPLIT_PERTURBATIONS)),
    )
    for operator in OPERATORS:
        if operator.supports(data):
            search.add_operator(operator(data))
    penalty = PenaltyParams()
    penalties = PenaltyManager(penalty.midpoint_penalties(data), penalty)
    if start is None:
        solution = Solution.make_random(data, rng)
    else:
        solution = Solution(
            data, [Route(data, [node - 1 for node in run], kind) for kind, run in start]
        )
    solution = search(solution, penalties.max_cost_evaluator(), exhaustive=True)
    best = (
        IteratedLocalSearch(
            data,
            penalties,
            search,
            solution,
            IteratedLocalSearchParams(history_length=SPLIT_HISTORY),
        )
        .run(MaxRuntime(max(0.0, until - time.perf_counter())), collect_stats=False)
        .best
    )
    if not best.is_feasible():
        return None
    runs = [
        (route.vehicle_type(), [activity.idx + 1 for activity in route if activity.is_client()])
        for route in best.routes()
    ]
    return int(best.distance()), runs


def _in_child(work: Callable[[], T]) -> Callable[[], T | None]:
    """Start `work` in a forked process (it must return JSON: lists, numbers); the call
    returned waits for its result, None if the process failed, overran its time by a second,
    or could not be started (no fork on this system). The child touches nothing it shares with
    this process (database connections, files): it computes, writes down its answer and leaves
    through os._exit."""
    if not hasattr(os, "fork"):
        return lambda: None
    read, write = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(read)
        os.close(write)
        return lambda: None
    if pid == 0:  # pragma: no cover - the child, measured through its answer
        code = 1
        try:
            os.close(read)
            with os.fdopen(write, "wb") as out:
                out.write(json.dumps(work()).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write)

    def answer() -> T | None:
        chunks = []
        try:
            with os.fdopen(read, "rb", buffering=0) as pipe:
                while select.select([pipe], [], [], CHILD_GRACE)[0]:
                    chunk = pipe.read(65536)
                    if not chunk:
                        break
                    chunks.append(chunk)
                else:
                    os.kill(pid, signal.SIGKILL)
                    chunks = []
        finally:
            os.waitpid(pid, 0)
        try:
            return json.loads(b"".join(chunks)) if chunks else None
        except ValueError:
            return None

    return answer
