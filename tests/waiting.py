"""Waiting for what a test needs to have happened rather than for a while: the wait ends as
soon as the condition holds, and fails the test, saying what it waited for, if it never does.

The deadline is generous on purpose: on a loaded machine a fixed short sleep either fails
spuriously or lets an assertion pass before the thing it checks has happened.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable

__all__ = ["DEADLINE", "until"]

DEADLINE = 15.0  # seconds


async def until(
    condition: Callable[[], object | Awaitable[object]],
    what: str,
    *,
    within: float = DEADLINE,
    interval: float = 0.01,
) -> None:
    """Return once `condition()` (awaited if it returns an awaitable) is truthy; AssertionError
    after `within` seconds. It is checked before the first pause and once more at the deadline."""
    deadline = time.monotonic() + within
    while True:
        expired = time.monotonic() >= deadline
        held = condition()
        if inspect.isawaitable(held):
            held = await held
        if held:
            return
        if expired:
            raise AssertionError(f"waited {within:g} s for {what}")
        await asyncio.sleep(interval)
