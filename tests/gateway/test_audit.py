"""The audit writer against a real PostgreSQL: group commit, the hash chain, tampering, outages."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import orjson
import pytest
import pytest_asyncio

from demo.departments import database_dsn
from gateway.audit.chain_read import subject_report
from gateway.audit.record import (
    GENESIS,
    AccessRecord,
    AuditUnavailable,
    _hashed_fields,
    canonical_hash,
    event_hash,
    link,
    subject_key,
)
from gateway.audit.store import AuditStore, AuditStoreError, ChainHead, EventRow
from gateway.audit.sweep import verify
from gateway.audit.writer import AuditWriter
from tests.waiting import until

from .support import audit_blocked, audit_idle, chains

SECRET = b"test-audit-secret-0123456789abcdef"
CHILD = "350203201503071234"
GUARDIAN = "35020319850101002X"
EMPLOYER = "91350200MA2XXXXX1B"


def access(n: int = 0, *, purpose: str = "enrolment_review") -> AccessRecord:
    record = AccessRecord(
        request_id=f"req-{n}",
        client="school-enrolment",
        purpose=purpose,
        case_id=f"CASE-{n}",
        operator="op-17",
        operation="EnrolmentReview",
        document_hash=canonical_hash("query EnrolmentReview { ... }"),
    )
    record.read(CHILD, "person.identity")
    record.read(CHILD, "person.household")
    record.read(GUARDIAN, "social_insurance.records")
    record.read(CHILD, "person.identity")
    record.deny("person.guardians.0.currentEmployer.taxCreditRating", "tax.credit_rating")
    return record


@pytest_asyncio.fixture
async def store(scratch_db: str) -> AsyncIterator[AuditStore]:
    store = AuditStore(scratch_db, timeout=1.0)
    await store.install()
    yield store
    await store.aclose()


@pytest_asyncio.fixture
async def roomy_store(scratch_db: str) -> AsyncIterator[AuditStore]:
    """A store whose own timeout never ends a commit first: a test waiting for a commit to
    block on the server must not race it."""
    store = AuditStore(scratch_db, timeout=30.0)
    await store.install()
    yield store
    await store.aclose()


@pytest_asyncio.fixture
async def writer(store: AuditStore) -> AsyncIterator[AuditWriter]:
    writer = AuditWriter(store, SECRET, commit_timeout=1.0)
    await writer.start()
    yield writer
    await writer.aclose()


async def record_many(writer: AuditWriter, n: int) -> None:
    await asyncio.gather(*(writer.record(access(i), "ok", canonical_hash({"i": i})) for i in range(n)))


async def sql(dsn: str, statement: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return list(await conn.fetch(statement, *args))
    finally:
        await conn.close()


async def tamper(dsn: str, statement: str) -> None:
    """What an owner or superuser can do: bypass the append-only triggers and edit."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SET session_replication_role = replica")
        await conn.execute(statement)
    finally:
        await conn.close()


async def seqs(dsn: str) -> list[int]:
    return [r["seq"] for r in await sql(dsn, "SELECT seq FROM audit_event ORDER BY seq")]


# --- the request-side record -------------------------------------------------------------


def test_access_record_collects_scopes_per_subject_and_denials() -> None:
    record = access()
    assert record.subjects == {
        CHILD: {"person.identity", "person.household"},
        GUARDIAN: {"social_insurance.records"},
    }
    assert record.denied == [("person.guardians.0.currentEmployer.taxCreditRating", "tax.credit_rating")]
    assert record.touched
    blank = AccessRecord("r", "c", "p", None, None, None, "d")
    assert not blank.touched
    blank.deny("person.name", "person.identity")
    assert blank.touched


