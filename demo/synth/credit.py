"""The public credit centre (公共信用信息中心): 双公示 licensing and penalty decisions, the
serious-dishonesty lists, and a credit-risk warning for every enterprise.

Licensing decisions are those the licence library left in the city; penalties fall on
10-15% of enterprises, more often on those the tax office rated D or that owe tax, and
every enterprise on the 重大税收违法 list was first fined for tax evasion. The warning
follows from the records: SEVERE or HIGH while on a list, at least MEDIUM after a penalty
in the last three years, LOW otherwise.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from decimal import Decimal
from random import Random
from typing import NamedTuple

from .city import City, Enterprise
from .config import CHUNK
from .dates import years_after
from .dishonesty import Entry, listings
from .names import DISTRICTS
from .rows import Chunk, Sink, money
from .violations import GENERAL, LISTS, TAX_EVASION, TRADE_VIOLATIONS, Violation

__all__ = ["BANDS", "generate"]

BANDS = {"LOW": (700, 1000), "MEDIUM": (500, 699), "HIGH": (300, 499), "SEVERE": (0, 299)}  # scores
_NOT_MONEY = ("警告", "责令停产停业", "暂扣许可证件")
_GRAVE = ("责令停产停业", "暂扣许可证件")
_PUBLISHED = 3  # licensing decisions per enterprise, the latest
_RECENT = 3  # years of penalties that weigh on the warning


class _Penalty(NamedTuple):
    """An administrative_penalty row."""

    number: str
    code: str
    violation: str
    kind: str
    amount: Decimal | None
    basis: str
    decided: dt.date
    authority: str
    until: dt.date


def generate(city: City, rng: Random) -> Iterator[Chunk]:
    """The lists are decided first (for the whole city), then each enterprise's records."""
    centre = _Centre(city, rng, listings(city, rng))
    for e, ent in enumerate(city.ents):
        centre.publish(e, ent)
        yield from centre.sink.drain(CHUNK)
    yield from centre.sink.drain()


