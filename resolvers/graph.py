"""Everything the graph needs from outside: its root type, scalars and entities."""

from __future__ import annotations

from strawberry.schema.config import StrawberryConfig

from .query import Query
from .scalars import SCALARS

__all__ = ["CONFIG", "ENTITIES", "SCALARS", "Query"]

# How Strawberry builds the graph: the project's scalars, camelCase field names.
CONFIG = StrawberryConfig(scalar_map=SCALARS, auto_camel_case=True)

# The entities resolvers load; start-up fails naming any that no configured source serves.
ENTITIES = frozenset(
    {
        "person", "household", "household_members", "guardians", "wards", "residence_permit", "portrait",
        "school", "student_status", "enrollment_applications",
        "insured_person", "contributions", "employer_headcount",
        "taxpayer", "credit_ratings", "tax_payments", "arrears", "income_tax",
        "enterprise", "enterprises_by_legal_rep", "annual_reports", "access_log",
    }
)  # fmt: skip
