"""The one place field policy is applied: resolvers are wrapped when the schema is built.

For every field with a `@scope` directive the wrapper, before anything is fetched,
looks the scope up in the principal's grants (resolved once per request, so the check
is one dict lookup): not granted → `null` with FORBIDDEN and the resolver, hence its
loader, never runs; granted `masked` → the value is masked by the field's `@mask` rule.
Fields returning a type that knows its districts (Person, Household) are checked
against the principal's jurisdiction after they resolve. Root look-ups by id are wrapped
by lookups.py (audited per id asked, budgeted), verdict and summary fields by verdicts.py
(pinned arguments, once per subject). Resolvers never check permissions themselves.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from inspect import isawaitable
from typing import Any

from graphql import (
    GraphQLError,
    GraphQLObjectType,
    GraphQLResolveInfo,
    default_field_resolver,
    get_named_type,
    get_nullable_type,
    is_list_type,
)

from gateway.access.lookups import looked_up
from gateway.compat import graphql_schema, strawberry_definition
from gateway.policy.masking import MASKS
from gateway.policy.model import MASKED
from gateway.policy.pins import Pinnable
from gateway.policy.refusals import OUTSIDE, forbidden, path_of
from gateway.policy.verdicts import PINNABLE_SUFFIXES, concluded, pinnable
from resolvers.context import Context
from resolvers.directives import Mask, MaskRule, Scope

__all__ = ["PolicySurface", "attach_policy"]

Info = GraphQLResolveInfo[Context]

Resolver = Callable[..., Any]


def _scoped(resolve: Resolver, scope: str, mask: Callable[[Any], Any] | None) -> Resolver:
    def guarded(source: Any, info: Info, **args: Any) -> Any:
        context: Context = info.context
        level = context.principal.grants.get(scope)
        if level is None:
            context.access.deny(path_of(info), scope)
            raise forbidden(f"Not granted for this purpose: {scope}.", scope=scope)
        subject = getattr(source, "_subject", None)
        if subject is not None:
            context.access.read(subject, scope)
        value = resolve(source, info, **args)
        if mask is None or level != MASKED:
            return value
        if isawaitable(value):
            return _masked_later(value, mask)
        return None if value is None else mask(value)

    return guarded


async def _masked_later(value: Awaitable[Any], mask: Callable[[Any], Any]) -> Any:
    result = await value
    return None if result is None else mask(result)


def _within(value: Any, districts: frozenset[str], info: Info) -> Any:
    if isinstance(value, list):
        return [_within(item, districts, info) for item in value]
    if value is None or not districts.isdisjoint(value._districts()):
        return value
    info.context.access.deny(path_of(info), "jurisdiction")
    return forbidden(OUTSIDE)


def _jurisdiction(resolve: Resolver) -> Resolver:
    """Links to persons and households (root look-ups are lookups.py's)."""

    def checked(source: Any, info: Info, **args: Any) -> Any:
        districts = info.context.principal.jurisdiction
        value = resolve(source, info, **args)
        if not districts:
            return value
        if isawaitable(value):
            return _checked_later(value, districts, info)
        return _raise_single(_within(value, districts, info))

    return checked


async def _checked_later(value: Awaitable[Any], districts: frozenset[str], info: Info) -> Any:
    return _raise_single(_within(await value, districts, info))


def _raise_single(value: Any) -> Any:
    # A refused single value is raised so it is reported at the field's own path;
    # in a list, graphql-core reports each refused item at its index.
    if isinstance(value, GraphQLError):
        raise value
    return value


def _definition_directives(field: Any) -> list[object]:
    return list(getattr(strawberry_definition(field), "directives", None) or [])


@dataclass(frozen=True)
class PolicySurface:
    """What the policy can name in a schema, found while its resolvers are wrapped."""

    scopes: frozenset[str]  # every scope the fields declare
    pinnable: Mapping[str, Pinnable]  # verdict and summary fields with arguments, by coordinate
    lookups: frozenset[str]  # root fields that look a subject up by id


def _origin(gtype: Any) -> Any:
    return getattr(strawberry_definition(get_named_type(gtype)), "origin", None)


def _scope_of(field: Any) -> str | None:
    return next((d.name for d in _definition_directives(field) if isinstance(d, Scope)), None)


def _id_scopes(gtype: GraphQLObjectType) -> frozenset[str]:
    """The scopes of the fields that show a type's identifiers (masked as ids are)."""
    found = set()
    for field in gtype.fields.values():
        directives = _definition_directives(field)
        rule = next((d.rule for d in directives if isinstance(d, Mask)), None)
        scope = _scope_of(field)
        if scope is not None and rule in (MaskRule.RESIDENT_ID, MaskRule.IDENTIFIER):
            found.add(scope)
    return frozenset(found)


def _by_key(field: Any) -> bool:
    """A look-up by key: one argument, and one answer per key (a list for a list of keys)."""
    if len(field.args) != 1:
        return False
    argument = next(iter(field.args.values()))
    return is_list_type(get_nullable_type(field.type)) == is_list_type(get_nullable_type(argument.type))


def attach_policy(schema: Any) -> PolicySurface:
    """Wrap the resolvers of `schema` (a strawberry.Schema); returns what policy may name."""
    core = graphql_schema(schema)
    scopes: set[str] = set()
    pins: dict[str, Pinnable] = {}
    lookups: set[str] = set()
    for type_name, gtype in core.type_map.items():
        if not isinstance(gtype, GraphQLObjectType) or type_name.startswith("__"):
            continue
        root = gtype is core.query_type
        for name, field in gtype.fields.items():
            resolve = field.resolve or default_field_resolver
            origin = _origin(field.type)
            scope = _scope_of(field)
            coordinate = f"{type_name}.{name}"
            districts = origin is not None and hasattr(origin, "_districts")
            rule = next((d.rule for d in _definition_directives(field) if isinstance(d, Mask)), None)
            if scope is not None:
                scopes.add(scope)
            if root and scope is not None and "_subject" in getattr(origin, "__dataclass_fields__", {}):
                if _by_key(field):  # audited per id, budgeted, jurisdiction applied (lookups.py)
                    named = get_named_type(field.type)
                    assert isinstance(named, GraphQLObjectType)
                    field.resolve = looked_up(resolve, scope, next(iter(field.args)), _id_scopes(named))
                    lookups.add(name)
                    continue
                if districts:
                    # Only a look-up answers "not yours" as it answers "not there".
                    raise TypeError(
                        f"{coordinate}: a root field of a district-checked type must look up by key"
                    )
            if scope is not None and scope.endswith(PINNABLE_SUFFIXES) and field.args:
                if rule is not None:
                    raise TypeError(f"{coordinate}: a verdict or summary has nothing to mask")
                pins[coordinate] = pinnable(scope, field)
                field.resolve = concluded(resolve, scope, coordinate, field.args)  # pinned (verdicts.py)
                continue
            if districts:
                resolve = _jurisdiction(resolve)
            if scope is not None:
                resolve = _scoped(resolve, scope, None if rule is None else MASKS[rule])
            field.resolve = resolve
    return PolicySurface(frozenset(scopes), pins, frozenset(lookups))
