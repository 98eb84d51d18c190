"""Months of the audit log moved out of the database into files, and read back.

`govgraph audit archive --before YYYY-MM` writes each whole month older than that to a
directory of its own: one zstd-compressed JSON-lines file per chain (`<writer>.jsonl.zst`,
events in seq order, every column as the chain hashed it) and `manifest.json` (for each chain:
its suite, first and last seq, the hash it continues from and the hash it ends at, the count,
the file's SHA-256). It reads the files back and compares them with the database, records the
manifest in audit_archive, and only then detaches and drops the month's partitions. JSON lines
rather than Parquet: the verifier rehashes each event from exactly the JSON it was hashed as,
and zstd gives the size back (about 8:1 on events).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson
import zstandard

from gateway.audit.partitions import Month, parse_month

__all__ = [
    "ArchiveError",
    "ChainFile",
    "ChainSpan",
    "Manifest",
    "archived_batches",
    "archived_subject_events",
    "event_line",
    "read_manifests",
]

FORMAT = 1
MANIFEST = "manifest.json"
LINES_PER_BATCH = 2000


class ArchiveError(Exception):
    """An archive file or manifest is missing, unreadable, or not what it says."""


@dataclass
class ChainSpan:
    """The part of one chain a month holds."""

    suite: str
    first_seq: int
    first_prev_hash: str
    last_seq: int
    last_hash: str
    events: int
    file: str
    sha256: str = ""


@dataclass
class Manifest:
    month: str  # YYYY-MM
    events: int = 0
    chains: dict[str, ChainSpan] = field(default_factory=dict)
    format: int = FORMAT
    archived_at: str = ""
    store: str = ""  # the audit store's id (audit_store)

    def dumps(self) -> bytes:
        return orjson.dumps(asdict(self), option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2) + b"\n"

    @classmethod
    def loads(cls, data: bytes) -> Manifest:
        try:
            value = orjson.loads(data)
            chains = {w: ChainSpan(**span) for w, span in value.pop("chains").items()}
            manifest = cls(**value, chains=chains)
            parse_month(manifest.month)
        except (orjson.JSONDecodeError, TypeError, KeyError, AttributeError, ValueError) as exc:
            raise ArchiveError(f"not an audit archive manifest: {exc}") from None
        if manifest.format != FORMAT:
            raise ArchiveError(f"archive format {manifest.format} is not {FORMAT}")
        return manifest

    @property
    def first_month(self) -> Month:
        return parse_month(self.month)


def event_line(row: Any) -> bytes:
    """One event as an archive line: every column, the time in the spelling it was hashed in."""
    values = {name: row[name] for name in row.keys()}  # noqa: SIM118 - asyncpg Records are not dicts
    values["time"] = values["time"].astimezone(dt.UTC).isoformat(timespec="microseconds")
    return orjson.dumps(values) + b"\n"


def read_manifests(directory: Path) -> list[tuple[Manifest, str]]:
    """Every month in an archive directory, oldest first, with its manifest's SHA-256."""
    if not directory.is_dir():
        raise ArchiveError(f"{directory} is not a directory")
    found = []
    for path in sorted(directory.glob(f"*/{MANIFEST}")):
        data = path.read_bytes()
        manifest = Manifest.loads(data)
        if path.parent.name != manifest.month:
            raise ArchiveError(f"{path} describes {manifest.month}, not {path.parent.name}")
        found.append((manifest, hashlib.sha256(data).hexdigest()))
    return found


