"""Counts every backend call so tests can assert batching and /metrics can export it."""

from __future__ import annotations

import asyncio
import time
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass

from .base import Result, Source
from .errors import SourceError

__all__ = ["Call", "CallStats", "CountedSource"]


@dataclass(frozen=True)
class Call:
    source: str
    entity: str
    batch_size: int
    latency: float  # seconds
    outcome: str  # "ok" or the SourceError code


class CallStats:
    """Totals per (source, entity, outcome) plus the most recent calls in order."""

    def __init__(self, keep: int = 10_000) -> None:
        self.recent: deque[Call] = deque(maxlen=keep)
        self.calls: Counter[tuple[str, str, str]] = Counter()
        self.keys: Counter[tuple[str, str]] = Counter()

    def record(self, call: Call) -> None:
        self.recent.append(call)
        self.calls[call.source, call.entity, call.outcome] += 1
        self.keys[call.source, call.entity] += call.batch_size

    def total(self) -> int:
        return sum(self.calls.values())

    def reset(self) -> None:
        self.recent.clear()
        self.calls.clear()
        self.keys.clear()


class CountedSource:
    """Wraps an adapter; sits innermost so only real backend calls are counted."""

    def __init__(self, inner: Source, stats: CallStats) -> None:
        self.name = inner.name
        self._inner = inner
        self._stats = stats

    async def fetch_many(self, entity: str, keys: Sequence[str]) -> list[Result]:
        started = time.perf_counter()
        outcome = "ok"
        try:
            return await self._inner.fetch_many(entity, keys)
        except SourceError as exc:
            outcome = exc.code
            raise
        except asyncio.CancelledError:
            outcome = "cancelled"  # cut off at the call's deadline, or the request went away
            raise
        except Exception:
            outcome = "error"
            raise
        finally:
            self._stats.record(Call(self.name, entity, len(keys), time.perf_counter() - started, outcome))

    async def aclose(self) -> None:
        await self._inner.aclose()
