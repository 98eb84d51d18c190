"""The read-through record cache in front of a real MemorySource: its behaviour on any
store, checked here on the memory store (on Redis: test_cache_redis.py)."""

from __future__ import annotations

import copy
import datetime as dt
import gc
import tracemalloc
from collections.abc import Sequence
from typing import Any

import pytest

from resolvers.loaders import Loaders
from sources.base import CacheSpec, EntitySpec, Result, SourceSpec
from sources.cache import CachedSource, RecordCache, entity_ttls, open_cache, served_from_cache
from sources.errors import SourceConfigError, SourceUnavailable
from sources.memory import MemorySource
from sources.recordstores import MISS, MemoryStore, RedisStore
from sources.registry import build_catalog
from sources.stats import CallStats, CountedSource

ENTITIES = {
    "person": EntitySpec("person", "id"),
    "visits": EntitySpec("visits", "id", many=True),
    "income": EntitySpec("income", "id", cache=False),
    "brief": EntitySpec("brief", "id", cache_ttl=5.0),
}
DATA: dict[str, dict[str, Result]] = {
    "person": {f"p{i}": {"id": f"p{i}", "name": f"n{i}", "tags": ["a"]} for i in range(1, 6)},
    "visits": {"p1": [{"id": "p1", "n": 1}, {"id": "p1", "n": 2}]},
    "income": {"p1": {"id": "p1", "amount": 1.5}},
    "brief": {"p1": {"id": "p1"}},
}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Dept:
    """A department (MemorySource) behind a CachedSource, with its real backend calls counted."""

    def __init__(
        self,
        cache: RecordCache,
        *,
        name: str = "dept",
        cache_ttl: float | None = None,
        stats: CallStats | None = None,
    ) -> None:
        self.spec = SourceSpec(name, "memory", ENTITIES, cache_ttl=cache_ttl)
        self.backend = MemorySource(self.spec, data=copy.deepcopy(DATA))
        self.stats = stats or CallStats()
        self.source = CachedSource(CountedSource(self.backend, self.stats), self.spec, cache)

    async def fetch(self, entity: str, keys: Sequence[str]) -> list[Result]:
        return await self.source.fetch_many(entity, keys)

    def asked(self) -> list[int]:
        """Batch sizes of the backend calls so far."""
        return [c.batch_size for c in self.stats.recent]


def memory_cache(clock: Clock, max_entries: int = 100, **spec: Any) -> RecordCache:
    return RecordCache(CacheSpec(max_entries=max_entries, **spec), MemoryStore(max_entries, clock=clock))


@pytest.fixture
def clock() -> Clock:
    return Clock()


# ---------------------------------------------------------------- behaviour on any store


async def check_hit_partial_and_negative(cache: RecordCache) -> None:
    dept = Dept(cache)
    first = await dept.fetch("person", ["p1", "p2", "nobody"])
    assert first == [DATA["person"]["p1"], DATA["person"]["p2"], None]
    assert not served_from_cache()
    assert await dept.fetch("person", ["p1", "p2", "nobody"]) == first
    assert served_from_cache()
    assert dept.asked() == [3]  # the second answer, "nobody" included, came from the cache

    # Partial hit: one call for the misses only, each asked once, answers in key order.
    third = await dept.fetch("person", ["p3", "p1", "p4", "p3"])
    assert third == [DATA["person"][k] for k in ("p3", "p1", "p4", "p3")]
    assert not served_from_cache()
    assert dept.asked() == [3, 2]
    assert [c.entity for c in dept.stats.recent] == ["person", "person"]

    # One-to-many: a list, and "none" ([]) is cached as such.
    assert await dept.fetch("visits", ["p1", "p9"]) == [DATA["visits"]["p1"], []]
    assert await dept.fetch("visits", ["p9", "p1"]) == [[], DATA["visits"]["p1"]]
    assert dept.asked() == [3, 2, 2]


async def check_mutation_does_not_reach_the_cache(cache: RecordCache) -> None:
    dept = Dept(cache)
    original = DATA["person"]["p1"]
    (missed,) = await dept.fetch("person", ["p1"])
    assert isinstance(missed, dict)
    missed["name"] = "changed by a caller"  # the department's own object, stored before this
    missed["tags"].append("x")
    (hit,) = await dept.fetch("person", ["p1"])
    assert hit == original
    assert isinstance(hit, dict)
    hit["tags"].append("y")
    (again,) = await dept.fetch("person", ["p1"])
    assert again == original
    assert again is not hit
    assert dept.asked() == [1]


