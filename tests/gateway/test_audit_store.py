"""The audit store against a real PostgreSQL server: install, atomic batches, look-ups."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import socket
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
import pytest_asyncio

from gateway.audit.queries import SUBJECT_EVENTS
from gateway.audit.reads import stream_index
from gateway.audit.store import AuditStore, AuditStoreError, ChainHead, EventRow

from .support import audit_blocked, audit_idle, chains

WRITER = "host-1-abcd"
T0 = dt.datetime(2026, 3, 1, 9, 30, 0, 123456, tzinfo=dt.UTC)


def row(seq: int, *subjects: tuple[str, list[str]], writer: str = WRITER) -> EventRow:
    # The store does not check hashes (the verifier does): any stand-in values do here.
    return EventRow(
        writer_id=writer,
        seq=seq,
        time=T0 + dt.timedelta(seconds=seq),
        request_id=f"req-{seq}",
        client="school-enrolment",
        purpose="enrolment_review",
        case_id="CASE-7",
        operator=None,
        operation="EnrolmentReview",
        document_hash="d" * 64,
        subjects=[{"subject": s, "scopes": scopes} for s, scopes in subjects],
        denied=[{"path": "person.taxCreditRating", "scope": "tax.credit_rating"}],
        outcome="partial",
        response_hash="r" * 64,
        prev_hash=f"{seq - 1:064x}",
        hash=f"{seq:064x}",
    )


def head_of(rows: list[EventRow]) -> ChainHead:
    return ChainHead(rows[-1].writer_id, rows[-1].seq, rows[-1].hash)


@pytest_asyncio.fixture
async def store(scratch_db: str) -> AsyncIterator[AuditStore]:
    # A roomy timeout: a test that waits for a statement to block must not race it.
    store = AuditStore(scratch_db, pool_size=2, timeout=30.0)
    await store.install(now=T0)  # the months of the rows below
    yield store
    await store.aclose()


async def counts(dsn: str) -> dict[str, Any]:
    conn = await asyncpg.connect(dsn)
    try:
        return {
            "events": await conn.fetchval("SELECT array_agg(seq ORDER BY seq) FROM audit_event"),
            "subjects": await conn.fetchval("SELECT count(*) FROM audit_subject"),
            "head": await conn.fetchval("SELECT last_seq FROM audit_writer"),
        }
    finally:
        await conn.close()


async def test_install_is_idempotent_and_safe_to_race(scratch_db: str) -> None:
    stores = [AuditStore(scratch_db) for _ in range(3)]
    try:
        await asyncio.gather(*(s.install() for s in stores))
        await stores[0].install()
        assert await chains(stores[0]) == []
    finally:
        for s in stores:
            await s.aclose()


async def test_install_refuses_a_half_installed_schema(store: AuditStore, scratch_db: str) -> None:
    conn = await asyncpg.connect(scratch_db)
    await conn.execute("DROP VIEW access_log")
    await conn.close()
    with pytest.raises(AuditStoreError, match="4 of"):
        await store.install()


async def test_append_round_trips_events_index_and_head(store: AuditStore, scratch_db: str) -> None:
    rows = [row(1, ("s-a", ["person.identity", "tax.rating"]), ("s-b", ["person.identity"])), row(2)]
    await store.append(rows, head_of(rows))

    # Exactly what went in comes back (time to the microsecond, jsonb lists): hashes depend on it.
    assert await chains(store) == [(WRITER, rows, head_of(rows))]
    assert await store.head(WRITER) == head_of(rows)
    async with store.snapshot() as conn:
        index = [(r["seq"], r["subject"], list(r["scopes"])) async for r in stream_index(conn, WRITER, 0, 2)]
    assert index == [(1, "s-a", ["person.identity", "tax.rating"]), (1, "s-b", ["person.identity"])]


async def test_a_batch_violating_the_primary_key_leaves_nothing(store: AuditStore, scratch_db: str) -> None:
    first = [row(1, ("s-a", ["x"]))]
    await store.append(first, head_of(first))

    bad = [row(2, ("s-b", ["y"])), row(1, ("s-c", ["z"]))]  # the second row repeats seq 1
    with pytest.raises(AuditStoreError, match="UniqueViolation"):
        await store.append(bad, head_of(bad))

    assert await counts(scratch_db) == {"events": [1], "subjects": 1, "head": 1}


async def test_a_batch_cut_off_mid_statement_leaves_nothing(store: AuditStore, scratch_db: str) -> None:
    first = [row(1)]
    await store.append(first, head_of(first))
    admin = await asyncpg.connect(scratch_db)
    watcher = await asyncpg.connect(scratch_db)
    try:
        # Hold the head row: the append inserts its events and index rows, then waits on it.
        tx = admin.transaction()
        await tx.start()
        await admin.execute("SELECT * FROM audit_writer FOR UPDATE")
        batch = [row(2, ("s-a", ["x"])), row(3, ("s-b", ["y"]))]
        append = asyncio.create_task(store.append(batch, head_of(batch)))
        pid = await audit_blocked(watcher)
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
        with pytest.raises(AuditStoreError):
            await append
        await tx.rollback()
    finally:
        await watcher.close()
        await admin.close()

    assert await counts(scratch_db) == {"events": [1], "subjects": 0, "head": 1}
    # The pool replaces the dead connection.
    await store.append(batch, head_of(batch))
    assert await counts(scratch_db) == {"events": [1, 2, 3], "subjects": 2, "head": 3}


async def test_a_batch_that_times_out_is_cancelled_on_the_server(scratch_db: str) -> None:
    # Long enough to see the statement waiting on the server before it times out.
    store = AuditStore(scratch_db, timeout=2.0)
    await store.install(now=T0)
    admin = await asyncpg.connect(scratch_db)
    watcher = await asyncpg.connect(scratch_db)
    try:
        first = [row(1)]
        await store.append(first, head_of(first))
        tx = admin.transaction()
        await tx.start()
        await admin.execute("SELECT * FROM audit_writer FOR UPDATE")
        batch = [row(2, ("s-a", ["x"]))]
        append = asyncio.create_task(store.append(batch, head_of(batch)))
        await audit_blocked(watcher)  # the statement reached the server and waits for the lock
        with pytest.raises(AuditStoreError, match="no answer within"):
            await append
        # It ended on the server while the lock is still held, so it was cancelled: had it
        # survived, it would commit once the lock goes.
        await audit_idle(watcher)
        await tx.rollback()
        assert await counts(scratch_db) == {"events": [1], "subjects": 0, "head": 1}
    finally:
        await watcher.close()
        await admin.close()
        await store.aclose()


async def test_a_closed_port_is_an_audit_store_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store = AuditStore(f"postgresql://postgres@127.0.0.1:{port}/audit", timeout=1.0)
    with pytest.raises(AuditStoreError):
        await store.append([row(1)], head_of([row(1)]))
    await store.aclose()


async def test_subject_events_finds_accesses_by_hmac_newest_first(store: AuditStore) -> None:
    rows = [row(1, ("s-a", ["person.identity"])), row(2, ("s-b", ["tax.rating"])), row(3, ("s-a", ["edu"]))]
    await store.append(rows, head_of(rows))

    found = await store.subject_events(["s-a"])
    assert [(e["seq"], e["scopes"], e["client"], e["purpose"]) for e in found] == [
        (3, ["edu"], "school-enrolment", "enrolment_review"),
        (1, ["person.identity"], "school-enrolment", "enrolment_review"),
    ]
    assert found[0]["time"] == rows[2].time
    assert found[0]["case_id"] == "CASE-7"
    assert await store.subject_events(["s-a"], limit=1) == found[:1]
    assert await store.subject_events(["s-nobody"]) == []


async def test_rows_of_another_writer_are_refused(store: AuditStore) -> None:
    with pytest.raises(ValueError, match="writer"):
        await store.append([row(1, writer="other")], ChainHead(WRITER, 1, "1" * 64))


async def test_a_subject_look_up_reads_only_the_months_asked(store: AuditStore, scratch_db: str) -> None:
    await store.ensure_partitions(dt.date(2026, 1, 1), dt.date(2026, 6, 1))
    march = [row(1, ("s-a", ["x"])), row(2, ("s-a", ["y"]))]  # T0 is in March
    await store.append(march, head_of(march))
    since, until = dt.datetime(2026, 3, 1, tzinfo=dt.UTC), dt.datetime(2026, 4, 1, tzinfo=dt.UTC)
    assert [e["seq"] for e in await store.subject_events(["s-a"], since=since, until=until)] == [2, 1]
    assert await store.subject_events(["s-a"], until=since) == []
    conn = await asyncpg.connect(scratch_db)
    try:
        plan = "\n".join(
            r[0] for r in await conn.fetch("EXPLAIN (COSTS OFF) " + SUBJECT_EVENTS, ["s-a"], 10, since, until)
        )
    finally:
        await conn.close()
    assert "audit_subject_p2026_03" in plan
    assert "audit_event_p2026_03" in plan
    read = {m for m in re.findall(r"audit_(?:event|subject)_p(\d{4}_\d{2})", plan)}
    assert read == {"2026_03"}  # no other month is read at all
