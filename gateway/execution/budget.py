"""How much work one process executes at once, in the limits' cost units (estimated
fields resolved).

Execution with a warm cache is CPU-bound, and each operation in flight holds its records
and partial answer. Measured with 32 concurrent 50-child enrolment reviews (cost about
4,000 each) on 2 cores: all 32 executing at once took 460 MB and answered 19.5 a second;
with a budget of 16,000 (three at once) 230 MB and 22 a second; 8,000 (two at once) 218 MB
and 25 a second. So operations past the budget wait, first come first served, before they
execute; cheap ones (a talent check costs about 10) are not held back in practice. An
operation costing more than the whole budget runs when nothing else does.

An operation waiting on departments is not executing: while every resolver of it waits
for a batch (its loaders say so, resolvers/loaders.py `WAITING`), its cost is lent to the
operations in line, and when a batch is back it takes its cost again, even past the budget
for a while. Without that, three enrolment reviews waiting on 5 ms departments held back
the 29 others while the CPU had nothing to do. What is admitted at once, waiting or not,
stays within `capacity + lendable` (twice the budget by default), which bounds memory.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque

from resolvers.loaders import WAITING

__all__ = ["WorkBudget"]


class _Share(int):
    """An admitted operation's cost (what `acquire` returns and `release` takes back), and
    the listener its loaders tell when it waits on departments."""

    def __new__(cls, cost: int, budget: WorkBudget) -> _Share:
        share = super().__new__(cls, cost)
        share.budget = budget
        share.parked = False
        share.released = False
        return share

    budget: WorkBudget
    parked: bool  # every resolver waits on departments: its cost is lent
    released: bool

    def waiting(self) -> None:
        if not self.parked and not self.released:
            self.parked = True
            self.budget._lend(int(self))

    def working(self) -> None:
        if self.parked and not self.released:
            self.parked = False
            self.budget._take_back(int(self))


class WorkBudget:
    def __init__(self, capacity: int, lendable: int | None = None) -> None:
        self.capacity = capacity
        # Cost admitted past `capacity` while operations wait on departments.
        self.lendable = capacity if lendable is None else lendable
        self.in_use = 0  # cost of admitted operations that are executing
        self.lent = 0  # cost of admitted operations waiting on departments
        self._waiting: deque[tuple[int, asyncio.Future[None]]] = deque()

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def _fits(self, cost: int) -> bool:
        if self.in_use + self.lent == 0:
            return True
        return self.in_use + cost <= self.capacity and self.in_use + self.lent + cost <= (
            self.capacity + self.lendable
        )

    async def acquire(self, cost: int) -> int:
        """Wait for room for `cost`; returns what to pass to `release`. The operation's
        loaders, in this context, tell the budget when it waits on departments."""
        cost = min(max(cost, 1), self.capacity)
        if not self._waiting and self._fits(cost):
            self.in_use += cost
            return self._share(cost)
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
        return self._share(cost)

    def _share(self, cost: int) -> _Share:
        share = _Share(cost, self)
        WAITING.set(share)
        return share

    def release(self, cost: int) -> None:
        if isinstance(cost, _Share) and cost.budget is self:
            if cost.released:
                return
            cost.released = True
            if cost.parked:
                self.lent -= cost
                self._wake()
                return
        self.in_use -= cost
        self._wake()

    def _lend(self, cost: int) -> None:
        self.in_use -= cost
        self.lent += cost
        self._wake()

    def _take_back(self, cost: int) -> None:
        self.lent -= cost
        self.in_use += cost  # may pass the budget for a while: the operation must go on

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
