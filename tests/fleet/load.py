"""Steady load through the balancer: concurrent clients, each on its own kept-alive
connection to HAProxy (as an application's HTTP client is), sending requests one after
another until stopped, every request's outcome recorded with its start and end times."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.waiting import until

__all__ = ["Load", "Outcome", "steady_load"]


@dataclass(frozen=True)
class Outcome:
    started: float  # time.monotonic()
    ended: float
    status: int | None  # None: no HTTP answer at all
    request_id: str | None  # the gateway's X-Request-Id (absent from HAProxy's own errors)
    body: dict[str, Any] | None
    error: str | None = None  # what the client saw instead of an answer

    @property
    def delivered(self) -> bool:
        """An answer with data and no error: personal data reached the client."""
        return (
            self.status == 200
            and self.body is not None
            and bool(self.body.get("data"))
            and not self.body.get("errors")
        )


@dataclass
class Load:
    url: str
    headers: dict[str, str]
    bodies: Sequence[dict[str, Any]]
    clients: int
    outcomes: list[Outcome] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)

    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.delivered]

    def delivered(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.delivered]

    async def wait_delivered(self, count: int) -> None:
        total = len(self.delivered()) + count
        await until(
            lambda: len(self.delivered()) >= total, f"{count} more answers through the balancer", within=60
        )

    async def _client(self, offset: int) -> None:
        async with httpx.AsyncClient(base_url=self.url, headers=self.headers, timeout=30) as http:
            turn = offset
            while not self._stop.is_set():
                body = self.bodies[turn % len(self.bodies)]
                turn += self.clients
                started = time.monotonic()
                try:
                    answer = await http.post("/graphql", json=body)
                except httpx.TransportError as exc:
                    seen = f"{type(exc).__name__}: {exc}"
                    self.outcomes.append(Outcome(started, time.monotonic(), None, None, None, seen))
                    continue
                try:
                    decoded = answer.json()
                except ValueError:  # HAProxy's own error page
                    decoded = None
                self.outcomes.append(
                    Outcome(
                        started,
                        time.monotonic(),
                        answer.status_code,
                        answer.headers.get("x-request-id"),
                        decoded,
                    )
                )


@contextlib.asynccontextmanager
async def steady_load(
    url: str, headers: dict[str, str], bodies: Sequence[dict[str, Any]], clients: int = 16
) -> AsyncIterator[Load]:
    load = Load(url, headers, bodies, clients)
    tasks = [asyncio.create_task(load._client(i)) for i in range(clients)]
    try:
        yield load
    finally:
        load._stop.set()
        await asyncio.gather(*tasks)
