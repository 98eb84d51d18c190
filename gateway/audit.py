"""The audit log: one event per data access, hash-chained per writer, group-committed.

A request fills an AccessRecord while it executes; before its response is released the
gateway awaits `AuditWriter.record`, which returns only once the event is committed (or
raises AuditUnavailable, which the gateway answers with AUDIT_UNAVAILABLE, HTTP 503).
Events of concurrent requests share one commit. Each event's hash covers its content and
the previous event's hash, so an altered, removed or reordered event breaks the chain;
`verify` finds the first break of every chain. Subjects are stored as keyed HMACs, so the
log does not become a copy of the register. SQL lives in sources/audit_store.py.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import hashlib
import hmac
import logging
import os
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Protocol
from uuid import uuid4

import orjson

from sources.audit_store import AuditStore, AuditStoreError, ChainHead, EventRow

__all__ = [
    "OUTCOMES",
    "AccessRecord",
    "AuditUnavailable",
    "AuditWriter",
    "VerifyReport",
    "WriterObserver",
    "WriterStats",
    "canonical_hash",
    "event_hash",
    "subject_key",
    "subject_report",
    "verify",
]

log = logging.getLogger("govgraph.audit")

GENESIS = "0" * 64
OUTCOMES = frozenset({"ok", "partial", "denied", "error"})
# What a root look-up by id came to, as the audit records it for the id asked.
LOOKUPS = ("found", "not_found", "out_of_jurisdiction", "forbidden", "failed")
MIN_SECRET_BYTES = 16  # a short key would let anyone enumerate the id space against the log
_HASHED = tuple(f.name for f in fields(EventRow) if f.name not in ("prev_hash", "hash"))


def subject_key(secret: bytes, identifier: str) -> str:
    """The keyed HMAC that stands for a person or enterprise id in the log."""
    return hmac.new(secret, identifier.encode(), hashlib.sha256).hexdigest()


def canonical_hash(value: object) -> str:
    """sha256 of the canonical JSON of `value` (sorted keys), e.g. of a response."""
    return hashlib.sha256(orjson.dumps(value, option=orjson.OPT_SORT_KEYS)).hexdigest()


def event_hash(prev_hash: str, row_without_hashes: Mapping[str, Any]) -> str:
    """One chain link: sha256(prev_hash + canonical JSON of the event's other columns)."""
    body = orjson.dumps(dict(row_without_hashes), option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(prev_hash.encode() + body).hexdigest()


def _hashed_fields(values: Mapping[str, Any]) -> dict[str, Any]:
    """The columns an event's hash covers (all but prev_hash and hash), as they are hashed."""
    hashed = {name: values[name] for name in _HASHED}
    # One spelling of the instant, whatever tzinfo object the driver hands back.
    hashed["time"] = hashed["time"].astimezone(dt.UTC).isoformat(timespec="microseconds")
    return hashed


def _text(value: str) -> str:
    # Request-supplied text PostgreSQL cannot store (NUL, lone surrogates) would fail the
    # whole batch, i.e. every concurrent request: replace it before it is hashed.
    if "\x00" in value or not value.isascii():
        value = value.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")
    return value


def _optional_text(value: str | None) -> str | None:
    return None if value is None else _text(value)


@dataclass
class AccessRecord:
    """What one request read and was refused; filled in by the gateway while it executes."""

    request_id: str
    client: str
    purpose: str
    case_id: str | None
    operator: str | None
    operation: str | None
    document_hash: str
    subjects: dict[str, set[str]] = field(default_factory=dict)  # raw identifier -> scopes read
    denied: list[tuple[str, str]] = field(default_factory=list)  # (path, scope)
    lookups: dict[str, str] = field(default_factory=dict)  # raw identifier asked at the root -> outcome
    # raw identifier -> verdicts and summaries concluded about it: field, arguments, value
    conclusions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def read(self, subject: str, scope: str) -> None:
        scopes = self.subjects.get(subject)
        if scopes is None:
            self.subjects[subject] = {scope}
        else:
            scopes.add(scope)

    def deny(self, path: str, scope: str) -> None:
        self.denied.append((path, scope))

    def lookup(self, subject: str, outcome: str) -> None:
        if outcome not in LOOKUPS:
            raise ValueError(f"look-up outcome {outcome!r} is not one of {LOOKUPS}")
        if self.lookups.get(subject) != "found":  # asked twice: found once is what it came to
            self.lookups[subject] = outcome

    def conclude(self, subject: str, field: str, arguments: Mapping[str, Any], value: Any) -> None:
        entry = {"field": field, "arguments": dict(arguments), "value": value}
        concluded = self.conclusions.setdefault(subject, [])
        if entry not in concluded:
            concluded.append(entry)

    @property
    def touched(self) -> bool:
        """Only a request that looked a subject up, read one, or was refused a field writes
        an event: so every guess at an id is on record, found or not."""
        return bool(self.subjects or self.denied or self.lookups)


class AuditUnavailable(Exception):
    """The event could not be committed: the response must not be released (AUDIT_UNAVAILABLE)."""


@dataclass
class WriterStats:
    events: int = 0  # events committed
    batches: int = 0  # group commits that succeeded
    failures: int = 0  # group commits that failed
    abandoned: int = 0  # events dropped because their request stopped waiting before the commit


class WriterObserver(Protocol):
    """Told of the writer's queue and commits as they happen (e.g. to export metrics)."""

    def queued(self, depth: int) -> None: ...

    def committed(self, events: int, seconds: float) -> None: ...

    def failed(self, events: int, seconds: float) -> None: ...

    def abandoned(self, events: int) -> None: ...


# A commit that failed this recently (seconds), with none succeeding since, makes the
# writer unhealthy; after it the process is offered traffic again, so it can recover.
RECENT_FAILURE = 10.0


@dataclass
class _Draft:
    """An event before it has a place in the chain (no writer, seq or hashes yet)."""

    fields: dict[str, Any]
    done: asyncio.Future[None]


class AuditWriter:
    """Group commit of audit events into this process's hash chain.

    One commit is in flight at a time: the chain is a sequence, and a failed batch must
    not be followed by one that links to it.
    """

    def __init__(
        self,
        store: AuditStore,
        secret: bytes,
        *,
        writer_id: str | None = None,
        max_batch: int = 256,
        max_wait: float = 0.002,
        commit_timeout: float = 2.0,
    ) -> None:
        if len(secret) < MIN_SECRET_BYTES:
            raise ValueError(f"the audit secret must be at least {MIN_SECRET_BYTES} bytes")
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self.writer_id = writer_id or f"{socket.gethostname()}-{os.getpid()}-{uuid4().hex[:8]}"
        self.stats = WriterStats()
        self.observer: WriterObserver | None = None
        self._failed_at: float | None = None  # monotonic time of the last failed commit, if none since
        self._store = store
        self._secret = secret
        self._max_batch = max_batch
        self._max_wait = max_wait
        self._commit_timeout = commit_timeout
        self._pending: collections.deque[_Draft] = collections.deque()
        self._nonempty = asyncio.Event()
        self._full = asyncio.Event()
        self._head = ChainHead(self.writer_id, 0, GENESIS)
        # Read the head from the store before the first commit (a writer_id may be reused) and
        # after a failure (a commit that timed out on our side may have landed on the server's).
        self._head_known = False
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    @property
    def queue_depth(self) -> int:
        """Events waiting for a commit (not counting the batch in flight)."""
        return len(self._pending)

    async def start(self) -> None:
        if self._task is None:
            self._closing = False
            self._task = asyncio.create_task(self._run(), name=f"audit-writer-{self.writer_id}")

    async def record(self, access: AccessRecord, outcome: str, response_hash: str) -> None:
        """Return once the event of `access` is committed; raise AuditUnavailable otherwise."""
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome {outcome!r} is not one of {sorted(OUTCOMES)}")
        if self._task is None or self._closing:
            raise AuditUnavailable("the audit writer is not running")
        done = asyncio.get_running_loop().create_future()
        self._pending.append(_Draft(self._draft(access, outcome, response_hash), done))
        if self.observer is not None:
            self.observer.queued(len(self._pending))
        self._nonempty.set()
        if len(self._pending) >= self._max_batch:
            self._full.set()
        try:
            # On timeout or cancellation wait_for cancels `done`, and the loop then drops the
            # event unless its batch is already in flight: a request that was not answered
            # may still be logged, an answered one is never missing.
            await asyncio.wait_for(done, self._commit_timeout)
        except TimeoutError as exc:
            raise AuditUnavailable(f"audit commit did not finish within {self._commit_timeout}s") from exc

    def _draft(self, access: AccessRecord, outcome: str, response_hash: str) -> dict[str, Any]:
        return {
            "time": dt.datetime.now(dt.UTC),
            "request_id": _text(access.request_id),
            "client": _text(access.client),
            "purpose": _text(access.purpose),
            "case_id": _optional_text(access.case_id),
            "operator": _optional_text(access.operator),
            "operation": _optional_text(access.operation),
            "document_hash": access.document_hash,
            "subjects": _subject_entries(self._secret, access),
            "denied": [{"path": path, "scope": scope} for path, scope in access.denied],
            "outcome": outcome,
            "response_hash": response_hash,
        }

    async def _run(self) -> None:
        while True:
            if not self._pending:
                if self._closing:
                    return
                self._nonempty.clear()
                await self._nonempty.wait()
                continue
            if not self._closing and len(self._pending) < self._max_batch and self._max_wait > 0:
                # Give concurrent requests max_wait to join this commit, unless it is already full.
                self._full.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._max_wait):
                        await self._full.wait()
            batch = [self._pending.popleft() for _ in range(min(len(self._pending), self._max_batch))]
            live = [d for d in batch if not d.done.done()]
            self.stats.abandoned += len(batch) - len(live)
            if self.observer is not None:
                self.observer.queued(len(self._pending))
                if len(live) < len(batch):
                    self.observer.abandoned(len(batch) - len(live))
            if live:
                await self._commit(live)

    async def _commit(self, batch: list[_Draft]) -> None:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self._commit_timeout):
                if not self._head_known:
                    stored = await self._store.head(self.writer_id)
                    self._head = stored or ChainHead(self.writer_id, 0, GENESIS)
                    self._head_known = True
                rows, head = self._link(batch)
                await self._store.append(rows, head)
        except asyncio.CancelledError:
            self._head_known = False
            _fail(batch, "the audit writer stopped")
            raise
        except Exception as exc:  # the loop must outlive any batch
            self.stats.failures += 1
            self._failed_at = time.monotonic()
            if self.observer is not None:
                self.observer.failed(len(batch), time.perf_counter() - started)
            self._head_known = False  # the head does not advance; re-read it before the next batch
            if isinstance(exc, (AuditStoreError, TimeoutError)):
                log.warning("audit commit of %d events failed: %s", len(batch), exc)
            else:
                log.exception("audit commit of %d events failed unexpectedly", len(batch))
            _fail(batch, "the audit store did not take the event")
            return
        self._head = head
        self.stats.batches += 1
        self.stats.events += len(rows)
        self._failed_at = None
        if self.observer is not None:
            self.observer.committed(len(rows), time.perf_counter() - started)
        for draft in batch:
            if not draft.done.done():
                draft.done.set_result(None)

    def _link(self, batch: list[_Draft]) -> tuple[list[EventRow], ChainHead]:
        """Give each draft its seq and hashes, in order, after the current head."""
        seq, prev = self._head.last_seq, self._head.last_hash
        rows = []
        for draft in batch:
            seq += 1
            values = {**draft.fields, "writer_id": self.writer_id, "seq": seq, "prev_hash": prev}
            prev = values["hash"] = event_hash(prev, _hashed_fields(values))
            rows.append(EventRow(**values))
        return rows, ChainHead(self.writer_id, seq, prev)

    async def check(self, within: float = 1.0) -> str | None:
        """Why this writer cannot take events now, or None: it must be running, its last
        commit must not have failed recently, and the store must answer a read of this
        writer's chain head (one indexed row) within `within` seconds."""
        if self._task is None or self._closing:
            return "the audit writer is not running"
        if self._failed_at is not None and time.monotonic() - self._failed_at < RECENT_FAILURE:
            return "the last audit commit failed"
        try:
            async with asyncio.timeout(within):
                await self._store.head(self.writer_id)
        except Exception as exc:  # whatever the driver raises, the store cannot take events now
            log.warning("audit store check failed: %s: %s", type(exc).__name__, exc)
            return "the audit store does not answer"
        return None

    async def aclose(self) -> None:
        """Commit what is queued (best effort, bounded by a few commit timeouts), then stop."""
        if self._task is None:
            return
        self._closing = True
        self._nonempty.set()
        self._full.set()
        task, self._task = self._task, None
        try:
            await asyncio.wait_for(task, 3 * self._commit_timeout)
        except TimeoutError:
            log.warning("audit writer stopped with %d events not committed", len(self._pending))
        finally:
            _fail(list(self._pending), "the audit writer stopped")
            self._pending.clear()
            if self.observer is not None:
                self.observer.queued(0)


