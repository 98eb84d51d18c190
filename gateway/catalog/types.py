"""Type expressions as the catalogue and derivations write them, in GraphQL's notation:
`String`, `Date!`, `[Person!]`, `[Person]!`."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["BUILT_IN", "TypeRef", "parse_type"]

# GraphQL's own scalars and the project's (resolvers/scalars.py, strawberry's dates and
# decimals); anything else must be an enum, a value type or a catalogue type.
BUILT_IN = frozenset({"String", "Int", "Float", "Boolean", "ID", "Date", "DateTime", "Decimal"})

_EXPRESSION = re.compile(r"^(\[)?([A-Z][A-Za-z0-9]*)(!)?(?(1)\](!)?)$")


@dataclass(frozen=True)
class TypeRef:
    name: str
    required: bool = False  # the named type (a list's items, or the value) is non-null
    listed: bool = False
    list_required: bool = False

    def __str__(self) -> str:
        inner = self.name + ("!" if self.required else "")
        return f"[{inner}]" + ("!" if self.list_required else "") if self.listed else inner


def parse_type(expression: str) -> TypeRef:
    """ValueError naming the expression when it is not a type."""
    found = _EXPRESSION.match(expression.replace(" ", ""))
    if found is None:
        raise ValueError(f"{expression!r} is not a type (String, Date!, [Person!], ...)")
    listed, name, required, list_required = found.groups()
    return TypeRef(name, bool(required), bool(listed), bool(list_required))
