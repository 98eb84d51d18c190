"""The education department: schools, student status, and this year's enrolment applications.

Applications are for grade 1 (children turning 6 by 31 August) and grade 7; a migrant
child usually enrols through the points system (积分入学).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from random import Random

from .city import City, Kid
from .config import CHUNK
from .names import DISTRICTS, chinese_number, office_address
from .rows import Chunk, Sink

__all__ = ["generate"]

TZ = dt.timezone(dt.timedelta(hours=8))
_LEVELS = ("PRIMARY", "JUNIOR")
_STAGES = ("小学一年级", "初中一年级")  # what applications at each level are for
_STYLES = (("实验小学", "小学", "中心小学", "外国语小学"), ("中学", "实验中学", "外国语中学"))


def generate(city: City, rng: Random) -> Iterator[Chunk]:
    """Schools first, then every kid: maybe an application, maybe a student status."""
    bureau = _Bureau(city, rng)
    for kid in city.kids:
        grade = city.school_year - kid.entry_year + 1
        admitted, applied = bureau.apply(kid)
        enrolled = 1 <= grade <= 9 and (rng.random() < 0.95 or admitted is not None)
        if enrolled:
            bureau.enrol(kid, grade, admitted)
        if enrolled or applied:
            bureau.sample(kid)
        yield from bureau.sink.drain(CHUNK)
    yield from bureau.sink.drain()


class _Bureau:
    """The district schools, and the education sink kids are written into."""

    def __init__(self, city: City, rng: Random) -> None:
        self.city, self.rng = city, rng
        self.sink = Sink("education")
        self.year = year = city.today.year
        # district -> (primary codes, junior codes)
        self.schools: list[tuple[list[str], list[str]]] = [self._schools(d) for d in range(len(DISTRICTS))]
        self.every = ([s for d in self.schools for s in d[0]], [s for d in self.schools for s in d[1]])
        self.decided = city.today >= dt.date(year, 8, 1)
        self.opens = dt.datetime(year, 5, 10, 8, tzinfo=TZ)
        today = city.today
        self.latest = dt.datetime(today.year, today.month, today.day, tzinfo=TZ) - dt.timedelta(hours=1)
        self.serial = rng.randrange(10**6)

    def _schools(self, d: int) -> tuple[list[str], list[str]]:
        """District d's primary and junior schools, about 4 and 2 per 20,000 people."""
        rng = self.rng
        code, district = DISTRICTS[d]
        scale = self.city.cfg.persons / 20_000
        schools: tuple[list[str], list[str]] = ([], [])
        for level, count in ((0, max(2, round(4 * scale))), (1, max(1, round(2 * scale)))):
            for k in range(1, count + 1):
                school = f"{code}{level * 5000 + k:04d}"
                schools[level].append(school)
                name = f"厦门市{district}第{chinese_number(k)}{rng.choice(_STYLES[level])}"
                address = office_address(rng, d)
                capacity = rng.randint(18, 48) * (45 if level == 0 else 50)
                self.sink.rows["school"].append((school, name, code, _LEVELS[level], address, capacity))
                self.city.sample("school", school)
        return schools

    def apply(self, kid: Kid) -> tuple[str | None, bool]:
        """(school admitted to, applied): 92% of children starting grade 1 or 7 this year apply."""
        rng = self.rng
        stage = 0 if kid.entry_year == self.year else 1 if kid.entry_year + 6 == self.year else -1
        if stage < 0 or rng.random() >= 0.92:
            return None, False
        choice = rng.choice(self.schools[kid.district][stage])
        if self.decided:
            result = rng.choices(("已录取", "未录取", "审核中"), (88, 7, 5))[0]
        else:
            result = rng.choice(("已提交", "审核中"))
        submitted = min(self.opens + dt.timedelta(seconds=rng.randrange(25 * 86_400)), self.latest)
        self._application(kid, stage, choice, submitted, result)
        # A second application is flagged by the system; tiny cities still get a few.
        if rng.random() < 0.04 or len(self.city.cases["duplicate_application"]) < 3:
            self._duplicate(kid, stage, choice, submitted)
        return (choice if result == "已录取" else None), True

    def _duplicate(self, kid: Kid, stage: int, choice: str, submitted: dt.datetime) -> None:
        rng = self.rng
        others = [s for s in self.schools[kid.district][stage] if s != choice] or [
            s for s in self.every[stage] if s != choice
        ]
        self.serial += rng.randint(1, 3)
        school = rng.choice(others)
        again = min(submitted + dt.timedelta(hours=rng.randint(1, 240)), self.latest)
        self._row(kid, stage, school, again, "重复报名")
        self.city.sample("duplicate_application", kid.pid)

    def _application(self, kid: Kid, stage: int, school: str, submitted: dt.datetime, status: str) -> None:
        self.serial += self.rng.randint(1, 3)
        self._row(kid, stage, school, submitted, status)

    def _row(self, kid: Kid, stage: int, school: str, submitted: dt.datetime, status: str) -> None:
        """An enrollment_application row numbered with the current serial."""
        number, district = f"{self.year}{self.serial:08d}", DISTRICTS[kid.district][0]
        guardian, stage_name = kid.guardians[0], _STAGES[stage]
        row = (number, kid.pid, self.year, stage_name, school, district, guardian, submitted, status)
        self.sink.rows["enrollment_application"].append(row)

    def enrol(self, kid: Kid, grade: int, admitted: str | None) -> None:
        """A student_status row: grade 1 or 7 this year in the school applied to, if admitted."""
        rng, city = self.rng, self.city
        level = 0 if grade <= 6 else 1
        if admitted is not None and city.school_year == self.year:
            school = admitted
        else:
            school = rng.choice(self.schools[kid.district][level])
        if kid.migrant:
            mode = rng.choices(("积分入学", "就近入学", "其他"), (70, 20, 10))[0]
        else:
            mode = "就近入学" if rng.random() < 0.9 else "其他"
        class_no = rng.randint(1, 8)
        status = rng.choices(("在读", "休学", "转出"), (97, 1, 2))[0]
        boarding = rng.random() < (0.08 if level else 0.01)
        enrolled = f"{kid.entry_year + 6 * level}09"
        self.sink.rows["student_status"].append(
            (kid.pid, "G" + kid.pid, school, grade, class_no, enrolled, status, boarding, mode, kid.migrant)
        )

    def sample(self, kid: Kid) -> None:
        """Migrant children, and children all of whose guardians work for a rated enterprise."""
        city = self.city
        if kid.migrant:
            city.sample("migrant_child", kid.pid)
        jobs = city.guardian_employer
        if all(g in jobs and city.rated[jobs[g]] for g in kid.guardians):
            city.sample("family_child", kid.pid)
