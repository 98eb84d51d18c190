"""The licence library (电子证照库), people's side: the certificates adults hold.

About half of the adults hold one to three: driving licences (6 years, then 10, then
long-term; some lapse), degrees (awarded in June), teacher, physician, vocational and
professional qualifications, special-work permits (6 years). A certificate is issued
on or after its holder's 18th birthday and before the city's today; one whose validity
ended before today is 过期.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from random import Random
from typing import NamedTuple

from .city import Adult, City
from .config import CHUNK
from .dates import age
from .rows import Chunk, Sink

__all__ = ["generate"]

_DAY = dt.timedelta(days=1)
_DRIVING = "机动车驾驶证"
_DEGREE = "学位证书"
_PHYSICIAN = "执业医师资格证书"
_HEALTH_MINISTRY = (  # who has issued physicians' certificates, latest first
    (dt.date(2018, 3, 19), "国家卫生健康委员会"),
    (dt.date(2013, 3, 15), "国家卫生和计划生育委员会"),
    (dt.date.min, "中华人民共和国卫生部"),
)
_UNIVERSITIES = (  # (code, name): the first five digits of a degree certificate number
    ("10384", "厦门大学"), ("10390", "集美大学"), ("11062", "厦门理工学院"),
    ("10385", "华侨大学"), ("10402", "闽南师范大学"), ("10386", "福州大学"),
)  # fmt: skip


class _Kind(NamedTuple):
    kind: str
    weight: float  # how often holders hold it
    youngest: int  # age range at issue
    oldest: int
    since: int  # first year it was issued
    years: int | None  # validity; None: long-term
    number: str  # format: {year} {serial}
    authority: str


_KINDS = (
    _Kind(_DRIVING, 60, 18, 45, 1990, 6, "3502{serial:08d}", "厦门市公安局交通警察支队车辆管理所"),
    _Kind(_DEGREE, 30, 22, 26, 1982, None, "{unit}{level}{year}{serial:06d}", ""),
    _Kind("职业资格证书", 18, 18, 50, 1994, None, "{year}35{serial:010d}", "厦门市人力资源和社会保障局"),
    _Kind("专业技术资格证书", 14, 26, 50, 1990, None, "{year}3502{serial:07d}", "福建省人力资源和社会保障厅"),
    _Kind("教师资格证", 7, 21, 40, 1996, None, "{year}35{level}{serial:010d}", "厦门市教育局"),
    _Kind("特种作业操作证", 7, 18, 55, 2000, 6, "T35{year}{serial:08d}", "厦门市应急管理局"),
    _Kind(_PHYSICIAN, 3, 24, 35, 1999, None, "{year}135{serial:08d}", ""),
)
_WEIGHTS = [k.weight for k in _KINDS]


def generate(city: City, rng: Random) -> Iterator[Chunk]:
    """Adults of working age, then the elders: maybe a few certificates each."""
    office = _Office(city, rng)
    for adult in (*city.adults, *city.elders):
        office.certify(adult)
        yield from office.sink.drain(CHUNK)
    yield from office.sink.drain()


def _birthday(birth: dt.date, years: int) -> dt.date:
    """The day someone born on `birth` turns `years` (1 March for 29 February)."""
    try:
        return birth.replace(year=birth.year + years)
    except ValueError:
        return dt.date(birth.year + years, 3, 1)


class _Office:
    """Issues certificates into the licences sink."""

    def __init__(self, city: City, rng: Random) -> None:
        self.city, self.rng = city, rng
        self.today = city.today
        self.sink = Sink("licences")
        self.rows = self.sink.rows["person_certificate"]
        self.serials: dict[str, int] = {}

    def certify(self, adult: Adult) -> None:
        rng = self.rng
        years = age(adult.birth, self.today)
        if rng.random() >= (0.3 if years < 22 or years >= 65 else 0.58):
            return
        wanted = rng.choices((1, 2, 3), (50, 33, 17))[0]
        kinds = {k.kind: k for k in rng.choices(_KINDS, _WEIGHTS, k=wanted)}.values()
        issued = sum(self._issue(adult, kind) for kind in kinds)
        if not issued:
            self._issue(adult, _KINDS[0])  # everyone of 18 may have learnt to drive
        elif issued >= 2:
            self.city.sample("certificate_holder", adult.pid)

    def _issue(self, adult: Adult, kind: _Kind) -> bool:
        """One certificate of `kind`; False when the holder's age or its history rule it out."""
        rng, today = self.rng, self.today
        oldest = min(kind.oldest, age(adult.birth, today))
        if oldest < kind.youngest:
            return False
        first = _birthday(adult.birth, rng.randint(kind.youngest, oldest))
        end = min(first + dt.timedelta(days=365), today)
        if end <= first:
            return False
        issued = first + dt.timedelta(days=rng.randrange((end - first).days))
        level, unit, authority = rng.choice("234"), "", kind.authority
        if kind.kind == _DEGREE:
            unit, authority = rng.choice(_UNIVERSITIES)
            level = "3" if rng.random() < 0.2 else "4"  # master's, bachelor's
            issued = dt.date(issued.year, 6, rng.randint(20, 30))
            if issued >= today or issued < _birthday(adult.birth, 18):
                return False
        if issued.year < kind.since:
            return False
        if kind.kind == _PHYSICIAN:
            authority = next(name for since, name in _HEALTH_MINISTRY if issued >= since)
        issued, valid_until = self._renewed(adult, kind, issued)
        status = "过期" if valid_until is not None and valid_until < today else "有效"
        if status == "有效" and kind.kind == _DRIVING and self._cancelled(adult):
            status = "注销"
        self.serials[kind.number] = self.serials.get(kind.number, rng.randrange(1000)) + rng.randint(1, 9)
        number = kind.number.format(
            year=issued.year, serial=self.serials[kind.number], level=level, unit=unit
        )
        self.rows.append((number, adult.pid, kind.kind, adult.name, issued, valid_until, authority, status))
        return True

    def _renewed(self, adult: Adult, kind: _Kind, issued: dt.date) -> tuple[dt.date, dt.date | None]:
        """(current issue, valid until): renewed on expiry until today unless the holder let it
        lapse; a driving licence's second term is 10 years and its third has no end."""
        if kind.years is None:
            return issued, None
        terms = (6, 10, None) if kind.kind == _DRIVING else (kind.years,) * 20
        lapsed = self.rng.random() < 0.1
        for term in terms:
            if term is None:
                return issued, None
            expires = _birthday(issued, term)  # the day after the last valid day
            if expires >= self.today or lapsed:
                return issued, expires - _DAY
            issued = expires
        raise AssertionError("unreachable: twenty terms outlast any adult")

    def _cancelled(self, adult: Adult) -> bool:
        """Drivers of 70 and older who gave their licence up (or failed the yearly health check)."""
        return age(adult.birth, self.today) >= 70 and self.rng.random() < 0.3
