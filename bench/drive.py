"""Closed-loop load: `concurrency` workers, each sending its next request when the last
one is answered, for a fixed time. Every request is timed; answers with GraphQL errors
are counted (and the first one kept), never silently accepted.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson

__all__ = ["GraphQLClient", "Run", "drive", "drive_count", "percentile"]

# Calls return None for a good answer, or what was wrong with it.
Call = Callable[[int], Awaitable[str | None]]


@dataclass
class Run:
    """Throughput and latencies count good answers only: an error answered fast must
    not pass for speed. Errors are counted apart."""

    requests: int = 0  # sent, good or not
    errors: int = 0
    elapsed: float = 0.0  # from the first request sent to the last answer received
    latencies: list[float] = field(default_factory=list)  # of good answers
    first_error: str | None = None

    @property
    def good(self) -> int:
        return self.requests - self.errors

    async def timed(self, call: Call, i: int) -> None:
        """Send request `i` and count it: its latency if good, else the error."""
        t0 = time.perf_counter()
        problem = await call(i)
        self.requests += 1
        if problem is None:
            self.latencies.append(time.perf_counter() - t0)
        else:
            self.errors += 1
            self.first_error = self.first_error or problem

    @property
    def rps(self) -> float:
        return self.good / self.elapsed if self.elapsed else 0.0

    def ms(self, q: float) -> float:
        return percentile(self.latencies, q) * 1000


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


async def drive(call: Call, seconds: float, concurrency: int) -> Run:
    """Send requests for `seconds`; requests in flight at the deadline are waited for."""
    run = Run()
    started = time.perf_counter()
    deadline = started + seconds

    async def worker(offset: int) -> None:
        i = offset
        while time.perf_counter() < deadline:
            await run.timed(call, i)
            i += concurrency

    await asyncio.gather(*(worker(n) for n in range(concurrency)))
    run.elapsed = time.perf_counter() - started
    return run


async def drive_count(call: Call, count: int, concurrency: int) -> Run:
    """Send exactly `count` requests, `concurrency` at a time."""
    run = Run()
    started = time.perf_counter()
    indices = iter(range(count))

    async def worker() -> None:
        for i in indices:  # shared: each index is taken by one worker
            await run.timed(call, i)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    run.elapsed = time.perf_counter() - started
    return run


class GraphQLClient:
    """POSTs pre-encoded GraphQL requests to one URL over a pooled aiohttp session."""

    def __init__(self, url: str, headers: Mapping[str, str], connections: int = 64) -> None:
        self.url = url
        self.headers = {**headers, "Content-Type": "application/json"}
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> GraphQLClient:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self._connections, keepalive_timeout=60),
            timeout=aiohttp.ClientTimeout(total=120),
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @staticmethod
    def body(query: str, variables: Mapping[str, Any]) -> bytes:
        return orjson.dumps({"query": query, "variables": dict(variables)})

    async def post(self, body: bytes) -> tuple[int, dict[str, Any]]:
        assert self._session is not None
        async with self._session.post(self.url, data=body, headers=self.headers) as response:
            raw = await response.read()
            status = response.status
        try:
            answer: dict[str, Any] = orjson.loads(raw)
        except orjson.JSONDecodeError:
            answer = {"errors": [{"message": raw[:200].decode(errors="replace")}]}
        return status, answer

    async def check(self, body: bytes) -> str | None:
        """None for a complete answer; else the status and the first error."""
        try:
            status, answer = await self.post(body)
        except (aiohttp.ClientError, TimeoutError) as exc:
            return f"{type(exc).__name__}: {exc}"
        errors = answer.get("errors")
        if status != 200 or errors or answer.get("data") is None:
            first = errors[0] if errors else {}
            code = first.get("extensions", {}).get("code", "") if isinstance(first, dict) else ""
            message = first.get("message", "") if isinstance(first, dict) else str(first)
            return f"HTTP {status} {code} {message}".strip()[:300]
        return None
