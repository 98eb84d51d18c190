"""Derived fields of residence permits (居住证)."""

from __future__ import annotations

from .context import Info
from .derivations import Entity, derived
from .values import as_date

__all__: list[str] = []


@derived(
    "ResidencePermit",
    reads=("residence_permit.status", "residence_permit.valid_until"),
    scope="person.residence_permit",
    description="Registered valid and not past its end date today.",
)
def is_valid(root: Entity, info: Info) -> bool:
    until = as_date(root.record.get("valid_until"))
    return root.record.get("status") == "有效" and until is not None and until >= info.context.today
