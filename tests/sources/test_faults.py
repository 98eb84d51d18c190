"""Fault injection against real departments, through the registry's full wrapper stack.

An aiohttp department on loopback that drops, stalls, errors or answers badly, and a
real PostgreSQL whose backends are terminated between and during calls. Each fault must
surface as the right `SourceError`, be retried only where a retry can help, open the
breaker after the configured failures, and heal once the department is back.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer

from sources.base import EntitySpec, Resilience, SourceSpec
from sources.errors import (
    BadSourceResponse,
    SourceCircuitOpen,
    SourceError,
    SourceTimeout,
    SourceUnavailable,
)
from sources.registry import Catalog, build_catalog
from sources.stats import CallStats
from tests.waiting import until

PEOPLE = {"p1": {"person_id": "p1", "name": "一"}, "p2": {"person_id": "p2", "name": "二"}}
COOLDOWN = 0.2
POLICY = Resilience(
    retries=2,
    retry_backoff=0.01,
    breaker_failures=3,
    breaker_cooldown=COOLDOWN,
    max_in_flight=4,
    connect_timeout=0.2,
)


class Department:
    """A REST department whose next answers a test chooses; counts what reaches it."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.requests = 0
        self.arrived = asyncio.Event()

    async def batch(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        self.arrived.set()
        keys: list[str] = (await request.json())["keys"]
        if self.mode in ("hang", "slow"):
            await asyncio.sleep(30 if self.mode == "hang" else 1)
        if self.mode == "500":
            return web.Response(status=500, text="internal detail")
        if self.mode == "garbage":
            return web.Response(text='{"items": [', content_type="application/json")
        items: list[dict[str, Any]] = [PEOPLE[k] for k in keys if k in PEOPLE]
        if self.mode == "unasked":
            items.append({"person_id": "p9", "name": "九"})
        if self.mode == "twice":
            items += items
        return web.json_response({"items": items})

    async def one(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        key = "p2" if self.mode == "unasked" else request.match_info["key"]
        return web.json_response(PEOPLE[key]) if key in PEOPLE else web.Response(status=404)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/people:batchGet", self.batch)
        app.router.add_get("/v1/people/{key}", self.one)
        return app

    async def serve(self, port: int = 0) -> TestServer:
        server = TestServer(self.app(), host="127.0.0.1", port=port)
        await server.start_server(shutdown_timeout=0.05)  # a stop drops in-flight requests
        return server


@pytest_asyncio.fixture
async def department() -> AsyncIterator[tuple[Department, TestServer]]:
    dept = Department()
    server = await dept.serve()
    yield dept, server
    await server.close()


def http_catalog(server: TestServer, stats: CallStats, timeout: float = 1.0) -> Catalog:
    """The department as the registry builds it; a roomy timeout unless a test is about it."""
    spec = SourceSpec(
        "edu",
        "http",
        {
            "people": EntitySpec("people", "person_id", options={"path": "/v1/people:batchGet"}),
            "person": EntitySpec(
                "person", "person_id", options={"path": "/v1/people/{key}", "mode": "single"}
            ),
        },
        {"base_url": f"http://127.0.0.1:{server.port}"},
        timeout=timeout,
        resilience=POLICY,
    )
    return build_catalog([spec], stats)


async def fails(catalog: Catalog, entity: str, error: type[SourceError]) -> SourceError:
    with pytest.raises(SourceError) as caught:
        await catalog.routes[entity].source.fetch_many(entity, ["p1", "p2"])
    assert type(caught.value) is error
    assert caught.value.code == error.code
    return caught.value


async def recovers(catalog: Catalog, entity: str, expected: list[Any]) -> None:
    """After the cooldown, one trial call succeeds and closes the breaker."""
    await asyncio.sleep(COOLDOWN + 0.05)  # the cooldown under test; a longer one changes nothing
    assert catalog.health() == {name: "half_open" for name in catalog.sources}
    assert await catalog.routes[entity].source.fetch_many(entity, ["p1", "p2"]) == expected
    assert catalog.health() == {name: "closed" for name in catalog.sources}


@pytest.mark.parametrize(
    ("mode", "error", "attempts"),
    [
        ("500", SourceUnavailable, 3),  # a 5xx is retried: 1 + 2 retries per call
        ("slow", SourceTimeout, 1),  # a read that used the whole timeout leaves no time to retry
        ("garbage", BadSourceResponse, 1),  # bad answers are never retried
        ("unasked", BadSourceResponse, 1),
        ("twice", BadSourceResponse, 1),
    ],
)
async def test_http_faults_are_typed_retried_where_useful_and_trip_the_breaker(
    department: tuple[Department, TestServer], mode: str, error: type[SourceError], attempts: int
) -> None:
    dept, server = department
    stats = CallStats()
    catalog = http_catalog(server, stats, timeout=0.3 if mode == "slow" else 1.0)
    dept.mode = mode
    try:
        for failed in range(1, POLICY.breaker_failures + 1):
            await fails(catalog, "people", error)
            assert dept.requests == attempts * failed
        assert stats.calls["edu", "people", error.code] == attempts * POLICY.breaker_failures
        assert catalog.health() == {"edu": "open"}

        await fails(catalog, "people", SourceCircuitOpen)
        assert dept.requests == attempts * POLICY.breaker_failures  # nothing reached the department

        dept.mode = "ok"
        await recovers(catalog, "people", [PEOPLE["p1"], PEOPLE["p2"]])
        assert dept.requests == attempts * POLICY.breaker_failures + 1
    finally:
        await catalog.aclose()


async def test_a_single_key_answer_for_another_key_is_bad(department: tuple[Department, TestServer]) -> None:
    dept, server = department
    catalog = http_catalog(server, CallStats())
    try:
        assert await catalog.routes["person"].source.fetch_many("person", ["p1", "p9"]) == [
            PEOPLE["p1"],
            None,
        ]
        dept.mode = "unasked"
        error = await fails(catalog, "person", BadSourceResponse)
        assert "wrong number of items" in error.detail
    finally:
        await catalog.aclose()


async def test_http_department_stopped_mid_request(department: tuple[Department, TestServer]) -> None:
    dept, server = department
    stats = CallStats()
    catalog = http_catalog(server, stats)
    port = server.port
    assert port is not None
    dept.mode = "hang"
    try:
        call = asyncio.create_task(catalog.routes["people"].source.fetch_many("people", ["p1"]))
        await dept.arrived.wait()
        await server.close()
        with pytest.raises(SourceUnavailable) as caught:
            await call
        assert caught.value.code == "SOURCE_UNAVAILABLE"
        # the dropped request, then two retries that found nobody listening
        assert dept.requests == 1
        assert stats.calls["edu", "people", "SOURCE_UNAVAILABLE"] == 3

        for _ in range(POLICY.breaker_failures - 1):
            await fails(catalog, "people", SourceUnavailable)
        attempts = stats.total()
        await fails(catalog, "people", SourceCircuitOpen)
        assert stats.total() == attempts

        dept.mode = "ok"
        restarted = await dept.serve(port)
        try:
            await recovers(catalog, "people", [PEOPLE["p1"], PEOPLE["p2"]])
        finally:
            await restarted.close()
        assert dept.requests == 2
    finally:
        await catalog.aclose()


# -- PostgreSQL ------------------------------------------------------------------------

DDL = """
CREATE TABLE thing (code text PRIMARY KEY, label text);
CREATE VIEW slow_thing AS SELECT t.* FROM thing t, (SELECT pg_sleep(0.5)) s;
INSERT INTO thing VALUES ('p1', 'one'), ('p2', 'two');
"""
THINGS = [{"code": "p1", "label": "one"}, {"code": "p2", "label": "two"}]


@pytest_asyncio.fixture
async def dsn(scratch_db: str) -> AsyncIterator[str]:
    conn = await asyncpg.connect(scratch_db)
    await conn.execute(DDL)
    await conn.close()
    yield scratch_db


def pg_catalog(dsn: str, stats: CallStats, retries: int, connect_timeout: float = 1.0) -> Catalog:
    entities = {
        "thing": EntitySpec("thing", "code", options={"table": "thing"}),
        "slow": EntitySpec("slow", "code", options={"table": "slow_thing"}),
    }
    resilience = Resilience(
        retries=retries,
        retry_backoff=0.01,
        breaker_failures=2,
        breaker_cooldown=COOLDOWN,
        connect_timeout=connect_timeout,
    )
    spec = SourceSpec(
        "dept", "postgres", entities, {"dsn": dsn, "pool_size": 1}, timeout=2.0, resilience=resilience
    )
    return build_catalog([spec], stats)


async def terminate(dsn: str, busy: bool = False) -> int:
    """Terminate the gateway's backends in this test's database (once one is busy, if asked)."""
    mine = "FROM pg_stat_activity WHERE application_name = 'govgraph' AND datname = current_database()"
    conn = await asyncpg.connect(dsn)  # outside a transaction: each poll reads the view afresh
    try:
        if busy:
            active = f"SELECT count(*) {mine} AND state = 'active' AND query LIKE '%slow_thing%'"
            await until(lambda: conn.fetchval(active), "the slow query to run")
        # in the select list, so it runs only for the rows the WHERE clause kept
        return len(await conn.fetch(f"SELECT pg_terminate_backend(pid) {mine}"))
    finally:
        await conn.close()


def outcomes(stats: CallStats) -> list[str]:
    return [c.outcome for c in stats.recent]


async def test_postgres_terminated_between_calls_is_retried(dsn: str) -> None:
    stats = CallStats()
    catalog = pg_catalog(dsn, stats, retries=2)
    source = catalog.routes["thing"].source
    try:
        assert await source.fetch_many("thing", ["p1", "p2"]) == THINGS
        assert await terminate(dsn) == 1
        assert await source.fetch_many("thing", ["p1", "p2"]) == THINGS
        # the pool may notice the dead connection first; if not, one retry replaces it
        assert outcomes(stats) in (["ok", "ok"], ["ok", "SOURCE_UNAVAILABLE", "ok"])
        assert catalog.health() == {"dept": "closed"}
    finally:
        await catalog.aclose()


async def test_postgres_terminated_mid_call_succeeds_after_a_retry(dsn: str) -> None:
    stats = CallStats()
    catalog = pg_catalog(dsn, stats, retries=2)
    source = catalog.routes["slow"].source
    try:
        call = asyncio.create_task(source.fetch_many("slow", ["p1", "p2"]))
        assert await terminate(dsn, busy=True) == 1
        assert await call == THINGS
        assert outcomes(stats) == ["SOURCE_UNAVAILABLE", "ok"]
    finally:
        await catalog.aclose()


async def test_postgres_terminated_mid_call_without_retries_fails_opens_and_recovers(dsn: str) -> None:
    stats = CallStats()
    catalog = pg_catalog(dsn, stats, retries=0)
    source = catalog.routes["slow"].source
    try:
        for _ in range(2):  # breaker_failures
            call = asyncio.create_task(source.fetch_many("slow", ["p1", "p2"]))
            assert await terminate(dsn, busy=True) == 1
            with pytest.raises(SourceUnavailable) as caught:
                await call
            assert caught.value.source == "dept"
            assert caught.value.__cause__ is not None
        assert catalog.health() == {"dept": "open"}
        await fails(catalog, "thing", SourceCircuitOpen)
        assert outcomes(stats) == ["SOURCE_UNAVAILABLE"] * 2
        await recovers(catalog, "thing", THINGS)
        assert outcomes(stats) == ["SOURCE_UNAVAILABLE"] * 2 + ["ok"]
    finally:
        await catalog.aclose()


async def test_postgres_that_accepts_but_never_answers_is_a_retried_connect_timeout() -> None:
    connections = 0

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await reader.read()  # never answers the startup message
        writer.close()

    hole = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = hole.sockets[0].getsockname()[1]
    stats = CallStats()
    catalog = pg_catalog(f"postgresql://nobody@127.0.0.1:{port}/none", stats, retries=2, connect_timeout=0.2)
    try:
        started = asyncio.get_running_loop().time()
        await fails(catalog, "thing", SourceTimeout)
        # connect_timeout (0.2 s) ends each attempt well inside the 2 s timeout: both retries fit
        assert asyncio.get_running_loop().time() - started < 1.0
        assert connections == 3
        assert outcomes(stats) == ["SOURCE_TIMEOUT"] * 3
    finally:
        await catalog.aclose()
        hole.close()
        await hole.wait_closed()
