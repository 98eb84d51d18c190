"""What `govgraph audit synth` writes: a synthetic city's residents, households and
enterprises, asked about by the demo's clients through their registered operations, as the
gateway records those requests (AccessRecord), at the times a city's offices work.

The accesses mirror what the gateway records for each operation of documents/ under the
grants of policy.toml (tests/gateway/test_audit_synth.py holds them to both): the subjects
each operation reaches from the one asked (a child's guardians and household, an
enterprise's legal representative, an applicant's employer), the scopes read of each, the
verdicts concluded, and now and then an id that is not found, a household outside the grid
worker's district, a verdict asked with other arguments, a department that fails. Which
subject is asked follows a skewed (Zipf-like) distribution: a few are asked very often,
most rarely. Everything is drawn from seeded generators: the same seed gives the same city
and the same events.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from random import Random
from typing import Any

from gateway.audit.record import DEFAULT, AccessRecord, PolicyChange, access_fields, change_fields
from gateway.audit.suite import Suite
from resolvers.identifiers import CREDIT_CODE_ALPHABET, credit_code, resident_id

__all__ = ["Access", "Population", "Traffic", "population", "timeline"]

# Xiamen's districts (GB/T 2260) and their shares of residents and firms, as the demo city's.
DISTRICTS = ("350203", "350205", "350206", "350211", "350212", "350213")
DISTRICT_WEIGHTS = (0.20, 0.12, 0.19, 0.20, 0.16, 0.13)
JIMEI = "350211"  # the grid worker's district (policy.toml `jurisdiction`)
ORIGINS = ("360426", "350583", "350681", "350322", "430521", "511321", "350128", "441581")  # migrants' ids

# A person's or enterprise's look-up, and what a request reaching it reads, per operation
# (as the gateway records them; "x.*" is the scope of reaching a record of type x).
CHILD = ("education.enrollment", "education.student_status", "person.*", "person.family", "person.hukou",
         "person.identity")  # fmt: skip
GUARDIAN = ("person.identity", "person.residence_permit", "social_insurance.*")
INSURED = ("social_insurance.summary", "social_insurance.verdict")
APPLICANT = ("person.*", "person.identity", "social_insurance.*", "social_insurance.status")
EMPLOYER = ("enterprise.registration", "tax.rating.verdict")
MEMBER = ("education.student_status", "household.register", "person.contact", "person.identity",
          "person.residence_permit")  # fmt: skip
PROFILE = ("enterprise.*", "enterprise.insured_headcount", "enterprise.legal_representative",
           "enterprise.registration", "tax.payments", "tax.rating", "tax.registration")  # fmt: skip
CASHING = (*PROFILE, "credit.dishonesty.verdict", "credit.public", "credit.warning", "licence.enterprise")
REGISTER = "household.register"

# The verdicts and summaries the grants pin, with the arguments the gateway records.
CONTRIBUTED = {"months": 24, "within": 36, "onTimeOnly": True}
MONTHS = {"type": "PENSION", "since": None, "onTimeOnly": True}
GOOD_TAXPAYER = {"year": None, "grade": "B"}

# The registered operations (documents/manifest.json): name -> sha256 of the document, what
# the gateway records as the event's document_hash.
DOCUMENTS = {
    "EnrolmentReview": "1fb5bf8797a133bc59635e276f47340d099947245a041ee1b72c3b249217d91c",
    "EnterpriseProfile": "b89ee1d17d4a489c1fb023d732dab23f594fc2825830a2a27ec8518eb3c200dd",
    "HouseholdPrefill": "593d78f6b2f332b11b92c042ac369db3e946704dec38a1335f87a7d635c0329c",
    "PolicyCashingPrefill": "cde5f9893aa9268b865ee0b4c70b5ac357d6fb9cb14dcff398c105be7e636a7b",
    "SubjectAccess": "3be9e26e95398b8e84e166f312f7887356b3b4b1a6aed31762b753c0a140002e",
    "TalentCheck": "1334a9639e4c326157fcdd6853920ba46d85042849f74b4b4ef2920eb30451d2",
}
# The grants' bases (policy.toml); the auditor's grant has none.
BASES = {
    ("enrollment", "enrollment_review"): "共享申请批复 XM-GX-2026-0012 (demo): 《义务教育法》第十二条",
    ("talent-policy", "talent_subsidy"): "共享申请批复 XM-GX-2026-0031 (demo): 厦门市人才政策实施办法",
    ("grid-worker", "household_survey"): "共享申请批复 XM-GX-2026-0007 (demo): 《户口登记条例》",
    (
        "enterprise-desk",
        "enterprise_service",
    ): "共享申请批复 XM-GX-2026-0044 (demo): 《优化营商环境条例》第三十七条",
}
# Operation -> (client, purpose, share of the traffic).
OPERATIONS = {
    "EnrolmentReview": ("enrollment", "enrollment_review", 0.30),
    "TalentCheck": ("talent-policy", "talent_subsidy", 0.22),
    "HouseholdPrefill": ("grid-worker", "household_survey", 0.15),
    "EnterpriseProfile": ("enterprise-desk", "enterprise_service", 0.16),
    "PolicyCashingPrefill": ("enterprise-desk", "enterprise_service", 0.155),
    "SubjectAccess": ("auditor", "audit", 0.015),
}
POLICY_CHANGES = 1 / 25_000  # of a chain's events: renewals, approvals, revocations

NOT_FOUND = 0.03  # ids asked that no department knows (mistyped, moved away)
FAILED = 0.002  # requests whose department did not answer
OTHER_ARGUMENTS = 0.02  # talent checks asking the verdict with arguments the grant does not pin
OUTSIDE = 0.04  # grid workers' look-ups of a household outside their district
ZIPF = 0.75  # exponent of the subjects' popularity: weight of rank r is (r + 10) ** -ZIPF

# Offices' hours, local time (UTC+8): the share of an hour's traffic relative to 10 o'clock.
HOURS = (0.02, 0.01, 0.01, 0.01, 0.01, 0.02, 0.04, 0.15, 0.6, 1.0, 1.0, 0.9,
         0.4, 0.5, 0.95, 1.0, 0.95, 0.8, 0.35, 0.2, 0.15, 0.1, 0.05, 0.03)  # fmt: skip
WEEKEND = 0.15
LOCAL = dt.timedelta(hours=8)


@dataclass
class Access:
    """One event to write: an access as the gateway records it, or a change to the policy."""

    time: dt.datetime
    request_id: str
    access: AccessRecord | None = None
    outcome: str = "ok"
    response_hash: str = ""
    change: PolicyChange | None = None

    def fields(
        self, secret: bytes, suite: Suite = DEFAULT, key: Callable[[str], str] | None = None
    ) -> dict[str, Any]:
        """The event's columns but its place in the chain, as the writer makes them (`key`:
        the subject HMACs, from a cache)."""
        if self.access is not None:
            return access_fields(secret, self.access, self.outcome, self.response_hash, self.time, suite, key)
        if self.change is None:
            raise ValueError("an access without a record or a change")
        # A change's request id is drawn from the seed as an access's is, not from uuid4.
        return {**change_fields(self.change, self.time), "request_id": self.request_id}


class _Skewed:
    """Draws indexes 0..n-1, index i the i-th most popular, after a seeded shuffle."""

    def __init__(self, rng: Random, n: int) -> None:
        self.order = list(range(n))
        rng.shuffle(self.order)
        self.cumulative = list(itertools.accumulate((r + 10) ** -ZIPF for r in range(n)))
        self.total = self.cumulative[-1] if n else 0.0

    def draw(self, rng: Random) -> int:
        return self.order[bisect.bisect_right(self.cumulative, rng.random() * self.total) % len(self.order)]


@dataclass
class Population:
    """The city's subjects: adults in couples (family j: adults 2j and 2j+1), children of
    families, households of the first families (the others hold residence permits), and
    enterprises with a legal representative; each adult may work for one."""

    adults: list[str]
    children: list[str]
    households: list[str]  # household j belongs to family j
    enterprises: list[str]
    family_of: list[int]  # child -> family
    children_of: dict[int, list[int]]  # family -> its children
    single: set[int]  # families with one guardian
    elsewhere: set[int]  # adults of a household's family whose hukou is elsewhere (not members)
    insured: list[bool]  # per adult
    employer: list[int]  # adult -> enterprise, -1 for none
    representative: list[int]  # enterprise -> adult

    @property
    def size(self) -> int:
        return len(self.adults) + len(self.children) + len(self.households) + len(self.enterprises)

    def identifiers(self) -> list[str]:
        return [*self.adults, *self.children, *self.households, *self.enterprises]

    def guardians(self, family: int) -> list[int]:
        return [2 * family] if family in self.single else [2 * family, 2 * family + 1]

    def members(self, family: int) -> list[str]:
        """The ids of the people in family `family`'s household (it must have one)."""
        adults = [self.adults[a] for a in self.guardians(family) if a not in self.elsewhere]
        return adults + [self.children[c] for c in self.children_of.get(family, ())]


