"""Signed checkpoints: each writer's chain head, signed with a key the database never sees
and kept outside it, so a chain rewritten or cut short in the database (every link rehashed)
no longer matches what was signed.

A checkpoint is one JSON line: writer, last seq, last hash, time, suite, key id and the
signature over the canonical JSON of the rest. Sinks keep them: `FileSink` writes a file per
writer in a directory (mount it from WORM storage, or ship it off the host); a city plugs
in another sink (object storage with retention locks) through the `govgraph.checkpoint_sinks`
entry point group, keyed by URL scheme.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import logging
import os
import re
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Protocol

import orjson

from gateway.audit.store import ChainHead
from gateway.audit.suite import Signer

__all__ = [
    "Checkpoint",
    "CheckpointSink",
    "Checkpointer",
    "FileSink",
    "open_sink",
    "sign_checkpoint",
]

log = logging.getLogger("govgraph.audit")

SINK_GROUP = "govgraph.checkpoint_sinks"
_SAFE_WRITER = re.compile(r"^[A-Za-z0-9._:-]{1,200}$")


@dataclass(frozen=True)
class Checkpoint:
    writer_id: str
    seq: int
    hash: str
    time: str  # ISO 8601, UTC, when it was signed
    suite: str
    key_id: str
    signature: str = ""  # base64 of the suite's signature over `payload()`
    store: str = ""  # the audit store's id (audit_store): a checkpoint is of one store's chain

    def payload(self) -> bytes:
        fields = asdict(self)
        del fields["signature"]
        return orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)

    def line(self) -> bytes:
        return orjson.dumps(asdict(self), option=orjson.OPT_SORT_KEYS) + b"\n"

    @property
    def signature_bytes(self) -> bytes:
        return base64.b64decode(self.signature, validate=True)

    @classmethod
    def parse(cls, line: bytes | str) -> Checkpoint:
        """One line of a checkpoint log; ValueError if it is not one."""
        try:
            value = orjson.loads(line)
            checkpoint = cls(**value)
        except (orjson.JSONDecodeError, TypeError) as exc:
            raise ValueError(f"not a checkpoint: {exc}") from None
        texts = (checkpoint.writer_id, checkpoint.hash, checkpoint.time, checkpoint.suite, checkpoint.key_id)
        seq = checkpoint.seq
        if (
            not isinstance(seq, int)
            or isinstance(seq, bool)
            or not all(isinstance(v, str) for v in (*texts, checkpoint.signature, checkpoint.store))
        ):
            raise ValueError("not a checkpoint: a field has the wrong type")
        return checkpoint


def sign_checkpoint(
    signer: Signer, suite: str, head: ChainHead, now: dt.datetime | None = None, *, store: str = ""
) -> Checkpoint:
    unsigned = Checkpoint(
        store=store,
        writer_id=head.writer_id,
        seq=head.last_seq,
        hash=head.last_hash,
        time=(now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).isoformat(timespec="microseconds"),
        suite=suite,
        key_id=signer.key_id,
    )
    signature = base64.b64encode(signer.sign(unsigned.payload())).decode()
    return Checkpoint(**{**asdict(unsigned), "signature": signature})


class CheckpointSink(Protocol):
    """Where checkpoints are kept: appended by writers, read back per writer by the verifier."""

    description: str  # for messages: the directory, the bucket

    async def append(self, checkpoint: Checkpoint) -> None: ...

    def writers(self) -> list[str]: ...

    def read(self, writer_id: str) -> Iterator[bytes]:
        """The writer's checkpoint lines in the order they were appended: those appended before
        the call, however many follow while the caller reads (its snapshot is taken after)."""
        ...


class FileSink:
    """A file per writer (`<writer id>.jsonl`) in a directory; each append is written with
    O_APPEND and fsynced before it counts."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.description = str(self.directory)

    def _path(self, writer_id: str) -> Path:
        if not _SAFE_WRITER.match(writer_id):
            raise ValueError(f"writer id {writer_id!r} cannot name a checkpoint file")
        return self.directory / f"{writer_id}.jsonl"

    async def append(self, checkpoint: Checkpoint) -> None:
        await asyncio.to_thread(self._append, self._path(checkpoint.writer_id), checkpoint.line())

    @staticmethod
    def _append(path: Path, line: bytes) -> None:
        # The store's folder is made in the configured directory, never the directory itself:
        # a mount that went away must fail the checkpoint, not be replaced by a local folder.
        path.parent.mkdir(exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)

    def writers(self) -> list[str]:
        if not self.directory.is_dir():
            return []
        return sorted(p.stem for p in self.directory.glob("*.jsonl"))

    def read(self, writer_id: str) -> Iterator[bytes]:
        path = self._path(writer_id)
        try:
            size = path.stat().st_size  # now, not when the lines are read: see CheckpointSink
        except FileNotFoundError:
            return iter(())
        return self._lines(path, size)

    @staticmethod
    def _lines(path: Path, size: int) -> Iterator[bytes]:
        with path.open("rb") as lines:
            for line in lines:
                size -= len(line)
                if size < 0:
                    return
                if line.strip():
                    yield line