def test_hashes_are_canonical_and_chained() -> None:
    assert canonical_hash({"b": 1, "a": [1, 2]}) == canonical_hash({"a": [1, 2], "b": 1})
    assert canonical_hash({"a": [1, 2]}) != canonical_hash({"a": [2, 1]})
    link = event_hash(GENESIS, {"seq": 1, "purpose": "x"})
    assert link == event_hash(GENESIS, {"purpose": "x", "seq": 1})
    assert link != event_hash("1" * 64, {"seq": 1, "purpose": "x"})
    assert link != event_hash(GENESIS, {"seq": 1, "purpose": "y"})


def test_subject_key_depends_on_the_secret() -> None:
    key = subject_key(SECRET, CHILD)
    assert len(key) == 64
    assert CHILD not in key
    assert key == subject_key(SECRET, CHILD)
    assert key != subject_key(b"another-secret-0123456789abcdef!", CHILD)
    assert key != subject_key(SECRET, GUARDIAN)


def test_writer_refuses_a_short_secret() -> None:
    with pytest.raises(ValueError, match="secret"):
        AuditWriter(AuditStore("postgresql://unused/audit"), b"short")


# --- group commit and the chain ----------------------------------------------------------


async def test_concurrent_records_are_group_committed_into_one_valid_chain(
    writer: AuditWriter, store: AuditStore, scratch_db: str
) -> None:
    await record_many(writer, 500)

    assert writer.stats.events == 500
    assert 1 <= writer.stats.batches < 500
    assert writer.stats.failures == 0
    assert writer.queue_depth == 0
    report = await verify(store)
    assert (report.chains, report.events, report.problems) == (1, 500, [])
    assert await seqs(scratch_db) == list(range(1, 501))
    head = await store.head(writer.writer_id)
    assert head is not None
    assert head.last_seq == 500


class SlowStore(AuditStore):
    """Commits only when the test opens the gate."""

    def __init__(self, dsn: str) -> None:
        super().__init__(dsn)
        self.gate = asyncio.Event()
        self.appending = 0

    async def append(self, rows: Sequence[EventRow], head: ChainHead) -> None:
        self.appending += 1
        await self.gate.wait()
        await super().append(rows, head)


async def test_events_queued_during_a_commit_are_committed_next_without_waiting_for_more(
    scratch_db: str,
) -> None:
    store = SlowStore(scratch_db)
    await store.install()
    # A commit waits far longer than the test for more events unless its batch is full (2).
    writer = AuditWriter(store, SECRET, max_batch=2, max_wait=60.0, commit_timeout=30.0)
    await writer.start()
    try:
        full = asyncio.gather(*(writer.record(access(i), "ok", "r" * 64) for i in range(2)))
        await until(lambda: store.appending == 1, "the full batch's commit to start")
        late = asyncio.ensure_future(writer.record(access(2), "ok", "r" * 64))  # during that commit
        await until(lambda: writer.queue_depth == 1, "the late record to queue")
        store.gate.set()
        await full
        await late  # its own commit, at once: it waited for the one before already
        assert (writer.stats.batches, writer.stats.events) == (2, 3)
    finally:
        await writer.aclose()
        await store.aclose()


async def test_an_operation_alone_in_flight_commits_at_once_and_siblings_join_its_commit(
    store: AuditStore,
) -> None:
    # max_wait is far longer than the test: only the operations' ends let a commit go early.
    writer = AuditWriter(store, SECRET, max_wait=60.0, commit_timeout=30.0, siblings=True)
    await writer.start()
    try:
        alone = writer.begin()
        await asyncio.wait_for(writer.record(access(0), "ok", "r" * 64, alone), 10)
        assert (writer.stats.batches, writer.stats.events, writer.operations_open) == (1, 1, 0)

        first, second = writer.begin(), writer.begin()
        waiting = asyncio.ensure_future(writer.record(access(1), "ok", "r" * 64, first))
        await until(lambda: writer.queue_depth == 1, "the first event to queue")
        await asyncio.sleep(0.05)
        assert not waiting.done()  # its commit waits for the sibling still executing
        await asyncio.wait_for(writer.record(access(2), "ok", "r" * 64, second), 10)
        await waiting
        assert (writer.stats.batches, writer.stats.events) == (2, 3)  # one commit for both

        third, silent = writer.begin(), writer.begin()
        waiting = asyncio.ensure_future(writer.record(access(3), "ok", "r" * 64, third))
        await until(lambda: writer.queue_depth == 1, "the third event to queue")
        silent.end()  # an operation that read nothing records no event
        silent.end()  # ending twice counts once
        await asyncio.wait_for(waiting, 10)
        assert (writer.stats.batches, writer.stats.events, writer.operations_open) == (3, 4, 0)
    finally:
        await writer.aclose()