def population(seed: int, size: int) -> Population:
    """`size` subjects (at least 20): 10% households, 12% enterprises, of the people a fifth
    children; valid GB 11643 ids and GB 32100 codes, each distinct."""
    if size < 20:
        raise ValueError("a population has at least 20 subjects")
    rng = Random(f"{seed}:population")
    n_households, n_enterprises = size // 10, size * 12 // 100
    people = size - n_households - n_enterprises
    n_children = people // 5
    n_adults = people - n_children
    families = n_adults // 2
    n_households = min(n_households, families)
    n_enterprises = size - n_adults - n_children - n_households
    taken: set[str] = set()
    areas = [_district(rng) for _ in range(families + 1)]

    def person(area: str, born_from: int, born_to: int) -> str:
        while True:
            birth = dt.date.fromordinal(rng.randint(dt.date(born_from, 1, 1).toordinal(),
                                                    dt.date(born_to, 12, 31).toordinal()))  # fmt: skip
            pid = resident_id(area, birth, rng.randrange(1, 1000))
            if pid not in taken:
                taken.add(pid)
                return pid

    # A household's second adult may hold a hukou elsewhere, so not be one of its members.
    elsewhere = {2 * f + 1 for f in range(n_households) if rng.random() < 0.2}
    adults: list[str] = []
    for a in range(n_adults):
        family = a // 2
        local = (family < n_households and a not in elsewhere) or rng.random() < 0.3
        adults.append(person(areas[family] if local else rng.choice(ORIGINS), 1958, 2002))
    family_of = [rng.randrange(max(families, 1)) for _ in range(n_children)]
    children = [person(areas[f] if f < n_households else rng.choice(ORIGINS), 2011, 2020) for f in family_of]
    children_of: dict[int, list[int]] = {}
    for child, family in enumerate(family_of):
        children_of.setdefault(family, []).append(child)
    serials = {area: rng.randrange(10**6) for area in DISTRICTS}
    households: list[str] = []
    for family in range(n_households):
        serials[areas[family]] += rng.randint(1, 40)
        households.append(f"{areas[family]}{serials[areas[family]]:09d}")
    enterprises: list[str] = []
    while len(enterprises) < n_enterprises:
        recent = rng.random() < 0.6  # organisation codes issued since 2016 look like MA2XXXXXX
        body = (
            "MA" + "".join(rng.choices(CREDIT_CODE_ALPHABET, k=6))
            if recent
            else f"{rng.randrange(10**8):08d}"
        )
        code = credit_code("92" if rng.random() < 0.3 else "91", _district(rng), body)
        if code not in taken:
            taken.add(code)
            enterprises.append(code)
    return Population(
        adults=adults,
        children=children,
        households=households,
        enterprises=enterprises,
        family_of=family_of,
        children_of=children_of,
        single={f for f in range(families) if rng.random() < 0.12},
        elsewhere=elsewhere,
        insured=[rng.random() < 0.82 for _ in adults],
        employer=[rng.randrange(n_enterprises) if rng.random() < 0.8 else -1 for _ in adults],
        representative=[rng.randrange(n_adults) for _ in range(n_enterprises)],
    )


