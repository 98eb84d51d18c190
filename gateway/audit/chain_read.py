"""Reading one chain for the verifier: its archived months' batches, then the database's
events and index rows in step inside a snapshot, fed to a ChainCheck (verify.py); and a
subject's accesses."""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import asyncpg

from gateway.audit.anchors import Anchors
from gateway.audit.reads import count_through, event_cursor, index_cursor
from gateway.audit.record import subject_keys
from gateway.audit.store import AuditStore, ChainHead
from gateway.audit.suite import get_suite
from gateway.audit.verify import _ORPHANS, BATCH, ChainCheck, ChainResult, Start

__all__ = ["check_chain", "subject_report"]


class _IndexReader:
    """A chain's audit_subject rows, fetched in step with its events."""

    def __init__(self, cursor: asyncpg.cursor.Cursor) -> None:
        self._cursor = cursor
        self._pending: list[asyncpg.Record] = []
        self._done = False

    async def through(self, seq: int) -> dict[int, list[tuple[str, list[str]]]]:
        """The rows of every event up to `seq`: seq -> [(subject, scopes)] in subject order."""
        while not self._done and (not self._pending or self._pending[-1]["seq"] <= seq):
            fetched = await self._cursor.fetch(BATCH * 2)
            self._done = len(fetched) < BATCH * 2
            self._pending.extend(fetched)
        cut = bisect.bisect_right(self._pending, seq, key=lambda r: r["seq"])
        taken, self._pending = self._pending[:cut], self._pending[cut:]
        grouped: dict[int, list[tuple[str, list[str]]]] = {}
        for seq_, subject, scopes in taken:
            grouped.setdefault(seq_, []).append((subject, scopes))
        return grouped


async def check_chain(
    conn: asyncpg.Connection,
    writer_id: str,
    head: ChainHead | None,
    start: Start,
    anchors: Anchors | None,
    archived: Iterable[Iterable[Mapping[str, Any]]] = (),
    progress: Callable[[int], None] | None = None,
    suite: str | None = None,
    anchor_span: float | None = None,
) -> ChainResult:
    """Check one chain: its archived events (batches from files) if given, then the database's
    from `start` on, inside a snapshot (AuditStore.snapshot). The suite is the head's, else
    `suite` (a chain whose head was deleted)."""
    name = head.suite if head is not None else suite or "sha256-ed25519"
    check = ChainCheck(writer_id, get_suite(name), start, anchors, anchor_span)
    for batch in archived:
        before = check.result.events
        check.feed(batch, None)
        if progress is not None:
            progress(check.result.events - before)
        if check.broken:
            return check.result
    if check.last_seq and not check.broken:
        await _nothing_before(conn, check, start)
    events = await event_cursor(conn, writer_id, check.last_seq)
    index = _IndexReader(await index_cursor(conn, writer_id, check.last_seq))
    while not check.broken:
        rows = await events.fetch(BATCH)
        if not rows:
            break
        check.feed(rows, await index.through(rows[-1]["seq"]))
        if progress is not None:
            progress(len(rows))
    if not check.broken:
        leftover = await index.through(2**62)
        if leftover:
            check.fail(f"writer {writer_id} seq {min(leftover)}: {_ORPHANS}")
    return check.finish(head)


async def _nothing_before(conn: asyncpg.Connection, check: ChainCheck, start: Start) -> None:
    """Reading the database starts after `check.last_seq`: what lies at or before it must be
    what should, or rows slipped in there would never be read. Archived seqs are not in the
    database at all; a resume point's seqs are there once each (their index rows are left to
    a full run)."""
    through = check.last_seq
    events, seqs, indexed = await count_through(conn, check.writer_id, through)
    expected = through - start.archived
    if events == expected and seqs == events and (expected or not indexed):
        return
    check.fail(
        f"writer {check.writer_id} seq {through}: the database holds {events} events and {indexed} index "
        f"rows at or before seq {through}, where {expected} events should be; rows were inserted "
        "there (or an archive did not finish: run `govgraph audit archive` again)"
    )


async def subject_report(
    store: AuditStore,
    secret: bytes,
    identifier: str,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """Who accessed this person or enterprise, when, for what purpose and which scopes; newest
    first, from chains of every suite."""
    return await store.subject_events(subject_keys(secret, identifier), since=since, until=until)
