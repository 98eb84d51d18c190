"""The social insurance department: insured people, their monthly contributions, employer headcounts.

Each insured adult gets a career of one or two jobs at enterprises that existed at the
time; the wages behind it also give the tax department's income tax summaries.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
from collections.abc import Iterator
from decimal import Decimal
from random import Random
from typing import NamedTuple

from .city import Adult, City
from .config import CHUNK, HISTORY, LAST, SAMPLE_SIZE
from .dates import age, mnum, month_start, ym
from .rows import Chunk, Sink, money
from .tax import income_tax

__all__ = ["generate"]

Job = tuple[int, int, int]  # (first month, last month, enterprise index); months index the history
_FIRST_HEADCOUNT = LAST - 11  # headcounts cover the last 12 history months


class _Gap(NamedTuple):
    """Months first..last of a job, paid late in month `paid` (补缴)."""

    first: int
    last: int
    paid: int


_ON_TIME = _Gap(HISTORY, -1, 0)


def generate(city: City, rng: Random) -> Iterator[Chunk]:
    """Adults in id order, so that COPY appends to the primary-key indexes; then headcounts."""
    fund = _Fund(city, rng)
    for order, adult in sorted(enumerate(city.adults), key=lambda item: item[1].pid):
        fund.insure(order, adult)
        if len(fund.sink.rows["contribution"]) >= CHUNK:
            yield from fund.sink.drain()
        yield from fund.tax.drain(CHUNK)
    for e in range(len(city.ents)):
        fund.headcounts(e)
        yield from fund.sink.drain(CHUNK)
    yield from fund.sink.drain()
    yield from fund.tax.drain()
    fund.sample()


def _coverage(adult: Adult, years: int) -> float:
    """The share of adults like this one who are insured."""
    return 0.72 if adult.migrant else 0.35 if years < 23 else 0.88 if years < 60 else 0.5


class _Fund:
    """Writes insured people into the social insurance sink, and their income tax into the tax sink."""

    def __init__(self, city: City, rng: Random) -> None:
        self.city, self.rng = city, rng
        self.sink, self.tax = Sink("social_insurance"), Sink("tax")
        ents, w0 = city.ents, city.w0
        self.cum = list(itertools.accumulate(ent.weight for ent in ents))
        self.anchors = [i for i, ent in enumerate(ents) if ent.first <= 0 and ent.last >= LAST]
        self.headcount = [0] * (len(ents) * 12)  # [enterprise * 12 + month]: '110' contributors
        self.year_of = [(w0 + i) // 12 - w0 // 12 for i in range(HISTORY)]  # 0 = first year
        # (year, first month, last month) of each income-tax year inside the history
        self.tax_years = [
            (y, max(0, y * 12 - w0), min(LAST, y * 12 + 11 - w0))
            for y in range(city.today.year - 3, city.today.year)
        ]
        self.si_serial = 10**9 + rng.randrange(10**8)
        # (family order, id) of sample candidates: people are visited in id order, but the
        # samples should stay spread over the city.
        self.back_paid: list[tuple[int, str]] = []
        self.changed: list[tuple[int, str]] = []

    def insure(self, order: int, adult: Adult) -> None:
        """Maybe insure an adult: their contributions, insured_person row and income tax."""
        rng, city = self.rng, self.city
        if rng.random() >= _coverage(adult, age(adult.birth, city.today)):
            return
        born = mnum(adult.birth)
        first = max(1995 * 12, born + 12 * rng.randint(19, 26) + rng.randrange(12))
        if first > city.w0 + LAST:
            return
        status, end = self._status(adult, born)
        jobs = self._jobs(max(0, first - city.w0), end)
        if len(jobs) == 2 and jobs[0][2] != jobs[1][2]:
            self.changed.append((order, adult.pid))
        late = self._late(jobs)
        if late is not _ON_TIME:
            self.back_paid.append((order, adult.pid))
        yearly = self._yearly_bases()
        self._contribute(adult.pid, jobs, late, yearly)
        current = None
        if status == "1":
            current = city.ents[jobs[-1][2]].code
            if adult.pid in city.guardians:
                city.guardian_employer[adult.pid] = jobs[-1][2]
        self.si_serial += rng.randint(1, 9)
        updated = month_start(city.w0 + min(end + 1, LAST))
        self.sink.rows["insured_person"].append(
            (adult.pid, str(self.si_serial), status, ym(first), current, updated)
        )
        self._income_tax(adult.pid, jobs, yearly)

    def _status(self, adult: Adult, born: int) -> tuple[str, int]:
        """(status, last month insured): 1 insured, 2 suspended, 3 ended (retired or left)."""
        w0 = self.city.w0
        retire = born + (60 if adult.male else 55) * 12
        if retire <= w0 + LAST:
            return "3", retire - w0 - 1
        r = self.rng.random()
        if r < 0.06:
            return "2", LAST - self.rng.randint(1, 12)  # suspended
        if r < 0.10:
            return "3", LAST - self.rng.randint(6, 40)  # left the scheme
        return "1", LAST

    def _jobs(self, start: int, end: int) -> list[Job]:
        """One job over start..end, or (22% of long careers) two, maybe with a gap between them."""
        rng = self.rng
        if end - start >= 8 and rng.random() < 0.22:
            switch = rng.randint(start + 3, end - 3)
            resume = switch + rng.choice((0, 0, 0, 1, 2))
            before = self._employer(start, switch - 1)
            return [(start, switch - 1, before), (resume, end, self._employer(resume, end, avoid=before))]
        if end >= start:
            return [(start, end, self._employer(start, end))]
        return []

    def _employer(self, a: int, b: int, avoid: int = -1) -> int:
        """An enterprise, by size, that exists in every month a..b."""
        rng, ents, cum = self.rng, self.city.ents, self.cum
        for _ in range(12):
            e = min(bisect.bisect(cum, rng.random() * cum[-1]), len(ents) - 1)
            if ents[e].first <= a and ents[e].last >= b and e != avoid:
                return e
        return self.anchors[rng.randrange(len(self.anchors))]

    def _late(self, jobs: list[Job]) -> _Gap:
        """For 5.5% of the insured, a gap of 1-6 months in the last job, back-paid up to 2 months later."""
        rng = self.rng
        if not jobs or rng.random() >= 0.055:
            return _ON_TIME
        a, b, _ = jobs[-1]
        months = rng.randint(1, 6)
        if b - a < months + 2:
            return _ON_TIME
        first = rng.randint(a + 1, b - months)
        last = first + months - 1
        return _Gap(first, last, min(LAST, last + 1 + rng.randint(0, 2)))

    def _yearly_bases(self) -> list[int]:
        """The contribution base of each history year: a log-normal level, +4% a year, capped."""
        level = min(30_000.0, max(4_000.0, self.rng.lognormvariate(8.9, 0.45)))
        return [min(30_000, round(level * 1.04**y)) for y in range(self.year_of[LAST] + 1)]

    def _contribute(self, pid: str, jobs: list[Job], late: _Gap, yearly: list[int]) -> None:
        """Pension (110) and unemployment (310) contributions of every month worked; headcounts."""
        periods, year_of, ents = self.city.periods, self.year_of, self.city.ents
        rows, headcount = self.sink.rows["contribution"], self.headcount
        bases = [Decimal(f"{base}.00") for base in yearly]
        late_from, late_to, late_paid = late
        for a, b, e in jobs:
            code = ents[e].code
            for i in range(a, b + 1):
                period = periods[i]
                paid = periods[late_paid] if late_from <= i <= late_to else period
                base = bases[year_of[i]]
                rows.append((pid, period, paid, "110", base, code))
                rows.append((pid, period, paid, "310", base, code))
            for i in range(max(a, _FIRST_HEADCOUNT), b + 1):
                headcount[e * 12 + i - _FIRST_HEADCOUNT] += 1

    def _income_tax(self, pid: str, jobs: list[Job], yearly: list[int]) -> None:
        """A summary for each tax year worked, withheld by the employer of most months that year."""
        ents, rows = self.city.ents, self.tax.rows["income_tax_summary"]
        pay = self.rng.uniform(1.1, 1.6)  # wages above the contribution base
        for year, lo, hi in self.tax_years:
            months = [(min(b, hi) - max(a, lo) + 1, e) for a, b, e in jobs]  # in that year, per job
            worked = sum(n for n, _ in months if n > 0)
            if worked:
                wages = worked * yearly[self.year_of[lo]] * pay
                agent = ents[max(months)[1]].code
                rows.append((pid, year, money(wages), money(income_tax(wages)), agent))

    def headcounts(self, e: int) -> None:
        """Enterprise e's monthly '110' contributors over the last 12 months it existed in."""
        ent, periods = self.city.ents[e], self.city.periods
        self.sink.rows["employer_headcount"].extend(
            (ent.code, periods[i], self.headcount[e * 12 + i - _FIRST_HEADCOUNT])
            for i in range(_FIRST_HEADCOUNT, HISTORY)
            if ent.first <= i <= ent.last
        )

    def sample(self) -> None:
        """The first back-paid and employer-changing people in family order (not id order)."""
        for case, found in (("back_paid", self.back_paid), ("changed_employer", self.changed)):
            for _, pid in heapq.nsmallest(SAMPLE_SIZE, found):
                self.city.sample(case, pid)
