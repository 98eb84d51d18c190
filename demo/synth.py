"""A deterministic synthetic Xiamen whose five department databases agree with each other.

`generate(cfg)` streams (department, table, rows) chunks in foreign-key order, `seed()`
loads them with binary COPY, and `samples_of()` / `seed()` return the samples document
that points demos and tests at interesting cases (migrant children, back-paid months...).
Every value comes from `random.Random` instances seeded from `cfg.seed`, so one config
always yields the same rows. Nobody in the city is real.

The phases run in dependency order: people; enterprises (adult legal representatives);
tax (enterprises); social insurance (people, enterprises, and ratings for the samples);
education (children and their guardians' jobs). Only compact summaries of earlier
phases are kept, never their rows, so a 1,000,000-person city streams in bounded memory.
"""

from __future__ import annotations

import asyncio
import bisect
import datetime as dt
import heapq
import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from random import Random
from typing import NamedTuple

import asyncpg

from resolvers.identifiers import CREDIT_CODE_ALPHABET, credit_code_check, org_code_check, resident_id_check

from .names import (
    BRAND_FIRST,
    BRAND_SECOND,
    DISTRICT_WEIGHTS,
    DISTRICTS,
    ETHNICITIES,
    FEMALE_CHARS,
    INDUSTRIES,
    MALE_CHARS,
    MIGRANT_ORIGINS,
    NEUTRAL_CHARS,
    SHOPS,
    SURNAMES,
    VILLAGES,
    birth_area,
    chinese_number,
    office_address,
    street_address,
)

__all__ = ["COLUMNS", "DEPARTMENTS", "CityConfig", "Synth", "generate", "samples_of", "seed"]

Row = tuple[object, ...]
Chunk = tuple[str, str, list[Row]]

DEPARTMENTS = ("public_security", "education", "social_insurance", "tax", "market")
# Column order of every table (the DDL in departments/sql is the contract); within a
# department, parent tables come first: the order chunks are flushed in.
COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    department: {table: tuple(columns.split()) for table, columns in tables.items()}
    for department, tables in {
        "public_security": {
            "household": "number district address kind head_id registered_on",
            "person": "id name gender birth_date ethnicity phone household_no hukou_district hukou_address"
            " residence_district residence_address status",
            "household_member": "household_no person_id relation seq",
            "guardianship": "child_id guardian_id relation",
            "residence_permit": "person_id permit_no district address issued_on valid_until status",
            "portrait": "person_id ref captured_on",
        },
        "education": {
            "school": "code name district level address capacity",
            "student_status": "person_id student_no school_code grade class_no enrolled_month status boarding"
            " enrol_mode migrant_child",
            "enrollment_application": "application_no person_id year stage school_code district guardian_id"
            " submitted_at status",
        },
        "social_insurance": {
            "insured_person": "person_id si_no status first_insured_month current_employer updated_on",
            "contribution": "person_id period paid_month insurance_type base employer",
            "employer_headcount": "credit_code month headcount",
        },
        "tax": {
            "taxpayer": "credit_code taxpayer_no name kind tax_authority registered_on status",
            "credit_rating": "credit_code year grade score published_on",
            "tax_payment": "credit_code period tax_type amount paid_on",
            "arrears": "credit_code tax_type amount since",
            "income_tax_summary": "person_id year income tax_paid withholding_agent",
        },
        "market": {
            "enterprise": "credit_code name kind status legal_rep_id registered_capital established_on"
            " district address business_scope deregistered_on",
            "annual_report": "credit_code year submitted_on employees status",
        },
    }.items()
}
CASES = (
    "family_child migrant_child duplicate_application back_paid changed_employer d_rated_enterprise"
    " deregistered_enterprise enterprise_with_arrears household jimei_household school legal_representative"
).split()
CHUNK = 50_000
HISTORY = 48  # months of contributions before as_of
LAST = HISTORY - 1  # index of the last history month
TZ = dt.timezone(dt.timedelta(hours=8))
_OPEN = 10**6  # "last month" of an enterprise that is still open
_SAMPLE_SIZE = 100


@dataclass(frozen=True)
class CityConfig:
    """What to generate: the same config always yields the same city."""

    seed: int = 20261126
    persons: int = 20_000  # approximate number of person rows
    as_of: dt.date = dt.date(2026, 9, 1)  # "today" of the city; history ends the month before


class _Spec(NamedTuple):
    """A family member before it becomes a person row."""

    relation: str
    male: bool
    birth: dt.date
    surname: str
    ethnicity: str
    status: str = "正常"


class _Adult(NamedTuple):
    pid: str
    birth: dt.date
    male: bool
    migrant: bool


class _Kid(NamedTuple):
    pid: str
    entry_year: int  # the September the child starts (or started) grade 1
    district: int  # index into DISTRICTS of where the child lives
    migrant: bool
    guardians: tuple[str, ...]


class _Ent(NamedTuple):
    code: str
    org: str
    name: str
    kind: str
    district: int
    established: dt.date
    closed: dt.date | None  # deregistered or revoked on
    status: str
    weight: float  # relative size: how many of the city's jobs it draws
    first: int  # first history month (index) it exists in; negative when older
    last: int  # last history month it can employ anyone in


