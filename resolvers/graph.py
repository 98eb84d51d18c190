"""What the graph needs besides the catalogue: its scalars, code tables and value types by
name, and the derivations registered against catalogue types."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from strawberry.schema.config import StrawberryConfig

from . import access_log, enterprise, household, person, social_insurance
from .codes import EnterpriseStatus, Gender, InsuranceStatus, InsuranceType, SchoolLevel, TaxCreditGrade
from .derivations import DERIVATIONS, Derivation
from .directives import MaskRule
from .district import District, district
from .scalars import SCALARS, CreditCode, Month, ResidentId, month_of

__all__ = ["CONFIG", "DERIVATIONS", "MASKS", "NAMED", "SCALARS", "VALUES", "Derivation"]

# How Strawberry builds the graph: the project's scalars, camelCase field names.
CONFIG = StrawberryConfig(scalar_map=SCALARS, auto_camel_case=True)

# Types a catalogue item may name, besides GraphQL's and the catalogue's own.
NAMED: dict[str, Any] = {
    "ResidentId": ResidentId,
    "CreditCode": CreditCode,
    "Month": Month,
    "District": District,
    **{
        e.__name__: e
        for e in (Gender, EnterpriseStatus, SchoolLevel, InsuranceStatus, InsuranceType, TaxCreditGrade)
    },
}

# How a department's value becomes one of them, where it is not the value itself (enums
# are converted by their codes).
VALUES: dict[str, Callable[[Any], Any]] = {"Month": month_of, "District": district}

MASKS = frozenset(rule.name for rule in MaskRule)

_REGISTERED = (access_log, enterprise, household, person, social_insurance)  # each registers on import
