"""The process's work budget: operations past it wait their turn, in order."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import ClassVar

import httpx

from gateway.app import create_app
from gateway.execution.budget import WorkBudget
from gateway.execution.limits import Limits
from sources.base import Result
from sources.memory import MemorySource
from sources.stats import CallStats
from tests.resolvers import city

from .support import DEVELOPER, settings


async def settled() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_operations_past_the_budget_wait_first_come_first_served() -> None:
    budget = WorkBudget(10)
    assert await budget.acquire(6) == 6
    big = asyncio.create_task(budget.acquire(6))
    small = asyncio.create_task(budget.acquire(1))  # would fit, but arrived after `big`
    await settled()
    assert not big.done() and not small.done() and budget.waiting == 2
    budget.release(6)
    await settled()
    assert big.result() == 6 and small.result() == 1 and budget.in_use == 7


async def test_an_operation_costlier_than_the_budget_runs_alone() -> None:
    budget = WorkBudget(10)
    assert await budget.acquire(3) == 3
    huge = asyncio.create_task(budget.acquire(50))
    await settled()
    assert not huge.done()
    budget.release(3)
    await settled()
    assert huge.result() == 10 and budget.in_use == 10


async def test_a_waiter_cancelled_just_before_its_turn_is_skipped() -> None:
    budget = WorkBudget(10)
    await budget.acquire(6)
    big = asyncio.create_task(budget.acquire(6))
    small = asyncio.create_task(budget.acquire(1))
    await settled()
    big.cancel()
    budget.release(6)  # before `big` runs again to leave the line
    await settled()
    assert big.cancelled() and small.result() == 1 and budget.in_use == 1 and budget.waiting == 0


async def test_a_caller_that_goes_away_while_waiting_leaves_no_trace() -> None:
    budget = WorkBudget(10)
    await budget.acquire(6)
    big = asyncio.create_task(budget.acquire(6))
    small = asyncio.create_task(budget.acquire(1))
    await settled()
    big.cancel()  # the client disconnected
    await settled()
    assert big.cancelled() and small.result() == 1 and budget.in_use == 7 and budget.waiting == 0


class Gate(MemorySource):
    opened = asyncio.Event()
    asked: ClassVar[list[str]] = []

    async def fetch_many(self, entity: str, keys: list[str]) -> list[Result]:  # type: ignore[override]
        self.asked.extend(keys)
        await self.opened.wait()
        return await super().fetch_many(entity, keys)


async def test_the_gateway_executes_within_its_budget() -> None:
    Gate.opened = asyncio.Event()
    Gate.asked.clear()
    stats = CallStats()
    specs = {s.name: s for s in city.specs()}
    app = create_app(
        settings(limits=replace(Limits(), concurrent_cost=1)),
        stats=stats,
        instances={"public_security": Gate(specs["public_security"])},
    )
    query = {"query": "query($id: ResidentId!) { person(id: $id) { name } }"}
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as client,
    ):
        first, second = (
            asyncio.create_task(
                client.post("/graphql", json={**query, "variables": {"id": i}}, headers=DEVELOPER)
            )
            for i in (city.CHILD, city.FATHER)
        )
        for _ in range(100):  # the first operation reaches its department...
            if Gate.asked:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        assert len(Gate.asked) == 1  # ...the second waits its turn before executing
        Gate.opened.set()
        names = {(await t).json()["data"]["person"]["name"] for t in (first, second)}
    assert names == {"林小雨", "林建国"} and len(Gate.asked) == 2 and stats.total() == 2