async def test_the_event_holds_what_the_request_read(writer: AuditWriter, store: AuditStore) -> None:
    await writer.record(access(), "partial", "r" * 64)

    [(writer_id, [event], _)] = await chains(store)
    assert writer_id == writer.writer_id
    assert (event.seq, event.prev_hash, event.outcome, event.response_hash) == (
        1,
        GENESIS,
        "partial",
        "r" * 64,
    )
    assert (event.client, event.purpose, event.case_id, event.operator) == (
        "school-enrolment",
        "enrolment_review",
        "CASE-0",
        "op-17",
    )
    expected = [
        {"subject": subject_key(SECRET, CHILD), "scopes": ["person.household", "person.identity"]},
        {"subject": subject_key(SECRET, GUARDIAN), "scopes": ["social_insurance.records"]},
    ]
    assert event.subjects == sorted(expected, key=lambda s: str(s["subject"]))  # stored in HMAC order
    assert event.denied == [
        {"path": "person.guardians.0.currentEmployer.taxCreditRating", "scope": "tax.credit_rating"}
    ]


async def test_verify_while_events_are_being_written_raises_no_false_alarm(
    writer: AuditWriter, store: AuditStore
) -> None:
    assert (await verify(store)).chains == 0
    writing = asyncio.create_task(record_many(writer, 2000))
    while not writing.done():
        report = await verify(store)
        assert report.problems == []
    await writing


async def test_a_writer_that_reuses_its_id_continues_its_chain(store: AuditStore) -> None:
    for _ in range(2):
        writer = AuditWriter(store, SECRET, writer_id="fixed-writer")
        await writer.start()
        await record_many(writer, 3)
        await writer.aclose()
    report = await verify(store)
    assert (report.chains, report.events, report.problems) == (1, 6, [])


async def test_unusable_request_text_does_not_sink_the_batch(writer: AuditWriter, store: AuditStore) -> None:
    record = access()
    record.operator = "op\x00\ud800"  # PostgreSQL stores neither
    await asyncio.gather(writer.record(record, "ok", "r" * 64), writer.record(access(1), "ok", "r" * 64))
    assert writer.stats.events == 2
    assert (await verify(store)).problems == []


async def test_a_bad_outcome_is_a_programming_error(writer: AuditWriter) -> None:
    with pytest.raises(ValueError, match="outcome"):
        await writer.record(access(), "fine", "r" * 64)


# --- tampering ---------------------------------------------------------------------------


@pytest_asyncio.fixture
async def five(writer: AuditWriter, store: AuditStore) -> str:
    for i in range(5):  # one at a time: five batches, five links
        await writer.record(access(i), "ok", canonical_hash(i))
    assert (await verify(store)).problems == []
    return writer.writer_id


def only_problem(problems: Sequence[str], writer_id: str, seq: int) -> str:
    assert len(problems) == 1, problems
    assert f"writer {writer_id} seq {seq}:" in problems[0]
    return problems[0]


async def test_the_log_refuses_plain_updates_and_deletes(five: str, scratch_db: str) -> None:
    for statement in (
        "UPDATE audit_event SET purpose = 'x'",
        "DELETE FROM audit_subject",
        "TRUNCATE audit_event",
    ):
        with pytest.raises(asyncpg.RaiseError, match="append-only"):
            await sql(scratch_db, statement)