class _Centre:
    def __init__(self, city: City, rng: Random, plans: dict[int, list[Entry]]) -> None:
        self.city, self.rng, self.plans = city, rng, plans
        self.sink = Sink("credit")
        self.rows = self.sink.rows
        self.recent = years_after(city.today, -_RECENT)  # penalties since weigh on the warning
        self.serials: dict[tuple[str, int], int] = {}  # (prefix, year) -> last decision number

    def publish(self, e: int, ent: Enterprise) -> None:
        entries = self.plans.get(e, [])
        licensed = self._licences(ent)
        penalties = self._penalties(ent, entries)
        for entry in entries:
            rules = LISTS[entry.key]
            row = (ent.code, rules.name, rules.reason, entry.listed, entry.listed_by, entry.removed)
            self.rows["serious_dishonesty"].append(row)
        current = [LISTS[entry.key].name for entry in entries if entry.removed is None]
        recent = [p for p in penalties if p.decided >= self.recent]
        level = self._warning(ent, current, recent, bool(entries))
        if current:
            self.city.sample("dishonest_enterprise", ent.code)
        elif entries:
            self.city.sample("delisted_enterprise", ent.code)
        elif recent:
            self.city.sample("penalised_enterprise", ent.code)
        elif level == "LOW" and licensed and not penalties and ent.status == "存续" and not self._risky(ent):
            self.city.sample("clean_enterprise", ent.code)

    def _licences(self, ent: Enterprise) -> bool:
        """The enterprise's latest licensing decisions; False when it has none."""
        decisions = sorted(self.city.decisions.get(ent.code, ()), key=lambda d: d.decided)[-_PUBLISHED:]
        for d in decisions:
            number = self._number(d.prefix, d.decided.year)
            row = (number, ent.code, d.title, d.category, d.content, d.decided, d.decided, d.valid_until)
            self.rows["administrative_licence"].append((*row, d.authority))
        return bool(decisions)

    def _penalties(self, ent: Enterprise, entries: Sequence[Entry]) -> list[_Penalty]:
        """At most two: the tax evasion behind a 重大税收违法 listing, and others by chance."""
        rng, rows = self.rng, list[_Penalty]()
        for entry in entries:
            if entry.key == "tax":
                decided = entry.listed - dt.timedelta(days=rng.randint(20, 120))
                rows.append(self._penalty(ent, TAX_EVASION, decided))
        chance = 0.35 if ent.status == "吊销" else 0.22 if self._risky(ent) else 0.1
        if rng.random() < chance:
            for _ in range(rng.choices((1, 2), (3, 1))[0]):
                when = self._when(ent)
                if when is not None and len(rows) < 2:
                    rows.append(self._penalty(ent, self._violation(ent), when))
        self.rows["administrative_penalty"].extend(rows)
        return rows

    def _risky(self, ent: Enterprise) -> bool:
        return ent.code in self.city.d_rated or ent.code in self.city.arrears

    def _when(self, ent: Enterprise) -> dt.date | None:
        """A day in the last five years the enterprise traded on, at least a month after it opened."""
        lo = max(ent.established + dt.timedelta(days=30), years_after(self.city.today, -5))
        end = ent.closed or self.city.today
        if lo >= end:
            return None
        return dt.date.fromordinal(self.rng.randrange(lo.toordinal(), end.toordinal()))

    def _violation(self, ent: Enterprise) -> Violation:
        rng = self.rng
        trade = TRADE_VIOLATIONS.get(ent.trade, ())
        if self._risky(ent) and rng.random() < 0.5:
            return GENERAL[3]  # late tax returns
        if trade and rng.random() < 0.6:
            return rng.choice(trade)
        return rng.choice(GENERAL)

    def _penalty(self, ent: Enterprise, v: Violation, decided: dt.date) -> _Penalty:
        rng = self.rng
        kinds, weights = zip(*v.penalties, strict=True)
        kind = rng.choices(kinds, weights)[0]
        amount = None if kind in _NOT_MONEY else money(max(100, round(rng.uniform(*v.fine), -2)))
        grave = v is TAX_EVASION or kind in _GRAVE or (amount is not None and amount >= 100_000)
        # 公示期: 3 months for a warning, a year for other ordinary penalties, 3 years for grave ones
        until = decided + dt.timedelta(days=91) if kind == "警告" else years_after(decided, 3 if grave else 1)
        district = DISTRICTS[ent.district][1]
        number = self._number(v.prefix.format(d=district[0]), decided.year)
        authority = v.authority.format(district=district)
        return _Penalty(number, ent.code, v.violation, kind, amount, v.basis, decided, authority, until)

    def _warning(self, ent: Enterprise, current: list[str], recent: list[_Penalty], listed_ever: bool) -> str:
        """The warning row of an enterprise; returns its level."""
        if current:
            level = "SEVERE" if len(current) > 1 or recent else "HIGH"
        elif recent:
            level = "HIGH" if len(recent) > 1 or any(p.kind in _GRAVE for p in recent) else "MEDIUM"
        else:
            level = "LOW"
        # within the level's band: lower for each record, a D rating, arrears, a past listing
        lo, hi = BANDS[level]
        points = 25 * (len(current) + len(recent)) + (15 if listed_ever and not current else 0)
        points += (30 if ent.code in self.city.d_rated else 0) + (20 if ent.code in self.city.arrears else 0)
        score = max(lo, hi - points - self.rng.randint(0, (hi - lo) // 2))
        reasons = [f"列入{name}" for name in current]
        if recent:
            reasons.append(f"近{_RECENT}年受到行政处罚{len(recent)}次")
        if level != "LOW" and ent.code in self.city.arrears:
            reasons.append("存在欠缴税款")
        assessed = self.city.today - dt.timedelta(days=1)  # the nightly assessment before today
        self.rows["credit_warning"].append((ent.code, level, score, assessed, "；".join(reasons)))
        return level

    def _number(self, prefix: str, year: int) -> str:
        """The authority's next decision number that year, e.g. 厦市监许〔2024〕123号."""
        serial = self.serials.get((prefix, year), 0) + self.rng.randint(1, 6)
        self.serials[(prefix, year)] = serial
        return f"{prefix}〔{year}〕{serial}号"