def _district(rng: Random) -> str:
    return rng.choices(DISTRICTS, DISTRICT_WEIGHTS)[0]


def timeline(rng: Random, count: int, start: dt.datetime, end: dt.datetime) -> Iterator[dt.datetime]:
    """`count` instants in [start, end), ascending, as busy as offices' hours and weekdays make
    them: the hours' shares of `count` by cumulative rounding, uniform within each hour."""
    bins = []
    low = start
    while low < end:
        high = min(low.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1), end)
        local = low + LOCAL
        weight = HOURS[local.hour] * (WEEKEND if local.weekday() >= 5 else 1.0)
        bins.append((low, (high - low).total_seconds(), weight * (high - low).total_seconds()))
        low = high
    total = sum(w for _, _, w in bins)
    done, cumulative = 0, 0.0
    for low, seconds, weight in bins:
        cumulative += weight
        upto = count if weight and cumulative >= total else round(count * cumulative / total)
        k, done = upto - done, upto
        micros = int(seconds * 1_000_000)
        for offset in sorted(rng.randrange(micros) for _ in range(k)):
            yield low + dt.timedelta(microseconds=offset)


class Traffic:
    """One gateway process's requests about `city`, drawn with `rng`: an endless supply of
    Access, at the times given. Who is popular is the city's (`seed`), the same in every
    process."""

    def __init__(self, city: Population, rng: Random, seed: int) -> None:
        self.city = city
        self.rng = rng
        order = Random(f"{seed}:popularity")
        self._children = _Skewed(order, len(city.children))
        self._adults = _Skewed(order, len(city.adults))
        self._enterprises = _Skewed(order, len(city.enterprises))
        jimei = [h for h, number in enumerate(city.households) if number.startswith(JIMEI)]
        self._jimei = jimei or list(range(len(city.households)))
        self._outside = [h for h, number in enumerate(city.households) if not number.startswith(JIMEI)]
        self._households = _Skewed(order, len(self._jimei))
        names = list(OPERATIONS)
        self._operations = names
        self._shares = list(itertools.accumulate(OPERATIONS[n][2] for n in names))
        self._build = {
            "EnrolmentReview": self._enrolment,
            "TalentCheck": self._talent,
            "HouseholdPrefill": self._household,
            "EnterpriseProfile": self._profile,
            "PolicyCashingPrefill": self._cashing,
            "SubjectAccess": self._subject_access,
        }

    def access(self, time: dt.datetime) -> Access:
        rng = self.rng
        request_id = f"{rng.getrandbits(128):032x}"
        if rng.random() < POLICY_CHANGES:
            return Access(time, request_id, change=self._change())
        name = self._operations[bisect.bisect_right(self._shares, rng.random() * self._shares[-1])]
        client, purpose, _ = OPERATIONS[name]
        record = AccessRecord(
            request_id=request_id,
            client=client,
            purpose=purpose,
            case_id=None,
            operator=None,
            operation=name,
            document_hash=DOCUMENTS[name],
            basis=BASES.get((client, purpose)),
        )
        outcome = self._build[name](record, time.year)
        return Access(time, request_id, record, outcome, f"{rng.getrandbits(256):064x}")

    # --- the operations, as the gateway records them -------------------------------------

    def _missing_person(self, born_from: int, born_to: int) -> str:
        rng = self.rng
        birth = dt.date(rng.randint(born_from, born_to), rng.randint(1, 12), rng.randint(1, 28))
        return resident_id(_district(rng), birth, rng.randrange(1, 1000))

    def _failed(self, record: AccessRecord, identifier: str) -> str:
        record.lookup(identifier, "failed")
        return "error"

    def _enrolment(self, record: AccessRecord, year: int) -> str:
        rng, city = self.rng, self.city
        record.case_id = f"ENR-{year}-{rng.randrange(1, 60_000):06d}"
        asked = 1 if rng.random() < 0.9 else 2
        for _ in range(asked):
            if rng.random() < NOT_FOUND:
                record.lookup(self._missing_person(2011, 2020), "not_found")
                continue
            child = self._children.draw(rng)
            if rng.random() < FAILED:
                return self._failed(record, city.children[child])
            self._review(record, child)
        return "ok"

    def _review(self, record: AccessRecord, child: int) -> None:
        city, rng = self.city, self.rng
        family = city.family_of[child]
        pid = city.children[child]
        record.lookup(pid, "found")
        local = family < len(city.households)
        record.subjects[pid] = set(CHILD) | ({REGISTER} if local else set())
        guardians = city.guardians(family)
        for adult in guardians:
            guardian = city.adults[adult]
            scopes = set(GUARDIAN)
            if city.insured[adult]:
                scopes.update(INSURED)
                months = rng.randint(24, 36) if rng.random() < 0.75 else rng.randint(0, 23)
                record.conclude(guardian, "SocialInsurance.monthsContributed", MONTHS, months)
                record.conclude(guardian, "SocialInsurance.hasContributed", CONTRIBUTED, months >= 24)
            if local and adult not in city.elsewhere:
                scopes.add(REGISTER)
            record.subjects[guardian] = scopes
        if local:  # the household and its members, as the review lists them
            record.subjects[city.households[family]] = {REGISTER}
            for member in city.members(family):
                record.subjects.setdefault(member, {REGISTER, "person.identity"})

    def _talent(self, record: AccessRecord, year: int) -> str:
        rng, city = self.rng, self.city
        record.case_id = f"RCBT-{year}-{rng.randrange(1, 200_000):06d}"
        if rng.random() < NOT_FOUND:
            record.lookup(self._missing_person(1958, 2002), "not_found")
            return "ok"
        adult = self._adults.draw(rng)
        pid = city.adults[adult]
        if rng.random() < FAILED:
            return self._failed(record, pid)
        record.lookup(pid, "found")
        scopes = set(APPLICANT) if city.insured[adult] else set(APPLICANT) - {"social_insurance.status"}
        record.subjects[pid] = scopes
        outcome = "ok"
        if city.insured[adult]:
            if rng.random() < OTHER_ARGUMENTS:  # refused: the grant pins 24 of 36 months
                record.deny("person.socialInsurance.eligible", "social_insurance.verdict")
                outcome = "partial"
            else:
                scopes.add("social_insurance.verdict")
                record.conclude(pid, "SocialInsurance.hasContributed", CONTRIBUTED, rng.random() < 0.7)
            employer = city.employer[adult]
            if employer >= 0:
                code = city.enterprises[employer]
                record.subjects[code] = set(EMPLOYER)
                record.conclude(code, "Enterprise.taxCreditAtLeast", GOOD_TAXPAYER, rng.random() < 0.85)
        return outcome

    def _household(self, record: AccessRecord, year: int) -> str:
        rng, city = self.rng, self.city
        record.operator = f"JM-{rng.randrange(1, 61):04d}"
        if rng.random() < OUTSIDE and self._outside:
            record.lookup(city.households[rng.choice(self._outside)], "out_of_jurisdiction")
            record.deny("household", "jurisdiction")
            return "denied"
        if rng.random() < NOT_FOUND:  # not found and not yours look the same
            record.lookup(f"{JIMEI}{rng.randrange(10**9):09d}", "not_found")
            record.deny("household", "jurisdiction")
            return "denied"
        family = self._jimei[self._households.draw(rng)]
        number = city.households[family]
        if rng.random() < FAILED:
            return self._failed(record, number)
        record.lookup(number, "found")
        record.subjects[number] = {REGISTER}
        for pid in city.members(family):
            record.subjects[pid] = set(MEMBER)
        return "ok"

    def _enterprise(self, record: AccessRecord, scopes: tuple[str, ...]) -> str:
        rng, city = self.rng, self.city
        if rng.random() < NOT_FOUND:
            code = credit_code("91", _district(rng), "MA" + "".join(rng.choices(CREDIT_CODE_ALPHABET, k=6)))
            record.lookup(code, "not_found")
            return "ok"
        firm = self._enterprises.draw(rng)
        code = city.enterprises[firm]
        if rng.random() < FAILED:
            return self._failed(record, code)
        record.lookup(code, "found")
        record.subjects[code] = set(scopes)
        record.subjects[city.adults[city.representative[firm]]] = {"person.identity"}
        return "ok"

    def _profile(self, record: AccessRecord, year: int) -> str:
        record.operator = f"QYFW-{self.rng.randrange(1, 13):03d}"
        return self._enterprise(record, PROFILE)

    def _cashing(self, record: AccessRecord, year: int) -> str:
        record.case_id = f"ZCDX-{year}-{self.rng.randrange(1, 100_000):06d}"
        return self._enterprise(record, CASHING)

    def _subject_access(self, record: AccessRecord, year: int) -> str:
        rng, city = self.rng, self.city
        record.case_id = f"SAR-{year}-{rng.randrange(1, 5_000):04d}"
        record.operator = f"DPO-{rng.randrange(1, 4):02d}"
        if rng.random() < 0.85:
            subject = city.adults[self._adults.draw(rng)]
        else:
            subject = city.enterprises[self._enterprises.draw(rng)]
        record.read(subject, "audit.read")
        return "ok"

    def _change(self) -> PolicyChange:
        rng = self.rng
        (client, purpose), basis = rng.choice(list(BASES.items()))
        action = rng.choices(("renew", "approve", "revoke", "role_grant"), (6, 3, 1, 1))[0]
        reference = basis.split(" ")[1]
        detail: dict[str, Any] = {"reason": f"{action} by the data office"}
        if action in ("renew", "approve"):
            detail["expires"] = f"{rng.randint(2027, 2029)}-12-31"
        if action == "role_grant":
            person = f"staff.{rng.randrange(100, 999)}"
            return PolicyChange(
                action, "admin.chen", "-", "-", None, None, {"role": "reviewer", "person": person}
            )
        actor = f"officer.{rng.randrange(1, 9):02d}"
        return PolicyChange(action, actor, client, purpose, reference, basis, detail)
