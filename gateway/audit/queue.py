"""The audit writer's queue: events waiting for a commit, and how long a commit waits for
more of them (gateway/audit/writer.py commits what `next_batch` gives it)."""

from __future__ import annotations

import asyncio
import collections
import contextlib
from dataclasses import dataclass
from typing import Any

from gateway.audit.record import AuditUnavailable

__all__ = ["CommitQueue", "Draft", "Opened", "fail_drafts"]


@dataclass
class Draft:
    """An event before it has a place in the chain (no writer, seq or hashes yet)."""

    fields: dict[str, Any]
    done: asyncio.Future[None]


class Opened:
    """An operation begun (`CommitQueue.begin`); `end()` says it is done, once."""

    __slots__ = ("_queue",)

    def __init__(self, queue: CommitQueue) -> None:
        self._queue: CommitQueue | None = queue

    def end(self) -> None:
        queue, self._queue = self._queue, None
        if queue is not None:
            queue._ended()


class CommitQueue:
    """Events in the order they came, taken a batch (at most `max_batch`) at a time.

    A batch waits up to `max_wait` for concurrent requests' events to join it, unless it is
    full, `max_wait` is 0 or the queue is closing. Without `siblings` it always does; with
    them, operations say when they begin and end (`begin`, `Opened.end`), and the wait
    happens only while one that began has not ended: alone in flight, an operation's event
    goes at once (PostgreSQL's commit_delay waits only with commit_siblings active, for the
    same reason). Events that queued during the last commit have waited for it already:
    they are the group, and go at once.
    """

    def __init__(self, max_batch: int, max_wait: float, siblings: bool) -> None:
        self._max_batch = max_batch
        self._max_wait = max_wait
        self._siblings = siblings
        self._pending: collections.deque[Draft] = collections.deque()
        self._nonempty = asyncio.Event()
        self._full = asyncio.Event()
        self._open = 0  # operations begun and not ended
        self._after_commit = False  # the next batch is asked for once the last one is committed
        self.closing = False

    def __len__(self) -> int:
        return len(self._pending)

    @property
    def operations_open(self) -> int:
        return self._open

    def begin(self) -> Opened:
        self._open += 1
        return Opened(self)

    def _ended(self) -> None:
        self._open -= 1
        if self._open == 0 and self._siblings:
            self._full.set()  # a batch waiting for more events goes at once

    def put(self, fields: dict[str, Any]) -> asyncio.Future[None]:
        """Queue an event; the future is done when its commit is (or has failed)."""
        done = asyncio.get_running_loop().create_future()
        self._pending.append(Draft(fields, done))
        self._nonempty.set()
        if len(self._pending) >= self._max_batch:
            self._full.set()
        return done

    async def next_batch(self) -> list[Draft] | None:
        """The next batch, once there is one and its wait is over; None once closing and empty.
        One consumer, which asks again only once the last batch is committed (or failed):
        what queued meanwhile is then the next group."""
        meanwhile = self._after_commit and bool(self._pending)
        self._after_commit = True
        while not self._pending:
            if self.closing:
                return None
            self._nonempty.clear()
            await self._nonempty.wait()
            meanwhile = False
        if not meanwhile and self._grouping():
            self._full.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._max_wait):
                    await self._full.wait()
        return [self._pending.popleft() for _ in range(min(len(self._pending), self._max_batch))]

    def _grouping(self) -> bool:
        if self.closing or len(self._pending) >= self._max_batch or self._max_wait <= 0:
            return False
        return self._open > 0 or not self._siblings

    def close(self) -> None:
        """Stop waiting: what is queued goes in full batches, then `next_batch` gives None."""
        self.closing = True
        self._nonempty.set()
        self._full.set()

    def reopen(self) -> None:
        """Take events again after `close` (a writer started again): as a new queue would."""
        self.closing = False
        self._after_commit = False

    def fail_all(self, reason: str) -> None:
        fail_drafts(list(self._pending), reason)
        self._pending.clear()


def fail_drafts(batch: list[Draft], reason: str) -> None:
    for draft in batch:
        if not draft.done.done():
            draft.done.set_exception(AuditUnavailable(reason))
