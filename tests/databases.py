"""A fresh, empty database on the test server, dropped afterwards (whatever still holds
connections to it)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from demo.departments import database_dsn

__all__ = ["fresh_database"]


@asynccontextmanager
async def fresh_database(admin_dsn: str, prefix: str = "gg_test") -> AsyncIterator[str]:
    """Yields the DSN of a new database named `prefix_<random>` on `admin_dsn`'s server."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(database_dsn(admin_dsn))
    try:
        await admin.execute(f"CREATE DATABASE {name}")
        yield database_dsn(admin_dsn, name)
        await admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
    finally:
        await admin.close()
