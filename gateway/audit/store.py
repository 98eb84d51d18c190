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
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import asyncpg
import orjson

from gateway.audit.errors import AuditStoreError
from gateway.audit.partitions import (
    PARTITIONED,
    Month,
    month_from_partition,
    month_of,
    months_between,
    next_month,
    partition_ddl,
    partition_name,
)
from gateway.audit.queries import (
    ACCESS_LOG_VIEW,
    APPEND,
    CLIENT_EVENTS,
    CURRENT,
    LAYOUT,
    LEGACY_ASIDE,
    LEGACY_MONTHS,
    LEGACY_MOVE,
    PARTITIONS,
    STORE_ID,
    SUBJECT_EVENTS,
    WRITERS,
)
from gateway.audit.suite import DEFAULT_SUITE
from sources.postgres import keep_session

__all__ = ["AuditStore", "AuditStoreError", "ChainHead", "EventRow"]

TABLES = ("audit_event", "audit_subject", "audit_writer", "audit_archive", "access_log")
LEGACY_TABLES = ("audit_event", "audit_subject", "audit_writer", "access_log")
EVENT_COLUMNS = (
    "writer_id", "seq", "time", "request_id", "client", "purpose", "case_id", "operator", "operation",
    "document_hash", "basis", "detail", "subjects", "denied", "outcome", "response_hash", "prev_hash", "hash",
)  # fmt: skip
MONTHS_AHEAD = 2  # months created beyond the current one
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
    suite: str = DEFAULT_SUITE  # the chain's cryptographic suite (suite.py), fixed at its start


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
        self.dsn = dsn
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
                        reset=keep_session,  # the store's transactions are its only state
                    )

    async def _get_pool(self) -> asyncpg.Pool:
        await self.open()
        if self._pool is None:
            raise AuditStoreError("the audit store is closed")
        return self._pool

    async def install(self, now: dt.datetime | None = None) -> None:
        """Create the audit tables and this month's partitions (and the next ones) unless they
        exist; move a log installed before partitioning into them; refuse a half-installed one."""
        pool = await self._get_pool()
        current = month_of(now or dt.datetime.now(dt.UTC))
        async with self._translated("install", timed=False), pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _INSTALL_LOCK)
            layout = await conn.fetchval(LAYOUT)
            expected = LEGACY_TABLES if layout == "r" else TABLES
            present = await conn.fetchval(
                "SELECT count(*) FROM unnest($1::text[]) t WHERE to_regclass(t) IS NOT NULL", list(expected)
            )
            if present == 0:
                await conn.execute(_ddl())
                await conn.execute(ACCESS_LOG_VIEW)
            elif present != len(expected):
                raise AuditStoreError(f"audit store: only {present} of {', '.join(expected)} exist")
            elif layout == "r":
                await _migrate(conn)
            await conn.execute(_months_ddl(current, next_month(current, MONTHS_AHEAD)))
            await conn.execute(STORE_ID)

    async def identity(self) -> str:
        """The store's id, made when it was installed: checkpoints name it, so a checkpoint
        log never mixes two stores' chains."""
        pool = await self._get_pool()
        async with self._translated("read the store's id"):
            found: str = await pool.fetchval("SELECT id FROM audit_store")
        return found

    async def ensure_partitions(self, first: Month, last: Month) -> None:
        """Create the partitions of the months first..last that do not exist yet."""
        pool = await self._get_pool()
        async with self._translated("create partitions"), pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _INSTALL_LOCK)
            await conn.execute(_months_ddl(first, last))

    async def months(self) -> list[Month]:
        """The months the database holds partitions for, oldest first."""
        pool = await self._get_pool()
        async with self._translated("list partitions"):
            names = [r["relname"] for r in await pool.fetch(PARTITIONS)]
        return sorted(m for m in map(month_from_partition, names) if m is not None)

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
            await pool.fetchval(APPEND, list(rows), head.writer_id, head.last_seq, head.last_hash, head.suite)

    async def copy(self, rows: Iterable[EventRow], heads: Iterable[ChainHead]) -> int:
        """COPY events in, with their subject index rows, and set the chains' heads: the rows
        APPEND would write, at bulk speed (`audit synth`). One transaction."""
        events = [tuple(getattr(r, c) for c in EVENT_COLUMNS) for r in rows]
        index = [
            (e["subject"], r[0], r[1], r[2], list(e["scopes"]))
            for r in events
            for e in r[EVENT_COLUMNS.index("subjects")]
        ]
        pool = await self._get_pool()
        async with (
            self._translated(f"copy {len(events)} events", timed=False),
            pool.acquire() as conn,
            conn.transaction(),
        ):
            await conn.copy_records_to_table("audit_event", records=events, columns=EVENT_COLUMNS)
            await conn.copy_records_to_table(
                "audit_subject", records=index, columns=("subject", "writer_id", "seq", "time", "scopes")
            )
            await conn.executemany(
                "INSERT INTO audit_writer (writer_id, last_seq, last_hash, started_at, suite) "
                "VALUES ($1, $2, $3, now(), $4) ON CONFLICT (writer_id) DO UPDATE "
                "SET last_seq = excluded.last_seq, last_hash = excluded.last_hash",
                [(h.writer_id, h.last_seq, h.last_hash, h.suite) for h in heads],
            )
        return len(events)

    async def head(self, writer_id: str) -> ChainHead | None:
        """The last committed link of a chain, as the store has it."""
        pool = await self._get_pool()
        async with self._translated("read chain head"):
            row = await pool.fetchrow(
                "SELECT last_seq, last_hash, suite FROM audit_writer WHERE writer_id = $1", writer_id
            )
        return None if row is None else ChainHead(writer_id, row["last_seq"], row["last_hash"], row["suite"])

    async def writers(self) -> list[tuple[str, ChainHead | None]]:
        """Every chain the database knows of, with its recorded head (None if it has none)."""
        pool = await self._get_pool()
        async with self._translated("list writers", timed=False):
            records = await pool.fetch(WRITERS)
        return [
            (
                r["writer_id"],
                None if r["last_seq"] is None else ChainHead(r["writer_id"], *list(r.values())[1:]),
            )
            for r in records
        ]

    @contextlib.asynccontextmanager
    async def snapshot(self) -> AsyncIterator[asyncpg.Connection]:
        """A connection in a read-only repeatable-read transaction: a chain, its index and its
        head read from it agree, however much is committed meanwhile. Not bounded by the
        request-path timeout."""
        pool = await self._get_pool()
        async with (
            self._translated("read the log", timed=False),
            pool.acquire() as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            yield conn

    async def archived(self) -> list[dict[str, Any]]:
        """The months archived out of the database, oldest first, with their manifests."""
        pool = await self._get_pool()
        async with self._translated("read archived months"):
            records = await pool.fetch(
                "SELECT month, archived_at, events, manifest, manifest_digest FROM audit_archive "
                "ORDER BY month"
            )
        return [dict(r) for r in records]

    async def record_archived(self, month: Month, events: int, manifest: bytes, digest: str) -> None:
        """Record that a month's files are written and checked (before its partitions go)."""
        pool = await self._get_pool()
        async with self._translated(f"record {month:%Y-%m} as archived"):
            await pool.execute(
                "INSERT INTO audit_archive (month, events, manifest, manifest_digest) "
                "VALUES ($1, $2, $3, $4)",
                month,
                events,
                orjson.loads(manifest),
                digest,
            )

    async def drop_month(self, month: Month) -> None:
        """Detach a recorded month's partitions without blocking commits (CONCURRENTLY: it
        waits for readers instead), then drop them. Picks up where an interrupted run stopped."""
        pool = await self._get_pool()
        async with self._translated(f"drop {month:%Y-%m}", timed=False), pool.acquire() as conn:
            for table in PARTITIONED:
                name = partition_name(table, month)
                attached = await conn.fetchval(
                    "SELECT EXISTS (SELECT FROM pg_inherits WHERE inhrelid = to_regclass($1) "
                    "AND inhparent = to_regclass($2))",
                    name,
                    table,
                )
                if attached:
                    await conn.execute(f"ALTER TABLE {table} DETACH PARTITION {name} CONCURRENTLY")
                await conn.execute(f"DROP TABLE IF EXISTS {name}")

    async def archived_months(self) -> set[Month]:
        pool = await self._get_pool()
        async with self._translated("read archived months"):
            return {r["month"] for r in await pool.fetch("SELECT month FROM audit_archive")}

    async def subject_events(
        self,
        subject_hmacs: tuple[str, ...] | list[str],  # not Sequence: a lone str would be one too
        limit: int = 1000,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
    ) -> list[dict[str, Any]]:
        """Accesses to one subject (its HMAC under each suite the log has used), newest first:
        what each read, and what a look-up of the subject's id came to and the verdicts
        concluded about it, where there were any. `since`/`until` bound the months read."""
        pool = await self._get_pool()
        low = since or dt.datetime.min.replace(tzinfo=dt.UTC)
        high = until or dt.datetime.max.replace(tzinfo=dt.UTC)
        async with self._translated("read access log"):
            records = await pool.fetch(SUBJECT_EVENTS, list(subject_hmacs), limit, low, high)
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


def _months_ddl(first: Month, last: Month) -> str:
    return "\n".join(partition_ddl(m) for m in months_between(first, last))


async def _migrate(conn: asyncpg.Connection) -> None:
    """Move a log installed before partitioning (and perhaps before basis and detail) into the
    partitioned tables, within the caller's transaction."""
    if not await conn.fetchval(CURRENT):
        await conn.execute("ALTER TABLE audit_event ADD COLUMN IF NOT EXISTS basis text")
        await conn.execute("ALTER TABLE audit_event ADD COLUMN IF NOT EXISTS detail jsonb")
    await conn.execute(LEGACY_ASIDE)
    await conn.execute(_ddl())
    first, last = await conn.fetchrow(LEGACY_MONTHS)
    now = month_of(dt.datetime.now(dt.UTC))  # an index row without its event moves to now
    await conn.execute(
        _months_ddl(month_of(first) if first else now, max(month_of(last), now) if last else now)
    )
    await conn.execute(LEGACY_MOVE)
    await conn.execute(ACCESS_LOG_VIEW)
