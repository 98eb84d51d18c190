"""An in-process gateway over the memory city, with the shipped policy and documents."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import jwt

from gateway.app import create_app
from gateway.audit.reads import read_head, stream_events
from gateway.audit.store import AuditStore, ChainHead, EventRow
from gateway.config.settings import AuditSettings, AuthConfig, GatewaySettings, Settings
from gateway.http.ops import ops_app
from sources.base import EntitySpec, SourceSpec
from sources.stats import CallStats
from tests.resolvers import city
from tests.waiting import until

ROOT = Path(__file__).parents[2]
SECRET = "test-secret-for-hs256-tokens-only"


# Module-level headers are minted when pytest collects, and the suite runs for several minutes
# more: tokens that outlive it, so a late test is never refused for an expired one.
TOKEN_SECONDS = 3 * 3600


def headers(client: str, purpose: str, **extra: str) -> dict[str, str]:
    now = int(time.time())
    claims = {"sub": client, "aud": "govgraph", "exp": now + TOKEN_SECONDS}
    return {"Authorization": "Bearer " + jwt.encode(claims, SECRET, "HS256"), "X-Purpose": purpose, **extra}


DEVELOPER = headers("developer", "development")


AUDIT_KEY = "test-audit-subject-key-0123456789"


def audited(dsn: str) -> dict[str, Any]:
    """Settings changes for a sync audit log in `dsn`, with the auditor's access_log over it."""
    log = SourceSpec(
        "audit",
        "postgres",
        {"access_log": EntitySpec("access_log", "subject", many=True, options={"table": "access_log"})},
        {"dsn": dsn, "pool_size": 2},
    )
    return {
        "sources": (*(s for s in city.specs() if s.name != "audit"), log),
        "audit": AuditSettings(mode="sync", dsn=dsn, subject_key=AUDIT_KEY, commit_timeout=1.0),
    }


async def audit_events(dsn: str) -> list[dict[str, Any]]:
    """Every event of the audit log in `dsn`, oldest first, its JSON columns decoded."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
        return [dict(r) for r in await conn.fetch("SELECT * FROM audit_event ORDER BY seq")]
    finally:
        await conn.close()


async def audit_backends(watcher: asyncpg.Connection, condition: str) -> list[int]:
    """Pids of the audit store's backends in `watcher`'s database that match `condition` (SQL
    on pg_stat_activity). `watcher` must be outside a transaction: the view is read once per
    transaction, so inside one every poll would see the same past."""
    assert not watcher.is_in_transaction()
    rows = await watcher.fetch(
        "SELECT pid FROM pg_stat_activity WHERE application_name = 'govgraph-audit' "
        f"AND datname = current_database() AND {condition}"
    )
    return [r["pid"] for r in rows]


async def audit_blocked(watcher: asyncpg.Connection) -> int:
    """The pid of the audit store's backend once its statement waits for a lock."""
    blocked: list[int] = []

    async def waiting() -> bool:
        blocked[:] = await audit_backends(watcher, "wait_event_type = 'Lock'")
        return bool(blocked)

    await until(waiting, "the audit statement to wait for the lock")
    (pid,) = blocked
    return pid


async def audit_idle(watcher: asyncpg.Connection) -> None:
    """Wait until no statement of the audit store runs on the server (a cancel has landed)."""

    async def idle() -> bool:
        return not await audit_backends(watcher, "state <> 'idle'")

    await until(idle, "the audit store's statements to end on the server")


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


async def chains(store: AuditStore) -> list[tuple[str, list[EventRow], ChainHead | None]]:
    """Every chain with its events and head, whole, from one snapshot each (small test stores)."""
    found = []
    for writer_id, _ in await store.writers():
        async with store.snapshot() as conn:
            rows = [EventRow(**dict(r)) async for r in stream_events(conn, writer_id)]
            head = await read_head(conn, writer_id)
        found.append((writer_id, rows, head))
    return found
