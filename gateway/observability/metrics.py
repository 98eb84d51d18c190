"""Prometheus metrics, served at GET /metrics on the operators' listener (gateway/http/ops.py).

One process: the default registry. Several (`govgraph serve --workers N`, or any
supervisor that sets PROMETHEUS_MULTIPROC_DIR before the processes start): every process
writes its values to files in that directory and /metrics (answered by the `--workers`
supervisor, or by any one of the processes) collects all the files, so counters and
histograms are totals over the processes and gauges are summed over the live ones.
prometheus-client picks its mode when it is first imported, from that environment
variable, so this module reads it the same way.

Labels are bounded: operation names of trusted documents only ("anonymous", "other"
otherwise), client ids and purposes from the policy, source and entity names from the
configuration, error codes from a fixed set, scopes from the schema. Updates happen
once per request, source call, cache look-up and audit commit; never per field.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.requests import Request
from starlette.responses import Response

from gateway.execution.outcome import REFUSED_BEFORE_EXECUTION
from gateway.observability.exchange import Exchange
from sources.registry import Catalog
from sources.stats import Call

__all__ = [
    "AUDIT",
    "EXECUTIONS",
    "MULTIPROCESS_DIR",
    "SOURCES",
    "exposition",
    "metrics_endpoint",
    "process_stopped",
    "record_exchange",
    "refresh_breakers",
    "sources_started",
    "sources_stopped",
]

MULTIPROCESS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None

_SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_KEYS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000)
_STATES = ("closed", "half_open", "open")
# Every code a response may carry gets its own label; anything else is OTHER.
_CODES = REFUSED_BEFORE_EXECUTION | {
    "UNAUTHENTICATED",
    "PURPOSE_REQUIRED",
    "PURPOSE_NOT_ALLOWED",
    "CROSS_ORIGIN",
    "METHOD_NOT_ALLOWED",
    "LOOKUP_BUDGET_EXCEEDED",
    "RATE_LIMITED",
    "SOURCE_UNAVAILABLE",
    "SOURCE_TIMEOUT",
    "SOURCE_CIRCUIT_OPEN",
    "SOURCE_REJECTED",
    "AUDIT_UNAVAILABLE",
    "INTERNAL_SERVER_ERROR",
}

LOOKUPS = Counter(
    "govgraph_lookups",
    "Ids looked up at the root (person, persons, enterprise, household ...), by what the look-up came"
    " to: found, miss (nothing the client may see: the audit log says which kind), forbidden or"
    " failed. Many misses from one client is someone guessing ids.",
    ["client", "outcome"],
)
LOOKUP_BUDGET_EXCEEDED = Counter(
    "govgraph_lookup_budget_exceeded",
    "Look-ups refused because the client's miss budget was spent (LOOKUP_BUDGET_EXCEEDED): alert on it.",
    ["client"],
)
REQUESTS = Counter(
    "govgraph_requests",
    "GraphQL operations answered (each operation of a batch once) and requests refused "
    "before any operation ran (operation=none), by outcome.",
    ["operation", "client", "purpose", "outcome"],
)
REQUEST_SECONDS = Histogram(
    "govgraph_request_duration_seconds",
    "Time to answer a /graphql request (operation=batch for batches, none when refused).",
    ["operation"],
    buckets=_SECONDS,
)
EXECUTIONS = Counter(
    "govgraph_executions",
    "Operations executed, by executor: plan, or strawberry with the reason (configured, or what"
    " the planner does not execute: mutation, introspection, abstract_type, ...).",
    ["executor", "reason"],
)
ERRORS = Counter("govgraph_graphql_errors", "Errors in GraphQL responses, by code.", ["code"])
DENIED = Counter(
    "govgraph_denied_fields",
    "Fields refused by policy (FORBIDDEN), by scope (jurisdiction, introspection: no scope).",
    ["scope"],
)
SOURCE_CALLS = Counter(
    "govgraph_source_calls",
    "Backend calls (each retry is one), by outcome: ok or the error code.",
    ["source", "entity", "outcome"],
)
SOURCE_SECONDS = Histogram(
    "govgraph_source_call_duration_seconds",
    "Time of one backend call.",
    ["source", "entity"],
    buckets=_SECONDS,
)
SOURCE_KEYS = Histogram(
    "govgraph_source_batch_keys", "Keys asked in one backend call.", ["source", "entity"], buckets=_KEYS
)
SHORT_CIRCUITS = Counter(
    "govgraph_source_short_circuits", "Calls refused at once because the breaker was open.", ["source"]
)
BREAKER = Gauge(
    "govgraph_source_breaker",
    "Processes whose breaker for the source is in this state (1 or 0 for one process).",
    ["source", "state"],
    multiprocess_mode="livesum",
)
CACHE = Counter(
    "govgraph_cache_lookups", "Keys looked up in the record cache, by result.", ["source", "entity", "result"]
)
AUDIT_QUEUE = Gauge(
    "govgraph_audit_queue_depth", "Audit events waiting for a commit.", multiprocess_mode="livesum"
)
AUDIT_COMMIT_SECONDS = Histogram(
    "govgraph_audit_commit_duration_seconds",
    "Time of one group commit of audit events.",
    ["outcome"],
    buckets=_SECONDS,
)
AUDIT_EVENTS = Counter(
    "govgraph_audit_events", "Audit events by fate: committed, failed, abandoned.", ["outcome"]
)


def record_exchange(exchange: Exchange) -> None:
    """Count one answered /graphql request (see gateway/observability/exchange.py)."""
    client, purpose = exchange.client or "none", exchange.purpose or "none"
    for operation in exchange.operations:
        REQUESTS.labels(operation.operation, client, purpose, operation.outcome).inc()
        for code, n in operation.errors.items():
            ERRORS.labels(code if code in _CODES else "OTHER").inc(n)
        for scope, n in operation.denied.items():
            DENIED.labels(scope).inc(n)
    if not exchange.operations:
        REQUESTS.labels("none", client, purpose, exchange.outcome).inc()
    REQUEST_SECONDS.labels(exchange.operation).observe(exchange.seconds)


class SourceMetrics:
    """The catalogue's listener (sources.stats.SourceListener)."""

    def call(self, call: Call) -> None:
        SOURCE_CALLS.labels(call.source, call.entity, call.outcome).inc()
        SOURCE_SECONDS.labels(call.source, call.entity).observe(call.latency)
        SOURCE_KEYS.labels(call.source, call.entity).observe(call.batch_size)

    def breaker(self, source: str, state: str) -> None:
        for each in _STATES:
            BREAKER.labels(source, each).set(1 if each == state else 0)

    def short_circuit(self, source: str, entity: str) -> None:
        SHORT_CIRCUITS.labels(source).inc()

    def cache_lookup(self, source: str, entity: str, hits: int, misses: int) -> None:
        if hits:
            CACHE.labels(source, entity, "hit").inc(hits)
        if misses:
            CACHE.labels(source, entity, "miss").inc(misses)