async def test_an_updated_value_is_detected(five: str, store: AuditStore, scratch_db: str) -> None:
    await tamper(scratch_db, "UPDATE audit_event SET purpose = 'curiosity' WHERE seq = 3")
    problem = only_problem((await verify(store)).problems, five, 3)
    assert "altered" in problem


async def test_an_updated_value_with_a_recomputed_hash_breaks_the_next_link(
    five: str, store: AuditStore, scratch_db: str
) -> None:
    [(_, rows, _)] = await chains(store)
    forged = {**vars(rows[2]), "purpose": "curiosity"}
    new_hash = event_hash(forged["prev_hash"], _hashed_fields(forged))  # the forger knows the algorithm
    await tamper(
        scratch_db, f"UPDATE audit_event SET purpose = 'curiosity', hash = '{new_hash}' WHERE seq = 3"
    )
    problem = only_problem((await verify(store)).problems, five, 4)
    assert "prev_hash" in problem


async def test_a_deleted_middle_event_is_detected(five: str, store: AuditStore, scratch_db: str) -> None:
    await tamper(scratch_db, "DELETE FROM audit_event WHERE seq = 3; DELETE FROM audit_subject WHERE seq = 3")
    assert "missing" in only_problem((await verify(store)).problems, five, 3)


async def test_a_deleted_newest_event_is_detected(five: str, store: AuditStore, scratch_db: str) -> None:
    await tamper(scratch_db, "DELETE FROM audit_event WHERE seq = 5; DELETE FROM audit_subject WHERE seq = 5")
    assert "newest events were deleted" in only_problem((await verify(store)).problems, five, 5)


async def test_swapped_seq_numbers_are_detected(five: str, store: AuditStore, scratch_db: str) -> None:
    swap = "UPDATE {t} SET seq = 99 WHERE seq = 2; UPDATE {t} SET seq = 2 WHERE seq = 3;" + (
        "UPDATE {t} SET seq = 3 WHERE seq = 99;"
    )
    await tamper(scratch_db, swap.format(t="audit_event") + swap.format(t="audit_subject"))
    assert "prev_hash" in only_problem((await verify(store)).problems, five, 2)


async def test_an_edited_subject_index_is_detected(five: str, store: AuditStore, scratch_db: str) -> None:
    await tamper(
        scratch_db, "DELETE FROM audit_subject WHERE seq = 4 AND scopes = '{social_insurance.records}'"
    )
    assert "audit_subject" in only_problem((await verify(store)).problems, five, 4)


async def test_each_chain_reports_its_own_first_break(five: str, store: AuditStore, scratch_db: str) -> None:
    other = AuditWriter(store, SECRET)
    await other.start()
    await record_many(other, 4)
    await other.aclose()
    await tamper(scratch_db, "UPDATE audit_event SET client = 'x' WHERE seq IN (2, 4)")
    report = await verify(store)
    assert (report.chains, report.events) == (2, 2)  # each read up to its break, at seq 2
    assert len(report.problems) == 2
    for writer_id in (five, other.writer_id):
        assert [p for p in report.problems if f"writer {writer_id} seq 2:" in p]


# --- the store going away ----------------------------------------------------------------


async def set_connections(dsn: str, allowed: bool) -> None:
    name = urlsplit(dsn).path.lstrip("/")
    admin = await asyncpg.connect(database_dsn(dsn))
    try:
        await admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS {str(allowed).lower()}")
        if not allowed:
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name
            )
    finally:
        await admin.close()


async def test_store_down_fails_requests_and_the_chain_resumes_without_a_gap(
    writer: AuditWriter, store: AuditStore, scratch_db: str
) -> None:
    await record_many(writer, 3)
    await set_connections(scratch_db, allowed=False)
    try:
        with pytest.raises(AuditUnavailable):
            await record_many(writer, 5)
        assert writer.stats.failures >= 1
    finally:
        await set_connections(scratch_db, allowed=True)

    assert await seqs(scratch_db) == [1, 2, 3]  # nothing of the failed events
    await record_many(writer, 2)
    assert await seqs(scratch_db) == [1, 2, 3, 4, 5]
    report = await verify(store)
    assert (report.events, report.problems) == (5, [])


