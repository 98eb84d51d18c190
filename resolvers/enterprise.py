"""Enterprise: the legal-person register's record (市场监管), joined to tax and social insurance."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
from typing import Annotated

import strawberry

from sources.base import Record

from .context import Info
from .directives import list_size, scope, verdict
from .district import District, district
from .person import Person
from .scalars import CreditCode, Month, month_key
from .subjects import Subject
from .tax import TaxArrear, TaxCreditGrade, TaxCreditRating, TaxPayment, TaxRegistration
from .values import as_date, as_decimal

__all__ = ["AnnualReport", "Enterprise", "EnterpriseStatus"]

_STATUS = {"存续": "ACTIVE", "在业": "ACTIVE", "注销": "DEREGISTERED", "吊销": "REVOKED"}


_RANK = list(TaxCreditGrade)  # best first


def _year(r: Record) -> int:
    return int(r["year"])


async def _rating(info: Info, credit_code: str, year: int | None) -> TaxCreditRating | None:
    rows = await info.context.loaders.many("credit_ratings", credit_code)
    if year is None:
        return TaxCreditRating.of(max(rows, key=_year)) if rows else None
    return next((TaxCreditRating.of(r) for r in rows if r["year"] == year), None)


def _period(r: Record) -> str:
    return str(r["period"])


@strawberry.enum
class EnterpriseStatus(enum.Enum):
    ACTIVE = "ACTIVE"
    DEREGISTERED = "DEREGISTERED"
    REVOKED = "REVOKED"


@strawberry.type(description="Annual report (企业年度报告).")
class AnnualReport(Subject):
    year: int = strawberry.field(directives=scope("enterprise.registration"))
    submitted_on: dt.date | None = strawberry.field(directives=scope("enterprise.registration"))
    employees: int | None = strawberry.field(directives=scope("enterprise.registration"))
    status: str | None = strawberry.field(
        directives=scope("enterprise.registration"), description="已公示 (published) or 未公示."
    )
    subject_id: strawberry.Private[str]


@strawberry.type(description="An enterprise as the market-regulation legal-person register keeps it.")
class Enterprise(Subject):
    credit_code: CreditCode = strawberry.field(directives=scope("enterprise.registration"))
    name: str | None = strawberry.field(directives=scope("enterprise.registration"))
    type: str | None = strawberry.field(
        directives=scope("enterprise.registration"),
        description="有限责任公司, 股份有限公司, 个人独资企业, 个体工商户 ...",
    )
    status: EnterpriseStatus | None = strawberry.field(directives=scope("enterprise.registration"))
    registered_capital: decimal.Decimal | None = strawberry.field(
        directives=scope("enterprise.registration"), description="In 万元 (10,000 CNY)."
    )
    established_on: dt.date | None = strawberry.field(directives=scope("enterprise.registration"))
    deregistered_on: dt.date | None = strawberry.field(directives=scope("enterprise.registration"))
    address: str | None = strawberry.field(directives=scope("enterprise.registration"))
    business_scope: str | None = strawberry.field(directives=scope("enterprise.registration"))
    _record: strawberry.Private[Record]
    subject_id: strawberry.Private[str]  # whose data this is, for the audit

    @classmethod
    def of(cls, r: Record) -> Enterprise:
        status = _STATUS.get(r.get("status") or "")
        return cls(
            credit_code=CreditCode(r["credit_code"]),
            name=r.get("name"),
            type=r.get("kind"),
            status=None if status is None else EnterpriseStatus(status),
            registered_capital=as_decimal(r.get("registered_capital")),
            established_on=as_date(r.get("established_on")),
            deregistered_on=as_date(r.get("deregistered_on")),
            address=r.get("address"),
            business_scope=r.get("business_scope"),
            _record=r,
            subject_id=r["credit_code"],
        )

    @strawberry.field(directives=scope("enterprise.registration"))
    def district(self) -> District | None:
        return district(self._record.get("district"))

    @strawberry.field(
        description="The legal representative (法定代表人).",
        directives=scope("enterprise.legal_representative"),
    )
    async def legal_representative(self, info: Info) -> Person | None:
        r = await info.context.loaders.one("person", self._record.get("legal_rep_id"))
        return None if r is None else Person.of(r)

    @strawberry.field(directives=[*scope("enterprise.registration"), list_size(5)])
    async def annual_reports(self, info: Info) -> list[AnnualReport] | None:
        rows = await info.context.loaders.many("annual_reports", self.credit_code)
        return [
            AnnualReport(
                year=r["year"],
                submitted_on=as_date(r.get("submitted_on")),
                employees=r.get("employees"),
                status=r.get("status"),
                subject_id=self.credit_code,
            )
            for r in sorted(rows, key=_year)
        ]

    @strawberry.field(
        description="Registration with the tax department.", directives=scope("tax.registration")
    )
    async def tax_registration(self, info: Info) -> TaxRegistration | None:
        r = await info.context.loaders.one("taxpayer", self.credit_code)
        return None if r is None else TaxRegistration.of(r)

    @strawberry.field(
        description="Tax credit rating for `year`, or the latest published one.",
        directives=scope("tax.rating"),
    )
    async def tax_credit_rating(self, info: Info, year: int | None = None) -> TaxCreditRating | None:
        return await _rating(info, self.credit_code, year)

    @strawberry.field(
        description="Verdict: is the rating for `year` (or the latest) at least `grade` (A > B > M > C > D)?",
        directives=verdict("tax.rating.verdict"),
    )
    async def tax_credit_at_least(
        self, info: Info, grade: TaxCreditGrade, year: int | None = None
    ) -> bool | None:
        rating = await _rating(info, self.credit_code, year)
        if rating is None:
            return None
        return _RANK.index(rating.grade) <= _RANK.index(grade)

    @strawberry.field(
        description="Every published tax credit rating, oldest first.",
        directives=[*scope("tax.rating"), list_size(5)],
    )
    async def tax_credit_ratings(self, info: Info) -> list[TaxCreditRating] | None:
        rows = await info.context.loaders.many("credit_ratings", self.credit_code)
        return [TaxCreditRating.of(r) for r in sorted(rows, key=_year)]

    @strawberry.field(
        description="Tax payments, oldest first, optionally within [from, to].",
        directives=[*scope("tax.payments"), list_size(50)],
    )
    async def tax_payments(
        self,
        info: Info,
        from_: Annotated[Month | None, strawberry.argument(name="from")] = None,
        to: Month | None = None,
    ) -> list[TaxPayment] | None:
        first = "000000" if from_ is None else month_key(from_)
        last = "999999" if to is None else month_key(to)
        rows = await info.context.loaders.many("tax_payments", self.credit_code)
        return [TaxPayment.of(r) for r in sorted(rows, key=_period) if first <= r["period"] <= last]

    @strawberry.field(
        description="Unpaid tax (欠税); empty when there is none.",
        directives=[*scope("tax.payments"), list_size(3)],
    )
    async def tax_arrears(self, info: Info) -> list[TaxArrear] | None:
        return [TaxArrear.of(r) for r in await info.context.loaders.many("arrears", self.credit_code)]

    @strawberry.field(
        description="Employees insured (pension) in `month`, or in the latest month reported.",
        directives=scope("enterprise.insured_headcount"),
    )
    async def insured_headcount(self, info: Info, month: Month | None = None) -> int | None:
        rows = await info.context.loaders.many("employer_headcount", self.credit_code)
        if month is None:
            return max(rows, key=lambda r: str(r["month"]))["headcount"] if rows else None
        key = month_key(month)
        return next((r["headcount"] for r in rows if r["month"] == key), None)
