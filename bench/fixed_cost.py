"""What a request costs the gateway apart from its departments, and what the audit adds.

The gateway's app driven in-process (ASGI calls: no HTTP and no client socket in the
way), warm record cache, demo departments at 0 ms, on uvloop as `govgraph serve` runs it.
For one operation, at 1 and 32 concurrent, configurations measured in turn round after
round, all running at once in the process: answers a second and CPU milliseconds a request
(of this process: the gateway, the driver's few lines included), with the audit in sync
mode (the default), in async mode and off, and with metrics and request logs off too.

    .venv/bin/python -m bench.fixed_cost                       # the talent check
    .venv/bin/python -m bench.fixed_cost --operation enterprise_profile --requests 2000
    .venv/bin/python -m bench.fixed_cost --profile talent.prof  # cProfile of the default

`--profile` writes a cProfile of the default configuration at the highest concurrency.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import dataclasses
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from pathlib import Path
from typing import Any

import orjson
import uvloop
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.config.settings import Settings

from .operations import OPERATIONS
from .run import HEADERS, city, workload_of
from .serve_variant import bench_settings

CONFIGURATIONS: dict[str, Callable[[Settings], Settings]] = {
    "audit sync (default)": lambda s: s,
    "audit async": lambda s: dataclasses.replace(s, audit=dataclasses.replace(s.audit, mode="async")),
    "audit off": lambda s: dataclasses.replace(s, audit=dataclasses.replace(s.audit, mode="off")),
    "audit, metrics, logs off": lambda s: dataclasses.replace(
        s,
        audit=dataclasses.replace(s.audit, mode="off"),
        metrics=dataclasses.replace(s.metrics, enabled=False),
        logging=dataclasses.replace(s.logging, requests=False),
    ),
}
DEFAULT = next(iter(CONFIGURATIONS))
Call = Callable[[bytes], Awaitable[tuple[int, bytes]]]


def caller(app: Starlette) -> Call:
    """One POST /graphql to `app`, as uvicorn would hand it over."""
    headers = [(b"host", b"gateway"), (b"content-type", b"application/json")]
    headers += [(k.lower().encode(), v.encode()) for k, v in HEADERS.items()]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
        "headers": headers,
    }

    async def call(body: bytes) -> tuple[int, bytes]:
        sent = False
        status, chunks = 0, []

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.Event().wait()  # the client never disconnects
            raise AssertionError("unreachable")

        async def send(message: MutableMapping[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await app(dict(scope), receive, send)
        return status, b"".join(chunks)

    return call


async def drive(call: Call, bodies: Sequence[bytes], requests: int, concurrency: int) -> tuple[float, float]:
    """(answers a second, CPU ms a request) for `requests` calls, `concurrency` at a time."""
    indices = iter(range(requests))

    async def worker() -> None:
        for i in indices:
            status, answer = await call(bodies[i % len(bodies)])
            if status != 200 or b'"errors"' in answer:
                raise SystemExit(f"unexpected answer ({status}): {answer[:300]!r}")

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return requests / (time.perf_counter() - started), (time.process_time() - cpu) / requests * 1e3


async def measure(args: argparse.Namespace) -> dict[tuple[str, int], list[tuple[float, float]]]:
    found: dict[tuple[str, int], list[tuple[float, float]]] = {}
    data = Path(args.data_dir or tempfile.mkdtemp(prefix="govgraph-fixed-cost-"))
    async with city(data, args.persons, 0.0) as c, contextlib.AsyncExitStack() as running:
        os.environ.update(c.env)  # the departments' addresses, as govgraph.toml reads them
        workload = await workload_of(c.samples, c.dsns["public_security"], 4)
        query = OPERATIONS[args.operation].query
        bodies = [orjson.dumps({"query": query, "variables": v}) for v in workload[args.operation]]
        calls: dict[str, Call] = {}
        for name, change in CONFIGURATIONS.items():  # every app running at once, measured in turn
            app = create_app(change(bench_settings("gateway", 0.0)), serving=True)
            await running.enter_async_context(app.router.lifespan_context(app))
            calls[name] = caller(app)
            await drive(calls[name], bodies, max(200, len(bodies)), 1)  # warm: plans, cache, pools
        for round_ in range(args.rounds):
            for name, call in calls.items():
                for concurrency in args.concurrency:
                    n = args.requests * (2 if concurrency > 1 else 1)
                    profiler = None
                    if (
                        args.profile
                        and round_ == 0
                        and name == DEFAULT
                        and concurrency == max(args.concurrency)
                    ):
                        profiler = cProfile.Profile()
                        profiler.enable()
                    found.setdefault((name, concurrency), []).append(
                        await drive(call, bodies, n, concurrency)
                    )
                    if profiler is not None:
                        profiler.disable()
                        profiler.dump_stats(args.profile)
    return found


def report(found: dict[tuple[str, int], list[tuple[float, float]]], concurrency: Sequence[int]) -> str:
    lines = [
        "| configuration | " + " | ".join(f"{c} concurrent: answers/s, CPU ms" for c in concurrency) + " |"
    ]
    lines.append("|---|" + "---|" * len(concurrency))
    base = {c: statistics.median(r for r, _ in found[(DEFAULT, c)]) for c in concurrency}
    for name in CONFIGURATIONS:
        cells = []
        for c in concurrency:
            rate = statistics.median(r for r, _ in found[(name, c)])
            cpu = statistics.median(m for _, m in found[(name, c)])
            cells.append(f"{rate:,.0f} ({rate / base[c]:.2f}×), {cpu:.2f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.fixed_cost", description=__doc__.split("\n\n")[0])
    parser.add_argument("--operation", default="talent_check", choices=sorted(OPERATIONS))
    parser.add_argument(
        "--requests", type=int, default=2000, help="a round at 1 concurrent (twice that above)"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--persons", type=int, default=20_000)
    parser.add_argument("--data-dir", help="the demo city's data (default: a new temporary directory)")
    parser.add_argument("--profile", help="write a cProfile of the default configuration here")
    args = parser.parse_args()
    found = uvloop.run(measure(args))
    print(f"{args.operation}, {args.rounds} rounds, medians (× the default configuration):", file=sys.stderr)
    print(report(found, args.concurrency))


if __name__ == "__main__":
    main()
