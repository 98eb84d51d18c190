"""`govgraph audit archive`: whole months out of the database into files (archive.py says the
format), checked against the database before their partitions are dropped."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from gateway.audit.anchors import Anchors
from gateway.audit.archive import (
    MANIFEST,
    ArchiveError,
    ChainFile,
    ChainSpan,
    Manifest,
    archived_batches,
    event_line,
)
from gateway.audit.checkpoint import open_sink
from gateway.audit.partitions import Month, month_of
from gateway.audit.reads import MonthReader
from gateway.audit.store import AuditStore
from gateway.audit.suite import get_suite, verifier_for
from gateway.audit.verify import ChainCheck, Start

__all__ = ["Signed", "archive_months"]


@dataclass(frozen=True)
class Signed:
    """The checkpoints each month's chains are checked against before they leave."""

    sink: str  # [audit] checkpoints
    keys: tuple[bytes, ...]  # trusted public keys (PEM)


async def archive_months(
    store: AuditStore,
    directory: Path,
    before: Month,
    now: dt.datetime | None = None,
    signed: Signed | None = None,
) -> list[Manifest]:
    """Archive, then drop, every month older than `before`, oldest first; ArchiveError (and
    nothing dropped for that month) if one does not verify, disagrees with its checkpoints, or
    its files do not read back. A month recorded as archived whose partitions remain (an
    interrupted run) is dropped now."""
    current = month_of(now or dt.datetime.now(dt.UTC))
    if before > current:
        raise ArchiveError(f"{before:%Y-%m} is not over yet: only months before the current one can go")
    directory.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, before any month
    identity = await store.identity()
    recorded = await store.archived_months()
    done = []
    for month in [m for m in await store.months() if m < before]:
        if month in recorded:
            await store.drop_month(month)
            continue
        if (directory / f"{month:%Y-%m}" / MANIFEST).exists():
            folder = directory / f"{month:%Y-%m}"
            raise ArchiveError(f"{folder} already holds an archive; give each store a directory of its own")
        manifest = await _export(store, directory, month, identity, signed)
        digest = _read_back(directory, manifest)
        await _compare(store, month, manifest)
        await store.record_archived(month, manifest.events, manifest.dumps(), digest)
        await store.drop_month(month)
        done.append(manifest)
    return done


async def _export(
    store: AuditStore, directory: Path, month: Month, identity: str, signed: Signed | None
) -> Manifest:
    manifest = Manifest(month=f"{month:%Y-%m}", store=identity)
    folder = directory / manifest.month
    folder.mkdir(exist_ok=True)
    sink = open_sink(signed.sink, identity) if signed else None
    trusted = {v.key_id: v for v in map(verifier_for, signed.keys)} if signed else {}
    async with store.snapshot() as conn:
        reader = MonthReader(conn, month)
        for writer_id, suite in await reader.chains():
            anchors = Anchors(sink.read(writer_id), writer_id, suite, trusted, identity) if sink else None
            span = await _export_chain(reader, folder, writer_id, suite, anchors)
            manifest.chains[writer_id] = span
            manifest.events += span.events
        named, indexed = await reader.index_counts()
    if named != indexed:
        raise ArchiveError(
            f"{manifest.month}: {indexed} audit_subject rows for {named} subjects of its events; "
            "run `govgraph audit verify`; the month was not archived"
        )
    manifest.archived_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    _write_manifest(folder, manifest)
    return manifest


async def _export_chain(
    reader: MonthReader, folder: Path, writer_id: str, suite: str, anchors: Anchors | None
) -> ChainSpan:
    first_seq, first_prev = await reader.first(writer_id)
    check = ChainCheck(writer_id, get_suite(suite), Start(first_seq - 1, first_prev), anchors)
    file = f"{writer_id}.jsonl.zst"
    with ChainFile(folder / file) as out:  # memory holds one batch: checked, then written
        async for rows in reader.events(writer_id):
            check.feed(rows, None)
            out.write([event_line(r) for r in rows])
    if check.result.problem is not None:
        raise ArchiveError(f"{month_text(folder)}: {check.result.problem}; the month was not archived")
    return ChainSpan(
        suite=suite,
        first_seq=first_seq,
        first_prev_hash=first_prev,
        last_seq=check.last_seq,
        last_hash=check.last_hash,
        events=check.result.events,
        file=file,
        sha256=out.sha256,
    )


def month_text(folder: Path) -> str:
    return folder.name


def _write_manifest(folder: Path, manifest: Manifest) -> None:
    partial = folder / (MANIFEST + ".partial")
    with partial.open("wb") as out:
        out.write(manifest.dumps())
        out.flush()
        os.fsync(out.fileno())
    partial.replace(folder / MANIFEST)
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)  # the renames are durable before the database lets go of the rows
    finally:
        os.close(fd)


def _read_back(directory: Path, manifest: Manifest) -> str:
    """Read every file of the month back as the verifier will; the manifest's SHA-256."""
    data = (directory / manifest.month / MANIFEST).read_bytes()
    if Manifest.loads(data) != manifest:
        raise ArchiveError(f"{manifest.month}: the manifest did not read back as written")
    for writer_id, span in manifest.chains.items():
        start = Start(span.first_seq - 1, span.first_prev_hash)
        check = ChainCheck(writer_id, get_suite(span.suite), start, None)
        for batch in archived_batches(directory, manifest, writer_id):
            check.feed(batch, None)
        if check.result.problem is not None or check.last_hash != span.last_hash:
            raise ArchiveError(f"{manifest.month}: {writer_id} did not read back as written")
    return hashlib.sha256(data).hexdigest()


async def _compare(store: AuditStore, month: Month, manifest: Manifest) -> None:
    """The database still holds exactly what was written (nothing was committed meanwhile)."""
    async with store.snapshot() as conn:
        found = await MonthReader(conn, month).ends()
    written = {w: (s.events, s.last_seq, s.last_hash) for w, s in manifest.chains.items()}
    if found != written:
        raise ArchiveError(f"{manifest.month}: the database no longer holds what was archived; not dropped")