def _subject_entries(secret: bytes, access: AccessRecord) -> list[dict[str, Any]]:
    """One entry per subject the request touched, by keyed hash: the scopes read, and where
    they apply, what a root look-up of its id came to and the verdicts concluded about it."""
    identifiers = set(access.subjects) | set(access.lookups) | set(access.conclusions)
    entries = []
    for ident in identifiers:
        entry: dict[str, Any] = {
            "subject": subject_key(secret, ident),
            "scopes": sorted(access.subjects.get(ident, ())),
        }
        if ident in access.lookups:
            entry["lookup"] = access.lookups[ident]
        if ident in access.conclusions:
            entry["verdicts"] = access.conclusions[ident]
        entries.append(entry)
    return sorted(entries, key=lambda e: str(e["subject"]))


def _fail(batch: list[_Draft], reason: str) -> None:
    for draft in batch:
        if not draft.done.done():
            draft.done.set_exception(AuditUnavailable(reason))


@dataclass
class VerifyReport:
    chains: int = 0
    events: int = 0
    problems: list[str] = field(default_factory=list)  # the first break of each broken chain

    @property
    def ok(self) -> bool:
        return not self.problems


def _sorted_subjects(entries: object) -> list[tuple[str, list[str]]] | None:
    # The column may hold anything after tampering: what is not well-formed matches nothing.
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        return None
    return sorted((str(e.get("subject")), [str(s) for s in e.get("scopes") or []]) for e in entries)


