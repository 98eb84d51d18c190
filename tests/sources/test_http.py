"""The http adapter against real aiohttp departments on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer

from sources.base import EntitySpec, SourceSpec
from sources.errors import (
    BadSourceResponse,
    SourceConfigError,
    SourceRejected,
    SourceTimeout,
    SourceUnavailable,
)
from sources.http import HttpSource

PEOPLE = {
    "p1": {"person_id": "p1", "name": "一"},
    "p2": {"person_id": "p2", "name": "二"},
    "p3": {"person_id": "p3", "name": "三"},
}
VISITS = {"p1": [{"person_id": "p1", "day": 1}, {"person_id": "p1", "day": 2}]}


class Department:
    """A small REST department whose behaviour a test can change."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.batches: list[list[str]] = []
        self.gets = 0
        self.in_flight = 0
        self.max_in_flight = 0

    async def batch(self, request: web.Request) -> web.StreamResponse:
        keys = (await request.json())["keys"]
        self.batches.append(keys)
        if self.mode == "500":
            return web.Response(status=500, text="ORA-00942 internal detail")
        if self.mode == "garbage":
            return web.Response(text="<html>not json", content_type="application/json")
        if self.mode == "slow":
            await asyncio.sleep(1)
        if self.mode == "shape":
            return web.json_response({"items": [{"nokey": 1}]})
        table = PEOPLE if request.match_info["entity"] == "people" else VISITS
        items: list[Any] = []
        for k in reversed(keys):  # departments answer in any order
            value = table.get(k)
            items.extend(value if isinstance(value, list) else [value] if value else [])
        return web.json_response({"items": items})

    async def one(self, request: web.Request) -> web.StreamResponse:
        self.gets += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0.02)
            person = PEOPLE.get(request.match_info["key"])
            return web.json_response(person) if person else web.Response(status=404)
        finally:
            self.in_flight -= 1

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/{entity}:batchGet", self.batch)
        app.router.add_get("/v1/people/{key}", self.one)
        return app


@pytest_asyncio.fixture
async def department() -> AsyncIterator[tuple[Department, str]]:
    dept = Department()
    server = TestServer(dept.app(), host="127.0.0.1")
    await server.start_server()
    yield dept, str(server.make_url("")).rstrip("/")
    await server.close()


def source(base_url: str, timeout: float = 0.3, concurrency: int = 4) -> HttpSource:
    entities = {
        "people": EntitySpec("people", "person_id", options={"path": "/v1/people:batchGet"}),
        "visits": EntitySpec("visits", "person_id", many=True, options={"path": "/v1/visits:batchGet"}),
        "person_one": EntitySpec(
            "person_one", "person_id", options={"path": "/v1/people/{key}", "mode": "single"}
        ),
    }
    return HttpSource(
        SourceSpec(
            "edu", "http", entities, {"base_url": base_url, "concurrency": concurrency}, timeout=timeout
        )
    )


async def test_batch_endpoint_answers_in_key_order(department: tuple[Department, str]) -> None:
    dept, url = department
    src = source(url)
    try:
        result = await src.fetch_many("people", ["p3", "nobody", "p1", "p3"])
        visits = await src.fetch_many("visits", ["p2", "p1"])
    finally:
        await src.aclose()
    assert result == [PEOPLE["p3"], None, PEOPLE["p1"], PEOPLE["p3"]]
    assert visits == [[], VISITS["p1"]]
    assert dept.batches == [["p3", "nobody", "p1"], ["p2", "p1"]]  # a repeated key is asked once


async def test_single_key_department_is_called_concurrently_under_a_cap(
    department: tuple[Department, str],
) -> None:
    dept, url = department
    src = source(url, concurrency=3)
    keys = [f"x{i}" for i in range(12)] + ["p2", "p2"]
    try:
        result = await src.fetch_many("person_one", keys)
    finally:
        await src.aclose()
    assert result[-2:] == [PEOPLE["p2"], PEOPLE["p2"]]
    assert result[0] is None
    assert dept.gets == 13  # duplicates are asked once
    assert 1 < dept.max_in_flight <= 3


@pytest.mark.parametrize(
    ("mode", "error"),
    [
        ("500", SourceUnavailable),
        ("garbage", BadSourceResponse),
        ("shape", BadSourceResponse),
        ("slow", SourceTimeout),
    ],
)
async def test_failures_become_source_errors_without_department_text(
    department: tuple[Department, str], mode: str, error: type[Exception]
) -> None:
    dept, url = department
    dept.mode = mode
    # Only the slow department is meant to time out; the others get time to answer even on
    # a loaded machine.
    src = source(url, timeout=0.3 if mode == "slow" else 5.0)
    try:
        with pytest.raises(error) as caught:
            await src.fetch_many("people", ["p1"])
    finally:
        await src.aclose()
    assert "ORA-" not in str(caught.value)


async def test_a_single_key_cannot_address_another_resource_of_the_department() -> None:
    asked: list[str] = []

    async def anything(request: web.Request) -> web.StreamResponse:
        asked.append(request.raw_path)
        return web.Response(status=404)

    app = web.Application()
    app.router.add_get("/{tail:.*}", anything)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    src = source(str(server.make_url("")).rstrip("/"))
    try:
        keys = ["../admin", "a/b", "?all=1", "#x", "%2e%2e"]
        assert await src.fetch_many("person_one", keys) == [None] * len(keys)
        assert len(asked) == len(keys)
        for path in asked:  # each key stayed one segment under the entity's path
            assert path.startswith("/v1/people/"), asked
            assert "/" not in path[len("/v1/people/") :], asked
        for key in ("..", ".", ""):
            with pytest.raises(SourceRejected):
                await src.fetch_many("person_one", [key])
        assert len(asked) == len(keys)
    finally:
        await src.aclose()
        await server.close()


async def test_refused_connection_is_unavailable() -> None:
    src = source("http://127.0.0.1:9")
    with pytest.raises(SourceUnavailable):
        await src.fetch_many("people", ["p1"])
    await src.aclose()


@pytest.mark.parametrize(
    ("options", "entity", "where"),
    [
        ({}, {"path": "/v1/x:batchGet"}, "sources.edu.base_url"),
        ({"base_url": "ftp://x"}, {"path": "/v1/x:batchGet"}, "sources.edu.base_url"),
        ({"base_url": "http://x"}, {"path": "v1/x"}, "sources.edu.entities.e.path"),
        ({"base_url": "http://x"}, {"path": "/v1/x", "mode": "single"}, "sources.edu.entities.e.path"),
        ({"base_url": "http://x"}, {"path": "/v1/x", "mode": "bulk"}, "sources.edu.entities.e.mode"),
        ({"base_url": "http://x", "concurrency": 0}, {"path": "/v1/x"}, "sources.edu.concurrency"),
    ],
)
def test_bad_config_names_the_key(options: dict[str, Any], entity: dict[str, Any], where: str) -> None:
    spec = SourceSpec("edu", "http", {"e": EntitySpec("e", "k", options=entity)}, options)
    with pytest.raises(SourceConfigError) as caught:
        HttpSource(spec)
    assert caught.value.where == where
