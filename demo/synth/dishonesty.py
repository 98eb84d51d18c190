"""Who is on a serious-dishonesty list (严重失信主体名单), decided for the whole city before the
credit centre publishes anything, so that even a small city has listed and removed entries.

The candidates are what the city already knows: enterprises rated D by the tax office
(重大税收违法), owing tax (失信被执行人), revoked (严重违法失信名单), and building firms
(拖欠农民工工资). Listing follows establishment by at least half a year.
"""

from __future__ import annotations

import datetime as dt
from random import Random
from typing import NamedTuple

from .city import City, Enterprise
from .dates import years_after
from .names import DISTRICTS
from .violations import LISTS

__all__ = ["Entry", "listings"]

_SETTLING = dt.timedelta(days=180)  # no enterprise is listed in its first half year
_MIN_LISTED, _MIN_REMOVED = 2, 1  # even a small city shows both


class Entry(NamedTuple):
    key: str  # into LISTS
    listed: dt.date
    listed_by: str
    removed: dt.date | None


def listings(city: City, rng: Random) -> dict[int, list[Entry]]:
    """Enterprise index -> its list entries, for the 2-3% of enterprises on any list."""
    plans: dict[int, list[Entry]] = {}
    for e, ent in enumerate(city.ents):
        for key in _lists_for(city, ent, rng):
            entry = _entry(city, ent, key, rng)
            if entry is not None:
                plans.setdefault(e, []).append(entry)
    _ensure_some(city, rng, plans)
    return plans


def _lists_for(city: City, ent: Enterprise, rng: Random) -> list[str]:
    keys = []
    owing = ent.code in city.arrears
    if ent.code in city.d_rated and rng.random() < 0.4:
        keys.append("tax")
    if owing and rng.random() < (0.3 if keys else 0.07):
        keys.append("court")
    if ent.status == "吊销" and rng.random() < 0.2:
        keys.append("market")
    if ent.trade == "建设工程" and rng.random() < 0.03:
        keys.append("wages")
    if not keys and rng.random() < 0.002:
        keys.append("court")
    return keys


def _entry(city: City, ent: Enterprise, key: str, rng: Random, removed: bool | None = None) -> Entry | None:
    """An entry on list `key`, or None when the enterprise never traded long enough to be
    listed; `removed` forces whether it has been removed (None: by the list's rules)."""
    today = city.today
    lo, end = ent.established + _SETTLING, ent.closed or today
    if lo >= end:
        return None
    if key == "tax":  # the D rating follows the listing
        listed = city.d_rated[ent.code] - dt.timedelta(days=rng.randint(20, 400))
    elif key == "market" and ent.closed is not None:  # before the licence was revoked
        listed = ent.closed - dt.timedelta(days=rng.randint(30, 365))
    else:  # within the last six years when it traded then
        start = max(lo, years_after(today, -6)) if years_after(today, -6) < end else lo
        listed = dt.date.fromordinal(rng.randrange(start.toordinal(), end.toordinal()))
    listed = min(max(listed, lo), end - dt.timedelta(days=1))
    rules = LISTS[key]
    out: dt.date | None = None
    if rules.years is not None and years_after(listed, rules.years) < today:
        out = years_after(listed, rules.years)
    elif rng.random() < rules.repaired and (today - listed).days > 31:
        out = listed + dt.timedelta(days=rng.randint(30, (today - listed).days - 1))
    if removed is not None and (out is not None) != removed:  # forced, where the rules allow it
        if not removed or (today - listed).days <= 31:
            return None
        out = listed + dt.timedelta(days=rng.randint(30, (today - listed).days - 1))
    listed_by = rules.listed_by.format(district=DISTRICTS[ent.district][1])
    return Entry(key, listed, listed_by, out)


def _ensure_some(city: City, rng: Random, plans: dict[int, list[Entry]]) -> None:
    """Lists the likeliest candidates until some entries are current and some removed."""
    entries = [entry for found in plans.values() for entry in found]
    current = sum(entry.removed is None for entry in entries)
    removed = len(entries) - current
    for e, ent in enumerate(city.ents):
        if current >= _MIN_LISTED and removed >= _MIN_REMOVED:
            return
        if e in plans or not (ent.code in city.d_rated or ent.code in city.arrears):
            continue
        key = "tax" if ent.code in city.d_rated else "court"
        entry = _entry(city, ent, key, rng, removed=current >= _MIN_LISTED)
        if entry is not None:
            plans[e] = [entry]
            current += entry.removed is None
            removed += entry.removed is not None
