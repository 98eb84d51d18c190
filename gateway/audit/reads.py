"""Reads inside a snapshot (AuditStore.snapshot): a chain's head, its events and index rows
in seq order, what lies before a point, and one month's partitions for `audit archive`.
With store.py and queries.py, the only modules that know the audit SQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg

from gateway.audit.partitions import Month, partition_name
from gateway.audit.store import ChainHead
from gateway.audit.suite import DEFAULT_SUITE

__all__ = [
    "MonthReader",
    "count_through",
    "event_cursor",
    "index_cursor",
    "read_head",
    "stream_events",
    "stream_index",
]

_EVENTS = "SELECT * FROM audit_event WHERE writer_id = $1 AND seq > $2 ORDER BY seq"
_INDEX = (
    "SELECT seq, subject, scopes FROM audit_subject WHERE writer_id = $1 AND seq > $2 ORDER BY seq, subject"
)


async def event_cursor(conn: asyncpg.Connection, writer_id: str, after_seq: int) -> asyncpg.cursor.Cursor:
    """A cursor over one chain's events after `after_seq`, in seq order."""
    return await conn.cursor(_EVENTS, writer_id, after_seq)


async def index_cursor(conn: asyncpg.Connection, writer_id: str, after_seq: int) -> asyncpg.cursor.Cursor:
    """A cursor over one chain's subject index rows after `after_seq`, in (seq, subject) order."""
    return await conn.cursor(_INDEX, writer_id, after_seq)


async def count_through(conn: asyncpg.Connection, writer_id: str, seq: int) -> tuple[int, int, int]:
    """(events, distinct seqs, index rows) the database holds for a chain at or before `seq`."""
    row = await conn.fetchrow(
        "SELECT (SELECT count(*) FROM audit_event WHERE writer_id = $1 AND seq <= $2), "
        "(SELECT count(DISTINCT seq) FROM audit_event WHERE writer_id = $1 AND seq <= $2), "
        "(SELECT count(*) FROM audit_subject WHERE writer_id = $1 AND seq <= $2)",
        writer_id,
        seq,
    )
    return row[0], row[1], row[2]


async def read_head(conn: asyncpg.Connection, writer_id: str) -> ChainHead | None:
    """A chain's head as `conn`'s snapshot has it."""
    row = await conn.fetchrow(
        "SELECT last_seq, last_hash, suite FROM audit_writer WHERE writer_id = $1", writer_id
    )
    return None if row is None else ChainHead(writer_id, row["last_seq"], row["last_hash"], row["suite"])


async def stream_events(
    conn: asyncpg.Connection, writer_id: str, after_seq: int = 0, prefetch: int = 2000
) -> AsyncIterator[asyncpg.Record]:
    """One chain's events after `after_seq`, in seq order, a few thousand in memory at a time
    (inside AuditStore.snapshot)."""
    query = "SELECT * FROM audit_event WHERE writer_id = $1 AND seq > $2 ORDER BY seq"
    async for record in conn.cursor(query, writer_id, after_seq, prefetch=prefetch):
        yield record


async def stream_index(
    conn: asyncpg.Connection, writer_id: str, after_seq: int, through_seq: int, prefetch: int = 4000
) -> AsyncIterator[asyncpg.Record]:
    """One chain's subject index rows in (seq, subject) order, after_seq < seq <= through_seq."""
    query = (
        "SELECT seq, subject, scopes FROM audit_subject WHERE writer_id = $1 AND seq > $2 AND seq <= $3 "
        "ORDER BY seq, subject"
    )
    async for record in conn.cursor(query, writer_id, after_seq, through_seq, prefetch=prefetch):
        yield record


class MonthReader:
    """One month's partitions read inside a snapshot, for `audit archive`. Partition names are
    made by partition_name from a date, never from input, hence the formatted SQL."""

    def __init__(self, conn: asyncpg.Connection, month: Month) -> None:
        self._conn = conn
        events, subjects = partition_name("audit_event", month), partition_name("audit_subject", month)
        self._chains = (
            f"SELECT e.writer_id, coalesce(w.suite, $1) AS suite FROM (SELECT DISTINCT writer_id FROM {events}) e "  # noqa: S608, E501
            "LEFT JOIN audit_writer w USING (writer_id) ORDER BY 1"
        )
        self._first = f"SELECT seq, prev_hash FROM {events} WHERE writer_id = $1 ORDER BY seq LIMIT 1"  # noqa: S608
        self._events = f"SELECT * FROM {events} WHERE writer_id = $1 ORDER BY seq"  # noqa: S608
        self._named = f"SELECT coalesce(sum(jsonb_array_length(subjects)), 0) FROM {events}"  # noqa: S608
        self._indexed = f"SELECT count(*) FROM {subjects}"  # noqa: S608
        self._ends = (
            "SELECT DISTINCT ON (writer_id) writer_id, seq, hash, count(*) OVER (PARTITION BY writer_id) "  # noqa: S608
            f"AS n FROM {events} ORDER BY writer_id, seq DESC"
        )

    async def chains(self) -> list[tuple[str, str]]:
        """(writer id, suite) of every chain with events in the month."""
        rows = await self._conn.fetch(self._chains, DEFAULT_SUITE)
        return [(r["writer_id"], r["suite"]) for r in rows]

    async def first(self, writer_id: str) -> tuple[int, str]:
        """The seq and prev_hash of the chain's first event in the month."""
        row = await self._conn.fetchrow(self._first, writer_id)
        return row["seq"], row["prev_hash"]

    async def events(self, writer_id: str, batch: int = 2000) -> AsyncIterator[list[asyncpg.Record]]:
        cursor = await self._conn.cursor(self._events, writer_id)
        while rows := await cursor.fetch(batch):
            yield rows

    async def index_counts(self) -> tuple[int, int]:
        """(subjects the month's events name, audit_subject rows the month holds)."""
        return await self._conn.fetchval(self._named), await self._conn.fetchval(self._indexed)

    async def ends(self) -> dict[str, tuple[int, int, str]]:
        """writer id -> (events, last seq, last hash) in the month."""
        rows = await self._conn.fetch(self._ends)
        return {r["writer_id"]: (r["n"], r["seq"], r["hash"]) for r in rows}
