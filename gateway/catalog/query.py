"""The root field `catalog`: the resource catalogue as typed GraphQL objects, built once
with the graph, optionally narrowed by `search`.

Every field is `@public`: the catalogue says what data exists and on what terms it is
shared, never whose data it is, so any authenticated client may read it and nothing of
it is audited. Its types are declared per catalogue because their lists' `@listSize` is
the catalogue's: each list is taken to hold its average length, rounded up, so that the
cost of asking for the whole catalogue is at least what answering it takes, not the
default ten per list that a large catalogue would make a hundredfold more.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import strawberry

from gateway.catalog.catalog import Catalog
from gateway.catalog.listing import Entry, Listed, ListedItem, ListedResource, listing, matching
from gateway.catalog.load import CatalogError
from resolvers.directives import MaskRule, SensitivityClass, list_size, max_length, public

__all__ = ["TYPE_NAMES", "CatalogSharing", "catalog_field"]

SEARCH_CHARS = 64

# The names this module gives the schema: a catalogue type of one of them would collide.
TYPE_NAMES = frozenset(
    {"Catalog", "CatalogDepartment", "CatalogResource", "CatalogItem", "CatalogEntry", "CatalogCode"}
    | {"CatalogSharing"}
)


@strawberry.enum(description="共享类型: how a catalogue item may be shared (docs/catalog.md).")
class CatalogSharing(enum.Enum):
    # Unlike @shared's SharingClass, which only shared fields carry, a listed item may be
    # not shared: it is in the catalogue, but no field.
    UNCONDITIONAL = strawberry.enum_value("unconditional", description="无条件共享")
    CONDITIONAL = strawberry.enum_value("conditional", description="有条件共享: a grant needs a basis")
    NOT_SHARED = strawberry.enum_value("not_shared", description="不予共享: never a field")


def _field(description: str) -> Any:
    return strawberry.field(description=description, directives=public())


def _list(of: Any, description: str, size: int) -> Any:
    # The type is given, not annotated: the classes are local to `_types`, and annotations
    # are resolved in the module's scope.
    listed: Any = list[of]
    return strawberry.field(
        description=description, directives=[*public(), list_size(size)], graphql_type=listed
    )


@dataclass(frozen=True)
class _Sizes:
    """Each list's average length, rounded up (at least one)."""

    departments: int
    resources: int
    entries: int
    items: int
    codes: int

    @classmethod
    def of(cls, listed: Listed) -> _Sizes:
        resources = [r for d in listed for r in d.resources]
        items = [i for r in resources for i in r.items]

        def mean(total: int, lists: int) -> int:
            return max(1, math.ceil(total / lists)) if lists else 1

        return cls(
            departments=max(1, len(listed)),
            resources=mean(len(resources), len(listed)),
            entries=mean(sum(len(r.entries) for r in resources), len(resources)),
            items=mean(len(items), len(resources)),
            codes=mean(sum(len(i.item.codes or {}) for i in items), len(items)),
        )