async def check_bypass(cache: RecordCache) -> None:
    dept = Dept(cache)
    for _ in range(2):
        assert await dept.fetch("income", ["p1"]) == [DATA["income"]["p1"]]
        assert not served_from_cache()
    assert dept.asked() == [1, 1]
    off = Dept(cache, name="off", cache_ttl=0)
    for _ in range(2):
        assert await off.fetch("person", ["p1"]) == [DATA["person"]["p1"]]
        assert not served_from_cache()
    assert off.asked() == [1, 1]


# ---------------------------------------------------------------- memory


async def test_memory_hits_partial_hits_and_negative_answers(clock: Clock) -> None:
    await check_hit_partial_and_negative(memory_cache(clock))


async def test_memory_hands_out_copies(clock: Clock) -> None:
    await check_mutation_does_not_reach_the_cache(memory_cache(clock))


async def test_memory_entities_that_must_not_be_cached_are_not(clock: Clock) -> None:
    await check_bypass(memory_cache(clock))


async def test_records_and_absences_expire_after_their_ttls(clock: Clock) -> None:
    cache = memory_cache(clock, ttl=60.0, negative_ttl=30.0)
    dept = Dept(cache)
    assert await dept.fetch("person", ["p1", "p7"]) == [DATA["person"]["p1"], None]
    dept.backend.put("person", "p7", {"id": "p7"})
    clock.now += 29.9
    assert await dept.fetch("person", ["p1", "p7"]) == [DATA["person"]["p1"], None]
    assert dept.asked() == [2]
    clock.now += 0.2  # the absence expired, the record not yet
    assert await dept.fetch("person", ["p1", "p7"]) == [DATA["person"]["p1"], {"id": "p7"}]
    assert dept.asked() == [2, 1]
    clock.now += 30.0  # now the record too
    await dept.fetch("person", ["p1"])
    assert dept.asked() == [2, 1, 1]
    # The entity's own TTL (5 s) wins over the cache's.
    await dept.fetch("brief", ["p1"])
    clock.now += 5.0
    await dept.fetch("brief", ["p1"])
    assert dept.asked() == [2, 1, 1, 1, 1]


def test_ttls_entity_over_source_over_cache_and_zero_is_off() -> None:
    cache = CacheSpec(ttl=60.0, negative_ttl=30.0)
    plain, quick = EntitySpec("e", "id"), EntitySpec("e", "id", cache_ttl=10.0)
    source = SourceSpec("s", "memory", {})
    assert entity_ttls(cache, source, plain) == (60.0, 30.0)
    assert entity_ttls(cache, source, quick) == (10.0, 10.0)  # absence never outlives presence
    assert entity_ttls(cache, SourceSpec("s", "memory", {}, cache_ttl=120.0), plain) == (120.0, 30.0)
    assert entity_ttls(cache, SourceSpec("s", "memory", {}, cache_ttl=120.0), quick) == (10.0, 10.0)
    assert entity_ttls(cache, SourceSpec("s", "memory", {}, cache_ttl=0), quick) is None
    assert entity_ttls(cache, source, EntitySpec("e", "id", cache_ttl=0)) is None
    assert entity_ttls(cache, source, EntitySpec("e", "id", cache=False)) is None


async def test_memory_is_bounded_least_recently_used_first(clock: Clock) -> None:
    cache = memory_cache(clock, max_entries=2)
    dept = Dept(cache)
    await dept.fetch("person", ["p1"])
    await dept.fetch("person", ["p2"])
    await dept.fetch("person", ["p1"])  # a hit: p1 is now the most recently used
    await dept.fetch("person", ["p3"])  # evicts p2
    assert isinstance(cache.store, MemoryStore)
    assert len(cache.store) == 2
    assert dept.asked() == [1, 1, 1]
    await dept.fetch("person", ["p1"])
    assert dept.asked() == [1, 1, 1]
    await dept.fetch("person", ["p2"])
    assert dept.asked() == [1, 1, 1, 1]


async def test_keys_are_namespaced_by_version_source_and_entity(clock: Clock) -> None:
    store = MemoryStore(100, clock=clock)
    v1 = Dept(RecordCache(CacheSpec(version="1"), store))
    await v1.fetch("person", ["p1"])
    assert await store.get_many(["govgraph:v1:dept:person:p1"]) == [DATA["person"]["p1"]]
    await v1.fetch("person", ["p1"])
    assert v1.asked() == [1]
    v2 = Dept(RecordCache(CacheSpec(version="2"), store))  # records changed shape: bump
    await v2.fetch("person", ["p1"])
    assert v2.asked() == [1]
    other = Dept(RecordCache(CacheSpec(version="1"), store), name="other")
    await other.fetch("person", ["p1"])
    assert other.asked() == [1]


