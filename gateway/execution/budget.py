"""How much work one process executes at once, in the limits' cost units (estimated
fields resolved).

Execution with a warm cache is CPU-bound, and each operation in flight holds its records
and partial answer. Measured with 32 concurrent 50-child enrolment reviews (cost about
4,000 each) on 2 cores: all 32 executing at once took 460 MB and answered 19.5 a second;
with a budget of 16,000 (4 at once) 230 MB and 22 a second; 8,000 (2 at once) 218 MB and
25 a second, but a budget that small would hold back operations waiting on slow
departments. So operations past the budget wait, first come first served, before they
execute; cheap ones (a talent check costs about 10) are not held back in practice. An
operation costing more than the whole budget runs when nothing else does.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque

__all__ = ["WorkBudget"]


class WorkBudget:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.in_use = 0
        self._waiting: deque[tuple[int, asyncio.Future[None]]] = deque()

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def _fits(self, cost: int) -> bool:
        return self.in_use == 0 or self.in_use + cost <= self.capacity

    async def acquire(self, cost: int) -> int:
        """Wait for room for `cost`; returns what to pass to `release`."""
        cost = min(max(cost, 1), self.capacity)
        if not self._waiting and self._fits(cost):
            self.in_use += cost
            return cost
        turn = asyncio.get_running_loop().create_future()
        self._waiting.append((cost, turn))
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self.release(cost)  # granted just as the caller went away
            else:
                with contextlib.suppress(ValueError):  # _wake may have dropped it already
                    self._waiting.remove((cost, turn))
                self._wake()  # a big operation leaving the head may let smaller ones in
            raise
        return cost

    def release(self, cost: int) -> None:
        self.in_use -= cost
        self._wake()

    def _wake(self) -> None:
        while self._waiting:
            cost, turn = self._waiting[0]
            if turn.done():  # its caller was cancelled and has not run yet to leave the line
                self._waiting.popleft()
                continue
            if not self._fits(cost):
                return
            self._waiting.popleft()
            self.in_use += cost
            turn.set_result(None)
