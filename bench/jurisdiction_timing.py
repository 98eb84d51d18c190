"""Does a district-limited client learn that an id exists elsewhere? Timing and shape of
the two answers it must not tell apart.

Starts the demo city and `govgraph serve` over it (sync audit, memory cache), then, as
the Jimei grid worker, looks up persons registered and living outside Jimei and valid ids
that exist nowhere, interleaved (the order alternates every round), `--tries` of each.
Prints the median and p90 latency of both, the difference of the medians, and the
run-to-run noise (the same statistic between the two halves of the same kind of look-up),
and whether status, body and headers were identical (request ids aside).

    .venv/bin/python -m bench.jurisdiction_timing [--tries 200] [--ids 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import httpx
import jwt

import gateway.policy.model
from demo.stack import DemoStack
from demo.synth import CityConfig
from gateway.config.settings import load_auth
from resolvers.identifiers import resident_id_check

ROOT = Path(__file__).parents[1]
JIMEI = "350211"
QUERY = "query Look($id: ResidentId!) { person(id: $id) { id name age } }"
VOLATILE = {"x-request-id", "date", "content-length"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def elsewhere(dsn: str, count: int) -> list[str]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT id FROM person WHERE hukou_district <> $1 AND coalesce(residence_district, '') <> $1"
            " ORDER BY id LIMIT $2",
            JIMEI,
            count,
        )
        taken = {r["id"] for r in await conn.fetch("SELECT id FROM person")}
    finally:
        await conn.close()
    nowhere: list[str] = []
    rng = random.Random(7)
    while len(nowhere) < count:
        born = f"19{rng.randint(50, 99)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
        first17 = f"{JIMEI}{born}{rng.randint(0, 999):03d}"
        candidate = first17 + resident_id_check(first17)
        if candidate not in taken:
            nowhere.append(candidate)
    return [r["id"] for r in rows] + nowhere


def config_with_room(directory: Path) -> Path:
    """govgraph.toml and policy.toml as shipped, but with a rate and a miss budget the run
    cannot spend (gateways before the budget existed had only the rate)."""
    room = "rate = 100000\nburst = 100000\n"
    if hasattr(gateway.policy.model, "MISS_BUDGET"):
        room += "miss_budget = 1000000\n"
    policy = (ROOT / "policy.toml").read_text(encoding="utf-8")
    policy = policy.replace("[clients.grid-worker]\n", f"[clients.grid-worker]\n{room}", 1)
    (directory / "policy.toml").write_text(policy, encoding="utf-8")
    config = (
        (ROOT / "govgraph.toml").read_text(encoding="utf-8").replace('"documents"', f'"{ROOT / "documents"}"')
    )
    (directory / "govgraph.toml").write_text(config, encoding="utf-8")
    return directory / "govgraph.toml"


def shape(response: httpx.Response) -> tuple[int, str, tuple[tuple[str, str], ...]]:
    headers = tuple(sorted((k, v) for k, v in response.headers.items() if k not in VOLATILE))
    return response.status_code, response.text, headers


def summary(values: list[float]) -> tuple[float, float]:
    q = statistics.quantiles(values, n=10)
    return statistics.median(values) * 1000, q[8] * 1000


async def audit_events(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM audit_event"))
    finally:
        await conn.close()


async def events_per_lookup(url: str, headers: dict[str, str], ids: list[str], audit_dsn: str) -> float:
    before = await audit_events(audit_dsn)
    async with httpx.AsyncClient(timeout=30) as client:
        for identifier in ids:
            await client.post(url, json={"query": QUERY, "variables": {"id": identifier}}, headers=headers)
    return (await audit_events(audit_dsn) - before) / len(ids)


async def measure(
    url: str, headers: dict[str, str], outside: list[str], missing: list[str], tries: int
) -> None:
    times: dict[str, list[float]] = {"outside": [], "missing": []}
    shapes: dict[str, set[tuple[int, str, tuple[tuple[str, str], ...]]]] = {
        "outside": set(),
        "missing": set(),
    }
    async with httpx.AsyncClient(timeout=30) as client:
        for _ in range(20):  # warm up both paths and the cache
            for ids in (outside, missing):
                await client.post(url, json={"query": QUERY, "variables": {"id": ids[0]}}, headers=headers)
        for i in range(tries):
            order = [("outside", outside), ("missing", missing)]
            if i % 2:
                order.reverse()
            for kind, ids in order:
                started = time.perf_counter()
                response = await client.post(
                    url, json={"query": QUERY, "variables": {"id": ids[i % len(ids)]}}, headers=headers
                )
                times[kind].append(time.perf_counter() - started)
                shapes[kind].add(shape(response))
    print(f"\n{tries} interleaved tries of each look-up, as the Jimei grid worker\n")
    print("| look-up | median ms | p90 ms | noise (median, half vs half) ms |")
    print("|---|---|---|---|")
    for kind in ("outside", "missing"):
        median, p90 = summary(times[kind])
        noise = abs(statistics.median(times[kind][::2]) - statistics.median(times[kind][1::2])) * 1000
        print(f"| {kind} | {median:.2f} | {p90:.2f} | {noise:.2f} |")
    difference = abs(statistics.median(times["outside"]) - statistics.median(times["missing"])) * 1000
    print(f"\nmedian difference: {difference:.2f} ms")
    same = shapes["outside"] == shapes["missing"] and len(shapes["outside"]) == 1
    print(f"status, body and headers identical: {same}")
    if not same:
        for kind in ("outside", "missing"):
            for status, body, _ in sorted(shapes[kind])[:3]:
                print(f"  {kind}: {status} {body}")


async def run(tries: int, count: int, data_dir: Path) -> None:
    stack = DemoStack(
        data_dir=data_dir, database_url=os.environ.get("DATABASE_URL"), city=CityConfig(persons=2000)
    )
    await stack.start()
    try:
        ids = await elsewhere(stack.dsns["public_security"], count)
        outside, missing = ids[:count], ids[count:]
        with tempfile.TemporaryDirectory() as tmp:
            config = config_with_room(Path(tmp))
            port = free_port()
            server = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "gateway",
                "serve",
                "--config",
                str(config),
                "--port",
                str(port),
                "--allow-demo-keys",
                env={**os.environ, **stack.gateway_env()},
            )
            try:
                async with httpx.AsyncClient(timeout=0.5) as probe:
                    for _ in range(200):
                        try:
                            await probe.get(f"http://127.0.0.1:{port}/healthz")
                            break
                        except httpx.TransportError:
                            await asyncio.sleep(0.1)
                headers = grid_worker_headers(config)
                url = f"http://127.0.0.1:{port}/graphql"
                await measure(url, headers, outside, missing, tries)
                for kind, ids in (("outside", outside), ("missing", missing)):
                    rate = await events_per_lookup(url, headers, ids, stack.audit_dsn)
                    print(f"audit events per look-up, {kind}: {rate:.2f}")
            finally:
                if server.returncode is None:
                    server.terminate()
                await server.wait()
    finally:
        await stack.stop()


def grid_worker_headers(config: Path) -> dict[str, str]:
    auth = load_auth(config)
    assert auth.hs256_secret is not None, "the demo configuration signs tokens with its demo secret"
    now = int(time.time())
    claims = {"sub": "grid-worker", "aud": auth.audience, "iat": now, "exp": now + 3600}
    token = jwt.encode(claims, auth.hs256_secret, algorithm="HS256")
    return {"Authorization": f"Bearer {token}", "X-Purpose": "household_survey"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tries", type=int, default=200)
    parser.add_argument("--ids", type=int, default=20, help="distinct ids of each kind, cycled")
    parser.add_argument("--data-dir", default=str(Path(__file__).parent / ".data-timing"))
    args = parser.parse_args()
    asyncio.run(run(args.tries, args.ids, Path(args.data_dir)))


if __name__ == "__main__":
    main()
