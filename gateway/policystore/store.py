"""The policy store's PostgreSQL: the only module that knows its SQL.

Every change runs in one transaction that also bumps `policy_version` and notifies the
`govgraph_policy` channel (delivered at commit), so a process that LISTENs re-reads the
policy at once and one that missed the notification sees the new version on its next
check. Driver failures become PolicyStoreError.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from importlib import resources
from typing import Any

import asyncpg
import orjson

from gateway.policystore.errors import PolicyStoreError
from gateway.policystore.snapshot import GrantRow, Snapshot

__all__ = ["CHANNEL", "PolicyStore", "PolicyStoreError", "read_snapshot"]

CHANNEL = "govgraph_policy"
_SCHEMA = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_INSTALL_LOCK = 0x676F76706F6C  # advisory lock id: concurrent installs take turns

_GRANTS = """
SELECT id, client, purpose, full_scopes, masked_scopes, pins, basis, application, valid_from,
       expires_at, revoked_at
FROM "grant" WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now()) ORDER BY id
"""

# A bounded batch, rows other processes hold skipped: no process waits on another's claim.
_CLAIM = """
UPDATE "grant" SET expiry_recorded = true WHERE id IN (
    SELECT id FROM "grant" WHERE expires_at <= $1 AND NOT expiry_recorded AND revoked_at IS NULL
    ORDER BY expires_at LIMIT 100 FOR UPDATE SKIP LOCKED)
