"""The audit log's PostgreSQL store: with queries.py (its statements), the only module that
knows the audit SQL.

A batch of events (a group commit) is one statement: the events, their subject index
rows and the writer's new chain head go in as one JSON document, so a batch costs one
round trip and is atomic without an explicit transaction. Every driver failure becomes
AuditStoreError; hashing and chaining live in gateway/audit/record.py and gateway/audit/writer.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import asyncpg
import orjson

from gateway.audit.errors import AuditStoreError
from gateway.audit.queries import (
    ACCESS_LOG_VIEW,
    APPEND,
    CLIENT_EVENTS,
    CURRENT,
    SUBJECT_EVENTS,
    WRITERS,
)

__all__ = ["AuditStore", "AuditStoreError", "ChainHead", "EventRow"]

TABLES = ("audit_event", "audit_subject", "audit_writer", "access_log")
_INSTALL_LOCK = 0x676F76617564  # advisory lock id: concurrent installs take turns


@dataclass(frozen=True)
class EventRow:
    """One row of audit_event, column for column."""

    writer_id: str
    seq: int
    time: dt.datetime
    request_id: str
    client: str
    purpose: str
    case_id: str | None
    operator: str | None
    operation: str | None
    document_hash: str
    subjects: list[dict[str, Any]]  # [{"subject": hmac hex, "scopes": [sorted scope names]}]
    denied: list[dict[str, str]]  # [{"path": "a.b.c", "scope": "..."}]
    outcome: str
    response_hash: str
    prev_hash: str
    hash: str
    basis: str | None = None  # the grant's legal basis or approval reference, when it has one
    detail: dict[str, Any] | None = None  # a policy change's what and why; None for an access


@dataclass(frozen=True)
class ChainHead:
    writer_id: str
    last_seq: int
    last_hash: str


def _encode_jsonb(value: Any) -> bytes:
    return b"\x01" + orjson.dumps(value)  # jsonb binary format: version byte, then the text


def _decode_jsonb(data: bytes) -> Any:
    return orjson.loads(data[1:])


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "jsonb", encoder=_encode_jsonb, decoder=_decode_jsonb, schema="pg_catalog", format="binary"
    )


def _ddl() -> str:
    return (resources.files("gateway.audit") / "audit.sql").read_text(encoding="utf-8")


class AuditStore:
    def __init__(self, dsn: str, pool_size: int = 4, timeout: float = 2.0) -> None:
        self._dsn = dsn
        self._pool_size = pool_size
        self._timeout = timeout
        self._pool: asyncpg.Pool | None = None
        self._lock = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def _translated(self, doing: str, *, timed: bool = True) -> AsyncIterator[None]:
        timeout = self._timeout if timed else None
        try:
            async with asyncio.timeout(timeout):
                yield
        except TimeoutError as exc:
            raise AuditStoreError(f"audit store: {doing}: no answer within {timeout}s") from exc
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise AuditStoreError(f"audit store: {doing}: {type(exc).__name__}: {exc}") from exc

    async def open(self) -> None:
        """Create the pool (once, however many callers race); a failure leaves it to retry."""
        if self._pool is not None:
            return
        async with self._lock:
            if self._pool is None:
                async with self._translated("connect"):
                    self._pool = await asyncpg.create_pool(
                        self._dsn,
                        min_size=1,
                        max_size=self._pool_size,
                        init=_init_connection,
                        server_settings={"application_name": "govgraph-audit"},
                    )

    async def _get_pool(self) -> asyncpg.Pool:
        await self.open()
        if self._pool is None:
            raise AuditStoreError("the audit store is closed")
        return self._pool

    async def install(self) -> None:
        """Create the audit tables unless they exist; refuse a half-installed schema."""
        pool = await self._get_pool()
        async with self._translated("install"), pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _INSTALL_LOCK)
            present = await conn.fetchval(
                "SELECT count(*) FROM unnest($1::text[]) t WHERE to_regclass(t) IS NOT NULL", list(TABLES)
            )
            if present == 0:
                await conn.execute(_ddl())
                await conn.execute(ACCESS_LOG_VIEW)
            elif present != len(TABLES):
                raise AuditStoreError(f"audit store: only {present} of {', '.join(TABLES)} exist")
            elif not await conn.fetchval(CURRENT):
                # Installed before events recorded their grant's basis or policy changes;
                # altered only then, so that a gateway whose role does not own the tables
                # still starts.
                await conn.execute("ALTER TABLE audit_event ADD COLUMN IF NOT EXISTS basis text")
                await conn.execute("ALTER TABLE audit_event ADD COLUMN IF NOT EXISTS detail jsonb")
                await conn.execute(
                    'CREATE INDEX IF NOT EXISTS audit_event_client ON audit_event (client, "time" DESC)'
                )
                await conn.execute(ACCESS_LOG_VIEW)

    async def append(self, rows: Sequence[EventRow], head: ChainHead) -> None:
        """Insert `rows`, their subject index rows and the new `head`, all or nothing."""
        if not rows:
            return
        if any(r.writer_id != head.writer_id for r in rows):
            raise ValueError("every row of a batch must belong to the head's writer")
        if (head.last_seq, head.last_hash) != (rows[-1].seq, rows[-1].hash):
            raise ValueError("the head must be the batch's last event")
        pool = await self._get_pool()
        async with self._translated(f"append {len(rows)} events"):
            await pool.fetchval(APPEND, list(rows), head.writer_id, head.last_seq, head.last_hash)

    async def head(self, writer_id: str) -> ChainHead | None:
        """The last committed link of a chain, as the store has it."""
        pool = await self._get_pool()
        async with self._translated("read chain head"):
            row = await pool.fetchrow(
                "SELECT last_seq, last_hash FROM audit_writer WHERE writer_id = $1", writer_id
            )
        return None if row is None else ChainHead(writer_id, row["last_seq"], row["last_hash"])

    async def chains(self) -> AsyncIterator[tuple[str, list[EventRow], ChainHead | None]]:
        """Every writer's events in seq order with its recorded head, one chain in memory at a time.

        Events and head come from one snapshot, so a writer committing meanwhile is not a false
        alarm. Reading a whole chain is not bounded by the request-path timeout.
        """
        pool = await self._get_pool()
        async with self._translated("list writers"):
            writers = [r["writer_id"] for r in await pool.fetch(WRITERS)]
        for writer_id in writers:
            async with (
                self._translated(f"read chain {writer_id}", timed=False),
                pool.acquire() as conn,
                conn.transaction(isolation="repeatable_read", readonly=True),
            ):
                records = await conn.fetch(
                    "SELECT * FROM audit_event WHERE writer_id = $1 ORDER BY seq", writer_id
                )
                head = await conn.fetchrow(
                    "SELECT last_seq, last_hash FROM audit_writer WHERE writer_id = $1", writer_id
                )
            rows = [EventRow(**dict(r)) for r in records]
            yield writer_id, rows, None if head is None else ChainHead(writer_id, *head)

    async def subject_index(self, writer_id: str, through_seq: int) -> dict[int, list[dict[str, Any]]]:
        """audit_subject rows of one writer up to a seq, in EventRow.subjects' shape: seq -> entries."""
        pool = await self._get_pool()
        async with self._translated(f"read subject index {writer_id}", timed=False):
            records = await pool.fetch(
                "SELECT seq, subject, scopes FROM audit_subject WHERE writer_id = $1 AND seq <= $2 "
                "ORDER BY seq, subject",
                writer_id,
                through_seq,
            )
        index: dict[int, list[dict[str, Any]]] = {}
        for r in records:
            index.setdefault(r["seq"], []).append({"subject": r["subject"], "scopes": list(r["scopes"])})
        return index

    async def subject_events(self, subject_hmac: str, limit: int = 1000) -> list[dict[str, Any]]:
        """Accesses to one subject, newest first: what each read, and what a look-up of the
        subject's id came to and the verdicts concluded about it, where there were any."""
        pool = await self._get_pool()
        async with self._translated("read access log"):
            records = await pool.fetch(SUBJECT_EVENTS, subject_hmac, limit)
        return [{**dict(r), "scopes": list(r["scopes"])} for r in records]

    async def client_events(self, client: str, limit: int = 1000) -> list[dict[str, Any]]:
        """One client's events, newest first: each with how many subjects it touched and how
        many fields were refused."""
        pool = await self._get_pool()
        async with self._translated("read access log"):
            records = await pool.fetch(CLIENT_EVENTS, client, limit)
        return [dict(r) for r in records]

    async def aclose(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()
