"""Group commit of audit events into this process's hash chain: events of concurrent
requests share one commit (gateway/audit/queue.py says which), and a request's answer
waits for its event's (gateway/audit/record.py says what an event holds and how it is
hashed)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import socket
import time
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import uuid4

from gateway.audit.checkpoint import Checkpointer
from gateway.audit.partitions import month_of, next_month
from gateway.audit.queue import CommitQueue, Draft, Opened, fail_drafts
from gateway.audit.record import (
    DEFAULT,
    GENESIS,
    MIN_SECRET_BYTES,
    OUTCOMES,
    AccessRecord,
    AuditUnavailable,
    PolicyChange,
    access_fields,
    change_fields,
    link,
)
from gateway.audit.store import MONTHS_AHEAD, AuditStore, AuditStoreError, ChainHead, EventRow
from gateway.audit.suite import Suite
from gateway.config.sections import AuditSettings

__all__ = ["RECENT_FAILURE", "AuditWriter", "WriterObserver", "WriterStats"]

log = logging.getLogger("govgraph.audit")


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
        max_batch: int = AuditSettings.max_batch,
        max_wait: float = AuditSettings.max_wait,
        commit_timeout: float = AuditSettings.commit_timeout,
        suite: Suite = DEFAULT,
        checkpointer: Checkpointer | None = None,
        tend_interval: float = AuditSettings.checkpoint_interval,
        siblings: bool = False,
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
        self._commit_timeout = commit_timeout
        self.suite = suite
        self.checkpointer = checkpointer
        self._tend_interval = tend_interval
        self._tending: asyncio.Task[None] | None = None
        self._months_through = month_of(dt.datetime.now(dt.UTC))  # install() created them ahead
        # `siblings`: operations say when they begin and end, and a commit waits for more
        # events only while one of them is executing; without, a commit always waits
        # (gateway/audit/queue.py).
        self._queue = CommitQueue(max_batch, max_wait, siblings)
        self._head = ChainHead(self.writer_id, 0, GENESIS, suite.name)
        # Read the head from the store before the first commit (a writer_id may be reused) and
        # after a failure (a commit that timed out on our side may have landed on the server's).
        self._head_known = False
        self._task: asyncio.Task[None] | None = None

    @property
    def operations_open(self) -> int:
        """Operations begun (`begin`) and not yet ended."""
        return self._queue.operations_open

    @property
    def queue_depth(self) -> int:
        """Events waiting for a commit (not counting the batch in flight)."""
        return len(self._queue)

    async def start(self) -> None:
        if self._task is None:
            self._queue.reopen()
            self._task = asyncio.create_task(self._run(), name=f"audit-writer-{self.writer_id}")
            self._tending = asyncio.create_task(self._tend(), name=f"audit-checkpoints-{self.writer_id}")

    async def _tend(self) -> None:
        """Every interval: sign the committed head into the checkpoint sink, and create the
        months ahead once the month has turned. A failing sink is retried every second."""
        while True:
            failing = self.checkpointer is not None and self.checkpointer.failing
            await asyncio.sleep(min(1.0, self._tend_interval) if failing else self._tend_interval)
            try:
                await self._months_ahead()
                await self.anchor()
            except Exception as exc:  # the loop must outlive any tick; a lost one counts as failed
                log.exception("audit checkpoint tick failed")
                if self.checkpointer is not None:
                    self.checkpointer.fail(f"{type(exc).__name__}: {exc}")

    def refusing(self) -> str | None:
        """Why events are refused now that checkpoints have failed past their grace, or None."""
        if self.checkpointer is None:
            return None
        if self._tending is not None and self._tending.done() and not self._queue.closing:
            return "the audit checkpoint task stopped"
        return self.checkpointer.problem()

    async def anchor(self) -> bool:
        """Checkpoint the committed head now (False if the sink failed; True without one)."""
        if self.checkpointer is None or not self._head_known:
            return True
        return await self.checkpointer.checkpoint(self._head)

    async def _months_ahead(self) -> None:
        current = month_of(dt.datetime.now(dt.UTC))
        if current < self._months_through:
            return
        try:
            await self._store.ensure_partitions(current, next_month(current, MONTHS_AHEAD))
        except AuditStoreError as exc:  # retried next time; commits fail only once the month runs out
            log.error("audit partitions for the months ahead could not be created: %s", exc)
            return
        self._months_through = next_month(current)

    def begin(self) -> Opened:
        """An operation that may record an event has begun (`siblings`); end it with the
        handle's `end()`, or by passing it to `record`, which ends it once the event is queued."""
        return self._queue.begin()

    async def record(
        self, access: AccessRecord, outcome: str, response_hash: str, opened: Opened | None = None
    ) -> None:
        """Return once the event of `access` is committed; raise AuditUnavailable otherwise.
        `opened`: the operation's handle from `begin`, ended as soon as the event is queued."""
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome {outcome!r} is not one of {sorted(OUTCOMES)}")
        await self._enqueue(self._draft(access, outcome, response_hash), opened)

    async def record_change(self, change: PolicyChange) -> None:
        """Return once the event of a change to the policy is committed (AuditUnavailable otherwise)."""
        await self._enqueue(change_fields(change, dt.datetime.now(dt.UTC)))

    async def _enqueue(self, fields: dict[str, Any], opened: Opened | None = None) -> None:
        try:
            if self._task is None or self._queue.closing:
                raise AuditUnavailable("the audit writer is not running")
            unanchored = self.refusing()
            if unanchored is not None:
                raise AuditUnavailable(unanchored)
            done = self._queue.put(fields)
            if self.observer is not None:
                self.observer.queued(len(self._queue))
        finally:
            if opened is not None:
                opened.end()  # queued (or refused): this operation adds nothing more
        try:
            # On timeout or cancellation wait_for cancels `done`, and the loop then drops the
            # event unless its batch is already in flight: a request that was not answered
            # may still be logged, an answered one is never missing.
            await asyncio.wait_for(done, self._commit_timeout)
        except TimeoutError as exc:
            raise AuditUnavailable(f"audit commit did not finish within {self._commit_timeout}s") from exc

    def _draft(self, access: AccessRecord, outcome: str, response_hash: str) -> dict[str, Any]:
        now = dt.datetime.now(dt.UTC)
        return access_fields(self._secret, access, outcome, response_hash, now, self.suite)

    async def _run(self) -> None:
        while (batch := await self._queue.next_batch()) is not None:
            live = [d for d in batch if not d.done.done()]
            self.stats.abandoned += len(batch) - len(live)
            if self.observer is not None:
                self.observer.queued(len(self._queue))
                if len(live) < len(batch):
                    self.observer.abandoned(len(batch) - len(live))
            if live:
                await self._commit(live)

    async def _commit(self, batch: list[Draft]) -> None:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self._commit_timeout):
                if not self._head_known:
                    stored = await self._store.head(self.writer_id)
                    if stored is not None and stored.suite != self.suite.name:
                        raise AuditStoreError(
                            f"chain {self.writer_id} was begun with suite {stored.suite}, "
                            f"not this writer's {self.suite.name}"
                        )
                    self._head = stored or ChainHead(self.writer_id, 0, GENESIS, self.suite.name)
                    self._head_known = True
                rows, head = self._link(batch)
                await self._store.append(rows, head)
        except asyncio.CancelledError:
            self._head_known = False
            fail_drafts(batch, "the audit writer stopped")
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
            fail_drafts(batch, "the audit store did not take the event")
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

    def _link(self, batch: list[Draft]) -> tuple[list[EventRow], ChainHead]:
        """Give each draft its seq and hashes, in order, after the current head."""
        head = (self._head.last_seq, self._head.last_hash)
        rows = link(self.writer_id, head, (d.fields for d in batch), self.suite)
        return rows, ChainHead(self.writer_id, rows[-1].seq, rows[-1].hash, self.suite.name)

    async def check(self, within: float = 1.0) -> str | None:
        """Why this writer cannot take events now, or None: it must be running, its last
        commit must not have failed recently, and the store must answer a read of this
        writer's chain head (one indexed row) within `within` seconds."""
        if self._task is None or self._queue.closing:
            return "the audit writer is not running"
        if self._failed_at is not None and time.monotonic() - self._failed_at < RECENT_FAILURE:
            return "the last audit commit failed"
        unanchored = self.checkpointer.problem() if self.checkpointer is not None else None
        if unanchored is not None:
            return unanchored
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
        self._queue.close()
        task, self._task = self._task, None
        if self._tending is not None:
            self._tending.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._tending
            self._tending = None
        try:
            await asyncio.wait_for(task, 3 * self._commit_timeout)
            async with asyncio.timeout(self._commit_timeout):  # the last head, signed at shutdown
                await self.anchor()
        except TimeoutError:
            log.warning("audit writer stopped with %d events not committed", len(self._queue))
        finally:
            self._queue.fail_all("the audit writer stopped")
            if self.observer is not None:
                self.observer.queued(0)
