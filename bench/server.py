"""The HTTP server under the gateway: uvicorn (httptools, uvloop, the gateway's own protocol,
as `govgraph serve` runs it) against granian (a Rust HTTP server for ASGI applications).

Starts the demo city (bench/departments.py, as `make bench` does), then serves the bench's
`gateway` variant (bench/serve_variant.py: policy, audit in sync mode, batching, the
memory record cache, rate limits off, `--latency-ms` in every department) under each
server in turn, with the same settings and worker count, each alone with the departments:

- uvicorn: `gateway.server.edge.serve` for one worker (what `govgraph serve` runs) and
  `gateway.server.workers.supervise` for more (what `govgraph serve --workers N` runs):
  EdgeProtocol with `[gateway] header_timeout`, `keepalive_timeout`, `max_connections`
  and `shutdown_timeout`, the operators' listener, the workers' metrics directory;
- granian: its ASGI interface with lifespan, the same factory and workers, uvloop,
  HTTP/1.1, `max_connections` as its backpressure (requests at once per worker),
  `header_timeout` as its header read timeout, the request head limit (64 kB) as its
  buffer, `shutdown_timeout` as its workers' kill timeout, and a metrics directory for
  several workers, as uvicorn's workers have;
- uvicorn-reuseport, with several workers only: an experiment, not what `govgraph serve`
  does: uvicorn's supervisor with one SO_REUSEPORT listening socket per worker, so that
  the kernel spreads connections over the workers instead of the first worker awake
  accepting all those waiting on the shared socket.

For each round, worker count and server, for each operation (bench/operations.py; by
default the warm-cache talent check and enterprise profile) at each concurrency: every
variable set is asked once and `--warmup` seconds are driven (the record cache is warm,
as for bench.run's `gateway`), then `--seconds` are timed with the bench's closed-loop
load generator (bench/drive.py), and the CPU time of the server's processes is read.
Rounds alternate the order of the servers, so that a change in the machine's other load
does not favour one; each figure is the median over the rounds, each ratio to uvicorn
that of the medians. Writes bench/server.md.

    .venv/bin/python -m bench.server                        # about 17 minutes on 2 cores
    .venv/bin/python -m bench.server --workers 2 --servers uvicorn granian --operations household_prefill
    .venv/bin/python -m bench.server --rounds 1 --seconds 3 --operations talent_check

Needs granian, which the project does not depend on: `.venv/bin/pip install granian`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import importlib.metadata
import os
import signal
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
from starlette.applications import Starlette
from uvicorn.supervisors import multiprocess
from uvicorn.supervisors.multiprocess import Process as UvicornProcess

from gateway.app import create_app
from gateway.cli.common import run_on_uvloop
from gateway.config.settings import Settings
from gateway.observability.logs import configure_logging
from gateway.server.edge import HEAD_BYTES, serve
from gateway.server.workers import metrics_directory, supervise, worker_app

from .drive import GraphQLClient, Run, drive
from .operations import OPERATIONS
from .run import HEADERS, HERE, city, drive_each, log, workload_of
from .serve_variant import bench_settings

__all__ = ["app", "main"]

SERVERS = ("uvicorn", "granian", "uvicorn-reuseport")
BASELINE = "uvicorn"
FACTORY = "bench.server:app"
HOST = "127.0.0.1"
_LATENCY = "GOVGRAPH_BENCH_LATENCY_MS"  # read by `app` in each worker
# The measure: at least this many more answers/s at the top concurrency, with a p99
# no worse, on these operations, for every worker count.
FASTER = 1.15
DECIDING = ("talent_check", "enterprise_profile")


# --- the served processes ---


def app() -> Starlette:
    """The factory each worker runs, under either server: the bench's `gateway` variant."""
    return worker_app(_settings(float(os.environ.get(_LATENCY, "0"))))


def _settings(latency_ms: float) -> Settings:
    return bench_settings("gateway", latency_ms / 1000)


# uvicorn's supervisor kills a worker that does not answer its health check within 5 s,
# starting up included; on a machine as busy as a shared bench one, starting a worker
# (imports, the schema) can take longer, and the supervisor then starts and kills workers
# for ever. Raised for the bench: it changes nothing once the workers serve.
HEALTHCHECK = 120


def serve_uvicorn(latency_ms: float, port: int, ops_port: int, workers: int) -> None:
    settings = _settings(latency_ms)
    if workers > 1:
        supervise(
            settings, FACTORY, HOST, port, workers, (HOST, ops_port), timeout_worker_healthcheck=HEALTHCHECK
        )
        return
    configure_logging(settings.logging)
    run_on_uvloop(serve(create_app(settings, serving=True), settings, HOST, port, (HOST, ops_port)))