RETURNING *
"""


async def _init_connection(conn: asyncpg.Connection) -> None:
    for kind in ("json", "jsonb"):
        await conn.set_type_codec(
            kind, encoder=lambda v: orjson.dumps(v).decode(), decoder=orjson.loads, schema="pg_catalog"
        )


def grant_row(record: asyncpg.Record) -> GrantRow:
    return GrantRow(
        id=record["id"],
        client=record["client"],
        purpose=record["purpose"],
        full=tuple(record["full_scopes"]),
        masked=tuple(record["masked_scopes"]),
        pins=record["pins"],
        basis=record["basis"],
        application=record["application"],
        valid_from=record["valid_from"],
        expires_at=record["expires_at"],
    )


async def read_snapshot(conn: asyncpg.Connection) -> Snapshot:
    """The policy's tables as `conn`'s transaction sees them."""
    version = await conn.fetchval("SELECT version FROM policy_version")
    purposes = {
        r["name"]: {"title": r["title"], "legal_basis": r["legal_basis"], "introspection": r["introspection"]}
        for r in await conn.fetch("SELECT * FROM purpose WHERE removed_at IS NULL ORDER BY name")
    }
    clients = {
        r["id"]: r["settings"]
        for r in await conn.fetch("SELECT * FROM client WHERE removed_at IS NULL ORDER BY id")
    }
    grants = tuple(grant_row(r) for r in await conn.fetch(_GRANTS))
    return Snapshot(int(version), purposes, clients, grants)


class PolicyStore:
    """`schema` holds the store's tables (created by `install`), beside whatever else the
    database holds, such as the audit log."""

    def __init__(self, dsn: str, schema: str = "govgraph_policy", *, timeout: float = 3.0) -> None:
        if not _SCHEMA.fullmatch(schema):
            raise PolicyStoreError(f"policy store schema {schema!r}: use lower-case letters, digits, _")
        self.dsn, self.schema, self._timeout = dsn, schema, timeout
        self._pool: asyncpg.Pool | None = None
        self._lock = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def _translated(self, doing: str) -> AsyncIterator[None]:
        try:
            async with asyncio.timeout(self._timeout):
                yield
        except TimeoutError as exc:
            raise PolicyStoreError(f"policy store: {doing}: no answer within {self._timeout}s") from exc
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise PolicyStoreError(f"policy store: {doing}: {type(exc).__name__}: {exc}") from exc

    def _settings(self) -> dict[str, str]:
        return {"search_path": f'"{self.schema}"', "application_name": "govgraph-policy"}

    async def _get_pool(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._lock:
                if self._pool is None:
                    async with self._translated("connect"):
                        self._pool = await asyncpg.create_pool(
                            self.dsn,
                            min_size=0,
                            max_size=4,
                            init=_init_connection,
                            server_settings=self._settings(),
                        )
        return self._pool

    async def install(self) -> None:
        """Create the schema and its tables unless they exist."""
        pool = await self._get_pool()
        async with self._translated("install"), pool.acquire() as conn, conn.transaction():
            if await conn.fetchval("SELECT to_regclass($1)", f'"{self.schema}".policy_version') is not None:
                return  # installed: a gateway role without CREATE on the database starts too
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _INSTALL_LOCK)
            await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
            if await conn.fetchval("SELECT to_regclass($1)", f'"{self.schema}".policy_version') is None:
                ddl = (resources.files("gateway.policystore") / "store.sql").read_text(encoding="utf-8")
                await conn.execute(ddl)

    async def version(self) -> int:
        pool = await self._get_pool()
        async with self._translated("read the policy version"):
            return int(await pool.fetchval("SELECT version FROM policy_version"))

    async def snapshot(self) -> Snapshot:
        """Everything the policy is built from, read in one consistent snapshot."""
        pool = await self._get_pool()
        async with (
            self._translated("read the policy"),
            pool.acquire() as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            return await read_snapshot(conn)

    @contextlib.asynccontextmanager
    async def change(self, doing: str) -> AsyncIterator[asyncpg.Connection]:
        """A transaction that changes the policy: it bumps the version and notifies every
        listening gateway when it commits (or does neither when it fails)."""
        pool = await self._get_pool()
        async with self._translated(doing), pool.acquire() as conn, conn.transaction():
            # One change at a time: each sees the ones before it (two imports, two approvals
            # checked against the same grants, cannot interleave).
            await conn.execute("SELECT version FROM policy_version FOR UPDATE")
            yield conn
            version = await conn.fetchval(
                "UPDATE policy_version SET version = version + 1, changed_at = now() RETURNING version"
            )
            await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, f"{self.schema}:{version}")

    @contextlib.asynccontextmanager
    async def reading(self, doing: str) -> AsyncIterator[asyncpg.Connection]:
        pool = await self._get_pool()
        async with self._translated(doing), pool.acquire() as conn:
            yield conn

    async def listen(
        self, on_change: Callable[[], None], on_lost: Callable[[], None]
    ) -> Callable[[], Awaitable[None]]:
        """Call `on_change` on every notification, `on_lost` if the connection drops; returns
        the function that stops listening. The connection is its own (LISTEN holds it)."""
        async with self._translated("listen"):
            conn: asyncpg.Connection = await asyncpg.connect(self.dsn, server_settings=self._settings())

        def notified(*_: Any) -> None:
            on_change()

        def lost(*_: Any) -> None:
            on_lost()

        try:
            async with self._translated("listen"):
                await conn.add_listener(CHANNEL, notified)
            conn.add_termination_listener(lost)
        except BaseException:
            conn.terminate()
            raise

        async def stop() -> None:
            conn.remove_termination_listener(lost)
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1):
                    await conn.close()
            conn.terminate()

        return stop

    async def claim_expired(
        self, now: dt.datetime, record: Callable[[Sequence[GrantRow]], Awaitable[None]]
    ) -> int:
        """Mark grants past their expiry as recorded, once `record` (which writes their audit
        events) has returned: each expiry is claimed by exactly one process, and stays
        unclaimed if its event could not be written. No version bump: the policy, built as
        of the time, already leaves the grant out."""
        pool = await self._get_pool()
        async with self._translated("claim expired grants"), pool.acquire() as conn, conn.transaction():
            records = await conn.fetch(_CLAIM, now)
            if records:
                await record([grant_row(r) for r in records])
        return len(records)

    async def aclose(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()
