"""Several gateway processes on one Redis: a record one caches is served from cache by the
other, and a client's rate limit holds across both."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from demo.stack import DemoStack

from .departments import Switch, serve_switch
from .ports import free_ports
from .waiting import until

ROOT = Path(__file__).parents[1]
DEV = {"X-API-Key": "demo-only-developer-api-key", "X-Purpose": "development"}
QUERY = "query($id: ResidentId!) { person(id: $id) { socialInsurance { status } } }"


@pytest_asyncio.fixture
async def department() -> AsyncIterator[tuple[Switch, str]]:
    async with serve_switch() as served_switch:
        yield served_switch


@pytest.fixture
def gateways(demo_city: DemoStack, department: tuple[Switch, str], redis_url: str) -> Iterator[list[str]]:
    run = uuid.uuid4().hex[:8]
    env = {
        **os.environ,
        **demo_city.gateway_env(),
        "GOVGRAPH_SOCIAL_INSURANCE_URL": department[1],
        "GOVGRAPH_CACHE_BACKEND": "redis",
        "GOVGRAPH_RATE_BACKEND": "redis",
        "REDIS_URL": redis_url,
        "GOVGRAPH_CACHE_VERSION": f"test-{run}",  # this run's keys only
        "GOVGRAPH_NAMESPACE": f"govgraph-test-{run}",
        "GOVGRAPH_RATE": "0.5",
        "GOVGRAPH_BURST": "3",
    }
    first, second, first_ops, second_ops = free_ports(4)
    ports = [first, second]
    serve = [sys.executable, "-m", "gateway", "serve", "--allow-demo-keys"]
    processes = [
        subprocess.Popen(
            [*serve, "--port", str(p), "--ops-listen", f"127.0.0.1:{ops}"],  # each its own
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for p, ops in ((first, first_ops), (second, second_ops))
    ]
    try:
        yield [f"http://127.0.0.1:{p}" for p in ports]
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)


async def wait_ready(url: str) -> None:
    """Wait for a gateway process to answer /healthz; starting one takes seconds, more on a busy machine."""
    async with httpx.AsyncClient() as client:

        async def healthy() -> bool:
            try:
                return (await client.get(f"{url}/healthz")).status_code == 200
            except httpx.TransportError:
                return False

        await until(healthy, f"{url} to start", within=60, interval=0.1)


async def test_two_processes_share_the_cache_and_the_rate_limit(
    gateways: list[str], department: tuple[Switch, str], demo_city: DemoStack
) -> None:
    switch, _ = department
    first, second = gateways
    for url in gateways:
        await wait_ready(url)
    person = demo_city.samples["cases"]["changed_employer"][0]
    body = {"query": QUERY, "variables": {"id": person}}
    async with httpx.AsyncClient(timeout=30) as client:
        a = (await client.post(f"{first}/graphql", json=body, headers=DEV)).json()
        asked = switch.requests
        b = (await client.post(f"{second}/graphql", json=body, headers=DEV)).json()
        assert a["data"] == b["data"]
        assert a["data"]["person"]["socialInsurance"]["status"] == "PAYING"
        assert asked == 1
        assert switch.requests == asked
        assert a["extensions"]["sources"]["social_insurance"] == "ok"
        assert b["extensions"]["sources"]["social_insurance"] == "cached"

        third = await client.post(f"{first}/graphql", json=body, headers=DEV)
        fourth = await client.post(f"{second}/graphql", json=body, headers=DEV)
    assert third.status_code == 200  # burst 3, shared: the fourth request is one too many
    assert fourth.status_code == 429
    assert fourth.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert int(fourth.headers["retry-after"]) >= 1
