"""Operation limits: what one request may ask for, checked once per operation before
any resolver runs, so an expensive document costs the gateway a tree walk, not the
departments a flood.

Each refusal is OPERATION_LIMIT with `extensions.limit` (what was exceeded), `max` and
`actual`. Tokens are limited by the parser itself; depth, aliases and cost by one walk
over the validated document; list arguments by the resolvers (`list_keys`); operations
per batch and request bytes at the HTTP edge. The cost measured here also takes its
share of the process's work budget (`concurrent_cost`, gateway/execution/budget.py) while the
operation executes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_list_type,
)
from strawberry.extensions import SchemaExtension

from gateway.compat import graphql_schema
from gateway.execution.budget import WorkBudget

__all__ = ["Limits", "OperationLimits", "limit_error"]


@dataclass(frozen=True)
class Limits:
    depth: int = 12  # nested selections, fragments followed
    aliases: int = 30
    tokens: int = 3000
    cost: int = 20_000  # estimated fields resolved (see LIST_SIZES)
    list_keys: int = 100  # keys in persons(ids:) / enterprises(creditCodes:)
    batch: int = 10  # operations in one batched request
    body_bytes: int = 200_000  # request body
    concurrent_cost: int = 16_000  # cost executing at once in a process; beyond it operations wait
    text_chars: int = (
        256  # characters in a String argument without @maxLength (gateway/execution/textinput.py)
    )


# How many items a list field is assumed to return when estimating cost; list
# arguments (persons(ids:)) count their actual keys.
LIST_SIZES: Mapping[str, int] = {
    "Person.guardians": 2,
    "Person.children": 3,
    "Person.enrollmentApplications": 2,
    "Person.legalRepresentativeOf": 2,
    "Household.members": 5,
    "SocialInsurance.contributions": 100,
    "Enterprise.annualReports": 5,
    "Enterprise.taxCreditRatings": 5,
    "Enterprise.taxPayments": 50,
    "Enterprise.taxArrears": 3,
    "Query.accessLog": 100,
}
_KEYED_LISTS = {"persons": "ids", "enterprises": "creditCodes"}
_DEFAULT_LIST = 10


def limit_error(limit: str, maximum: int, actual: int) -> GraphQLError:
    return GraphQLError(
        f"The operation exceeds the {limit} limit: {actual} > {maximum}.",
        extensions={"code": "OPERATION_LIMIT", "limit": limit, "max": maximum, "actual": actual},
    )


@dataclass
class _Walk:
    schema: GraphQLSchema
    fragments: Mapping[str, FragmentDefinitionNode]
    variables: Mapping[str, Any]
    aliases: int = 0
    depth: int = 0

    def selections(self, selection_set: SelectionSetNode, parent: GraphQLObjectType, depth: int) -> int:
        """The cost of a selection set; records depth and aliases on the way."""
        self.depth = max(self.depth, depth)
        cost = 0
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                cost += self.field(node, parent, depth)
            elif isinstance(node, InlineFragmentNode):
                on = self.schema.get_type(node.type_condition.name.value) if node.type_condition else parent
                cost += self.selections(
                    node.selection_set, on if isinstance(on, GraphQLObjectType) else parent, depth
                )
            elif isinstance(node, FragmentSpreadNode):
                fragment = self.fragments[node.name.value]
                on = self.schema.get_type(fragment.type_condition.name.value)
                cost += self.selections(
                    fragment.selection_set, on if isinstance(on, GraphQLObjectType) else parent, depth
                )
        return cost

    def field(self, node: FieldNode, parent: GraphQLObjectType, depth: int) -> int:
        if node.alias is not None:
            self.aliases += 1
        name = node.name.value
        definition = parent.fields.get(name)
        if definition is None or node.selection_set is None:  # scalars, __typename, introspection
            return 1
        child = get_named_type(definition.type)
        inner = (
            self.selections(node.selection_set, child, depth + 1)
            if isinstance(child, GraphQLObjectType)
            else 1
        )
        if not is_list_type(get_nullable_type(definition.type)):
            return 1 + inner
        return 1 + self.list_size(parent.name, node) * inner

    def list_size(self, parent: str, node: FieldNode) -> int:
        argument = _KEYED_LISTS.get(node.name.value) if parent == "Query" else None
        for arg in node.arguments or ():
            if arg.name.value == argument:
                if isinstance(arg.value, ListValueNode):
                    return max(len(arg.value.values), 1)
                if isinstance(arg.value, VariableNode):
                    value = self.variables.get(arg.value.name.value)
                    return max(len(value), 1) if isinstance(value, list) else 1
                return 1
        return LIST_SIZES.get(f"{parent}.{node.name.value}", _DEFAULT_LIST)


def measure(
    schema: GraphQLSchema, document: Any, operation_name: str | None, variables: Mapping[str, Any]
) -> tuple[int, int, int]:
    """(depth, aliases, cost) of the operation that will run."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [o for o in operations if operation_name is None or (o.name and o.name.value == operation_name)]
    walk = _Walk(schema, fragments, variables)
    cost = 0
    for operation in chosen[:1]:
        root = schema.get_root_type(operation.operation)
        if root is not None:
            cost = walk.selections(operation.selection_set, root, 1)
    return walk.depth, walk.aliases, cost


class OperationLimits(SchemaExtension):
    def __init__(self, limits: Limits, budget: WorkBudget | None = None) -> None:
        self._limits = limits
        self._budget = budget
        self._cost = 0

    def on_operation(self) -> Iterator[None]:
        self.execution_context.parse_options["max_tokens"] = self._limits.tokens
        yield

    def on_validate(self) -> Iterator[None]:
        yield
        ctx = self.execution_context
        if ctx.pre_execution_errors or ctx.graphql_document is None:
            return  # invalid documents are refused by validation with their own errors
        depth, aliases, cost = measure(
            graphql_schema(ctx.schema), ctx.graphql_document, ctx.operation_name, ctx.variables or {}
        )
        for limit, maximum, actual in (
            ("depth", self._limits.depth, depth),
            ("aliases", self._limits.aliases, aliases),
            ("cost", self._limits.cost, cost),
        ):
            if actual > maximum:
                raise limit_error(limit, maximum, actual)
        self._cost = cost

    async def on_execute(self) -> AsyncIterator[None]:
        if self._budget is None:
            yield
            return
        held = await self._budget.acquire(self._cost)
        try:
            yield
        finally:
            self._budget.release(held)
