"""The demo gateway's policy: with a policy store configured (the demo configures one), the
store seeded on its first run (demo/access.py) and the policy read back from it."""

from __future__ import annotations

import datetime as dt

from gateway.applications.building import build_workflow
from gateway.audit.recorder import change_recorder
from gateway.config.settings import Settings
from gateway.policy.model import Policy, read_policy
from gateway.policystore.snapshot import isolated_policy
from gateway.policystore.store import PolicyStore
from gateway.runtime import Runtime

from .access import seed_access
from .stack import DemoStack

__all__ = ["demo_policy"]


async def demo_policy(stack: DemoStack, settings: Settings, runtime: Runtime) -> Policy:
    auth = settings.auth
    if auth is None or not auth.store:
        return runtime.policy
    store = PolicyStore(auth.store, auth.store_schema)
    try:
        async with change_recorder(settings.audit) as record:
            workflow = build_workflow(
                store,
                runtime.schema,
                settings.applications,
                record,
                catalog=settings.catalog,
                operations=runtime.operations,
            )
            register = stack.dsns["public_security"]
            text = read_policy(auth.policy)
            await seed_access(store, workflow, text, stack.samples, register, stack.data_dir)
        snapshot = await store.snapshot()
        return isolated_policy(snapshot, dt.datetime.now(dt.UTC), workflow.checks)[0]
    finally:
        await store.aclose()
