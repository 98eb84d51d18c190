"""Automatic persisted queries: registered by hash on a retry with the text, kept in the
record cache's backend (memory, or Redis shared by every process), bounded."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from gateway.config.automatic import Automatic
from gateway.config.settings import RateSettings
from gateway.execution.documents import document_id
from gateway.execution.persisted import MemoryQueries, RedisQueries
from sources.base import CacheSpec
from sources.stats import CallStats
from tests.resolvers.city import CHILD

from .support import DEVELOPER, gateway, headers

QUERY = "query Name($id: ResidentId!) { person(id: $id) { name } }"
DIGEST = document_id(QUERY)
TALENT = headers("talent-policy", "talent_subsidy")
# Held by the developer, not granted to the talent app (its purpose needs no household).
HOUSEHOLD = "query Home($id: ResidentId!) { person(id: $id) { household { number } } }"


def apq(digest: str = DIGEST, query: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "variables": {"id": CHILD},
        "extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}},
    }
    if query is not None:
        body["query"] = query
    return body


def codes(response: httpx.Response) -> list[str]:
    return [e["extensions"]["code"] for e in response.json().get("errors", [])]


async def test_a_hash_is_registered_by_the_retry_with_its_text() -> None:
    stats = CallStats()
    async with gateway(stats) as client:
        first = await client.post("/graphql", json=apq(), headers=DEVELOPER)
        asked_before = stats.total()
        retry = await client.post("/graphql", json=apq(query=QUERY), headers=DEVELOPER)
        again = await client.post("/graphql", json=apq(), headers=DEVELOPER)
        by_get = await client.get(
            "/graphql",
            params={
                "variables": f'{{"id": "{CHILD}"}}',
                "extensions": f'{{"persistedQuery": {{"version": 1, "sha256Hash": "{DIGEST}"}}}}',
            },
            headers=DEVELOPER,
        )
    assert codes(first) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert first.json()["errors"][0]["message"] == "PersistedQueryNotFound"  # what Apollo looks for
    assert "data" not in first.json()
    assert asked_before == 0
    assert (
        retry.json()["data"]
        == again.json()["data"]
        == by_get.json()["data"]
        == {"person": {"name": "林小雨"}}
    )


async def test_a_text_that_is_not_its_hash_is_refused_and_not_kept() -> None:
    other = document_id("{ __typename }")
    async with gateway() as client:
        mismatch = await client.post("/graphql", json=apq(other, QUERY), headers=DEVELOPER)
        after = await client.post("/graphql", json=apq(other), headers=DEVELOPER)
    assert codes(mismatch) == ["BAD_USER_INPUT"]
    assert codes(after) == ["PERSISTED_QUERY_NOT_FOUND"]


@pytest.mark.parametrize(
    "query",
    [
        "query { person { name } }",  # invalid: no id
        "query { person(id: ",  # unparsable
        "{ " + " ".join(f"a{i}: __typename" for i in range(40)) + " }",  # over the aliases limit
    ],
)
async def test_only_texts_that_would_run_are_kept(query: str) -> None:
    digest = document_id(query)
    async with gateway() as client:
        refused = await client.post("/graphql", json=apq(digest, query), headers=DEVELOPER)
        after = await client.post("/graphql", json=apq(digest), headers=DEVELOPER)
    assert codes(refused)[0] in {"GRAPHQL_VALIDATION_FAILED", "GRAPHQL_PARSE_FAILED", "OPERATION_LIMIT"}
    assert codes(after) == ["PERSISTED_QUERY_NOT_FOUND"]


@pytest.mark.parametrize(
    "persisted",
    [
        "abc",
        {"version": 2, "sha256Hash": DIGEST},
        {"version": 1, "sha256Hash": "not-a-hash"},
        {"version": 1},
    ],
)
async def test_a_malformed_persisted_query_extension_is_bad_input(persisted: object) -> None:
    async with gateway() as client:
        response = await client.post(
            "/graphql", json={"extensions": {"persistedQuery": persisted}}, headers=DEVELOPER
        )
    assert codes(response) == ["BAD_USER_INPUT"]


async def test_a_client_with_grants_runs_a_registered_hash_under_its_own_grants() -> None:
    # The text registered by the developer is run for the talent app with the talent
    # app's grants: a hash carries a text, never another client's rights.
    digest = document_id(HOUSEHOLD)
    async with gateway() as client:
        mine = await client.post("/graphql", json=apq(digest, HOUSEHOLD), headers=DEVELOPER)
        talent = await client.post("/graphql", json=apq(digest), headers=TALENT)
    assert mine.json()["data"]["person"]["household"]["number"]
    assert talent.json()["data"] == {"person": {"household": None}}
    assert codes(talent) == ["FORBIDDEN"]


async def test_without_automatic_queries_an_unknown_hash_is_not_supported() -> None:
    async with gateway(automatic=Automatic(enabled=False)) as client:
        alone = await client.post("/graphql", json=apq(), headers=DEVELOPER)
        retry = await client.post("/graphql", json=apq(query=QUERY), headers=DEVELOPER)
        plain = await client.post(
            "/graphql", json={"query": QUERY, "variables": {"id": CHILD}}, headers=DEVELOPER
        )
    assert codes(alone) == codes(retry) == ["PERSISTED_QUERY_NOT_SUPPORTED"]
    assert plain.json()["data"] == {"person": {"name": "林小雨"}}


async def test_the_memory_store_is_bounded_in_entries_and_time() -> None:
    now = [0.0]
    store = MemoryQueries(Automatic(max_entries=2, ttl=10), clock=lambda: now[0])
    await store.put("a", "A")
    await store.put("b", "B")
    assert await store.get("a") == "A"  # used: "b" is now the least recent
    await store.put("c", "C")
    assert (await store.get("b"), len(store)) == (None, 2)
    now[0] = 11.0
    assert await store.get("a") is None
    assert await store.get("c") is None


async def test_processes_share_registrations_through_redis(redis_url: str) -> None:
    namespace = f"govgraph-test-{uuid.uuid4().hex[:8]}"
    shared = {
        "cache": CacheSpec(backend="redis", redis_url=redis_url),
        "rate_limit": RateSettings(namespace=namespace),
    }
    async with gateway(**shared) as one, gateway(**shared) as two:
        registered = await one.post("/graphql", json=apq(query=QUERY), headers=DEVELOPER)
        found = await two.post("/graphql", json=apq(), headers=DEVELOPER)
    assert registered.json()["data"] == found.json()["data"] == {"person": {"name": "林小雨"}}
    redis = Redis.from_url(redis_url)
    try:
        assert await redis.get(f"{namespace}:apq:{DIGEST}") == QUERY.encode()
        assert await redis.ttl(f"{namespace}:apq:{DIGEST}") > 0
        await redis.delete(f"{namespace}:apq:{DIGEST}", f"{namespace}:apq:index")
    finally:
        await redis.aclose()


async def test_the_redis_store_drops_the_oldest_beyond_its_bound(redis_url: str) -> None:
    prefix = f"govgraph-test-{uuid.uuid4().hex[:8]}:apq:"
    clock = iter(range(1_000, 2_000))
    store = RedisQueries(
        redis_url, Automatic(max_entries=3, ttl=60), prefix=prefix, clock=lambda: next(clock)
    )
    try:
        for name in "abcde":
            await store.put(name, name.upper())
        kept = [await store.get(name) for name in "abcde"]
        redis = Redis.from_url(redis_url)
        try:
            assert await redis.zcard(prefix + "index") == 3
            assert await redis.exists(prefix + "a") == 0
            await redis.delete(*(prefix + n for n in "abcde"), prefix + "index")
        finally:
            await redis.aclose()
    finally:
        await store.aclose()
    assert kept == [None, None, "C", "D", "E"]


async def test_when_redis_is_down_each_process_keeps_its_own() -> None:
    store = RedisQueries("redis://127.0.0.1:1/0", Automatic(), prefix="govgraph-test:apq:")
    try:
        await store.put(DIGEST, QUERY)
        assert await store.get(DIGEST) == QUERY  # from the process's fallback
    finally:
        await store.aclose()
