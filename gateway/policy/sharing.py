"""What the resource catalogue asks of a grant: a scope holding a conditional item
(有条件共享) is granted only with a `basis`, and a not-shared item (不予共享) is never
granted, by its coordinate or by a scope only not-shared items have."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["SharingRules"]


@dataclass(frozen=True)
class SharingRules:
    # Scopes with at least one conditional field: their grants must carry a basis.
    conditional: frozenset[str] = frozenset()
    # Not-shared items by coordinate ("Person.householdNo") and the scopes only they have,
    # each with where the catalogue declares it.
    withheld: Mapping[str, str] = field(default_factory=dict)

    def refusal(self, scope: str) -> str | None:
        """Why `scope` cannot be granted, or None when it may be."""
        where = self.withheld.get(scope)
        return None if where is None else f"{scope!r} is not shared (不予共享; {where})"
