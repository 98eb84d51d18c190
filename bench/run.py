"""`make bench`: the gateway against its baselines, side by side in one run.

First times building the schema, from the resource catalogue and at the revision
before it (bench/schema_build.py, in a process of its own). Then starts the demo city
(bench/departments.py) with a fixed latency in every department, serves the gateway
three ways, the gateway as it was before the catalogue (`before`, bench/before.py) and
the floor (bench/serve_variant.py), and drives four operations modelled on the
gateway's users at fixed concurrency levels, one variant at a time (each alone on the
machine with the departments), the `direct` variant from this process. Each served
variant first answers every operation once, compared with what `direct` assembles from
the departments' records. Then measures 1,000 persons in one query on fresh (cold)
gateway processes, and soaks the gateway with 100,000 requests about distinct persons,
reading its memory (bench/soak.py). Writes bench/results.md: throughput, latency
percentiles, backend calls per request, cache hit ratio, memory, each target met or
not, before and after the catalogue.

    make bench                                   # about 18 minutes on 2 cores
    make bench ARGS="--quick"                    # 3 s a case, 1 and 32 concurrent
    make bench ARGS="--persons 1000000"          # the 1M-person city (bench/.data-1m)
    .venv/bin/python -m bench.run --latency-ms 5 --seconds 10 --concurrency 1 8 32
    .venv/bin/python -m bench.run --quick --variants gateway before --skip-bulk --soak 0
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import functools
import json
import os
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import orjson

from sources.base import SourceSpec

from .backends import Departments, department_specs
from .before import OldTree, Unavailable, extract, own_audit, revision
from .drive import GraphQLClient, Run, drive
from .operations import BULK, BULK_VERDICT, OPERATIONS, Operation, Request, bulk_direct, bulk_verdict_direct
from .report import BulkSample, Case, Memory, Results, write
from .schema_build import SchemaBuild
from .soak import Soak, soak, subjects

HERE = Path(__file__).parent
HEADERS = {"X-API-Key": "demo-only-developer-api-key", "X-Purpose": "development"}
# `before` right after `gateway`, so that the two compared run close together in time.
HTTP_VARIANTS = (
    "gateway",
    "gateway-strawberry",
    "before",
    "gateway-quiet",
    "gateway-nocache",
    "naive",
    "floor",
)
ALL_VARIANTS = (*HTTP_VARIANTS, "direct")
# Measured at the highest concurrency only, to keep the run short.
TOP_ONLY = ("gateway-nocache", "gateway-quiet")
# Every variable set asked once before each timed case.
WARM_CACHE = ("gateway", "gateway-strawberry", "gateway-quiet", "before")
ENROLMENT_FAMILY = 50  # children per enrolment review


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def rss_mb(pid: int) -> float:
    return rss_kb(pid)[0] / 1024


def rss_kb(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process, in kB."""
    values = {"VmRSS": 0, "VmHWM": 0}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key = line.split(":", 1)[0]
            if key in values:
                values[key] = int(line.split()[1])
    return values["VmRSS"], values["VmHWM"]


# --- the departments ---


@dataclass
class City:
    process: asyncio.subprocess.Process
    env: dict[str, str]
    samples: dict[str, Any]
    dsns: dict[str, str]
    seed_seconds: float | None
    also_env: dict[str, str] | None = None  # the second set of REST departments (`also_latency_ms`)


@contextlib.asynccontextmanager
async def city(
    data_dir: Path, persons: int, latency_ms: float, also_latency_ms: float | None = None
) -> AsyncIterator[City]:
    also = [] if also_latency_ms is None else ["--also-latency-ms", str(also_latency_ms)]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.departments",
        "--data-dir",
        str(data_dir),
        "--persons",
        str(persons),
        "--latency-ms",
        str(latency_ms),
        *also,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        limit=2**24,
    )
    assert process.stdout is not None and process.stdin is not None
    try:
        line = await process.stdout.readline()
        if not line:
            raise RuntimeError("the departments did not start (see their log above)")
        ready = json.loads(line)
        yield City(
            process,
            ready["env"],
            ready["samples"],
            ready["dsns"],
            ready.get("seed_seconds"),
            ready.get("also_env"),
        )
    finally:
        process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), 30)
        except TimeoutError:
            process.terminate()
            await process.wait()


