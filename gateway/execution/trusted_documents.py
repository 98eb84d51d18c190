"""Documents by id at execution: registered (trusted) operations, with the parse and
validation done at start-up (gateway/execution/documents.py holds the registry), and
automatic persisted queries (gateway/execution/persisted.py keeps them).

A request names a document by `documentId` (GraphQL over HTTP's persisted documents) or
by Apollo's `extensions.persistedQuery.sha256Hash`:

- a `persisted_only` client runs registered operations only: an id that is not one is
  PERSISTED_QUERY_NOT_IN_LIST, a query text without an id PERSISTED_QUERY_ID_REQUIRED;
- any other client may also register a query: a hash alone that is not known is
  PERSISTED_QUERY_NOT_FOUND (Apollo Client then sends the text with it), a text that is
  not its hash's BAD_USER_INPUT; the text is kept once it is found valid and within the
  limits, when execution begins. With `[documents] automatic = false`, an unknown hash is
  PERSISTED_QUERY_NOT_SUPPORTED, and Apollo Client stops sending hashes.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

from graphql import GraphQLError

from gateway.execution.documents import Document, document_id
from gateway.execution.step import Step
from resolvers.context import Context

__all__ = ["TrustedDocuments"]

_APOLLO_VERSION = 1  # the only version of Apollo's persistedQuery extension
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


class TrustedDocuments(Step):
    _register: str | None = None  # the hash to keep this operation's text under, once it runs

    async def on_operation(self) -> AsyncIterator[None]:
        ctx = self.execution_context
        extensions = ctx.operation_extensions or {}
        digest = _apollo_hash(extensions.get("persistedQuery"))
        identifier = extensions.get("documentId") or digest
        context: Context = ctx.context
        principal = context.principal
        if identifier is None:
            if principal.persisted_only:
                raise _refused(
                    "PERSISTED_QUERY_ID_REQUIRED",
                    "This client may run registered operations only: send the operation's documentId.",
                )
            yield
            return
        identifier = str(identifier).removeprefix("sha256:").lower()
        document = self.runtime.documents.get(identifier)
        if document is not None:
            self._use(document)
        elif principal.persisted_only:
            raise _refused("PERSISTED_QUERY_NOT_IN_LIST", "No registered operation has this id.")
        elif digest is None or digest != identifier:
            raise _refused("PERSISTED_QUERY_NOT_FOUND", "No registered operation has this id.")
        else:
            await self._automatic(digest)
        yield

    async def on_execute(self) -> AsyncIterator[None]:
        # Valid and within the limits: only such texts are kept for the next request.
        if self._register is not None and self.execution_context.query:
            await self.runtime.persisted.put(self._register, self.execution_context.query)
        yield

    def _use(self, document: Document) -> None:
        ctx = self.execution_context
        allowed = ctx.context.principal.operations
        if allowed and document.name not in allowed:
            raise _refused(
                "PERSISTED_QUERY_NOT_IN_LIST",
                f"This client may run only its own registered operations: {', '.join(sorted(allowed))}.",
            )
        if ctx.query and document_id(ctx.query) != document.id:
            raise _refused("BAD_USER_INPUT", "The query does not match its documentId.")
        ctx.query = document.text
        ctx.graphql_document = document.node
        ctx.validation_rules = ()  # validated against this schema at start-up

    async def _automatic(self, digest: str) -> None:
        ctx = self.execution_context
        if not self.runtime.settings.automatic.enabled:
            raise _refused("PERSISTED_QUERY_NOT_SUPPORTED", "Automatic persisted queries are not enabled.")
        if ctx.query:
            if document_id(ctx.query) != digest:
                raise _refused("BAD_USER_INPUT", "The query's SHA-256 hash is not persistedQuery.sha256Hash.")
            self._register = digest
            return
        text = await self.runtime.persisted.get(digest)
        if text is None:
            # Apollo Client and Hive look for this code (or the message) to send the text.
            raise _refused("PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound")
        ctx.query = text


def _apollo_hash(persisted: object) -> str | None:
    """The hash of Apollo's `persistedQuery` extension, checked, or None without one."""
    if persisted is None:
        return None
    if not isinstance(persisted, dict):
        raise _refused("BAD_USER_INPUT", "`extensions.persistedQuery` must be an object.")
    if persisted.get("version") != _APOLLO_VERSION:
        raise _refused("BAD_USER_INPUT", "`extensions.persistedQuery.version` must be 1.")
    digest = persisted.get("sha256Hash")
    if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
        raise _refused(
            "BAD_USER_INPUT", "`extensions.persistedQuery.sha256Hash` must be 64 hexadecimal digits."
        )
    return digest.lower()


def _refused(code: str, message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code})
