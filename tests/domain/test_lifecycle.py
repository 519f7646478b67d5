import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.domain.errors import (
    AttemptsExhausted,
    DomainError,
    TransitionNotAllowed,
)
from backend.domain.lifecycle import (
    FINAL_STATES,
    TRANSITIONS,
    Action,
    State,
    allowed_actions,
    is_final,
    next_state,
)
from backend.domain.policy import DEFAULT_POLICY, DeliveryPolicy

S, A = State, Action


def step(state, action, attempts=0, policy=DEFAULT_POLICY):
    return next_state(state, action, attempts_made=attempts, policy=policy)


def test_transition_table_is_exactly_the_design_diagram():
    assert dict(TRANSITIONS) == {
        (S.registered, A.receive): S.at_office,
        (S.registered, A.cancel): S.cancelled,
        (S.at_office, A.load): S.out_for_delivery,
        (S.at_office, A.hold): S.held_at_office,
        (S.out_for_delivery, A.deliver): S.delivered,
        (S.out_for_delivery, A.fail): S.attempt_failed,
        (S.out_for_delivery, A.unload): S.at_office,
        (S.attempt_failed, A.load): S.out_for_delivery,
        (S.attempt_failed, A.hold): S.held_at_office,
        (S.held_at_office, A.collect): S.collected,
        (S.held_at_office, A.return_to_agency): S.returned_to_agency,
    }


def test_transition_table_cannot_be_changed():
    with pytest.raises(TypeError):
        TRANSITIONS[(S.delivered, A.load)] = S.out_for_delivery  # type: ignore[index]


def test_final_states_and_is_final():
    assert {S.delivered, S.collected, S.returned_to_agency, S.cancelled} == FINAL_STATES
    assert is_final(S.delivered) and is_final("cancelled")
    assert not is_final(S.held_at_office)


def test_happy_path_delivers_on_first_attempt():
    state = S.registered
    for action in (A.receive, A.load, A.deliver):
        state = step(state, action)
    assert state is S.delivered


def test_failed_attempt_can_be_retried_while_attempts_remain():
    assert step(S.attempt_failed, A.load, attempts=1) is S.out_for_delivery


def test_reload_after_last_attempt_is_refused():
    with pytest.raises(AttemptsExhausted) as exc:
        step(S.attempt_failed, A.load, attempts=2)
    assert exc.value.fields == {"attempts_made": 2, "max_home_attempts": 2}


@pytest.mark.parametrize("action", [A.deliver, A.fail])
def test_attempt_beyond_policy_is_refused(action):
    with pytest.raises(AttemptsExhausted):
        step(S.out_for_delivery, action, attempts=2)


def test_load_from_office_is_refused_once_attempts_are_spent():
    # A lowered policy can leave an envelope at the office with no attempt left.
    with pytest.raises(AttemptsExhausted):
        step(S.at_office, A.load, attempts=1, policy=DeliveryPolicy(max_home_attempts=1))


def test_attempts_exhausted_still_allows_hold_and_unload():
    assert step(S.attempt_failed, A.hold, attempts=2) is S.held_at_office
    assert step(S.out_for_delivery, A.unload, attempts=2) is S.at_office


def test_unknown_pair_raises_transition_not_allowed_naming_both():
    with pytest.raises(TransitionNotAllowed) as exc:
        step(S.delivered, A.load)
    assert exc.value.state == "delivered" and exc.value.action == "load"
    assert "delivered" in exc.value.message and "load" in exc.value.message
    assert exc.value.kind == "conflict"


def test_transition_check_comes_before_attempt_check():
    with pytest.raises(TransitionNotAllowed):
        step(S.registered, A.deliver, attempts=99)


def test_accepts_plain_strings():
    assert step("registered", "receive") is S.at_office


def test_allowed_actions():
    assert allowed_actions(S.registered, attempts_made=0, policy=DEFAULT_POLICY) == {
        A.receive,
        A.cancel,
    }
    assert allowed_actions(S.attempt_failed, attempts_made=1, policy=DEFAULT_POLICY) == {
        A.load,
        A.hold,
    }
    assert allowed_actions(S.attempt_failed, attempts_made=2, policy=DEFAULT_POLICY) == {A.hold}


@pytest.mark.parametrize("state", sorted(FINAL_STATES))
def test_final_states_accept_no_action(state):
    assert allowed_actions(state, attempts_made=0, policy=DEFAULT_POLICY) == frozenset()


@settings(max_examples=300, deadline=None)
@given(
    max_attempts=st.integers(min_value=1, max_value=4),
    actions=st.lists(st.sampled_from(Action), max_size=40),
)
def test_random_action_sequences_respect_the_lifecycle(max_attempts, actions):
    policy = DeliveryPolicy(max_home_attempts=max_attempts)
    state, attempts = State.registered, 0
    for action in actions:
        allowed = allowed_actions(state, attempts_made=attempts, policy=policy)
        if is_final(state):
            assert allowed == frozenset()
        try:
            new = next_state(state, action, attempts_made=attempts, policy=policy)
        except DomainError:
            assert action not in allowed
            continue
        assert action in allowed
        assert isinstance(new, State)
        if action in (Action.fail, Action.deliver):
            attempts += 1
        state = new
        assert attempts <= policy.max_home_attempts
