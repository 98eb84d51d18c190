"""The demo city's departments in a process of their own, for the benchmark.

The REST departments run on an event loop; in the bench process they would share it
with the load generator and the `direct` variant, and each would slow the other. So
`bench.run` starts this module as a subprocess: it starts the `DemoStack` (seeding the
city on first use), prints one JSON line with what the other processes need (the
gateway's environment, the samples, the departments' addresses), and serves until its
standard input closes.

    .venv/bin/python -m bench.departments --data-dir bench/.data --persons 20000 --latency-ms 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from pathlib import Path

from aiohttp import web

from demo.departments import REST_DEPARTMENTS
from demo.departments.rest import ENDPOINTS, make_app
from demo.stack import DemoStack
from demo.synth import CityConfig

__all__ = ["main"]


async def _serve(data_dir: Path, persons: int, latency: float, also: float | None = None) -> None:
    stack = DemoStack(
        data_dir=data_dir,
        database_url=os.environ.get("DATABASE_URL"),
        city=CityConfig(persons=persons),
        rest_latency=latency,
    )
    await stack.start()
    runners: list[web.AppRunner] = []
    try:
        env = stack.gateway_env()
        # A second set of REST departments over the same databases with another latency
        # (bench.overlap measures both latencies in one run, on the same machine load).
        also_env = None
        if also is not None:
            also_env = dict(env)
            for department in REST_DEPARTMENTS:
                runner = web.AppRunner(
                    make_app(stack.dsns[department], ENDPOINTS[department], also), access_log=None
                )
                await runner.setup()
                runners.append(runner)
                await web.TCPSite(runner, stack.rest_host, 0).start()
                also_env[f"GOVGRAPH_{department.upper()}_URL"] = (
                    f"http://{stack.rest_host}:{runner.addresses[0][1]}"
                )
        ready = {
            "env": env,
            "also_env": also_env,
            "samples": stack.samples,
            "dsns": stack.dsns,
            "urls": stack.urls,
            "seed_seconds": stack.seed_seconds,
            "pid": os.getpid(),
        }
        sys.stdout.write(json.dumps(ready, ensure_ascii=False) + "\n")
        sys.stdout.flush()
        loop = asyncio.get_running_loop()
        # Serve until the parent closes our stdin (it exits, or is done with us).
        await loop.run_in_executor(None, sys.stdin.read)
    finally:
        for runner in runners:
            await runner.cleanup()
        await stack.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--persons", type=int, default=20_000)
    parser.add_argument("--latency-ms", type=float, default=5.0)
    parser.add_argument(
        "--also-latency-ms", type=float, help="a second set of REST departments at this latency"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="departments: %(message)s")
    also = None if args.also_latency_ms is None else args.also_latency_ms / 1000
    asyncio.run(_serve(Path(args.data_dir), args.persons, args.latency_ms / 1000, also))


if __name__ == "__main__":
    main()
