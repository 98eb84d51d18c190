"""Fault drill: one department down, measured against all departments up, in one run.

Serves the gateway (policy and audit on) over the demo city, drives a query that needs
the social-insurance department and one that does not, then stops that department and
drives both again. Prints requests per second and p50/p99 latency for the four cases.

    .venv/bin/python -m bench.fault_drill [--seconds 10] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

import httpx

from demo.stack import DemoStack
from demo.synth import CityConfig

from .policy_cost import HEADERS, free_port, ready

TOUCHES = """query($id: ResidentId!) { person(id: $id) { name
  guardians { name socialInsurance { status hasContributed(months: 24, within: 36) } } } }"""
AVOIDS = """query($id: ResidentId!) { person(id: $id) { name
  household { number members { relation person { name } } } studentStatus { grade school { name } } } }"""


async def drive(
    url: str, query: str, ids: list[str], seconds: float, concurrency: int
) -> tuple[float, float, float, int]:
    latencies: list[float] = []
    partial = 0
    deadline = time.perf_counter() + seconds
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=concurrency)) as client:

        async def worker(offset: int) -> None:
            nonlocal partial
            i = offset
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                response = await client.post(
                    url, json={"query": query, "variables": {"id": ids[i % len(ids)]}}, headers=HEADERS
                )
                latencies.append(time.perf_counter() - started)
                body = response.json()
                if response.status_code != 200 or body.get("data") is None:
                    raise RuntimeError(f"no answer: {response.status_code} {response.text[:200]}")
                partial += "errors" in body
                i += concurrency

        await asyncio.gather(*(worker(n) for n in range(concurrency)))
    q = statistics.quantiles(latencies, n=100)
    return len(latencies) / seconds, q[49] * 1000, q[98] * 1000, partial


async def run(seconds: float, concurrency: int, data_dir: Path) -> None:
    stack = DemoStack(data_dir=data_dir, database_url=os.environ.get("DATABASE_URL"), city=CityConfig())
    await stack.start()
    port = free_port()
    env = {**os.environ, **stack.gateway_env()}
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.serve_variant", "policy+audit", "--port", str(port), env=env
    )
    url = f"http://127.0.0.1:{port}/graphql"
    ids = stack.samples["cases"]["family_child"]
    rows = []
    try:
        await ready(f"http://127.0.0.1:{port}/")
        for label in ("all up", "social insurance down"):
            if label != "all up":
                await stack.stop_department("social_insurance")
            for name, query in (("touches it", TOUCHES), ("does not", AVOIDS)):
                await drive(url, query, ids, 1, concurrency)  # warm-up (and, when down, opens the breaker)
                rps, p50, p99, partial = await drive(url, query, ids, seconds, concurrency)
                rows.append((label, name, rps, p50, p99, partial))
    finally:
        server.terminate()
        await server.wait()
        await stack.stop()
    print(f"\n{seconds:.0f} s per case, {concurrency} concurrent requests\n")
    print("| departments | query | req/s | p50 ms | p99 ms | answers with errors |")
    print("|---|---|---|---|---|---|")
    for label, name, rps, p50, p99, partial in rows:
        print(f"| {label} | {name} | {rps:.0f} | {p50:.1f} | {p99:.1f} | {partial} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--data-dir", default=str(Path(__file__).parent / ".data"))
    args = parser.parse_args()
    asyncio.run(run(args.seconds, args.concurrency, Path(args.data_dir)))


if __name__ == "__main__":
    main()
