"""What a plan is made of: per selected field, the step that produces its value and how
that value is completed (null checks, lists, leaves, objects)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from graphql import FieldNode, GraphQLField, GraphQLObjectType

__all__ = [
    "ATTRIBUTE",
    "LEAF",
    "LIST",
    "NON_NULL",
    "OBJECT",
    "REFUSE",
    "RESOLVE",
    "TYPENAME",
    "Completion",
    "FieldPlan",
    "Plan",
    "Selection",
    "Unplannable",
]

# Steps: how a field's value is produced from its parent's value.
TYPENAME = 0  # the parent type's name
ATTRIBUTE = 1  # an attribute of the parent value (record items are set as attributes)
RESOLVE = 2  # the field's resolver, policy wrappers included (links, derivations, look-ups)
REFUSE = 3  # not granted: FORBIDDEN, recorded, nothing read

# Completions: what is done with the value.
NON_NULL = 0
LIST = 1
LEAF = 2
OBJECT = 3


class Unplannable(Exception):
    """What the planner does not execute; the operation runs on Strawberry's executor."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(slots=True)
class Completion:
    kind: int
    of: Completion | None = None  # NON_NULL, LIST: the inner type
    coerce: Callable[[Any], Any] | None = None  # LEAF: the type's output coercion
    leaf: Any = None  # LEAF: the type, for graphql-core's wording of a coercion failure
    selection: Selection | None = None  # OBJECT
    nullable: bool = True  # whether a null here stops an error (it is not NON_NULL)


@dataclass(slots=True)
class FieldPlan:
    key: str  # the response key (alias or name)
    name: str
    nodes: list[FieldNode]
    definition: GraphQLField
    parent: GraphQLObjectType
    step: int
    complete: Completion
    attribute: str = ""  # ATTRIBUTE
    scope: str | None = None  # ATTRIBUTE, REFUSE
    read: bool = False  # ATTRIBUTE: record the read under the parent's subject
    mask: Callable[[Any], Any] | None = None  # ATTRIBUTE, masked grant
    resolve: Callable[..., Any] | None = None  # RESOLVE
    task: bool = False  # RESOLVE: run in a task of its own (may do I/O beyond the loaders)
    arguments: dict[str, Any] | None = None  # RESOLVE: coerced once, when they use no variables
    variable_arguments: bool = False  # RESOLVE: coerced per execution


@dataclass(slots=True)
class Selection:
    type: GraphQLObjectType
    fields: list[FieldPlan] = field(default_factory=list)


@dataclass(slots=True)
class Plan:
    root: Selection
    fields: int  # field plans in all, for the cache's accounting
