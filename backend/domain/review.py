"""What makes an accepted attempt worth a supervisor's look."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from .policy import DeliveryPolicy


class ReviewFlag(StrEnum):
    """A reason to review an accepted attempt; the value is stored on the attempt."""

    # The name shown matched only without diacritics, or a paper whose number can't be compared
    # (a passport): the postman confirmed the person on the phone.
    weak_identity = "weak_identity"
    # The GPS fix was too coarse to place the postman at the door.
    poor_position = "poor_position"
    # The phone sent a fix no one could use (accuracy beyond any real fix): not stored.
    position_dropped = "position_dropped"
    # Even the fix's nearest edge is farther from the address than the geofence.
    far_from_address = "far_from_address"
    # The phone's clock and the server's disagree by more than the setting when the attempt
    # arrived (a wrong clock, or an attempt kept offline that long: a person decides which).
    clock_gap = "clock_gap"


@dataclass(frozen=True)
class FixAssessment:
    """What to keep of a GPS fix and what to flag about it."""

    usable: bool
    flags: tuple[ReviewFlag, ...]


def assess_fix(accuracy_m: float, policy: DeliveryPolicy) -> FixAssessment:
    """Drop a fix whose circle covers a whole district; flag one too coarse to place a door."""
    if accuracy_m > policy.max_fix_metres:
        return FixAssessment(False, (ReviewFlag.position_dropped,))
    if accuracy_m > policy.poor_fix_metres:
        return FixAssessment(True, (ReviewFlag.poor_position,))
    return FixAssessment(True, ())


def beyond_geofence(distance_m: float, accuracy_m: float, policy: DeliveryPolicy) -> bool:
    """Whether even the fix's nearest edge is farther from the address than the geofence."""
    return distance_m - accuracy_m > policy.geofence_metres


def clock_gap(device_time: datetime, received_at: datetime, limit: timedelta) -> bool:
    """Whether the phone's time of the attempt and the server's receipt are more than `limit` apart."""
    return abs(received_at - device_time) > limit