def _types(sizes: _Sizes) -> tuple[type, Callable[[Listed], Any]]:
    """The root type and how a listing becomes its value."""

    @strawberry.type(name="CatalogCode", description="A department's code that stands for an enum value.")
    class Code:
        code: str = _field("The department's code, as its records hold it.")
        value: str = _field("The enum value it stands for.")

    @strawberry.type(
        name="CatalogEntry",
        description="A field leading to a resource's records: a root look-up or an attachment.",
    )
    class EntryValue:
        field: str = _field('The field, "Type.fieldName".')
        by: str = _field("The look-up's argument, or the parent record's column the records are keyed by.")
        through: str | None = _field(
            "The link item each record is followed through: the field lists its targets."
        )
        scope: str | None = _field("The scope a grant must include to read the field.")

    # What a client needs to find data and apply for it; the deployment's own names (the
    # source and its entities, record columns, files) stay in `govgraph catalog`'s export.
    @strawberry.type(name="CatalogItem", description="A data item (信息项) of a resource.")
    class ItemValue:
        name: str = _field("The item's name in the catalogue file (snake_case).")
        field: str | None = _field('Where the schema has it, "Type.fieldName"; null when not shared.')
        title: str = _field("信息项名称.")
        description: str | None = _field("What the schema says of it.")
        type: str = _field("Its GraphQL type, as the catalogue writes it.")
        sharing: CatalogSharing = _field("共享类型, its own or its resource's.")
        sensitivity: SensitivityClass = _field("Its class under PIPL, its own or its resource's.")
        scope: str | None = _field("The scope a grant must include to read it; null when not shared.")
        mask: MaskRule | None = _field("How a masked grant shows it.")
        conditions: str | None = _field("共享条件 of a conditional item, its own or its resource's.")
        codes: list[Code] = _list(
            Code, "For a code-table item: the department's codes for enum values.", sizes.codes
        )

    @strawberry.type(name="CatalogResource", description="A data resource (信息资源) of a department.")
    class ResourceValue:
        name: str = _field("The resource's name in the catalogue file.")
        title: str = _field("资源名称.")
        title_en: str = _field("The resource's name in English.")
        description: str | None = _field("What the schema says of its type.")
        type: str | None = _field(
            "The GraphQL type its records become; null when they are only followed or derived."
        )
        many: bool = _field("Several records per key.")
        max: int | None = _field("Records a list of it is taken to hold.")
        update_cycle: str = _field("更新周期, as the provider publishes it.")
        scope: str | None = _field("Its items' scope unless an item names another.")
        sharing: CatalogSharing = _field("Its items' sharing class unless an item names another.")
        sensitivity: SensitivityClass = _field("Its items' sensitivity unless an item names another.")
        conditions: str | None = _field("共享条件 of its conditional items.")
        entries: list[EntryValue] = _list(
            EntryValue, "The root look-ups and attachments leading to it.", sizes.entries
        )
        items: list[ItemValue] = _list(ItemValue, "Its data items, shared or not.", sizes.items)

    @strawberry.type(name="CatalogDepartment", description="A providing department (提供单位).")
    class DepartmentValue:
        code: str = _field("The unit's code in the platform's directory.")
        name: str = _field("The unit's name.")
        name_en: str = _field("The unit's name in English.")
        resources: list[ResourceValue] = _list(
            ResourceValue, "Its resources, in the order of its file.", sizes.resources
        )

    @strawberry.type(
        name="Catalog", description="The resource catalogue (政务数据资源目录) the graph is built from."
    )
    class CatalogValue:
        departments: list[DepartmentValue] = _list(
            DepartmentValue, "The departments, in the order of their files.", sizes.departments
        )

    def entry(e: Entry) -> EntryValue:
        return EntryValue(field=e.field, by=e.by, through=e.through, scope=e.scope)

    def item(i: ListedItem) -> ItemValue:
        declared = i.item
        return ItemValue(
            name=i.name,
            field=i.field,
            title=declared.title,
            description=declared.description,
            type=declared.type,
            sharing=CatalogSharing(i.sharing.value),
            sensitivity=SensitivityClass[i.sensitivity.name],
            scope=i.scope,
            mask=None if declared.mask is None else MaskRule[declared.mask],
            conditions=i.conditions,
            codes=[Code(code=c, value=v) for c, v in (declared.codes or {}).items()],
        )

    def resource(r: ListedResource) -> ResourceValue:
        d = r.declared.resource
        return ResourceValue(
            name=r.name,
            title=d.title,
            title_en=d.title_en,
            description=d.description,
            type=d.type,
            many=d.many,
            max=d.max,
            update_cycle=d.update_cycle,
            scope=d.scope,
            sharing=CatalogSharing(d.sharing.value),
            sensitivity=SensitivityClass[d.sensitivity.name],
            conditions=d.conditions,
            entries=[entry(e) for e in r.entries],
            items=[item(i) for i in r.items],
        )

    def make(listed: Listed) -> CatalogValue:
        return CatalogValue(
            departments=[
                DepartmentValue(
                    code=d.department.code,
                    name=d.department.name,
                    name_en=d.department.name_en,
                    resources=[resource(r) for r in d.resources],
                )
                for d in listed
            ]
        )

    return CatalogValue, make


def catalog_field(catalog: Catalog) -> Any:
    """`Query.catalog(search)`: CatalogError when a catalogue type takes one of its types' names."""
    clash = [catalog.types[t] for t in sorted(TYPE_NAMES & set(catalog.types))]
    if clash:
        raise CatalogError(
            "\n".join(
                f"{d.path}: resources.{d.name}.type: {d.resource.type} is a type of the catalogue query"
                for d in clash
            )
        )
    listed = listing(catalog)
    root, make = _types(_Sizes.of(listed))
    whole = make(listed)  # what nearly every query asks for, made once

    def resolve(
        search: Annotated[str | None, max_length(SEARCH_CHARS)] = None,
    ) -> Any:
        return whole if not (search or "").strip() else make(matching(listed, search))

    return strawberry.field(
        resolver=resolve,
        name="catalog",
        description="The resource catalogue: departments, resources and their data items, each with"
        " its sharing class, sensitivity and field. `search` keeps what names it in a title, name or"
        " field (a department or resource named keeps all of its items).",
        directives=public(),
        graphql_type=root,
    )
