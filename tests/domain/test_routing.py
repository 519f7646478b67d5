"""Distances: the great-circle formula the server uses, checked against geopy's ellipsoid."""

from geopy.distance import geodesic
from hypothesis import given
from hypothesis import strategies as st

from backend.domain.routing import haversine_m

# Vietnam, from Cà Mau to Hà Giang, and from the border to the islands.
latitudes = st.floats(8.5, 23.4)
longitudes = st.floats(102.1, 109.5)


@given(latitudes, longitudes, latitudes, longitudes)
def test_the_great_circle_agrees_with_the_ellipsoid_within_half_a_percent(lat1, lon1, lat2, lon2):
    exact = geodesic((lat1, lon1), (lat2, lon2)).meters
    assert abs(haversine_m(lat1, lon1, lat2, lon2) - exact) <= 0.005 * exact + 0.01


def test_a_doorstep_is_metres_away():
    assert 10 < haversine_m(21.8452, 106.7612, 21.8453, 106.7613) < 16
