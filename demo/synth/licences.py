"""The licence library (电子证照库), enterprises' side: each enterprise's business licence and
the licences its trade needs, renewed for as long as it trades.

A licence row is the current issue. The decisions of the last twelve months (设立 and
变更 registrations, new and renewed licences) are left in the city for the credit
centre, whose current 双公示 行政许可 set they are.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from random import Random

from .city import City, Decision, Enterprise
from .config import CHUNK
from .dates import years_after
from .licence_kinds import BUSINESS_LICENCE, TRADE_LICENCES, LicenceKind
from .names import DISTRICTS
from .rows import Chunk, Sink

__all__ = ["generate"]

_DAY = dt.timedelta(days=1)
_USCC = dt.date(2015, 10, 1)  # business licences carry the credit code since; older ones were re-issued
_RECODED = dt.date(2018, 1, 1)  # by when every older licence had been re-issued
_RENEW_AHEAD = dt.timedelta(days=30)  # a licence is renewed this long before it expires
_PUBLISHED = 1  # years of licensing decisions the credit centre publishes
_CHANGES = ("住所", "经营范围", "注册资本", "法定代表人", "名称")


def generate(city: City, rng: Random) -> Iterator[Chunk]:
    """Every enterprise's licences, in registration order."""
    library = _Library(city, rng)
    for ent in city.ents:
        library.issue(ent)
        yield from library.sink.drain(CHUNK)
    yield from library.sink.drain()


class _Library:
    """Issues licences into the licences sink, and notes recent decisions in the city."""

    def __init__(self, city: City, rng: Random) -> None:
        self.city, self.rng = city, rng
        self.sink = Sink("licences")
        self.rows = self.sink.rows["enterprise_licence"]
        self.window = years_after(city.today, -_PUBLISHED)  # decisions since are published
        self.serials: dict[str, int] = {}  # licence number format -> last serial handed out

    def issue(self, ent: Enterprise) -> None:
        end = ent.closed or self.city.today  # no licence is issued or renewed from this day
        self._business_licence(ent, end)
        licensed = False
        for kind, share in TRADE_LICENCES.get(ent.trade, ()):
            if self.rng.random() < share:
                licensed = self._licence(ent, kind, end) or licensed
        if licensed and ent.status == "存续":
            self.city.sample("licensed_enterprise", ent.code)

    def _business_licence(self, ent: Enterprise, end: dt.date) -> None:
        """The 营业执照, numbered with the credit code: issued at establishment, re-issued
        when the codes came in, and again after a change of registration."""
        rng = self.rng
        issued, action = ent.established, "设立"
        if ent.established < _USCC < end:
            issued, action = self._between(_USCC, min(_RECODED, end)), "换发"
        if rng.random() < 0.2 and issued + _DAY < end:
            issued, action = self._between(issued + _DAY, end), "变更"
        valid_until = None  # most have no end to their business term (长期)
        if ent.kind in ("有限责任公司", "股份有限公司") and rng.random() < 0.3:
            term = years_after(ent.established, rng.choice((20, 30, 50)))
            valid_until = term - _DAY if term > self.city.today else None
        district = DISTRICTS[ent.district][1]
        local = ent.kind == "个体工商户"  # registered by the district's bureau
        authority = f"厦门市{district if local else ''}市场监督管理局"
        status = "有效" if ent.status == "存续" else ent.status
        self.rows.append(
            (ent.code, ent.code, BUSINESS_LICENCE, ent.name, issued, valid_until, authority, status)
        )
        if issued >= self.window and action != "换发":
            subject = "个体工商户" if local else "企业"
            content = f"{subject}设立登记" if action == "设立" else f"变更登记事项：{rng.choice(_CHANGES)}"
            prefix = f"厦{district[0] if local else ''}市监登"
            title = f"准予{action}登记通知书"
            self._decide(ent, Decision(prefix, title, "登记", content, issued, valid_until, authority))

    def _licence(self, ent: Enterprise, kind: LicenceKind, end: dt.date) -> bool:
        """A trade licence, renewed until `end`; False when the enterprise closed before it came."""
        rng = self.rng
        first = ent.established + dt.timedelta(days=rng.randint(3, kind.delay))
        if kind.since and first < kind.since:
            first = kind.since + dt.timedelta(days=rng.randrange(365))
        if first >= end:
            return False
        issued, valid_until = first, None
        if kind.years:
            while (renewal := years_after(issued, kind.years) - _RENEW_AHEAD) < end:
                issued = renewal
            valid_until = years_after(issued, kind.years) - _DAY
        area, district = DISTRICTS[ent.district]
        self.serials[kind.number] = self.serials.get(kind.number, rng.randrange(1000)) + rng.randint(1, 9)
        number = kind.number.format(area=area, year=issued.year, serial=self.serials[kind.number])
        authority = kind.authority.format(district=district)
        status = "有效" if ent.status == "存续" else "注销"
        self.rows.append((number, ent.code, kind.kind, ent.name, issued, valid_until, authority, status))
        if issued >= self.window:
            base = kind.kind.removesuffix("证书").removesuffix("证")
            title = base + ("" if base.endswith("许可") else "许可") + "决定书"
            content = ("延续：" if issued > first else "") + kind.content
            prefix = kind.prefix.format(d=district[0])
            self._decide(ent, Decision(prefix, title, kind.category, content, issued, valid_until, authority))
        return True

    def _decide(self, ent: Enterprise, decision: Decision) -> None:
        self.city.decisions.setdefault(ent.code, []).append(decision)

    def _between(self, first: dt.date, end: dt.date) -> dt.date:
        """A day from `first` up to the day before `end`."""
        return dt.date.fromordinal(self.rng.randrange(first.toordinal(), end.toordinal()))
