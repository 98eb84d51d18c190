"""The tax department (税务): registrations, credit ratings, payments, arrears, income tax."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from sources.base import Record

from .context import Info
from .directives import scope
from .scalars import Month, month_of
from .subjects import Subject
from .values import as_date, as_decimal

if TYPE_CHECKING:
    from .enterprise import Enterprise

__all__ = [
    "IncomeTaxSummary",
    "TaxArrear",
    "TaxCreditGrade",
    "TaxCreditRating",
    "TaxPayment",
    "TaxRegistration",
]


@strawberry.enum(description="纳税信用等级, best first.")
class TaxCreditGrade(enum.Enum):
    A = "A"
    B = "B"
    M = "M"
    C = "C"
    D = "D"


@strawberry.type
class TaxRegistration(Subject):
    taxpayer_number: str = strawberry.field(directives=scope("tax.registration"))
    kind: str | None = strawberry.field(
        directives=scope("tax.registration"),
        description="一般纳税人 (general) or 小规模纳税人 (small-scale).",
    )
    tax_authority: str | None = strawberry.field(directives=scope("tax.registration"))
    registered_on: dt.date | None = strawberry.field(directives=scope("tax.registration"))
    status: str | None = strawberry.field(
        directives=scope("tax.registration"), description="正常, 非正常 (abnormal) or 注销."
    )
    subject_id: strawberry.Private[str]  # whose data this is, for the audit

    @classmethod
    def of(cls, r: Record) -> TaxRegistration:
        return cls(
            taxpayer_number=r["taxpayer_no"],
            kind=r.get("kind"),
            tax_authority=r.get("tax_authority"),
            registered_on=as_date(r.get("registered_on")),
            status=r.get("status"),
            subject_id=r["credit_code"],
        )


@strawberry.type
class TaxCreditRating(Subject):
    year: int = strawberry.field(directives=scope("tax.rating"))
    grade: TaxCreditGrade = strawberry.field(directives=scope("tax.rating"))
    score: int | None = strawberry.field(
        directives=scope("tax.rating"), description="Null for grades assigned directly."
    )
    published_on: dt.date | None = strawberry.field(directives=scope("tax.rating"))
    subject_id: strawberry.Private[str]  # whose data this is, for the audit

    @classmethod
    def of(cls, r: Record) -> TaxCreditRating:
        return cls(
            year=r["year"],
            grade=TaxCreditGrade(r["grade"]),
            score=r.get("score"),
            published_on=as_date(r.get("published_on")),
            subject_id=r["credit_code"],
        )


@strawberry.type
class TaxPayment(Subject):
    period: Month = strawberry.field(directives=scope("tax.payments"))
    tax_type: str = strawberry.field(directives=scope("tax.payments"))
    amount: decimal.Decimal | None = strawberry.field(directives=scope("tax.payments"))
    paid_on: dt.date | None = strawberry.field(directives=scope("tax.payments"))
    subject_id: strawberry.Private[str]  # whose data this is, for the audit

    @classmethod
    def of(cls, r: Record) -> TaxPayment:
        return cls(
            period=month_of(r["period"]),
            tax_type=r["tax_type"],
            amount=as_decimal(r.get("amount")),
            paid_on=as_date(r.get("paid_on")),
            subject_id=r["credit_code"],
        )


@strawberry.type(description="Unpaid tax (欠税).")
class TaxArrear(Subject):
    tax_type: str = strawberry.field(directives=scope("tax.payments"))
    amount: decimal.Decimal | None = strawberry.field(directives=scope("tax.payments"))
    since: Month | None = strawberry.field(directives=scope("tax.payments"))
    subject_id: strawberry.Private[str]  # whose data this is, for the audit

    @classmethod
    def of(cls, r: Record) -> TaxArrear:
        since = r.get("since")
        return cls(
            tax_type=r["tax_type"],
            amount=as_decimal(r.get("amount")),
            since=None if since is None else month_of(since),
            subject_id=r["credit_code"],
        )


@strawberry.type(description="Individual income tax for one year (个人所得税年度汇总).")
class IncomeTaxSummary(Subject):
    year: int = strawberry.field(directives=scope("tax.income"))
    income: decimal.Decimal | None = strawberry.field(directives=scope("tax.income"))
    tax_paid: decimal.Decimal | None = strawberry.field(directives=scope("tax.income"))
    _record: strawberry.Private[Record]
    subject_id: strawberry.Private[str]  # whose data this is, for the audit

    @classmethod
    def of(cls, r: Record) -> IncomeTaxSummary:
        return cls(
            year=r["year"],
            income=as_decimal(r.get("income")),
            tax_paid=as_decimal(r.get("tax_paid")),
            _record=r,
            subject_id=r["person_id"],
        )

    @strawberry.field(description="The main withholding employer.", directives=scope("tax.income"))
    async def withholding_agent(
        self, info: Info
    ) -> Annotated[Enterprise, strawberry.lazy(".enterprise")] | None:
        from .enterprise import Enterprise

        r = await info.context.loaders.one("enterprise", self._record.get("withholding_agent"))
        return None if r is None else Enterprise.of(r)