def _mnum(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


def _ym(mnum: int) -> str:
    return f"{mnum // 12}{mnum % 12 + 1:02d}"


def _month_start(mnum: int) -> dt.date:
    return dt.date(mnum // 12, mnum % 12 + 1, 1)


def _age(birth: dt.date, today: dt.date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def _years_after(day: dt.date, years: int) -> dt.date:
    return day.replace(year=day.year + years, day=min(day.day, 28))


def _money(value: float) -> Decimal:
    return Decimal(f"{value:.2f}")


def _grade(score: int) -> str:
    return "A" if score >= 90 else "B" if score >= 70 else "C" if score >= 40 else "D"


def _income_tax(income: float) -> float:
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


class _Sink:
    """Row buffers of one department, flushed together so chunks keep foreign-key order."""

    def __init__(self, department: str) -> None:
        self.department = department
        self.rows: dict[str, list[Row]] = {table: [] for table in COLUMNS[department]}

    def drain(self, at: int = 0) -> Iterator[Chunk]:
        """Yield every non-empty buffer once any holds `at` rows (at=0: now)."""
        if at and max(map(len, self.rows.values())) < at:
            return
        for table, rows in self.rows.items():
            if rows:
                yield self.department, table, rows
                self.rows[table] = []


class Synth:
    """One city. Iterate `chunks()` once; `samples()` is then known."""

    def __init__(self, cfg: CityConfig) -> None:
        self.cfg = cfg
        self.today = cfg.as_of
        self.w0 = _mnum(cfg.as_of) - HISTORY  # month number of the first history month
        self.periods = [_ym(self.w0 + i) for i in range(HISTORY)]
        self.school_year = self.today.year if self.today.month >= 9 else self.today.year - 1
        self.adults: list[_Adult] = []  # 18..64, status 正常: candidate workers and legal reps
        self.kids: list[_Kid] = []  # school-age or applying this year
        self.guardians: set[str] = set()
        self.guardian_employer: dict[str, int] = {}  # paying guardian -> enterprise index
        self.ents: list[_Ent] = []
        self.rated: list[bool] = []
        self.persons = 0
        self._cases: dict[str, dict[str, None]] = {case: {} for case in CASES}
        self._counts: dict[str, int] = {}
        self._done = False

    def chunks(self) -> Iterator[Chunk]:
        """(department, table, rows) chunks: every table's rows, parents before children."""
        if self.persons:
            raise RuntimeError("a Synth generates its city once")
        phases = (self._population, self._market, self._tax, self._social_insurance, self._education)
        for phase in phases:
            for chunk in phase(Random(f"{self.cfg.seed}/{phase.__name__}")):
                key = f"{chunk[0]}.{chunk[1]}"
                self._counts[key] = self._counts.get(key, 0) + len(chunk[2])
                yield chunk
        self._done = True

    def samples(self) -> dict[str, object]:
        if not self._done:
            raise RuntimeError("samples are known once every chunk has been generated")
        return {
            "seed": self.cfg.seed,
            "persons": self.cfg.persons,
            "as_of": self.cfg.as_of.isoformat(),
            "person_rows": self.persons,
            "counts": dict(self._counts),
            "cases": {case: list(found) for case, found in self._cases.items()},
        }

    def sample(self, case: str, value: str) -> None:
        found = self._cases[case]
        if len(found) < _SAMPLE_SIZE:
            found[value] = None

    # -- public security ---------------------------------------------------------------

    def _population(self, rng: Random) -> Iterator[Chunk]:
        people = _Population(self, rng)
        while self.persons < self.cfg.persons:
            r = rng.random()
            if r < 0.14:
                people.migrant_family()
            elif r < 0.16:
                people.collective()
            else:
                people.local_family()
            yield from people.sink.drain(CHUNK)
        yield from people.sink.drain()

    # -- market ------------------------------------------------------------------------

    def _market(self, rng: Random) -> Iterator[Chunk]:
        sink = _Sink("market")
        orgs: set[str] = set()
        names: set[str] = set()
        count = max(60, self.cfg.persons // 10)
        anchors = max(3, count // 40)  # old, open employers so every job has a possible employer
        today_ord = self.today.toordinal()
        for i in range(count):
            anchor = i < anchors
            kind = (
                "有限责任公司"
                if anchor
                else rng.choices(
                    ("有限责任公司", "股份有限公司", "个人独资企业", "个体工商户"), (52, 3, 7, 38)
                )[0]
            )
            rep = self._legal_rep(rng, 35 if anchor else 22)
            lo = max(dt.date(1995, 1, 1), _years_after(rep.birth, 20)).toordinal()
            hi = _month_start(self.w0).toordinal() - 1 if anchor else today_ord - 1
            established = dt.date.fromordinal(hi - int((hi - max(lo, hi - 11_000)) * rng.random() ** 1.7))
            status, closed = "存续", None
            if not anchor and today_ord - established.toordinal() > 400:
                r = rng.random()
                if r < 0.14:
                    status = "注销" if r < 0.10 else "吊销"
                    closed = dt.date.fromordinal(rng.randint(established.toordinal() + 365, today_ord - 1))
            district = rng.choices(range(len(DISTRICTS)), DISTRICT_WEIGHTS)[0]
            code, org = self._credit_code(rng, kind, district, established, orgs)
            name, scope = self._enterprise_name(rng, kind, district, names)
            weight = {
                "有限责任公司": rng.lognormvariate(0, 1.3),
                "股份有限公司": rng.lognormvariate(2.5, 0.8),
                "个人独资企业": 0.5,
                "个体工商户": 0.2,
            }[kind] * (8 if anchor else 1)
            capital = {
                "有限责任公司": (4.6, 1.2),
                "股份有限公司": (8.5, 1.0),
                "个人独资企业": (3.0, 0.8),
                "个体工商户": (1.6, 0.8),
            }[kind]
            last = _OPEN if closed is None else _mnum(closed) - 1 - self.w0
            ent = _Ent(
                code,
                org,
                name,
                kind,
                district,
                established,
                closed,
                status,
                weight,
                _mnum(established) - self.w0,
                last,
            )
            self.ents.append(ent)
            sink.rows["enterprise"].append(
                (
                    code,
                    name,
                    kind,
                    status,
                    rep.pid,
                    _money(min(rng.lognormvariate(*capital), 99_999)),
                    established,
                    DISTRICTS[district][0],
                    office_address(rng, district),
                    scope,
                    closed,
                )
            )
            self.sample("legal_representative", rep.pid)
            if status == "注销":
                self.sample("deregistered_enterprise", code)
            self._annual_reports(rng, ent, sink.rows["annual_report"])
            yield from sink.drain(CHUNK)
        yield from sink.drain()

    def _legal_rep(self, rng: Random, min_age: int) -> _Adult:
        for _ in range(1000):
            adult = self.adults[rng.randrange(len(self.adults))]
            if _age(adult.birth, self.today) >= min_age:
                return adult
        raise ValueError(f"no adult of {min_age} or older: the city is too small")

    @staticmethod
    def _credit_code(
        rng: Random, kind: str, district: int, established: dt.date, used: set[str]
    ) -> tuple[str, str]:
        """A GB 32100 code: 9 (market regulation), 1 enterprise / 2 individual business, area, org code."""
        while True:  # organisation codes issued since 2016 look like MA2XXXXXX
            body = (
                "MA" + "".join(rng.choices(CREDIT_CODE_ALPHABET, k=6))
                if established.year >= 2016
                else f"{rng.randrange(10**8):08d}"
            )
            if body not in used:
                used.add(body)
                break
        org = body + org_code_check(body)
        first17 = ("92" if kind == "个体工商户" else "91") + DISTRICTS[district][0] + org
        return first17 + credit_code_check(first17), org

    @staticmethod
    def _enterprise_name(rng: Random, kind: str, district: int, used: set[str]) -> tuple[str, str]:
        while True:
            brand = rng.choice(BRAND_FIRST) + rng.choice(BRAND_SECOND)
            if rng.random() < 0.4:
                brand += rng.choice(BRAND_SECOND)
            if kind == "个体工商户":
                shop, scope = rng.choice(SHOPS)
                name = f"厦门市{DISTRICTS[district][1]}{brand}{shop}"
            else:
                word, scope = rng.choice(INDUSTRIES)
                suffix = {"有限责任公司": "有限公司", "股份有限公司": "股份有限公司", "个人独资企业": "商行"}[
                    kind
                ]
                name = f"厦门{brand}{word}{suffix}"
            if name not in used:
                used.add(name)
                return name, scope

    def _annual_reports(self, rng: Random, ent: _Ent, rows: list[Row]) -> None:
        for year in range(self.today.year - 3, self.today.year):
            opens = dt.date(year + 1, 1, 1)
            if year < ent.established.year or (ent.closed and ent.closed.year <= year) or opens >= self.today:
                continue
            if ent.status == "吊销" or rng.random() < 0.06:
                rows.append((ent.code, year, None, None, "未公示"))
                continue
            closes = min(dt.date(year + 1, 6, 30), self.today - dt.timedelta(days=1))
            submitted = dt.date.fromordinal(rng.randint(opens.toordinal(), closes.toordinal()))
            employees = rng.randint(0, 3) if ent.kind == "个体工商户" else int(ent.weight * rng.uniform(3, 6))
            rows.append((ent.code, year, submitted, employees, "已公示"))

    # -- tax ---------------------------------------------------------------------------

    def _tax(self, rng: Random) -> Iterator[Chunk]:
        sink = _Sink("tax")
        year_now = self.today.year
        last_day = self.today - dt.timedelta(days=1)
        for ent in self.ents:
            registered = min(ent.established + dt.timedelta(days=rng.randint(0, 20)), last_day)
            taxpayer_no = (
                ent.code if ent.established >= dt.date(2015, 10, 1) else DISTRICTS[ent.district][0] + ent.org
            )
            general = ent.kind == "股份有限公司" or (ent.kind == "有限责任公司" and ent.weight > 1.5)
            status = {"存续": "正常", "注销": "注销", "吊销": "非正常"}[ent.status]
            sink.rows["taxpayer"].append(
                (
                    ent.code,
                    taxpayer_no,
                    ent.name,
                    "一般纳税人" if general else "小规模纳税人",
                    f"国家税务总局厦门市{DISTRICTS[ent.district][1]}税务局",
                    registered,
                    status,
                )
            )
            quality = rng.gauss(80, 12)
            direct_d = rng.randint(year_now - 3, year_now - 1) if rng.random() < 0.03 else year_now
            last_grade = None
            for year in range(year_now - 3, year_now):
                published = dt.date(year + 1, 4, rng.randint(20, 28))
                if (
                    year < ent.established.year
                    or (ent.closed and ent.closed.year <= year)
                    or published >= self.today
                ):
                    continue
                score: int | None = None
                if year == ent.established.year:
                    last_grade = "M"  # newly established: assigned directly
                elif year >= direct_d:
                    last_grade = "D"  # e.g. tax evasion: assigned directly
                else:
                    score = max(0, min(100, round(quality + rng.gauss(0, 5))))
                    last_grade = _grade(score)
                sink.rows["credit_rating"].append((ent.code, year, last_grade, score, published))
            self.rated.append(last_grade is not None)
            if last_grade == "D":
                self.sample("d_rated_enterprise", ent.code)
            monthly_vat = (
                rng.uniform(0, 1500) if ent.kind == "个体工商户" else ent.weight * rng.uniform(3000, 12000)
            )
            for i in range(LAST - 12, LAST):  # periods whose payment falls in the last 12 months
                if not ent.first <= i <= ent.last:
                    continue
                paid = min(_month_start(self.w0 + i + 1) + dt.timedelta(days=rng.randint(0, 14)), last_day)
                vat = monthly_vat * rng.uniform(0.6, 1.4)
                sink.rows["tax_payment"].append((ent.code, self.periods[i], "增值税", _money(vat), paid))
                if (self.w0 + i) % 12 in (2, 5, 8, 11) and ent.kind != "个体工商户":
                    sink.rows["tax_payment"].append(
                        (ent.code, self.periods[i], "企业所得税", _money(vat * 0.9), paid)
                    )
            if last_grade in ("C", "D") and ent.status != "注销" and rng.random() < 0.6:
                self.sample("enterprise_with_arrears", ent.code)
                since = self.periods[rng.randint(12, LAST - 1)]
                sink.rows["arrears"].append(
                    (ent.code, "增值税", _money(monthly_vat * rng.uniform(1, 8)), since)
                )
                if ent.kind != "个体工商户" and rng.random() < 0.4:
                    sink.rows["arrears"].append(
                        (ent.code, "企业所得税", _money(monthly_vat * rng.uniform(1, 3)), since)
                    )
            yield from sink.drain(CHUNK)
        yield from sink.drain()

    # -- social insurance --------------------------------------------------------------

    def _social_insurance(self, rng: Random) -> Iterator[Chunk]:
        sink, tax = _Sink("social_insurance"), _Sink("tax")
        ents, periods = self.ents, self.periods
        cum = list(itertools.accumulate(ent.weight for ent in ents))
        anchors = [i for i, ent in enumerate(ents) if ent.first <= 0 and ent.last >= LAST]
        first_hc = LAST - 11
        headcount = [0] * (len(ents) * 12)  # [enterprise * 12 + month]: '110' contributors
        year_of = [(self.w0 + i) // 12 - self.w0 // 12 for i in range(HISTORY)]  # 0 = first year
        # (year, first month, last month) of each income-tax year inside the history
        tax_years = [
            (y, max(0, y * 12 - self.w0), min(LAST, y * 12 + 11 - self.w0))
            for y in range(self.today.year - 3, self.today.year)
        ]
        si_serial = 10**9 + rng.randrange(10**8)
        contributions = sink.rows["contribution"]
        # (family order, id) of sample candidates: people are visited in id order so that
        # COPY appends to the primary-key indexes, but samples stay spread over the city.
        back_paid: list[tuple[int, str]] = []
        changed: list[tuple[int, str]] = []

        def employer(a: int, b: int, avoid: int = -1) -> int:
            """An enterprise, by size, that exists in every month a..b."""
            for _ in range(12):
                e = min(bisect.bisect(cum, rng.random() * cum[-1]), len(ents) - 1)
                if ents[e].first <= a and ents[e].last >= b and e != avoid:
                    return e
            return anchors[rng.randrange(len(anchors))]

        for order, adult in sorted(enumerate(self.adults), key=lambda item: item[1].pid):
            age = _age(adult.birth, self.today)
            if rng.random() >= (0.72 if adult.migrant else 0.35 if age < 23 else 0.88 if age < 60 else 0.5):
                continue
            born = _mnum(adult.birth)
            first = max(1995 * 12, born + 12 * rng.randint(19, 26) + rng.randrange(12))
            if first > self.w0 + LAST:
                continue
            start = max(0, first - self.w0)
            retire = born + (60 if adult.male else 55) * 12
            if retire <= self.w0 + LAST:
                status, end = "3", retire - self.w0 - 1
            elif (r := rng.random()) < 0.06:
                status, end = "2", LAST - rng.randint(1, 12)  # suspended
            elif r < 0.10:
                status, end = "3", LAST - rng.randint(6, 40)  # left the scheme
            else:
                status, end = "1", LAST
            jobs: list[tuple[int, int, int]] = []  # (first month, last month, enterprise)
            if end - start >= 8 and rng.random() < 0.22:
                switch = rng.randint(start + 3, end - 3)
                resume = switch + rng.choice((0, 0, 0, 1, 2))  # maybe a gap between jobs
                before = employer(start, switch - 1)
                jobs = [(start, switch - 1, before), (resume, end, employer(resume, end, avoid=before))]
                if jobs[0][2] != jobs[1][2]:
                    changed.append((order, adult.pid))
            elif end >= start:
                jobs = [(start, end, employer(start, end))]
            late_from, late_to, late_paid = HISTORY, -1, 0
            if jobs and rng.random() < 0.055:  # a gap in the last job, back-paid later (补缴)
                a, b, _ = jobs[-1]
                gap = rng.randint(1, 6)
                if b - a >= gap + 2:
                    late_from = rng.randint(a + 1, b - gap)
                    late_to = late_from + gap - 1
                    late_paid = min(LAST, late_to + 1 + rng.randint(0, 2))
                    back_paid.append((order, adult.pid))
            level = min(30_000.0, max(4_000.0, rng.lognormvariate(8.9, 0.45)))
            yearly = [min(30_000, round(level * 1.04**y)) for y in range(year_of[LAST] + 1)]  # +4%/year
            bases = [Decimal(f"{base}.00") for base in yearly]
            pid = adult.pid
            for a, b, e in jobs:
                code = ents[e].code
                for i in range(a, b + 1):
                    period = periods[i]
                    paid = periods[late_paid] if late_from <= i <= late_to else period
                    base = bases[year_of[i]]
                    contributions.append((pid, period, paid, "110", base, code))
                    contributions.append((pid, period, paid, "310", base, code))
                for i in range(max(a, first_hc), b + 1):
                    headcount[e * 12 + i - first_hc] += 1
            current = ents[jobs[-1][2]].code if status == "1" else None
            if status == "1" and adult.pid in self.guardians:
                self.guardian_employer[adult.pid] = jobs[-1][2]
            si_serial += rng.randint(1, 9)
            updated = _month_start(self.w0 + min(end + 1, LAST))
            sink.rows["insured_person"].append(
                (adult.pid, str(si_serial), status, _ym(first), current, updated)
            )
            pay = rng.uniform(1.1, 1.6)  # wages above the contribution base
            for year, lo, hi in tax_years:
                months = [(min(b, hi) - max(a, lo) + 1, e) for a, b, e in jobs]  # in that year, per job
                worked = sum(n for n, _ in months if n > 0)
                if worked:
                    wages = worked * yearly[year_of[lo]] * pay
                    agent = ents[max(months)[1]].code  # the employer of most months that year
                    tax.rows["income_tax_summary"].append(
                        (pid, year, _money(wages), _money(_income_tax(wages)), agent)
                    )
            if len(contributions) >= CHUNK:
                yield from sink.drain()
                contributions = sink.rows["contribution"]
            yield from tax.drain(CHUNK)
        for e, ent in enumerate(ents):
            sink.rows["employer_headcount"].extend(
                (ent.code, periods[i], headcount[e * 12 + i - first_hc])
                for i in range(first_hc, HISTORY)
                if ent.first <= i <= ent.last
            )
            yield from sink.drain(CHUNK)
        yield from sink.drain()
        yield from tax.drain()
        for case, found in (("back_paid", back_paid), ("changed_employer", changed)):
            for _, pid in heapq.nsmallest(_SAMPLE_SIZE, found):
                self.sample(case, pid)

    # -- education ---------------------------------------------------------------------

    def _education(self, rng: Random) -> Iterator[Chunk]:
        sink = _Sink("education")
        year = self.today.year
        scale = self.cfg.persons / 20_000
        schools: list[tuple[list[str], list[str]]] = []  # district -> (primary codes, junior codes)
        for d, (code, dname) in enumerate(DISTRICTS):
            schools.append(([], []))
            for level, count in ((0, max(2, round(4 * scale))), (1, max(1, round(2 * scale)))):
                styles = (
                    ("实验小学", "小学", "中心小学", "外国语小学")
                    if level == 0
                    else ("中学", "实验中学", "外国语中学")
                )
                for k in range(1, count + 1):
                    school = f"{code}{level * 5000 + k:04d}"
                    schools[d][level].append(school)
                    sink.rows["school"].append(
                        (
                            school,
                            f"厦门市{dname}第{chinese_number(k)}{rng.choice(styles)}",
                            code,
                            ("PRIMARY", "JUNIOR")[level],
                            office_address(rng, d),
                            rng.randint(18, 48) * (45 if level == 0 else 50),
                        )
                    )
                    self.sample("school", school)
        every = ([s for d in schools for s in d[0]], [s for d in schools for s in d[1]])
        decided = self.today >= dt.date(year, 8, 1)
        opens = dt.datetime(year, 5, 10, 8, tzinfo=TZ)
        latest = dt.datetime(self.today.year, self.today.month, self.today.day, tzinfo=TZ) - dt.timedelta(
            hours=1
        )
        serial = rng.randrange(10**6)
        for kid in self.kids:
            grade = self.school_year - kid.entry_year + 1
            admitted, applied = None, False
            stage = 0 if kid.entry_year == year else 1 if kid.entry_year + 6 == year else -1
            if stage >= 0 and rng.random() < 0.92:
                applied = True
                choice = rng.choice(schools[kid.district][stage])
                result = (
                    rng.choices(("已录取", "未录取", "审核中"), (88, 7, 5))[0]
                    if decided
                    else rng.choice(("已提交", "审核中"))
                )
                submitted = min(opens + dt.timedelta(seconds=rng.randrange(25 * 86_400)), latest)
                stage_name = ("小学一年级", "初中一年级")[stage]
                district = DISTRICTS[kid.district][0]
                serial += rng.randint(1, 3)
                sink.rows["enrollment_application"].append(
                    (
                        f"{year}{serial:08d}",
                        kid.pid,
                        year,
                        stage_name,
                        choice,
                        district,
                        kid.guardians[0],
                        submitted,
                        result,
                    )
                )
                admitted = choice if result == "已录取" else None
                # A second application is flagged by the system; tiny cities still get a few.
                if rng.random() < 0.04 or len(self._cases["duplicate_application"]) < 3:
                    others = [s for s in schools[kid.district][stage] if s != choice] or [
                        s for s in every[stage] if s != choice
                    ]
                    serial += rng.randint(1, 3)
                    sink.rows["enrollment_application"].append(
                        (
                            f"{year}{serial:08d}",
                            kid.pid,
                            year,
                            stage_name,
                            rng.choice(others),
                            district,
                            kid.guardians[0],
                            min(submitted + dt.timedelta(hours=rng.randint(1, 240)), latest),
                            "重复报名",
                        )
                    )
                    self.sample("duplicate_application", kid.pid)
            enrolled = 1 <= grade <= 9 and (rng.random() < 0.95 or admitted is not None)
            if enrolled:
                level = 0 if grade <= 6 else 1
                if admitted is not None and self.school_year == year:  # grade 1 or 7 in the school applied to
                    school = admitted
                else:
                    school = rng.choice(schools[kid.district][level])
                if kid.migrant:
                    mode = rng.choices(("积分入学", "就近入学", "其他"), (70, 20, 10))[0]
                else:
                    mode = "就近入学" if rng.random() < 0.9 else "其他"
                sink.rows["student_status"].append(
                    (
                        kid.pid,
                        "G" + kid.pid,
                        school,
                        grade,
                        rng.randint(1, 8),
                        f"{kid.entry_year + 6 * level}09",
                        rng.choices(("在读", "休学", "转出"), (97, 1, 2))[0],
                        rng.random() < (0.08 if level else 0.01),
                        mode,
                        kid.migrant,
                    )
                )
            if enrolled or applied:
                if kid.migrant:
                    self.sample("migrant_child", kid.pid)
                jobs = self.guardian_employer
                if all(g in jobs and self.rated[jobs[g]] for g in kid.guardians):
                    self.sample("family_child", kid.pid)
            yield from sink.drain(CHUNK)
        yield from sink.drain()


class _Population:
    """Families, households and their people, written to the public_security sink."""

    def __init__(self, city: Synth, rng: Random) -> None:
        self.city, self.rng = city, rng
        self.sink = _Sink("public_security")
        self.today = city.today
        self.today_ord = city.today.toordinal()
        self.ids: set[int] = set()  # first 17 digits of every id handed out
        self.household_serial = rng.randrange(10**7)
        self.permit_serial = rng.randrange(10**6)
        self.surnames = [s for s, _ in SURNAMES]
        self.surname_cum = list(itertools.accumulate(w for _, w in SURNAMES))
        self.ethnicities = [e for e, _ in ETHNICITIES]
        self.ethnicity_cum = list(itertools.accumulate(w for _, w in ETHNICITIES))
        self.districts = range(len(DISTRICTS))
        self.district_cum = list(itertools.accumulate(DISTRICT_WEIGHTS))

    # family shapes

    def local_family(self) -> None:
        rng = self.rng
        r = rng.random()
        if r < 0.60:
            specs, guardians = self._nuclear()
        elif r < 0.70:
            specs, guardians = self._three_generations()
        elif r < 0.85:
            specs, guardians = [self._spec("户主", rng.random() < 0.5, rng.randint(20, 88))], []
        else:
            head = self._spec("户主", rng.random() < 0.7, rng.randint(60, 90))
            specs, guardians = [head, self._spouse(head, 60)], []
        self._household(specs, guardians, "家庭户")

    def collective(self) -> None:
        """A 集体户: unrelated young adults registered at a workplace or campus."""
        rng = self.rng
        specs = [
            self._spec("户主" if i == 0 else "其他", rng.random() < 0.55, rng.randint(19, 40))
            for i in range(rng.randint(5, 25))
        ]
        self._household(specs, [], "集体户")

    def migrant_family(self) -> None:
        """A family living in Xiamen with hukou elsewhere: residence permits, no household."""
        rng = self.rng
        birth_code, hukou_code, place = rng.choice(MIGRANT_ORIGINS)
        hukou_address = f"{place}{rng.choice(VILLAGES)}{rng.randint(1, 99)}号"
        district = self._district()
        home = street_address(rng, district)
        head = self._spec("户主", rng.random() < 0.85, rng.randint(22, 50))
        specs = [head]
        if rng.random() < 0.85:
            specs.append(self._spouse(head, 21))
        parents = range(len(specs))
        specs += self._children(specs, "子", "女", rng.choices((0, 1, 2, 3), (20, 45, 30, 5))[0])
        pids = [
            self._person(s, birth_code, None, hukou_code, hukou_address, district, home, migrant=True)
            for s in specs
        ]
        for spec, pid in zip(specs, pids, strict=True):
            if _age(spec.birth, self.today) >= 16:
                self._permit(pid, district, home)
        pairs = self._pairs(specs, parents, range(len(parents), len(specs)))
        self._guardianship(specs, pids, pairs, district, migrant=True)

    # building blocks

    def _nuclear(self) -> tuple[list[_Spec], list[tuple[int, int, str]]]:
        rng = self.rng
        head = self._spec("户主", rng.random() < 0.75, rng.randint(24, 60))
        specs = [head]
        if rng.random() < 0.88:
            specs.append(self._spouse(head, 21))
        parents = range(len(specs))
        specs += self._children(specs, "子", "女", rng.choices((0, 1, 2, 3), (15, 45, 33, 7))[0])
        guardians = self._pairs(specs, parents, range(len(parents), len(specs)))
        if rng.random() < 0.15:  # a grandparent lives with them
            male = rng.random() < 0.5
            specs.append(
                self._spec(
                    "父亲" if male else "母亲",
                    male,
                    min(98, self._age(head) + rng.randint(24, 34)),
                    head.surname if male else None,
                )
            )
        return specs, guardians

    def _three_generations(self) -> tuple[list[_Spec], list[tuple[int, int, str]]]:
        """Grandparents head the household; grandchildren's parents may work elsewhere."""
        rng = self.rng
        head = self._spec("户主", rng.random() < 0.7, rng.randint(56, 82))
        grandparents = [head]
        if rng.random() < 0.8:
            grandparents.append(self._spouse(head, 50))
        son = rng.random() < 0.6
        lineage = head if head.male or len(grandparents) == 1 else grandparents[1]
        child = self._spec(
            "子" if son else "女", son, max(22, self._age(head) - rng.randint(24, 32)), lineage.surname
        )
        parents = [child]
        if rng.random() < 0.75:
            parents.append(self._spouse(child, 21, relation="其他"))
        kids = self._children(parents, "孙子", "孙女", rng.randint(1, 2))
        if rng.random() < 0.2:  # parents work elsewhere: the grandparents are the guardians
            specs = grandparents + kids
            return specs, self._pairs(
                specs, range(len(grandparents)), range(len(grandparents), len(specs)), "其他监护人"
            )
        specs = grandparents + parents + kids
        first_kid = len(grandparents) + len(parents)
        return specs, self._pairs(specs, range(len(grandparents), first_kid), range(first_kid, len(specs)))

    def _children(self, parents: list[_Spec], son: str, daughter: str, count: int) -> list[_Spec]:
        rng = self.rng
        mother = next((p for p in parents if not p.male), None)
        father = next((p for p in parents if p.male), None)
        mother_age = self._age(mother) if mother else self._age(parents[0]) - 2
        children = []
        for _ in range(count):
            age = mother_age - rng.randint(22, 38)
            if age < 0:
                continue
            male = rng.random() < 0.52
            lineage = father if father and (mother is None or rng.random() < 0.92) else mother or parents[0]
            spec = self._spec(
                son if male else daughter,
                male,
                age,
                lineage.surname,
                rng.choice([p.ethnicity for p in parents]),
            )
            if age >= 18 and rng.random() < 0.12:
                spec = spec._replace(status="迁出")  # e.g. hukou moved to a university
            children.append(spec)
        return children

    @staticmethod
    def _pairs(
        specs: list[_Spec], parents: range, children: range, relation: str = ""
    ) -> list[tuple[int, int, str]]:
        """(child index, guardian index, relation): each of `children` has each of `parents`."""
        return [(c, p, relation or ("父亲" if specs[p].male else "母亲")) for c in children for p in parents]

    def _spec(
        self, relation: str, male: bool, age: int, surname: str | None = None, ethnicity: str | None = None
    ) -> _Spec:
        rng = self.rng
        birth = dt.date.fromordinal(self.today_ord - age * 365 - rng.randrange(1, 365))
        if surname is None:
            surname = rng.choices(self.surnames, cum_weights=self.surname_cum)[0]
        if ethnicity is None:
            ethnicity = rng.choices(self.ethnicities, cum_weights=self.ethnicity_cum)[0]
        return _Spec(relation, male, birth, surname, ethnicity)

    def _spouse(self, partner: _Spec, min_age: int, relation: str = "配偶") -> _Spec:
        age = max(min_age, self._age(partner) + self.rng.randint(-4, 4))
        return self._spec(relation, not partner.male, age)

    def _age(self, spec: _Spec) -> int:
        return _age(spec.birth, self.today)

    def _district(self) -> int:
        return self.rng.choices(self.districts, cum_weights=self.district_cum)[0]

    def _household(self, specs: list[_Spec], guardians: list[tuple[int, int, str]], kind: str) -> None:
        rng, rows = self.rng, self.sink.rows
        district = self._district()
        code = DISTRICTS[district][0]
        self.household_serial += rng.randint(1, 40)
        number = f"{code}{self.household_serial:09d}"
        address = street_address(rng, district, collective=kind == "集体户")
        home_district, home = district, address
        if rng.random() < 0.15:  # lives elsewhere in the city
            home_district = self._district()
            home = street_address(rng, home_district)
        born_elsewhere = 0.6 if kind == "集体户" else 0.15  # hukou moved to Xiamen later in life
        pids = []
        for spec in specs:
            if self._age(spec) >= 18 and rng.random() < born_elsewhere:
                area = rng.choice(MIGRANT_ORIGINS)[0]
            else:
                area = birth_area(district, spec.birth.year, rng)
            pids.append(self._person(spec, area, number, code, address, home_district, home, migrant=False))
        lo = max(dt.date(1985, 1, 1), _years_after(specs[0].birth, 18)).toordinal()
        registered = dt.date.fromordinal(rng.randint(min(lo, self.today_ord - 30), self.today_ord - 1))
        rows["household"].append((number, code, address, kind, pids[0], registered))
        rows["household_member"].extend(
            (number, pid, spec.relation, seq)
            for seq, (spec, pid) in enumerate(zip(specs, pids, strict=True), 1)
        )
        self._guardianship(specs, pids, guardians, home_district, migrant=False)
        if kind == "家庭户" and len(specs) >= 4:
            self.city.sample("household", number)
        if code == "350211":
            self.city.sample("jimei_household", number)

    def _guardianship(
        self,
        specs: list[_Spec],
        pids: list[str],
        pairs: list[tuple[int, int, str]],
        district: int,
        migrant: bool,
    ) -> None:
        city, rows = self.city, self.sink.rows["guardianship"]
        for child in sorted({c for c, _, _ in pairs}):
            spec = specs[child]
            if self._age(spec) >= 18:
                continue
            guardians = tuple(pids[g] for c, g, _ in pairs if c == child)
            rows.extend((pids[child], pids[g], relation) for c, g, relation in pairs if c == child)
            city.guardians.update(guardians)
            entry = spec.birth.year + (6 if spec.birth.month <= 8 else 7)  # 6 by 31 August
            if 1 <= city.school_year - entry + 1 <= 9 or self.today.year in (entry, entry + 6):
                city.kids.append(_Kid(pids[child], entry, district, migrant, guardians))

    def _person(
        self,
        spec: _Spec,
        area: str,
        household: str | None,
        hukou_district: str,
        hukou_address: str,
        district: int,
        home: str,
        migrant: bool,
    ) -> str:
        rng, city = self.rng, self.city
        pid = self._resident_id(area, spec.birth, spec.male)
        age = self._age(spec)
        given = rng.choice(MALE_CHARS if spec.male else FEMALE_CHARS)
        if rng.random() < 0.7:
            given = rng.choice(NEUTRAL_CHARS + (MALE_CHARS if spec.male else FEMALE_CHARS)) + given
        phone = None
        if age >= 18 or (age >= 14 and rng.random() < 0.5):
            phone = f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"
        self.sink.rows["person"].append(
            (
                pid,
                spec.surname + given,
                "1" if spec.male else "2",
                spec.birth,
                spec.ethnicity,
                phone,
                household,
                hukou_district,
                hukou_address,
                DISTRICTS[district][0],
                home,
                spec.status,
            )
        )
        city.persons += 1
        if age >= 16 and rng.random() < 0.9:
            captured = max(self.today_ord - rng.randrange(1, 3650), _years_after(spec.birth, 16).toordinal())
            self.sink.rows["portrait"].append(
                (pid, f"ps://portrait/{rng.getrandbits(64):016x}", dt.date.fromordinal(captured))
            )
        if 18 <= age <= 64 and spec.status == "正常":
            city.adults.append(_Adult(pid, spec.birth, spec.male, migrant))
        return pid

    def _resident_id(self, area: str, birth: dt.date, male: bool) -> str:
        day = f"{area}{birth.year:04d}{birth.month:02d}{birth.day:02d}"
        while True:
            first17 = f"{day}{_id_sequence(self.rng, male):03d}"
            key = int(first17)
            if key not in self.ids:
                self.ids.add(key)
                return first17 + resident_id_check(first17)

    def _permit(self, pid: str, district: int, home: str) -> None:
        rng = self.rng
        issued = dt.date.fromordinal(self.today_ord - rng.randrange(30, 5 * 365))
        if rng.random() < 0.85:
            valid_until = dt.date.fromordinal(self.today_ord + rng.randrange(30, 700))
        else:
            valid_until = max(
                dt.date.fromordinal(self.today_ord - rng.randrange(1, 400)), issued + dt.timedelta(180)
            )
        self.permit_serial += rng.randint(1, 20)
        code = DISTRICTS[district][0]
        self.sink.rows["residence_permit"].append(
            (
                pid,
                f"{code}{issued.year}{self.permit_serial:08d}",
                code,
                home,
                issued,
                valid_until,
                "有效" if valid_until >= self.today else "过期",
            )
        )


def _id_sequence(rng: Random, male: bool) -> int:
    """A GB 11643 sequence number: odd for men, even for women."""
    return rng.randrange(1, 500) * 2 - (1 if male else 0)


def generate(cfg: CityConfig) -> Iterator[Chunk]:
    """Yield (department, table, rows) chunks of at most ~50k rows, parents before children."""
    return Synth(cfg).chunks()


def samples_of(cfg: CityConfig) -> dict[str, object]:
    """The samples document of the city generate(cfg) yields (generates it, discarding rows)."""
    synth = Synth(cfg)
    for _ in synth.chunks():
        pass
    return synth.samples()


async def seed(dsns: Mapping[str, str], cfg: CityConfig) -> dict[str, object]:
    """Load a whole city into empty department databases and return its samples document.

    Chunks are generated in a worker thread while earlier chunks are copied, one
    connection per department, so Python and PostgreSQL work at the same time.
    """
    synth = Synth(cfg)
    chunks = synth.chunks()
    conns: dict[str, asyncpg.Connection] = {}
    pending: dict[str, asyncio.Task[str]] = {}
    try:
        for department in DEPARTMENTS:
            conns[department] = await asyncpg.connect(dsns[department])
        while (chunk := await asyncio.to_thread(next, chunks, None)) is not None:
            department, table, rows = chunk
            if department in pending:
                await pending[department]  # keeps each department's chunks in order
            pending[department] = asyncio.create_task(
                conns[department].copy_records_to_table(
                    table, records=rows, columns=list(COLUMNS[department][table])
                )
            )
        await asyncio.gather(*pending.values())
        await asyncio.gather(*(conn.execute("ANALYZE") for conn in conns.values()))
    finally:
        for task in pending.values():
            task.cancel()
        await asyncio.gather(*pending.values(), return_exceptions=True)
        await asyncio.gather(*(conn.close() for conn in conns.values()))
    return synth.samples()
