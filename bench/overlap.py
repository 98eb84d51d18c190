"""Target (f): does latency overlap? Throughput with slow departments against fast ones,
measured side by side in one run.

Starts the departments twice over the same databases (REST departments at 0 ms and at
`--latency-ms`; PostgreSQL departments through the gateway's per-source
`inject_latency`), a gateway variant for each (`gateway-nocache` by default: with the
record cache on, latency is hardly seen), and drives each operation at `--concurrency`
against the two in turn, `--rounds` times, alternating which goes first. Measured so, both
latencies see the same machine (other processes, CPU frequency) within seconds of each
other, which separate runs on a shared machine do not. Reports, per operation, median
answers a second at each latency, their ratio, and how the gateway's main thread spent
the time (Linux schedstat): running (CPU, one core is 100%), starved (runnable, waiting for
a core other processes held) and idle (its loop had nothing to run). A ratio below 1 with
the gateway idle means requests waited on something other than the departments' latency;
with the gateway starved, the machine is saturated and the ratio says nothing.

    .venv/bin/python -m bench.overlap                          # 5 ms, 32 concurrent, 3 rounds
    .venv/bin/python -m bench.overlap --ops talent_check --rounds 5 --seconds 5
    .venv/bin/python -m bench.overlap --base main      # and main's own files, interleaved
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .before import OldTree, extract
from .drive import GraphQLClient, drive
from .operations import OPERATIONS
from .run import HEADERS, HERE, Served, city, free_port, serve, workload_of

__all__ = ["main"]

_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


def scheduled(pid: int) -> tuple[float, float]:
    """Seconds the process's main thread has run on a CPU, and waited runnable for one
    (Linux schedstat; zeros where it is not available)."""
    try:
        ran, waited, _ = Path(f"/proc/{pid}/task/{pid}/schedstat").read_text().split()
    except (OSError, ValueError):
        return 0.0, 0.0
    return int(ran) / 1e9, int(waited) / 1e9


@dataclass
class Sample:
    rps: float
    p50: float
    p99: float
    cpu: float  # the gateway's CPU, one core = 1.0
    starved: float  # share of the time its main thread was runnable but not running
    errors: int

    @property
    def idle(self) -> float:
        """Share of the time the gateway's loop had nothing to run: requests waited elsewhere."""
        return max(0.0, 1.0 - self.cpu - self.starved)


@dataclass
class Side:
    tree: str  # "this" checkout, or the revision of `--base`
    latency_ms: float
    served: Served
    samples: dict[str, list[Sample]] = field(default_factory=dict)


async def measure(side: Side, bodies: list[bytes], seconds: float, concurrency: int) -> Sample:
    async with GraphQLClient(side.served.url, HEADERS, connections=concurrency) as client:

        async def call(i: int) -> str | None:
            return await client.check(bodies[i % len(bodies)])

        await drive(call, 0.5, concurrency)
        pid = side.served.process.pid
        cpu0, sched0, t0 = cpu_seconds(pid), scheduled(pid), time.perf_counter()
        run = await drive(call, seconds, concurrency)
        elapsed = time.perf_counter() - t0
        cpu = (cpu_seconds(pid) - cpu0) / elapsed
        starved = (scheduled(pid)[1] - sched0[1]) / elapsed
    return Sample(run.rps, run.ms(50), run.ms(99), cpu, starved, run.errors)


def median(samples: list[Sample], attribute: str) -> float:
    return float(statistics.median(getattr(s, attribute) for s in samples))


