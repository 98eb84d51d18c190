"""The plan cache: one plan per (operation, grants, values of the variables `@include` and
`@skip` read), least recently used dropped beyond its size.

Keyed by the operation's node, not its text: parsed documents are shared (the parser
cache, trusted documents parsed at start-up), so the key is an identity, and each entry
holds its node so that the identity cannot be reused while the entry lives. Grants are
keyed by the policy's own mapping, shared by every request of a (client, purpose). A
cache belongs to one schema; a policy reload clears it (`clear`).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
)

from gateway.compat import FragmentDetails, VariableValues
from gateway.execution.plan.model import Plan, Unplannable
from gateway.execution.plan.planner import plan_operation
from gateway.policy.enforcement import FieldRule

__all__ = ["PlanCache", "PlanStats"]

_GRANT_KEYS = 1024  # distinct grant mappings remembered (a policy has a few dozen)


def _condition_variables(selections: SelectionSetNode | None, found: set[str]) -> None:
    for node in selections.selections if selections is not None else ():
        for directive in node.directives or ():
            if directive.name.value in ("include", "skip"):
                arguments = directive.arguments or ()
                found.update(a.value.name.value for a in arguments if isinstance(a.value, VariableNode))
        if isinstance(node, FieldNode | InlineFragmentNode):
            _condition_variables(node.selection_set, found)
        elif not isinstance(node, FragmentSpreadNode):  # pragma: no cover - the three kinds
            raise TypeError(f"unexpected selection {node.kind}")


def condition_variables(operation: OperationDefinitionNode, fragments: Iterable[Any]) -> tuple[str, ...]:
    """The variables the operation's `@include` and `@skip` read (its fragments' too)."""
    found: set[str] = set()
    _condition_variables(operation.selection_set, found)
    for fragment in fragments:
        _condition_variables(fragment.selection_set, found)
    return tuple(sorted(found))


@dataclass
class PlanStats:
    built: int = 0
    hits: int = 0
    unplannable: int = 0


class PlanCache:
    def __init__(self, schema: GraphQLSchema, rules: Mapping[str, FieldRule], size: int) -> None:
        self.schema = schema
        self.rules = rules
        self.size = size
        self.stats = PlanStats()
        # key -> (operation node, plan or the reason it runs on Strawberry)
        self._plans: OrderedDict[tuple[Any, ...], tuple[OperationDefinitionNode, Plan | str]] = OrderedDict()
        self._conditions: dict[int, tuple[OperationDefinitionNode, tuple[str, ...]]] = {}
        self._grants: dict[int, tuple[Mapping[str, str], frozenset[tuple[str, str]]]] = {}

    def __len__(self) -> int:
        return len(self._plans)

    def clear(self) -> None:
        """Drop every plan (a policy reload: grants may have changed)."""
        self._plans.clear()
        self._conditions.clear()
        self._grants.clear()

    def _grant_key(self, grants: Mapping[str, str]) -> frozenset[tuple[str, str]]:
        known = self._grants.get(id(grants))
        if known is not None and known[0] is grants:
            return known[1]
        if len(self._grants) >= _GRANT_KEYS:
            self._grants.clear()
        key = frozenset(grants.items())
        self._grants[id(grants)] = (grants, key)
        return key

    def conditions(
        self, operation: OperationDefinitionNode, fragments: dict[str, FragmentDetails]
    ) -> tuple[str, ...]:
        """The variables the operation's `@include` and `@skip` read (part of a plan's key)."""
        known = self._conditions.get(id(operation))
        if known is not None and known[0] is operation:
            return known[1]
        if len(self._conditions) >= self.size:
            self._conditions.clear()
        names = condition_variables(operation, (f.definition for f in fragments.values()))
        self._conditions[id(operation)] = (operation, names)
        return names

    def get(
        self,
        operation: OperationDefinitionNode,
        fragments: dict[str, FragmentDetails],
        variables: VariableValues,
        grants: Mapping[str, str],
    ) -> Plan | str:
        """The plan, or why the operation runs on Strawberry's executor."""
        names = self.conditions(operation, fragments)
        coerced = variables.coerced
        key = (id(operation), self._grant_key(grants), tuple(coerced.get(n) for n in names))
        entry = self._plans.get(key)
        if entry is not None and entry[0] is operation:
            self._plans.move_to_end(key)
            self.stats.hits += 1
            return entry[1]
        try:
            found: Plan | str = plan_operation(
                self.schema, self.rules, operation, fragments, variables, grants
            )
            self.stats.built += 1
        except Unplannable as exc:
            found = exc.reason
            self.stats.unplannable += 1
        self._plans[key] = (operation, found)
        if len(self._plans) > self.size:
            self._plans.popitem(last=False)
        return found
