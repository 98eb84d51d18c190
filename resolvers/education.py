"""The education department: schools, student status (学籍), enrolment applications (入学报名)."""

from __future__ import annotations

import datetime as dt
import enum

import strawberry

from sources.base import Record

from .context import Info
from .directives import MaskRule, scope
from .district import District, district
from .person import Person
from .scalars import Month, month_of
from .subjects import Subject
from .values import as_datetime

__all__ = ["EnrollmentApplication", "School", "SchoolLevel", "StudentStatus"]


@strawberry.enum
class SchoolLevel(enum.Enum):
    PRIMARY = "PRIMARY"
    JUNIOR = "JUNIOR"


@strawberry.type
class School:
    code: str = strawberry.field(
        directives=scope("education.schools"), description="School identification code (学校标识码)."
    )
    name: str | None = strawberry.field(directives=scope("education.schools"))
    level: SchoolLevel | None = strawberry.field(directives=scope("education.schools"))
    address: str | None = strawberry.field(directives=scope("education.schools"))
    capacity: int | None = strawberry.field(directives=scope("education.schools"))
    _record: strawberry.Private[Record]

    @classmethod
    def of(cls, r: Record) -> School:
        level = r.get("level")
        return cls(
            code=r["code"],
            name=r.get("name"),
            level=SchoolLevel(level) if level in ("PRIMARY", "JUNIOR") else None,
            address=r.get("address"),
            capacity=r.get("capacity"),
            _record=r,
        )

    @strawberry.field(directives=scope("education.schools"))
    def district(self) -> District | None:
        return district(self._record.get("district"))


async def school_of(info: Info, code: str | None) -> School | None:
    r = await info.context.loaders.one("school", code)
    return None if r is None else School.of(r)


@strawberry.type(description="Student status (学籍) in the national student register.")
class StudentStatus(Subject):
    student_number: str = strawberry.field(
        directives=scope("person.identity", MaskRule.STUDENT_NUMBER),
        description="学籍号: G + resident id, hence under the identity scope and masked like it.",
    )
    grade: int | None = strawberry.field(directives=scope("education.student_status"))
    class_number: int | None = strawberry.field(directives=scope("education.student_status"))
    enrolled_month: Month | None = strawberry.field(directives=scope("education.student_status"))
    status: str | None = strawberry.field(
        directives=scope("education.student_status"), description="在读, 休学 or 转出."
    )
    boarding: bool | None = strawberry.field(directives=scope("education.student_status"))
    enrolment_mode: str | None = strawberry.field(
        directives=scope("education.student_status"), description="就近入学, 积分入学 or 其他."
    )
    migrant_child: bool | None = strawberry.field(
        directives=scope("education.student_status"),
        description="随迁子女: child of a family without local hukou.",
    )
    _record: strawberry.Private[Record]
    subject_id: strawberry.Private[str]  # whose data this is, for the audit

    @classmethod
    def of(cls, r: Record) -> StudentStatus:
        month = r.get("enrolled_month")
        return cls(
            student_number=r["student_no"],
            grade=r.get("grade"),
            class_number=r.get("class_no"),
            enrolled_month=None if month is None else month_of(month),
            status=r.get("status"),
            boarding=r.get("boarding"),
            enrolment_mode=r.get("enrol_mode"),
            migrant_child=r.get("migrant_child"),
            _record=r,
            subject_id=r["person_id"],
        )

    @strawberry.field(directives=scope("education.student_status"))
    async def school(self, info: Info) -> School | None:
        return await school_of(info, self._record.get("school_code"))


@strawberry.type(description="An application for a first-year school place (入学报名).")
class EnrollmentApplication(Subject):
    number: str = strawberry.field(directives=scope("education.enrollment"))
    year: int = strawberry.field(directives=scope("education.enrollment"))
    stage: str | None = strawberry.field(
        directives=scope("education.enrollment"), description="小学一年级 or 初中一年级."
    )
    submitted_at: dt.datetime | None = strawberry.field(directives=scope("education.enrollment"))
    status: str | None = strawberry.field(
        directives=scope("education.enrollment"),
        description="已提交, 审核中, 已录取, 未录取 or 重复报名 (duplicate).",
    )
    _record: strawberry.Private[Record]
    subject_id: strawberry.Private[str]  # whose data this is, for the audit

    @classmethod
    def of(cls, r: Record) -> EnrollmentApplication:
        return cls(
            number=r["application_no"],
            year=r["year"],
            stage=r.get("stage"),
            submitted_at=as_datetime(r.get("submitted_at")),
            status=r.get("status"),
            _record=r,
            subject_id=r["person_id"],
        )

    @strawberry.field(directives=scope("education.enrollment"))
    def district(self) -> District | None:
        return district(self._record.get("district"))

    @strawberry.field(directives=scope("education.enrollment"))
    async def school(self, info: Info) -> School | None:
        return await school_of(info, self._record.get("school_code"))

    @strawberry.field(description="The guardian who applied.", directives=scope("education.enrollment"))
    async def guardian(self, info: Info) -> Person | None:
        r = await info.context.loaders.one("person", self._record.get("guardian_id"))
        return None if r is None else Person.of(r)
