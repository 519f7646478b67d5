"""Delivery policy: result types, recipients, failure reasons, working-day deadlines."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from functools import lru_cache
from types import MappingProxyType

import holidays

from .errors import RecipientNotAllowed
from .i18n import N_


class ResultType(StrEnum):
    """The kind of paper an agency sends back to the citizen."""

    citizen_id_card = "citizen_id_card"
    passport = "passport"
    land_certificate = "land_certificate"
    driving_licence = "driving_licence"
    vehicle_registration = "vehicle_registration"
    judicial_record = "judicial_record"
    business_licence = "business_licence"
    other = "other"


RESULT_TYPE_LABELS: Mapping[ResultType, str] = MappingProxyType(
    {
        ResultType.citizen_id_card: N_("Citizen ID card"),
        ResultType.passport: N_("Passport"),
        ResultType.land_certificate: N_("Land-use right certificate"),
        ResultType.driving_licence: N_("Driving licence"),
        ResultType.vehicle_registration: N_("Vehicle registration"),
        ResultType.judicial_record: N_("Judicial record certificate"),
        ResultType.business_licence: N_("Business licence"),
        ResultType.other: N_("Other result"),
    }
)


class Relation(StrEnum):
    """Who signs for the envelope, relative to the person it is addressed to."""

    holder = "holder"
    representative = "representative"
    organisation_representative = "organisation_representative"


RELATION_LABELS: Mapping[Relation, str] = MappingProxyType(
    {
        Relation.holder: N_("The person named on the result"),
        Relation.representative: N_("A representative with an authorisation"),
        Relation.organisation_representative: N_("An organisation's representative"),
    }
)


class FailureReason(StrEnum):
    """Why a home delivery attempt failed."""

    not_home = "not_home"
    refused = "refused"
    wrong_address = "wrong_address"
    not_the_recipient = "not_the_recipient"
    no_authorisation = "no_authorisation"
    phone_unreachable = "phone_unreachable"
    envelope_damaged = "envelope_damaged"
    moved = "moved"
    other = "other"


FAILURE_REASON_LABELS: Mapping[FailureReason, str] = MappingProxyType(
    {
        FailureReason.not_home: N_("Nobody at home"),
        FailureReason.refused: N_("Recipient refused the envelope"),
        FailureReason.wrong_address: N_("Wrong or incomplete address"),
        FailureReason.not_the_recipient: N_("The person is not the recipient"),
        FailureReason.no_authorisation: N_("Representative has no authorisation"),
        FailureReason.phone_unreachable: N_("Recipient's phone unreachable"),
        FailureReason.envelope_damaged: N_("Envelope damaged"),
        FailureReason.moved: N_("Recipient has moved"),
        FailureReason.other: N_("Other reason"),
    }
)

# "Other" says nothing on its own: the postman must write what happened.
REASONS_NEEDING_NOTE: frozenset[FailureReason] = frozenset({FailureReason.other})


class IdCheckMethod(StrEnum):
    """How the recipient's identity was checked at the door."""

    chip_qr = "chip_qr"
    typed = "typed"
    # Only an official's own VNeID app can verify its QR: recorded as checked by eye.
    vneid_shown = "vneid_shown"


ID_CHECK_METHOD_LABELS: Mapping[IdCheckMethod, str] = MappingProxyType(
    {
        IdCheckMethod.chip_qr: N_("Chip ID card QR scanned"),
        IdCheckMethod.typed: N_("ID number typed by hand"),
        IdCheckMethod.vneid_shown: N_("Shown on VNeID"),
    }
)

# Defaults from DOMAIN.md ("Returning a result"): every one of them is a setting.
DEFAULT_MAX_HOME_ATTEMPTS = 2
DEFAULT_HOLD_WORKING_DAYS = 10
DEFAULT_REMINDER_AFTER_WORKING_DAYS = 2
DEFAULT_GEOFENCE_METRES = 200
# A phone's fix is a circle of this radius (metres). Past the first it cannot place the postman
# at a door (flagged); past the second it places nothing (a cell tower's guess at best): dropped.
DEFAULT_POOR_FIX_METRES = 100
DEFAULT_MAX_FIX_METRES = 5000
DEFAULT_HOLDER_ONLY_RESULT_TYPES: frozenset[ResultType] = frozenset(
    {ResultType.citizen_id_card, ResultType.passport}
)


