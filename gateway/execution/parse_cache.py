"""Parsing, once per document text, and choosing the operation to run.

A document that cannot be parsed is refused with GRAPHQL_PARSE_FAILED; one whose
operation cannot be chosen (an `operationName` it does not hold, or several operations
and no `operationName`) with OPERATION_RESOLUTION_FAILURE. Both are request errors:
nothing runs (gateway/http/view.py answers them without `data`).
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import DocumentNode, GraphQLError, OperationDefinitionNode
from strawberry.extensions import ParserCache

from gateway.compat import provided_operation_name
from gateway.execution.errors import recoded

__all__ = ["ParsedOnce"]


class ParsedOnce(ParserCache):
    """Strawberry's parser cache (shared by every operation of the process), leaving alone
    a document already parsed: a trusted document's, parsed at start-up."""

    def __init__(self) -> None:
        super().__init__(maxsize=512)

    def on_parse(self) -> Iterator[None]:
        ctx = self.execution_context
        if ctx.graphql_document is None:
            try:
                ctx.graphql_document = self.cached_parse_document(ctx.query, **ctx.parse_options)
            except GraphQLError as error:
                # The tokens limit stops the parser too ("Syntax Error: Document contains
                # more than N tokens"): that one is OPERATION_LIMIT's (execution/errors.py).
                if error.message.startswith("Syntax Error") and "Parsing aborted" not in error.message:
                    raise recoded(error, "GRAPHQL_PARSE_FAILED") from None
                raise
        _choose_operation(ctx.graphql_document, provided_operation_name(ctx))
        yield


def _choose_operation(document: DocumentNode, name: str | None) -> None:
    """Refuse a request whose operation is not one the document names unambiguously:
    strawberry would run the first operation of several when none is named."""
    names = [
        d.name.value if d.name else None
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
    ]
    if name is None and len(names) > 1:
        named = ", ".join(n or "(anonymous)" for n in names)
        raise GraphQLError(
            f"The document holds several operations ({named}): say which to run in `operationName`.",
            extensions={"code": "OPERATION_RESOLUTION_FAILURE"},
        )
    if name is not None and name not in names:
        raise GraphQLError(
            f'The document holds no operation named "{name}".',
            extensions={"code": "OPERATION_RESOLUTION_FAILURE"},
        )
