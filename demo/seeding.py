"""The demo gateway's policy: with a policy store configured (the demo configures one), the
store seeded on its first run (demo/access.py) and the policy read back from it."""

from __future__ import annotations

import datetime as dt

from gateway.audit.record import PolicyChange
from gateway.audit.store import AuditStore
from gateway.audit.writer import AuditWriter
from gateway.config.settings import Settings
from gateway.console.workflow import build_workflow
from gateway.policy.model import Policy, load_policy, read_policy
from gateway.policystore.snapshot import policy_at
from gateway.policystore.store import PolicyStore
from gateway.runtime import Runtime

from .access import seed_access
from .stack import DemoStack

__all__ = ["demo_policy"]


async def demo_policy(stack: DemoStack, settings: Settings, runtime: Runtime) -> Policy:
    auth = settings.auth
    if auth is None or not auth.store:
        return runtime.policy
    schema = runtime.schema
    checks = {"pinnable": schema.surface.pinnable, "sharing": schema.surface.sharing}
    path = auth.policy
    policy = load_policy(path, schema.scopes, **checks)  # type: ignore[arg-type]
    store = PolicyStore(auth.store, auth.store_schema)
    audit = AuditStore(settings.audit.dsn) if settings.audit.mode != "off" and settings.audit.dsn else None
    writer = None if audit is None else AuditWriter(audit, settings.audit.subject_key.encode())
    try:
        if audit is not None and writer is not None:
            await audit.install()
            await writer.start()

        async def record(change: PolicyChange) -> None:
            if writer is not None:
                await writer.record_change(change)

        workflow = build_workflow(store, schema, settings.applications, record, catalog=settings.catalog)
        text = read_policy(path)
        register = stack.dsns["public_security"]
        await seed_access(store, workflow, text, policy, stack.samples, register, stack.data_dir)
        snapshot = await store.snapshot()
        return policy_at(snapshot, dt.datetime.now(dt.UTC), schema.scopes, **checks)  # type: ignore[arg-type]
    finally:
        if writer is not None:
            await writer.aclose()
        if audit is not None:
            await audit.aclose()
        await store.aclose()