class AuditMetrics:
    """The audit writer's observer (gateway.audit.writer.WriterObserver)."""

    def queued(self, depth: int) -> None:
        AUDIT_QUEUE.set(depth)

    def committed(self, events: int, seconds: float) -> None:
        AUDIT_COMMIT_SECONDS.labels("ok").observe(seconds)
        AUDIT_EVENTS.labels("committed").inc(events)

    def failed(self, events: int, seconds: float) -> None:
        AUDIT_COMMIT_SECONDS.labels("failed").observe(seconds)
        AUDIT_EVENTS.labels("failed").inc(events)

    def abandoned(self, events: int) -> None:
        AUDIT_EVENTS.labels("abandoned").inc(events)


SOURCES = SourceMetrics()
AUDIT = AuditMetrics()


def sources_started(catalog: Catalog) -> None:
    """Listen to the catalogue and show its breakers (called in the serving process only:
    a gauge written by a process that does not serve would count as a live one)."""
    catalog.stats.listener = SOURCES
    for name, state in catalog.health().items():
        SOURCES.breaker(name, state)


def sources_stopped(catalog: Catalog) -> None:
    for name in catalog.health():
        for state in _STATES:
            BREAKER.labels(name, state).set(0)


def process_stopped() -> None:
    """This process's gauges no longer count (several processes only)."""
    if MULTIPROCESS_DIR is not None:
        multiprocess.mark_process_dead(os.getpid(), MULTIPROCESS_DIR)  # type: ignore[no-untyped-call]


def refresh_breakers(catalog: Catalog) -> None:
    """A breaker's cooldown ending is not an event: read the states now, before a scrape."""
    for name, state in catalog.health().items():
        SOURCES.breaker(name, state)


def exposition(directory: str | None = MULTIPROCESS_DIR) -> bytes:
    """The Prometheus text of this process, or of every process writing to `directory`."""
    if directory is None:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, directory)  # type: ignore[no-untyped-call]
    return generate_latest(registry)


def metrics_endpoint(catalog: Catalog) -> Callable[[Request], Awaitable[Response]]:
    async def metrics(request: Request) -> Response:
        refresh_breakers(catalog)
        # Several processes: reading every process's file is disk I/O, kept off the loop.
        body = exposition() if MULTIPROCESS_DIR is None else await asyncio.to_thread(exposition)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return metrics
