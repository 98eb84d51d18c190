"""Validation, once per document."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from gateway.compat import graphql_schema, validate_document
from gateway.execution.errors import recoded

__all__ = ["ValidatedOnce"]

SIZE = 512
# (schema, document, rules) by identity -> (the objects, kept so that their ids stay
# theirs, and the errors). Strawberry's ValidationCache keys an lru_cache by the document
# itself, whose hash walks its whole syntax tree on every request (about 0.1 ms for a
# registered document); parsed documents are shared (the parser cache, trusted documents
# parsed at start-up), so their identity is the key.
_CACHE: OrderedDict[tuple[int, int, Any], tuple[tuple[Any, Any], list[GraphQLError]]] = OrderedDict()


def _validated(schema: Any, document: Any, rules: tuple[Any, ...]) -> list[GraphQLError]:
    key = (id(schema), id(document), rules)  # rules: a few classes, hashed by identity
    found = _CACHE.get(key)
    if found is not None and found[0][0] is schema and found[0][1] is document:
        _CACHE.move_to_end(key)
        return found[1]
    errors = validate_document(schema, document, rules)
    _CACHE[key] = ((schema, document), errors)
    if len(_CACHE) > SIZE:
        _CACHE.popitem(last=False)
    return errors


class ValidatedOnce(SchemaExtension):
    """Validation cached per parsed document, handing each operation its own copies of the
    cached errors, coded GRAPHQL_VALIDATION_FAILED (a bad literal id's refusal included):
    the schema's process_errors rewrites a result's errors for the client that asked (its
    "Did you mean" hints from its own graph), which must not change what the next client
    with the same document is told."""

    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        errors = _validated(graphql_schema(ctx.schema), ctx.graphql_document, ctx.validation_rules)
        ctx.pre_execution_errors = [recoded(e, "GRAPHQL_VALIDATION_FAILED") for e in errors]
        yield
