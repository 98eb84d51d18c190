"""A department refusing one request's keys is that request's error only: never retried,
never counted by the circuit breaker or readiness, never cached. Against a real
PostgreSQL server and real aiohttp departments on loopback, through the same wrappers
the gateway uses."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer

from sources.base import CacheSpec, EntitySpec, Resilience, Result, SourceSpec
from sources.errors import SourceError
from sources.http import HttpSource
from sources.postgres import PostgresSource
from sources.registry import Catalog, build_catalog
from sources.stats import CallStats

REQUESTS = 1000
WAVE = 50  # requests in flight at once
RESILIENCE = Resilience(retries=2, retry_backoff=0.001, breaker_failures=5, breaker_cooldown=10.0)
THINGS = {"a": {"code": "a", "label": "Alpha"}, "b": {"code": "b", "label": "Beta"}}


async def refused(call: Awaitable[object]) -> SourceError:
    with pytest.raises(SourceError) as caught:
        await call
    return caught.value


async def flood(
    bad: Callable[[int], Awaitable[list[Result]]], good: Callable[[], Awaitable[list[Result]]]
) -> tuple[list[SourceError], list[list[Result]]]:
    """REQUESTS bad calls, WAVE at a time, each wave beside one good call of another client."""
    errors: list[SourceError] = []
    answers: list[list[Result]] = []
    for start in range(0, REQUESTS, WAVE):
        wave = [refused(bad(i)) for i in range(start, start + WAVE)]
        *refusals, answer = await asyncio.gather(*wave, good())
        errors.extend(refusals)  # type: ignore[arg-type]
        answers.append(answer)  # type: ignore[arg-type]
    return errors, answers


def assert_healthy(catalog: Catalog, stats: CallStats, entity: str, errors: list[SourceError]) -> None:
    assert {e.code for e in errors} == {"SOURCE_REJECTED"}
    assert {e.source for e in errors} == {"dept"}
    assert catalog.health() == {"dept": "closed"}
    assert catalog.conditions()["dept"].last_error is None  # /readyz sees nothing wrong
    assert stats.calls["dept", entity, "SOURCE_REJECTED"] == REQUESTS  # one call each: no retries
    assert stats.short_circuits["dept"] == 0


# PostgreSQL --------------------------------------------------------------------------------


@pytest_asyncio.fixture
async def dsn(scratch_db: str) -> AsyncIterator[str]:
    conn = await asyncpg.connect(scratch_db)
    await conn.execute(
        "CREATE TABLE thing (code text PRIMARY KEY, label text);"
        "INSERT INTO thing VALUES ('a', 'Alpha'), ('b', 'Beta');"
    )
    await conn.close()
    yield scratch_db


def pg_spec(dsn: str) -> SourceSpec:
    entities = {"thing": EntitySpec("thing", "code", options={"table": "thing"})}
    return SourceSpec(
        "dept", "postgres", entities, {"dsn": dsn, "pool_size": 4}, timeout=5.0, resilience=RESILIENCE
    )


@pytest.mark.parametrize(
    ("key", "sqlstate"),
    [("a\x00b", "22021"), ("a\ud800", "22000")],
    ids=["nul-refused-by-the-server", "surrogate-asyncpg-cannot-encode"],
)
async def test_keys_postgresql_refuses_are_rejected(dsn: str, key: str, sqlstate: str) -> None:
    source = PostgresSource(pg_spec(dsn))
    try:
        error = await refused(source.fetch_many("thing", ["a", key]))
        assert (await source.fetch_many("thing", ["a"])) == [THINGS["a"]]  # the pool is fine
    finally:
        await source.aclose()
    assert error.code == "SOURCE_REJECTED"
    assert error.detail == f"SQLSTATE {sqlstate}"
    assert isinstance(error.__cause__, asyncpg.DataError)


async def test_a_thousand_refused_calls_leave_postgresql_closed_for_everyone(dsn: str) -> None:
    stats = CallStats()
    catalog = build_catalog([pg_spec(dsn)], stats)  # no record cache: every good call is asked
    source = catalog.sources["dept"]
    try:
        errors, answers = await flood(
            lambda i: source.fetch_many("thing", [f"k{i}\x00"]),
            lambda: source.fetch_many("thing", ["b", "a", "zz"]),
        )
    finally:
        await catalog.aclose()
    assert_healthy(catalog, stats, "thing", errors)
    assert answers == [[THINGS["b"], THINGS["a"], None]] * (REQUESTS // WAVE)


async def test_a_refusal_is_not_cached(dsn: str) -> None:
    stats = CallStats()
    catalog = build_catalog([pg_spec(dsn)], stats, cache=CacheSpec())
    source = catalog.sources["dept"]
    try:
        for _ in range(3):
            assert (await refused(source.fetch_many("thing", ["a", "\x00"]))).code == "SOURCE_REJECTED"
        assert await source.fetch_many("thing", ["a"]) == [THINGS["a"]]
        assert await source.fetch_many("thing", ["a"]) == [THINGS["a"]]  # this one is cached
    finally:
        await catalog.aclose()
    assert stats.calls["dept", "thing", "SOURCE_REJECTED"] == 3  # asked every time
    assert stats.calls["dept", "thing", "ok"] == 1


# REST ----------------------------------------------------------------------------------------


class Department:
    """A REST department that validates keys itself: lower-case letters only. Others are
    refused with the status they start with (400, 404 or 422; 422 otherwise), with backend
    text the gateway must never pass on."""

    def __init__(self) -> None:
        self.requests = 0

    def refusal(self, keys: list[str]) -> web.Response | None:
        for key in keys:
            if not re.fullmatch("[a-z]+", key):
                status = int(key[:3]) if key[:3] in ("400", "404", "422") else 422
                return web.json_response({"error": f"ORA-01722 invalid number {key!r}"}, status=status)
        return None

    async def batch(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        keys = (await request.json())["keys"]
        refusal = self.refusal(keys)
        if refusal is not None:
            return refusal
        return web.json_response({"items": [THINGS[k] for k in keys if k in THINGS]})

    async def one(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        key = request.match_info["key"]
        refusal = self.refusal([key])
        if refusal is not None and refusal.status != 404:
            return refusal
        thing = THINGS.get(key)
        return web.json_response(thing) if thing else web.Response(status=404)


@pytest_asyncio.fixture
async def department() -> AsyncIterator[tuple[Department, str]]:
    dept = Department()
    app = web.Application()
    app.router.add_post("/v1/things:batchGet", dept.batch)
    app.router.add_get("/v1/things/{key}", dept.one)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield dept, str(server.make_url("")).rstrip("/")
    await server.close()


def http_spec(url: str, mode: str = "batch") -> SourceSpec:
    path = "/v1/things:batchGet" if mode == "batch" else "/v1/things/{key}"
    entities = {"thing": EntitySpec("thing", "code", options={"path": path, "mode": mode})}
    return SourceSpec("dept", "http", entities, {"base_url": url}, timeout=5.0, resilience=RESILIENCE)


@pytest.mark.parametrize("status", ["400", "422", "404"])
async def test_statuses_that_refuse_the_keys_are_rejected(
    department: tuple[Department, str], status: str
) -> None:
    _, url = department
    source = HttpSource(http_spec(url))
    try:
        error = await refused(source.fetch_many("thing", ["a", f"{status}x"]))
    finally:
        await source.aclose()
    assert error.code == "SOURCE_REJECTED"
    assert error.detail == f"HTTP {status}"
    assert "ORA" not in str(error)


async def test_single_key_endpoints_refuse_and_still_answer_404_as_no_record(
    department: tuple[Department, str],
) -> None:
    _, url = department
    source = HttpSource(http_spec(url, mode="single"))
    try:
        assert await source.fetch_many("thing", ["a", "zz", "404x"]) == [THINGS["a"], None, None]
        assert (await refused(source.fetch_many("thing", ["a", "422x"]))).code == "SOURCE_REJECTED"
    finally:
        await source.aclose()


@pytest.mark.parametrize("mode", ["batch", "single"])
async def test_keys_that_cannot_be_encoded_are_rejected_unsent(
    department: tuple[Department, str], mode: str
) -> None:
    dept, url = department
    source = HttpSource(http_spec(url, mode))
    try:
        error = await refused(source.fetch_many("thing", ["a\ud800"]))
    finally:
        await source.aclose()
    assert error.code == "SOURCE_REJECTED"
    assert error.detail == "a key cannot be encoded"
    assert dept.requests == 0


async def test_a_thousand_refused_calls_leave_a_rest_department_closed_for_everyone(
    department: tuple[Department, str],
) -> None:
    dept, url = department
    stats = CallStats()
    catalog = build_catalog([http_spec(url)], stats)
    source = catalog.sources["dept"]
    statuses = ("400", "404", "422")
    try:
        errors, answers = await flood(
            lambda i: source.fetch_many("thing", ["a", f"{statuses[i % 3]}-{i}"]),
            lambda: source.fetch_many("thing", ["b", "a", "zz"]),
        )
    finally:
        await catalog.aclose()
    assert_healthy(catalog, stats, "thing", errors)
    assert answers == [[THINGS["b"], THINGS["a"], None]] * (REQUESTS // WAVE)
    # Each wave's good call shared key "a" with a refused call; it asked for "a" again on
    # its own rather than take another request's refusal: two calls per wave.
    assert dept.requests == REQUESTS + 2 * (REQUESTS // WAVE)
