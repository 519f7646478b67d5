"""The time of day as Trao sees it: instants in UTC, working days in the office's zone."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo


def now() -> datetime:
    """The current instant, UTC."""
    return datetime.now(UTC)


def local_date(instant: datetime, tz_name: str) -> date:
    """The calendar day of an instant in a time zone (23:30 UTC is tomorrow in Vietnam)."""
    return instant.astimezone(ZoneInfo(tz_name)).date()


def today_in(tz_name: str) -> date:
    """Today's date in a time zone."""
    return local_date(now(), tz_name)