async def serve_from(tree: OldTree, variant: str, env: dict[str, str], latency_ms: float) -> Served:
    """`variant` served by another revision's own files (as bench/before.py serves `before`)."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.serve_variant",
        variant,
        "--port",
        str(port),
        "--latency-ms",
        str(latency_ms),
        env=tree.env({**os.environ, **env}),
        cwd=tree.path,
    )
    return Served(variant, process, port)


async def main_async(args: argparse.Namespace, base: OldTree | None) -> list[Side]:
    data_dir = Path(args.data_dir or HERE / ".data")
    async with city(data_dir, args.persons, 0.0, args.latency_ms) as c:
        assert c.also_env is not None
        workload = await workload_of(c.samples, c.dsns["public_security"], max(3, args.concurrency))
        sides = [
            Side("this", 0.0, await serve(args.variant, c.env, 0.0, Path(os.devnull))),
            Side(
                "this",
                args.latency_ms,
                await serve(args.variant, c.also_env, args.latency_ms, Path(os.devnull)),
            ),
        ]
        if base is not None:
            sides += [
                Side(args.base, 0.0, await serve_from(base, args.variant, c.env, 0.0)),
                Side(
                    args.base,
                    args.latency_ms,
                    await serve_from(base, args.variant, c.also_env, args.latency_ms),
                ),
            ]
        try:
            for side in sides:
                await side.served.ready(600)
            for name in args.ops:
                op = OPERATIONS[name]
                bodies = [GraphQLClient.body(op.query, v) for v in workload[name]]
                for r in range(args.rounds):
                    for side in sides if r % 2 == 0 else reversed(sides):
                        sample = await measure(side, bodies, args.seconds, args.concurrency)
                        side.samples.setdefault(name, []).append(sample)
                        print(
                            f"[overlap] {name:18} {side.tree} {side.latency_ms:g} ms round {r + 1}:"
                            f" {sample.rps:7.1f}/s  p50 {sample.p50:7.1f} ms  p99 {sample.p99:7.1f} ms"
                            f"  gateway CPU {sample.cpu:4.0%} starved {sample.starved:4.0%}"
                            f" idle {sample.idle:4.0%}  errors {sample.errors}",
                            file=sys.stderr,
                            flush=True,
                        )
        finally:
            for side in sides:
                await side.served.stop()
    return sides


def report(args: argparse.Namespace, sides: list[Side]) -> str:
    late = f"{args.latency_ms:g}"
    lines = [
        f"# Latency overlap: {args.variant}, {args.concurrency} concurrent, 0 ms against {late} ms",
        "",
        f"Medians of {args.rounds} alternating {args.seconds:g}-second runs (`bench/overlap.py`,"
        f" load average at the end {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores).",
        "",
        f"| tree | operation | /s at 0 ms | /s at {late} ms | ratio | p50 ms 0 / {late} | p99 ms 0 / {late}"
        f" | gateway CPU 0 / {late} | starved 0 / {late} | idle 0 / {late} |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in args.ops:
        for fast, slow in zip(sides[::2], sides[1::2], strict=True):
            a, b = fast.samples[name], slow.samples[name]
            ratio = median(b, "rps") / median(a, "rps") if median(a, "rps") else float("nan")
            cells = [fast.tree, name, f"{median(a, 'rps'):.1f}", f"{median(b, 'rps'):.1f}", f"{ratio:.2f}"]
            cells += [f"{median(a, q):.0f} / {median(b, q):.0f}" for q in ("p50", "p99")]
            cells += [f"{median(a, q):.0%} / {median(b, q):.0%}" for q in ("cpu", "starved", "idle")]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="bench.overlap", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument("--latency-ms", type=float, default=5.0, help="the slow side's department latency")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=3.0, help="timed seconds per run")
    parser.add_argument("--rounds", type=int, default=3, help="runs per latency and operation")
    parser.add_argument("--variant", default="gateway-nocache", choices=("gateway", "gateway-nocache"))
    parser.add_argument("--ops", nargs="+", choices=list(OPERATIONS), default=list(OPERATIONS))
    parser.add_argument("--persons", type=int, default=20_000)
    parser.add_argument("--data-dir", help="default bench/.data")
    parser.add_argument("--base", help="also serve this revision's own files, for before and after")
    parser.add_argument("--out", help="also write the table here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="govgraph-overlap-") as tmp:
        base = extract(Path(tmp) / "tree", args.base) if args.base else None
        text = report(args, asyncio.run(main_async(args, base)))
    print(text)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
