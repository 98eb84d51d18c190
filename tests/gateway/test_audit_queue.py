"""The audit writer's queue on its own: batch sizes, when a batch waits for more events,
and closing (the writer's commits over a real store are in test_audit.py).

`max_wait` is 5 s where a batch must not wait: one that waited would take 5 s, and the
tests require under 1 s."""

from __future__ import annotations

import asyncio
import time

import pytest

from gateway.audit.queue import CommitQueue, Draft
from gateway.audit.record import AuditUnavailable

AT_ONCE = 1.0  # seconds: far below max_wait


async def timed_batch(queue: CommitQueue) -> tuple[list[Draft], float]:
    started = time.monotonic()
    batch = await queue.next_batch()
    assert batch is not None
    return batch, time.monotonic() - started


def numbers(batch: list[Draft]) -> list[int]:
    return [d.fields["n"] for d in batch]


@pytest.mark.parametrize("siblings", [False, True])
async def test_batches_are_at_most_max_batch_in_order_and_what_queued_meanwhile_goes_at_once(
    siblings: bool,
) -> None:
    queue = CommitQueue(max_batch=3, max_wait=5.0, siblings=siblings)
    opened = queue.begin()  # an operation in flight: with siblings, batches may wait for it
    for n in range(7):
        queue.put({"n": n})
    taken = []
    for _ in range(3):
        batch, waited = await timed_batch(queue)
        assert waited < AT_ONCE  # the first is full; the others queued while it was committed
        taken.append(numbers(batch))
    assert taken == [[0, 1, 2], [3, 4, 5], [6]]
    assert len(queue) == 0
    opened.end()


async def test_without_siblings_a_batch_waits_max_wait_for_more() -> None:
    queue = CommitQueue(max_batch=10, max_wait=0.2, siblings=False)
    queue.put({"n": 1})
    batch, waited = await timed_batch(queue)
    assert numbers(batch) == [1]
    assert waited >= 0.15


async def test_with_siblings_an_event_alone_in_flight_goes_at_once() -> None:
    queue = CommitQueue(max_batch=10, max_wait=5.0, siblings=True)
    queue.put({"n": 1})
    batch, waited = await timed_batch(queue)
    assert numbers(batch) == [1]
    assert waited < AT_ONCE


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
    batch, waited = await taking
    assert numbers(batch) == [1, 2]
    assert waited < AT_ONCE
    assert queue.operations_open == 0


@pytest.mark.parametrize("siblings", [False, True])
async def test_events_queued_during_a_commit_go_next_without_waiting(siblings: bool) -> None:
    queue = CommitQueue(max_batch=2, max_wait=5.0, siblings=siblings)
    opened = queue.begin()  # an operation still executing
    queue.put({"n": 1})
    queue.put({"n": 2})
    first, _ = await timed_batch(queue)  # full: goes at once
    assert numbers(first) == [1, 2]
    queue.put({"n": 3})  # came while the first batch was being committed
    batch, waited = await timed_batch(queue)
    assert numbers(batch) == [3]
    assert waited < AT_ONCE
    opened.end()


async def test_a_full_batch_goes_without_waiting() -> None:
    queue = CommitQueue(max_batch=2, max_wait=5.0, siblings=False)
    queue.put({"n": 1})
    taking = asyncio.ensure_future(timed_batch(queue))
    await asyncio.sleep(0.05)
    queue.put({"n": 2})
    batch, waited = await taking
    assert numbers(batch) == [1, 2]
    assert waited < AT_ONCE


async def test_no_max_wait_means_no_wait() -> None:
    queue = CommitQueue(max_batch=10, max_wait=0.0, siblings=False)
    queue.put({"n": 1})
    batch, waited = await timed_batch(queue)
    assert numbers(batch) == [1]
    assert waited < AT_ONCE


async def test_closing_wakes_a_waiting_batch_and_an_idle_wait() -> None:
    queue = CommitQueue(max_batch=10, max_wait=5.0, siblings=False)
    queue.put({"n": 1})
    waiting = asyncio.ensure_future(timed_batch(queue))
    await asyncio.sleep(0.05)
    queue.close()
    batch, waited = await waiting
    assert numbers(batch) == [1]
    assert waited < AT_ONCE
    queue.reopen()
    idle = asyncio.ensure_future(queue.next_batch())
    await asyncio.sleep(0.05)
    assert not idle.done()  # nothing queued: it waits
    queue.close()
    assert await asyncio.wait_for(idle, AT_ONCE) is None


async def test_closing_drains_in_full_batches_then_gives_none() -> None:
    queue = CommitQueue(max_batch=2, max_wait=5.0, siblings=False)
    for n in range(3):
        queue.put({"n": n})
    queue.close()
    first, _ = await timed_batch(queue)
    second, waited = await timed_batch(queue)
    assert (numbers(first), numbers(second)) == ([0, 1], [2])
    assert waited < AT_ONCE
    assert await queue.next_batch() is None


async def test_fail_all_refuses_what_is_still_queued() -> None:
    queue = CommitQueue(max_batch=2, max_wait=5.0, siblings=False)
    futures = [queue.put({"n": n}) for n in range(3)]
    queue.close()
    await timed_batch(queue)  # 0 and 1: taken into a batch, their commit decides
    queue.fail_all("the audit writer stopped")
    assert len(queue) == 0
    with pytest.raises(AuditUnavailable, match="the audit writer stopped"):
        await futures[2]
    assert not futures[0].done()
    assert await queue.next_batch() is None


async def test_a_reopened_queue_groups_its_first_batch_as_a_new_one_does() -> None:
    queue = CommitQueue(max_batch=10, max_wait=0.2, siblings=False)
    queue.put({"n": 1})
    queue.close()
    await timed_batch(queue)
    queue.reopen()  # as a writer started again
    queue.put({"n": 2})
    batch, waited = await timed_batch(queue)
    assert numbers(batch) == [2]
    assert waited >= 0.15  # waits its max_wait, as the first batch of a new queue would