async def test_a_batch_cut_off_mid_commit_leaves_no_partial_rows(
    roomy_store: AuditStore, scratch_db: str
) -> None:
    writer = AuditWriter(roomy_store, SECRET, commit_timeout=30.0)  # the termination ends the commit
    await writer.start()
    try:
        await record_many(writer, 2)
        admin = await asyncpg.connect(scratch_db)
        watcher = await asyncpg.connect(scratch_db)
        try:
            tx = admin.transaction()
            await tx.start()
            await admin.execute("SELECT * FROM audit_writer FOR UPDATE")  # the commit waits after its inserts
            pending = asyncio.gather(*(writer.record(access(i), "ok", "r" * 64) for i in range(4)))
            pid = await audit_blocked(watcher)
            assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
            with pytest.raises(AuditUnavailable, match="did not take"):
                await pending
            await tx.rollback()
        finally:
            await watcher.close()
            await admin.close()

        assert await seqs(scratch_db) == [1, 2]
        assert len(await sql(scratch_db, "SELECT 1 FROM audit_subject")) == 4
        await writer.record(access(), "ok", "r" * 64)
    finally:
        await writer.aclose()
    report = await verify(roomy_store)
    assert (report.events, report.problems) == (3, [])


async def test_a_commit_slower_than_the_timeout_fails_the_request(
    roomy_store: AuditStore, scratch_db: str
) -> None:
    # Long enough to see the commit waiting on the server before it times out.
    writer = AuditWriter(roomy_store, SECRET, commit_timeout=2.0)
    await writer.start()
    try:
        await writer.record(access(), "ok", "r" * 64)
        admin = await asyncpg.connect(scratch_db)
        watcher = await asyncpg.connect(scratch_db)
        try:
            async with admin.transaction():
                await admin.execute("LOCK TABLE audit_event IN EXCLUSIVE MODE")
                slow = asyncio.create_task(writer.record(access(1), "ok", "r" * 64))
                await audit_blocked(watcher)
                with pytest.raises(AuditUnavailable, match="within"):
                    await slow
                # The cancel has reached the server before the lock goes: had the statement
                # survived, it would commit and the log would hold three events.
                await audit_idle(watcher)
        finally:
            await watcher.close()
            await admin.close()
        await writer.record(access(2), "ok", "r" * 64)
    finally:
        await writer.aclose()
    report = await verify(roomy_store)
    assert (report.events, report.problems) == (2, [])


class CommitsThenFails(AuditStore):
    """A commit that lands on the server while the client sees a failure (e.g. a lost reply)."""

    fail_next = True

    async def append(self, rows: Sequence[EventRow], head: ChainHead) -> None:
        await super().append(rows, head)
        if self.fail_next:
            self.fail_next = False
            raise AuditStoreError("connection lost after COMMIT")


async def test_after_an_ambiguous_failure_the_writer_relinks_to_the_stored_head(scratch_db: str) -> None:
    store = CommitsThenFails(scratch_db)
    await store.install()
    writer = AuditWriter(store, SECRET)
    await writer.start()
    try:
        with pytest.raises(AuditUnavailable):
            await writer.record(access(), "ok", "r" * 64)
        await writer.record(access(1), "ok", "r" * 64)
    finally:
        await writer.aclose()
        report = await verify(store)
        await store.aclose()
    # The first event was committed after all: logged though not released, never the reverse.
    assert (report.events, report.problems) == (2, [])


async def test_a_store_on_a_closed_port_fails_requests() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store = AuditStore(f"postgresql://postgres@127.0.0.1:{port}/audit", timeout=0.5)
    writer = AuditWriter(store, SECRET)
    await writer.start()
    try:
        with pytest.raises(AuditUnavailable):
            await writer.record(access(), "ok", "r" * 64)
    finally:
        await writer.aclose()
        await store.aclose()


