"""The one place field policy is applied: resolvers are wrapped when the schema is built.

For every field with a `@scope` directive the wrapper, before anything is fetched,
looks the scope up in the principal's grants (resolved once per request, so the check
is one dict lookup): not granted → `null` with FORBIDDEN and the resolver, hence its
loader, never runs; granted `masked` → the value is masked by the field's `@mask` rule.
Fields returning a type that knows its districts (Person, Household) are checked
against the principal's jurisdiction after they resolve. Resolvers never check
permissions themselves.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from inspect import isawaitable
from typing import Any

from graphql import (
    GraphQLError,
    GraphQLObjectType,
    GraphQLResolveInfo,
    default_field_resolver,
    get_named_type,
)

from resolvers.context import Context
from resolvers.directives import Mask, Scope

from .masking import MASKS
from .policy import MASKED

__all__ = ["attach_policy"]

Info = GraphQLResolveInfo[Context]

Resolver = Callable[..., Any]
_OUTSIDE = "Outside this client's jurisdiction, or not found."


def _forbidden(message: str, **extensions: object) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "FORBIDDEN", **extensions})


def _path(info: Info) -> str:
    return ".".join(str(p) for p in info.path.as_list())


def _scoped(resolve: Resolver, scope: str, mask: Callable[[Any], Any] | None) -> Resolver:
    verdict = scope.endswith(".verdict")

    def guarded(source: Any, info: Info, **args: Any) -> Any:
        context: Context = info.context
        level = context.principal.grants.get(scope)
        if level is None:
            context.access.deny(_path(info), scope)
            raise _forbidden(f"Not granted for this purpose: {scope}.", scope=scope)
        subject = getattr(source, "_subject", None)
        if subject is not None:
            context.access.read(subject, scope)
            if verdict and context.verdicts.setdefault((subject, info.field_name), args) != args:
                context.access.deny(_path(info), scope)
                raise _forbidden("A verdict is evaluated once per subject and request.", scope=scope)
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


def _within(value: Any, districts: frozenset[str], root: bool, info: Info) -> Any:
    if isinstance(value, list):
        return [_within(item, districts, root, info) for item in value]
    if value is None:
        # At the root, "no such person" must look the same as "not yours".
        return _forbidden(_OUTSIDE) if root else None
    if districts.isdisjoint(value._districts()):
        info.context.access.deny(_path(info), "jurisdiction")
        return _forbidden(_OUTSIDE)
    return value


def _jurisdiction(resolve: Resolver, root: bool) -> Resolver:
    def checked(source: Any, info: Info, **args: Any) -> Any:
        districts = info.context.principal.jurisdiction
        value = resolve(source, info, **args)
        if not districts:
            return value
        if isawaitable(value):
            return _checked_later(value, districts, root, info)
        return _raise_single(_within(value, districts, root, info))

    return checked


async def _checked_later(value: Awaitable[Any], districts: frozenset[str], root: bool, info: Info) -> Any:
    return _raise_single(_within(await value, districts, root, info))


def _raise_single(value: Any) -> Any:
    # A refused single value is raised so it is reported at the field's own path;
    # in a list, graphql-core reports each refused item at its index.
    if isinstance(value, GraphQLError):
        raise value
    return value


def _recorded(resolve: Resolver, scope: str) -> Resolver:
    """Root look-ups: every subject found is recorded, so even `{ __typename }` is audited."""

    def note(info: Info, value: Any) -> Any:
        for item in value if isinstance(value, list) else [value]:
            subject = getattr(item, "_subject", None)
            if subject is not None:
                info.context.access.read(subject, scope)
        return value

    async def later(info: Info, value: Awaitable[Any]) -> Any:
        return note(info, await value)

    def recording(source: Any, info: Info, **args: Any) -> Any:
        value = resolve(source, info, **args)
        return later(info, value) if isawaitable(value) else note(info, value)

    return recording


def _definition_directives(field: Any) -> list[object]:
    definition = field.extensions.get("strawberry-definition") if field.extensions else None
    return list(getattr(definition, "directives", None) or [])


def attach_policy(schema: Any) -> frozenset[str]:
    """Wrap the resolvers of `schema` (a strawberry.Schema); returns the scopes declared."""
    core = schema._schema
    scopes: set[str] = set()
    for type_name, gtype in core.type_map.items():
        if not isinstance(gtype, GraphQLObjectType) or type_name.startswith("__"):
            continue
        root = gtype is core.query_type
        for field in gtype.fields.values():
            resolve = field.resolve or default_field_resolver
            named = get_named_type(field.type)
            origin = (
                getattr(named.extensions.get("strawberry-definition"), "origin", None)
                if named.extensions
                else None
            )
            if origin is not None and hasattr(origin, "_districts"):
                resolve = _jurisdiction(resolve, root)
            directives = _definition_directives(field)
            scope = next((d.name for d in directives if isinstance(d, Scope)), None)
            if root and scope is not None and "_subject" in getattr(origin, "__dataclass_fields__", {}):
                resolve = _recorded(resolve, scope)
            if scope is not None:
                rule = next((d.rule for d in directives if isinstance(d, Mask)), None)
                resolve = _scoped(resolve, scope, None if rule is None else MASKS[rule])
                scopes.add(scope)
            field.resolve = resolve
    return frozenset(scopes)
