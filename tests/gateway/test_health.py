"""/readyz (on the operators' endpoints): 200 when this process should get traffic, 503
(saying why) while a required department's breaker is open, the audit store cannot take
events, or maintenance is on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest_asyncio
from starlette.applications import Starlette

from demo.departments import database_dsn
from gateway.app import create_app
from gateway.config.settings import AuditSettings, HealthSettings, Settings
from gateway.http.ops import ops_app
from sources.base import Resilience
from tests.resolvers.city import CHILD

from ..departments import Switch, serve_switch
from .support import DEVELOPER, settings
from .test_audit_trail import AUDIT_KEY
from .test_metrics import moved, scrape
from .test_tracing import rest_social_insurance

QUERY = "query($id: ResidentId!) { person(id: $id) { name socialInsurance { status } } }"


class Gateway:
    """Clients of a running gateway's public app and of its operators' endpoints."""

    def __init__(self, app: Starlette) -> None:
        self.public = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway")
        self.ops = httpx.AsyncClient(transport=httpx.ASGITransport(app=ops_app(app)), base_url="http://ops")

    async def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.public.post(url, **kwargs)


@asynccontextmanager
async def running(base: Settings) -> AsyncIterator[Gateway]:
    app = create_app(base)
    async with app.router.lifespan_context(app):
        gateway = Gateway(app)
        async with gateway.public, gateway.ops:
            yield gateway


async def ready(gateway: Gateway) -> tuple[int, dict[str, Any]]:
    response = await gateway.ops.get("/readyz")
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, Any] = response.json()
    return response.status_code, body


@pytest_asyncio.fixture
async def switch() -> AsyncIterator[tuple[Switch, str]]:
    async with serve_switch() as served_switch:
        yield served_switch


def with_switch(url: str, **health: Any) -> Settings:
    # One failed call opens the breaker, which then stays open for the whole test.
    fast = Resilience(retries=0, breaker_failures=1, breaker_cooldown=300.0)
    base = settings(health=HealthSettings(**health))
    sources = tuple(
        replace(rest_social_insurance(url), resilience=fast) if s.name == "social_insurance" else s
        for s in base.sources
    )
    return replace(base, sources=sources)


async def test_a_department_down_makes_the_process_not_ready(switch: tuple[Switch, str]) -> None:
    department, url = switch
    async with running(with_switch(url)) as client:
        status, body = await ready(client)
        assert status == 200
        assert body["status"] == "ready"
        assert body["reasons"] == []
        assert body["sources"]["social_insurance"] == {
            "state": "closed",
            "required": True,
            "last_error": None,
        }
        assert body["audit"] == {"mode": "off"}
        assert body["pid"] > 0
        before = await scrape(client.ops)

        department.mode = "500"
        sick = await client.post(
            "/graphql", json={"query": QUERY, "variables": {"id": CHILD}}, headers=DEVELOPER
        )
        assert sick.json()["errors"][0]["extensions"]["code"] == "SOURCE_UNAVAILABLE"
        status, body = await ready(client)
        assert status == 503
        assert body["status"] == "not_ready"
        assert body["reasons"] == ["source social_insurance"]
        condition = body["sources"]["social_insurance"]
        assert condition["state"] == "open"
        assert condition["required"] is True
        assert condition["last_error"]["code"] == "SOURCE_UNAVAILABLE"
        assert condition["last_error"]["detail"] == "HTTP 500"
        assert "10.1.2.3" not in str(body)  # the department's own error text stays out
        assert body["sources"]["public_security"]["state"] == "closed"

        refused = await client.post(
            "/graphql", json={"query": QUERY, "variables": {"id": CHILD}}, headers=DEVELOPER
        )  # fails fast: the department is not asked
        after = await scrape(client.ops)
    assert refused.json()["errors"][0]["extensions"]["code"] == "SOURCE_CIRCUIT_OPEN"
    assert department.requests == 1
    where = {"source": "social_insurance", "entity": "insured_person"}
    assert moved(before, after, "govgraph_source_calls_total", **where, outcome="SOURCE_UNAVAILABLE") == 1
    assert moved(before, after, "govgraph_source_short_circuits_total", source="social_insurance") == 1
    states = ("closed", "half_open", "open")
    breaker = {
        s: moved({}, after, "govgraph_source_breaker", source="social_insurance", state=s) for s in states
    }
    assert breaker == {"closed": 0, "half_open": 0, "open": 1}


async def test_only_required_sources_decide(switch: tuple[Switch, str]) -> None:
    department, url = switch
    department.mode = "500"
    async with running(with_switch(url, required_sources=("public_security",))) as client:
        await client.post("/graphql", json={"query": QUERY, "variables": {"id": CHILD}}, headers=DEVELOPER)
        status, body = await ready(client)
    assert status == 200
    assert body["status"] == "ready"
    assert body["sources"]["social_insurance"]["state"] == "open"
    assert body["sources"]["social_insurance"]["required"] is False


async def test_the_maintenance_file_drains_the_process(tmp_path: Path) -> None:
    switch_file = tmp_path / "maintenance"
    async with running(settings(health=HealthSettings(maintenance_file=str(switch_file)))) as client:
        assert (await ready(client))[0] == 200
        switch_file.touch()
        status, body = await ready(client)
        assert status == 503
        assert body["status"] == "maintenance"
        assert body["reasons"] == ["maintenance"]
        alive = await client.public.get("/healthz")  # alive, only not taking new traffic
        assert alive.status_code == 200
        served = await client.post("/graphql", json={"query": "{ __typename }"}, headers=DEVELOPER)
        assert served.status_code == 200  # requests that still arrive are answered
        switch_file.unlink()
        assert (await ready(client))[0] == 200


async def test_not_ready_before_start_up() -> None:
    gateway = Gateway(create_app(settings()))
    async with gateway.public, gateway.ops:
        status, body = await ready(gateway)
    assert status == 503
    assert body["reasons"] == ["not started"]


async def test_an_unreachable_audit_store_makes_the_process_not_ready(scratch_db: str) -> None:
    audit = AuditSettings(mode="sync", dsn=scratch_db, subject_key=AUDIT_KEY)
    name = urlsplit(scratch_db).path.strip("/")
    base = settings(audit=audit, health=HealthSettings(audit_check_interval=0))
    async with running(base) as client:
        status, body = await ready(client)
        assert status == 200
        assert body["audit"] == {"mode": "sync", "queued": 0, "problem": None}
        admin = await asyncpg.connect(database_dsn(scratch_db))
        try:
            await admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS false")
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name
            )
            status, body = await ready(client)
            assert status == 503
            assert body["reasons"] == ["audit"]
            assert body["audit"]["problem"] == "the audit store does not answer"
            await admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")
        finally:
            await admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")
            await admin.close()
        status, body = await ready(client)
        assert status == 200, body
