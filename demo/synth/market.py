"""The market department: enterprises, their legal representatives, credit codes and annual reports.

The first few enterprises are anchors: old, open employers, so that every job the
social insurance phase hands out has an enterprise that existed at the time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from random import Random

from resolvers.identifiers import CREDIT_CODE_ALPHABET, credit_code

from .city import Adult, City, Enterprise
from .config import CHUNK
from .dates import age, mnum, month_start, years_after
from .names import BRAND_FIRST, BRAND_SECOND, DISTRICT_WEIGHTS, DISTRICTS, INDUSTRIES, SHOPS, office_address
from .rows import Chunk, Sink, money

__all__ = ["generate"]

_KINDS = ("有限责任公司", "股份有限公司", "个人独资企业", "个体工商户")
_KIND_WEIGHTS = (52, 3, 7, 38)
_CAPITAL = {  # (mu, sigma) of the log-normal registered capital, in 10,000 yuan
    "有限责任公司": (4.6, 1.2),
    "股份有限公司": (8.5, 1.0),
    "个人独资企业": (3.0, 0.8),
    "个体工商户": (1.6, 0.8),
}
_SUFFIX = {"有限责任公司": "有限公司", "股份有限公司": "股份有限公司", "个人独资企业": "商行"}
_OPEN = 10**6  # "last month" of an enterprise that is still open


def generate(city: City, rng: Random) -> Iterator[Chunk]:
    """One enterprise per ten people (at least 60), in registration order."""
    registry = _Registry(city, rng)
    count = max(60, city.cfg.persons // 10)
    anchors = max(3, count // 40)
    for i in range(count):
        registry.register(anchor=i < anchors)
        yield from registry.sink.drain(CHUNK)
    yield from registry.sink.drain()


class _Registry:
    """Registers enterprises into the market sink and the city's enterprise summaries."""

    def __init__(self, city: City, rng: Random) -> None:
        self.city, self.rng = city, rng
        self.sink = Sink("market")
        self.orgs: set[str] = set()  # organisation codes handed out
        self.names: set[str] = set()
        self.today_ord = city.today.toordinal()

    def register(self, anchor: bool) -> None:
        """One enterprise row, its annual reports, and its summary in the city."""
        rng, city = self.rng, self.city
        kind = "有限责任公司" if anchor else rng.choices(_KINDS, _KIND_WEIGHTS)[0]
        rep = self._legal_rep(35 if anchor else 22)
        established = self._established(rep, anchor)
        status, closed = self._fate(established, anchor)
        district = rng.choices(range(len(DISTRICTS)), DISTRICT_WEIGHTS)[0]
        code, org = self._credit_code(kind, district, established)
        name, scope, trade = self._name(kind, district)
        weight = self._weight(kind) * (8 if anchor else 1)
        first = mnum(established) - city.w0
        last = _OPEN if closed is None else mnum(closed) - 1 - city.w0
        ent = Enterprise(
            code, org, name, kind, district, established, closed, status, weight, first, last, trade
        )
        city.ents.append(ent)
        capital = money(min(rng.lognormvariate(*_CAPITAL[kind]), 99_999))
        address = office_address(rng, district)
        area = DISTRICTS[district][0]
        row = (code, name, kind, status, rep.pid, capital, established, area, address, scope, closed)
        self.sink.rows["enterprise"].append(row)
        city.sample("legal_representative", rep.pid)
        if status == "注销":
            city.sample("deregistered_enterprise", code)
        self._annual_reports(ent)

    def _legal_rep(self, min_age: int) -> Adult:
        adults = self.city.adults
        for _ in range(1000):
            adult = adults[self.rng.randrange(len(adults))]
            if age(adult.birth, self.city.today) >= min_age:
                return adult
        raise ValueError(f"no adult of {min_age} or older: the city is too small")

    def _established(self, rep: Adult, anchor: bool) -> dt.date:
        """Skewed towards recent years; anchors are older than the history window."""
        lo = max(dt.date(1995, 1, 1), years_after(rep.birth, 20)).toordinal()
        hi = month_start(self.city.w0).toordinal() - 1 if anchor else self.today_ord - 1
        return dt.date.fromordinal(hi - int((hi - max(lo, hi - 11_000)) * self.rng.random() ** 1.7))

    def _fate(self, established: dt.date, anchor: bool) -> tuple[str, dt.date | None]:
        """(status, closed on): 10% of enterprises older than 400 days are 注销, 4% 吊销."""
        if anchor or self.today_ord - established.toordinal() <= 400:
            return "存续", None
        r = self.rng.random()
        if r >= 0.14:
            return "存续", None
        closed = dt.date.fromordinal(self.rng.randint(established.toordinal() + 365, self.today_ord - 1))
        return "注销" if r < 0.10 else "吊销", closed

    def _credit_code(self, kind: str, district: int, established: dt.date) -> tuple[str, str]:
        """A GB 32100 code: 9 (market regulation), 1 enterprise / 2 individual business, area, org code."""
        rng = self.rng
        while True:  # organisation codes issued since 2016 look like MA2XXXXXX
            body = (
                "MA" + "".join(rng.choices(CREDIT_CODE_ALPHABET, k=6))
                if established.year >= 2016
                else f"{rng.randrange(10**8):08d}"
            )
            if body not in self.orgs:
                self.orgs.add(body)
                break
        code = credit_code("92" if kind == "个体工商户" else "91", DISTRICTS[district][0], body)
        return code, code[8:17]

    def _name(self, kind: str, district: int) -> tuple[str, str, str]:
        """(unique name, business scope, trade: the shop or industry word in the name)."""
        rng = self.rng
        while True:
            brand = rng.choice(BRAND_FIRST) + rng.choice(BRAND_SECOND)
            if rng.random() < 0.4:
                brand += rng.choice(BRAND_SECOND)
            if kind == "个体工商户":
                trade, scope = rng.choice(SHOPS)
                name = f"厦门市{DISTRICTS[district][1]}{brand}{trade}"
            else:
                trade, scope = rng.choice(INDUSTRIES)
                name = f"厦门{brand}{trade}{_SUFFIX[kind]}"
            if name not in self.names:
                self.names.add(name)
                return name, scope, trade

    def _weight(self, kind: str) -> float:
        """Relative size: how many of the city's jobs an enterprise of this kind draws."""
        # Both sizes are drawn for every kind: the random stream, and so the city, depends on it.
        limited = self.rng.lognormvariate(0, 1.3)
        joint_stock = self.rng.lognormvariate(2.5, 0.8)
        sizes = {"有限责任公司": limited, "股份有限公司": joint_stock, "个人独资企业": 0.5, "个体工商户": 0.2}
        return sizes[kind]

    def _annual_reports(self, ent: Enterprise) -> None:
        """The last three years' reports, due by 30 June of the following year."""
        rng, today, rows = self.rng, self.city.today, self.sink.rows["annual_report"]
        for year in range(today.year - 3, today.year):
            opens = dt.date(year + 1, 1, 1)
            if year < ent.established.year or (ent.closed and ent.closed.year <= year) or opens >= today:
                continue
            if ent.status == "吊销" or rng.random() < 0.06:
                rows.append((ent.code, year, None, None, "未公示"))
                continue
            closes = min(dt.date(year + 1, 6, 30), today - dt.timedelta(days=1))
            submitted = dt.date.fromordinal(rng.randint(opens.toordinal(), closes.toordinal()))
            employees = rng.randint(0, 3) if ent.kind == "个体工商户" else int(ent.weight * rng.uniform(3, 6))
            rows.append((ent.code, year, submitted, employees, "已公示"))
