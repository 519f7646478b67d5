"""Ordering a run's stops: a nearest-neighbour walk from the post office."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
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
