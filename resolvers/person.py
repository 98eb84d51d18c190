"""Person: the population register's record, and every link out of it."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from sources.base import Record

from .context import Info
from .directives import MaskRule, list_size, max_length, scope, verdict
from .district import District, district
from .scalars import ResidentId
from .subjects import Located, Subject
from .values import as_date

if TYPE_CHECKING:
    from .education import EnrollmentApplication, StudentStatus
    from .enterprise import Enterprise
    from .household import Household, ResidencePermit
    from .social_insurance import SocialInsurance
    from .tax import IncomeTaxSummary

__all__ = ["Gender", "Person", "PortraitRef", "age_on", "persons_of"]


@strawberry.enum(description="GB/T 2261.1 sex.")
class Gender(enum.Enum):
    MALE = "1"
    FEMALE = "2"


@strawberry.type(description="A reference into the photo store; the image itself never passes the gateway.")
class PortraitRef(Subject):
    ref: str = strawberry.field(directives=scope("person.portrait"))
    captured_on: dt.date | None = strawberry.field(directives=scope("person.portrait"))
    subject_id: strawberry.Private[str]


def age_on(birth: dt.date, today: dt.date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


@strawberry.type(description="A person as the population register (公安人口库) keeps them.")
class Person(Located):
    id: ResidentId = strawberry.field(directives=scope("person.identity", MaskRule.RESIDENT_ID))
    name: str | None = strawberry.field(directives=scope("person.identity", MaskRule.NAME))
    gender: Gender | None = strawberry.field(directives=scope("person.identity"))
    birth_date: dt.date | None = strawberry.field(directives=scope("person.identity", MaskRule.WITHHOLD))
    ethnicity: str | None = strawberry.field(directives=scope("person.identity"))
    phone: str | None = strawberry.field(directives=scope("person.contact", MaskRule.PHONE))
    hukou_address: str | None = strawberry.field(
        directives=scope("person.contact", MaskRule.ADDRESS),
        description="Address of the household registration (户籍地址).",
    )
    residence_address: str | None = strawberry.field(
        directives=scope("person.contact", MaskRule.ADDRESS),
        description="Where the person lives now (居住地址).",
    )
    registration_status: str | None = strawberry.field(
        directives=scope("person.identity"), description="正常, 迁出 (moved out) or 死亡."
    )
    _record: strawberry.Private[Record]
    subject_id: strawberry.Private[str]  # whose data this is, for the audit

    @classmethod
    def of(cls, r: Record) -> Person:
        return cls(
            id=ResidentId(r["id"]),
            name=r.get("name"),
            gender=Gender(r["gender"]) if r.get("gender") in ("1", "2") else None,
            birth_date=as_date(r.get("birth_date")),
            ethnicity=r.get("ethnicity"),
            phone=r.get("phone"),
            hukou_address=r.get("hukou_address"),
            residence_address=r.get("residence_address"),
            registration_status=r.get("status"),
            _record=r,
            subject_id=r["id"],
        )

    def districts(self) -> tuple[str | None, ...]:
        """Where the person is registered or lives: what a district-limited grant checks."""
        return (self._record.get("hukou_district"), self._record.get("residence_district"))

    @strawberry.field(
        description="Whole years, derived from the birth date.", directives=scope("person.identity")
    )
    def age(self, info: Info) -> int | None:
        return None if self.birth_date is None else age_on(self.birth_date, info.context.today)

    @strawberry.field(
        description="District of the household registration (户籍地).", directives=scope("person.hukou")
    )
    def hukou_district(self) -> District | None:
        return district(self._record.get("hukou_district"))

    @strawberry.field(description="District of residence.", directives=scope("person.contact"))
    def residence_district(self) -> District | None:
        return district(self._record.get("residence_district"))

    @strawberry.field(
        description="Whether the hukou is held in Xiamen (a household on the local register).",
        directives=scope("person.hukou"),
    )
    def has_local_hukou(self) -> bool | None:
        return self._record.get("household_no") is not None

    @strawberry.field(
        description="Verdict: is the hukou registered in this district (six-digit code)?",
        directives=verdict("person.hukou.verdict"),
    )
    def has_hukou_in(self, district: Annotated[str, max_length(6)]) -> bool | None:
        return self._record.get("household_no") is not None and self._record.get("hukou_district") == district

    @strawberry.field(
        description="The household (户) on the local register; null for hukou held elsewhere.",
        directives=scope("person.hukou"),
    )
    async def household(self, info: Info) -> Annotated[Household, strawberry.lazy(".household")] | None:
        from .household import Household

        r = await info.context.loaders.one("household", self._record.get("household_no"))
        return None if r is None else Household.of(r)

    @strawberry.field(
        description="Residence permit (居住证), held by residents without local hukou.",
        directives=scope("person.residence_permit"),
    )
    async def residence_permit(
        self, info: Info
    ) -> Annotated[ResidencePermit, strawberry.lazy(".household")] | None:
        from .household import ResidencePermit

        r = await info.context.loaders.one("residence_permit", self.id)
        return None if r is None else ResidencePermit.of(r)

    @strawberry.field(directives=scope("person.portrait"))
    async def portrait(self, info: Info) -> PortraitRef | None:
        r = await info.context.loaders.one("portrait", self.id)
        return (
            None
            if r is None
            else PortraitRef(ref=r["ref"], captured_on=as_date(r.get("captured_on")), subject_id=self.id)
        )

    @strawberry.field(
        description="Guardians (监护人) of a minor.", directives=[*scope("person.family"), list_size(2)]
    )
    async def guardians(self, info: Info) -> list[Person] | None:
        links = await info.context.loaders.many("guardians", self.id)
        return await persons_of(info, [link["guardian_id"] for link in links])

    @strawberry.field(
        description="Persons this person is the guardian of.",
        directives=[*scope("person.family"), list_size(3)],
    )
    async def children(self, info: Info) -> list[Person] | None:
        links = await info.context.loaders.many("wards", self.id)
        return await persons_of(info, [link["child_id"] for link in links])

    @strawberry.field(
        description="Student status (学籍) with the education department.",
        directives=scope("education.student_status"),
    )
    async def student_status(
        self, info: Info
    ) -> Annotated[StudentStatus, strawberry.lazy(".education")] | None:
        from .education import StudentStatus

        r = await info.context.loaders.one("student_status", self.id)
        return None if r is None else StudentStatus.of(r)

    @strawberry.field(
        description="School enrolment applications (入学报名), optionally for one year.",
        directives=[*scope("education.enrollment"), list_size(2)],
    )
    async def enrollment_applications(
        self, info: Info, year: int | None = None
    ) -> list[Annotated[EnrollmentApplication, strawberry.lazy(".education")]] | None:
        from .education import EnrollmentApplication

        rows = await info.context.loaders.many("enrollment_applications", self.id)
        return [EnrollmentApplication.of(r) for r in rows if year is None or r["year"] == year]

    @strawberry.field(
        description="The social-insurance record (人社); null when never insured. Reachable with any"
        " social_insurance scope: a verdict-only grant reads the verdict, not the record.",
        directives=scope("social_insurance.*", opened_by=["social_insurance"]),
    )
    async def social_insurance(
        self, info: Info
    ) -> Annotated[SocialInsurance, strawberry.lazy(".social_insurance")] | None:
        from .social_insurance import SocialInsurance

        r = await info.context.loaders.one("insured_person", self.id)
        return None if r is None else SocialInsurance.of(r)

    @strawberry.field(
        description="Individual income tax summary (个人所得税) for one year.", directives=scope("tax.income")
    )
    async def income_tax(
        self, info: Info, year: int
    ) -> Annotated[IncomeTaxSummary, strawberry.lazy(".tax")] | None:
        from .tax import IncomeTaxSummary

        rows = await info.context.loaders.many("income_tax", self.id)
        return next((IncomeTaxSummary.of(r) for r in rows if r["year"] == year), None)

    @strawberry.field(
        description="Enterprises this person is the legal representative (法定代表人) of.",
        directives=[*scope("enterprise.legal_representative"), list_size(2)],
    )
    async def legal_representative_of(
        self, info: Info
    ) -> list[Annotated[Enterprise, strawberry.lazy(".enterprise")]] | None:
        from .enterprise import Enterprise

        rows = await info.context.loaders.many("enterprises_by_legal_rep", self.id)
        return [Enterprise.of(r) for r in rows]


async def persons_of(info: Info, ids: list[str]) -> list[Person]:
    """Persons for ids in one batch, skipping ids the register does not hold."""
    records = await info.context.loaders.each("person", ids)
    return [Person.of(r) for r in records if r is not None]
