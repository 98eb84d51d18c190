"""Review deadlines in working days: weekends and public holidays skipped, and weekend days
made working days (调休) counted, by the `holidays` package's official calendar."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    import holidays

__all__ = ["add_working_days"]


@lru_cache(maxsize=8)
def _calendar(country: str) -> holidays.HolidayBase | None:
    if not country:
        return None
    # Imported on first use (an application's first deadline, about 0.1 s once): the
    # package took about 4 MB of every gateway process, most of which never take one.
    import holidays

    return holidays.country_holidays(country)


def add_working_days(
    start: dt.datetime, days: int, country: str = "CN", zone: str = "Asia/Shanghai"
) -> dt.datetime:
    """The instant `days` working days after `start` (same time of day), days judged in the
    city's time zone. With no country, Saturdays and Sundays are the only days off."""
    calendar = _calendar(country)
    local = ZoneInfo(zone)
    moment, left = start, days
    while left > 0:
        moment += dt.timedelta(days=1)
        day = moment.astimezone(local).date()
        working = calendar.is_working_day(day) if calendar is not None else day.weekday() < 5
        if working:
            left -= 1
    return moment