def open_sink(spec: str, store: str = "") -> CheckpointSink:
    """`[audit] checkpoints`: a directory (or file:///dir) for FileSink, one folder in it per
    audit store; `scheme://...` for a sink installed under the `govgraph.checkpoint_sinks`
    entry point group, whose factory takes the URL and the store's id."""
    scheme, sep, _ = spec.partition("://")
    if not sep or scheme == "file":
        directory = Path(spec.removeprefix("file://"))
        return FileSink(directory / store if store else directory)
    found = [ep for ep in entry_points(group=SINK_GROUP) if ep.name == scheme]
    if not found:
        known = sorted({"file", *(ep.name for ep in entry_points(group=SINK_GROUP))})
        raise ValueError(f"no checkpoint sink for {scheme}:// (installed: {', '.join(known)})")
    sink: CheckpointSink = found[0].load()(spec, store)
    return sink


class Checkpointer:
    """Signs a writer's committed head into the sink when it has moved, and remembers since
    when appending has failed: past `grace` seconds the writer refuses events (fail closed)."""

    def __init__(
        self,
        sink: CheckpointSink,
        signer: Signer,
        suite: str,
        *,
        grace: float,
        store: str = "",
        timeout: float = 10.0,
    ) -> None:
        self.sink = sink
        self._store = store
        self._timeout = timeout  # a sink that hangs (a stale mount) fails like one that raises
        self._signer = signer
        self._suite = suite
        self._grace = grace
        self._last: tuple[int, str] | None = None
        self.failing_since: float | None = None  # monotonic time of the first failure since a success
        self._error = ""
        self.written = 0

    async def checkpoint(self, head: ChainHead) -> bool:
        """Sign and keep `head` unless it is empty or already kept; False if the sink failed."""
        if head.last_seq == 0 or self._last == (head.last_seq, head.last_hash):
            return True
        try:
            async with asyncio.timeout(self._timeout):
                await self.sink.append(sign_checkpoint(self._signer, self._suite, head, store=self._store))
        except Exception as exc:  # whatever the sink raises, or a hang, the head is not anchored
            reason = f"no answer within {self._timeout:g}s" if isinstance(exc, TimeoutError) else str(exc)
            self.fail(f"{type(exc).__name__}: {reason}")
            return False
        self._last = (head.last_seq, head.last_hash)
        self.written += 1
        if self.failing_since is not None:
            log.warning("audit checkpoints to %s work again", self.sink.description)
        self.failing_since = None
        return True

    def fail(self, error: str) -> None:
        """Count a failure to anchor the head (the grace runs from the first one since a success)."""
        if self.failing_since is None:
            self.failing_since = time.monotonic()
        self._error = error
        log.error("audit checkpoint to %s failed: %s", self.sink.description, error)

    @property
    def failing(self) -> bool:
        return self.failing_since is not None

    def problem(self) -> str | None:
        """Why events must be refused now, or None."""
        if self.failing_since is None:
            return None
        failed_for = time.monotonic() - self.failing_since
        if failed_for <= self._grace:
            return None
        return f"audit checkpoints have failed for {failed_for:.0f}s ({self._error})"
