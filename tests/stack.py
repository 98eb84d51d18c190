"""Test helpers: the demo stack and a gateway served by uvicorn on a free loopback port."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import uvicorn
from starlette.applications import Starlette

from gateway.access.auth import mint_token
from gateway.app import create_app
from gateway.config.settings import Settings, load_settings
from sources.stats import CallStats
from tests.waiting import until

CONFIG = Path(__file__).parents[1] / "govgraph.toml"


def demo_settings(env: dict[str, str], **gateway: object) -> Settings:
    settings = load_settings(CONFIG, env)
    if gateway:
        from dataclasses import replace

        settings = replace(settings, gateway=replace(settings.gateway, **gateway))
    return settings


@asynccontextmanager
async def served(app: Starlette) -> AsyncIterator[str]:
    """Serve `app` over real HTTP; yields its base URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    await until(lambda: server.started or task.done(), "uvicorn to start", within=60)
    if not server.started:
        task.result()  # raises what stopped it
        raise AssertionError("uvicorn stopped before it started")
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def gateway_app(env: dict[str, str], stats: CallStats, **gateway: object) -> Starlette:
    return create_app(demo_settings(env, **gateway), stats=stats)


def client_headers(app: Starlette, client: str, purpose: str | None = None, **extra: str) -> dict[str, str]:
    """Headers a demo client sends: a fresh token from the demo secret and its purpose."""
    runtime = app.state.runtime
    who = runtime.policy.clients[client]
    purpose = purpose or sorted(who.purposes)[0]
    auth = runtime.settings.auth
    token = mint_token(auth.hs256_secret, who, auth.audience, 600, [purpose], int(time.time()))
    return {"Authorization": f"Bearer {token}", "X-Purpose": purpose, **extra}
