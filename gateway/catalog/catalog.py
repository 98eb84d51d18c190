"""The catalogue once read: every department's resources by name, and the resource that
declares each type's items (its home: where a link to the type loads it from)."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gateway.catalog.model import CatalogFile, Department, Item, Resource, Sensitivity, Sharing
from gateway.catalog.naming import field_name

__all__ = ["Catalog", "Declared"]


@dataclass(frozen=True)
class Declared:
    """One resource, with the file and department that declare it."""

    path: Path
    department: Department
    name: str
    resource: Resource

    @property
    def entity(self) -> str:
        return self.resource.entity or self.name

    def scope(self, item: Item) -> str | None:
        return item.scope or self.resource.scope

    def scope_of(self, override: str | None) -> str | None:
        return override or self.resource.scope

    def sharing(self, item: Item) -> Sharing:
        return item.sharing or self.resource.sharing

    def sensitivity(self, item: Item) -> Sensitivity:
        return item.sensitivity or self.resource.sensitivity

    def columns(self) -> set[str]:
        """The record columns it declares: its key and what its items read."""
        return {self.resource.key} | {item.source or name for name, item in self.resource.items.items()}

    def strictest(self) -> tuple[Sharing, Sensitivity]:
        """The class of what it shares: its strictest shared item's, or its own."""
        found = [(self.sharing(i), self.sensitivity(i)) for _, i in self.shared()]
        if not found:
            return self.resource.sharing, self.resource.sensitivity
        return (
            max((s for s, _ in found), key=list(Sharing).index),
            max((s for _, s in found), key=list(Sensitivity).index),
        )

    def shared(self) -> Iterator[tuple[str, Item]]:
        """Its items that are fields: every one but the not-shared."""
        for name, item in self.resource.items.items():
            if self.sharing(item) is not Sharing.NOT_SHARED:
                yield name, item


@dataclass(frozen=True)
class Catalog:
    files: Mapping[Path, CatalogFile]
    resources: Mapping[str, Declared]
    types: Mapping[str, Declared]  # type name -> the resource declaring its items
    duplicates: Mapping[str, tuple[Declared, ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, files: Mapping[Path, CatalogFile]) -> Catalog:
        resources: dict[str, Declared] = {}
        types: dict[str, Declared] = {}
        duplicates: dict[str, list[Declared]] = {}
        for path, document in files.items():
            for name, resource in document.resources.items():
                declared = Declared(path, document.department, name, resource)
                if name in resources:
                    duplicates.setdefault(name, [resources[name]]).append(declared)
                    continue
                resources[name] = declared
                if resource.type is not None and resource.items and resource.type not in types:
                    types[resource.type] = declared
        return cls(files, resources, types, {k: tuple(v) for k, v in duplicates.items()})

    def lookup_openers(self, type_name: str) -> list[str]:
        """The scopes that open `type_name`'s root look-ups: its look-up's `opened_by`, then
        the scope of every attachment to it that says `opens_lookup`."""
        home = self.types.get(type_name)
        lookup = None if home is None else home.resource.lookup
        found = list(lookup.opened_by) if lookup is not None else []
        for r in self.resources.values():
            for attach in r.resource.attach:
                scope = r.scope_of(attach.scope)
                if attach.opens_lookup and attach.field.startswith(f"{type_name}.") and scope:
                    found.append(scope)
        return list(dict.fromkeys(found))

    def entities(self) -> frozenset[str]:
        return frozenset(r.entity for r in self.resources.values())

    def home(self, type_name: str) -> Declared:
        return self.types[type_name]

    def withheld(self, scopes: Collection[str]) -> dict[str, str]:
        """Not-shared items, by coordinate (`Type.itemName`, or `resource.itemName` for a
        resource without a type), and the scopes only they have (none of `scopes`, the
        fields' scopes), each with where it is declared."""
        found: dict[str, str] = {}
        for r in self.resources.values():
            for name, item in r.resource.items.items():
                if r.sharing(item) is Sharing.NOT_SHARED:
                    where = f"{r.path.name}: resources.{r.name}.items.{name}"
                    found[f"{r.resource.type or r.name}.{field_name(name)}"] = where
                    scope = r.scope(item)
                    if scope is not None and scope not in scopes:
                        found.setdefault(scope, where)
        return found
