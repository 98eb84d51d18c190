"""Month numbers and ages: the calendar arithmetic every department shares."""

from __future__ import annotations

import datetime as dt

__all__ = ["age", "mnum", "month_start", "years_after", "ym"]


def mnum(day: dt.date) -> int:
    """The month number of a day: year * 12 + month - 1, so months subtract like integers."""
    return day.year * 12 + day.month - 1


def ym(month: int) -> str:
    """A month number as the YYYYMM period the departments store."""
    return f"{month // 12}{month % 12 + 1:02d}"


def month_start(month: int) -> dt.date:
    return dt.date(month // 12, month % 12 + 1, 1)


def age(birth: dt.date, today: dt.date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def years_after(day: dt.date, years: int) -> dt.date:
    return day.replace(year=day.year + years, day=min(day.day, 28))
