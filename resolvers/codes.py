"""Code tables (代码表) the graph shows as enums. A catalogue item names one as its type;
the department's code is the enum's value, or is mapped to it by the item's `codes`."""

from __future__ import annotations

import enum

import strawberry

__all__ = ["EnterpriseStatus", "Gender", "InsuranceStatus", "InsuranceType", "SchoolLevel", "TaxCreditGrade"]


@strawberry.enum(description="GB/T 2261.1 sex.")
class Gender(enum.Enum):
    MALE = "1"
    FEMALE = "2"


@strawberry.enum
class EnterpriseStatus(enum.Enum):
    ACTIVE = "ACTIVE"
    DEREGISTERED = "DEREGISTERED"
    REVOKED = "REVOKED"


@strawberry.enum
class SchoolLevel(enum.Enum):
    PRIMARY = "PRIMARY"
    JUNIOR = "JUNIOR"


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


@strawberry.enum(description="纳税信用等级, best first.")
class TaxCreditGrade(enum.Enum):
    A = "A"
    B = "B"
    M = "M"
    C = "C"
    D = "D"
