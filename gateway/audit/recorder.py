"""Recording policy changes made outside a gateway process (`govgraph policy`, the demo's
seeding): an audit writer of their own, a chain of their own, for as long as they run."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from gateway.audit.keys import checkpointer_for
from gateway.audit.record import PolicyChange, RecordChange
from gateway.audit.store import AuditStore
from gateway.audit.suite import get_suite
from gateway.audit.writer import AuditWriter
from gateway.config.sections import AuditSettings
from sources.errors import ConfigError

__all__ = ["change_recorder"]


@contextlib.asynccontextmanager
async def change_recorder(audit: AuditSettings) -> AsyncIterator[RecordChange]:
    """What commits a change's audit event; with the audit log off, nothing is recorded."""
    if audit.mode == "off":

        async def unrecorded(change: PolicyChange) -> None:
            return None

        yield unrecorded
        return
    if not audit.dsn:
        raise ConfigError("audit: dsn is required to record changes to the policy")
    store = AuditStore(audit.dsn)
    try:
        await store.open()
        await store.install()
        writer = AuditWriter(
            store,
            audit.subject_key.encode(),
            commit_timeout=audit.commit_timeout,
            suite=get_suite(audit.suite),
            checkpointer=checkpointer_for(audit, await store.identity()),  # the head, signed at close
            tend_interval=audit.checkpoint_interval,
        )
        await writer.start()
        try:
            yield writer.record_change
        finally:
            await writer.aclose()
    finally:
        await store.aclose()
