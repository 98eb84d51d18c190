"""A field whose resolver waits, and what becomes of resolvers nobody waits for any more."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from graphql.pyutils import Path

from gateway.execution.plan.model import FieldPlan
from gateway.execution.plan.positions import Slot

__all__ = ["BACKGROUND", "Pending", "finish", "unseen"]


class Pending:
    """A field whose resolver is waiting."""

    __slots__ = ("cancelled", "container", "coro", "key", "path", "plan", "slot", "task", "waiting_on")

    def __init__(self, plan: FieldPlan, container: dict[str, Any], path: Path, slot: Slot) -> None:
        self.plan, self.container, self.key, self.path, self.slot = plan, container, plan.key, path, slot
        self.coro: Coroutine[Any, Any, Any] | None = None
        self.task: asyncio.Future[Any] | None = None
        self.waiting_on: Any = None
        self.cancelled = False


BACKGROUND: set[asyncio.Future[None]] = set()


async def finish(coro: Coroutine[Any, Any, Any], waits: Any) -> None:
    """Drive a detached resolver's coroutine to its end, its outcome unseen."""
    while True:
        if waits is not None:
            await asyncio.wait([waits])
        try:
            waits = coro.send(None)
        except BaseException:  # its end, whatever it is, is nobody's answer
            return
        if waits is not None:
            waits._asyncio_future_blocking = False


def unseen(task: asyncio.Future[Any]) -> None:
    """A task whose outcome nobody reads: its exception is taken, not reported unretrieved."""
    if not task.cancelled():
        task.exception()
