"""An in-process gateway over the memory city, with the shipped policy and documents."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import jwt

from gateway.app import create_app
from gateway.ops import ops_app
from gateway.settings import AuthConfig, GatewaySettings, Settings
from sources.stats import CallStats
from tests.resolvers import city

ROOT = Path(__file__).parents[2]
SECRET = "test-secret-for-hs256-tokens-only"


def headers(client: str, purpose: str, **extra: str) -> dict[str, str]:
    now = int(time.time())
    claims = {"sub": client, "aud": "govgraph", "exp": now + 300}
    return {"Authorization": "Bearer " + jwt.encode(claims, SECRET, "HS256"), "X-Purpose": purpose, **extra}


DEVELOPER = headers("developer", "development")


def settings(**changes: Any) -> Settings:
    base = Settings(
        gateway=GatewaySettings(),
        sources=tuple(city.specs()),
        auth=AuthConfig(policy=str(ROOT / "policy.toml"), hs256_secret=SECRET),
        documents=str(ROOT / "documents"),
    )
    return replace(base, **changes)


@asynccontextmanager
async def gateway(stats: CallStats | None = None, **changes: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings(**changes), stats=stats)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            yield client


@asynccontextmanager
async def gateway_and_ops(
    stats: CallStats | None = None, **changes: Any
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """Clients of the public app and of the operators' endpoints (/metrics, /readyz) over it."""
    app = create_app(settings(**changes), stats=stats)
    async with app.router.lifespan_context(app):
        public = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway")
        ops = httpx.AsyncClient(transport=httpx.ASGITransport(app=ops_app(app)), base_url="http://ops")
        async with public, ops:
            yield public, ops
