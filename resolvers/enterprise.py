"""Derived fields of an Enterprise: its tax credit, payments and insured headcount, read
from the tax and social-insurance departments' records."""

from __future__ import annotations

from typing import Annotated

import strawberry

from sources.base import Record

from .codes import TaxCreditGrade
from .context import Info
from .derivations import Entity, derived
from .scalars import Month, month_key, month_range

__all__: list[str] = []

_RANK = list(TaxCreditGrade)  # best first


def _year(r: Record) -> int:
    return int(r["year"])


async def _rating(info: Info, credit_code: str, year: int | None) -> Record | None:
    rows = await info.context.loaders.many("credit_ratings", credit_code)
    if year is None:
        return max(rows, key=_year) if rows else None
    return next((r for r in rows if r["year"] == year), None)


@derived(
    "Enterprise",
    reads=("credit_ratings",),
    scope="tax.rating",
    returns="TaxCreditRating",
    description="Tax credit rating for `year`, or the latest published one.",
)
async def tax_credit_rating(root: Entity, info: Info, year: int | None = None) -> Record | None:
    return await _rating(info, root.record["credit_code"], year)


@derived(
    "Enterprise",
    reads=("credit_ratings.grade",),
    scope="tax.rating.verdict",
    verdict=True,
    description="Verdict: is the rating for `year` (or the latest) at least `grade` (A > B > M > C > D)?",
)
async def tax_credit_at_least(
    root: Entity, info: Info, grade: TaxCreditGrade, year: int | None = None
) -> bool | None:
    rating = await _rating(info, root.record["credit_code"], year)
    if rating is None:
        return None
    return _RANK.index(TaxCreditGrade(rating["grade"])) <= _RANK.index(grade)


@derived(
    "Enterprise",
    reads=("tax_payments",),
    scope="tax.payments",
    assumed=50,
    returns="[TaxPayment!]",
    description="Tax payments, oldest first, optionally within [from, to].",
)
async def tax_payments(
    root: Entity,
    info: Info,
    from_: Annotated[Month | None, strawberry.argument(name="from")] = None,
    to: Month | None = None,
) -> list[Record]:
    first, last = month_range(from_, to)
    rows = await info.context.loaders.many("tax_payments", root.record["credit_code"])
    return [r for r in sorted(rows, key=lambda r: str(r["period"])) if first <= r["period"] <= last]


@derived(
    "Enterprise",
    reads=("employer_headcount",),
    scope="enterprise.insured_headcount",
    description="Employees insured (pension) in `month`, or in the latest month reported.",
)
async def insured_headcount(root: Entity, info: Info, month: Month | None = None) -> int | None:
    rows = await info.context.loaders.many("employer_headcount", root.record["credit_code"])
    if month is None:
        return max(rows, key=lambda r: str(r["month"]))["headcount"] if rows else None
    key = month_key(month)
    return next((r["headcount"] for r in rows if r["month"] == key), None)


@derived(
    "Enterprise",
    reads=("serious_dishonesty.removed_on",),
    scope="credit.dishonesty.verdict",
    verdict=True,
    description="Verdict: is the enterprise on no serious dishonesty list (严重失信主体名单) today?"
    " Entries removed from a list no longer count.",
)
async def has_no_serious_dishonesty(root: Entity, info: Info) -> bool | None:
    rows = await info.context.loaders.many("serious_dishonesty", root.record["credit_code"])
    today = info.context.today.isoformat()
    return not any(r.get("removed_on") is None or str(r["removed_on"]) > today for r in rows)
