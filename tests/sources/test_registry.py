"""Adapters chosen by kind, entity routes, and call counting."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from sources.base import CacheSpec, EntitySpec, SourceSpec
from sources.cache import CachedSource
from sources.delay import DelayedSource
from sources.errors import SourceConfigError
from sources.memory import MemorySource
from sources.recordstores import MemoryStore
from sources.registry import KINDS, build_catalog
from sources.resilience import ResilientSource
from sources.singleflight import SingleFlight
from sources.stats import CallStats, CountedSource


def memory(name: str, *entities: str, data: dict[str, dict[str, object]] | None = None) -> SourceSpec:
    return SourceSpec(
        name, "memory", {e: EntitySpec(e, "id") for e in entities}, {"data": data or {}}, max_batch_size=7
    )


def test_unknown_kind_names_the_source_and_known_kinds() -> None:
    spec = SourceSpec("tax", "oracle", {"e": EntitySpec("e", "id")})
    with pytest.raises(
        SourceConfigError, match=r"sources\.tax\.kind: unknown kind 'oracle' \(known: http, memory"
    ):
        build_catalog([spec])


def test_every_kind_is_importable() -> None:
    assert set(KINDS) == {"postgres", "http", "memory"}


def test_an_entity_is_served_by_one_source_only() -> None:
    with pytest.raises(
        SourceConfigError, match=r"sources\.b\.entities\.person: already served by source 'a'"
    ):
        build_catalog([memory("a", "person"), memory("b", "person")])


def test_require_names_missing_entities() -> None:
    catalog = build_catalog([memory("a", "person")])
    with pytest.raises(SourceConfigError, match="no source serves the entities: household, school"):
        catalog.require({"person", "school", "household"})


async def test_calls_are_counted_per_source_entity_and_outcome() -> None:
    stats = CallStats()
    catalog = build_catalog([memory("a", "person", data={"person": {"1": {"id": "1"}}})], stats)
    route = catalog.routes["person"]
    assert route.max_batch_size == 7
    assert await route.source.fetch_many("person", ["1", "2"]) == [{"id": "1"}, None]
    await route.source.fetch_many("person", ["3"])
    assert stats.calls["a", "person", "ok"] == 2
    assert stats.keys["a", "person"] == 3
    assert [c.batch_size for c in stats.recent] == [2, 1]
    assert stats.total() == 2


async def test_memory_source_many_entities_answer_lists() -> None:
    spec = SourceSpec("m", "memory", {"visits": EntitySpec("visits", "id", many=True)})
    src = MemorySource(spec, data={"visits": {"a": [{"id": "a", "n": 1}]}})
    result = await src.fetch_many("visits", ["a", "b"])
    assert result == [[{"id": "a", "n": 1}], []]


def layers(source: object) -> list[type]:
    chain = []
    while source is not None:
        chain.append(type(source))
        source = getattr(source, "inner", None) or getattr(source, "_inner", None)
    return chain


async def test_wrapping_order_cache_singleflight_resilience_counting_delay_adapter() -> None:
    slow = dataclasses.replace(memory("a", "person"), inject_latency=0.001)
    catalog = build_catalog([slow, memory("b", "school")], cache=CacheSpec())
    try:
        assert layers(catalog.sources["a"]) == [
            CachedSource,
            SingleFlight,
            ResilientSource,
            CountedSource,
            DelayedSource,
            MemorySource,
        ]
        assert DelayedSource not in layers(catalog.sources["b"])  # no latency to inject
        a, b = catalog.sources["a"], catalog.sources["b"]
        assert isinstance(a, CachedSource)
        assert isinstance(b, CachedSource)
        assert a.cache is b.cache is catalog.cache  # one cache, owned by the catalogue
        assert catalog.health() == {"a": "closed", "b": "closed"}  # found under the wrappers
    finally:
        await catalog.aclose()


async def test_without_a_cache_spec_nothing_is_cached() -> None:
    for catalog in (
        build_catalog([memory("a", "person")]),
        build_catalog([memory("a", "person")], cache=CacheSpec(backend="off")),
    ):
        assert catalog.cache is None
        assert layers(catalog.sources["a"])[0] is SingleFlight
        await catalog.aclose()


async def test_cached_and_coalesced_keys_are_not_counted() -> None:
    stats = CallStats()
    data: dict[str, dict[str, object]] = {"person": {"1": {"id": "1"}, "2": {"id": "2"}}}
    catalog = build_catalog([memory("a", "person", data=data)], stats, cache=CacheSpec())
    source = catalog.routes["person"].source
    try:
        # Ten concurrent requests for the same person: one backend call (single-flight).
        together = await asyncio.gather(*(source.fetch_many("person", ["1"]) for _ in range(10)))
        assert together == [[{"id": "1"}]] * 10
        assert stats.total() == 1
        # Later ones are answered by the cache; only the miss is asked for.
        assert await source.fetch_many("person", ["1", "2"]) == [{"id": "1"}, {"id": "2"}]
        assert [c.batch_size for c in stats.recent] == [1, 1]
        assert catalog.cache is not None
        assert catalog.cache.hits == 1
    finally:
        await catalog.aclose()
    assert isinstance(catalog.cache.store, MemoryStore)
    assert len(catalog.cache.store) == 0
