"""Adapters chosen by kind, entity routes, and call counting."""

from __future__ import annotations

import pytest

from sources.base import EntitySpec, SourceSpec
from sources.errors import SourceConfigError
from sources.memory import MemorySource
from sources.registry import KINDS, build_catalog
from sources.stats import CallStats


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
