"""What makes an accepted attempt worth a supervisor's look."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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
    # The phone's clock, read when it sent the attempt, and the server's disagree by more than
    # the setting: the attempt's own time (device_time) may be wrong by as much.
    clock_gap = "clock_gap"
    # Received after its run was closed at the office (the phone synced late): the close-out's
    # count and money did not know of it.
    after_close = "after_close"


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


def read_phone_clock(text: str, *, max_chars: int = 64) -> datetime | None:
    """The instant an ISO 8601 text with a UTC offset names, or None for anything else.

    What the phone says its clock read; a text with no offset, too long, or beyond the
    calendar (year 9999 at UTC-23:59) is None rather than an error.
    """
    text = text.strip()
    if not text or len(text) > max_chars or not text[0].isdigit():
        return None
    try:
        instant = datetime.fromisoformat(text)
        if instant.tzinfo is None or instant.utcoffset() is None:
            return None
        return instant.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def clock_gap(
    sent_at: datetime | None, received_at: datetime, limit: timedelta, latency: timedelta
) -> bool:
    """Whether the phone's clock, as it sent the attempt, is more than `limit` off the server's.

    `sent_at` is the phone's clock when it sent (not the attempt's time, which may be hours
    earlier for an attempt kept offline); the server's receipt comes after the trip, which may
    take up to `latency` on a slow link. No reading (None): nothing to compare, no gap.
    """
    if sent_at is None:
        return False
    behind = received_at - sent_at  # the trip, plus how far the phone's clock is behind
    return behind > limit + latency or -behind > limit
