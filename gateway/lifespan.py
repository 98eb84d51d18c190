"""A gateway process's start and stop: what opens, in order, and closes in reverse.

Each part's clean-up is registered before the next part starts, so a failure half-way
through start-up closes what was opened.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette

from gateway.applications.building import build_workflow
from gateway.applications.workflow import Workflow
from gateway.audit.keys import checkpointer_for
from gateway.audit.partitions import month_of, next_month
from gateway.audit.record import AuditUnavailable, PolicyChange
from gateway.audit.store import AuditStore
from gateway.audit.writer import AuditWriter
from gateway.config.sections import AuthConfig
from gateway.execution.plan.warm import plan_documents
from gateway.http.health import Readiness
from gateway.observability import metrics
from gateway.policy.reload import PolicyReloader
from gateway.policystore.changes import record_expiries
from gateway.policystore.follower import StoreFollower
from gateway.policystore.store import PolicyStore
from gateway.runtime import Runtime
from gateway.server.collector import tune_collector

__all__ = ["lifespan"]

log = logging.getLogger("govgraph")


@contextlib.asynccontextmanager
async def lifespan(
    app: Starlette, runtime: Runtime, readiness: Readiness, serving: bool
) -> AsyncIterator[None]:
    """`serving`: this app is what the process serves, so process-wide settings (the
    garbage collector) are its to tune."""
    settings, catalog, tracing = runtime.settings, runtime.catalog, runtime.tracing
    async with contextlib.AsyncExitStack() as parts:
        if settings.metrics.enabled:
            parts.callback(metrics.process_stopped)
            parts.callback(metrics.sources_stopped, catalog)
        if tracing is not None:
            parts.callback(tracing.shutdown)
            parts.callback(setattr, catalog.stats, "tracer", None)
        parts.push_async_callback(runtime.limiter.aclose)
        parts.push_async_callback(runtime.tally.aclose)
        parts.push_async_callback(runtime.persisted.aclose)
        parts.push_async_callback(catalog.aclose)
        if settings.audit.mode != "off" and settings.audit.dsn:
            runtime.writer = await _audit_writer(runtime, settings.audit.dsn, parts)
        # Observers are attached here, in the process that serves: `serve --workers` also
        # builds the app in its supervisor, which must not show up as a live process.
        if settings.metrics.enabled:
            metrics.sources_started(catalog)
            if runtime.writer is not None:
                runtime.writer.observer = metrics.AUDIT
        if tracing is not None:
            tracing.start()
            catalog.stats.tracer = tracing.tracer
        if settings.auth is not None and settings.auth.store:
            runtime.follower = await _follow_store(runtime, settings.auth, parts)
        else:
            reloader = app.state.reloader = PolicyReloader(
                runtime,
                runtime.schema.scopes,
                interval=settings.auth.policy_poll if settings.auth else None,
                pinnable=runtime.schema.surface.pinnable,
                operations=runtime.operations,
                sharing=runtime.schema.surface.sharing,
            )
            parts.push_async_callback(reloader.aclose)
            reloader.start()
        if runtime.schema.plans is not None:  # the policy in force is known by now
            plan_documents(runtime.schema.plans, runtime.documents, runtime.policy)
        if serving:
            parts.callback(tune_collector(settings.gateway.gc_young))
        readiness.started = True
        parts.callback(setattr, readiness, "started", False)
        log.info(
            "serving %d sources (%s), %d trusted documents; audit %s; event loop %s",
            len(catalog.sources),
            ", ".join(catalog.sources),
            len(runtime.documents),
            settings.audit.mode,
            type(asyncio.get_running_loop()).__module__.split(".")[0],  # uvloop or asyncio
        )
        yield


async def _audit_writer(runtime: Runtime, dsn: str, parts: contextlib.AsyncExitStack) -> AuditWriter:
    audit = runtime.settings.audit
    store = runtime.audit_store = AuditStore(dsn)
    parts.push_async_callback(store.aclose)
    await store.open()
    await store.install()
    await _retention(store, audit.retain_months)
    writer = AuditWriter(
        store,
        runtime.audit_key,
        max_batch=audit.max_batch,
        max_wait=audit.max_wait,
        commit_timeout=audit.commit_timeout,
        suite=runtime.audit_suite,
        checkpointer=checkpointer_for(audit, await store.identity()),
        tend_interval=audit.checkpoint_interval,
        siblings=True,  # AuditTrail says when each operation begins and ends
    )
    await writer.start()
    parts.push_async_callback(writer.aclose)
    return writer


async def _retention(store: AuditStore, months: int) -> None:
    """Say when months older than `retain_months` wait in the database (never dropped here)."""
    oldest = next_month(month_of(dt.datetime.now(dt.UTC)), -months)
    kept = [m for m in await store.months() if m < oldest]
    if kept:
        log.warning(
            "audit: %d months before %s are older than retain_months (%d); "
            "`govgraph audit archive` moves them to files",
            len(kept),
            f"{oldest:%Y-%m}",
            months,
        )


async def _follow_store(
    runtime: Runtime, auth: AuthConfig, parts: contextlib.AsyncExitStack
) -> StoreFollower:
    # Two connection pools: the follower's reads never wait behind the console's changes.
    store = PolicyStore(auth.store or "", auth.store_schema)
    parts.push_async_callback(store.aclose)
    await store.install()
    followed = PolicyStore(auth.store or "", auth.store_schema)
    parts.push_async_callback(followed.aclose)
    follower = StoreFollower(
        runtime,
        followed,
        runtime.schema.policy_checks(runtime.operations),
        check_interval=auth.store_check,
        stale_after=auth.stale_after,
        on_expired=lambda rows: record_expiries(runtime.writer, rows),
    )
    parts.push_async_callback(follower.aclose)
    await follower.start()
    runtime.policy_store = store
    runtime.workflow = _workflow(runtime, store)
    return follower


def _workflow(runtime: Runtime, store: PolicyStore) -> Workflow:
    """The process's workflow: its audit writer records the changes."""
    settings = runtime.settings

    async def record(change: PolicyChange) -> None:
        if runtime.writer is None:
            if settings.audit.mode == "off":
                return  # no audit log is kept at all
            raise AuditUnavailable("the audit writer is not running")
        await runtime.writer.record_change(change)

    return build_workflow(
        store,
        runtime.schema,
        settings.applications,
        record,
        catalog=settings.catalog,
        operations=runtime.operations,
    )
