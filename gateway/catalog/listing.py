"""The catalogue as it is listed to people and programs (`govgraph catalog`, the `catalog`
query): each department's resources and items in the order of the files, with what the
gateway makes of them: each item's class after the resource's defaults, and the GraphQL
coordinates where a resource's records enter the graph and where an item is read.

The coordinates are worked out as the graph's builder names its fields (the schema's own
name converter), so that the listing says what the schema holds without building one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

from gateway.catalog.catalog import Catalog, Declared
from gateway.catalog.model import Department, Item, Sensitivity, Sharing
from gateway.catalog.naming import field_name, python_name

__all__ = ["Entry", "Listed", "ListedDepartment", "ListedItem", "ListedResource", "listing", "matching"]


@dataclass(frozen=True)
class Entry:
    """A field leading to a resource's records: a root look-up (`Query.person`, by its
    argument) or an attachment (`Person.guardians`, by the parent's column)."""

    field: str  # "Type.fieldName"
    by: str  # the look-up's argument, or the parent record's column
    through: str | None  # the link item each record is followed through
    scope: str | None


@dataclass(frozen=True)
class ListedItem:
    name: str
    item: Item  # as declared
    field: str | None  # its coordinate; None when not shared or not a field of its own
    sharing: Sharing
    sensitivity: Sensitivity
    scope: str | None  # None when not shared: no grant reads it
    conditions: str | None  # 共享条件 of a conditional item, its own or its resource's

    def words(self) -> tuple[str, ...]:
        return (self.name, self.item.title, self.field or "")


@dataclass(frozen=True)
class ListedResource:
    name: str
    declared: Declared
    entries: tuple[Entry, ...]
    items: tuple[ListedItem, ...]

    def words(self) -> tuple[str, ...]:
        r = self.declared.resource
        return (self.name, r.title, r.title_en, r.type or "")


@dataclass(frozen=True)
class ListedDepartment:
    file: str  # the catalogue file's name
    department: Department
    resources: tuple[ListedResource, ...]

    def words(self) -> tuple[str, ...]:
        d = self.department
        return (d.code, d.name, d.name_en)


Listed = tuple[ListedDepartment, ...]


def _entries(declared: Declared) -> Iterator[Entry]:
    r = declared.resource
    if r.lookup is not None:
        lookup, argument = r.lookup, python_name(r.lookup.argument)
        scope = declared.scope_of(lookup.scope)
        if lookup.one is not None:
            yield Entry(f"Query.{lookup.one}", field_name(argument), None, scope)
        if lookup.many is not None:
            yield Entry(f"Query.{lookup.many}", lookup.plural or field_name(argument) + "s", None, scope)
    for attach in r.attach:
        yield Entry(attach.field, attach.by, attach.through, declared.scope_of(attach.scope))


def _item(declared: Declared, name: str, item: Item, entries: tuple[Entry, ...]) -> ListedItem:
    sharing = declared.sharing(item)
    shared = sharing is not Sharing.NOT_SHARED
    field: str | None = None
    if shared and declared.resource.type is not None:
        field = f"{declared.resource.type}.{field_name(name)}"
    elif shared:
        # A resource without a type is a field only where it is attached through this link.
        field = next((e.field for e in entries if e.through == name), None)
    conditions = item.conditions or declared.resource.conditions
    return ListedItem(
        name=name,
        item=item,
        field=field,
        sharing=sharing,
        sensitivity=declared.sensitivity(item),
        scope=declared.scope(item) if shared else None,
        conditions=conditions if sharing is Sharing.CONDITIONAL else None,
    )


def _resource(declared: Declared) -> ListedResource:
    entries = tuple(_entries(declared))
    items = tuple(_item(declared, n, i, entries) for n, i in declared.resource.items.items())
    return ListedResource(declared.name, declared, entries, items)


def listing(catalog: Catalog) -> Listed:
    """Every department, in the order of its file's name, and its resources and items in
    the order the file declares them."""
    return tuple(
        ListedDepartment(
            path.name,
            document.department,
            tuple(_resource(catalog.resources[name]) for name in document.resources),
        )
        for path, document in catalog.files.items()
    )


def _found(words: tuple[str, ...], text: str) -> bool:
    return any(text in w.casefold() for w in words)


def matching(listed: Listed, search: str | None) -> Listed:
    """What `search` names, case-insensitively, anywhere in a title, name or field: a
    department named keeps all of its resources, a resource named all of its items;
    otherwise only the items named are kept, with their resources and departments."""
    text = (search or "").strip().casefold()
    if not text:
        return listed
    departments = []
    for department in listed:
        if _found(department.words(), text):
            departments.append(department)
            continue
        resources = []
        for resource in department.resources:
            if _found(resource.words(), text):
                resources.append(resource)
            elif items := tuple(i for i in resource.items if _found(i.words(), text)):
                resources.append(replace(resource, items=items))
        if resources:
            departments.append(replace(department, resources=tuple(resources)))
    return tuple(departments)
