"""Derived fields of the population register's Person: what is computed from a record."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from sources.base import Record

from .context import Info
from .derivations import Entity, derived
from .directives import max_length
from .values import as_date

__all__ = ["age_on"]


def age_on(birth: dt.date, today: dt.date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


@derived(
    "Person",
    reads=("person.birth_date",),
    scope="person.identity",
    description="Whole years, derived from the birth date.",
)
def age(root: Entity, info: Info) -> int | None:
    birth = as_date(root.record.get("birth_date"))
    return None if birth is None else age_on(birth, info.context.today)


@derived(
    "Person",
    reads=("person.household_no",),
    scope="person.hukou",
    description="Whether the hukou is held in Xiamen (a household on the local register).",
)
def has_local_hukou(root: Entity) -> bool | None:
    return root.record.get("household_no") is not None


@derived(
    "Person",
    reads=("person.household_no", "person.hukou_district"),
    scope="person.hukou.verdict",
    verdict=True,
    description="Verdict: is the hukou registered in this district (six-digit code)?",
)
def has_hukou_in(root: Entity, district: Annotated[str, max_length(6)]) -> bool | None:
    return root.record.get("household_no") is not None and root.record.get("hukou_district") == district


@derived(
    "Person",
    reads=("enrollment_applications",),
    scope="education.enrollment",
    assumed=2,
    returns="[EnrollmentApplication!]",
    description="School enrolment applications (入学报名), optionally for one year.",
)
async def enrollment_applications(root: Entity, info: Info, year: int | None = None) -> list[Record]:
    rows = await info.context.loaders.many("enrollment_applications", root.record["id"])
    return [r for r in rows if year is None or r["year"] == year]


@derived(
    "Person",
    reads=("income_tax",),
    scope="tax.income",
    returns="IncomeTaxSummary",
    description="Individual income tax summary (个人所得税) for one year.",
)
async def income_tax(root: Entity, info: Info, year: int) -> Record | None:
    rows = await info.context.loaders.many("income_tax", root.record["id"])
    return next((r for r in rows if r["year"] == year), None)
