"""What authentication, field policy and the audit log cost, measured in one run.

Starts the demo city, then serves the same gateway three ways (see serve_variant.py),
one at a time, and drives each with the same enrolment-review query at a fixed
concurrency. Prints a Markdown table: requests per second, p50 and p99 latency, and
the audit events committed per second in the audited variant.

    .venv/bin/python -m bench.policy_cost [--seconds 15] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import sys
import time
from pathlib import Path

import asyncpg
import httpx

from demo.stack import DemoStack
from demo.synth import CityConfig

QUERY = """query EnrolmentReview($id: ResidentId!) {
  person(id: $id) {
    name age
    household { number district { name } members { relation person { name } } }
    studentStatus { studentNumber school { name } }
    guardians { name socialInsurance { status hasContributed(months: 24, within: 36)
      currentEmployer { name taxCreditRating { year grade } } } }
  }
}"""
HEADERS = {"X-API-Key": "demo-only-developer-api-key", "X-Purpose": "development"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def drive(url: str, ids: list[str], seconds: float, concurrency: int) -> tuple[int, list[float]]:
    latencies: list[float] = []
    done = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:

        async def worker(offset: int) -> None:
            nonlocal done
            i = offset
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                response = await client.post(
                    url, json={"query": QUERY, "variables": {"id": ids[i % len(ids)]}}, headers=HEADERS
                )
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200 or "errors" in response.json():
                    raise RuntimeError(f"bad answer: {response.status_code} {response.text[:200]}")
                done += 1
                i += concurrency

        await asyncio.gather(*(worker(n) for n in range(concurrency)))
    return done, latencies


async def ready(url: str) -> None:
    async with httpx.AsyncClient(timeout=0.5) as client:
        for _ in range(100):
            try:
                await client.get(url)
                return
            except httpx.TransportError:
                await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not start")


async def audit_events(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        exists = await conn.fetchval("SELECT to_regclass('audit_event') IS NOT NULL")
        return int(await conn.fetchval("SELECT count(*) FROM audit_event")) if exists else 0
    finally:
        await conn.close()


async def run(seconds: float, concurrency: int, data_dir: Path) -> None:
    stack = DemoStack(data_dir=data_dir, database_url=os.environ.get("DATABASE_URL"), city=CityConfig())
    await stack.start()
    try:
        env = {**os.environ, **stack.gateway_env()}
        ids = stack.samples["cases"]["family_child"]
        rows = []
        for variant in ("bare", "policy", "policy+audit"):
            port = free_port()
            server = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bench.serve_variant", variant, "--port", str(port), env=env
            )
            url = f"http://127.0.0.1:{port}/graphql"
            try:
                await ready(f"http://127.0.0.1:{port}/")
                await drive(url, ids, 2, concurrency)  # warm-up
                before = await audit_events(stack.audit_dsn)
                done, latencies = await drive(url, ids, seconds, concurrency)
                events = await audit_events(stack.audit_dsn) - before
            finally:
                server.terminate()
                await server.wait()
            q = statistics.quantiles(latencies, n=100)
            rows.append((variant, done / seconds, q[49] * 1000, q[98] * 1000, events / seconds))
        base = rows[0][1]
        print(f"\n{seconds:.0f} s per variant, {concurrency} concurrent requests, one child per request\n")
        print("| variant | req/s | vs bare | p50 ms | p99 ms | audit events/s |")
        print("|---|---|---|---|---|---|")
        for variant, rps, p50, p99, eps in rows:
            print(f"| {variant} | {rps:.0f} | {rps / base:.2f} | {p50:.1f} | {p99:.1f} | {eps:.0f} |")
    finally:
        await stack.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--data-dir", default=str(Path(__file__).parent / ".data"))
    args = parser.parse_args()
    asyncio.run(run(args.seconds, args.concurrency, Path(args.data_dir)))


if __name__ == "__main__":
    main()