async def test_close_drains_the_queue_and_then_refuses(store: AuditStore) -> None:
    # A batch waits far longer than the test for more events: only the close commits these.
    writer = AuditWriter(store, SECRET, max_wait=60.0, commit_timeout=30.0)
    await writer.start()
    pending = asyncio.gather(*(writer.record(access(i), "ok", "r" * 64) for i in range(10)))
    await until(lambda: writer.queue_depth == 10, "the records to be queued")
    assert writer.stats.events == 0
    await writer.aclose()
    await pending
    assert writer.stats.events == 10
    with pytest.raises(AuditUnavailable, match="not running"):
        await writer.record(access(), "ok", "r" * 64)


# --- what an auditor asks ----------------------------------------------------------------


async def test_subject_report_answers_who_accessed_whom(writer: AuditWriter, store: AuditStore) -> None:
    await writer.record(access(1), "ok", "r" * 64)
    other = AccessRecord("req-9", "talent-policy", "talent_subsidy", None, None, "Check", "d" * 64)
    other.read(GUARDIAN, "social_insurance.has_contributed")
    await writer.record(other, "ok", "r" * 64)

    child = await subject_report(store, SECRET, CHILD)
    assert [(e["client"], e["purpose"], e["case_id"], e["scopes"]) for e in child] == [
        ("school-enrolment", "enrolment_review", "CASE-1", ["person.household", "person.identity"])
    ]
    guardian = await subject_report(store, SECRET, GUARDIAN)
    assert [(e["client"], e["scopes"]) for e in guardian] == [  # newest first
        ("talent-policy", ["social_insurance.has_contributed"]),
        ("school-enrolment", ["social_insurance.records"]),
    ]
    assert await subject_report(store, SECRET, EMPLOYER) == []
    assert await subject_report(store, b"another-secret-0123456789abcdef!", CHILD) == []


async def test_raw_identifiers_never_reach_the_store(writer: AuditWriter, scratch_db: str) -> None:
    await record_many(writer, 3)
    texts = [
        r["t"]
        for table in ("audit_event", "audit_subject", "audit_writer", "access_log")
        for r in await sql(scratch_db, f"SELECT x::text AS t FROM {table} x")
    ]
    assert len(texts) == 3 + 6 + 1 + 6
    for identifier in (CHILD, GUARDIAN):
        assert not [t for t in texts if identifier in t]
        assert any(subject_key(SECRET, identifier) in t for t in texts)


# --- throughput (printed, never asserted: run with -s to see it) --------------------------


async def test_throughput_with_concurrent_recorders(writer: AuditWriter, store: AuditStore) -> None:
    recorders, each = 200, 25

    async def recorder(r: int) -> None:
        for i in range(each):
            await writer.record(access(r * each + i), "ok", "r" * 64)

    started = time.perf_counter()
    await asyncio.gather(*(recorder(r) for r in range(recorders)))
    elapsed = time.perf_counter() - started
    events = recorders * each
    print(
        f"\naudit writer: {events} events from {recorders} concurrent recorders in {elapsed:.2f}s = "
        f"{events / elapsed:,.0f} events/s, {writer.stats.batches} commits "
        f"({events / writer.stats.batches:.0f} events per commit)"
    )
    assert writer.stats.events == events
    assert (await verify(store)).problems == []


async def test_the_basis_is_hashed_into_the_chain_when_the_grant_has_one(
    writer: AuditWriter, store: AuditStore, scratch_db: str
) -> None:
    approved = access(1)
    approved.basis = "共享申请批复 XM-GX-2026-0012"
    await writer.record(approved, "ok", "r" * 64)
    await writer.record(access(2), "ok", "r" * 64)  # a grant without a basis
    [(_, events, _)] = await chains(store)
    assert [e.basis for e in events] == ["共享申请批复 XM-GX-2026-0012", None]
    assert (await verify(store)).problems == []
    await tamper(scratch_db, "UPDATE audit_event SET basis = 'another approval' WHERE seq = 1")
    (problem,) = (await verify(store)).problems
    assert "seq 1" in str(problem)