def serve_uvicorn_reuseport(latency_ms: float, port: int, ops_port: int, workers: int) -> None:
    """An experiment, not what `govgraph serve` does: `serve --workers N` with a listening
    socket of its own for each worker, all bound to the port with SO_REUSEPORT, so that the
    kernel spreads new connections over the workers. (With one shared socket, whichever
    worker is ready first accepts every connection waiting, and keeps it.)"""
    _OwnSocket.port = port
    multiprocess.Process = _OwnSocket  # type: ignore[misc]
    # The supervisor's own (shared) socket goes to an unused port; the workers get theirs.
    settings = _settings(latency_ms)
    supervise(settings, FACTORY, HOST, 0, workers, (HOST, ops_port), timeout_worker_healthcheck=HEALTHCHECK)


class _OwnSocket(UvicornProcess):
    """A uvicorn worker given a listening socket of its own instead of the shared one."""

    port = 0

    def __init__(self, config: Any, sockets: list[socket.socket]) -> None:
        own = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        own.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        own.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        own.bind((HOST, self.port))
        own.listen(2048)
        own.set_inheritable(True)
        super().__init__(config, [own])


def serve_granian(latency_ms: float, port: int, workers: int) -> None:
    from granian.constants import HTTPModes, Interfaces, Loops
    from granian.http import HTTP1Settings
    from granian.server import Server

    gateway = _settings(latency_ms).gateway
    # With several workers, the metrics directory (PROMETHEUS_MULTIPROC_DIR, set by `start`).
    with metrics_directory() if workers > 1 else contextlib.nullcontext():
        Server(
            FACTORY,
            address=HOST,
            port=port,
            interface=Interfaces.ASGI,  # with lifespan
            factory=True,
            workers=workers,
            loop=Loops.uvloop,
            http=HTTPModes.http1,
            websockets=False,
            backpressure=gateway.max_connections,
            http1_settings=HTTP1Settings(
                header_read_timeout=int(gateway.header_timeout * 1000), max_buffer_size=HEAD_BYTES
            ),
            workers_kill_timeout=int(gateway.shutdown_timeout),
            log_access=False,
        ).serve()


@dataclass
class Served:
    server: str
    workers: int
    process: asyncio.subprocess.Process
    port: int

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/graphql"

    def cpu(self) -> dict[int, float]:
        """CPU seconds used so far by each of the server's processes (the supervisor, its workers)."""
        used: dict[int, float] = {}
        with contextlib.suppress(psutil.Error):
            parent = psutil.Process(self.process.pid)
            for p in [parent, *parent.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    times = p.cpu_times()
                    used[p.pid] = times.user + times.system
        return used

    async def ready(self, within: float) -> None:
        deadline = time.monotonic() + within
        body = GraphQLClient.body("{ __typename }", {})
        async with GraphQLClient(self.url, HEADERS, connections=1) as client:
            while time.monotonic() < deadline:
                if self.process.returncode is not None:
                    raise RuntimeError(f"{self.server} exited with {self.process.returncode}")
                if await client.check(body) is None:
                    # Every worker up: a few more answers, then a moment for the last one.
                    for _ in range(20):
                        await client.check(body)
                    await asyncio.sleep(1.0)
                    return
                await asyncio.sleep(0.2)
        raise RuntimeError(f"{self.server} did not answer within {within:.0f} s")

    async def stop(self) -> float:
        """SIGTERM, and the seconds until every process has exited (after 60 s, SIGKILL to
        the server and every process it started)."""
        started = time.monotonic()
        if self.process.returncode is None:
            children: list[psutil.Process] = []
            with contextlib.suppress(psutil.Error):
                children = psutil.Process(self.process.pid).children(recursive=True)
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 60)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
                for child in children:
                    with contextlib.suppress(psutil.Error):
                        child.kill()
        return time.monotonic() - started


async def start(server: str, workers: int, env: Mapping[str, str], latency_ms: float, logs: Path) -> Served:
    port, ops_port = free_ports(2)
    command = [sys.executable, "-m", "bench.server", "--serve", server, "--workers", str(workers)]
    command += ["--port", str(port), "--ops-port", str(ops_port), "--latency-ms", str(latency_ms)]
    environ = {**os.environ, **env, _LATENCY: str(latency_ms)}
    if server == "granian" and workers > 1:
        # granian forks its workers from a process that has imported the gateway, so the
        # metrics' multiprocess mode (what `serve --workers` workers run, started afresh)
        # must be chosen before that import: the directory is given at the process's start.
        metrics = logs.parent / f"metrics-{port}"
        metrics.mkdir()
        environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics)
    with logs.open("ab") as out:
        process = await asyncio.create_subprocess_exec(*command, env=environ, stdout=out, stderr=out)
    return Served(server, workers, process, port)


