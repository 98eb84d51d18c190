"""graphql-core's "Did you mean ...?" hints, as the client's own graph gives them.

A document is validated against the whole schema (once per document, whoever sends it),
so its errors' hints name whatever is closest in the whole schema: a hidden field among
them. For a client that may not introspect, the errors that carry a hint are told again
as graphql-core tells them against the schema the client sees (gateway/execution/visible.py):
the same error there gets that error's hint, or none; an error with no counterpart there
(its type is hidden altogether) loses its hint.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    SourceLocation,
    get_operation_ast,
    get_variable_values,
    validate,
)

from gateway.execution.errors import without_suggestion

__all__ = ["Suggestions"]

_Key = tuple[str, tuple[SourceLocation, ...]]
_MAX_ERRORS = 300


def _key(error: GraphQLError) -> _Key:
    return without_suggestion(error.message), tuple(error.locations or ())


class Suggestions:
    """The `Hints` (gateway/execution/errors.py) of one operation for one client: the
    client's schema is asked for only when an error carries a hint, and the document is
    validated against it at most once."""

    def __init__(
        self,
        schema: Callable[[], GraphQLSchema],
        document: DocumentNode | None,
        variables: dict[str, Any] | None,
        operation_name: str | None,
    ) -> None:
        self._schema = schema
        self._document = document
        self._variables = variables
        self._operation_name = operation_name
        self._messages: dict[_Key, str] | None = None

    def __call__(self, error: GraphQLError) -> str:
        if self._messages is None:
            self._messages = self._told()
        key = _key(error)
        return self._messages.get(key, key[0])

    def _told(self) -> dict[_Key, str]:
        """What graphql-core says of the document against the client's schema: validation
        errors, and errors in its variables' values (enum values, input fields)."""
        document = self._document
        if document is None:
            return {}
        schema = self._schema()
        # The whole schema's validation stops at graphql-core's 100 errors; the client's
        # finds more (each field it cannot see), so it is let go further.
        errors = validate(schema, document, max_errors=_MAX_ERRORS)
        operation = get_operation_ast(document, self._operation_name)
        if operation is not None and operation.variable_definitions:
            coerced = get_variable_values(schema, operation.variable_definitions, self._variables or {})
            if isinstance(coerced, list):
                errors.extend(coerced)
        return {_key(e): e.message for e in errors}
