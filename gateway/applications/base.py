"""What every workflow action shares: the store, the audit, and how a change is made.

A change is one transaction of the policy store (serialised with every other change by
the store). Its audit events are committed last, just before the transaction: a change
whose events cannot be recorded is rolled back and refused with AUDIT_UNAVAILABLE.
Driver failures are POLICY_STORE_UNAVAILABLE, with a message that names no host.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import asyncpg

from gateway.applications.errors import WorkflowError
from gateway.applications.items import ItemIndex
from gateway.audit.record import AuditUnavailable, PolicyChange, RecordChange
from gateway.config.workflow import ApplicationSettings
from gateway.policy.model import PolicyChecks
from gateway.policystore.errors import PolicyStoreError
from gateway.policystore.store import PolicyStore

__all__ = ["Change", "WorkflowBase", "checked_text", "store_unavailable"]

log = logging.getLogger("govgraph.applications")

_TEXT_LIMIT = 500
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def checked_text(value: str, what: str) -> str:
    value = value.strip()
    if not value:
        raise WorkflowError("BAD_USER_INPUT", f"{what} is required.")
    if len(value) > _TEXT_LIMIT or _CONTROL.search(value):
        raise WorkflowError(
            "BAD_USER_INPUT", f"{what}: at most {_TEXT_LIMIT} characters, no control characters."
        )
    return value


@dataclass
class Change:
    """A change in progress: its connection, and the audit events it will record."""

    conn: asyncpg.Connection
    events: list[PolicyChange] = field(default_factory=list)


class WorkflowBase:
    def __init__(
        self,
        store: PolicyStore,
        index: ItemIndex,
        settings: ApplicationSettings,
        record: RecordChange,
        checks: PolicyChecks,
    ) -> None:
        self.store, self.index, self.settings, self.record = store, index, settings, record
        self.checks = checks  # what the store's policy is checked against

    @contextlib.asynccontextmanager
    async def _reading(self, doing: str) -> AsyncIterator[asyncpg.Connection]:
        try:
            async with self.store.reading(doing) as conn:
                yield conn
        except PolicyStoreError as exc:
            raise store_unavailable(exc) from exc

    @contextlib.asynccontextmanager
    async def _changing(self, doing: str) -> AsyncIterator[Change]:
        try:
            async with self.store.change(doing) as conn:
                change = Change(conn)
                yield change
                for event in change.events:
                    await self.record(event)
        except AuditUnavailable as exc:  # rolled back: a change that cannot be audited is not made
            raise WorkflowError("AUDIT_UNAVAILABLE", "The audit log cannot record this change now.") from exc
        except PolicyStoreError as exc:
            raise store_unavailable(exc) from exc


def store_unavailable(exc: PolicyStoreError) -> WorkflowError:
    """The refusal a caller sees when the store fails; the driver's words stay in the log."""
    log.error("policy store: %s", exc)  # the host and the driver's words stay in the log
    return WorkflowError(
        "POLICY_STORE_UNAVAILABLE", "The policy store cannot take this now; nothing changed."
    )
