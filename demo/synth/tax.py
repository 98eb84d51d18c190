"""The tax department: taxpayers, credit ratings, payments and arrears of every enterprise.

Individual income tax summaries are written by the social insurance phase, which knows
wages; `income_tax` is the rule it applies.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from random import Random

from .city import City, Enterprise
from .config import CHUNK, LAST
from .dates import month_start
from .names import DISTRICTS
from .rows import Chunk, Sink, money

__all__ = ["generate", "income_tax"]

_TAXPAYER_STATUS = {"存续": "正常", "注销": "注销", "吊销": "非正常"}  # by enterprise status
_QUARTER_ENDS = (2, 5, 8, 11)  # months (0 = January) whose period also carries corporate income tax


def generate(city: City, rng: Random) -> Iterator[Chunk]:
    """Every enterprise is a taxpayer; ratings decide which also owe arrears."""
    office = _TaxOffice(city, rng)
    for ent in city.ents:
        office.register(ent)
        yield from office.sink.drain(CHUNK)
    yield from office.sink.drain()


def _grade(score: int) -> str:
    return "A" if score >= 90 else "B" if score >= 70 else "C" if score >= 40 else "D"


def income_tax(income: float) -> float:
    """Annual IIT on wages (2019 brackets) after the 60,000 allowance and 10.5% social insurance."""
    taxable = income * 0.895 - 60_000
    for limit, rate, deduction in (
        (36_000, 0.03, 0),
        (144_000, 0.10, 2_520),
        (300_000, 0.20, 16_920),
        (420_000, 0.25, 31_920),
        (660_000, 0.30, 52_920),
        (960_000, 0.35, 85_920),
        (float("inf"), 0.45, 181_920),
    ):
        if taxable <= limit:
            return max(0.0, taxable * rate - deduction)
    raise AssertionError("unreachable")


class _TaxOffice:
    """Writes one enterprise at a time into the tax sink."""

    def __init__(self, city: City, rng: Random) -> None:
        self.city, self.rng = city, rng
        self.sink = Sink("tax")
        self.last_day = city.today - dt.timedelta(days=1)

    def register(self, ent: Enterprise) -> None:
        """The taxpayer row, its credit ratings, the last 12 months' payments, and maybe arrears."""
        rng = self.rng
        self._taxpayer(ent)
        last_grade = self._ratings(ent)
        self.city.rated.append(last_grade is not None)
        if last_grade == "D":
            self.city.sample("d_rated_enterprise", ent.code)
        monthly_vat = (
            rng.uniform(0, 1500) if ent.kind == "个体工商户" else ent.weight * rng.uniform(3000, 12000)
        )
        self._payments(ent, monthly_vat)
        if last_grade in ("C", "D") and ent.status != "注销" and rng.random() < 0.6:
            self._arrears(ent, monthly_vat)

    def _taxpayer(self, ent: Enterprise) -> None:
        registered = min(ent.established + dt.timedelta(days=self.rng.randint(0, 20)), self.last_day)
        code, name = DISTRICTS[ent.district]
        # before the 2015 reform a taxpayer number was the area code and the organisation code
        taxpayer_no = ent.code if ent.established >= dt.date(2015, 10, 1) else code + ent.org
        general = ent.kind == "股份有限公司" or (ent.kind == "有限责任公司" and ent.weight > 1.5)
        kind = "一般纳税人" if general else "小规模纳税人"
        authority = f"国家税务总局厦门市{name}税务局"
        status = _TAXPAYER_STATUS[ent.status]
        self.sink.rows["taxpayer"].append(
            (ent.code, taxpayer_no, ent.name, kind, authority, registered, status)
        )

    def _ratings(self, ent: Enterprise) -> str | None:
        """Credit ratings of the last three years, published in April; returns the latest grade.
        The city notes when an enterprise was first rated D (the credit centre reads it)."""
        rng, today = self.rng, self.city.today
        quality = rng.gauss(80, 12)
        direct_d = rng.randint(today.year - 3, today.year - 1) if rng.random() < 0.03 else today.year
        last_grade = None
        for year in range(today.year - 3, today.year):
            published = dt.date(year + 1, 4, rng.randint(20, 28))
            if year < ent.established.year or (ent.closed and ent.closed.year <= year) or published >= today:
                continue
            score: int | None = None
            if year == ent.established.year:
                last_grade = "M"  # newly established: assigned directly
            elif year >= direct_d:
                last_grade = "D"  # e.g. tax evasion: assigned directly
            else:
                score = max(0, min(100, round(quality + rng.gauss(0, 5))))
                last_grade = _grade(score)
            self.sink.rows["credit_rating"].append((ent.code, year, last_grade, score, published))
            if last_grade == "D":
                self.city.d_rated.setdefault(ent.code, published)
        return last_grade

    def _payments(self, ent: Enterprise, monthly_vat: float) -> None:
        """VAT every month, corporate income tax every quarter, paid in the following month."""
        rng, w0, periods, rows = self.rng, self.city.w0, self.city.periods, self.sink.rows["tax_payment"]
        for i in range(LAST - 12, LAST):  # periods whose payment falls in the last 12 months
            if not ent.first <= i <= ent.last:
                continue
            paid = min(month_start(w0 + i + 1) + dt.timedelta(days=rng.randint(0, 14)), self.last_day)
            vat = monthly_vat * rng.uniform(0.6, 1.4)
            rows.append((ent.code, periods[i], "增值税", money(vat), paid))
            if (w0 + i) % 12 in _QUARTER_ENDS and ent.kind != "个体工商户":
                rows.append((ent.code, periods[i], "企业所得税", money(vat * 0.9), paid))

    def _arrears(self, ent: Enterprise, monthly_vat: float) -> None:
        rng, rows = self.rng, self.sink.rows["arrears"]
        self.city.sample("enterprise_with_arrears", ent.code)
        self.city.arrears.add(ent.code)
        since = self.city.periods[rng.randint(12, LAST - 1)]
        rows.append((ent.code, "增值税", money(monthly_vat * rng.uniform(1, 8)), since))
        if ent.kind != "个体工商户" and rng.random() < 0.4:
            rows.append((ent.code, "企业所得税", money(monthly_vat * rng.uniform(1, 3)), since))
