"""Adapters by `kind`, and the catalogue that says which source serves each entity.

Core code never branches on kind: a new kind is one line in KINDS. Every adapter is
wrapped as `ResilientSource(CountedSource(adapter))`: call stats count real backend
attempts (each retry is a call), and the breaker judges calls after their retries.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from .base import EntitySpec, Source, SourceSpec
from .errors import SourceConfigError
from .resilience import BreakerState, ResilientSource
from .stats import CallStats, CountedSource

__all__ = ["KINDS", "Catalog", "Route", "build_catalog"]

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


class Catalog:
    """Every configured source, by name, and each entity's route."""

    def __init__(self, sources: Mapping[str, Source], routes: Mapping[str, Route], stats: CallStats) -> None:
        self.sources = sources
        self.routes = routes
        self.stats = stats

    def require(self, entities: Iterable[str]) -> None:
        """Fail at start-up, naming the entity, when the graph needs one no source serves."""
        missing = sorted(set(entities) - set(self.routes))
        if missing:
            raise SourceConfigError("sources", f"no source serves the entities: {', '.join(missing)}")

    def health(self) -> dict[str, BreakerState]:
        """Each source's circuit breaker state, for health endpoints and metrics."""
        return {name: s.state for name, s in self.sources.items() if isinstance(s, ResilientSource)}

    async def aclose(self) -> None:
        for source in self.sources.values():
            await source.aclose()


def build_catalog(
    specs: Iterable[SourceSpec],
    stats: CallStats | None = None,
    instances: Mapping[str, Source] | None = None,
) -> Catalog:
    """Build adapters from specs. `instances` supplies ready-made sources by name (tests)."""
    stats = stats or CallStats()
    sources: dict[str, Source] = {}
    routes: dict[str, Route] = {}
    for spec in specs:
        made = (instances or {}).get(spec.name) or adapter_for(spec)(spec)
        source = ResilientSource(CountedSource(made, stats), spec.timeout, spec.resilience)
        sources[spec.name] = source
        for entity in spec.entities.values():
            if entity.name in routes:
                other = routes[entity.name].source.name
                raise SourceConfigError(
                    f"sources.{spec.name}.entities.{entity.name}", f"already served by source {other!r}"
                )
            routes[entity.name] = Route(source, entity, spec.max_batch_size)
    return Catalog(sources, routes, stats)