LEGACY_COLUMNS = (
    "writer_id", "seq", "time", "request_id", "client", "purpose", "case_id", "operator", "operation",
    "document_hash", "subjects", "denied", "outcome", "response_hash", "prev_hash", "hash",
)  # fmt: skip
LEGACY_INSERT = (
    (
        f"INSERT INTO audit_event ({', '.join(f'{c!r}'.replace(chr(39), chr(34)) for c in LEGACY_COLUMNS)}) "
        f"VALUES ({', '.join(f'${i}' for i in range(1, len(LEGACY_COLUMNS) + 1))})"
    )
    .replace("$11", "$11::text::jsonb")
    .replace("$12", "$12::text::jsonb")
)


def _legacy_values(row: EventRow) -> tuple[object, ...]:
    values = vars(row)
    return tuple(
        orjson.dumps(values[c]).decode() if c in ("subjects", "denied") else values[c] for c in LEGACY_COLUMNS
    )


async def legacy_store(dsn: str) -> list[EventRow]:
    """Three events in a log as installed before partitioning, January to April."""
    drafts = [AuditWriter(AuditStore(dsn), SECRET)._draft(access(i), "ok", "r" * 64) for i in range(3)]
    times = ("2026-01-31T23:59:59.999999", "2026-02-01T00:00:00", "2026-04-10T08:00:00")
    for draft, when in zip(drafts, times, strict=True):
        draft["time"] = dt.datetime.fromisoformat(when).replace(tzinfo=dt.UTC)
        del draft["basis"]  # None: hashed as before the column existed
    rows = link("old-writer", (0, GENESIS), drafts)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute((Path(__file__).parent / "audit_legacy.sql").read_text(encoding="utf-8"))
        await conn.executemany(LEGACY_INSERT, [_legacy_values(r) for r in rows])
        await conn.executemany(
            "INSERT INTO audit_subject VALUES ($1, $2, $3, $4)",
            [(e["subject"], r.writer_id, r.seq, e["scopes"]) for r in rows for e in r.subjects],
        )
        await conn.execute("INSERT INTO audit_writer VALUES ('old-writer', 3, $1, now())", rows[-1].hash)
    finally:
        await conn.close()
    return rows


async def test_a_legacy_index_row_without_its_event_moves_and_is_reported(scratch_db: str) -> None:
    await legacy_store(scratch_db)
    await sql(scratch_db, "INSERT INTO audit_subject VALUES ('orphan', 'old-writer', 9, '{x}')")
    store = AuditStore(scratch_db)
    await store.install()  # the orphan moves to this month, which exists by then
    (problem,) = (await verify(store)).problems
    assert problem == "writer old-writer seq 9: audit_subject rows for an event that does not exist"
    await store.aclose()


async def test_a_store_installed_before_partitioning_moves_into_months(scratch_db: str) -> None:
    """A log from before partitioning (and before basis and detail): install() moves its events
    into monthly partitions in one transaction; they verify and read back unchanged."""
    rows = await legacy_store(scratch_db)

    store = AuditStore(scratch_db)
    await store.install()
    months = [m.isoformat() for m in await store.months()]
    assert months[:4] == ["2026-01-01", "2026-02-01", "2026-03-01", "2026-04-01"]  # the old rows' span
    assert [r.seq for r in (await chains(store))[0][1]] == [1, 2, 3]
    assert (await chains(store))[0][1] == rows
    assert (await sql(scratch_db, "SELECT to_regclass('audit_event_legacy') AS t"))[0]["t"] is None
    report = await verify(store)
    assert report.problems == []
    assert report.events == 3
    assert len(await subject_report(store, SECRET, CHILD)) == 3
    writer = AuditWriter(store, SECRET)  # and the gateway writes on
    await writer.start()
    await writer.record(access(), "ok", "r" * 64)
    await writer.aclose()
    assert (await verify(store)).events == 4
    await store.aclose()
