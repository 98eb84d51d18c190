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

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
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

from gateway.compat import declared
from resolvers.directives import ListSize

__all__ = ["limit_error", "measure", "measured"]


_DEFAULT_LIST = 10  # items of a list field that declares no @listSize


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
        return 1 + self.list_size(definition, node) * inner

    def list_size(self, definition: GraphQLField, node: FieldNode) -> int:
        """The items a list field is taken to return: as many as the keys its `sizedBy`
        argument is given (a look-up's ids), else its `assumed` size."""
        size = declared(definition, ListSize)
        if size is None:
            return _DEFAULT_LIST
        for arg in node.arguments or ():
            if size.sized_by and arg.name.value == size.sized_by:
                if isinstance(arg.value, ListValueNode):
                    return max(len(arg.value.values), 1)
                if isinstance(arg.value, VariableNode):
                    value = self.variables.get(arg.value.name.value)
                    return max(len(value), 1) if isinstance(value, list) else 1
                return 1
        return size.assumed or _DEFAULT_LIST


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


_MEASURED: OrderedDict[tuple[Any, ...], tuple[Any, tuple[int, int, int]]] = OrderedDict()
MEASURED = 512  # (document, operation, list lengths) measured, least recently used dropped beyond


def measured(
    schema: GraphQLSchema, document: Any, operation_name: str | None, variables: Mapping[str, Any]
) -> tuple[int, int, int]:
    """`measure`, remembered per parsed document (shared by the parser cache and the trusted
    documents) and the lengths of the list variables, the only values a measure reads."""
    lists = tuple(sorted((k, len(v)) for k, v in variables.items() if isinstance(v, list)))
    key = (id(schema), id(document), operation_name, lists)
    found = _MEASURED.get(key)
    if found is not None and found[0][0] is schema and found[0][1] is document:
        _MEASURED.move_to_end(key)
        return found[1]
    result = measure(schema, document, operation_name, variables)
    _MEASURED[key] = ((schema, document), result)
    if len(_MEASURED) > MEASURED:
        _MEASURED.popitem(last=False)
    return result
