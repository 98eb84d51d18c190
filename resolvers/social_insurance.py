"""The social-insurance department (人社): insured persons and monthly contributions.

Summaries and verdicts are computed here from the contribution records, never stored,
so a verdict can be granted without granting the records behind it.
"""

from __future__ import annotations

import decimal
import enum
from typing import TYPE_CHECKING, Annotated

import strawberry
from graphql import GraphQLError

from sources.base import Record

from .context import Info
from .directives import MaskRule, list_size, scope, summary, verdict
from .scalars import Month, month_key, month_of
from .subjects import Subject
from .values import as_decimal

if TYPE_CHECKING:
    from .enterprise import Enterprise

__all__ = ["Contribution", "InsuranceStatus", "InsuranceType", "SocialInsurance", "months_counted"]


@strawberry.enum(description="AAC031 insured status.")
class InsuranceStatus(enum.Enum):
    PAYING = "1"
    SUSPENDED = "2"
    TERMINATED = "3"


@strawberry.enum(description="AAE140 insurance type.")
class InsuranceType(enum.Enum):
    PENSION = "110"
    UNEMPLOYMENT = "210"
    MEDICAL = "310"
    WORK_INJURY = "410"
    MATERNITY = "510"


async def _enterprise(info: Info, code: str | None) -> Enterprise | None:
    from .enterprise import Enterprise

    r = await info.context.loaders.one("enterprise", code)
    return None if r is None else Enterprise.of(r)


@strawberry.type(description="One month of one insurance type.")
class Contribution(Subject):
    period: Month = strawberry.field(
        directives=scope("social_insurance.records"), description="AAE003: the month the contribution is for."
    )
    paid_month: Month = strawberry.field(
        directives=scope("social_insurance.records"), description="AAE002: the month it was levied."
    )
    type: InsuranceType | None = strawberry.field(directives=scope("social_insurance.records"))
    base: decimal.Decimal | None = strawberry.field(
        directives=scope("social_insurance.records"), description="AAE180 contribution base, CNY."
    )
    _record: strawberry.Private[Record]
    subject_id: strawberry.Private[str]  # whose data this is, for the audit

    @classmethod
    def of(cls, r: Record) -> Contribution:
        kind = r.get("insurance_type")
        return cls(
            period=month_of(r["period"]),
            paid_month=month_of(r["paid_month"]),
            type=InsuranceType(kind) if kind in _TYPES else None,
            base=as_decimal(r.get("base")),
            _record=r,
            subject_id=r["person_id"],
        )

    @strawberry.field(
        description="Paid after the month it is for (补缴); excluded by most eligibility rules.",
        directives=scope("social_insurance.records"),
    )
    def back_paid(self) -> bool:
        return bool(self._record["paid_month"] > self._record["period"])

    @strawberry.field(directives=scope("social_insurance.records"))
    async def employer(self, info: Info) -> Annotated[Enterprise, strawberry.lazy(".enterprise")] | None:
        return await _enterprise(info, self._record.get("employer"))


_TYPES = {t.value for t in InsuranceType}


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


@strawberry.type(description="A person's record with the social-insurance department.")
class SocialInsurance(Subject):
    number: str = strawberry.field(
        directives=scope("social_insurance.status", MaskRule.IDENTIFIER),
        description="AAC001 personal social-insurance number.",
    )
    status: InsuranceStatus | None = strawberry.field(directives=scope("social_insurance.status"))
    first_insured_month: Month | None = strawberry.field(directives=scope("social_insurance.status"))
    _record: strawberry.Private[Record]
    subject_id: strawberry.Private[str]  # whose data this is, for the audit

    @classmethod
    def of(cls, r: Record) -> SocialInsurance:
        status, first = r.get("status"), r.get("first_insured_month")
        return cls(
            number=r["si_no"],
            status=InsuranceStatus(status) if status in ("1", "2", "3") else None,
            first_insured_month=None if first is None else month_of(first),
            _record=r,
            subject_id=r["person_id"],
        )

    async def _rows(self, info: Info) -> list[Record]:
        return await info.context.loaders.many("contributions", self._record["person_id"])

    @strawberry.field(
        description="The employer currently paying contributions.",
        directives=scope("social_insurance.status"),
    )
    async def current_employer(
        self, info: Info
    ) -> Annotated[Enterprise, strawberry.lazy(".enterprise")] | None:
        return await _enterprise(info, self._record.get("current_employer"))

    @strawberry.field(
        description="Contribution records, oldest first, optionally filtered.",
        directives=[*scope("social_insurance.records"), list_size(100)],
    )
    async def contributions(
        self,
        info: Info,
        from_: Annotated[Month | None, strawberry.argument(name="from")] = None,
        to: Month | None = None,
        type: InsuranceType | None = None,
    ) -> list[Contribution] | None:
        first = "000000" if from_ is None else month_key(from_)
        last = "999999" if to is None else month_key(to)
        return [
            Contribution.of(r)
            for r in sorted(await self._rows(info), key=lambda r: (r["period"], r["insurance_type"]))
            if first <= r["period"] <= last and (type is None or r["insurance_type"] == type.value)
        ]

    @strawberry.field(
        description="Summary: months with a contribution of `type` since `since` (inclusive).",
        directives=summary("social_insurance.summary"),
    )
    async def months_contributed(
        self,
        info: Info,
        since: Month | None = None,
        on_time_only: bool = True,
        type: InsuranceType = InsuranceType.PENSION,
    ) -> int | None:
        first = "000000" if since is None else month_key(since)
        return months_counted(await self._rows(info), first, "999999", type.value, on_time_only)

    @strawberry.field(
        description="Verdict: at least `months` pension months within the `within` months before this one.",
        directives=verdict("social_insurance.verdict"),
    )
    async def has_contributed(
        self, info: Info, months: int, within: int, on_time_only: bool = True
    ) -> bool | None:
        if not 0 < months <= within <= 600:
            raise GraphQLError(
                "hasContributed needs 0 < months <= within <= 600", extensions={"code": "BAD_USER_INPUT"}
            )
        today = info.context.today
        this_month = f"{today.year:04d}{today.month:02d}"
        first, last = _shift(this_month, -within), _shift(this_month, -1)
        count = months_counted(await self._rows(info), first, last, InsuranceType.PENSION.value, on_time_only)
        return count >= months
