"""The envelope's lifecycle: states, actions and the transitions between them."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from .errors import AttemptsExhausted, TransitionNotAllowed
from .i18n import N_
from .policy import DeliveryPolicy


class State(StrEnum):
    """Where an envelope is in its story."""

    registered = "registered"
    at_office = "at_office"
    out_for_delivery = "out_for_delivery"
    delivered = "delivered"
    attempt_failed = "attempt_failed"
    held_at_office = "held_at_office"
    collected = "collected"
    returned_to_agency = "returned_to_agency"
    cancelled = "cancelled"


STATE_LABELS: Mapping[State, str] = MappingProxyType(
    {
        State.registered: N_("Registered, not yet at the office"),
        State.at_office: N_("At the post office"),
        State.out_for_delivery: N_("Out for delivery"),
        State.delivered: N_("Delivered"),
        State.attempt_failed: N_("Delivery attempt failed"),
        State.held_at_office: N_("Held at the office for collection"),
        State.collected: N_("Collected at the office"),
        State.returned_to_agency: N_("Returned to the agency"),
        State.cancelled: N_("Cancelled"),
    }
)


class Action(StrEnum):
    """What someone does to an envelope."""

    receive = "receive"
    load = "load"
    unload = "unload"
    deliver = "deliver"
    fail = "fail"
    hold = "hold"
    collect = "collect"
    return_to_agency = "return_to_agency"
    cancel = "cancel"


TRANSITIONS: Mapping[tuple[State, Action], State] = MappingProxyType(
    {
        (State.registered, Action.receive): State.at_office,
        (State.registered, Action.cancel): State.cancelled,
        (State.at_office, Action.load): State.out_for_delivery,
        # The citizen asked to collect it at the counter.
        (State.at_office, Action.hold): State.held_at_office,
        (State.out_for_delivery, Action.deliver): State.delivered,
        (State.out_for_delivery, Action.fail): State.attempt_failed,
        # Taken off a run before the postman sets out.
        (State.out_for_delivery, Action.unload): State.at_office,
        (State.attempt_failed, Action.load): State.out_for_delivery,
        (State.attempt_failed, Action.hold): State.held_at_office,
        (State.held_at_office, Action.collect): State.collected,
        (State.held_at_office, Action.return_to_agency): State.returned_to_agency,
    }
)

FINAL_STATES: frozenset[State] = frozenset(
    {State.delivered, State.collected, State.returned_to_agency, State.cancelled}
)

# Actions that are a home delivery attempt: each spends one of the policy's attempts.
ATTEMPT_ACTIONS: frozenset[Action] = frozenset({Action.deliver, Action.fail})


def is_final(state: State) -> bool:
    """Whether the envelope's story has ended."""
    return State(state) in FINAL_STATES


def next_state(
    state: State, action: Action, *, attempts_made: int, policy: DeliveryPolicy
) -> State:
    """The state after action, or raise TransitionNotAllowed / AttemptsExhausted."""
    state, action = State(state), Action(action)
    target = TRANSITIONS.get((state, action))
    if target is None:
        raise TransitionNotAllowed(
            state,
            action,
            f"Action '{action}' is not allowed when the envelope is '{state}'.",
            fields={"state": str(state), "action": str(action)},
        )
    exhausted = attempts_made >= policy.max_home_attempts
    # Loading starts a new attempt, so it is refused once none is left: the envelope
    # can only be held at the office then. Attempts themselves are checked too, as a
    # last line of defence.
    if exhausted and (action is Action.load or action in ATTEMPT_ACTIONS):
        raise AttemptsExhausted(
            f"All {policy.max_home_attempts} home delivery attempts have been made; "
            "the envelope must be held at the office.",
            fields={
                "attempts_made": attempts_made,
                "max_home_attempts": policy.max_home_attempts,
            },
        )
    return target


def allowed_actions(
    state: State, *, attempts_made: int, policy: DeliveryPolicy
) -> frozenset[Action]:
    """The actions next_state would accept from this state."""
    allowed = set()
    for action in Action:
        try:
            next_state(state, action, attempts_made=attempts_made, policy=policy)
        except (TransitionNotAllowed, AttemptsExhausted):
            continue
        allowed.add(action)
    return frozenset(allowed)


# The states an envelope comes back to the office in when its run is closed (issue 11): never
# attempted, or failed at the door.
BACK_FROM_RUN_STATES: frozenset[State] = frozenset({State.out_for_delivery, State.attempt_failed})


def back_from_run(state: State, *, attempts_made: int, policy: DeliveryPolicy) -> Action | None:
    """What taking an envelope back at the office, when its run is closed, does to it.

    Never attempted: `unload` (back to at_office, waiting for a run). Failed with home attempts
    left: None — it stays attempt_failed, which waits for a run already. Failed with every home
    attempt made: `hold` (held at the office for collection). Any other state did not go out on a
    run: TransitionNotAllowed.
    """
    state = State(state)
    if state is State.out_for_delivery:
        action = Action.unload
    elif state is State.attempt_failed:
        if attempts_made < policy.max_home_attempts:
            return None
        action = Action.hold
    else:
        raise TransitionNotAllowed(
            state,
            Action.unload,
            f"An envelope '{state}' is not out on a run: it cannot come back from one.",
            fields={"state": str(state)},
        )
    next_state(state, action, attempts_made=attempts_made, policy=policy)
    return action