async def test_the_memory_store_is_bounded_by_bytes_least_recently_used_first(clock: Clock) -> None:
    big, small = "x" * 998, "y" * 8  # 1,000 and 10 bytes as stored (JSON)
    size = len("k0") + 1000 + MemoryStore.OVERHEAD
    store = MemoryStore(100, max_bytes=3 * size, clock=clock)
    await store.set_many([(f"k{i}", big) for i in range(3)], ttl=60)
    assert len(store) == 3
    assert store.bytes == 3 * size
    await store.get_many(["k0"])  # k0 is now the most recently used
    await store.set_many([("k3", big)], ttl=60)
    assert await store.get_many(["k0", "k1", "k2", "k3"]) == [big, MISS, big, big]
    await store.set_many([("k0", small)], ttl=60)  # a replaced value is counted once
    assert store.bytes == 2 * size + len("k0") + 10 + MemoryStore.OVERHEAD
    await store.set_many([("big", "z" * (10 * size))], ttl=60)  # larger than the bound: not kept
    assert await store.get_many(["big", "k0", "k2", "k3"]) == [MISS, small, big, big]


async def test_the_memory_store_counts_the_memory_its_entries_take(clock: Clock) -> None:
    """`bytes` is what the entries take in process memory (tracemalloc), so `max_mb` bounds
    the process: orjson's output alone holds a buffer of at least 4 KiB, 10 times its
    length for a 3 KB contribution history, and the store keeps an exact copy instead."""
    records = [
        {
            "id": f"3502032014{i:08d}",
            "name": "李浩",
            "contributions": [{"month": f"2024-{m:02d}", "base": 5000 + m} for m in range(i % 97)],
        }
        for i in range(2000)
    ]
    store = MemoryStore(10_000, clock=clock)
    gc.collect()
    tracemalloc.start()
    try:
        for start in range(0, len(records), 50):
            batch = records[start : start + 50]
            await store.set_many([(f"govgraph:v1:si:insured_person:{r['id']}", r) for r in batch], ttl=60)
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(store) == len(records)
    assert 0.85 * held <= store.bytes <= 1.15 * held, (store.bytes, held)


async def test_a_record_that_is_not_plain_json_is_answered_but_not_cached(clock: Clock) -> None:
    cache = memory_cache(clock)
    dept = Dept(cache)
    odd = {"id": "p6", "seen": dt.datetime(2026, 1, 2, 3, 4)}  # JSON would make it a string
    dept.backend.put("person", "p6", odd)
    for _ in range(2):
        assert await dept.fetch("person", ["p1", "p6"]) == [DATA["person"]["p1"], odd]
    assert dept.asked() == [2, 1]  # p1 came from the cache the second time, p6 never does


async def test_a_failing_department_is_not_cached_and_fails(clock: Clock) -> None:
    class Down(MemorySource):
        async def fetch_many(self, entity: str, keys: Sequence[str]) -> list[Result]:
            raise SourceUnavailable(self.name, entity, "down")

    spec = SourceSpec("dept", "memory", ENTITIES)
    cache = memory_cache(clock)
    source = CachedSource(Down(spec), spec, cache)
    with pytest.raises(SourceUnavailable):
        await source.fetch_many("person", ["p1"])
    assert isinstance(cache.store, MemoryStore)
    assert len(cache.store) == 0


def test_open_cache_follows_the_backend() -> None:
    assert open_cache(CacheSpec(backend="off")) is None
    memory = open_cache(CacheSpec(max_entries=7))
    assert memory is not None
    assert isinstance(memory.store, MemoryStore)
    assert memory.store.max_entries == 7
    redis = open_cache(CacheSpec(backend="redis", redis_url="redis://127.0.0.1:1/0"))
    assert redis is not None
    assert isinstance(redis.store, RedisStore)
    for bad in ("http://127.0.0.1:6379/0", "redis://127.0.0.1:6379/zero", "redis://127.0.0.1:port/0"):
        with pytest.raises(SourceConfigError, match=r"cache\.redis_url"):
            open_cache(CacheSpec(backend="redis", redis_url=bad))


async def test_the_loader_reports_a_source_answered_from_cache_as_cached() -> None:
    spec = SourceSpec("dept", "memory", ENTITIES, {"data": DATA})
    stats = CallStats()
    catalog = build_catalog([spec], stats, cache=CacheSpec())
    try:
        first = Loaders(catalog)
        assert await first.one("person", "p1") == DATA["person"]["p1"]
        assert first.consulted() == {"dept": "ok"}
        second = Loaders(catalog)
        assert await second.one("person", "p1") == DATA["person"]["p1"]
        assert second.consulted() == {"dept": "cached"}
        await second.one("person", "p2")  # the department asked in the same request: "ok"
        assert second.consulted() == {"dept": "ok"}
        third = Loaders(catalog)
        await third.one("person", "p1")
        await third.many("income", "p1")  # never cached
        assert third.consulted() == {"dept": "ok"}
        assert stats.total() == 3
    finally:
        await catalog.aclose()
