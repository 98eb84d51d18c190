"""The schema is shown only to purposes that may read it (the developer's)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import DocumentNode, FieldNode, GraphQLError, visit
from graphql.language import Visitor

from gateway.execution.step import Step

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


class IntrospectionGate(Step):
    """The schema is shown only to purposes that allow it (the developer's)."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context.context
        document = self.execution_context.graphql_document
        query = self.execution_context.query or ""
        if not context.principal.may_introspect and document is not None and _introspects(query, document):
            raise GraphQLError(
                "Introspection is available only for a purpose that allows it.",
                extensions={"code": "FORBIDDEN"},
            )
        yield
