"""What the graph's fields declare for policy, read once when the schema is built.

Deny by default: every field of every object type, the root's included, declares either
the scope a grant must include (`@scope`) or that anyone may read it (`@public`); a
schema where one declares neither, or both, does not build. Introspection fields
(`__typename`, `__schema`, `__type`) are not graph fields and declare nothing.

The gateway knows no scope by name: which fields are verdicts or summaries comes from
`@verdict` and `@summary`, and which link scopes a grant opens from `@openedBy` on the
link fields (docs/authorization.md, "Scope families"). All fields of one scope must
agree on both.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TypeVar

from graphql import GraphQLField, GraphQLObjectType, GraphQLSchema

from gateway.compat import declared
from resolvers.directives import Conclusion, Mask, MaskRule, OpenedBy, Public, Scope, Shared, SharingClass

__all__ = ["Declarations", "FieldPolicy", "object_types", "read_declarations"]

T = TypeVar("T")


@dataclass(frozen=True)
class FieldPolicy:
    """One field's declaration: its scope (None: public), mask rule, whether it is a verdict
    or summary (`conclusion`: the directive's name), and for a link the scopes that open it."""

    scope: str | None
    mask: MaskRule | None = None
    conclusion: str | None = None
    openers: tuple[str, ...] = ()
    conditional: bool = False  # @shared(sharing: CONDITIONAL): a grant of its scope needs a basis


@dataclass(frozen=True)
class Declarations:
    fields: Mapping[str, FieldPolicy]  # by coordinate, "Type.field"
    # Every declared scope -> the link scopes a grant of it opens (itself excluded).
    opens: Mapping[str, frozenset[str]]


def object_types(schema: GraphQLSchema) -> Iterator[tuple[str, GraphQLObjectType]]:
    """The graph's object types, without introspection's."""
    for name, gtype in schema.type_map.items():
        if isinstance(gtype, GraphQLObjectType) and not name.startswith("__"):
            yield name, gtype


def _field_policy(coordinate: str, field: GraphQLField) -> FieldPolicy:
    scope, public = declared(field, Scope), declared(field, Public)
    if scope is None and public is None:
        raise TypeError(
            f"{coordinate} declares neither @scope nor @public: every field must say who may read it"
        )
    mask, conclusion, opened = declared(field, Mask), declared(field, Conclusion), declared(field, OpenedBy)
    if scope is None:
        if mask or conclusion or opened:
            raise TypeError(f"{coordinate} is @public: @mask, @verdict, @summary and @openedBy need a @scope")
        return FieldPolicy(None)
    if public is not None:
        raise TypeError(f"{coordinate} declares both @scope and @public")
    shared = declared(field, Shared)
    return FieldPolicy(
        scope.name,
        None if mask is None else mask.rule,
        None if conclusion is None else f"@{type(conclusion).__name__.lower()}",
        () if opened is None else opened.openers(),
        shared is not None and shared.sharing is SharingClass.CONDITIONAL,
    )


def _shown(value: object) -> str:
    if isinstance(value, tuple):
        value = " ".join(value)
    return repr(value) if value else "none"


def _agree(seen: dict[str, tuple[T, str]], coordinate: str, scope: str, what: str, value: T) -> None:
    """Every field of a scope declares the same `what`."""
    first, where = seen.setdefault(scope, (value, coordinate))
    if first != value:
        raise TypeError(
            f"{coordinate}: scope {scope!r} declares {what} {_shown(value)} here but"
            f" {_shown(first)} on {where}: one scope, one declaration"
        )


def _covers(opener: str, scope: str) -> bool:
    """An `openedBy` entry names a scope and every scope below it."""
    return scope == opener or scope.startswith(opener + ".")


def read_declarations(schema: GraphQLSchema) -> Declarations:
    """Every field's declaration, checked: raises TypeError naming the first field that
    declares neither @scope nor @public, or that disagrees with another field of its scope."""
    fields: dict[str, FieldPolicy] = {}
    kinds: dict[str, tuple[str | None, str]] = {}  # scope -> (conclusion, first coordinate)
    links: dict[str, tuple[tuple[str, ...], str]] = {}  # scope -> (openers, first coordinate)
    for type_name, gtype in object_types(schema):
        for name, field in gtype.fields.items():
            coordinate = f"{type_name}.{name}"
            policy = fields[coordinate] = _field_policy(coordinate, field)
            if policy.scope is None:
                continue
            _agree(kinds, coordinate, policy.scope, "@verdict or @summary", policy.conclusion)
            _agree(links, coordinate, policy.scope, "@openedBy", policy.openers)
    scopes = frozenset(kinds)
    opened_by = {link: openers for link, (openers, _) in links.items() if openers}
    for link, openers in opened_by.items():
        for opener in openers:
            if not any(_covers(opener, s) for s in scopes):
                raise TypeError(f"{links[link][1]}: @openedBy {opener!r} names no declared scope")
    opens = {
        scope: frozenset(
            link
            for link, openers in opened_by.items()
            if link != scope and any(_covers(o, scope) for o in openers)
        )
        for scope in scopes
    }
    return Declarations(fields, opens)
