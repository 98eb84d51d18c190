"""Fault drills through the whole gateway: a sick department costs only its fields, the
answer says which department failed, its breaker opens, and it recovers."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest_asyncio

from demo.stack import DemoStack
from gateway.app import create_app
from sources.base import CacheSpec, Resilience
from sources.stats import CallStats

from .departments import Switch, serve_switch
from .stack import demo_settings, served

QUERY = """query($id: ResidentId!) { person(id: $id) {
    name studentStatus { grade } socialInsurance { status } } }"""
DEV = {"X-API-Key": "demo-only-developer-api-key", "X-Purpose": "development"}


@pytest_asyncio.fixture
async def switch(demo_city: DemoStack) -> AsyncIterator[tuple[Switch, str]]:
    async with serve_switch() as served_switch:
        yield served_switch


async def ask(url: str, child: str) -> dict[str, object]:
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(
            f"{url}/graphql", json={"query": QUERY, "variables": {"id": child}}, headers=DEV
        )
    assert response.status_code == 200
    body: dict[str, object] = response.json()
    return body


async def test_a_sick_department_costs_only_its_fields_then_recovers(
    demo_city: DemoStack, switch: tuple[Switch, str]
) -> None:
    proxy, proxy_url = switch
    env = {**demo_city.gateway_env(), "GOVGRAPH_SOCIAL_INSURANCE_URL": proxy_url}
    settings = dataclasses.replace(
        demo_settings(env), cache=CacheSpec(backend="off")
    )  # every call reaches it
    fast = Resilience(retries=1, retry_backoff=0.01, breaker_failures=2, breaker_cooldown=0.5)
    settings = dataclasses.replace(
        settings,
        sources=tuple(
            dataclasses.replace(s, resilience=fast) if s.name == "social_insurance" else s
            for s in settings.sources
        ),
    )
    stats = CallStats()
    child = demo_city.samples["cases"]["family_child"][0]
    async with served(create_app(settings, stats=stats)) as url:
        healthy = await ask(url, child)
        assert healthy["extensions"] == {
            "sources": {"public_security": "ok", "education": "ok", "social_insurance": "ok"}
        }

        proxy.mode = "500"
        before = proxy.requests
        sick = await ask(url, child)
        data = sick["data"]["person"]  # type: ignore[index]
        assert data["name"]
        assert data["socialInsurance"] is None
        (error,) = sick["errors"]  # type: ignore[misc]
        assert error["path"] == ["person", "socialInsurance"]
        assert error["extensions"] == {"code": "SOURCE_UNAVAILABLE", "source": "social_insurance"}
        assert "10.1.2.3" not in str(sick)
        assert sick["extensions"]["sources"]["social_insurance"] == "failed"  # type: ignore[index]
        assert sick["extensions"]["sources"]["public_security"] == "ok"  # type: ignore[index]
        assert proxy.requests - before == 2  # one retry

        await ask(url, child)  # the second failed call opens the breaker
        opened = proxy.requests
        fast_fail = await ask(url, child)
        assert fast_fail["errors"][0]["extensions"] == {
            "code": "SOURCE_CIRCUIT_OPEN",
            "source": "social_insurance",
        }  # type: ignore[index]
        assert proxy.requests == opened  # not asked while open

        proxy.mode = "ok"
        await asyncio.sleep(0.6)  # the cool-down passes; the trial call closes the breaker
        recovered = await ask(url, child)
        assert "errors" not in recovered
        assert recovered["data"]["person"]["socialInsurance"]["status"]  # type: ignore[index]


async def test_garbage_from_a_department_is_a_coded_error(
    demo_city: DemoStack, switch: tuple[Switch, str]
) -> None:
    proxy, proxy_url = switch
    proxy.mode = "garbage"
    env = {**demo_city.gateway_env(), "GOVGRAPH_SOCIAL_INSURANCE_URL": proxy_url}
    async with served(create_app(demo_settings(env))) as url:
        body = await ask(url, demo_city.samples["cases"]["family_child"][1])
    assert body["data"]["person"]["name"]  # type: ignore[index]
    assert body["errors"][0]["extensions"] == {"code": "SOURCE_UNAVAILABLE", "source": "social_insurance"}  # type: ignore[index]
    assert "<html>" not in str(body)
