"""Trusted documents at execution: a registered operation runs by id, with the parse and
validation done at start-up (gateway/execution/documents.py holds the registry)."""

from __future__ import annotations

from collections.abc import Iterator

from graphql import GraphQLError

from gateway.execution.documents import document_id
from gateway.execution.step import Step
from resolvers.context import Context

__all__ = ["TrustedDocuments"]


class TrustedDocuments(Step):
    """Runs registered documents by id (`documentId` or Apollo's `persistedQuery`) with the
    parse and validation done at start-up; refuses anything else to persisted-only clients."""

    def on_operation(self) -> Iterator[None]:
        ctx = self.execution_context
        extensions = ctx.operation_extensions or {}
        persisted = extensions.get("persistedQuery")
        identifier = extensions.get("documentId") or (
            persisted.get("sha256Hash") if isinstance(persisted, dict) else None
        )
        context: Context = ctx.context
        if identifier is None:
            if context.principal.persisted_only:
                raise _not_found("This client may run registered operations only; send their documentId.")
            yield
            return
        document = self.runtime.documents.get(str(identifier))
        if document is None:
            raise _not_found("No registered operation has this id.")
        allowed = context.principal.operations
        if allowed and document.name not in allowed:
            raise GraphQLError(
                f"This client may run only its own registered operations: {', '.join(sorted(allowed))}.",
                extensions={"code": "PERSISTED_QUERY_NOT_IN_LIST"},
            )
        if ctx.query and document_id(ctx.query) != document.id:
            raise GraphQLError(
                "The query does not match its documentId.", extensions={"code": "BAD_USER_INPUT"}
            )
        ctx.query = document.text
        ctx.graphql_document = document.node
        ctx.validation_rules = ()  # validated against this schema at start-up
        yield


def _not_found(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "PERSISTED_QUERY_NOT_FOUND"})