class _Digesting:
    """A readable file that hashes what is read through it."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self.sha256 = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self.sha256.update(data)
        return data


def archived_batches(directory: Path, manifest: Manifest, writer_id: str) -> Iterator[list[dict[str, Any]]]:
    """One chain's events of an archived month, in batches; ArchiveError once the file turns out
    not to be the one the manifest describes (its SHA-256, its count, its ends)."""
    span = manifest.chains[writer_id]
    path = directory / manifest.month / span.file
    if Path(span.file).name != span.file:
        raise ArchiveError(f"{manifest.month}: file name {span.file!r} leaves the month's directory")
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise ArchiveError(f"{path}: {exc.strerror}") from None
    count = 0
    last: dict[str, Any] | None = None
    with raw:
        digesting = _Digesting(raw)
        reader = zstandard.ZstdDecompressor().stream_reader(digesting)  # type: ignore[arg-type]
        try:
            batch: list[dict[str, Any]] = []
            for line in _lines(reader):
                row = orjson.loads(line)
                batch.append(row)
                if len(batch) >= LINES_PER_BATCH:
                    count += len(batch)
                    last = batch[-1]
                    yield batch
                    batch = []
            if batch:
                count += len(batch)
                last = batch[-1]
                yield batch
            while digesting.read(1 << 16):  # the digest covers the whole file, trailing bytes too
                pass
        except (zstandard.ZstdError, orjson.JSONDecodeError) as exc:
            raise ArchiveError(f"{path}: not the archive it was: {exc}") from None
    if digesting.sha256.hexdigest() != span.sha256:
        raise ArchiveError(f"{path}: its SHA-256 is not the manifest's; the file was altered")
    if count != span.events or last is None or (last["seq"], last["hash"]) != (span.last_seq, span.last_hash):
        raise ArchiveError(f"{path}: does not hold the {span.events} events the manifest says")


def _lines(reader: Any) -> Iterator[bytes]:
    pending = b""
    while chunk := reader.read(1 << 20):
        pending += chunk
        *complete, pending = pending.split(b"\n")
        yield from (line for line in complete if line)
    if pending.strip():
        yield pending


class ChainFile:
    """One chain's month being written: compressed as lines come, fsynced and renamed into
    place on a clean exit (`sha256` is then the file's)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._partial = path.with_name(path.name + ".partial")
        self.sha256 = ""

    def __enter__(self) -> ChainFile:
        self._out = self._partial.open("wb")
        self._writer = zstandard.ZstdCompressor(level=6).stream_writer(self._out, closefd=False)
        return self

    def write(self, lines: list[bytes]) -> None:
        self._writer.write(b"".join(lines))

    def __exit__(self, kind: object, *_: object) -> None:
        try:
            self._writer.flush(zstandard.FLUSH_FRAME)
            self._writer.close()  # type: ignore[no-untyped-call]
            self._out.flush()
            os.fsync(self._out.fileno())
        finally:
            self._out.close()
        if kind is not None:
            self._partial.unlink(missing_ok=True)
            return
        digest = hashlib.sha256()
        with self._partial.open("rb") as written:
            while chunk := written.read(1 << 20):
                digest.update(chunk)
        self._partial.replace(self.path)
        self.sha256 = digest.hexdigest()


def archived_subject_events(
    directory: Path,
    subject_hmacs: tuple[str, ...] | list[str],
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    store: str | None = None,
) -> list[dict[str, Any]]:
    """Accesses to a subject in the archived months between `since` and `until` (of the store
    whose id is `store`, if given), in the shape AuditStore.subject_events gives them. Each
    month's files are read through; a line that does not name one of the hashes is not even
    parsed."""
    wanted = [h.encode() for h in subject_hmacs]
    found: list[dict[str, Any]] = []
    for manifest, _ in read_manifests(directory):
        if store is not None and manifest.store != store:
            continue
        begins = dt.datetime.combine(manifest.first_month, dt.time(), dt.UTC)
        if (until is not None and begins >= until) or (since is not None and _month_end(begins) <= since):
            continue
        for writer_id in manifest.chains:
            for batch in _matching(directory, manifest, writer_id, wanted):
                found.extend(_accesses(batch, subject_hmacs, since, until))
    return found


def _month_end(begins: dt.datetime) -> dt.datetime:
    return (begins + dt.timedelta(days=32)).replace(day=1)


def _matching(
    directory: Path, manifest: Manifest, writer_id: str, wanted: list[bytes]
) -> Iterator[list[dict[str, Any]]]:
    span = manifest.chains[writer_id]
    path = directory / manifest.month / span.file
    try:
        with path.open("rb") as raw:
            reader = zstandard.ZstdDecompressor().stream_reader(raw)
            batch = [orjson.loads(line) for line in _lines(reader) if any(h in line for h in wanted)]
    except (OSError, zstandard.ZstdError, orjson.JSONDecodeError) as exc:
        raise ArchiveError(f"{path}: {exc}") from None
    yield batch


def _accesses(
    rows: list[dict[str, Any]],
    subject_hmacs: tuple[str, ...] | list[str],
    since: dt.datetime | None,
    until: dt.datetime | None,
) -> Iterator[dict[str, Any]]:
    for row in rows:
        when = dt.datetime.fromisoformat(row["time"])
        if (since is not None and when < since) or (until is not None and when >= until):
            continue
        for entry in row["subjects"]:
            if entry.get("subject") in subject_hmacs:
                yield {
                    "time": when,
                    "client": row["client"],
                    "purpose": row["purpose"],
                    "case_id": row["case_id"],
                    "operator": row["operator"],
                    "operation": row["operation"],
                    "scopes": list(entry.get("scopes", [])),
                    "outcome": row["outcome"],
                    "request_id": row["request_id"],
                    "writer_id": row["writer_id"],
                    "seq": row["seq"],
                    "basis": row.get("basis"),
                    "lookup": entry.get("lookup"),
                    "verdicts": entry.get("verdicts", []),
                }
