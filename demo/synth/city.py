"""What later phases know of earlier ones: compact summaries of people and enterprises, and samples.

Rows are never kept here, so a 1,000,000-person city streams in bounded memory.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from .config import CASES, HISTORY, SAMPLE_SIZE, CityConfig
from .dates import mnum, ym

__all__ = ["Adult", "City", "Decision", "Enterprise", "Kid"]


class Adult(NamedTuple):
    """A person of 18 or older with status 正常 (in `City.adults` when 18..64: a candidate
    worker and legal representative; in `City.elders` when older)."""

    pid: str
    birth: dt.date
    male: bool
    migrant: bool
    name: str


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
    trade: str  # the industry word or shop in its name (科技, 小吃店 ...): what it needs licences for


class Decision(NamedTuple):
    """A licensing decision of the credit centre's publication window (双公示), as the
    licence library's phase leaves it for the credit phase."""

    prefix: str  # the authority's abbreviation in decision numbers, e.g. 厦市监许
    title: str
    category: str
    content: str
    decided: dt.date  # also the day the licence is valid from
    valid_until: dt.date | None
    authority: str


class City:
    """The city as the phases build it: its calendar, the summaries they share, and its samples."""

    def __init__(self, cfg: CityConfig) -> None:
        self.cfg = cfg
        self.today = cfg.as_of
        self.w0 = mnum(cfg.as_of) - HISTORY  # month number of the first history month
        self.periods = [ym(self.w0 + i) for i in range(HISTORY)]
        self.school_year = self.today.year if self.today.month >= 9 else self.today.year - 1
        self.adults: list[Adult] = []  # written by the population, read by market and insurance
        self.elders: list[Adult] = []  # 65 and older; written by the population, read by certificates
        self.kids: list[Kid] = []
        self.guardians: set[str] = set()
        self.guardian_employer: dict[str, int] = {}  # paying guardian -> enterprise index
        self.ents: list[Enterprise] = []
        self.rated: list[bool] = []  # per enterprise: has a tax credit rating
        self.d_rated: dict[str, dt.date] = {}  # credit code -> publication of its first D rating
        self.arrears: set[str] = set()  # credit codes that owe tax
        self.decisions: dict[str, list[Decision]] = {}  # credit code -> its licensing decisions lately
        self.persons = 0
        self.cases: dict[str, dict[str, None]] = {case: {} for case in CASES}

    def sample(self, case: str, value: str) -> None:
        """Note `value` as an example of `case`, unless that case has enough examples already."""
        found = self.cases[case]
        if len(found) < SAMPLE_SIZE:
            found[value] = None
