"""How good and how fast the routes are: order_stops and split_pool against long solver runs.

    .venv/bin/python bench/routing.py [--sizes 30 80 150 300] [--seeds 3] [--long-seconds 30]
        [--split-only] [--cache FILE]

For each size and seed, stops are scattered like a district's deliveries (a dense town around
the post office and villages along the roads out of it). Prints, for one run's order, the time
and length of `order_stops` against the best tour PyVRP finds in `--long-seconds` (one vehicle,
no capacity) and against the nearest-neighbour walk; and for a pool split between postmen, the
time and total length of `split_pool` against PyVRP given `--long-seconds` on the same model.
The last line is one JSON object with the worst gaps and times. `--cache` keeps the long
runs' lengths in a JSON file, so that a second run (another version of the code) is measured
against the same references without their 30 s each; `--split-only` leaves out one run's order.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from backend.domain.routing import (  # noqa: E402
    HAVERSINE,
    order_nearest_first,
    order_stops,
    split_pool,
    tour_metres,
)

OFFICE = (21.8486, 106.7610)  # Lạng Sơn's provincial post office


def district(seed: int, count: int) -> list[tuple[float, float]]:
    """Half the stops in town (within ~3 km), the rest in villages up to ~25 km out."""
    rng = np.random.default_rng(seed)
    villages = [
        (OFFICE[0] + rng.uniform(-0.2, 0.2), OFFICE[1] + rng.uniform(-0.2, 0.2)) for _ in range(8)
    ]
    points = []
    for i in range(count):
        if i % 2 == 0:
            centre, spread = OFFICE, 0.015
        else:
            centre, spread = villages[rng.integers(len(villages))], 0.006
        points.append((centre[0] + rng.normal(0, spread), centre[1] + rng.normal(0, spread)))
    return points


def pyvrp_runs(points, postmen: int, capacity: int, seconds: float, seed: int) -> list[list[int]]:
    """PyVRP alone, with its default parameters and start, given `seconds`: the reference
    (what split_pool was before it started from a cut giant tour)."""
    from pyvrp import Client, Depot, Location, ProblemData, VehicleType, solve
    from pyvrp.stop import MaxRuntime

    metres = np.rint(HAVERSINE.matrix([OFFICE, *points])).astype(np.int64)
    data = ProblemData(
        locations=[Location(x=0, y=0) for _ in range(len(points) + 1)],
        clients=[Client(location=i + 1, delivery=[1]) for i in range(len(points))],
        depots=[Depot(location=0)],
        vehicle_types=[VehicleType(num_available=postmen, capacity=[capacity])],
        distance_matrices=[metres],
        duration_matrices=[np.zeros_like(metres)],
    )
    result = solve(data, stop=MaxRuntime(seconds), seed=seed, display=False)
    return [[a.idx for a in route if a.is_client()] for route in result.best.routes()]


def long_tour(points, seconds: float, seed: int) -> float:
    """The best closed tour PyVRP finds in `seconds`: one vehicle that carries everything."""
    runs = pyvrp_runs(points, 1, len(points), seconds, seed)
    return tour_metres(OFFICE, points, runs[0])


def total(points, runs) -> float:
    return sum(tour_metres(OFFICE, points, run) for run in runs)


def timed(call, *args, **kwargs):
    start = time.perf_counter()
    value = call(*args, **kwargs)
    return value, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[30, 80, 150, 300])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--long-seconds", type=float, default=30.0)
    parser.add_argument("--split-only", action="store_true", help="only the pool splits")
    parser.add_argument("--cache", help="a JSON file keeping the long runs' lengths")
    args = parser.parse_args()
    cache = {}
    if args.cache and os.path.exists(args.cache):
        with open(args.cache) as f:
            cache = json.load(f)

    def remembered(key: str, compute) -> float:
        """A long run's length in metres, from the cache or computed (and cached)."""
        key = f"{key} {args.long_seconds:g}s"
        if key not in cache:
            cache[key] = compute()
            if args.cache:
                with open(args.cache, "w") as f:
                    json.dump(cache, f, indent=0)
        return cache[key]

    HAVERSINE.matrix([OFFICE, OFFICE])  # numpy warmed up
    order_stops(OFFICE, district(0, 30))  # fast-tsp imported
    split_pool(OFFICE, district(0, 10), 2, 10, seconds=0.05)  # PyVRP imported

    print(f"one run's order: order_stops vs PyVRP {args.long_seconds:g} s vs nearest neighbour")
    print(
        f"{'stops':>5} {'seed':>4} {'ms':>6} {'km':>8} {'long km':>8} {'gap':>7} {'nn km':>8} {'nn gap':>7}"
    )
    worst_gap, order_ms = {}, {}
    for size in [] if args.split_only else args.sizes:
        for seed in range(1, args.seeds + 1):
            points = district(seed, size)
            order, seconds = timed(order_stops, OFFICE, points)
            mine = tour_metres(OFFICE, points, order)
            best = min(
                mine,
                remembered(
                    f"order {size} {seed}",
                    lambda p=points, s=seed: long_tour(p, args.long_seconds, s),
                ),
            )
            greedy = order_nearest_first(OFFICE, list(range(size)), lambda i, p=points: p[i])
            nn = tour_metres(OFFICE, points, greedy)
            gap = mine / best - 1
            worst_gap[size] = max(worst_gap.get(size, 0.0), gap)
            order_ms.setdefault(size, []).append(seconds * 1000)
            print(
                f"{size:>5} {seed:>4} {seconds * 1000:6.0f} {mine / 1000:8.2f} {best / 1000:8.2f} "
                f"{gap:7.2%} {nn / 1000:8.2f} {nn / best - 1:7.2%}",
                flush=True,
            )

    print(
        f"\na pool split: split_pool (its own budget: 1 s, up to 2 s for 300) vs PyVRP {args.long_seconds:g} s"
        ""
    )
    print(f"{'stops':>5} {'postmen':>7} {'seed':>4} {'s':>5} {'km':>8} {'long km':>8} {'gap':>7}")
    split_gap, split_s, split_gaps = 0.0, [], []
    pools = [(size, max(2, size // 50)) for size in args.sizes if size >= 80]
    for size, postmen in pools:
        capacity = -(-size * 5 // (postmen * 4))  # a quarter of slack per postman
        for seed in range(1, args.seeds + 1):
            points = district(seed, size)
            runs, seconds = timed(split_pool, OFFICE, points, postmen, capacity, seed=seed)
            mine = total(points, runs)
            reference = remembered(
                f"split {size} {postmen} {seed}",
                lambda p=points, s=seed, n=postmen, c=capacity: total(
                    p, pyvrp_runs(p, n, c, args.long_seconds, s)
                ),
            )
            best = min(mine, reference)
            gap = mine / best - 1
            split_gap = max(split_gap, gap)
            split_gaps.append(round(gap * 100, 2))
            split_s.append(seconds)
            print(
                f"{size:>5} {postmen:>7} {seed:>4} {seconds:5.2f} {mine / 1000:8.2f} "
                f"{best / 1000:8.2f} {gap:7.2%}",
                flush=True,
            )
    summary = {
        "order_worst_gap": {size: round(gap * 100, 2) for size, gap in worst_gap.items()},
        "order_median_ms": {size: round(statistics.median(ms)) for size, ms in order_ms.items()},
        "split_gaps": split_gaps,
        "split_seconds": [round(s, 2) for s in split_s],
        "split_worst_gap": round(split_gap * 100, 2),
        "split_max_s": round(max(split_s), 2) if split_s else None,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