# --- served variants ---


@dataclass
class Served:
    variant: str
    process: asyncio.subprocess.Process
    port: int
    requests: int = 0  # every request sent to it, warm-ups included
    rss_ready_kb: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/graphql"

    async def stats(self) -> dict[str, Any]:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{self.port}/__bench/stats") as response,
        ):
            body: dict[str, Any] = await response.json()
            return body

    async def ready(self, within: float) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.process.returncode is not None:
                raise RuntimeError(f"{self.variant} exited with {self.process.returncode}")
            try:
                await self.stats()
                self.rss_ready_kb = rss_kb(self.process.pid)[0]
                return
            except (aiohttp.ClientError, OSError):
                await asyncio.sleep(0.2)
        raise RuntimeError(f"{self.variant} did not start in {within:.0f} s")

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.terminate()
            await self.process.wait()


async def serve(
    variant: str, env: Mapping[str, str], latency_ms: float, workload: Path, old: OldTree | None = None
) -> Served:
    """`before` is the old tree's own `bench.serve_variant gateway`, run from that tree
    (`old`) with the same environment and arguments as today's `gateway`."""
    port = free_port()
    served_as = "gateway" if variant == "before" else variant
    args = [served_as, "--port", str(port), "--latency-ms", str(latency_ms)]
    if variant == "floor":
        args += ["--workload", str(workload)]
    environ, cwd = {**os.environ, **env}, None
    if variant == "before":
        assert old is not None
        environ, cwd = old.env(await own_audit(environ, old.path / ".audit-checkpoints")), old.path
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.serve_variant", *args, env=environ, cwd=cwd
    )
    return Served(variant, process, port)


