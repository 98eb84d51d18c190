"""What later phases know of earlier ones: compact summaries of people and enterprises, and samples.

Rows are never kept here, so a 1,000,000-person city streams in bounded memory.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from .config import CASES, HISTORY, SAMPLE_SIZE, CityConfig
from .dates import mnum, ym

__all__ = ["Adult", "City", "Enterprise", "Kid"]


class Adult(NamedTuple):
    """An 18..64-year-old with status 正常: a candidate worker and legal representative."""

    pid: str
    birth: dt.date
    male: bool
    migrant: bool


class Kid(NamedTuple):
    """A school-age child, or one applying for a school this year."""

    pid: str
    entry_year: int  # the September the child starts (or started) grade 1
    district: int  # index into DISTRICTS of where the child lives
    migrant: bool
    guardians: tuple[str, ...]


class Enterprise(NamedTuple):
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


class City:
    """The city as the phases build it: its calendar, the summaries they share, and its samples."""

    def __init__(self, cfg: CityConfig) -> None:
        self.cfg = cfg
        self.today = cfg.as_of
        self.w0 = mnum(cfg.as_of) - HISTORY  # month number of the first history month
        self.periods = [ym(self.w0 + i) for i in range(HISTORY)]
        self.school_year = self.today.year if self.today.month >= 9 else self.today.year - 1
        self.adults: list[Adult] = []  # written by the population, read by market and insurance
        self.kids: list[Kid] = []
        self.guardians: set[str] = set()
        self.guardian_employer: dict[str, int] = {}  # paying guardian -> enterprise index
        self.ents: list[Enterprise] = []
        self.rated: list[bool] = []  # per enterprise: has a tax credit rating
        self.persons = 0
        self.cases: dict[str, dict[str, None]] = {case: {} for case in CASES}

    def sample(self, case: str, value: str) -> None:
        """Note `value` as an example of `case`, unless that case has enough examples already."""
        found = self.cases[case]
        if len(found) < SAMPLE_SIZE:
            found[value] = None
