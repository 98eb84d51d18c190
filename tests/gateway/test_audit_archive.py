"""Archiving months of the audit log: exported, read back, compared, then dropped; verified
and searched from the files afterwards; a tampered file, or a month dropped without an
archive, is found."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import asyncpg
import orjson
import pytest
import pytest_asyncio
import zstandard

from gateway.audit.archive import ArchiveError, Manifest, archived_subject_events
from gateway.audit.archiver import Signed, archive_months
from gateway.audit.checkpoint import open_sink, sign_checkpoint
from gateway.audit.partitions import month_of
from gateway.audit.record import GENESIS, _hashed_fields, event_hash, link, subject_keys
from gateway.audit.store import AuditStore, ChainHead, EventRow
from gateway.audit.suite import DEFAULT_SUITE, Signer, get_suite
from gateway.audit.sweep import verify
from gateway.audit.writer import AuditWriter

from .support import audited, chains, gateway
from .test_audit import CHILD, GUARDIAN, SECRET, access, sql, tamper

pytestmark = pytest.mark.asyncio

JAN, FEB, MAR = dt.date(2026, 1, 1), dt.date(2026, 2, 1), dt.date(2026, 3, 1)


def at(month: dt.date, day: int) -> dt.datetime:
    return dt.datetime(month.year, month.month, day, 9, 30, tzinfo=dt.UTC)


class City:
    """Two chains: `long` runs from January into this month, `short` lives in January only;
    their heads are signed after every event."""

    def __init__(self, store: AuditStore, sink: Path, identity: str) -> None:
        self.store = store
        self.directory = sink
        self.identity = identity
        self.sink = open_sink(str(sink), identity)
        suite = get_suite(DEFAULT_SUITE)
        self.signer: Signer = suite.signer(suite.generate_key())
        self.drafter = AuditWriter(store, SECRET)

    async def chain(self, writer_id: str, times: list[dt.datetime]) -> list[EventRow]:
        drafts = []
        for i, when in enumerate(times):
            draft = self.drafter._draft(access(i), "ok", "r" * 64)
            draft["time"] = when
            drafts.append(draft)
        rows = link(writer_id, (0, GENESIS), drafts)
        for row in rows:
            await self.store.append([row], ChainHead(writer_id, row.seq, row.hash))
            await self.sink.append(
                sign_checkpoint(
                    self.signer,
                    DEFAULT_SUITE,
                    ChainHead(writer_id, row.seq, row.hash),
                    row.time,
                    store=self.identity,
                )
            )
        return rows

    @property
    def keys(self) -> tuple[bytes, ...]:
        return (self.signer.public_pem,)


@pytest_asyncio.fixture
async def city(scratch_db: str, tmp_path: Path) -> AsyncIterator[City]:
    store = AuditStore(scratch_db, timeout=5.0)
    await store.install(now=at(JAN, 1))  # January to March
    await store.install()  # and this month on
    (tmp_path / "checkpoints").mkdir()
    city = City(store, tmp_path / "checkpoints", await store.identity())
    now = dt.datetime.now(dt.UTC)
    await city.chain("long", [at(JAN, 5), at(JAN, 20), at(JAN, 31), at(FEB, 2), at(FEB, 27), now, now])
    await city.chain("short", [at(JAN, 7), at(JAN, 8), at(JAN, 9)])
    yield city
    await store.aclose()


async def test_archive_round_trip(city: City, tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    before = await verify(city.store, checkpoints=str(city.directory), keys=city.keys)
    assert (before.problems, before.events, before.checkpoints) == ([], 10, 10)

    done = await archive_months(city.store, archive, MAR)
    assert [(m.month, m.events, sorted(m.chains)) for m in done] == [
        ("2026-01", 6, ["long", "short"]),
        ("2026-02", 2, ["long"]),
    ]
    assert JAN not in await city.store.months()
    assert FEB not in await city.store.months()
    assert MAR in await city.store.months()  # not before March: kept
    assert sorted(p.name for p in (archive / "2026-01").iterdir()) == [
        "long.jsonl.zst",
        "manifest.json",
        "short.jsonl.zst",
    ]
    assert [len(rows) for _, rows, _ in await chains(city.store)] == [2, 0]  # the database keeps the rest

    # Without the files: what is left verifies from where the archive ends, on the database's record.
    left = await verify(city.store, checkpoints=str(city.directory), keys=city.keys)
    assert (left.problems, left.events) == ([], 2)
    assert any("2 archived months (8 events)" in n for n in left.notes)
    # With them: every event again, every checkpoint matched.
    whole = await verify(city.store, checkpoints=str(city.directory), keys=city.keys, archive=str(archive))
    assert (whole.problems, whole.events, whole.checkpoints) == ([], 10, 10)

    # Who accessed the child: from the files, in the database's words.
    keys = subject_keys(SECRET, CHILD)
    archived = archived_subject_events(archive, keys)
    live = await city.store.subject_events(keys)
    assert len(archived) == 8
    assert len(live) == 2
    assert {r["writer_id"] for r in archived} == {"long", "short"}
    assert archived[0].keys() == live[0].keys()
    assert "person.identity" in archived[0]["scopes"]
    february = archived_subject_events(archive, keys, since=at(FEB, 1), until=at(MAR, 1))
    assert sorted(r["seq"] for r in february) == [4, 5]
    assert archived_subject_events(archive, subject_keys(SECRET, GUARDIAN))  # the guardian too
    assert archived_subject_events(archive, subject_keys(SECRET, "110101199003070019")) == []


async def test_a_modified_archive_file_is_found(city: City, tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    await archive_months(city.store, archive, MAR)
    path = archive / "2026-01" / "short.jsonl.zst"
    lines = zstandard.ZstdDecompressor().decompressobj().decompress(path.read_bytes()).splitlines()
    event = orjson.loads(lines[1])
    event["purpose"] = "curiosity"
    lines[1] = orjson.dumps(event)
    path.write_bytes(zstandard.ZstdCompressor().compress(b"\n".join(lines) + b"\n"))
    options = {"checkpoints": str(city.directory), "keys": city.keys, "archive": str(archive)}
    (problem,) = (await verify(city.store, **options)).problems
    assert problem.startswith("writer short seq 2: hash does not match")

    # The file's digest written into its manifest as well: the manifest is not the one recorded.
    manifest_path = archive / "2026-01" / "manifest.json"
    manifest = Manifest.loads(manifest_path.read_bytes())
    manifest.chains["short"].sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    manifest_path.write_bytes(manifest.dumps())
    problems = (await verify(city.store, **options)).problems
    assert any("the manifest of 2026-01 is not the one recorded when it was archived" in p for p in problems)


async def test_a_month_dropped_without_an_archive_is_found(city: City, scratch_db: str) -> None:
    for table in ("audit_event", "audit_subject"):
        await tamper(scratch_db, f"ALTER TABLE {table} DETACH PARTITION {table}_p2026_01")
        await tamper(scratch_db, f"DROP TABLE {table}_p2026_01")
    problems = (await verify(city.store, checkpoints=str(city.directory), keys=city.keys)).problems
    assert len(problems) == 2
    assert problems[0].startswith("writer long seq 1: missing (the first event read is seq 4)")
    assert "dropped without an archive" in problems[0]
    assert problems[1].startswith("writer short seq 0: the chain ends here, but the checkpoint of")


async def test_archive_refuses_a_month_not_over_or_not_intact(
    city: City, scratch_db: str, tmp_path: Path
) -> None:
    this_month = month_of(dt.datetime.now(dt.UTC))
    after = dt.date(this_month.year + this_month.month // 12, this_month.month % 12 + 1, 1)
    with pytest.raises(ArchiveError, match="not over yet"):
        await archive_months(city.store, tmp_path / "a", after)
    await tamper(scratch_db, "UPDATE audit_event SET client = 'x' WHERE writer_id = 'short' AND seq = 2")
    with pytest.raises(ArchiveError, match=r"short seq 2: hash does not match.*not archived"):
        await archive_months(city.store, tmp_path / "b", MAR)
    assert JAN in await city.store.months()  # nothing dropped
    assert await city.store.archived() == []


async def test_the_gateway_says_when_months_wait_past_retention(
    scratch_db: str, caplog: pytest.LogCaptureFixture
) -> None:
    old = AuditStore(scratch_db)
    await old.install(now=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))  # 2020-01 to 2020-03
    await old.aclose()
    with caplog.at_level(logging.WARNING, logger="govgraph"):
        async with gateway(**audited(scratch_db)):
            pass
    (said,) = [r.getMessage() for r in caplog.records if "retain_months" in r.getMessage()]
    assert said.startswith("audit: 3 months before ")
    assert "older than retain_months (36); `govgraph audit archive` moves them to files" in said


async def test_rows_slipped_into_archived_seqs_are_found(city: City, scratch_db: str, tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    await archive_months(city.store, archive, MAR)
    # A forged access: an archived event's seq again, in this month's partition (plain INSERTs
    # pass the append-only triggers).
    await tamper(
        scratch_db,
        "INSERT INTO audit_event SELECT writer_id, 2, now(), request_id, 'mallory', purpose, case_id, "
        "operator, operation, document_hash, basis, detail, subjects, denied, outcome, response_hash, "
        "prev_hash, hash "
        "FROM audit_event WHERE writer_id = 'long' AND seq = 6",
    )
    options = {"checkpoints": str(city.directory), "keys": city.keys}
    for report in (
        await verify(city.store, **options),
        await verify(city.store, archive=str(archive), **options),
    ):
        (problem,) = report.problems
        assert problem.startswith(
            "writer long seq 5: the database holds 1 events and 0 index rows at or before"
        )


async def test_archive_refuses_a_month_its_checkpoints_contradict(
    city: City, scratch_db: str, tmp_path: Path
) -> None:
    signed = Signed(str(city.directory), city.keys)
    ((_, rows, _),) = [c for c in await chains(city.store) if c[0] == "short"]
    # "short" rewritten from seq 2 on, head included: it verifies alone; its checkpoints disagree.
    await tamper(
        scratch_db, "UPDATE audit_event SET purpose = 'curiosity' WHERE writer_id = 'short' AND seq = 2"
    )
    prev = rows[0].hash
    for row in rows[1:]:
        altered = replace(row, purpose="curiosity" if row.seq == 2 else row.purpose, prev_hash=prev)
        digest = event_hash(prev, _hashed_fields(vars(altered)))
        await tamper(
            scratch_db,
            f"UPDATE audit_event SET prev_hash = '{prev}', hash = '{digest}' "
            f"WHERE writer_id = 'short' AND seq = {row.seq}",
        )
        prev = digest
    await tamper(scratch_db, f"UPDATE audit_writer SET last_hash = '{prev}' WHERE writer_id = 'short'")
    with pytest.raises(ArchiveError, match=r"short seq 2: not the event signed"):
        await archive_months(city.store, tmp_path / "a", MAR, signed=signed)
    assert JAN in await city.store.months()


async def test_an_archive_directory_of_another_store_is_not_overwritten(city: City, tmp_path: Path) -> None:
    (tmp_path / "a" / "2026-01").mkdir(parents=True)
    (tmp_path / "a" / "2026-01" / "manifest.json").write_text("{}")
    with pytest.raises(ArchiveError, match="already holds an archive"):
        await archive_months(city.store, tmp_path / "a", MAR)


async def test_a_changed_store_id_is_found(city: City, scratch_db: str, tmp_path: Path) -> None:
    options = {"checkpoints": str(city.directory), "keys": city.keys, "state": str(tmp_path / "state.json")}
    assert (await verify(city.store, anchor_span=70.0, **options)).problems == []
    with pytest.raises(asyncpg.PostgresError, match="append-only"):
        await sql(scratch_db, "UPDATE audit_store SET id = 'fresh'")
    await tamper(scratch_db, "UPDATE audit_store SET id = 'fresh'")  # by an owner who bypasses it
    problems = (await verify(city.store, anchor_span=70.0, **options)).problems
    assert any("its id was changed" in p for p in problems)  # the verifier remembered the old one
    without_state = (
        await verify(city.store, anchor_span=70.0, checkpoints=str(city.directory), keys=city.keys)
    ).problems
    # No checkpoint found any more, yet events lie days apart: they should have been signed.
    assert any(
        p.startswith("writer long seq 1: events up to seq ") and "no checkpoint covers them" in p
        for p in without_state
    )