def _first_break(
    writer_id: str, rows: list[EventRow], head: ChainHead | None, index: dict[int, list[dict[str, Any]]]
) -> str | None:
    prev = GENESIS
    for expected, row in enumerate(rows, start=1):
        where = f"writer {writer_id} seq {expected}"
        if row.seq != expected:
            return f"{where}: missing (the next event is seq {row.seq}); events were deleted or renumbered"
        if row.prev_hash != prev:
            link = "the genesis hash" if expected == 1 else f"the hash of seq {expected - 1}"
            return f"{where}: prev_hash is not {link}; events were removed, inserted or reordered"
        if event_hash(prev, _hashed_fields(vars(row))) != row.hash:
            return f"{where}: hash does not match the event's content; the event was altered"
        indexed = _sorted_subjects(index.pop(row.seq, []))
        if indexed is None or indexed != _sorted_subjects(row.subjects):
            return f"{where}: audit_subject rows do not match the event's subjects"
        prev = row.hash
    last_seq = rows[-1].seq if rows else 0
    if head is None:
        return f"writer {writer_id} seq {last_seq}: no audit_writer head for this chain"
    if head.last_seq != last_seq:
        return (
            f"writer {writer_id} seq {head.last_seq}: the head says the chain ends at seq {head.last_seq} "
            f"but the last event is seq {last_seq}; the newest events were deleted or added"
        )
    if head.last_hash != prev:
        return f"writer {writer_id} seq {last_seq}: the head's hash is not the last event's hash"
    if index:
        return f"writer {writer_id} seq {min(index)}: audit_subject rows for an event that does not exist"
    return None


async def verify(store: AuditStore) -> VerifyReport:
    """Check every chain in the store; report the first broken link of each."""
    report = VerifyReport()
    async for writer_id, rows, head in store.chains():
        report.chains += 1
        report.events += len(rows)
        # Index rows past what this snapshot saw belong to commits made since (verify may run live).
        through = max(rows[-1].seq if rows else 0, head.last_seq if head else 0)
        index = await store.subject_index(writer_id, through)
        problem = _first_break(writer_id, rows, head, index)
        if problem is not None:
            report.problems.append(problem)
    return report


async def subject_report(store: AuditStore, secret: bytes, identifier: str) -> list[dict[str, Any]]:
    """Who accessed this person or enterprise, when, for what purpose and which scopes; newest first."""
    return await store.subject_events(subject_key(secret, identifier))