def free_ports(count: int) -> list[int]:
    """`count` distinct free ports (each held until all are found)."""
    with contextlib.ExitStack() as held:
        ports = []
        for _ in range(count):
            sock = held.enter_context(socket.socket())
            sock.bind((HOST, 0))
            ports.append(int(sock.getsockname()[1]))
        return ports


# --- measuring ---


@dataclass
class Sample:
    round: int
    workers: int
    server: str
    op: str
    concurrency: int
    run: Run
    cpu: float  # the server's CPU seconds during the timed run
    shares: list[float]  # each process's share of that, largest first

    @property
    def busiest(self) -> float:
        return self.shares[0] if self.shares else float("nan")

    @property
    def cpu_ms(self) -> float:
        return 1000 * self.cpu / self.run.good if self.run.good else float("nan")


async def measure(
    served: Served,
    op: str,
    variables: Sequence[Mapping[str, Any]],
    concurrency: int,
    args: argparse.Namespace,
) -> tuple[Run, float, list[float]]:
    bodies = [GraphQLClient.body(OPERATIONS[op].query, v) for v in variables]
    async with GraphQLClient(served.url, HEADERS, connections=concurrency) as client:

        async def call(i: int) -> str | None:
            return await client.check(bodies[i % len(bodies)])

        await drive_each(call, len(bodies), concurrency)  # every variable set once: the cache is warm
        await drive(call, args.warmup, concurrency)
        before = served.cpu()
        run = await drive(call, args.seconds, concurrency)
        after = served.cpu()
    used = [after[pid] - before.get(pid, 0.0) for pid in after]
    total = sum(used)
    return run, total, sorted((u / total for u in used), reverse=True) if total else []


async def answer(served: Served, op: str, variables: Mapping[str, Any]) -> Any:
    """The operation's `data` for `variables`, or the whole answer if it has errors."""
    async with GraphQLClient(served.url, HEADERS, connections=1) as client:
        status, found = await client.post(GraphQLClient.body(OPERATIONS[op].query, variables))
    return found.get("data") if status == 200 and not found.get("errors") else found


def _line(s: Sample) -> str:
    run = s.run
    return (
        f"{run.rps:8.1f}/s  p50 {run.ms(50):7.1f} ms  p99 {run.ms(99):7.1f} ms  cpu {s.cpu_ms:5.2f} ms/answer"
        f"  processes {'/'.join(f'{100 * x:.0f}' for x in s.shares if x >= 0.01)}%  errors {run.errors}"
        + (f" ({run.first_error})" if run.first_error else "")
    )


