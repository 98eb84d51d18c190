"""Target (e): a gateway process's memory over many requests for many different people.

The timed cases cycle through a few hundred sample subjects, so the record cache stays
small. Here requests ask about distinct persons drawn from the whole register (the
talent-policy check and a 20-person profile, alternately), so the cache fills to its
bound and whatever grows with traffic shows. RSS is read every tenth of the run.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import asyncpg

from .drive import GraphQLClient, drive_count
from .operations import OPERATIONS

__all__ = ["PROFILE", "Soak", "soak", "subjects"]

PROFILE = """query Profiles($ids: [ResidentId!]!) {
  persons(ids: $ids) {
    name age household { number district { name } }
    socialInsurance { status monthsContributed currentEmployer { name taxCreditRating { year grade } } }
  }
}"""
PROFILE_SIZE = 20


@dataclass
class Soak:
    requests: int = 0
    errors: int = 0
    first_error: str | None = None
    seconds: float = 0.0
    distinct_persons: int = 0
    rss_mb: list[tuple[int, float]] = field(default_factory=list)  # (requests so far, MB)


async def subjects(dsn: str, count: int) -> list[str]:
    """`count` distinct persons spread over the register (a hash order, not the first rows)."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT id FROM person ORDER BY md5(id) LIMIT $1", count)
    finally:
        await conn.close()
    return [r["id"] for r in rows]


async def soak(
    url: str,
    headers: dict[str, str],
    persons: Sequence[str],
    requests: int,
    concurrency: int,
    rss_mb: Callable[[], float],
    progress: Callable[[Soak], None] | None = None,
) -> Soak:
    """`progress` hears of each reading as it is taken (a long soak's log)."""
    talent = OPERATIONS["talent_check"].query
    bodies = itertools.cycle(
        body
        for start in range(0, len(persons) - PROFILE_SIZE + 1, PROFILE_SIZE)
        for body in (
            GraphQLClient.body(talent, {"id": persons[start], "months": 24, "within": 36}),
            GraphQLClient.body(PROFILE, {"ids": list(persons[start : start + PROFILE_SIZE])}),
        )
    )
    result = Soak(distinct_persons=len(persons), rss_mb=[(0, rss_mb())])
    step = max(1, requests // 10)
    async with GraphQLClient(url, headers) as client:
        while result.requests < requests:
            chunk = [next(bodies) for _ in range(min(step, requests - result.requests))]

            async def call(i: int, chunk: list[bytes] = chunk) -> str | None:
                return await client.check(chunk[i % len(chunk)])

            run = await drive_count(call, len(chunk), concurrency)
            result.requests += run.requests
            result.errors += run.errors
            result.first_error = result.first_error or run.first_error
            result.seconds += run.elapsed
            result.rss_mb.append((result.requests, rss_mb()))
            if progress is not None:
                progress(result)
    return result
