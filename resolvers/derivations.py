"""Fields the catalogue cannot declare: a value derived from a record (`age`), a verdict or
summary over records, a link with logic. Each is a small function registered against a
catalogue type by name; the gateway adds it to the type the catalogue builds.

    @derived("Person", scope="person.identity", description="Whole years.")
    def age(root: Entity, info: Info) -> int | None: ...

The function receives the catalogue type's value (`root.record` is the department's
record, not-shared items included) and returns its field's value. When it returns
catalogue types, `returns` names them in GraphQL's notation (`"[TaxPayment!]"`) and the
function returns records, which the gateway turns into that type.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sources.base import Record

from .directives import ListSize, OpenedBy, Scope, Summary, Verdict, list_size

__all__ = ["DERIVATIONS", "Derivation", "Entity", "derived"]

F = TypeVar("F", bound=Callable[..., Any])


class Entity:
    """A catalogue type's value: the record it was built from, and each item converted,
    as an attribute named like the item. The gateway's class for a type also derives from
    `Subject` when the resource names a `subject` column, and from `Located` when it names
    `districts` columns."""

    record: Record


@dataclass(frozen=True)
class Derivation:
    on: str  # the catalogue type, or "Query" for a root field
    function: Callable[..., Any]
    scope: str
    description: str
    returns: str | None = None  # catalogue types, in GraphQL's notation; None: the annotation
    directives: tuple[object, ...] = ()
    loads: tuple[str, ...] = ()  # entities it loads that no catalogue resource declares
    reads: tuple[str, ...] = ()  # catalogue items it reads: "resource" or "resource.item"
    sharing: str | None = None  # the scope's strictest class when absent
    sensitivity: str | None = None

    @property
    def name(self) -> str:
        return self.function.__name__

    def declared(self) -> list[object]:
        return [Scope(name=self.scope), *self.directives]


DERIVATIONS: list[Derivation] = []


def derived(
    on: str,
    *,
    scope: str,
    description: str,
    returns: str | None = None,
    verdict: bool = False,
    summary: bool = False,
    assumed: int | None = None,
    opened_by: Sequence[str] = (),
    loads: Sequence[str] = (),
    reads: Sequence[str] = (),
    sharing: str | None = None,
    sensitivity: str | None = None,
) -> Callable[[F], F]:
    """Register the decorated function as the field `on.<function name>`. `reads` names the
    catalogue items it reads (`"person.birth_date"`, or a whole resource): its sharing class
    and sensitivity are theirs, unless `sharing` and `sensitivity` say otherwise."""
    directives: list[object] = []
    if verdict:
        directives.append(Verdict())
    if summary:
        directives.append(Summary())
    if assumed is not None:
        size: ListSize = list_size(assumed)
        directives.append(size)
    if opened_by:
        directives.append(OpenedBy(scopes=" ".join(opened_by)))

    def register(function: F) -> F:
        DERIVATIONS.append(
            Derivation(
                on,
                function,
                scope,
                description,
                returns,
                tuple(directives),
                tuple(loads),
                tuple(reads),
                sharing,
                sensitivity,
            )
        )
        return function

    return register
