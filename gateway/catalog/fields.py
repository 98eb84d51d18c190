"""Fields with resolvers the catalogue builds: root look-ups by key, and registered
derivations (their records turned into catalogue types)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Annotated, Any

import strawberry
from graphql import GraphQLError

from gateway.catalog.catalog import Catalog, Declared
from gateway.catalog.errors import CatalogError
from gateway.catalog.model import Lookup, Sensitivity, Sharing
from gateway.catalog.naming import field_name, python_name
from gateway.catalog.shape import Shape
from resolvers.context import Info
from resolvers.derivations import Derivation
from resolvers.directives import ListSize, MaxLength, OpenedBy, Scope, SensitivityClass, Shared, SharingClass

__all__ = ["derivation_field", "lookup_fields", "shared", "sharing_of"]

_STRICTNESS = list(Sharing)
_SENSITIVITY = list(Sensitivity)


def _read(d: Derivation, catalog: Catalog) -> list[tuple[Sharing, Sensitivity]]:
    """The classes of the items a derivation declares it reads (`resource` or
    `resource.item`); CatalogError for one the catalogue lacks."""
    found = []
    for entry in d.reads:
        name, _, item_name = entry.partition(".")
        declared = catalog.resources.get(name)
        items = [] if declared is None else list(declared.resource.items.items())
        chosen = [(n, i) for n, i in items if not item_name or n == item_name]
        if not chosen:
            raise CatalogError(f"derivation {d.on}.{d.name} reads {entry!r}, which the catalogue lacks")
        found += [(declared.sharing(i), declared.sensitivity(i)) for _, i in chosen]  # type: ignore[union-attr]
    return found


def sharing_of(d: Derivation, catalog: Catalog) -> Shared:
    """A derivation's class: as registered, else the strictest of the items it reads
    (a value derived from a not-shared item is shared conditionally at most), else of the
    catalogue items of its scope, else its type's resource's."""
    items = _read(d, catalog)
    scope = d.scope
    while scope and not items:  # "tax.rating.verdict" is about the items of "tax.rating"
        items = [
            (r.sharing(i), r.sensitivity(i))
            for r in catalog.resources.values()
            for _, i in r.shared()
            if r.scope(i) == scope
        ]
        scope = scope.rpartition(".")[0]
    home = catalog.types.get(d.on)
    fallback = (
        (home.resource.sharing, home.resource.sensitivity)
        if home is not None
        else (Sharing.CONDITIONAL, Sensitivity.PERSONAL)
    )
    sharing = max((s for s, _ in items), key=_STRICTNESS.index, default=fallback[0])
    sensitivity = max((s for _, s in items), key=_SENSITIVITY.index, default=fallback[1])
    if sharing is Sharing.NOT_SHARED:
        sharing = Sharing.CONDITIONAL
    if d.sharing is not None:
        sharing = Sharing(d.sharing)
    if d.sensitivity is not None:
        sensitivity = Sensitivity(d.sensitivity)
    return shared(sharing, sensitivity)


def shared(sharing: Sharing, sensitivity: Sensitivity) -> Shared:
    """The @shared directive of a field of this class."""
    return Shared(sharing=SharingClass[sharing.name], sensitivity=SensitivityClass[sensitivity.name])


def _made(function: Callable[..., Any], shape: Shape) -> Callable[..., Any]:
    """`function`, its records made into the catalogue type (a list of them, or one)."""
    make = shape.make

    def shaped(found: Any) -> Any:
        if found is None:
            return None
        if isinstance(found, list):
            return [None if r is None else make(r) for r in found]
        return make(found)

    if inspect.iscoroutinefunction(function):

        async def later(*args: Any, **kwargs: Any) -> Any:
            return shaped(await function(*args, **kwargs))

        return functools.update_wrapper(later, function)

    def now(*args: Any, **kwargs: Any) -> Any:
        return shaped(function(*args, **kwargs))

    return functools.update_wrapper(now, function)


def derivation_field(d: Derivation, shared: Shared | None, shape: Shape | None, graphql_type: Any) -> Any:
    function = d.function if shape is None else _made(d.function, shape)
    directives = d.declared() + ([] if shared is None else [shared])
    if graphql_type is None:
        return strawberry.field(resolver=function, description=d.description, directives=directives)
    return strawberry.field(
        resolver=function, description=d.description, directives=directives, graphql_type=graphql_type
    )


def _bounded(info: Info, keys: list[str], argument: str) -> None:
    limit = info.context.max_list_keys
    if len(keys) > limit:
        raise GraphQLError(
            f"{argument} takes at most {limit} keys, got {len(keys)}",
            extensions={
                "code": "OPERATION_LIMIT",
                "limit": "list_keys",
                "max": limit,
                "actual": len(keys),
                "argument": argument,
            },
        )


def _signature(argument: str, annotation: Any) -> inspect.Signature:
    return inspect.Signature(
        [
            inspect.Parameter("root", inspect.Parameter.POSITIONAL_OR_KEYWORD),
            inspect.Parameter("info", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Info),
            inspect.Parameter(argument, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=annotation),
        ]
    )


def lookup_fields(
    declared: Declared, lookup: Lookup, key_type: Any, cls: type, shape: Shape, openers: list[str]
) -> dict[str, Any]:
    """The resource's root fields: `one(key)` and `many(keys)`, each loading by key, opened
    by a grant of any of `openers` (besides their own scope)."""
    entity, make = declared.entity, shape.make
    scope = lookup.scope or declared.resource.scope or ""
    linked: list[object] = [Scope(name=scope)]
    if openers:
        linked.append(OpenedBy(scopes=" ".join(openers)))
    argument = python_name(lookup.argument)
    plural = python_name(lookup.plural or lookup.argument + "s")
    text = key_type is str
    annotation: Any = key_type
    if text and lookup.max_length is not None:
        annotation = Annotated[str, strawberry.argument(directives=[MaxLength(chars=lookup.max_length)])]
    fields: dict[str, Any] = {}
    if lookup.one is not None:

        async def one(root: Any, info: Info, **key: Any) -> Any:
            value = key[argument]
            r = await info.context.loaders.one(entity, value.strip() if text else value)
            return None if r is None else make(r)

        one.__signature__ = _signature(argument, annotation)  # type: ignore[attr-defined]
        fields[python_name(lookup.one)] = strawberry.field(
            resolver=one,
            name=lookup.one,
            description=lookup.description
            or f"{cls.__name__} by {lookup.argument}; null when there is none.",
            directives=linked,
            graphql_type=cls | None,
        )
    if lookup.many is not None:
        shown = field_name(plural)

        async def many(root: Any, info: Info, **keys: Any) -> Any:
            asked = [k.strip() for k in keys[plural]] if text else list(keys[plural])
            _bounded(info, asked, shown)
            records = await info.context.loaders.each(entity, asked)
            return [None if r is None else make(r) for r in records]

        many.__signature__ = _signature(plural, list[key_type])  # type: ignore[attr-defined]
        fields[python_name(lookup.many)] = strawberry.field(
            resolver=many,
            name=lookup.many,
            description=f"{cls.__name__} records by {lookup.argument}, in the order asked;"
            " null for unknown keys.",
            directives=[*linked, ListSize(assumed=strawberry.UNSET, sized_by=shown)],
            graphql_type=list[cls | None],  # type: ignore[valid-type]
        )
    return fields
