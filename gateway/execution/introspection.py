"""Introspection answers every client with its own graph (gateway/execution/visible.py)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from graphql import (
    DefinitionNode,
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    execute_sync,
    get_operation_ast,
    visit,
)
from graphql.language import Visitor

from gateway.execution.step import Step
from gateway.execution.visible import VisibleSchemas

__all__ = ["IntrospectionGate"]


class _Introspection(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found = False

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        if node.name.value in ("__schema", "__type"):
            self.found = True


_seen: dict[str, bool] = {}  # document text -> introspects; documents repeat, so this stays small


def _introspects(query: str, document: DocumentNode) -> bool:
    found = _seen.get(query)
    if found is None:
        visitor = _Introspection()
        visit(document, visitor)
        if len(_seen) > 4096:
            _seen.clear()
        found = _seen[query] = visitor.found
    return found


def _meta(node: FieldNode) -> bool:
    """`__schema`, `__type`, `__typename`: answered by the schema, not by the graph."""
    return node.name.value.startswith("__")


def _meta_only(selections: SelectionSetNode) -> SelectionSetNode:
    """A root selection set without its data fields (fragment spreads are filtered where
    their fragment is defined)."""
    kept: list[Any] = []
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            if _meta(selection):
                kept.append(selection)
        elif isinstance(selection, InlineFragmentNode):
            kept.append(replace(selection, selection_set=_meta_only(selection.selection_set)))
        else:
            kept.append(selection)
    return SelectionSetNode(selections=tuple(kept))


def _introspection_part(document: DocumentNode, root: str) -> DocumentNode:
    """`document` with only its introspection at the root: its operations' and its
    fragments on the root type `root` lose their data fields."""
    return DocumentNode(definitions=tuple(_meta_at_root(d, root) for d in document.definitions))


def _meta_at_root(definition: DefinitionNode, root: str) -> DefinitionNode:
    if isinstance(definition, FragmentDefinitionNode) and definition.type_condition.name.value != root:
        return definition  # not selected at the root
    if isinstance(definition, OperationDefinitionNode | FragmentDefinitionNode):
        return replace(definition, selection_set=_meta_only(definition.selection_set))
    return definition


def _asks_data(operation: OperationDefinitionNode, document: DocumentNode) -> bool:
    """Whether the operation selects a field of the graph at its root (through fragments)."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    pending, seen = [operation.selection_set], set()
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FieldNode):
                if not _meta(selection):
                    return True
            elif isinstance(selection, InlineFragmentNode):
                pending.append(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
                seen.add(selection.name.value)
                fragment = fragments.get(selection.name.value)
                if fragment is not None:
                    pending.append(fragment.selection_set)
    return False


class IntrospectionGate(Step):
    """`__schema` and `__type` answer from the schema the principal's grants show: its own
    graph, masked fields marked (the whole schema for a purpose that may introspect).

    An operation that only introspects is answered from that schema alone. One that also
    asks for data runs as any other, its data fields answered and refused exactly as they
    would be without the introspection, and then its introspection fields are replaced by
    their answer from the principal's schema."""

    def on_execute(self) -> Iterator[None]:
        ctx = self.execution_context
        principal = ctx.context.principal
        document = ctx.graphql_document
        if principal.may_introspect or document is None or not _introspects(ctx.query or "", document):
            yield
            return
        schemas = getattr(ctx.schema, "visible", None)
        if not isinstance(schemas, VisibleSchemas):
            raise TypeError("IntrospectionGate runs only in a schema built by build_schema")
        operation = get_operation_ast(document, ctx.operation_name)
        if operation is None:  # strawberry has refused it before execution
            yield
            return
        visible = schemas.for_principal(principal)
        query_type = schemas.core.query_type
        part = _introspection_part(document, query_type.name if query_type else "Query")
        introspected = execute_sync(
            visible,
            part,
            context_value=ctx.context,
            variable_values=ctx.variables,
            operation_name=ctx.operation_name,
        )
        if not _asks_data(operation, document):
            ctx.result = introspected  # strawberry does not execute the operation again
            yield
            return
        yield
        _splice(ctx.result, introspected)


def _splice(result: Any, introspected: ExecutionResult) -> None:
    """Put the introspection fields' answers from the principal's schema in `result`, the
    whole schema's answer to the operation (the two ran the same operation, hence have the
    same root keys for them). When the principal's schema could not run the operation (a
    variable of a type it does not show), the operation gets that answer instead: no
    data, the errors; the whole schema's answer is never left in place."""
    if not isinstance(result, ExecutionResult) or result.data is None:
        return
    if introspected.data is None:
        result.data = None
        result.errors = list(introspected.errors or [])
        return
    for key, value in introspected.data.items():
        result.data[key] = value
