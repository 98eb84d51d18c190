"""The catalogue exported (`govgraph catalog --format`): JSON with everything the files say
and what the gateway derives, CSV in the columns of a government data resource catalogue,
and Markdown for people (gateway/catalog/markdown.py)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from gateway.catalog.listing import Listed, ListedDepartment, ListedItem, ListedResource
from gateway.catalog.markdown import as_markdown
from gateway.catalog.model import SHARING_TITLES, Sharing

__all__ = ["CSV_HEADER", "FORMATS", "as_csv", "as_json", "method_of"]


# JSON -------------------------------------------------------------------------------------


def _declared(resource: ListedResource) -> dict[str, Any]:
    """The resource as its file declares it (keys left out stay out), with the listed items."""
    declared = resource.declared.resource.model_dump(mode="json", exclude_unset=True, exclude={"items"})
    items = {i.name: i.item.model_dump(mode="json", exclude_unset=True) for i in resource.items}
    return declared | ({"items": items} if items else {})


def _item_graph(item: ListedItem) -> dict[str, Any]:
    return {
        "field": item.field,
        "sharing": item.sharing.value,
        "sensitivity": item.sensitivity.value,
        "scope": item.scope,
        "conditions": item.conditions,
    }


def _resource_graph(resource: ListedResource) -> dict[str, Any]:
    return {
        "type": resource.declared.resource.type,
        "entity": resource.declared.entity,
        "entries": [asdict(e) for e in resource.entries],
        "items": {i.name: _item_graph(i) for i in resource.items},
    }


def _department(department: ListedDepartment) -> dict[str, Any]:
    # "department" and "resources" are the file's own tables, so that each reads back as a
    # CatalogFile; "graph" is what the gateway makes of them, kept apart for that reason.
    return {
        "file": department.file,
        "department": department.department.model_dump(mode="json", exclude_unset=True),
        "resources": {r.name: _declared(r) for r in department.resources},
        "graph": {r.name: _resource_graph(r) for r in department.resources},
    }


def as_json(listed: Listed) -> str:
    """Keys in the order of the models and the files, so that two exports of one catalogue
    are the same text."""
    document = {"departments": [_department(d) for d in listed]}
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


# CSV --------------------------------------------------------------------------------------

# The columns of a government data resource catalogue (政务信息资源目录), then this gateway's.
CSV_HEADER = (
    "资源名称 resource",
    "资源代码 resource code",
    "信息项 item",
    "信息项代码 item code",
    "数据类型 data type",
    "共享类型 sharing class",
    "共享条件 conditions",
    "共享方式 method",
    "接口字段 field",
    "更新周期 update cycle",
    "提供单位 provider",
    "提供单位代码 provider code",
    "敏感程度 sensitivity",
    "授权范围 scope",
    "脱敏规则 mask",
)


def method_of(item: ListedItem) -> str:
    """共享方式: how the item is shared through this gateway."""
    if item.field is not None:
        return "接口 GraphQL"
    if item.sharing is not Sharing.NOT_SHARED:
        return "派生字段 derived fields only"  # a resource read only by resolvers/ derivations
    return ""


def _row(department: ListedDepartment, resource: ListedResource, item: ListedItem) -> tuple[str, ...]:
    r = resource.declared.resource
    return (
        r.title,
        resource.name,
        item.item.title,
        item.name,
        item.item.type,
        SHARING_TITLES[item.sharing],
        item.conditions or "",
        method_of(item),
        item.field or "",
        r.update_cycle,
        department.department.name,
        department.department.code,
        item.sensitivity.value,
        item.scope or "",
        item.item.mask or "",
    )


def as_csv(listed: Listed) -> str:
    """One row per item, after a header row in Chinese and English."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for department in listed:
        for resource in department.resources:
            writer.writerows(_row(department, resource, item) for item in resource.items)
    return out.getvalue()


FORMATS: dict[str, Callable[[Listed], str]] = {"markdown": as_markdown, "csv": as_csv, "json": as_json}