async def main_async(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    command = f"{_relative(sys.executable)} -m bench.server {' '.join(sys.argv[1:])}".strip()
    load_before = os.getloadavg()
    samples: list[Sample] = []
    stops: dict[tuple[int, str], list[float]] = {}
    agreement: list[str] = []
    reference: dict[str, Any] = {}  # each operation's first answer
    data_dir = Path(args.data_dir or HERE / (".data" if args.persons == 20_000 else f".data-{args.persons}"))
    log(f"starting the departments ({args.persons:,} persons, {args.latency_ms:g} ms) in {data_dir}")
    async with city(data_dir, args.persons, args.latency_ms) as c:
        everything = await workload_of(c.samples, c.dsns["public_security"], max(3, *args.concurrency))
        workload = {op: everything[op] for op in args.operations}
        with tempfile.TemporaryDirectory(prefix="govgraph-bench-server-") as tmp:
            logs = Path(tmp) / "servers.log"
            for r in range(args.rounds):
                for workers in args.workers:
                    # The servers one after the other, the first of them alternating.
                    servers = [s for s in args.servers if workers > 1 or s != "uvicorn-reuseport"]
                    for server in servers if r % 2 == 0 else servers[::-1]:
                        served = await start(server, workers, c.env, args.latency_ms, logs)
                        try:
                            await served.ready(600)
                            for op in workload:
                                got = await answer(served, op, workload[op][0])
                                reference.setdefault(op, got)
                                if got != reference[op]:
                                    agreement.append(f"{server} ({workers} workers) answers {op} differently")
                                for concurrency in args.concurrency:
                                    run, cpu, busiest = await measure(
                                        served, op, workload[op], concurrency, args
                                    )
                                    samples.append(
                                        Sample(r, workers, server, op, concurrency, run, cpu, busiest)
                                    )
                                    log(
                                        f"round {r + 1} {server:17} w={workers} {op:18} c={concurrency:<3} "
                                        + _line(samples[-1])
                                    )
                        except BaseException:
                            sys.stderr.write(logs.read_text(errors="replace")[-4000:])
                            raise
                        finally:
                            stops.setdefault((workers, server), []).append(await served.stop())
    report = Report(
        command=command,
        args=args,
        samples=samples,
        stops=stops,
        agreement=agreement
        or ["Every server and worker count answered every operation's first variable set alike."],
        load=(load_before, os.getloadavg()),
        minutes=(time.perf_counter() - started) / 60,
    )
    text = report.markdown()
    await asyncio.to_thread(Path(args.out).write_text, text, encoding="utf-8")
    print(text)
    log(f"wrote {args.out} in {report.minutes:.1f} min")


# --- the report ---


@dataclass
class Report:
    command: str
    args: argparse.Namespace
    samples: list[Sample]
    stops: dict[tuple[int, str], list[float]]
    agreement: list[str]
    load: tuple[tuple[float, float, float], tuple[float, float, float]]
    minutes: float

    def of(self, workers: int, server: str, op: str, concurrency: int) -> list[Sample]:
        return [
            s
            for s in self.samples
            if (s.workers, s.server, s.op, s.concurrency) == (workers, server, op, concurrency)
        ]

    def markdown(self) -> str:
        args = self.args
        lines = [
            "# The server: uvicorn against granian",
            "",
            f"Generated by `{self.command}` (bench/server.py) on {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"
            f" in {self.minutes:.0f} minutes: {_versions()}; Python {sys.version.split()[0]},"
            f" {psutil.cpu_count()} cores shared by the gateway, the departments, PostgreSQL and the load"
            f" generator. {args.persons:,}-person demo city, {args.latency_ms:g} ms added to each department"
            " call; the bench's `gateway` variant, its record cache warm (every variable set asked once, then"
            f" {args.warmup:g} s driven, before each timed case); {args.seconds:g} s timed per case;"
            f" {args.rounds} round(s), in each the servers one after the other, the first of them"
            " alternating; each figure is the median over the rounds. Load average (1, 5, 15 min)"
            f" {_load(self.load[0])} at the start, {_load(self.load[1])} at the end.",
            "",
            "- uvicorn: as `govgraph serve` and `govgraph serve --workers N` run it (httptools, uvloop, the"
            " gateway's EdgeProtocol and supervisor, the operators' listener).",
            "- granian: its ASGI interface with lifespan, the same app factory and settings (uvloop,"
            " HTTP/1.1, `max_connections` as backpressure, `header_timeout` as header read timeout,"
            " `shutdown_timeout` as workers' kill timeout).",
            "- uvicorn-reuseport (with several workers only): an experiment, not what `govgraph serve` does:"
            " uvicorn's supervisor with a listening socket per worker (SO_REUSEPORT), so that the kernel"
            " spreads connections over the workers.",
            "",
            "Answers/s count good answers only; p50 and p99 are nearest-rank latencies in ms; ratios are to"
            " uvicorn in the same rounds (in brackets the lowest and highest of the rounds' own ratios). CPU"
            " is the server's processes' CPU milliseconds per answer (user + system, supervisor included);"
            " busiest is the busiest process's share of that CPU (with 2 workers, 50% is an even spread).",
            "",
            "| workers | operation | concurrent | server | answers/s | ratio | p50 | p99 | p99 ratio | CPU ms"
            " | busiest |",
            "|---:|---|---:|---|---:|---|---:|---:|---|---:|---:|",
        ]
        errors = []
        for workers in args.workers:
            for op in args.operations:
                for concurrency in args.concurrency:
                    base = self.of(workers, BASELINE, op, concurrency)
                    for server in args.servers:
                        found = self.of(workers, server, op, concurrency)
                        if not found or not base:
                            continue
                        errors += [
                            f"{s.server}, {workers} workers, {op} at {concurrency}, round {s.round + 1}:"
                            f" {s.run.errors} errors, first: {s.run.first_error}"
                            for s in found
                            if s.run.errors
                        ]
                        same = server == BASELINE
                        lines.append(
                            f"| {workers} | {op} | {concurrency} | {server} | {_med(found, 'rps'):,.0f} "
                            f"| {'' if same else _ratio(base, found, 'rps')} | {_med(found, 'p50'):.1f} "
                            f"| {_med(found, 'p99'):.1f} | {'' if same else _ratio(base, found, 'p99')} "
                            f"| {_med(found, 'cpu'):.2f} | {_med(found, 'busiest') * 100:.0f}% |"
                        )
        lines += ["", *self.verdict(), ""]
        lines.append(
            "Stopping (SIGTERM to exit, idle): "
            + "; ".join(
                f"{server}, {workers} worker(s): {statistics.median(times):.1f} s"
                for (workers, server), times in sorted(self.stops.items())
            )
            + "."
        )
        lines += ["", *self.agreement]
        if errors:
            lines += ["", "Errors:", "", *(f"- {e}" for e in errors)]
        lines.append("")
        return "\n".join(lines)

    def verdict(self) -> list[str]:
        top = max(self.args.concurrency)
        found = []
        clearly = True
        for workers in self.args.workers:
            for op in DECIDING:
                uv, gr = self.of(workers, BASELINE, op, top), self.of(workers, "granian", op, top)
                if not uv or not gr:
                    clearly = False
                    continue
                rps = _med(gr, "rps") / _med(uv, "rps")
                p99 = _med(gr, "p99") / _med(uv, "p99")
                clearly = clearly and rps >= FASTER and p99 <= 1.0
                found.append(f"{op} with {workers} worker(s): {rps:.2f}x the answers/s, p99 {p99:.2f}x")
        return [
            f"granian against uvicorn by the issue's measure (at least {FASTER:.2f}x the answers/s at {top}"
            f" concurrent, p99 no longer, on {' and '.join(DECIDING)}, for every worker count):"
            f" **{'met' if clearly else 'not met'}** (" + "; ".join(found) + ")."
        ]


def _value(s: Sample, what: str) -> float:
    return {
        "rps": s.run.rps,
        "p50": s.run.ms(50),
        "p99": s.run.ms(99),
        "cpu": s.cpu_ms,
        "busiest": s.busiest,
    }[what]


def _med(samples: Sequence[Sample], what: str) -> float:
    return statistics.median(_value(s, what) for s in samples)


def _ratio(base: Sequence[Sample], other: Sequence[Sample], what: str) -> str:
    ratio = _med(other, what) / _med(base, what)
    per_round = [_value(o, what) / _value(b, what) for b, o in _paired(base, other)]
    if len(per_round) < 2:
        return f"{ratio:.2f}"
    return f"{ratio:.2f} ({min(per_round):.2f}–{max(per_round):.2f})"


def _paired(base: Sequence[Sample], other: Sequence[Sample]) -> Iterator[tuple[Sample, Sample]]:
    by_round = {o.round: o for o in other}
    for b in base:
        if b.round in by_round:
            yield b, by_round[b.round]


def _versions() -> str:
    def version(name: str) -> str:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"

    return (
        f"uvicorn {version('uvicorn')} (httptools {version('httptools')}, uvloop {version('uvloop')}),"
        f" granian {version('granian')}"
    )


def _load(values: tuple[float, float, float]) -> str:
    return ", ".join(f"{v:.1f}" for v in values)


def _relative(path: str) -> str:
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return path


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench.server", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument("--persons", type=int, default=20_000, help="city size")
    parser.add_argument("--data-dir", help="default bench/.data (as bench.run)")
    parser.add_argument("--latency-ms", type=float, default=5.0, help="added to every department call")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts (default 1 2)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 32], help="levels (default 1 32)")
    parser.add_argument(
        "--operations",
        nargs="+",
        choices=list(OPERATIONS),
        default=list(DECIDING),
        help="default: %(default)s",
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="timed seconds per case")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds driven before each timed case")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, alternating which server goes first")
    parser.add_argument(
        "--servers",
        nargs="+",
        choices=SERVERS,
        default=list(SERVERS),
        help="uvicorn first, the others are compared with it (uvicorn-reuseport: several workers only)",
    )
    parser.add_argument("--out", default=str(HERE / "server.md"))
    # How the bench starts each server (not for use by hand).
    parser.add_argument("--serve", choices=SERVERS, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--ops-port", type=int, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main() -> None:
    args = parse()
    if args.serve == "uvicorn":
        serve_uvicorn(args.latency_ms, args.port, args.ops_port, args.workers[0])
    elif args.serve == "uvicorn-reuseport":
        serve_uvicorn_reuseport(args.latency_ms, args.port, args.ops_port, args.workers[0])
    elif args.serve == "granian":
        serve_granian(args.latency_ms, args.port, args.workers[0])
    else:
        try:
            importlib.metadata.version("granian")
        except importlib.metadata.PackageNotFoundError:
            raise SystemExit("bench.server needs granian: .venv/bin/pip install granian") from None
        asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
