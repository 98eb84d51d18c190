"""What a department's catalogue file declares (政务数据资源目录): the department, its
resources and each resource's data items (信息项), as pydantic models of the TOML.

A resource's records become one GraphQL type (`type`), or, without one, are followed to
another type (`attach.through`). Where its records enter the graph is declared on the
resource: root look-ups (`lookup`) and fields on other types (`attach`). Items are the
type's fields; an item whose type is a catalogue type is a link, loaded by the value of
its `source` column through that type's home resource.
"""

from __future__ import annotations

import enum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

__all__ = [
    "Attach",
    "CatalogFile",
    "Department",
    "Item",
    "Lookup",
    "Resource",
    "Sensitivity",
    "Sharing",
]

Name = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")]  # snake_case
TypeName = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Za-z0-9]*$")]
Coordinate = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Za-z0-9]*\.[a-z][A-Za-z0-9]*$")]
Title = Annotated[str, StringConstraints(min_length=1)]


class Sharing(enum.Enum):
    """共享类型: how an item may be shared, strictest last."""

    UNCONDITIONAL = "unconditional"  # 无条件共享
    CONDITIONAL = "conditional"  # 有条件共享: a grant needs a basis (an approval)
    NOT_SHARED = "not_shared"  # 不予共享: never a field; only derivations read it


class Sensitivity(enum.Enum):
    """PIPL's classes, least sensitive first."""

    GENERAL = "general"  # no personal information
    PERSONAL = "personal"  # personal information (PIPL art. 4)
    SENSITIVE = "sensitive"  # sensitive personal information (art. 28)
    MINOR = "minor"  # a minor's personal information (art. 28, 31)


SHARING_TITLES = {
    Sharing.UNCONDITIONAL: "无条件共享",
    Sharing.CONDITIONAL: "有条件共享",
    Sharing.NOT_SHARED: "不予共享",
}


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Department(_Table):
    code: Title = Field(description="The unit's code in the platform's directory.")
    name: Title = Field(description="The unit's name, in Chinese.")
    name_en: Title = Field(description="The unit's name, in English.")
    source: Name = Field(description="The [sources.X] of govgraph.toml that serves its resources.")


class Item(_Table):
    type: str = Field(
        description='GraphQL type: "String", "Date!", "ResidentId", an enum or a catalogue type.'
    )
    title: Title = Field(description="信息项名称: the item's name, in Chinese.")
    description: str | None = Field(default=None, description="Shown in the schema; the title when absent.")
    source: Name | None = Field(default=None, description="The record's column; the item's name when absent.")
    sharing: Sharing | None = Field(default=None, description="The resource's when absent.")
    sensitivity: Sensitivity | None = Field(default=None, description="The resource's when absent.")
    scope: str | None = Field(default=None, description="The resource's when absent.")
    mask: str | None = Field(default=None, description="How a masked grant shows it (a MaskRule).")
    codes: dict[str, str] | None = Field(
        default=None, description="For an enum item: the department's codes that stand for an enum value."
    )
    conditions: str | None = Field(default=None, description="共享条件: on what a conditional grant rests.")


class Attach(_Table):
    field: Coordinate = Field(description='The field the resource becomes, "Type.fieldName".')
    by: Name = Field(description="The column of the parent's record that is the resource's key.")
    through: Name | None = Field(
        default=None, description="A link item of the resource: the field lists what each record links to."
    )
    scope: str | None = None
    opened_by: list[str] = Field(default_factory=list)
    description: str | None = None
    opens_lookup: bool = Field(
        default=False,
        description="A grant of its scope also opens the parent type's root look-ups, so that a"
        " client granted only this data reaches it (Query.enterprise for Enterprise.licences).",
    )


class Lookup(_Table):
    one: str | None = Field(default=None, description="Root field answering one record by key.")
    many: str | None = Field(default=None, description="Root field answering a list of keys, in order.")
    argument: str = Field(description="The key argument, as the schema spells it (`creditCode`).")
    plural: str | None = Field(default=None, description="The list field's argument; the argument + s.")
    max_length: int | None = Field(default=None, gt=0, description="Longest text key accepted.")
    scope: str | None = None
    opened_by: list[str] = Field(default_factory=list)
    description: str | None = None


class Resource(_Table):
    title: Title = Field(description="资源名称, in Chinese.")
    title_en: Title = Field(description="The resource's name, in English.")
    entity: Name | None = Field(
        default=None, description="The source's entity; the resource's name when absent."
    )
    key: Name = Field(description="The column records are looked up by.")
    many: bool = Field(default=False, description="Several records per key.")
    order_by: list[Name] = Field(default_factory=list, description="Columns a list is sorted by.")
    max: int | None = Field(default=None, gt=0, description="Records a list is taken to hold (cost).")
    update_cycle: Title = Field(description="更新周期: 实时, 每日, 每月 ...")
    type: TypeName | None = Field(default=None, description="The GraphQL type of its records.")
    description: str | None = None
    subject: Name | None = Field(default=None, description="The column naming whose data a record is.")
    districts: list[Name] = Field(
        default_factory=list, description="Columns a district-limited grant checks."
    )
    scope: str | None = Field(default=None, description="Its items' scope unless an item names one.")
    sharing: Sharing = Field(description="Its items' sharing class unless an item names one.")
    sensitivity: Sensitivity = Field(description="Its items' sensitivity unless an item names one.")
    conditions: str | None = Field(default=None, description="共享条件 for its conditional items.")
    lookup: Lookup | None = None
    attach: list[Attach] = Field(default_factory=list)
    items: dict[Name, Item] = Field(default_factory=dict)


class CatalogFile(_Table):
    department: Department
    resources: dict[Name, Resource] = Field(default_factory=dict)
