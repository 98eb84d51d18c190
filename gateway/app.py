"""create_app: a gateway process's app, and the pipeline every /graphql request goes
through, in the order it runs."""

from __future__ import annotations

from functools import partial

from opentelemetry.sdk.trace.export import SpanExporter
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

from gateway.access.admission import Admission
from gateway.access.lookup_gate import LookupGate
from gateway.audit.trail import AuditTrail
from gateway.catalog.graph import graph_of
from gateway.config.settings import Settings
from gateway.console.app import console_routes
from gateway.execution.introspection import IntrospectionGate
from gateway.execution.operation_limits import OperationLimits
from gateway.execution.schema import CORE, build_schema
from gateway.execution.source_report import SourceReport
from gateway.execution.step import Step
from gateway.execution.trusted_documents import TrustedDocuments
from gateway.http import paths
from gateway.http.cors import CrossOrigin
from gateway.http.graphiql import assets_route
from gateway.http.health import Readiness, healthz
from gateway.http.methods import MethodGate
from gateway.http.root import Root
from gateway.http.view import GatewayGraphQL
from gateway.lifespan import lifespan
from gateway.observability import metrics
from gateway.observability.exchange import OperationObserver
from gateway.observability.requestlog import RequestLog
from gateway.observability.tracing import OperationSpan
from gateway.policy.model import Policy
from gateway.runtime import Runtime, build_runtime
from sources.base import Source
from sources.stats import CallStats

__all__ = ["PIPELINE", "Runtime", "create_app"]

# A request to /graphql passes four middlewares (RequestLog: request id, log line,
# metrics; CrossOrigin: CORS preflights and headers; MethodGate: 405 before anyone is asked
# who they are; Admission: credentials, purpose, rate limit), the view (GraphQL over HTTP,
# one context per operation), then, per operation, CORE (parse, validate, check text:
# gateway/execution/schema.py) and these steps. Strawberry runs each hook (operation,
# parse, validate, execute, results) of every step in this order, and unwinds them in
# reverse; the hook each step works in is noted. The field policy is not a step: it wraps
# the resolvers when the schema is built (gateway/policy/enforcement.py).
PIPELINE: tuple[type[Step], ...] = (
    OperationSpan,  # operation: the trace span, around everything below (tracing on)
    TrustedDocuments,  # operation: a registered document by id; persisted-only clients send nothing else
    OperationLimits,  # validate: tokens, depth, aliases, cost; execute: a share of the work budget
    LookupGate,  # execute: an operation looking ids up, refused once the client's miss budget is spent
    IntrospectionGate,  # execute: __schema and __type answered from the client's own graph
    SourceReport,  # results: extensions.sources, each department consulted and how it went
    AuditTrail,  # operation, on the way out: one hash-chained event per operation that touched data
    OperationObserver,  # results: the operation's part of the request's log line and metrics
)


def create_app(
    settings: Settings,
    *,
    stats: CallStats | None = None,
    instances: dict[str, Source] | None = None,
    policy: Policy | None = None,
    span_exporter: SpanExporter | None = None,
    serving: bool = False,
) -> Starlette:
    """The ASGI app, from `settings`; `serving`: it is what the process serves. The other
    arguments are the tests' ways in (call counts, sources, a policy, spans)."""
    # CORE (parse, validate, text checks) comes first in every schema, then the steps wanted.
    wanted = [step for step in PIPELINE if step.wanted(settings)]
    schema = build_schema(
        [*CORE, *wanted],
        text_chars=settings.limits.text_chars,
        graph=graph_of(settings.catalog),
        executor=settings.gateway.executor,
        plan_cache=settings.gateway.plan_cache,
    )
    runtime = build_runtime(
        settings, schema, stats=stats, instances=instances, policy=policy, span_exporter=span_exporter
    )
    readiness = Readiness(runtime, settings.health)
    log = Middleware(  # outermost: mints the request id every other part uses
        RequestLog,
        log_requests=settings.logging.requests,
        record=metrics.record_exchange if settings.metrics.enabled else None,
    )
    app = Starlette(
        # /readyz and /metrics are served on the operators' listener (gateway/http/ops.py).
        routes=[
            Route(paths.GRAPHQL, GatewayGraphQL(schema, runtime)),
            Route(paths.ROOT, Root(settings.gateway.graphiql)),
            Route(paths.HEALTHZ, healthz),
            assets_route(),
            *(console_routes(runtime) if settings.console.enabled else ()),
        ],
        middleware=[
            log,
            Middleware(CrossOrigin, origins=settings.gateway.cors_origins),
            Middleware(MethodGate),
            Middleware(Admission, runtime=runtime, path=paths.GRAPHQL),
        ],
        lifespan=partial(lifespan, runtime=runtime, readiness=readiness, serving=serving),
    )
    app.state.runtime, app.state.catalog, app.state.schema = runtime, runtime.catalog, schema
    app.state.readiness = readiness
    return app
