"""What one core of a gateway serves, per registered operation, and what each answer leaves
in Redis and in the audit log: the measurements docs/operations.md sizes a fleet from.

One `govgraph serve` process (one worker, so at most one core) over the demo city, with
its record cache and rate limits in Redis and the audit log on (sync). Each registered
operation (documents/manifest.json) is sent by id at a fixed concurrency, twice:

- warm: the same subjects again and again, every record in the cache (the best case);
- cold: a subject never asked before in every request, so every record comes from the
  departments (what most of a city's traffic is: few residents are asked about twice
  within the cache's 60 s).

Answers per core = good answers / CPU seconds the gateway process used (user + system,
psutil), whatever else the machine runs (departments, PostgreSQL, this load generator).
Then the audit log's bytes per event (growth of its tables over the events written) and
Redis's bytes per cached record (MEMORY USAGE of this run's keys). Writes bench/sizing.md.

    .venv/bin/python -m bench.sizing                          # 20,000-person city
    .venv/bin/python -m bench.sizing --seconds 5 --cold 500   # quicker
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import jwt
import orjson
import psutil
import redis.asyncio as aioredis

from .drive import GraphQLClient, drive, drive_count
from .run import HEADERS, HERE, City, city, free_port, log

DOCUMENTS = HERE.parent / "documents"
DEMO_SECRET = "demo-only-hs256-secret-do-not-use-in-production"  # noqa: S105 - govgraph.toml's published demo key
AUDIT_TABLES = ("audit_event", "audit_subject", "audit_writer")


@dataclass
class Measured:
    operation: str
    cache: str  # warm | cold
    answers: int
    errors: int
    seconds: float
    cpu: float  # gateway CPU seconds

    @property
    def per_core(self) -> float:
        return self.answers / self.cpu if self.cpu else 0.0


def auditor() -> dict[str, str]:
    claims = {"sub": "auditor", "aud": "govgraph", "exp": int(time.time()) + 3600, "scope": "audit"}
    return {"Authorization": "Bearer " + jwt.encode(claims, DEMO_SECRET, "HS256"), "X-Purpose": "audit"}


async def column(dsn: str, sql: str, count: int) -> list[str]:
    conn = await asyncpg.connect(dsn)
    try:
        return [r[0] for r in await conn.fetch(sql, count)]
    finally:
        await conn.close()


async def subjects(c: City, count: int) -> dict[str, tuple[list[str], list[str]]]:
    """Kind -> (warm values: the samples, cold values: `count` per operation of that kind,
    each operation its own slice (SLICE), so that none finds another's records cached)."""
    cases, ps, market = c.samples["cases"], c.dsns["public_security"], c.dsns["market"]
    people = await column(ps, "SELECT id FROM person ORDER BY md5(id) LIMIT $1", 2 * count)
    households = await column(ps, "SELECT number FROM household ORDER BY md5(number) LIMIT $1", count)
    codes = await column(
        market, "SELECT credit_code FROM enterprise ORDER BY md5(credit_code) LIMIT $1", 2 * count
    )
    return {
        "person": (cases["family_child"][:50], people),
        "household": (cases["household"][:50], households),
        "enterprise": (cases["d_rated_enterprise"][:25] + cases["enterprise_with_arrears"][:25], codes),
    }


def variables(name: str, subject: str) -> dict[str, Any]:
    sets: dict[str, dict[str, Any]] = {
        "EnrolmentReview": {"ids": [subject]},  # one child's application per call
        "TalentCheck": {"id": subject, "months": 24, "within": 36},
        "HouseholdPrefill": {"number": subject},
        "EnterpriseProfile": {"creditCode": subject},
        "PolicyCashingPrefill": {"creditCode": subject},
        "SubjectAccess": {"subject": subject},
    }
    return sets[name]


# Which slice of its kind's cold subjects an operation takes: the auditor asks about the
# children whose enrolment reviews were just audited.
SLICE = {"TalentCheck": 1, "PolicyCashingPrefill": 1}
KIND = {
    "EnrolmentReview": "person",
    "TalentCheck": "person",
    "HouseholdPrefill": "household",
    "EnterpriseProfile": "enterprise",
    "PolicyCashingPrefill": "enterprise",
    "SubjectAccess": "person",
}


async def measure(
    url: str,
    pid: int,
    name: str,
    ident: str,
    values: Sequence[str],
    cache: str,
    seconds: float,
    concurrency: int,
) -> Measured:
    headers = auditor() if name == "SubjectAccess" else HEADERS
    bodies = [
        orjson.dumps({"documentId": f"sha256:{ident}", "variables": variables(name, v)}) for v in values
    ]
    process = psutil.Process(pid)
    async with GraphQLClient(url, headers) as client:

        async def call(i: int) -> str | None:
            return await client.check(bodies[i % len(bodies)])

        if cache == "warm":  # every subject once, so that the timed run finds them cached
            for body in bodies:
                await client.check(body)
        before = process.cpu_times()
        if cache == "warm":
            run = await drive(call, seconds, concurrency)
        else:  # each subject once: every request a new one
            run = await drive_count(call, len(bodies), concurrency)
        after = process.cpu_times()
    cpu = (after.user - before.user) + (after.system - before.system)
    if run.first_error:
        log(f"{name} {cache}: {run.errors} errors, first: {run.first_error}")
    return Measured(name, cache, run.good, run.errors, run.elapsed, cpu)


async def audit_size(dsn: str) -> tuple[int, int]:
    """(events, bytes of the log's tables and indexes)."""
    conn = await asyncpg.connect(dsn)
    try:
        events = await conn.fetchval("SELECT count(*) FROM audit_event")
        # Partitioned tables hold nothing themselves: their partitions' sizes, summed.
        tree = "SELECT coalesce(sum(pg_total_relation_size(relid)), 0) FROM pg_partition_tree($1)"
        size = sum([await conn.fetchval(tree, t) for t in AUDIT_TABLES])
        return int(events), int(size)
    finally:
        await conn.close()


async def redis_bytes(url: str, pattern: str) -> tuple[int, int]:
    """(keys matching `pattern`, their MEMORY USAGE summed)."""
    client = aioredis.from_url(url)
    try:
        keys, total = 0, 0
        async for key in client.scan_iter(match=pattern, count=1000):
            keys += 1
            total += int(await client.memory_usage(key) or 0)
        return keys, total
    finally:
        await client.aclose()


async def main_async(args: argparse.Namespace) -> None:
    manifest = json.loads((DOCUMENTS / "manifest.json").read_text(encoding="utf-8"))
    documents = {d["name"]: d["id"] for d in manifest["documents"]}
    run = uuid.uuid4().hex[:8]
    data_dir = Path(args.data_dir or HERE / (".data" if args.persons == 20_000 else f".data-{args.persons}"))
    async with city(data_dir, args.persons, args.latency_ms) as c:
        port = free_port()
        env = {
            **os.environ,
            **c.env,
            "GOVGRAPH_CACHE_BACKEND": "redis",
            "GOVGRAPH_RATE_BACKEND": "redis",
            "REDIS_URL": args.redis,
            "GOVGRAPH_CACHE_VERSION": f"sizing-{run}",
            "GOVGRAPH_NAMESPACE": f"govgraph-sizing-{run}",
            "GOVGRAPH_RATE": "1000000",
            "GOVGRAPH_BURST": "1000000",
            "GOVGRAPH_OPS_LISTEN": f"127.0.0.1:{free_port()}",
        }
        command = [sys.executable, "-m", "gateway", "serve", "--allow-demo-keys", "--port", str(port)]
        gateway = await asyncio.create_subprocess_exec(*command, env=env, stderr=asyncio.subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}/graphql"
        try:
            async with GraphQLClient(url, HEADERS) as client:
                for _ in range(240):  # starting takes seconds, more on a busy machine
                    if await client.check(GraphQLClient.body("{ __typename }", {})) is None:
                        break
                    await asyncio.sleep(0.5)
            pools = await subjects(c, args.cold)
            audit_before = await audit_size(c.env["GOVGRAPH_AUDIT_DSN"])
            results = []
            for name, ident in sorted(documents.items()):
                warm, cold = pools[KIND[name]]
                cold = cold[SLICE.get(name, 0) * args.cold :][: args.cold]
                for cache, values in (("warm", warm), ("cold", cold)):
                    if name == "SubjectAccess" and cache == "warm":
                        continue  # never cached: an auditor must see the last access
                    measured = await measure(
                        url, gateway.pid, name, ident, values, cache, args.seconds, args.concurrency
                    )
                    log(f"{name} {cache}: {measured.answers} answers, {measured.per_core:.0f} per CPU-second")
                    results.append(measured)
            audit_after = await audit_size(c.env["GOVGRAPH_AUDIT_DSN"])
            cached = await redis_bytes(args.redis, f"govgraph:vsizing-{run}:*")
        finally:
            gateway.terminate()
            await gateway.wait()
    write(Path(args.out), args, results, audit_before, audit_after, cached)


def write(
    out: Path,
    args: argparse.Namespace,
    results: list[Measured],
    audit_before: tuple[int, int],
    audit_after: tuple[int, int],
    cached: tuple[int, int],
) -> None:
    events = audit_after[0] - audit_before[0]
    grown = audit_after[1] - audit_before[1]
    lines = [
        "# Sizing measurements",
        "",
        f"Generated by `.venv/bin/python -m bench.sizing` (bench/sizing.py) on "
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC: {args.persons:,}-person city, "
        f"{args.latency_ms:g} ms added to each department call, {args.concurrency} concurrent requests, "
        f"{args.seconds:g} s per case; {psutil.cpu_count()} cores shared by the gateway, the departments, "
        "PostgreSQL, Redis and the load generator. One gateway process (one core at most); answers per "
        "core = good answers / the gateway process's CPU seconds.",
        "",
        "| operation | cache | answers | errors | answers/s | gateway CPU s | answers per core-second "
        "| CPU ms per answer |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for m in results:
        ms = 1000 * m.cpu / m.answers if m.answers else 0.0
        lines.append(
            f"| {m.operation} | {m.cache} | {m.answers:,} | {m.errors} | {m.answers / m.seconds:.0f} | "
            f"{m.cpu:.1f} | {m.per_core:.0f} | {ms:.2f} |"
        )
    lines += [
        "",
        f"Audit log: {events:,} events written, its tables and indexes grew {grown:,} bytes: "
        f"**{grown / events:,.0f} bytes per event** (audit_event, audit_subject, audit_writer, with indexes; "
        f"{audit_after[0]:,} events and {audit_after[1]:,} bytes in all at the end).",
        "",
        f"Redis record cache: {cached[0]:,} keys, {cached[1]:,} bytes by MEMORY USAGE: "
        f"**{cached[1] / max(cached[0], 1):,.0f} bytes per cached record** (key, value, Redis's overhead).",
        "",
    ]
    out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, default=20_000)
    parser.add_argument("--data-dir", help="default bench/.data (20k) or bench/.data-N")
    parser.add_argument("--latency-ms", type=float, default=5.0, help="added to every department call")
    parser.add_argument("--seconds", type=float, default=10.0, help="timed seconds per case")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--cold", type=int, default=1500, help="requests about subjects never asked, per operation"
    )
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--out", default=str(HERE / "sizing.md"))
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
