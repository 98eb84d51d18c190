"""A resident's "who accessed my data": every audited access to their record, by which
app, for what purpose, under which approval, and the verdicts concluded about them (read
from the audit log's subject index, by the keyed hash of their id)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gateway.audit.record import subject_keys

if TYPE_CHECKING:
    from gateway.runtime import Runtime

__all__ = ["access_history"]

# Accesses the gateway itself makes, by a person rather than a client (an auditor's look-up).
_OWN = {"console": "政务数据共享控制台：审计员查询 (the console: an auditor's look-up)"}


async def access_history(runtime: Runtime, subject: str, limit: int = 500) -> list[dict[str, Any]]:
    store = runtime.audit_store
    if store is None:
        return []
    events = await store.subject_events(subject_keys(runtime.audit_key, subject.strip().upper()), limit)
    policy = runtime.policy
    history = []
    for event in events:
        client, purpose = policy.clients.get(event["client"]), policy.purposes.get(event["purpose"])
        name = client.name if client is not None else _OWN.get(event["client"], event["client"])
        history.append(
            {
                "time": event["time"],
                "client": event["client"],
                "client_name": name,
                "purpose": event["purpose"],
                "purpose_title": purpose.title if purpose is not None else event["purpose"],
                "basis": event["basis"],
                "scopes": event["scopes"],
                "outcome": event["outcome"],
                "verdicts": event["verdicts"],
            }
        )
    return history
