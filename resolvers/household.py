"""Household registration (户籍) and residence permits (居住证)."""

from __future__ import annotations

import datetime as dt

import strawberry

from sources.base import Record

from .context import Info
from .directives import MaskRule, list_size, scope
from .district import District, district
from .person import Person
from .subjects import Located, Subject
from .values import as_date

__all__ = ["Household", "HouseholdMember", "ResidencePermit"]


@strawberry.type(description="One line of the household register page.")
class HouseholdMember(Subject):
    relation: str | None = strawberry.field(
        directives=scope("household.register"),
        description="Relation to the head: 户主, 配偶, 子, 女, 父亲 ...",
    )
    person: Person | None = strawberry.field(directives=scope("household.register"))
    subject_id: strawberry.Private[str]


@strawberry.type(description="A household (户) on the local register.")
class Household(Located):
    number: str = strawberry.field(
        directives=scope("household.register", MaskRule.IDENTIFIER), description="户号"
    )
    address: str | None = strawberry.field(directives=scope("household.register", MaskRule.ADDRESS))
    kind: str | None = strawberry.field(
        directives=scope("household.register"), description="家庭户 (family) or 集体户 (collective)."
    )
    registered_on: dt.date | None = strawberry.field(directives=scope("household.register"))
    _record: strawberry.Private[Record]
    subject_id: strawberry.Private[str]  # whose data this is, for the audit

    @classmethod
    def of(cls, r: Record) -> Household:
        return cls(
            number=r["number"],
            address=r.get("address"),
            kind=r.get("kind"),
            registered_on=as_date(r.get("registered_on")),
            _record=r,
            subject_id=r["number"],
        )

    def districts(self) -> tuple[str | None, ...]:
        return (self._record.get("district"),)

    @strawberry.field(directives=scope("household.register"))
    def district(self) -> District | None:
        return district(self._record.get("district"))

    @strawberry.field(description="The head of the household (户主).", directives=scope("household.register"))
    async def head(self, info: Info) -> Person | None:
        r = await info.context.loaders.one("person", self._record.get("head_id"))
        return None if r is None else Person.of(r)

    @strawberry.field(
        description="Members in register order.", directives=[*scope("household.register"), list_size(5)]
    )
    async def members(self, info: Info) -> list[HouseholdMember] | None:
        rows = await info.context.loaders.many("household_members", self.number)
        people = await info.context.loaders.each("person", [r["person_id"] for r in rows])
        return [
            HouseholdMember(
                relation=row.get("relation"),
                person=None if p is None else Person.of(p),
                subject_id=row["person_id"],
            )
            for row, p in zip(rows, people, strict=True)
        ]


@strawberry.type(description="Residence permit (居住证).")
class ResidencePermit(Subject):
    number: str = strawberry.field(directives=scope("person.residence_permit", MaskRule.IDENTIFIER))
    address: str | None = strawberry.field(directives=scope("person.residence_permit", MaskRule.ADDRESS))
    issued_on: dt.date | None = strawberry.field(directives=scope("person.residence_permit"))
    valid_until: dt.date | None = strawberry.field(directives=scope("person.residence_permit"))
    status: str | None = strawberry.field(
        directives=scope("person.residence_permit"),
        description="有效 (valid) or 过期 (expired), as registered.",
    )
    _record: strawberry.Private[Record]
    subject_id: strawberry.Private[str]  # whose data this is, for the audit

    @classmethod
    def of(cls, r: Record) -> ResidencePermit:
        return cls(
            number=r["permit_no"],
            address=r.get("address"),
            issued_on=as_date(r.get("issued_on")),
            valid_until=as_date(r.get("valid_until")),
            status=r.get("status"),
            _record=r,
            subject_id=r["person_id"],
        )

    @strawberry.field(directives=scope("person.residence_permit"))
    def district(self) -> District | None:
        return district(self._record.get("district"))

    @strawberry.field(
        description="Registered valid and not past its end date today.",
        directives=scope("person.residence_permit"),
    )
    def is_valid(self, info: Info) -> bool:
        return (
            self.status == "有效" and self.valid_until is not None and self.valid_until >= info.context.today
        )
