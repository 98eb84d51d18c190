"""Schema directives that declare, on each field, the data scope it belongs to and how a
masked grant shows it. The gateway's enforcement reads them when the schema is built;
they are visible in schema.graphql so a reviewer sees the policy surface."""

from __future__ import annotations

import enum

import strawberry
from strawberry.schema_directive import Location

__all__ = ["Mask", "MaskRule", "Scope", "scope"]


@strawberry.enum(description="How a masked grant shows a value; rules in docs/authorization.md.")
class MaskRule(enum.Enum):
    RESIDENT_ID = "RESIDENT_ID"  # first character and last two: never the birth date or area
    NAME = "NAME"  # first character
    PHONE = "PHONE"  # first three and last four digits
    ADDRESS = "ADDRESS"  # city and district only
    IDENTIFIER = "IDENTIFIER"  # first six and last two characters (registry numbers)
    STUDENT_NUMBER = "STUDENT_NUMBER"  # G + resident id: the id masked as RESIDENT_ID
    WITHHOLD = "WITHHOLD"  # null: no masked form is safe (birth date)


@strawberry.schema_directive(
    locations=[Location.FIELD_DEFINITION],
    description="The data scope a client's grant must include to read this field.",
)
class Scope:
    name: str


@strawberry.schema_directive(
    locations=[Location.FIELD_DEFINITION], description="How a `masked` grant of the field's scope shows it."
)
class Mask:
    rule: MaskRule


def scope(name: str, mask: MaskRule | None = None) -> list[object]:
    """Directives for a field: `strawberry.field(directives=scope("person.identity", MaskRule.NAME))`."""
    return [Scope(name=name)] if mask is None else [Scope(name=name), Mask(rule=mask)]
