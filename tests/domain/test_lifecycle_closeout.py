"""The lifecycle's path back from a run (issue 11, closing a run): `back_from_run` takes every
envelope that went out and was not delivered back to the office — never lost, never out again
with no attempt left — and refuses any other state."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.domain.errors import DomainError, TransitionNotAllowed
from backend.domain.lifecycle import (
    BACK_FROM_RUN_STATES,
    Action,
    State,
    allowed_actions,
    back_from_run,
    is_final,
    next_state,
)
from backend.domain.policy import DEFAULT_POLICY, DeliveryPolicy

# Where an envelope is after it came back: waiting for a run, or held for collection.
AT_THE_OFFICE = {State.at_office, State.attempt_failed, State.held_at_office}


def test_the_three_ways_back():
    policy = DEFAULT_POLICY
    last = policy.max_home_attempts
    assert back_from_run(State.out_for_delivery, attempts_made=0, policy=policy) is Action.unload
    assert back_from_run(State.attempt_failed, attempts_made=last - 1, policy=policy) is None
    assert back_from_run(State.attempt_failed, attempts_made=last, policy=policy) is Action.hold
    assert back_from_run("out_for_delivery", attempts_made=0, policy=policy) is Action.unload


@pytest.mark.parametrize("state", sorted(set(State) - BACK_FROM_RUN_STATES))
def test_an_envelope_that_did_not_go_out_cannot_come_back(state):
    with pytest.raises(TransitionNotAllowed) as raised:
        back_from_run(state, attempts_made=0, policy=DEFAULT_POLICY)
    assert raised.value.fields == {"state": state.value}


@settings(max_examples=300, deadline=None)
@given(
    max_attempts=st.integers(min_value=1, max_value=4),
    actions=st.lists(st.sampled_from(Action), max_size=40),
    back_at=st.integers(min_value=0, max_value=40),
)
def test_whatever_happened_before_an_envelope_out_comes_back_to_the_office(
    max_attempts, actions, back_at
):
    """Walk the lifecycle at random; at some step, close the run. An envelope that was out (or
    failed) comes back by an action the lifecycle itself accepts, to a state at the office; with
    no home attempt left it is held, never left waiting for a run it cannot go out on."""
    policy = DeliveryPolicy(max_home_attempts=max_attempts)
    state, attempts = State.registered, 0
    for action in actions[:back_at]:
        try:
            state = next_state(state, action, attempts_made=attempts, policy=policy)
        except DomainError:
            continue
        if action in (Action.fail, Action.deliver):
            attempts += 1
    if state not in BACK_FROM_RUN_STATES:
        with pytest.raises(TransitionNotAllowed):
            back_from_run(state, attempts_made=attempts, policy=policy)
        return
    action = back_from_run(state, attempts_made=attempts, policy=policy)
    if action is None:
        after = state
        assert state is State.attempt_failed and attempts < policy.max_home_attempts
        # It waits in the pool as it is: the next run may load it.
        assert Action.load in allowed_actions(after, attempts_made=attempts, policy=policy)
    else:
        assert action in allowed_actions(state, attempts_made=attempts, policy=policy)
        after = next_state(state, action, attempts_made=attempts, policy=policy)
    assert after in AT_THE_OFFICE and not is_final(after)
    if attempts >= policy.max_home_attempts:
        assert after is State.held_at_office
    # Coming back never spends a home attempt: only the door does.
    assert action not in (Action.deliver, Action.fail)
