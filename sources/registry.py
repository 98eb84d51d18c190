"""Adapters by `kind`, and the catalogue that says which source serves each entity.

Core code never branches on kind: a new kind is one line in KINDS. Every adapter is
wrapped, outermost first, as

    CachedSource(SingleFlight(ResilientSource(CountedSource(DelayedSource(adapter)))))

so call stats count real backend attempts only (each retry is a call; keys answered by
the cache or by another request's call in flight are not), the breaker judges calls
after their retries, and injected latency counts against timeouts like a slow
department. `CachedSource` is left out when there is no cache, `DelayedSource` when
there is no latency to inject. The catalogue owns the one cache all sources share.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from .base import CacheSpec, EntitySpec, Source, SourceSpec
from .cache import CachedSource, RecordCache, open_cache
from .delay import delayed
from .errors import SourceConfigError
from .resilience import BreakerState, LastError, ResilientSource
from .singleflight import SingleFlight
from .stats import CallStats, CountedSource

__all__ = ["KINDS", "Catalog", "Route", "SourceHealth", "build_catalog"]

KINDS: dict[str, str] = {
    "postgres": "sources.postgres:PostgresSource",
    "http": "sources.http:HttpSource",
    "memory": "sources.memory:MemorySource",
}


def adapter_for(spec: SourceSpec) -> Callable[[SourceSpec], Source]:
    target = KINDS.get(spec.kind)
    if target is None:
        raise SourceConfigError(
            f"sources.{spec.name}.kind", f"unknown kind {spec.kind!r} (known: {', '.join(sorted(KINDS))})"
        )
    module, _, attr = target.partition(":")
    factory: Callable[[SourceSpec], Source] = getattr(importlib.import_module(module), attr)
    return factory


@dataclass(frozen=True)
class Route:
    """Where an entity lives."""

    source: Source
    entity: EntitySpec
    max_batch_size: int


@dataclass(frozen=True)
class SourceHealth:
    """A source as this process sees it: its breaker and its last failed call."""

    state: BreakerState
    last_error: LastError | None


def _resilient(source: Source) -> ResilientSource | None:
    """The resilience layer under a source's wrappers (each keeps its `inner`)."""
    layer: object = source
    while layer is not None:
        if isinstance(layer, ResilientSource):
            return layer
        layer = getattr(layer, "inner", None)
    return None


class Catalog:
    """Every configured source, by name, each entity's route, and the shared record cache."""

    def __init__(
        self,
        sources: Mapping[str, Source],
        routes: Mapping[str, Route],
        stats: CallStats,
        cache: RecordCache | None = None,
    ) -> None:
        self.sources = sources
        self.routes = routes
        self.stats = stats
        self.cache = cache

    def require(self, entities: Iterable[str]) -> None:
        """Fail at start-up, naming the entity, when the graph needs one no source serves."""
        missing = sorted(set(entities) - set(self.routes))
        if missing:
            raise SourceConfigError("sources", f"no source serves the entities: {', '.join(missing)}")

    def health(self) -> dict[str, BreakerState]:
        """Each source's circuit breaker state, for health endpoints and metrics."""
        layers = {name: _resilient(s) for name, s in self.sources.items()}
        return {name: layer.state for name, layer in layers.items() if layer is not None}

    def conditions(self) -> dict[str, SourceHealth]:
        """Each source's breaker state and last failure, for /readyz."""
        layers = {name: _resilient(s) for name, s in self.sources.items()}
        return {
            name: SourceHealth(layer.state, layer.last_error)
            for name, layer in layers.items()
            if layer is not None
        }

    async def aclose(self) -> None:
        try:
            for source in self.sources.values():
                await source.aclose()
        finally:
            if self.cache is not None:
                await self.cache.aclose()


def build_catalog(
    specs: Iterable[SourceSpec],
    stats: CallStats | None = None,
    instances: Mapping[str, Source] | None = None,
    *,
    cache: CacheSpec | None = None,
) -> Catalog:
    """Build adapters from specs. `instances` supplies ready-made sources by name (tests).

    `cache` is the `[cache]` settings; without it nothing is cached, so that a catalogue
    built in code (tests, config checks) asks its departments every time, as its caller
    expects. The gateway passes its settings, whose default is the memory cache."""
    stats = stats or CallStats()
    record_cache = open_cache(cache) if cache is not None else None
    sources: dict[str, Source] = {}
    routes: dict[str, Route] = {}
    for spec in specs:
        made = (instances or {}).get(spec.name) or adapter_for(spec)(spec)
        counted = CountedSource(delayed(made, spec.inject_latency), stats)
        source: Source = SingleFlight(ResilientSource(counted, spec.timeout, spec.resilience, stats=stats))
        if record_cache is not None:
            source = CachedSource(source, spec, record_cache, stats)
        sources[spec.name] = source
        for entity in spec.entities.values():
            if entity.name in routes:
                other = routes[entity.name].source.name
                raise SourceConfigError(
                    f"sources.{spec.name}.entities.{entity.name}", f"already served by source {other!r}"
                )
            routes[entity.name] = Route(source, entity, spec.max_batch_size)
    return Catalog(sources, routes, stats, record_cache)
