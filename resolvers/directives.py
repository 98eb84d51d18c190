"""Schema directives that declare what the gateway needs to know about each field, next to
the field: the data scope it belongs to (or that it is public), how a masked grant shows
it, whether it is a verdict or summary, which grants open it when it is a link, how long
its lists run, and on each text argument the longest value it accepts. The gateway reads them when
the schema is built (enforcement), when a document is measured (limits) and when a
document is first seen (text checks); they are visible in schema.graphql so a reviewer
sees the policy and input surface."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any, TypeVar

import strawberry
from strawberry.schema_directive import Location

__all__ = [
    "Conclusion",
    "ListSize",
    "Mask",
    "MaskRule",
    "MaxLength",
    "OpenedBy",
    "Public",
    "Scope",
    "SensitivityClass",
    "Shared",
    "SharingClass",
    "Summary",
    "Verdict",
    "list_size",
    "max_length",
    "public",
    "scope",
    "summary",
    "verdict",
]

T = TypeVar("T")


@strawberry.enum(description="How a masked grant shows a value; rules in docs/authorization.md.")
class MaskRule(enum.Enum):
    RESIDENT_ID = "RESIDENT_ID"  # first character and last two: never the birth date or area
    NAME = "NAME"  # first character
    PHONE = "PHONE"  # first three and last four digits
    ADDRESS = "ADDRESS"  # city and district only
    IDENTIFIER = "IDENTIFIER"  # first six and last two characters (registry numbers)
    STUDENT_NUMBER = "STUDENT_NUMBER"  # G + resident id: the id masked as RESIDENT_ID
    WITHHOLD = "WITHHOLD"  # null: no masked form is safe (birth date)


@strawberry.enum(description="共享类型: how the data item may be shared (docs/catalog.md).")
class SharingClass(enum.Enum):
    UNCONDITIONAL = "UNCONDITIONAL"  # 无条件共享
    CONDITIONAL = "CONDITIONAL"  # 有条件共享: a grant rests on a basis (an approval)


@strawberry.enum(description="The data item's class under PIPL (docs/catalog.md).")
class SensitivityClass(enum.Enum):
    GENERAL = "GENERAL"  # no personal information
    PERSONAL = "PERSONAL"  # personal information (PIPL art. 4)
    SENSITIVE = "SENSITIVE"  # sensitive personal information (art. 28)
    MINOR = "MINOR"  # a minor's personal information (art. 28, 31)


@strawberry.schema_directive(
    locations=[Location.FIELD_DEFINITION],
    description="What the resource catalogue says of the data item: its sharing class and sensitivity.",
)
class Shared:
    sharing: SharingClass
    sensitivity: SensitivityClass


@strawberry.schema_directive(
    locations=[Location.FIELD_DEFINITION],
    description="The data scope a client's grant must include to read this field.",
)
class Scope:
    name: str


@strawberry.schema_directive(
    locations=[Location.FIELD_DEFINITION],
    description="Readable by every client: the field carries no personal or enterprise data.",
)
class Public:
    pass


@strawberry.schema_directive(
    locations=[Location.FIELD_DEFINITION], description="How a `masked` grant of the field's scope shows it."
)
class Mask:
    rule: MaskRule


class Conclusion:
    """A field that concludes about records instead of returning them: a grant of its scope
    pins its arguments, so that they cannot be swept to rebuild the records."""


@strawberry.schema_directive(
    locations=[Location.FIELD_DEFINITION],
    description="A verdict: yes or no about records it does not return; a grant of its scope pins"
    " its arguments.",
)
class Verdict(Conclusion):
    pass


@strawberry.schema_directive(
    locations=[Location.FIELD_DEFINITION],
    description="A summary: a count or total over records it does not return; a grant of its scope"
    " pins its arguments.",
)
class Summary(Conclusion):
    pass


@strawberry.schema_directive(
    locations=[Location.FIELD_DEFINITION],
    description="A link whose scope a grant of any of these scopes also opens (space-separated, as"
    ' OAuth scopes), or of any scope below one ("social_insurance" covers'
    ' "social_insurance.verdict"), so that the client reaches the fields it was granted.',
)
class OpenedBy:
    scopes: str

    def openers(self) -> tuple[str, ...]:
        return tuple(self.scopes.split())


@strawberry.schema_directive(
    locations=[Location.FIELD_DEFINITION],
    description="How many items the list is taken to hold when an operation's cost is estimated:"
    " `assumed`, or as many as the keys given in the argument `sizedBy`.",
)
class ListSize:
    assumed: int | None = strawberry.UNSET  # unset arguments are not printed in the SDL
    sized_by: str | None = strawberry.UNSET


def scope(name: str, mask: MaskRule | None = None, *, opened_by: Sequence[str] = ()) -> list[object]:
    """Directives for a field: `strawberry.field(directives=scope("person.identity", MaskRule.NAME))`;
    a link field names the scopes that open it in `opened_by`."""
    declared: list[object] = [Scope(name=name)]
    if mask is not None:
        declared.append(Mask(rule=mask))
    if opened_by:
        declared.append(OpenedBy(scopes=" ".join(opened_by)))
    return declared


def verdict(name: str) -> list[object]:
    """Directives for a yes-or-no field of scope `name` (its arguments are pinned)."""
    return [Scope(name=name), Verdict()]


def summary(name: str) -> list[object]:
    """Directives for a count or total of scope `name` (its arguments are pinned)."""
    return [Scope(name=name), Summary()]


def public() -> list[object]:
    """Directives for a field anyone may read (reference data such as a district's name)."""
    return [Public()]


def list_size(assumed: int | None = None, *, sized_by: str | None = None) -> ListSize:
    """A list field's size for the cost estimate: `list_size(5)` or `list_size(sized_by="ids")`."""
    return ListSize(
        assumed=strawberry.UNSET if assumed is None else assumed,
        sized_by=strawberry.UNSET if sized_by is None else sized_by,
    )


@strawberry.schema_directive(
    locations=[Location.ARGUMENT_DEFINITION, Location.INPUT_FIELD_DEFINITION],
    description="The longest text the argument accepts, in characters; longer is BAD_USER_INPUT.",
)
class MaxLength:
    chars: int


def max_length(chars: int) -> Any:
    """An argument's declaration: `number: Annotated[str, max_length(32)]`."""
    return strawberry.argument(directives=[MaxLength(chars=chars)])
