"""Shared fixtures: a real PostgreSQL server (embedded unless TEST_DATABASE_URL is set)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from demo.stack import DemoStack
from demo.synth import CityConfig
from tests.databases import fresh_database
from tests.redis_server import redis_url_or_skip, stop_spawned_redis


@pytest.fixture(scope="session", autouse=True)
def private_runtime_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The tests' own $XDG_RUNTIME_DIR, where a running demo leaves its pointer
    (gateway/cli/demo_state.py): the commands the tests run never find a demo the user
    runs meanwhile, nor the user's commands a demo a test starts."""
    path = tmp_path_factory.mktemp("run")
    path.chmod(0o700)
    saved = os.environ.get("XDG_RUNTIME_DIR")
    os.environ["XDG_RUNTIME_DIR"] = str(path)
    yield path
    if saved is None:
        del os.environ["XDG_RUNTIME_DIR"]
    else:
        os.environ["XDG_RUNTIME_DIR"] = saved


@pytest.fixture(scope="session")
def pg_admin_dsn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A superuser DSN on a real PostgreSQL server."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        yield url
        return
    from pgserver.postgres_server import get_server

    server = get_server(Path(tmp_path_factory.mktemp("pg")), cleanup_mode="delete")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()


@pytest_asyncio.fixture(scope="session")
async def demo_city(pg_admin_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[DemoStack]:
    """The demo city (2,000 persons) seeded into real PostgreSQL, REST departments running."""
    stack = DemoStack(
        data_dir=Path(tmp_path_factory.mktemp("city")),
        database_url=pg_admin_dsn,
        city=CityConfig(persons=2000),
    )
    await stack.start()
    yield stack
    await stack.stop()


@pytest_asyncio.fixture(scope="session")
async def redis_url() -> AsyncIterator[str]:
    """A real Redis (REDIS_URL, the local one, or a private redis-server); skips without
    one unless GOVGRAPH_REQUIRE_REDIS=1, where it fails."""
    yield await redis_url_or_skip()
    stop_spawned_redis()


@pytest_asyncio.fixture
async def scratch_db(pg_admin_dsn: str) -> AsyncIterator[str]:
    """A fresh, empty database for one test; dropped afterwards."""
    async with fresh_database(pg_admin_dsn) as dsn:
        yield dsn
