"""The audit of every access: one event per operation that read a subject or was refused
a field, written when the operation is done (gateway/audit/record.py says what it holds)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from graphql import GraphQLError

from gateway.audit.queue import Opened
from gateway.audit.record import AccessRecord, AuditUnavailable, canonical_hash
from gateway.audit.writer import AuditWriter
from gateway.execution.outcome import audited
from gateway.execution.step import Step
from resolvers.context import Context

if TYPE_CHECKING:
    from gateway.config.settings import Settings

__all__ = ["AuditTrail"]

log = logging.getLogger("govgraph.audit")


class AuditTrail(Step):
    """Writes one audit event for each operation that read a subject or was refused a field.

    In sync mode the response waits for the event's commit and, if the store cannot take
    it, is replaced by AUDIT_UNAVAILABLE (503): no unaudited personal data leaves.
    """

    @classmethod
    def wanted(cls, settings: Settings) -> bool:
        return settings.audit.mode != "off"

    async def on_operation(self) -> AsyncIterator[None]:
        writer = self.runtime.writer
        opened = writer.begin() if writer is not None else None
        try:
            yield
            await self._record(writer, opened)
        finally:
            if opened is not None:
                opened.end()  # no event, or a failure before it was queued

    async def _record(self, writer: AuditWriter | None, opened: Opened | None) -> None:
        context: Context = self.execution_context.context
        access = context.access
        if not isinstance(access, AccessRecord) or not access.touched:
            return
        result = self.execution_context.result
        data = getattr(result, "data", None)
        errors = [e.formatted for e in (getattr(result, "errors", None) or [])]
        access.operation = self.execution_context.operation_name
        access.document_hash = hashlib.sha256((self.execution_context.query or "").encode()).hexdigest()
        codes = [e.get("extensions", {}).get("code") for e in errors]
        outcome = audited(codes, data is not None, released=bool(access.subjects))
        response_hash = canonical_hash({"data": data, "errors": errors})
        if writer is None:
            raise _unavailable(context)
        if self.runtime.settings.audit.mode != "sync":
            unanchored = writer.refusing()  # failed checkpoints close async mode too
            if unanchored is not None:
                log.error("audit unavailable, request %s refused: %s", access.request_id, unanchored)
                raise _unavailable(context)
            _background(writer.record(access, outcome, response_hash))
            return
        try:
            await writer.record(access, outcome, response_hash, opened)
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
