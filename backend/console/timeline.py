"""How the envelope's page names what happened: event kinds without a state of their own, and
the outcomes of its attempts."""

from __future__ import annotations

from backend.console.closeout import BACK_EVENT
from backend.console.counter import COLLECTED, REMIND_EVENT
from backend.console.exceptions import MISSING_EVENT
from backend.domain.i18n import N_
from backend.notify.events import HOLD_ENDING_EVENT
from backend.tracking.links import LINK_REVOKED_EVENT

# Office events that change no state: the timeline says what they were.
EVENT_LABELS = {
    BACK_EVENT: N_("Handed back to the office from the run"),
    MISSING_EVENT: N_("Not handed back when its run was closed"),
    REMIND_EVENT: N_("The citizen was reminded to collect it"),
    HOLD_ENDING_EVENT: N_("The citizen was told the hold ends on the next working day"),
    LINK_REVOKED_EVENT: N_("The citizen's tracking link was revoked"),
}

OUTCOME_LABELS = {
    "delivered": N_("Delivered"),
    "failed": N_("Failed"),
    COLLECTED: N_("Collected at the counter"),
}