@dataclass(frozen=True)
class DeliveryPolicy:
    """The tunable rules of delivery for one office or deployment."""

    max_home_attempts: int = DEFAULT_MAX_HOME_ATTEMPTS
    hold_working_days: int = DEFAULT_HOLD_WORKING_DAYS
    reminder_after_working_days: int = DEFAULT_REMINDER_AFTER_WORKING_DAYS
    holder_only_result_types: frozenset[ResultType] = DEFAULT_HOLDER_ONLY_RESULT_TYPES
    geofence_metres: int = DEFAULT_GEOFENCE_METRES
    poor_fix_metres: int = DEFAULT_POOR_FIX_METRES
    max_fix_metres: int = DEFAULT_MAX_FIX_METRES

    def __post_init__(self) -> None:
        """Refuse settings that would make the lifecycle meaningless."""
        if self.max_home_attempts < 1:
            raise ValueError("max_home_attempts must be at least 1")
        if self.hold_working_days < 1:
            raise ValueError("hold_working_days must be at least 1")
        if not 0 <= self.reminder_after_working_days <= self.hold_working_days:
            raise ValueError("reminder_after_working_days must lie within the hold period")
        if self.geofence_metres <= 0:
            raise ValueError("geofence_metres must be positive")
        if not 0 < self.poor_fix_metres <= self.max_fix_metres:
            raise ValueError("poor_fix_metres must be positive and at most max_fix_metres")
        # Settings may give any iterable of names: keep the dataclass hashable, typed.
        object.__setattr__(
            self,
            "holder_only_result_types",
            frozenset(ResultType(t) for t in self.holder_only_result_types),
        )

    def allows_recipient(
        self,
        result_type: ResultType,
        relation: Relation,
        holder_only: bool | None = None,
    ) -> bool:
        """Whether someone with this relation may receive this result."""
        if holder_only is None:
            holder_only = ResultType(result_type) in self.holder_only_result_types
        return not holder_only or Relation(relation) is Relation.holder

    def check_recipient(
        self,
        result_type: ResultType,
        relation: Relation,
        holder_only: bool | None = None,
    ) -> None:
        """Raise RecipientNotAllowed unless this relation may receive this result."""
        if not self.allows_recipient(result_type, relation, holder_only):
            raise RecipientNotAllowed(
                f"A {Relation(relation)} may not receive a {ResultType(result_type)}: "
                "it must be handed to the holder in person.",
                fields={"relation": str(relation), "result_type": str(result_type)},
            )


DEFAULT_POLICY = DeliveryPolicy()

HOLIDAY_COUNTRY = "VN"
_SATURDAY = 5  # date.weekday(): Monday is 0


@lru_cache(maxsize=64)
def _public_holidays(year: int) -> frozenset[date]:
    """Vietnam's public holidays of one year, Tết included."""
    return frozenset(holidays.country_holidays(HOLIDAY_COUNTRY, years=year).keys())


def is_working_day(d: date, closures: frozenset[date] = frozenset()) -> bool:
    """Whether a post office works on this date (not a weekend, holiday or closure)."""
    return d.weekday() < _SATURDAY and d not in _public_holidays(d.year) and d not in closures


def add_working_days(start: date, n: int, *, closures: frozenset[date] = frozenset()) -> date:
    """The date n working days after start (start is not counted; n=0 gives start)."""
    if n < 0:
        raise ValueError("n must not be negative")
    day = start
    remaining = n
    while remaining:
        day += timedelta(days=1)
        if is_working_day(day, closures):
            remaining -= 1
    return day


def hold_deadline(
    held_on: date,
    policy: DeliveryPolicy = DEFAULT_POLICY,
    closures: frozenset[date] = frozenset(),
) -> date:
    """The last day a held envelope waits at the office before going back."""
    return add_working_days(held_on, policy.hold_working_days, closures=closures)


def reminder_date(
    held_on: date,
    policy: DeliveryPolicy = DEFAULT_POLICY,
    closures: frozenset[date] = frozenset(),
) -> date:
    """The day the citizen is reminded to collect a held envelope."""
    return add_working_days(held_on, policy.reminder_after_working_days, closures=closures)
