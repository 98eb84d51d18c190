"""The graph built from the catalogue: one Strawberry type per catalogue type, a field per
shared item, link and attachment, the root look-ups, and the registered derivations.

Each value is built once from its record (`Shape.make`): every item converted and set as
an attribute, so plain fields resolve by attribute, as a hand-written type's would.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import strawberry

from gateway.catalog.catalog import Catalog, Declared
from gateway.catalog.errors import CatalogError
from gateway.catalog.fields import derivation_field, lookup_fields, shared, sharing_of
from gateway.catalog.links import attached_to, link, through
from gateway.catalog.model import SHARING_TITLES, Attach, Item
from gateway.catalog.naming import python_name
from gateway.catalog.query import catalog_field
from gateway.catalog.shape import Shape, converter
from gateway.catalog.types import TypeRef, parse_type
from resolvers.derivations import Derivation, Entity
from resolvers.directives import (
    ListSize,
    Mask,
    MaskRule,
    OpenedBy,
    Scope,
)
from resolvers.subjects import Located, Subject
from resolvers.values import as_date, as_datetime, as_decimal

__all__ = ["Graph", "build_graph"]

_BUILT_IN: dict[str, tuple[Any, Callable[[Any], Any] | None]] = {
    "String": (str, None),
    "Int": (int, None),
    "Float": (float, None),
    "Boolean": (bool, None),
    "ID": (strawberry.ID, None),
    "Date": (dt.date, as_date),
    "DateTime": (dt.datetime, as_datetime),
    "Decimal": (decimal.Decimal, as_decimal),
}


@dataclass(frozen=True)
class Graph:
    """What the schema is built from."""

    query: type
    types: Mapping[str, type]
    entities: frozenset[str]  # every entity a resolver loads
    catalog: Catalog


class _Builder:
    def __init__(
        self,
        catalog: Catalog,
        named: Mapping[str, Any],
        values: Mapping[str, Callable[[Any], Any]],
        derivations: Sequence[Derivation],
    ) -> None:
        self.catalog = catalog
        self.named = named
        self.values = values
        self.derivations = derivations
        self.classes: dict[str, type] = {}
        self.shapes: dict[str, Shape] = {}

    # Types -------------------------------------------------------------------------

    def python_type(self, ref: TypeRef) -> Any:
        if ref.name in self.classes:
            base: Any = self.classes[ref.name]
        elif ref.name in _BUILT_IN:
            base = _BUILT_IN[ref.name][0]
        else:
            base = self.named[ref.name]
        if ref.listed:
            inner = base if ref.required else base | None
            return list[inner] if ref.list_required else list[inner] | None  # type: ignore[valid-type]
        return base if ref.required else base | None

    def convert(self, item: Item) -> Callable[[Any], Any] | None:
        ref = parse_type(item.type)
        if ref.name in _BUILT_IN:
            return _BUILT_IN[ref.name][1]
        if ref.name in self.values:
            return self.values[ref.name]
        try:
            return converter(self.named[ref.name], item.codes)
        except ValueError as exc:  # a code mapped to no value of the enum
            raise CatalogError(f"item {item.title} ({ref.name}): codes: {exc}") from exc

    def declare_classes(self) -> None:
        for name, home in self.catalog.types.items():
            r = home.resource
            bases: tuple[type, ...] = (
                (Entity, Located) if r.districts else (Entity, Subject) if r.subject else (Entity,)
            )
            namespace: dict[str, Any] = {"__annotations__": {}, "__module__": __name__}
            if r.districts:
                columns = tuple(r.districts)
                namespace["districts"] = lambda self, c=columns: tuple(self.record.get(k) for k in c)
            self.classes[name] = type(name, bases, namespace)

    def declare_shapes(self) -> None:
        for name, home in self.catalog.types.items():
            plain = [
                (item_name, item.source or item_name, self.convert(item))
                for item_name, item in home.shared()
                if parse_type(item.type).name not in self.catalog.types
            ]
            self.shapes[name] = Shape(self.classes[name], tuple(plain), home.resource.subject)

    # Fields ------------------------------------------------------------------------

    def item_directives(self, home: Declared, item: Item) -> list[object]:
        declared: list[object] = [Scope(name=home.scope(item) or "")]
        if item.mask is not None:
            declared.append(Mask(rule=MaskRule[item.mask]))
        declared.append(shared(home.sharing(item), home.sensitivity(item)))
        return declared

    def item_description(self, home: Declared, item: Item) -> str:
        sharing = home.sharing(item)
        note = f"{SHARING_TITLES[sharing]} ({sharing.value}) · {home.sensitivity(item).value}"
        if item.description is None:
            return f"{item.title} · {note}"
        return f"{item.description}\n\n{item.title} · {note}"

    def add_items(self, name: str, home: Declared) -> None:
        cls = self.classes[name]
        for item_name, item in home.shared():
            ref = parse_type(item.type)
            description = self.item_description(home, item)
            directives = self.item_directives(home, item)
            cls.__annotations__[item_name] = self.python_type(ref)
            if ref.name in self.catalog.types:
                target = self.catalog.home(ref.name)
                setattr(
                    cls,
                    item_name,
                    strawberry.field(
                        resolver=link(target.entity, item.source or item_name, self.shapes[ref.name]),
                        description=description,
                        directives=directives,
                        graphql_type=self.python_type(ref),
                    ),
                )
            else:
                setattr(cls, item_name, strawberry.field(description=description, directives=directives))

    def add_attachments(self) -> None:
        for declared in self.catalog.resources.values():
            for attach in declared.resource.attach:
                parent, _, field_name = attach.field.partition(".")
                returns, resolver = self.attached(declared, attach)
                directives: list[object] = [Scope(name=declared.scope_of(attach.scope) or "")]
                if attach.opened_by:  # a link opened by other scopes shares nothing itself
                    directives.append(OpenedBy(scopes=" ".join(attach.opened_by)))
                else:
                    directives.append(shared(*declared.strictest()))
                r = declared.resource
                if r.many and r.max is not None:
                    directives.append(ListSize(assumed=r.max, sized_by=strawberry.UNSET))
                cls, attribute = self.classes[parent], python_name(field_name)
                cls.__annotations__[attribute] = returns
                setattr(
                    cls,
                    attribute,
                    strawberry.field(
                        resolver=resolver,
                        name=field_name,
                        description=attach.description or r.description or r.title_en,
                        directives=directives,
                        graphql_type=returns,
                    ),
                )

    def attached(self, declared: Declared, attach: Attach) -> tuple[Any, Callable[..., Any]]:
        """The attachment's GraphQL type and resolver."""
        r = declared.resource
        if attach.through is not None:
            item = r.items[attach.through]
            target_type = parse_type(item.type).name
            followed = (item.source or attach.through, self.catalog.home(target_type).entity)
            resolver = through(declared.entity, attach.by, r.order_by, followed, self.shapes[target_type])
            return list[self.classes[target_type]] | None, resolver  # type: ignore[name-defined]
        target = self.classes[r.type or ""]  # a type, as checked when the catalogue was loaded
        resolver = attached_to(declared.entity, attach.by, r.many, r.order_by, self.shapes[r.type or ""])
        return (list[target] | None if r.many else target | None), resolver  # type: ignore[valid-type]

    def add_derivations(self) -> None:
        for d in self.derivations:
            if d.on == "Query":
                continue
            if d.on not in self.classes:
                raise CatalogError(
                    f"derivation {d.function.__module__}.{d.name} is registered on {d.on},"
                    " which no catalogue resource declares"
                )
            cls = self.classes[d.on]
            if d.name in cls.__dict__:
                raise CatalogError(
                    f"derivation {d.function.__qualname__}: {d.on}.{d.name} is also a catalogue field"
                )
            returns = None if d.returns is None else parse_type(d.returns)
            shape = None if returns is None else self.shapes[returns.name]
            graphql_type = None if returns is None else self.python_type(returns)
            setattr(cls, d.name, derivation_field(d, sharing_of(d, self.catalog), shape, graphql_type))

    def query(self) -> type:
        namespace: dict[str, Any] = {"__annotations__": {}, "__module__": __name__}
        for declared in self.catalog.resources.values():
            lookup = declared.resource.lookup
            if lookup is None or declared.resource.type is None:
                continue
            key_item = next(
                (i for n, i in declared.resource.items.items() if (i.source or n) == declared.resource.key),
                None,
            )
            key_type = parse_type(key_item.type).name if key_item is not None else "String"
            fields = lookup_fields(
                declared,
                lookup,
                self.python_type(TypeRef(key_type, required=True)),
                self.classes[declared.resource.type],
                self.shapes[declared.resource.type],
                self.catalog.lookup_openers(declared.resource.type),
            )
            namespace.update(fields)
        roots = {d.name: derivation_field(d, None, None, None) for d in self.derivations if d.on == "Query"}
        roots["catalog"] = catalog_field(self.catalog)  # the catalogue itself, as reference data
        for name in sorted(set(roots) & set(namespace)):
            raise CatalogError(f"Query.{name} is looked up by a catalogue resource and is also the gateway's")
        namespace.update(roots)
        return strawberry.type(type("Query", (), namespace))

    def build(self) -> Graph:
        self.declare_classes()
        self.declare_shapes()
        for name, home in self.catalog.types.items():
            self.add_items(name, home)
        self.add_attachments()
        self.add_derivations()
        for name, home in self.catalog.types.items():
            strawberry.type(
                self.classes[name], description=home.resource.description or home.resource.title_en
            )
        loads = {e for d in self.derivations for e in d.loads}
        return Graph(self.query(), dict(self.classes), self.catalog.entities() | loads, self.catalog)


def build_graph(
    catalog: Catalog,
    named: Mapping[str, Any],
    values: Mapping[str, Callable[[Any], Any]],
    derivations: Sequence[Derivation],
) -> Graph:
    """`named`: the graph's own types by name (scalars, enums, value types); `values`: how
    a record's value becomes one of them, where it is not the value itself."""
    return _Builder(catalog, named, values, derivations).build()
