"""What makes an accepted attempt worth a supervisor's look."""

from __future__ import annotations

from enum import StrEnum


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
