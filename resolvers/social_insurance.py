"""Derived fields of the social-insurance record (人社): contributions filtered, and the
summaries and verdicts computed from them, never stored, so a verdict can be granted
without granting the records behind it."""

from __future__ import annotations

from typing import Annotated

import strawberry
from graphql import GraphQLError

from sources.base import Record

from .codes import InsuranceType
from .context import Info
from .derivations import Entity, derived
from .scalars import Month, month_key, month_range

__all__ = ["months_counted"]


def _shift(key: str, months: int) -> str:
    """YYYYMM moved by `months` (negative: earlier)."""
    index = int(key[:4]) * 12 + int(key[4:]) - 1 + months
    return f"{index // 12:04d}{index % 12 + 1:02d}"


def months_counted(rows: list[Record], first: str, last: str, kind: str, on_time_only: bool) -> int:
    """Distinct months in [first, last] (YYYYMM) with a contribution of `kind`."""
    return len(
        {
            r["period"]
            for r in rows
            if r["insurance_type"] == kind
            and first <= r["period"] <= last
            and not (on_time_only and r["paid_month"] > r["period"])
        }
    )


async def _rows(root: Entity, info: Info) -> list[Record]:
    return await info.context.loaders.many("contributions", root.record["person_id"])


@derived(
    "SocialInsurance",
    reads=("contributions",),
    scope="social_insurance.records",
    assumed=100,
    returns="[Contribution!]",
    description="Contribution records, oldest first, optionally filtered.",
)
async def contributions(
    root: Entity,
    info: Info,
    from_: Annotated[Month | None, strawberry.argument(name="from")] = None,
    to: Month | None = None,
    type: InsuranceType | None = None,
) -> list[Record]:
    first, last = month_range(from_, to)
    return [
        r
        for r in sorted(await _rows(root, info), key=lambda r: (r["period"], r["insurance_type"]))
        if first <= r["period"] <= last and (type is None or r["insurance_type"] == type.value)
    ]


@derived(
    "SocialInsurance",
    reads=("contributions",),
    scope="social_insurance.summary",
    summary=True,
    description="Summary: months with a contribution of `type` since `since` (inclusive).",
)
async def months_contributed(
    root: Entity,
    info: Info,
    since: Month | None = None,
    on_time_only: bool = True,
    type: InsuranceType = InsuranceType.PENSION,
) -> int | None:
    first = "000000" if since is None else month_key(since)
    return months_counted(await _rows(root, info), first, "999999", type.value, on_time_only)


@derived(
    "SocialInsurance",
    reads=("contributions",),
    scope="social_insurance.verdict",
    verdict=True,
    description="Verdict: at least `months` pension months within the `within` months before this one.",
)
async def has_contributed(
    root: Entity, info: Info, months: int, within: int, on_time_only: bool = True
) -> bool | None:
    if not 0 < months <= within <= 600:
        raise GraphQLError(
            "hasContributed needs 0 < months <= within <= 600", extensions={"code": "BAD_USER_INPUT"}
        )
    today = info.context.today
    this_month = f"{today.year:04d}{today.month:02d}"
    first, last = _shift(this_month, -within), _shift(this_month, -1)
    count = months_counted(await _rows(root, info), first, last, InsuranceType.PENSION.value, on_time_only)
    return count >= months


@derived(
    "Contribution",
    reads=("contributions.period", "contributions.paid_month"),
    scope="social_insurance.records",
    description="Paid after the month it is for (补缴); excluded by most eligibility rules.",
)
def back_paid(root: Entity) -> bool:
    return bool(root.record["paid_month"] > root.record["period"])
