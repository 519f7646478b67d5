from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.domain.errors import RecipientNotAllowed
from backend.domain.policy import (
    DEFAULT_POLICY,
    FAILURE_REASON_LABELS,
    ID_CHECK_METHOD_LABELS,
    REASONS_NEEDING_NOTE,
    RELATION_LABELS,
    RESULT_TYPE_LABELS,
    DeliveryPolicy,
    FailureReason,
    IdCheckMethod,
    Relation,
    ResultType,
    add_working_days,
    hold_deadline,
    is_working_day,
    reminder_date,
)


@pytest.mark.parametrize(
    ("enum", "labels"),
    [
        (ResultType, RESULT_TYPE_LABELS),
        (FailureReason, FAILURE_REASON_LABELS),
        (Relation, RELATION_LABELS),
        (IdCheckMethod, ID_CHECK_METHOD_LABELS),
    ],
)
def test_every_member_has_a_non_empty_label(enum, labels):
    assert set(labels) == set(enum)
    assert all(isinstance(v, str) and v.strip() for v in labels.values())


def test_only_other_needs_a_note():
    assert {FailureReason.other} == REASONS_NEEDING_NOTE


def test_default_policy_matches_the_regulation_defaults():
    p = DEFAULT_POLICY
    assert p.max_home_attempts == 2
    assert p.hold_working_days == 10
    assert p.reminder_after_working_days == 2
    assert p.holder_only_result_types == {
        ResultType.citizen_id_card,
        ResultType.passport,
    }
    assert p.geofence_metres == 200


def test_policy_is_frozen_and_hashable():
    with pytest.raises(AttributeError):
        DEFAULT_POLICY.max_home_attempts = 5  # type: ignore[misc]
    assert hash(DEFAULT_POLICY) == hash(DeliveryPolicy())


def test_policy_accepts_result_type_names_from_settings():
    p = DeliveryPolicy(holder_only_result_types=frozenset({"land_certificate"}))
    assert p.holder_only_result_types == {ResultType.land_certificate}


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_home_attempts": 0},
        {"hold_working_days": 0},
        {"reminder_after_working_days": 11},
        {"reminder_after_working_days": -1},
        {"geofence_metres": 0},
        {"holder_only_result_types": frozenset({"not_a_type"})},
    ],
)
def test_policy_refuses_meaningless_settings(kwargs):
    with pytest.raises(ValueError):
        DeliveryPolicy(**kwargs)


@pytest.mark.parametrize("relation", list(Relation))
def test_anyone_allowed_may_receive_a_land_certificate(relation):
    assert DEFAULT_POLICY.allows_recipient(ResultType.land_certificate, relation)


@pytest.mark.parametrize("result_type", [ResultType.citizen_id_card, ResultType.passport])
def test_id_cards_and_passports_go_to_the_holder_only(result_type):
    assert DEFAULT_POLICY.allows_recipient(result_type, Relation.holder)
    assert not DEFAULT_POLICY.allows_recipient(result_type, Relation.representative)
    with pytest.raises(RecipientNotAllowed) as exc:
        DEFAULT_POLICY.check_recipient(result_type, Relation.organisation_representative)
    assert exc.value.code == "recipient_not_allowed"
    assert exc.value.fields["relation"] == "organisation_representative"


def test_per_procedure_override_wins_over_the_default_set():
    p = DEFAULT_POLICY
    assert p.allows_recipient(ResultType.passport, Relation.representative, holder_only=False)
    assert not p.allows_recipient(
        ResultType.judicial_record, Relation.representative, holder_only=True
    )
    p.check_recipient(ResultType.judicial_record, Relation.holder, holder_only=True)


def test_weekends_are_not_working_days():
    assert is_working_day(date(2025, 3, 14))  # Friday
    assert not is_working_day(date(2025, 3, 15))  # Saturday
    assert not is_working_day(date(2025, 3, 16))  # Sunday


@pytest.mark.parametrize(
    "holiday",
    [
        date(2025, 1, 1),
        date(2025, 1, 29),  # Tết, first day of the lunar year
        date(2026, 2, 17),  # Tết 2026
        date(2025, 4, 7),  # Hùng Kings
        date(2025, 4, 30),
        date(2025, 5, 1),
        date(2025, 9, 2),
    ],
)
def test_public_holidays_are_not_working_days(holiday):
    assert not is_working_day(holiday)


def test_add_working_days_skips_tet():
    # Friday before Tết 2025 (Mon 27 Jan - Sat 1 Feb off): next working day is Mon 3 Feb.
    assert add_working_days(date(2025, 1, 24), 1) == date(2025, 2, 3)


def test_add_working_days_skips_weekend_and_national_day():
    # Fri 29 Aug 2025, then the weekend and National Day (Mon 1 and Tue 2 Sep).
    assert add_working_days(date(2025, 8, 29), 1) == date(2025, 9, 3)


def test_add_working_days_skips_office_closures():
    closures = frozenset({date(2025, 3, 17)})
    assert add_working_days(date(2025, 3, 14), 1, closures=closures) == date(2025, 3, 18)


def test_add_working_days_zero_and_negative():
    assert add_working_days(date(2025, 3, 15), 0) == date(2025, 3, 15)
    with pytest.raises(ValueError):
        add_working_days(date(2025, 3, 15), -1)


def test_add_working_days_crosses_the_year():
    # Wed 31 Dec 2025, then New Year's Day (Thu 1 Jan 2026).
    assert add_working_days(date(2025, 12, 31), 1) == date(2026, 1, 2)


def test_hold_deadline_and_reminder():
    held = date(2025, 3, 3)  # Monday, no holidays in the following two weeks
    assert reminder_date(held) == date(2025, 3, 5)
    assert hold_deadline(held) == date(2025, 3, 17)
    closures = frozenset({date(2025, 3, 4)})
    assert reminder_date(held, DEFAULT_POLICY, closures) == date(2025, 3, 6)
    short = DeliveryPolicy(hold_working_days=5, reminder_after_working_days=1)
    assert hold_deadline(held, short) == date(2025, 3, 10)


@settings(max_examples=100, deadline=None)
@given(
    start=st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)),
    n=st.integers(min_value=1, max_value=30),
)
def test_add_working_days_lands_on_a_working_day_after_exactly_n(start, n):
    end = add_working_days(start, n)
    assert end > start and is_working_day(end)
    days = [start + timedelta(days=i) for i in range(1, (end - start).days + 1)]
    assert sum(is_working_day(d) for d in days) == n
