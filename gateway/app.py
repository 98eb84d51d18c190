"""create_app: the gateway's routes, middleware, lifespan and per-request context, in
reading order."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from opentelemetry.sdk.trace.export import SpanExporter
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

from gateway.access.admission import Admission
from gateway.access.auth import Authenticator, AuthSettings
from gateway.access.lookups import LookupGate
from gateway.access.ratelimit import RateLimiter, build_rate_limiter
from gateway.access.tally import Tally, build_tally
from gateway.audit.store import AuditStore
from gateway.audit.writer import AuditWriter
from gateway.config.load import config_error
from gateway.config.settings import ConfigError, Settings
from gateway.execution.budget import WorkBudget
from gateway.execution.documents import Registry
from gateway.execution.extensions import AuditTrail, IntrospectionGate, SourceReport, TrustedDocuments
from gateway.execution.limits import OperationLimits
from gateway.execution.schema import build_schema
from gateway.http.graphiql import assets_route
from gateway.http.health import Readiness, healthz
from gateway.http.view import GatewayGraphQL
from gateway.observability import metrics
from gateway.observability.exchange import OperationNames, OperationObserver
from gateway.observability.requestlog import RequestLog
from gateway.observability.tracing import OperationSpan, Tracing
from gateway.policy.model import Policy, load_policy
from gateway.policy.reload import PolicyReloader
from gateway.server.collector import tune_collector
from resolvers.graph import ENTITIES
from sources.base import Source
from sources.errors import SourceConfigError
from sources.registry import Catalog, build_catalog
from sources.stats import CallStats

__all__ = ["Runtime", "create_app"]

log = logging.getLogger("govgraph")


@dataclass
class Runtime:
    """What lives as long as the process: sources, policy, audit writer."""

    settings: Settings
    catalog: Catalog
    policy: Policy
    authenticator: Authenticator
    audit_key: bytes
    documents: Registry
    limiter: RateLimiter
    tally: Tally  # miss budgets and verdict windows, shared like the rate limits
    writer: AuditWriter | None = None


def create_app(
    settings: Settings,
    *,
    stats: CallStats | None = None,
    instances: dict[str, Source] | None = None,
    policy: Policy | None = None,
    span_exporter: SpanExporter | None = None,
    serving: bool = False,
) -> Starlette:
    """The ASGI app. `stats`, `instances` and `policy` let tests read call counts and plug in
    sources and policies, `span_exporter` receive the spans when tracing is on; `serving`
    says this app is what the process serves (it then tunes the process's garbage
    collector). Everything else comes from `settings`."""
    try:  # adapters check their own keys here: their mistakes name the file and line too
        catalog = build_catalog(settings.sources, stats, instances, cache=settings.cache)
        catalog.require(ENTITIES)
    except SourceConfigError as exc:
        raise config_error(settings.path, exc) from exc
    holder: dict[str, Runtime] = {}
    audited = settings.audit.mode != "off"
    observed = settings.metrics.enabled or settings.logging.requests  # per-request records wanted
    names = OperationNames(lambda: holder["runtime"].documents)
    scopes: set[str] = set()  # the schema's, once it is built
    lookups: set[str] = set()  # its root look-ups by id, once it is built
    tracing = Tracing(settings.tracing, span_exporter) if settings.tracing.enabled else None
    budget = WorkBudget(settings.limits.concurrent_cost)  # shared by every request of the process
    schema = build_schema(
        extensions=[
            *([lambda: OperationSpan(tracing.tracer, names)] if tracing is not None else []),
            lambda: TrustedDocuments(holder["runtime"].documents),
            lambda: OperationLimits(settings.limits, budget),
            lambda: LookupGate(lookups),
            IntrospectionGate,
            SourceReport,
            *(
                [lambda: AuditTrail(holder["runtime"].writer, settings.audit.mode == "sync")]
                if audited
                else []
            ),
            *([lambda: OperationObserver(names, scopes)] if observed else []),
        ],
        text_chars=settings.limits.text_chars,
    )
    scopes.update(schema.scopes)
    lookups.update(schema.surface.lookups)
    documents = (
        Registry.load(Path(settings.documents), schema._schema) if settings.documents else Registry.empty()
    )
    operations = frozenset(d.name for d in documents) if settings.documents else None
    if policy is None:
        if settings.auth is None:
            raise ConfigError(f"{settings.path}: auth: the [auth] section (with policy = ...) is required")
        policy = load_policy(
            settings.auth.policy, schema.scopes, pinnable=schema.surface.pinnable, operations=operations
        )
    auth = settings.auth
    auth_settings = (
        AuthSettings(
            audience=auth.audience,
            issuer=auth.issuer,
            hs256_secret=auth.hs256_secret,
            public_keys=AuthSettings.key_files(dict(auth.public_keys)),
            leeway=auth.leeway,
        )
        if auth
        else AuthSettings()
    )
    runtime = holder["runtime"] = Runtime(
        settings=settings,
        catalog=catalog,
        policy=policy,
        authenticator=Authenticator(auth_settings, lambda: runtime.policy),
        audit_key=settings.audit.subject_key.encode(),
        documents=documents,
        limiter=build_rate_limiter(
            settings.rate_limit.backend, settings.rate_limit.redis_url, f"{settings.rate_limit.namespace}:rl:"
        ),
        tally=build_tally(
            settings.rate_limit.backend,
            settings.rate_limit.redis_url,
            f"{settings.rate_limit.namespace}:tally:",
        ),
    )
    readiness = Readiness(runtime, settings.health)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        audit = settings.audit
        # Each part's clean-up is registered before the next part starts, so a failure
        # half-way through start-up closes what was opened; shutdown runs in reverse.
        async with contextlib.AsyncExitStack() as parts:
            if settings.metrics.enabled:
                parts.callback(metrics.process_stopped)
                parts.callback(metrics.sources_stopped, catalog)
            if tracing is not None:
                parts.callback(tracing.shutdown)
                parts.callback(setattr, catalog.stats, "tracer", None)
            parts.push_async_callback(runtime.limiter.aclose)
            parts.push_async_callback(runtime.tally.aclose)
            parts.push_async_callback(catalog.aclose)
            if audited and audit.dsn:
                store = AuditStore(audit.dsn)
                parts.push_async_callback(store.aclose)
                await store.open()
                await store.install()
                writer = runtime.writer = AuditWriter(
                    store,
                    runtime.audit_key,
                    max_batch=audit.max_batch,
                    max_wait=audit.max_wait,
                    commit_timeout=audit.commit_timeout,
                )
                await writer.start()
                parts.push_async_callback(writer.aclose)
            # Observers are attached here, in the process that serves: `serve --workers`
            # also builds the app in its supervisor, which must not show up as a live process.
            if settings.metrics.enabled:
                metrics.sources_started(catalog)
                if runtime.writer is not None:
                    runtime.writer.observer = metrics.AUDIT
            if tracing is not None:
                tracing.start()
                catalog.stats.tracer = tracing.tracer
            poll = settings.auth.policy_poll if settings.auth else None
            reloader = app.state.reloader = PolicyReloader(
                runtime, schema.scopes, interval=poll, pinnable=schema.surface.pinnable, operations=operations
            )
            parts.push_async_callback(reloader.aclose)
            reloader.start()
            if serving:  # process-wide, so only where this app is what the process serves
                parts.callback(tune_collector(settings.gateway.gc_young))
            readiness.started = True
            parts.callback(setattr, readiness, "started", False)
            log.info(
                "serving %d sources (%s), %d trusted documents; audit %s; event loop %s",
                len(catalog.sources),
                ", ".join(catalog.sources),
                len(documents),
                audit.mode,
                type(asyncio.get_running_loop()).__module__.split(".")[0],  # uvloop or asyncio
            )
            yield

    app = Starlette(
        routes=[
            Route("/graphql", GatewayGraphQL(schema, runtime)),
            Route("/healthz", healthz),  # /readyz and /metrics: the operators' listener (gateway/http/ops.py)
            assets_route(),
        ],
        middleware=[
            Middleware(  # outermost: mints the request id every other part uses
                RequestLog,
                log_requests=settings.logging.requests,
                record=metrics.record_exchange if settings.metrics.enabled else None,
            ),
            Middleware(
                Admission,
                authenticator=lambda: runtime.authenticator,
                limiter=lambda: runtime.limiter,
                default_rate=settings.rate_limit,
            ),
        ],
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.state.catalog = catalog
    app.state.schema = schema
    app.state.readiness = readiness
    return app
