"""The public_security department: families, households, residence permits and the people in them.

Local families share a 户籍 household; migrant families hold residence permits instead.
Adults and school-age children are summarised in the City for the later phases.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from random import Random
from typing import NamedTuple

from resolvers.identifiers import resident_id

from .city import Adult, City, Kid
from .config import CHUNK
from .dates import age as age_on
from .dates import years_after
from .names import (
    DISTRICT_WEIGHTS,
    DISTRICTS,
    ETHNICITIES,
    FEMALE_CHARS,
    MALE_CHARS,
    MIGRANT_ORIGINS,
    NEUTRAL_CHARS,
    SURNAMES,
    VILLAGES,
    birth_area,
    street_address,
)
from .rows import Chunk, Sink

__all__ = ["generate"]

Pairs = list[tuple[int, int, str]]  # (child index, guardian index, relation) into a family's specs


def generate(city: City, rng: Random) -> Iterator[Chunk]:
    """Families until the city has `cfg.persons` people: 14% migrant, 2% collective, the rest local."""
    people = _Population(city, rng)
    while city.persons < city.cfg.persons:
        r = rng.random()
        if r < 0.14:
            people.migrant_family()
        elif r < 0.16:
            people.collective()
        else:
            people.local_family()
        yield from people.sink.drain(CHUNK)
    yield from people.sink.drain()


class _Spec(NamedTuple):
    """A family member before it becomes a person row."""

    relation: str
    male: bool
    birth: dt.date
    surname: str
    ethnicity: str
    status: str = "正常"


class _Population:
    """Families, households and their people, written to the public_security sink."""

    def __init__(self, city: City, rng: Random) -> None:
        self.city, self.rng = city, rng
        self.sink = Sink("public_security")
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
            if age_on(spec.birth, self.today) >= 16:
                self._permit(pid, district, home)
        pairs = self._pairs(specs, parents, range(len(parents), len(specs)))
        self._guardianship(specs, pids, pairs, district, migrant=True)

    # building blocks

    def _nuclear(self) -> tuple[list[_Spec], Pairs]:
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

    def _three_generations(self) -> tuple[list[_Spec], Pairs]:
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
    def _pairs(specs: list[_Spec], parents: range, children: range, relation: str = "") -> Pairs:
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
        return age_on(spec.birth, self.today)

    def _district(self) -> int:
        return self.rng.choices(self.districts, cum_weights=self.district_cum)[0]

    def _household(self, specs: list[_Spec], guardians: Pairs, kind: str) -> None:
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
        lo = max(dt.date(1985, 1, 1), years_after(specs[0].birth, 18)).toordinal()
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
        self, specs: list[_Spec], pids: list[str], pairs: Pairs, district: int, migrant: bool
    ) -> None:
        """Guardianship rows of the minors among `specs`; school-age ones become the city's kids."""
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
                city.kids.append(Kid(pids[child], entry, district, migrant, guardians))

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
        name = spec.surname + given
        self.sink.rows["person"].append(
            (
                pid,
                name,
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
            captured = max(self.today_ord - rng.randrange(1, 3650), years_after(spec.birth, 16).toordinal())
            ref = f"ps://portrait/{rng.getrandbits(64):016x}"
            self.sink.rows["portrait"].append((pid, ref, dt.date.fromordinal(captured)))
        if age >= 18 and spec.status == "正常":
            adult = Adult(pid, spec.birth, spec.male, migrant, name)
            (city.adults if age <= 64 else city.elders).append(adult)
        return pid

    def _resident_id(self, area: str, birth: dt.date, male: bool) -> str:
        while True:
            pid = resident_id(area, birth, _id_sequence(self.rng, male))
            key = int(pid[:17])
            if key not in self.ids:
                self.ids.add(key)
                return pid

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
        number = f"{code}{issued.year}{self.permit_serial:08d}"
        status = "有效" if valid_until >= self.today else "过期"
        self.sink.rows["residence_permit"].append((pid, number, code, home, issued, valid_until, status))


def _id_sequence(rng: Random, male: bool) -> int:
    """A GB 11643 sequence number: odd for men, even for women."""
    return rng.randrange(1, 500) * 2 - (1 if male else 0)
