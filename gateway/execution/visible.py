"""Each client's own graph: the schema as its grants for the declared purpose show it.

Introspection and "Did you mean ...?" hints answer from this schema; execution never
does (a field the client may not read still validates and answers `null` with
FORBIDDEN, as enforcement decides: gateway/policy/enforcement.py).

A field is shown when it is `@public`, when its `@scope` is granted (full or masked), or
when it is a link whose scope a granted scope opens (`@openedBy`). A field the client
sees masked says so in its description. An object type left with no field shown is left
out, and so are the fields that lead to it; then only what is reachable from Query stays:
the arguments, enums, scalars and input types of hidden fields go with them. Directive
definitions stay. A purpose that may introspect (the developer's) sees the whole schema.

The schema for a grant set is built once and kept (`VisibleSchemas`, an LRU): grants are
few and repeat, and a policy reload that changes a grant makes a new key.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, cast

from graphql import (
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLNullableType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLType,
    GraphQLUnionType,
    get_named_type,
)

from gateway.policy.declarations import Declarations, FieldPolicy, object_types, read_declarations
from gateway.policy.grants import MASKED

if TYPE_CHECKING:
    from resolvers.context import Principal

__all__ = ["MAX_SCHEMAS", "VisibleSchemas", "masked_note", "visible_schema"]

MAX_SCHEMAS = 256  # distinct grant sets kept; a policy holds a few dozen

Grants = Mapping[str, str]  # scope -> "full" | "masked", as Principal.grants


def masked_note(rule: str) -> str:
    """The line a masked field's description gains in a client's own graph."""
    return f"Masked for this client: {rule} rule (docs/authorization.md)."


def _shown_scopes(grants: Grants, opens: Mapping[str, Collection[str]]) -> frozenset[str]:
    """The granted scopes and the link scopes they open (grants from the policy hold those
    already; a grant built by hand may not)."""
    shown = set(grants)
    for scope in grants:
        shown.update(opens.get(scope, ()))
    return frozenset(shown)


def _shows(policy: FieldPolicy | None, scopes: frozenset[str]) -> bool:
    if policy is None:  # not a declared field of the graph: deny by default
        return False
    return policy.scope is None or policy.scope in scopes


def _shown_fields(
    core: GraphQLSchema, declarations: Declarations, scopes: frozenset[str]
) -> dict[str, dict[str, GraphQLField]]:
    """Object type -> its fields shown; without the fields that lead to a type left empty."""
    shown = {
        name: {
            field_name: field
            for field_name, field in gtype.fields.items()
            if _shows(declarations.fields.get(f"{name}.{field_name}"), scopes)
        }
        for name, gtype in object_types(core)
    }

    def alive(gtype: GraphQLNamedType) -> bool:
        if isinstance(gtype, GraphQLObjectType):
            return bool(shown.get(gtype.name))
        if isinstance(gtype, GraphQLUnionType):
            return any(alive(member) for member in gtype.types)
        # Declarations name object types' fields only: an interface shows nothing.
        return not isinstance(gtype, GraphQLInterfaceType)

    emptied = True
    while emptied:  # a type emptied may empty the types that lead only to it
        emptied = False
        for fields in shown.values():
            for field_name in [f for f, field in fields.items() if not alive(get_named_type(field.type))]:
                del fields[field_name]
                emptied = True
    return shown


def _reachable(
    query: GraphQLObjectType, shown: Mapping[str, Mapping[str, GraphQLField]]
) -> dict[str, GraphQLNamedType]:
    """The named types reachable from Query through fields shown and their arguments."""
    reached: dict[str, GraphQLNamedType] = {}
    pending: list[GraphQLNamedType] = [query]
    while pending:
        gtype = pending.pop()
        if gtype.name in reached:
            continue
        reached[gtype.name] = gtype
        if isinstance(gtype, GraphQLObjectType):
            for field in shown.get(gtype.name, {}).values():
                pending.append(get_named_type(field.type))
                pending.extend(get_named_type(argument.type) for argument in field.args.values())
        elif isinstance(gtype, GraphQLUnionType):
            pending.extend(member for member in gtype.types if shown.get(member.name))
        elif isinstance(gtype, GraphQLInputObjectType):
            pending.extend(get_named_type(field.type) for field in gtype.fields.values())
    return reached


class _Copies:
    """A client's types: object and union types copied with what it is shown, scalars,
    enums and input types shared with the whole schema (nothing in them is filtered)."""

    def __init__(
        self,
        declarations: Declarations,
        grants: Grants,
        shown: Mapping[str, Mapping[str, GraphQLField]],
        reached: Mapping[str, GraphQLNamedType],
    ) -> None:
        self.declarations, self.grants, self.shown = declarations, grants, shown
        self.types: dict[str, GraphQLNamedType] = {name: self._copy(t) for name, t in reached.items()}

    def _copy(self, gtype: GraphQLNamedType) -> GraphQLNamedType:
        # Fields and members are thunks: they name copies made after this one.
        if isinstance(gtype, GraphQLObjectType):
            name = gtype.name
            return GraphQLObjectType(
                name,
                lambda: {f: self._field(name, f, field) for f, field in self.shown[name].items()},
                interfaces=(),  # an interface shows nothing (_shown_fields)
                is_type_of=gtype.is_type_of,
                description=gtype.description,
                extensions=gtype.extensions,
                ast_node=gtype.ast_node,
                extension_ast_nodes=gtype.extension_ast_nodes,
            )
        if isinstance(gtype, GraphQLUnionType):
            members = gtype.types
            return GraphQLUnionType(
                gtype.name,
                lambda: [self.object_type(m.name) for m in members if m.name in self.types],
                resolve_type=gtype.resolve_type,
                description=gtype.description,
                extensions=gtype.extensions,
                ast_node=gtype.ast_node,
                extension_ast_nodes=gtype.extension_ast_nodes,
            )
        return gtype

    def object_type(self, name: str) -> GraphQLObjectType:
        copied = self.types[name]
        if not isinstance(copied, GraphQLObjectType):
            raise TypeError(f"{name} is not an object type")
        return copied

    def _type(self, gtype: GraphQLType) -> GraphQLType:
        if isinstance(gtype, GraphQLNonNull):
            return GraphQLNonNull(cast("GraphQLNullableType", self._type(gtype.of_type)))
        if isinstance(gtype, GraphQLList):
            return GraphQLList(self._type(gtype.of_type))
        return self.types[get_named_type(gtype).name]

    def _field(self, type_name: str, field_name: str, field: GraphQLField) -> GraphQLField:
        policy = self.declarations.fields[f"{type_name}.{field_name}"]
        description = field.description
        if policy.mask is not None and policy.scope is not None and self.grants.get(policy.scope) == MASKED:
            note = masked_note(policy.mask.value)
            description = note if not description else f"{description}\n\n{note}"
        return GraphQLField(
            self._type(field.type),  # type: ignore[arg-type]  # copied from an output type
            field.args,  # argument types are shared: scalars, enums, input types
            field.resolve,
            field.subscribe,
            description,
            field.deprecation_reason,
            field.extensions,
            field.ast_node,
        )


def visible_schema(core: GraphQLSchema, declarations: Declarations, grants: Grants) -> GraphQLSchema:
    """The schema `grants` show, a new schema beside `core`: its object types hold the
    fields shown, resolvers included (so that executing against it would still enforce
    the policy)."""
    query = core.query_type
    if query is None:
        raise TypeError("the schema has no Query type")
    shown = _shown_fields(core, declarations, _shown_scopes(grants, declarations.opens))
    copies = _Copies(declarations, grants, shown, _reachable(query, shown))
    return GraphQLSchema(
        query=copies.object_type(query.name),
        types=tuple(copies.types.values()),
        directives=core.directives,
        description=core.description,
        extensions=core.extensions,
        # Only taken away from a valid schema, and no type left empty, except perhaps
        # Query itself (a grant opening no root field): introspection answers that too.
        assume_valid=True,
    )


class VisibleSchemas:
    """The schema each principal sees, built once per distinct grant set."""

    def __init__(self, core: GraphQLSchema, declarations: Declarations | None = None) -> None:
        self.core = core
        self.declarations = declarations if declarations is not None else read_declarations(core)
        self._built = lru_cache(maxsize=MAX_SCHEMAS)(self._build)

    def _build(self, grants: frozenset[tuple[str, str]]) -> GraphQLSchema:
        return visible_schema(self.core, self.declarations, dict(grants))

    def for_grants(self, grants: Grants, may_introspect: bool = False) -> GraphQLSchema:
        """The whole schema for a purpose that may introspect; otherwise what `grants` show."""
        if may_introspect:
            return self.core
        return self._built(frozenset(grants.items()))

    def for_principal(self, principal: Principal) -> GraphQLSchema:
        return self.for_grants(principal.grants, principal.may_introspect)

    def cached(self) -> int:
        """How many grant sets' schemas are kept."""
        return self._built.cache_info().currsize
