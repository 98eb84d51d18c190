"""Simulated department latency (`inject_latency`), for benchmarks and fault drills."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from .base import Result, Source

__all__ = ["DelayedSource", "delayed"]


class DelayedSource:
    """Sleeps `delay` seconds before every call. It sits inside the call counting and the
    resilience layer, so the delay shows in call latencies and counts against timeouts,
    as a slow department would."""

    def __init__(self, inner: Source, delay: float) -> None:
        self.name = inner.name
        self.inner = inner
        self.delay = delay

    async def fetch_many(self, entity: str, keys: Sequence[str]) -> list[Result]:
        await asyncio.sleep(self.delay)
        return await self.inner.fetch_many(entity, keys)

    async def aclose(self) -> None:
        await self.inner.aclose()


def delayed(inner: Source, delay: float) -> Source:
    """`inner` itself when there is no latency to add (the production case)."""
    return DelayedSource(inner, delay) if delay > 0 else inner
