# mypy: disallow-untyped-decorators=False
"""The `floor` variant: bare Strawberry answering the benchmark's query shapes from memory.

Its own small types mirror the graph's shapes (same field names, same derived values)
and resolve synchronously from records held in a dict: no sources, no loaders, no
policy, no audit. At start-up it reads, once, every record the workload needs, by
running each operation's `direct` traversal against the departments (no latency) into
one shared store. It has the gateway's parser and validation caches. What the gateway
costs above this is the price of federation, policy and audit.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import decimal
import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NewType

import strawberry
from starlette.applications import Starlette
from starlette.routing import Route
from strawberry.asgi import GraphQL
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.schema.config import StrawberryConfig

from sources.base import Record, Result

from .backends import Departments, department_specs
from .operations import (
    ENTERPRISE_STATUS,
    GENDER,
    GRADES,
    INSURANCE_STATUS,
    OPERATIONS,
    Request,
    district_name,
    has_contributed,
    latest_rating,
    months_contributed,
    permit_valid,
    today_cst,
)
from .operations import age as age_of

__all__ = ["Store", "build_app", "load_store"]

Store = dict[str, dict[str, Result]]

ResidentId = NewType("ResidentId", str)
CreditCode = NewType("CreditCode", str)
# Same names as the gateway's scalars, so the same documents validate; no checksum here.
SCALARS: dict[object, Any] = {
    ResidentId: strawberry.scalar(name="ResidentId", serialize=str, parse_value=str),
    CreditCode: strawberry.scalar(name="CreditCode", serialize=str, parse_value=str),
}


@dataclass
class FloorContext:
    store: Store
    today: dt.date

    def one(self, entity: str, key: str | None) -> Record | None:
        r = None if key is None else self.store.get(entity, {}).get(key)
        return r if isinstance(r, dict) else None

    def many(self, entity: str, key: str | None) -> list[Record]:
        r = None if key is None else self.store.get(entity, {}).get(key)
        return r if isinstance(r, list) else []


Info = strawberry.Info[FloorContext, None]


@strawberry.enum
class Gender(enum.Enum):
    MALE = "MALE"
    FEMALE = "FEMALE"


@strawberry.enum
class InsuranceStatus(enum.Enum):
    PAYING = "PAYING"
    SUSPENDED = "SUSPENDED"
    TERMINATED = "TERMINATED"


@strawberry.enum
class EnterpriseStatus(enum.Enum):
    ACTIVE = "ACTIVE"
    DEREGISTERED = "DEREGISTERED"
    REVOKED = "REVOKED"


@strawberry.enum
class TaxCreditGrade(enum.Enum):
    A = "A"
    B = "B"
    M = "M"
    C = "C"
    D = "D"


def _date(value: Any) -> dt.date | None:
    return None if value is None else dt.date.fromisoformat(str(value)[:10])


@strawberry.type
class District:
    code: str
    name: str | None


def _district(code: str | None) -> District | None:
    return None if code is None else District(code=code, name=district_name(code))


@strawberry.type
class School:
    code: str
    name: str | None


def _school(info: Info, code: str | None) -> School | None:
    r = info.context.one("school", code)
    return None if r is None else School(code=r["code"], name=r.get("name"))


@strawberry.type
class StudentStatus:
    student_number: str
    grade: int | None
    _r: strawberry.Private[Record]

    @strawberry.field
    def school(self, info: Info) -> School | None:
        return _school(info, self._r.get("school_code"))


@strawberry.type
class EnrollmentApplication:
    number: str
    year: int
    stage: str | None
    status: str | None
    _r: strawberry.Private[Record]

    @strawberry.field
    def school(self, info: Info) -> School | None:
        return _school(info, self._r.get("school_code"))


@strawberry.type
class ResidencePermit:
    number: str
    valid_until: dt.date | None
    _r: strawberry.Private[Record]

    @strawberry.field
    def is_valid(self, info: Info) -> bool:
        return permit_valid(self._r, info.context.today)


@strawberry.type
class TaxCreditRating:
    year: int
    grade: TaxCreditGrade
    score: int | None


def _rating(r: Record) -> TaxCreditRating:
    return TaxCreditRating(year=r["year"], grade=TaxCreditGrade(r["grade"]), score=r.get("score"))


@strawberry.type
class AnnualReport:
    year: int
    status: str | None
    employees: int | None


@strawberry.type
class TaxRegistration:
    taxpayer_number: str
    kind: str | None
    tax_authority: str | None
    status: str | None


@strawberry.type
class TaxArrear:
    tax_type: str
    amount: decimal.Decimal | None
    since: str | None


@strawberry.type
class Enterprise:
    credit_code: CreditCode
    name: str | None
    type: str | None
    status: EnterpriseStatus | None
    registered_capital: decimal.Decimal | None
    established_on: dt.date | None
    _r: strawberry.Private[Record]

    @classmethod
    def of(cls, r: Record) -> Enterprise:
        status = ENTERPRISE_STATUS.get(r.get("status") or "")
        capital = r.get("registered_capital")
        return cls(
            credit_code=CreditCode(r["credit_code"]),
            name=r.get("name"),
            type=r.get("kind"),
            status=None if status is None else EnterpriseStatus(status),
            registered_capital=None if capital is None else decimal.Decimal(str(capital)),
            established_on=_date(r.get("established_on")),
            _r=r,
        )

    @strawberry.field
    def district(self) -> District | None:
        return _district(self._r.get("district"))

    @strawberry.field
    def legal_representative(self, info: Info) -> Person | None:
        r = info.context.one("person", self._r.get("legal_rep_id"))
        return None if r is None else Person.of(r)

    @strawberry.field
    def annual_reports(self, info: Info) -> list[AnnualReport]:
        rows = sorted(info.context.many("annual_reports", self.credit_code), key=lambda r: int(r["year"]))
        return [
            AnnualReport(year=r["year"], status=r.get("status"), employees=r.get("employees")) for r in rows
        ]

    @strawberry.field
    def tax_registration(self, info: Info) -> TaxRegistration | None:
        r = info.context.one("taxpayer", self.credit_code)
        if r is None:
            return None
        return TaxRegistration(
            taxpayer_number=r["taxpayer_no"],
            kind=r.get("kind"),
            tax_authority=r.get("tax_authority"),
            status=r.get("status"),
        )

    @strawberry.field
    def tax_credit_ratings(self, info: Info) -> list[TaxCreditRating]:
        rows = sorted(info.context.many("credit_ratings", self.credit_code), key=lambda r: int(r["year"]))
        return [_rating(r) for r in rows]

    @strawberry.field
    def tax_credit_rating(self, info: Info) -> TaxCreditRating | None:
        r = latest_rating(info.context.many("credit_ratings", self.credit_code))
        return None if r is None else _rating(r)

    @strawberry.field
    def tax_credit_at_least(self, info: Info, grade: TaxCreditGrade) -> bool | None:
        r = latest_rating(info.context.many("credit_ratings", self.credit_code))
        return None if r is None else GRADES.index(r["grade"]) <= GRADES.index(grade.value)

    @strawberry.field
    def tax_arrears(self, info: Info) -> list[TaxArrear]:
        return [
            TaxArrear(
                tax_type=r["tax_type"],
                amount=None if r.get("amount") is None else decimal.Decimal(str(r["amount"])),
                since=None if r.get("since") is None else f"{r['since'][:4]}-{r['since'][4:6]}",
            )
            for r in info.context.many("arrears", self.credit_code)
        ]

    @strawberry.field
    def insured_headcount(self, info: Info) -> int | None:
        rows = info.context.many("employer_headcount", self.credit_code)
        return int(max(rows, key=lambda r: str(r["month"]))["headcount"]) if rows else None


@strawberry.type
class SocialInsurance:
    status: InsuranceStatus | None
    _r: strawberry.Private[Record]

    @strawberry.field
    def months_contributed(self, info: Info) -> int:
        return months_contributed(info.context.many("contributions", self._r["person_id"]))

    @strawberry.field
    def has_contributed(self, info: Info, months: int, within: int) -> bool:
        rows = info.context.many("contributions", self._r["person_id"])
        return has_contributed(rows, months, within, info.context.today)

    @strawberry.field
    def current_employer(self, info: Info) -> Enterprise | None:
        r = info.context.one("enterprise", self._r.get("current_employer"))
        return None if r is None else Enterprise.of(r)


@strawberry.type
class HouseholdMember:
    relation: str | None
    person: Person | None


@strawberry.type
class Household:
    number: str
    address: str | None
    kind: str | None
    _r: strawberry.Private[Record]

    @strawberry.field
    def district(self) -> District | None:
        return _district(self._r.get("district"))

    @strawberry.field
    def members(self, info: Info) -> list[HouseholdMember]:
        out = []
        for m in info.context.many("household_members", self.number):
            p = info.context.one("person", m["person_id"])
            out.append(
                HouseholdMember(relation=m.get("relation"), person=None if p is None else Person.of(p))
            )
        return out


@strawberry.type
class Person:
    id: ResidentId
    name: str | None
    phone: str | None
    residence_address: str | None
    _r: strawberry.Private[Record]

    @classmethod
    def of(cls, r: Record) -> Person:
        return cls(
            id=r["id"],
            name=r.get("name"),
            phone=r.get("phone"),
            residence_address=r.get("residence_address"),
            _r=r,
        )

    @strawberry.field
    def gender(self) -> Gender | None:
        g = GENDER.get(self._r.get("gender") or "")
        return None if g is None else Gender(g)

    @strawberry.field
    def age(self, info: Info) -> int | None:
        return age_of(self._r.get("birth_date"), info.context.today)

    @strawberry.field
    def has_local_hukou(self) -> bool:
        return self._r.get("household_no") is not None

    @strawberry.field
    def hukou_district(self) -> District | None:
        return _district(self._r.get("hukou_district"))

    @strawberry.field
    def household(self, info: Info) -> Household | None:
        r = info.context.one("household", self._r.get("household_no"))
        return (
            None
            if r is None
            else Household(number=r["number"], address=r.get("address"), kind=r.get("kind"), _r=r)
        )

    @strawberry.field
    def student_status(self, info: Info) -> StudentStatus | None:
        r = info.context.one("student_status", self.id)
        return (
            None if r is None else StudentStatus(student_number=r["student_no"], grade=r.get("grade"), _r=r)
        )

    @strawberry.field
    def enrollment_applications(self, info: Info, year: int | None = None) -> list[EnrollmentApplication]:
        return [
            EnrollmentApplication(
                number=r["application_no"], year=r["year"], stage=r.get("stage"), status=r.get("status"), _r=r
            )
            for r in info.context.many("enrollment_applications", self.id)
            if year is None or r["year"] == year
        ]

    @strawberry.field
    def guardians(self, info: Info) -> list[Person]:
        out = []
        for link in info.context.many("guardians", self.id):
            r = info.context.one("person", link["guardian_id"])
            if r is not None:
                out.append(Person.of(r))
        return out

    @strawberry.field
    def residence_permit(self, info: Info) -> ResidencePermit | None:
        r = info.context.one("residence_permit", self.id)
        return (
            None
            if r is None
            else ResidencePermit(number=r["permit_no"], valid_until=_date(r.get("valid_until")), _r=r)
        )

    @strawberry.field
    def social_insurance(self, info: Info) -> SocialInsurance | None:
        r = info.context.one("insured_person", self.id)
        if r is None:
            return None
        status = INSURANCE_STATUS.get(r.get("status") or "")
        return SocialInsurance(status=None if status is None else InsuranceStatus(status), _r=r)


@strawberry.type
class Query:
    @strawberry.field
    def person(self, info: Info, id: ResidentId) -> Person | None:
        r = info.context.one("person", id)
        return None if r is None else Person.of(r)

    @strawberry.field
    def persons(self, info: Info, ids: list[ResidentId]) -> list[Person | None]:
        out: list[Person | None] = []
        for i in ids:
            r = info.context.one("person", i)
            out.append(None if r is None else Person.of(r))
        return out

    @strawberry.field
    def household(self, info: Info, number: str) -> Household | None:
        r = info.context.one("household", number.strip())
        return (
            None
            if r is None
            else Household(number=r["number"], address=r.get("address"), kind=r.get("kind"), _r=r)
        )

    @strawberry.field
    def enterprise(self, info: Info, credit_code: CreditCode) -> Enterprise | None:
        r = info.context.one("enterprise", credit_code)
        return None if r is None else Enterprise.of(r)


async def load_store(env: Mapping[str, str], workload: Mapping[str, list[dict[str, Any]]]) -> Store:
    """Every record the workload reads, fetched once from the departments."""
    departments = Departments(department_specs(env))
    await departments.open()
    store: Store = {}
    try:
        for name, variables in workload.items():
            op = OPERATIONS[name]
            for v in variables:
                await op.direct(Request(departments.fetch, store), v)
    finally:
        await departments.aclose()
    return store


def build_app(store: Store) -> Starlette:
    # The gateway's parser and validation caches: a floor should not pay what the gateway need not.
    schema = strawberry.Schema(
        query=Query,
        config=StrawberryConfig(scalar_map=SCALARS),
        extensions=[lambda: ParserCache(maxsize=512), lambda: ValidationCache(maxsize=512)],
    )

    class Floor(GraphQL[FloorContext, None]):
        async def get_context(self, request: Any, response: Any) -> FloorContext:
            return FloorContext(store=store, today=today_cst())

    return Starlette(routes=[Route("/graphql", Floor(schema, graphql_ide=None))])


def floor_app(env: Mapping[str, str], workload_file: Path) -> Starlette:
    workload = json.loads(workload_file.read_text(encoding="utf-8"))
    store = asyncio.run(load_store(env, workload))
    return build_app(store)
