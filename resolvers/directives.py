"""Schema directives that declare, on each field, the data scope it belongs to and how a
masked grant shows it, and on each text argument the longest value it accepts. The
gateway reads them when the schema is built (enforcement) and when a document is first
seen (the text checks of gateway/execution/textinput.py); they are visible in schema.graphql so a
reviewer sees the policy and input surface."""

from __future__ import annotations

import enum
from typing import Any

import strawberry
from strawberry.schema_directive import Location

__all__ = ["Mask", "MaskRule", "MaxLength", "Scope", "max_length", "scope"]


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


@strawberry.schema_directive(
    locations=[Location.ARGUMENT_DEFINITION, Location.INPUT_FIELD_DEFINITION],
    description="The longest text the argument accepts, in characters; longer is BAD_USER_INPUT.",
)
class MaxLength:
    chars: int


def max_length(chars: int) -> Any:
    """An argument's declaration: `number: Annotated[str, max_length(32)]`."""
    return strawberry.argument(directives=[MaxLength(chars=chars)])
