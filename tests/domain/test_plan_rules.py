"""Planning rules without a database: one stop per door, where a new stop fits, a run's time."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from backend.domain.planning import (
    PlanSettings,
    estimate_minutes,
    group_visits,
    insertion_index,
    visit_key,
)
from backend.domain.routing import tour_metres

DEPOT = (21.8486, 106.7610)


def test_a_door_is_the_recipient_and_address_however_they_were_typed():
    a = visit_key("Nguyễn Văn An", "Số 5, đường Lê Lợi", "Tổ dân phố 3", 5977)
    assert a == visit_key("NGUYỄN  VĂN AN", "số 5, đường lê lợi", "tổ dân phố 3", 5977)
    # Typed without diacritics is the same door too: only the order groups them, each envelope
    # still has its own identity check at the door.
    assert a == visit_key("Nguyen Van An", "So 5, duong Le Loi", "To dan pho 3", 5977)
    assert a != visit_key("Nguyễn Thị An", "Số 5, đường Lê Lợi", "Tổ dân phố 3", 5977)
    assert a != visit_key("Nguyễn Văn An", "Số 7, đường Lê Lợi", "Tổ dân phố 3", 5977)
    assert a != visit_key("Nguyễn Văn An", "Số 5, đường Lê Lợi", "Tổ dân phố 3", 5978)


def test_groups_keep_the_order_of_their_first_item():
    assert group_visits([1, 2, 11, 3, 12, 21], key=lambda n: n % 10) == [[1, 11, 21], [2, 12], [3]]


def test_a_runs_time_is_riding_plus_minutes_at_each_stop():
    assert estimate_minutes(10_000, 4, PlanSettings(speed_kmh=20, minutes_per_stop=6)) == 30 + 24
    assert estimate_minutes(0, 0, PlanSettings()) == 0


points = st.tuples(
    st.floats(min_value=21.80, max_value=21.90), st.floats(min_value=106.70, max_value=106.80)
)


@settings(max_examples=50, deadline=None)
@given(route=st.lists(points, max_size=8), new=points)
def test_a_new_stop_goes_where_it_lengthens_the_run_least(route, new):
    where = insertion_index(DEPOT, route, new)
    assert 0 <= where <= len(route)
    lengths = []
    for i in range(len(route) + 1):
        candidate = [*route[:i], new, *route[i:]]
        lengths.append(tour_metres(DEPOT, candidate, list(range(len(candidate)))))
    chosen = [*route[:where], new, *route[where:]]
    assert math.isclose(
        tour_metres(DEPOT, chosen, list(range(len(chosen)))),
        min(lengths),
        rel_tol=1e-9,
        abs_tol=1e-6,
    )


def test_stops_without_a_position_are_passed_over_and_a_new_one_without_goes_last():
    route = [(21.85, 106.77), None, (21.86, 106.78)]
    assert insertion_index(DEPOT, route, None) == 3
    # Next to the far stop, beyond the one without a position.
    assert insertion_index(DEPOT, route, (21.861, 106.781)) in (2, 3)
    assert insertion_index(DEPOT, [], (21.85, 106.77)) == 0
