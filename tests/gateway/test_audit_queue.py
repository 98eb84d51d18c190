"""The audit writer's queue on its own: batch sizes, when a batch waits for more events,
and closing (the writer's commits over a real store are in test_audit.py)."""

from __future__ import annotations

import asyncio
import time

import pytest

from gateway.audit.queue import CommitQueue
from gateway.audit.record import AuditUnavailable


async def timed_batch(queue: CommitQueue) -> tuple[int, float]:
    started = time.monotonic()
    batch = await queue.next_batch()
    assert batch is not None
    return len(batch), time.monotonic() - started


async def test_batches_are_at_most_max_batch_and_in_order() -> None:
    queue = CommitQueue(max_batch=3, max_wait=5.0, siblings=False)
    for n in range(7):
        queue.put({"n": n})
    taken = []
    for _ in range(3):
        batch = await queue.next_batch()
        assert batch is not None
        taken.append([d.fields["n"] for d in batch])
    assert taken == [[0, 1, 2], [3, 4, 5], [6]]  # queued before the last batch went: none waits
    assert len(queue) == 0


async def test_without_siblings_a_batch_waits_max_wait_for_more() -> None:
    queue = CommitQueue(max_batch=10, max_wait=0.2, siblings=False)
    queue.put({})
    size, waited = await timed_batch(queue)
    assert size == 1
    assert waited >= 0.15


async def test_with_siblings_an_event_alone_in_flight_goes_at_once() -> None:
    queue = CommitQueue(max_batch=10, max_wait=5.0, siblings=True)
    queue.put({})
    size, waited = await timed_batch(queue)
    assert (size, waited < 1.0) == (1, True)


async def test_with_siblings_a_batch_waits_while_an_operation_is_open_and_goes_when_it_ends() -> None:
    queue = CommitQueue(max_batch=10, max_wait=5.0, siblings=True)
    first, second = queue.begin(), queue.begin()
    queue.put({"n": 1})
    first.end()
    first.end()  # a handle ends once
    assert queue.operations_open == 1
    taking = asyncio.ensure_future(timed_batch(queue))
    await asyncio.sleep(0.1)
    assert not taking.done()  # the second operation may still add its event
    queue.put({"n": 2})
    second.end()
    size, waited = await taking
    assert size == 2
    assert waited < 1.0
    assert queue.operations_open == 0


async def test_events_queued_during_a_commit_go_next_without_waiting() -> None:
    queue = CommitQueue(max_batch=10, max_wait=5.0, siblings=True)
    still_open = queue.begin()
    queue.put({})
    queue.ended()  # as if that operation ended: its batch goes
    size, _ = await timed_batch(queue)
    assert size == 1
    queue.put({})  # came while that batch was being committed; an operation is still open
    size, waited = await timed_batch(queue)
    assert (size, waited < 1.0) == (1, True)
    still_open.end()


async def test_a_full_batch_goes_without_waiting() -> None:
    queue = CommitQueue(max_batch=2, max_wait=5.0, siblings=False)
    queue.put({})
    taking = asyncio.ensure_future(timed_batch(queue))
    await asyncio.sleep(0.05)
    queue.put({})
    size, waited = await taking
    assert (size, waited < 1.0) == (2, True)


async def test_closing_gives_what_is_queued_then_none_and_fail_all_refuses_the_rest() -> None:
    queue = CommitQueue(max_batch=2, max_wait=5.0, siblings=False)
    futures = [queue.put({"n": n}) for n in range(3)]
    queue.close()
    batch = await queue.next_batch()
    assert batch is not None
    assert len(batch) == 2
    queue.fail_all("the audit writer stopped")
    assert await queue.next_batch() is None
    with pytest.raises(AuditUnavailable, match="the audit writer stopped"):
        await futures[2]
    assert not futures[0].done()  # taken into a batch: its commit decides