def stats_delta(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[int, int, float | None]:
    """(calls, backend keys, cache hit ratio or None) between two /__bench/stats answers."""
    calls = int(after.get("calls", 0)) - int(before.get("calls", 0))
    keys = int(after.get("backend_keys", 0)) - int(before.get("backend_keys", 0))
    ratio = None
    if "cache" in after:
        hits = after["cache"]["hits"] - before.get("cache", {}).get("hits", 0)
        misses = after["cache"]["misses"] - before.get("cache", {}).get("misses", 0)
        ratio = hits / (hits + misses) if hits + misses else None
    return calls, keys, ratio


# --- the workload ---


async def workload_of(samples: Mapping[str, Any], dsn: str, families: int) -> dict[str, list[dict[str, Any]]]:
    """Variable sets per operation, from the city's samples; requests cycle through them.

    Enrolment reviews take disjoint groups of 50 children: the samples' children first,
    then more from the register, so that `families` concurrent reviews share no child
    (the samples hold about 190; concurrent reviews of the same family would share
    their departments' calls, which different families do not)."""
    cases = samples["cases"]
    children = list(
        dict.fromkeys([*cases["family_child"], *cases["migrant_child"], *cases["duplicate_application"]])
    )
    wanted = families * ENROLMENT_FAMILY
    if len(children) < wanted:
        conn = await asyncpg.connect(dsn)
        try:
            rows = await conn.fetch(
                "SELECT child_id FROM (SELECT DISTINCT child_id FROM guardianship) c"
                " ORDER BY md5(child_id) LIMIT $1",
                wanted + len(children),
            )
        finally:
            await conn.close()
        known = set(children)
        children += [r["child_id"] for r in rows if r["child_id"] not in known][: wanted - len(children)]
    return {
        "enrolment_review": [
            {"ids": children[start : start + ENROLMENT_FAMILY]}
            for start in range(0, len(children) - ENROLMENT_FAMILY + 1, ENROLMENT_FAMILY)
        ],
        "talent_check": [{"id": i, "months": 24, "within": 36} for i in cases["changed_employer"]],
        "household_prefill": [{"number": n} for n in cases["household"]],
        "enterprise_profile": [
            {"creditCode": c} for c in [*cases["d_rated_enterprise"], *cases["enterprise_with_arrears"]]
        ],
    }


async def bulk_ids(dsn: str, sets: int, size: int) -> list[list[str]]:
    """Disjoint sets of adults (most insured and employed), in a fixed pseudo-random order."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT id FROM person WHERE birth_date < now() - interval '22 years' AND status = '正常'"
            " ORDER BY md5(id) LIMIT $1",
            sets * size + 1,
        )
    finally:
        await conn.close()
    ids = [r["id"] for r in rows]
    if len(ids) < sets * size + 1:
        raise RuntimeError(f"the city has only {len(ids)} adults; {sets * size + 1} needed")
    return [ids[1 + i * size : 1 + (i + 1) * size] for i in range(sets)] + [[ids[0]]]


# --- comparing answers ---


def first_difference(a: Any, b: Any, path: str = "data") -> str | None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                return f"{path}.{key}: present on one side only"
            found = first_difference(a[key], b[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} items against {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            found = first_difference(x, y, f"{path}[{i}]")
            if found:
                return found
        return None
    return None if a == b else f"{path}: {str(a)[:60]!r} against {str(b)[:60]!r}"


# --- one case ---


class Bench:
    def __init__(self, args: argparse.Namespace, results: Results) -> None:
        self.args = args
        self.results = results
        self.served: dict[str, Served] = {}
        self.direct: Departments | None = None
        self.workload: dict[str, list[dict[str, Any]]] = {}
        self.expected: dict[str, Any] = {}
        self.disagreements: list[str] = []

    def direct_call(self, op: Operation, variables: Sequence[Mapping[str, Any]]) -> Any:
        departments = self.direct
        assert departments is not None

        async def call(i: int) -> str | None:
            try:
                await op.direct(Request(departments.fetch), variables[i % len(variables)])
            except Exception as exc:
                return f"{type(exc).__name__}: {exc}"[:300]
            return None

        return call

    async def case(self, variant: str, op: Operation, concurrency: int) -> Case:
        variables = self.workload[op.name]
        seconds, warmup = self.args.seconds, self.args.warmup
        if variant == "direct":
            assert self.direct is not None
            call = self.direct_call(op, variables)
            await drive(call, warmup, concurrency)
            calls0, keys0 = self.direct.calls, self.direct.keys
            run = await drive(call, seconds, concurrency)
            n = max(run.requests, 1)
            return Case(
                variant,
                op.name,
                concurrency,
                run,
                (self.direct.calls - calls0) / n,
                (self.direct.keys - keys0) / n,
            )
        served = self.served[variant]
        bodies = [GraphQLClient.body(op.query, v) for v in variables]
        async with GraphQLClient(served.url, HEADERS, connections=concurrency) as client:

            async def call(i: int) -> str | None:
                return await client.check(bodies[i % len(bodies)])

            if variant in WARM_CACHE:
                # Warm the record cache: every variable set once, then the timed-style warm-up.
                warm = await drive_each(call, len(bodies), concurrency)
                served.requests += warm.requests
            warm = await drive(call, warmup, concurrency)
            served.requests += warm.requests
            if warm.errors:
                await self.settle(served, bodies[0])
            before = await served.stats()
            run = await drive(call, seconds, concurrency)
            after = await served.stats()
        served.requests += run.requests
        if run.errors:
            await self.settle(served, bodies[0])
        calls, keys, ratio = stats_delta(before, after)
        n = max(run.requests, 1)
        if variant == "floor":
            return Case(variant, op.name, concurrency, run, 0.0, 0.0)
        return Case(variant, op.name, concurrency, run, calls / n, keys / n, ratio)

    async def settle(self, served: Served, body: bytes, within: float = 60.0) -> None:
        """After a case with errors (timeouts, then open circuit breakers), wait until the
        variant answers cleanly again, so the next case does not inherit its state."""
        log(f"{served.variant}: errors; waiting for a clean answer before the next case")
        deadline = time.monotonic() + within
        async with GraphQLClient(served.url, HEADERS, connections=1) as client:
            while time.monotonic() < deadline:
                served.requests += 1
                if await client.check(body) is None:
                    return
                await asyncio.sleep(1.0)
        log(f"{served.variant}: still failing after {within:.0f} s")

    async def expect(self, specs: Sequence[SourceSpec]) -> None:
        """Each operation's answer for its first variable set, assembled by `direct`."""
        departments = Departments(specs)
        await departments.open()
        try:
            for op in OPERATIONS.values():
                self.expected[op.name] = await op.direct(
                    Request(departments.fetch), self.workload[op.name][0]
                )
        finally:
            await departments.aclose()

    async def check(self, served: Served) -> None:
        """Each operation's first variable set, first thing after start-up: does the variant
        answer as `direct` does? The enrolment review goes first, so the gateway's backend
        calls for it are a cold cache's (target b)."""
        for op in OPERATIONS.values():
            body = GraphQLClient.body(op.query, self.workload[op.name][0])
            async with GraphQLClient(served.url, HEADERS, connections=1) as client:
                before = await served.stats()
                status, answer = await client.post(body)
                after = await served.stats()
            served.requests += 1
            if op.name == "enrolment_review" and served.variant != "floor":
                self.results.cold_calls[served.variant] = stats_delta(before, after)[0]
            problem = (
                f"HTTP {status}, errors: {str(answer.get('errors'))[:200]}"
                if status != 200 or answer.get("errors")
                else first_difference(answer.get("data"), self.expected[op.name])
            )
            if problem:
                self.disagreements.append(f"{served.variant}, {op.name}: differs from direct: {problem}")
                log(self.disagreements[-1])

    async def bulk(self, env: Mapping[str, str], dsn: str, workload_file: Path) -> None:
        """Target (d): 1,000 persons in one query, on fresh gateway processes."""
        samples = self.args.bulk_samples
        sets = await bulk_ids(dsn, 2 * samples + 1, 1000)
        warm_id = sets[-1]
        answers: dict[str, Any] = {}  # the first sample's answers, to compare with direct's
        for k in range(samples):
            served = await serve("gateway", env, self.args.latency_ms, workload_file)
            try:
                await served.ready(120)
                async with GraphQLClient(served.url, HEADERS, connections=1) as client:
                    await client.post(GraphQLClient.body(BULK, {"ids": warm_id}))  # opens the pools
                    for label, query, ids in (
                        ("gateway (cold)", BULK, sets[2 * k]),
                        ("gateway (cold)", BULK_VERDICT, sets[2 * k + 1]),
                        ("gateway (warm)", BULK, sets[2 * k]),
                    ):
                        before = await served.stats()
                        started = time.perf_counter()
                        status, answer = await client.post(GraphQLClient.body(query, {"ids": ids}))
                        seconds = time.perf_counter() - started
                        after = await served.stats()
                        problem = None
                        if status != 200 or answer.get("errors"):
                            problem = f"HTTP {status} {str(answer.get('errors'))[:150]}"
                        elif len((answer.get("data") or {}).get("persons") or []) != len(ids):
                            problem = "not every person answered"
                        name = "Bulk" if query is BULK else "BulkVerdict"
                        if k == 0 and label == "gateway (cold)":
                            answers[name] = answer.get("data")
                        self.results.bulk.append(
                            BulkSample(label, name, len(ids), seconds, stats_delta(before, after)[0], problem)
                        )
                        log(f"{label} {name}: {seconds:.3f} s")
            finally:
                await served.stop()
        assert self.direct is not None
        for name, direct, ids in (
            ("Bulk", bulk_direct, sets[0]),
            ("BulkVerdict", bulk_verdict_direct, sets[1]),
        ):
            calls0 = self.direct.calls
            started = time.perf_counter()
            expected = await direct(Request(self.direct.fetch), {"ids": ids})
            seconds = time.perf_counter() - started
            self.results.bulk.append(
                BulkSample("direct", name, len(ids), seconds, self.direct.calls - calls0)
            )
            problem = first_difference(answers.get(name), expected)
            self.results.agreement.append(
                f"{name} (1,000 persons): gateway "
                + (f"differs from direct: {problem}" if problem else "answers exactly as direct does.")
            )


async def drive_each(call: Any, count: int, concurrency: int) -> Run:
    """Every index in range(count) once, `concurrency` at a time."""
    run = Run()
    next_index = 0
    started = time.perf_counter()

    async def worker() -> None:
        nonlocal next_index
        while next_index < count:
            i, next_index = next_index, next_index + 1
            problem = await call(i)
            run.requests += 1
            if problem is not None:
                run.errors += 1
                run.first_error = run.first_error or problem

    await asyncio.gather(*(worker() for _ in range(min(concurrency, count))))
    run.elapsed = time.perf_counter() - started
    return run


async def main_async(args: argparse.Namespace) -> None:  # noqa: C901 - one branch per benchmark the run may choose
    started = time.perf_counter()
    data_dir = Path(
        args.data_dir or (HERE / (".data" if args.persons == 20_000 else f".data-{_short(args.persons)}"))
    )
    command = f"{_relative(sys.executable)} -m bench.run {' '.join(sys.argv[1:])}".strip()
    results = Results(
        command=command,
        started=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        latency_ms=args.latency_ms,
        persons=args.persons,
        city_persons=args.persons,
        seconds=args.seconds,
        warmup=args.warmup,
        concurrency=list(args.concurrency),
        revision=revision(),
    )
    variants = [v for v in ALL_VARIANTS if v in args.variants]
    if args.schema_runs:
        results.schema_build = await schema_build(args.schema_runs, args.schema_starts)
    log(f"starting the departments ({args.persons:,} persons, {args.latency_ms:g} ms) in {data_dir}")
    async with city(data_dir, args.persons, args.latency_ms) as c:
        if c.seed_seconds:
            results.notes.append(
                f"The city was seeded by this run ({c.seed_seconds:.0f} s, not in the timings)."
            )
        results.city_persons = int(c.samples.get("persons", args.persons))
        bench = Bench(args, results)
        bench.workload = await workload_of(c.samples, c.dsns["public_security"], max(3, *args.concurrency))
        specs = department_specs(c.env)
        await bench.expect(specs)
        top = max(args.concurrency)
        with tempfile.TemporaryDirectory(prefix="govgraph-bench-") as tmp:
            workload_file = Path(tmp) / "workload.json"
            workload_file.write_bytes(orjson.dumps(bench.workload))
            old = before_variant(Path(tmp) / "before", variants, results) if "before" in variants else None
            # One variant at a time: its processes alone on the machine (and within
            # PostgreSQL's connection limit: each gateway process pools up to ~35).
            for variant in variants:
                served: Served | None = None
                if variant == "direct":
                    bench.direct = Departments(specs, pg_latency=args.latency_ms / 1000)
                    await bench.direct.open()
                else:
                    served = bench.served[variant] = await serve(
                        variant, c.env, args.latency_ms, workload_file, old
                    )
                try:
                    if served is not None:
                        await served.ready(600)
                        log(f"serving {variant}")
                        await bench.check(served)
                    for op in OPERATIONS.values():
                        for concurrency in args.concurrency:
                            if variant in TOP_ONLY and concurrency != top:
                                continue
                            case = await bench.case(variant, op, concurrency)
                            results.cases.append(case)
                            log(
                                f"{op.name:18} {variant:15} c={concurrency:<3} {case.run.rps:8.1f} req/s"
                                f"  p50 {case.run.ms(50):7.1f} ms  p99 {case.run.ms(99):7.1f} ms"
                                f"  calls/req {case.calls if case.calls is not None else float('nan'):7.2f}"
                                f"  errors {case.run.errors}"
                            )
                    if served is not None and variant == "gateway" and args.soak:
                        pid = served.process.pid
                        log(f"soak: {args.soak:,} requests to gateway")
                        persons = await subjects(c.dsns["public_security"], min(args.soak * 10, 200_000))
                        results.soak = await soak(
                            served.url,
                            HEADERS,
                            persons,
                            args.soak,
                            top,
                            functools.partial(rss_mb, pid),
                            progress=soak_progress,
                        )
                        served.requests += results.soak.requests
                        log(f"soak: RSS {results.soak.rss_mb[-1][1]:.0f} MB")
                    if served is not None:
                        rss, hwm = rss_kb(served.process.pid)
                        results.memory.append(Memory(variant, served.requests, served.rss_ready_kb, rss, hwm))
                finally:
                    if served is not None:
                        await served.stop()
                    if bench.direct is not None:
                        await bench.direct.aclose()
                        bench.direct = None
            results.agreement = bench.disagreements or [
                "Yes: for each operation's first variable set, every served variant's `data` equals the"
                " answer `direct` assembles from the departments' records, without errors."
            ]
            if not args.skip_bulk and "gateway" in variants:
                log("1,000 persons in one query, cold")
                bench.direct = Departments(specs, pg_latency=args.latency_ms / 1000)
                await bench.direct.open()
                try:
                    await bench.bulk(c.env, c.dsns["public_security"], workload_file)
                finally:
                    await bench.direct.aclose()
                    bench.direct = None
    if args.overlap and "gateway-nocache" in variants and args.latency_ms > 0:
        await instant_departments(args, data_dir, results)
    results.notes += notes(args)
    results.runtime = time.perf_counter() - started
    write(results, Path(args.out))
    log(f"wrote {args.out} in {results.runtime / 60:.1f} min")


async def instant_departments(args: argparse.Namespace, data_dir: Path, results: Results) -> None:
    """Target (f): `gateway-nocache` again at the top concurrency, the departments answering
    with no added latency, so that what slow departments cost is a ratio within one run."""
    log("gateway-nocache again, the departments at 0 ms (target f)")
    top = max(args.concurrency)
    async with city(data_dir, args.persons, 0.0) as c:
        bench = Bench(args, results)
        bench.workload = await workload_of(c.samples, c.dsns["public_security"], max(3, *args.concurrency))
        with tempfile.TemporaryDirectory(prefix="govgraph-bench-") as tmp:
            workload_file = Path(tmp) / "workload.json"
            workload_file.write_bytes(orjson.dumps(bench.workload))
            served = bench.served["gateway-nocache"] = await serve(
                "gateway-nocache", c.env, 0.0, workload_file
            )
            try:
                await served.ready(600)
                for op in OPERATIONS.values():
                    case = await bench.case("gateway-nocache", op, top)
                    results.instant.append(case)
                    log(f"{op.name:18} gateway-nocache 0 ms c={top:<3} {case.run.rps:8.1f} req/s")
            finally:
                await served.stop()


def soak_progress(so_far: Soak) -> None:
    requests, mb = so_far.rss_mb[-1]
    log(
        f"soak: {requests:,} requests, RSS {mb:.0f} MB,"
        f" {so_far.requests / max(so_far.seconds, 1e-9):.0f} requests/s, {so_far.errors} errors"
    )


async def schema_build(runs: int, starts: int) -> SchemaBuild | None:
    """bench/schema_build.py's figures, measured in a process of its own before the
    departments start; None, and the run goes on, if it fails."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.schema_build",
        "--json",
        "--runs",
        str(runs),
        "--starts",
        str(starts),
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await process.communicate()
    if process.returncode != 0:
        log(f"schema build: failed with exit status {process.returncode} (see above); not reported")
        return None
    return SchemaBuild.from_json(out.decode())


def before_variant(dest: Path, variants: list[str], results: Results) -> OldTree | None:
    """The tree `before` is served from, extracted into `dest`; without it, `before` is
    taken out of `variants` and the report says why."""
    try:
        old = extract(dest)
    except Unavailable as exc:
        variants.remove("before")
        results.before = f"not measured: {exc}"
        log(f"before: skipped, the revision before the catalogue is unavailable: {exc}")
        return None
    results.before = old.describe()
    log(f"before: serving {results.before} from {old.path}")
    return old


def notes(args: argparse.Namespace) -> list[str]:
    return [
        "Variants run one after the other, each alone with the departments (a gateway process pools up"
        " to ~35 PostgreSQL connections; several at once would exceed the server's 100). Throughput"
        " and percentiles count good answers only (an error answered fast is not speed); errors are"
        " counted apart, and after a case with errors the variant is given time to recover (its circuit"
        " breakers close) before the next. Percentiles are nearest-rank: with fewer than 100 answers p99"
        " is the slowest.",
        "Backend calls are counted inside the gateway (its CallStats, read at the bench-only"
        " `/__bench/stats` route of bench/serve_variant.py) and, for `direct`, in the bench process;"
        " audit writes are not backend calls. Cache hit = record-cache hits / keys looked up in the cache"
        " during the timed run (the cache's own counters).",
        "`gateway`, `before`, `gateway-nocache` and `naive` run with `list_keys` raised to 1,000 (and the"
        " cost limit with it) for target (d), and with rate limits off; nothing else differs from"
        " govgraph.toml (`before`: its revision's govgraph.toml, which names five departments).",
        "`direct` mirrors the query's levels: a field's department is asked only after the record it"
        " hangs from has arrived (e.g. a guardian's employer after the guardian's insurance record),"
        " as the gateway must; a client that knew every key up front could do better.",
        "Workload: enrolment reviews take disjoint groups of 50 children (the samples' children, then"
        " more from the register: one group per concurrent worker, so concurrent reviews share no child);"
        " talent checks the 100 `changed_employer` samples, pre-fills the 100 `household` samples,"
        " profiles the `d_rated_enterprise` and `enterprise_with_arrears` samples. Each worker cycles"
        " through them, so concurrent requests ask for different subjects.",
        "The record cache keeps records 60 s (govgraph.toml default), so a case can see a few misses"
        " when entries cached by an earlier case expire.",
    ]


def _short(persons: int) -> str:
    return f"{persons // 1_000_000}m" if persons % 1_000_000 == 0 else f"{persons // 1000}k"


def _relative(path: str) -> str:
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return path


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench.run", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument("--persons", type=int, default=20_000, help="city size (1000000: the 1M city)")
    parser.add_argument("--data-dir", help="default bench/.data (20k) or bench/.data-1m (1M)")
    parser.add_argument("--latency-ms", type=float, default=5.0, help="added to every department call")
    parser.add_argument("--concurrency", type=int, nargs="+", help="levels (default 1 8 32)")
    parser.add_argument("--seconds", type=float, help="timed seconds per case (default 10)")
    parser.add_argument("--warmup", type=float, help="warm-up seconds per case (default 0.5)")
    parser.add_argument(
        "--quick", action="store_true", help="3 s a case at 1 and 32 concurrent, one bulk sample"
    )
    parser.add_argument("--variants", nargs="+", choices=ALL_VARIANTS, default=list(ALL_VARIANTS))
    parser.add_argument("--bulk-samples", type=int, help="cold 1,000-person samples (default 3)")
    parser.add_argument("--skip-bulk", action="store_true", help="skip target (d)")
    parser.add_argument(
        "--soak", type=int, help="requests of the memory soak, target (e) (default 100000; --quick 5000)"
    )
    parser.add_argument(
        "--schema-runs", type=int, default=20, help="runs per schema build time (0: not measured)"
    )
    parser.add_argument(
        "--schema-starts", type=int, help="fresh processes per tree for start-up (default 5; --quick 3)"
    )
    parser.add_argument(
        "--overlap",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="gateway-nocache again with 0 ms departments, for target (f)",
    )
    parser.add_argument("--out", default=str(HERE / "results.md"))
    args = parser.parse_args(argv)
    quick = args.quick
    args.concurrency = args.concurrency or ([1, 32] if quick else [1, 8, 32])
    args.seconds = args.seconds if args.seconds is not None else (3.0 if quick else 10.0)
    args.warmup = args.warmup if args.warmup is not None else (0.3 if quick else 0.5)
    args.bulk_samples = args.bulk_samples or (1 if quick else 3)
    args.soak = args.soak if args.soak is not None else (5_000 if quick else 100_000)
    args.schema_starts = args.schema_starts if args.schema_starts is not None else (3 if quick else 5)
    return args


def main() -> None:
    asyncio.run(main_async(parse()))


if __name__ == "__main__":
    main()
