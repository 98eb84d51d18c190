"""Serve the gateway, or a baseline, in one of the variants the benchmarks compare.

For bench.policy_cost:
  bare             the graph alone: no authentication, no field policy, no audit
  policy           authentication, purpose and field policy; audit off
  policy+audit     everything, audit in sync mode (the default deployment)

For bench.run (each with `--latency-ms` added to every PostgreSQL department call, the
per-source `inject_latency`; the REST departments add theirs server-side):
  gateway          the real gateway: policy, audit (sync), batching, the record cache
  gateway-strawberry  the same on graphql-core's executor (`[gateway] executor = "strawberry"`)
  gateway-quiet    the same with audit, metrics and request logs off
  gateway-nocache  the same with the record cache off (batching only)
  naive            the same with batching and the cache off: one backend call per field
  floor            bare Strawberry over in-memory records (bench/floor.py); needs --workload

Rate limits are off in every variant: the benchmarks measure the gateway, not the
per-client limit. The bench.run variants also raise `list_keys` to 1,000 (and the cost
limit with it) so that one query can ask for a thousand persons (target d).

Every variant also answers `GET /__bench/stats` (benchmarks only, never in the product
app): the catalogue's backend call totals and the record cache's counters.

Reads the demo stack's addresses from the environment, as govgraph.toml does.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import resource
from collections.abc import Callable
from pathlib import Path
from typing import Any

import strawberry
import uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.asgi import GraphQL

from gateway.app import create_app
from gateway.catalog.graph import graph_of
from gateway.config.settings import RateSettings, Settings, load_settings
from gateway.execution.direct import install_direct_resolvers
from gateway.execution.schema import CORE
from resolvers.context import Context
from resolvers.graph import CONFIG as GRAPH_CONFIG
from resolvers.loaders import Loaders
from sources.base import CacheSpec
from sources.registry import Catalog, build_catalog

CONFIG = Path(__file__).parents[1] / "govgraph.toml"
# The departments kept in PostgreSQL; the gateway adds their latency itself.
POSTGRES_DEPARTMENTS = ("public_security", "tax", "market")
GATEWAY_VARIANTS = ("gateway", "gateway-strawberry", "gateway-quiet", "gateway-nocache", "naive")
VARIANTS = ("bare", "policy", "policy+audit", *GATEWAY_VARIANTS, "floor")
BULK_KEYS = 1000


def bare_app() -> Starlette:
    settings = load_settings(CONFIG)
    catalog = build_catalog(settings.sources)
    catalog.require(graph_of().entities)

    class Bare(GraphQL[Context, None]):
        async def get_context(self, request: Any, response: Any) -> Context:
            return Context(loaders=Loaders(catalog), max_list_keys=settings.limits.list_keys)

    # The graph as plain Strawberry with the gateway's parse, validation and text steps and
    # direct resolvers: everything but the field policy, audit and observability.
    schema = strawberry.Schema(query=graph_of().query, config=GRAPH_CONFIG, extensions=CORE)
    install_direct_resolvers(schema)
    app = Starlette(routes=[Route("/graphql", Bare(schema, graphql_ide=None))])
    app.state.catalog = catalog
    return app


def bench_settings(variant: str, latency: float) -> Settings:
    """The gateway's own settings, changed only as the variant says."""
    settings = load_settings(CONFIG)
    settings = dataclasses.replace(
        settings,
        rate_limit=RateSettings(rate=1e9, burst=10**9),
        limits=dataclasses.replace(
            settings.limits,
            list_keys=max(settings.limits.list_keys, BULK_KEYS),
            cost=max(settings.limits.cost, 200 * BULK_KEYS),
        ),
        sources=tuple(
            dataclasses.replace(s, inject_latency=latency) if s.name in POSTGRES_DEPARTMENTS else s
            for s in settings.sources
        ),
    )
    if variant == "gateway-strawberry":
        settings = dataclasses.replace(
            settings, gateway=dataclasses.replace(settings.gateway, executor="strawberry")
        )
    if variant == "gateway-quiet":  # target (g): what audit, metrics and request logs cost
        settings = dataclasses.replace(
            settings,
            audit=dataclasses.replace(settings.audit, mode="off"),
            metrics=dataclasses.replace(settings.metrics, enabled=False),
            logging=dataclasses.replace(settings.logging, requests=False),
        )
    if variant in ("gateway-nocache", "naive"):
        settings = dataclasses.replace(settings, cache=CacheSpec(backend="off"))
    if variant == "naive":
        settings = dataclasses.replace(
            settings, gateway=dataclasses.replace(settings.gateway, batching=False)
        )
    return settings


def app_for(variant: str, latency: float = 0.0, workload: Path | None = None) -> Starlette:
    if variant == "bare":
        return bare_app()
    if variant == "floor":
        from .floor import floor_app

        if workload is None:
            raise SystemExit("the floor variant needs --workload")
        return floor_app(os.environ, workload)
    if variant in GATEWAY_VARIANTS:
        return create_app(bench_settings(variant, latency), serving=True)
    settings = dataclasses.replace(load_settings(CONFIG), rate_limit=RateSettings(rate=1e9, burst=10**9))
    if variant == "policy":
        settings = dataclasses.replace(settings, audit=dataclasses.replace(settings.audit, mode="off"))
    return create_app(settings, serving=True)


def stats_of(app: Starlette) -> Callable[[], dict[str, Any]]:
    """What /__bench/stats answers: backend calls and keys, cache counters, memory."""

    def stats() -> dict[str, Any]:
        catalog: Catalog | None = getattr(app.state, "catalog", None)
        body: dict[str, Any] = {"rss_max_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}
        if catalog is None:
            return body
        calls: dict[str, int] = {}
        for (source, _entity, _outcome), n in catalog.stats.calls.items():
            calls[source] = calls.get(source, 0) + n
        body["calls"] = catalog.stats.total()
        body["calls_by_source"] = calls
        body["backend_keys"] = sum(catalog.stats.keys.values())
        cache = getattr(catalog, "cache", None)
        if cache is not None and hasattr(cache, "hits"):
            body["cache"] = {"hits": cache.hits, "misses": cache.misses}
        return body

    return stats


class BenchRoutes:
    """`GET /__bench/stats` in front of the app; everything else goes to the app."""

    def __init__(self, app: Starlette) -> None:
        self.app = app
        self.stats = stats_of(app)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/__bench/stats":
            await JSONResponse(self.stats())(scope, receive, send)
            return
        inner: ASGIApp = self.app
        await inner(scope, receive, send)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("variant", choices=VARIANTS)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added to PostgreSQL department calls")
    parser.add_argument("--workload", type=Path, help="the floor's workload (JSON), written by bench.run")
    args = parser.parse_args()
    app = app_for(args.variant, args.latency_ms / 1000, args.workload)
    uvicorn.run(BenchRoutes(app), host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
