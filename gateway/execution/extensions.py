"""Per-operation schema extensions: who may introspect, and the audit of every access.

Both hook the operation once, never a field: the per-field work is done by the
resolver wrappers in enforcement.py.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

from graphql import DocumentNode, FieldNode, GraphQLError, visit
from graphql.language import Visitor
from strawberry.extensions import SchemaExtension

from gateway.audit.record import AccessRecord, AuditUnavailable, canonical_hash
from gateway.audit.writer import AuditWriter
from gateway.execution.documents import Registry, document_id
from resolvers.context import Context

__all__ = ["AuditTrail", "IntrospectionGate", "SourceReport", "TrustedDocuments"]

log = logging.getLogger("govgraph.audit")


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


class IntrospectionGate(SchemaExtension):
    """The schema is shown only to purposes that allow it (the developer's)."""

    def on_execute(self) -> Iterator[None]:
        context: Context = self.execution_context.context
        document = self.execution_context.graphql_document
        query = self.execution_context.query or ""
        if not context.principal.may_introspect and document is not None and _introspects(query, document):
            raise GraphQLError(
                "Introspection is available only for a purpose that allows it.",
                extensions={"code": "FORBIDDEN"},
            )
        yield


def _outcome(data: object, errors: list[dict[str, Any]], read_any: bool) -> str:
    if not errors:
        return "ok"
    if all(e.get("extensions", {}).get("code") == "FORBIDDEN" for e in errors) and not read_any:
        return "denied"
    return "partial" if data is not None else "error"


class AuditTrail(SchemaExtension):
    """Writes one audit event for each operation that read a subject or was refused a field.

    In sync mode the response waits for the event's commit and, if the store cannot take
    it, is replaced by AUDIT_UNAVAILABLE (503): no unaudited personal data leaves.
    """

    def __init__(self, writer: AuditWriter | None, sync: bool) -> None:
        self._writer = writer
        self._sync = sync

    async def on_operation(self) -> AsyncIterator[None]:
        yield
        context: Context = self.execution_context.context
        access = context.access
        if not isinstance(access, AccessRecord) or not access.touched:
            return
        result = self.execution_context.result
        data = getattr(result, "data", None)
        errors = [e.formatted for e in (getattr(result, "errors", None) or [])]
        access.operation = self.execution_context.operation_name
        access.document_hash = hashlib.sha256((self.execution_context.query or "").encode()).hexdigest()
        outcome = _outcome(data, errors, bool(access.subjects))
        response_hash = canonical_hash({"data": data, "errors": errors})
        if self._writer is None:
            raise _unavailable(context)
        if not self._sync:
            _background(self._writer.record(access, outcome, response_hash))
            return
        try:
            await self._writer.record(access, outcome, response_hash)
        except AuditUnavailable as exc:
            log.error("audit unavailable, request %s refused: %s", access.request_id, exc)
            raise _unavailable(context) from exc


def _unavailable(context: Context) -> GraphQLError:
    if context.response is not None:
        context.response.status_code = 503
    return GraphQLError(
        "The audit log cannot record this access now; no data was released.",
        extensions={"code": "AUDIT_UNAVAILABLE"},
    )


_pending: set[asyncio.Task[None]] = set()


def _background(work: Any) -> None:
    task = asyncio.ensure_future(work)
    _pending.add(task)

    def done(t: asyncio.Task[None]) -> None:
        _pending.discard(t)
        if not t.cancelled() and t.exception() is not None:
            log.error("audit event lost in async mode: %s", t.exception())

    task.add_done_callback(done)


class TrustedDocuments(SchemaExtension):
    """Runs registered documents by id (`documentId` or Apollo's `persistedQuery`) with the
    parse and validation done at start-up; refuses anything else to persisted-only clients."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry

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
        document = self._registry.get(str(identifier))
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


class SourceReport(SchemaExtension):
    """`extensions.sources` in the response: each department consulted and how it went
    ("ok" or "failed"), so a client can tell "no record" from "not permitted" from
    "department down". Only a purpose that may read the schema (development) is told
    "cached" (answered from the record cache alone): to anyone else it would say which ids
    were asked recently, by anyone. Logs and metrics keep it for operators."""

    def get_results(self) -> dict[str, Any]:
        context = self.execution_context.context
        if not isinstance(context, Context):
            return {}
        consulted = context.loaders.consulted()
        if not context.principal.may_introspect:
            consulted = {
                source: "ok" if status == "cached" else status for source, status in consulted.items()
            }
        return {"sources": consulted} if consulted else {}
