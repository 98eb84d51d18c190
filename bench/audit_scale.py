"""The audit log at a city's size: a store of 10,000,000 synthetic events (`govgraph audit
synth`), then what an operator and an auditor meet there. Writes bench/audit_scale.md.

In a fresh database on the PostgreSQL at --database-url ($DATABASE_URL, else the local server
at 127.0.0.1:5432) when it answers, else on an embedded one (pgserver); the database is
dropped at the end. One run measures:

- synth: `govgraph audit synth` as a subprocess, events/s, and the CPU seconds spent by its
  processes and by everything else on the machine (PostgreSQL) per event;
- verify: `govgraph audit verify` as a subprocess (checking the signed checkpoints), its
  events/s and its memory: the peak RSS of the whole process tree (sampled every 50 ms) and
  of its largest process;
- subject look-ups: `AuditStore.subject_events` with a subject's HMACs under every suite
  (what `govgraph audit subject` runs, without the process start), for 50 subjects drawn
  from the synthesized city: median and 90th percentile;
- the writer: an AuditWriter taking concurrent `record()` calls into this store for a fixed
  time, without checkpoints and with them every 1 s and every 10 s (the default), each twice,
  interleaved;
- the store's size: audit_event's and audit_subject's partitions with their indexes and
  TOAST, per event.

    make bench-audit                                         # 10,000,000 events
    make bench-audit AUDIT_ARGS="--events 1000000"
    GOVGRAPH_BENCH_AUDIT_EVENTS=1000000 make bench
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from random import Random

import asyncpg
import psutil

from demo.departments import database_dsn
from gateway.audit.checkpoint import Checkpointer, FileSink
from gateway.audit.keys import write_key_pair
from gateway.audit.record import AccessRecord, subject_keys
from gateway.audit.store import AuditStore
from gateway.audit.suite import DEFAULT_SUITE, get_suite
from gateway.audit.synth_city import Traffic, population, timeline
from gateway.audit.writer import AuditWriter

from .run import HERE, log

LOCAL = "postgresql://postgres@127.0.0.1:5432/postgres"
SUBJECT_KEY = "bench-audit-subject-key-0123456789"
SEED = 1
LOOKUPS = 50
SAMPLE_EVERY = 0.05
PARTITIONS = """
SELECT c.oid::regclass::text AS name, i.inhparent::regclass::text AS parent,
       pg_total_relation_size(c.oid) AS total, pg_indexes_size(c.oid) AS indexes
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent IN ('audit_event'::regclass, 'audit_subject'::regclass)
"""


@dataclass
class Results:
    events: int = 0
    server: str = ""
    durations: dict[str, float] = field(default_factory=dict)
    synth_rate: float = 0.0
    synth_cpu: tuple[float, float] = (0.0, 0.0)  # CPU s: synth's processes, the rest of the machine
    synth_output: str = ""
    verify_rate: float = 0.0
    verify_tree_mb: float = 0.0
    verify_largest_mb: float = 0.0
    verify_processes: int = 0
    verify_output: str = ""
    lookups_ms: list[float] = field(default_factory=list)
    lookup_rows: list[int] = field(default_factory=list)
    writer: dict[str, list[tuple[int, float, int]]] = field(default_factory=dict)  # events, s, checkpoints
    sizes: dict[str, int] = field(default_factory=dict)


@contextlib.asynccontextmanager
async def server(url: str) -> AsyncIterator[tuple[str, str]]:
    """(admin DSN, what it is): the server at `url` if it answers, else an embedded one."""
    try:
        conn = await asyncpg.connect(url, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        log(f"no PostgreSQL at {url} ({type(exc).__name__}); starting an embedded one (pgserver)")
    else:
        described = await _describe(conn)
        await conn.close()
        yield url, f"{described} at {_host(url)}"
        return
    from pgserver.postgres_server import get_server

    with tempfile.TemporaryDirectory(prefix="audit-bench-pg-") as data:
        pg = get_server(Path(data), cleanup_mode="delete")
        try:
            conn = await asyncpg.connect(pg.get_uri())
            described = await _describe(conn)
            await conn.close()
            yield pg.get_uri(), f"{described}, embedded (pgserver)"
        finally:
            pg.cleanup()


async def _describe(conn: asyncpg.Connection) -> str:
    """The server's version and the settings a bulk load's cost depends on."""
    names = ("server_version", "shared_buffers", "max_wal_size", "checkpoint_timeout", "wal_compression")
    values = {n: await conn.fetchval(f"SHOW {n}") for n in names}
    settings = ", ".join(f"{n} {values[n]}" for n in names[1:])
    return f"PostgreSQL {values['server_version']} ({settings})"


def _host(url: str) -> str:
    return url.split("@")[-1].split("/")[0] or "a local socket"


@contextlib.asynccontextmanager
async def fresh_database(admin: str) -> AsyncIterator[str]:
    name = f"gg_audit_bench_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(database_dsn(admin))
    try:
        await conn.execute(f"CREATE DATABASE {name}")
        try:
            yield database_dsn(admin, name)
        finally:
            log(f"dropping {name}")
            await conn.execute(f"DROP DATABASE {name} WITH (FORCE)")
    finally:
        await conn.close()


def govgraph(*args: str) -> list[str]:
    return [sys.executable, "-m", "gateway", *args]


def environ() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("GOVGRAPH_")}


def busy_seconds() -> float:
    """CPU seconds the machine has spent on anything but idling, all cores."""
    cpu = psutil.cpu_times()
    return float(sum(cpu) - cpu.idle - getattr(cpu, "iowait", 0.0))


def synth(config: Path, args: argparse.Namespace, results: Results) -> None:
    command = govgraph(
        "audit", "synth", "--events", str(args.events), "--writers", str(args.writers),
        "--subjects", str(args.subjects), "--seed", str(SEED), "--config", str(config),
    )  # fmt: skip
    before_children, before_busy = resource.getrusage(resource.RUSAGE_CHILDREN), busy_seconds()
    started = time.monotonic()
    out = subprocess.run(command, env=environ(), capture_output=True, text=True, check=False)  # noqa: S603
    seconds = time.monotonic() - started
    after_children, after_busy = resource.getrusage(resource.RUSAGE_CHILDREN), busy_seconds()
    if out.returncode != 0:
        raise RuntimeError(f"audit synth failed: {out.stderr}")
    own = (after_children.ru_utime + after_children.ru_stime) - (
        before_children.ru_utime + before_children.ru_stime
    )
    results.durations["synth"] = seconds
    results.synth_rate = args.events / seconds
    results.synth_cpu = (own, after_busy - before_busy - own)
    results.synth_output = out.stdout.strip()


def verify(config: Path, results: Results) -> None:
    command = govgraph("audit", "verify", "--config", str(config))
    started = time.monotonic()
    process = subprocess.Popen(  # noqa: S603
        command, env=environ(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    peaks: dict[int, int] = {}
    tree_peak = 0
    root = psutil.Process(process.pid)
    while process.poll() is None:
        total = 0
        for member in _tree(root):
            with contextlib.suppress(psutil.Error):
                rss = member.memory_info().rss
                peaks[member.pid] = max(peaks.get(member.pid, 0), rss)
                total += rss
        tree_peak = max(tree_peak, total)
        time.sleep(SAMPLE_EVERY)
    out, err = process.communicate()
    results.durations["verify"] = time.monotonic() - started
    if process.returncode != 0 or ": intact" not in out:
        raise RuntimeError(f"audit verify did not find the store intact: {out}{err}")
    found = re.search(r"\(([\d,]+) events/s\)", out)
    results.verify_rate = float(found.group(1).replace(",", "")) if found else 0.0
    results.verify_tree_mb = tree_peak / 2**20
    results.verify_largest_mb = max(peaks.values()) / 2**20
    results.verify_processes = len(peaks)
    results.verify_output = out.strip()


def _tree(root: psutil.Process) -> Iterator[psutil.Process]:
    yield root
    with contextlib.suppress(psutil.Error):
        yield from root.children(recursive=True)


async def lookups(dsn: str, args: argparse.Namespace, results: Results) -> None:
    """The subjects' accesses as `audit subject` reads them, timed one after another."""
    city = population(SEED, args.subjects).identifiers()
    chosen = Random(f"{SEED}:lookups").sample(city, LOOKUPS)
    store = AuditStore(dsn, pool_size=1, timeout=120.0)
    started = time.monotonic()
    try:
        await store.open()
        for identifier in chosen:
            keys = subject_keys(SUBJECT_KEY.encode(), identifier)
            begun = time.perf_counter()
            rows = await store.subject_events(keys)
            results.lookups_ms.append(1000 * (time.perf_counter() - begun))
            results.lookup_rows.append(len(rows))
    finally:
        await store.aclose()
    results.durations["subject look-ups"] = time.monotonic() - started


async def writers(dsn: str, key: Path, directory: Path, args: argparse.Namespace, results: Results) -> None:
    """An AuditWriter under `concurrency` requests at once, each recording an access as soon as
    the previous one's commit returned, for `writer_seconds`; per variant of checkpointing."""
    suite = get_suite(DEFAULT_SUITE)
    signer = suite.signer(await asyncio.to_thread(key.read_bytes))
    city = population(SEED, args.subjects)
    traffic = Traffic(city, Random(f"{SEED}:writer"), SEED)
    now = dt.datetime.now(dt.UTC)
    pool: list[tuple[AccessRecord, str, str]] = []
    for moment in timeline(Random(f"{SEED}:writer-times"), 20_000, now - dt.timedelta(hours=1), now):
        access = traffic.access(moment)
        if access.access is not None:
            pool.append((access.access, access.outcome, access.response_hash))
    store = AuditStore(dsn, pool_size=4, timeout=5.0)
    started = time.monotonic()
    try:
        await store.open()
        for round_ in range(2):
            for variant, interval in (("off", None), ("every 1 s", 1.0), ("every 10 s", 10.0)):
                sink = FileSink(directory / f"writer-{round_}-{variant.replace(' ', '')}")
                sink.directory.mkdir()
                checkpointer = (
                    None if interval is None else Checkpointer(sink, signer, suite.name, grace=60.0)
                )
                writer = AuditWriter(
                    store,
                    SUBJECT_KEY.encode(),
                    writer_id=f"bench-writer-{round_}-{variant.replace(' ', '')}",
                    suite=suite,
                    checkpointer=checkpointer,
                    tend_interval=interval or 10.0,
                )
                events, seconds = await _drive(writer, pool, args.concurrency, args.writer_seconds)
                signed = checkpointer.written if checkpointer is not None else 0
                results.writer.setdefault(variant, []).append((events, seconds, signed))
                log(f"writer, checkpoints {variant}: {events / seconds:,.0f} events/s, {signed} checkpoints")
    finally:
        await store.aclose()
    results.durations["writer"] = time.monotonic() - started


async def _drive(
    writer: AuditWriter, pool: list[tuple[AccessRecord, str, str]], concurrency: int, seconds: float
) -> tuple[int, float]:
    await writer.start()
    done = 0
    deadline = time.monotonic() + seconds

    async def requests(offset: int) -> None:
        nonlocal done
        i = offset
        while time.monotonic() < deadline:
            access, outcome, response = pool[i % len(pool)]
            await writer.record(access, outcome, response)
            done += 1
            i += concurrency

    started = time.monotonic()
    await asyncio.gather(*(requests(i) for i in range(concurrency)))
    elapsed = time.monotonic() - started
    await writer.aclose()  # and its last head signed, when it has checkpoints
    return done, elapsed


async def sizes(dsn: str, results: Results) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(PARTITIONS)
        results.events = int(
            await conn.fetchval(
                "SELECT sum(last_seq) FROM audit_writer WHERE writer_id NOT LIKE 'bench-writer-%'"
            )
        )
    finally:
        await conn.close()
    for parent in ("audit_event", "audit_subject"):
        own = [r for r in rows if r["parent"] == parent]
        results.sizes[f"{parent} total"] = sum(r["total"] for r in own)
        results.sizes[f"{parent} indexes"] = sum(r["indexes"] for r in own)


async def main_async(args: argparse.Namespace) -> None:
    results = Results()
    begun = time.monotonic()
    async with server(args.database_url) as (admin, what), fresh_database(admin) as dsn:
        results.server = what
        with tempfile.TemporaryDirectory(prefix="audit-bench-") as scratch:
            directory = Path(scratch)
            key = directory / "checkpoint.pem"
            write_key_pair(DEFAULT_SUITE, key)
            (directory / "checkpoints").mkdir()
            config = directory / "govgraph.toml"
            config.write_text(
                f'[audit]\ndsn = "{dsn}"\nsubject_key = "{SUBJECT_KEY}"\n'
                f'checkpoints = "{directory / "checkpoints"}"\ncheckpoint_key = "{key}"\n',
                encoding="utf-8",
            )
            log(f"synthesizing {args.events:,} events in {what}")
            synth(config, args, results)
            log(results.synth_output.splitlines()[-1])
            started = time.monotonic()
            await sizes(dsn, results)  # before the writer adds its events
            results.durations["sizes"] = time.monotonic() - started
            log("verifying")
            verify(config, results)
            log(results.verify_output.splitlines()[-1])
            log(f"{LOOKUPS} subject look-ups")
            await lookups(dsn, args, results)
            log("the writer, checkpoints off and on")
            await writers(dsn, key, directory, args, results)
    results.durations["all, with setup and the drop"] = time.monotonic() - begun
    write(Path(args.out), args, results)


def write(out: Path, args: argparse.Namespace, r: Results) -> None:
    n = r.events
    ms = sorted(r.lookups_ms)
    p90 = ms[min(len(ms) - 1, int(0.9 * len(ms)))]
    own_cpu, other_cpu = r.synth_cpu
    event_bytes, subject_bytes = r.sizes["audit_event total"], r.sizes["audit_subject total"]
    memory = psutil.virtual_memory().total / 2**30
    rows = [
        ("synth: events/s (`audit synth`, wall clock)", f"{r.synth_rate:,.0f}"),
        ("synth: CPU µs per event, its processes / the rest (PostgreSQL)",
         f"{1e6 * own_cpu / n:,.0f} / {1e6 * other_cpu / n:,.0f}"),
        ("verify: events/s (`audit verify`, as it reports)", f"{r.verify_rate:,.0f}"),
        (f"verify: peak RSS of the process tree ({r.verify_processes} processes)",
         f"{r.verify_tree_mb:,.0f} MB"),
        ("verify: peak RSS of its largest process", f"{r.verify_largest_mb:,.0f} MB"),
        (f"subject look-up: median / p90 ({LOOKUPS} subjects)",
         f"{statistics.median(ms):,.1f} / {p90:,.1f} ms"),
        ("subject look-up: accesses returned, median / max",
         f"{statistics.median(r.lookup_rows):,.0f} / {max(r.lookup_rows):,}"),
    ]  # fmt: skip
    for variant, runs in r.writer.items():
        signed = sum(c for _, _, c in runs)
        label = "off" if variant == "off" else f"{variant} ({signed} signed)"
        each = ", ".join(f"{e / s:,.0f}" for e, s, _ in runs)
        rows.append(
            (
                f"writer: events/s, checkpoints {label}; runs {each}",
                f"{statistics.mean(e / s for e, s, _ in runs):,.0f}",
            )
        )
    rows += [
        ("store: bytes per event (both tables' partitions, indexes, TOAST)",
         f"{(event_bytes + subject_bytes) / n:,.0f}"),
        ("store: audit_event / its indexes, bytes per event",
         f"{event_bytes / n:,.0f} / {r.sizes['audit_event indexes'] / n:,.0f}"),
        ("store: audit_subject / its indexes, bytes per event",
         f"{subject_bytes / n:,.0f} / {r.sizes['audit_subject indexes'] / n:,.0f}"),
        ("store: size", f"{(event_bytes + subject_bytes) / 2**30:,.1f} GiB"),
    ]  # fmt: skip
    when = f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"
    lines = [
        "# Audit log at scale",
        "",
        f"Generated by `make bench-audit` (bench/audit_scale.py) on {when}: {n:,} events synthesized by "
        f"`govgraph audit synth` ({args.writers} chains, {args.subjects:,} subjects, 3 months, checkpoints "
        f"every 10,000 events) into a fresh database of {r.server}; {psutil.cpu_count()} cores and "
        f"{memory:.0f} GB of memory shared by PostgreSQL and the commands.",
        "",
        "| measure | value |",
        "|---|---:|",
        *(f"| {label} | {value} |" for label, value in rows),
        "",
        "How long each step took:",
        "",
        "| step | seconds |",
        "|---|---:|",
        *(f"| {step} | {seconds:,.0f} |" for step, seconds in r.durations.items()),
        "",
        "Notes:",
        "",
        "- synth: wall clock of the `govgraph audit synth` process from start to exit; the CPU split "
        "is its processes' user+system time (RUSAGE_CHILDREN) against the rest of the machine's busy time "
        "over the same interval: mostly PostgreSQL taking the COPYs, but anything else running counts too.",
        "- verify: one `govgraph audit verify` (processes: one per core) over the synthesized chains, "
        "checking each against its signed checkpoints; the memory is RSS sampled every 50 ms over "
        "the command and every process it started.",
        f"- subject look-ups: `AuditStore.subject_events` (what `audit subject` runs, limit 1,000) with "
        f"the subject's HMAC under every suite, for {LOOKUPS} subjects sampled uniformly from the "
        "synthesized city's people, households and enterprises, one after another, after verify.",
        f"- writer: one AuditWriter (max_batch 256, max_wait 2 ms) committing into the synthesized "
        f"store, {args.concurrency} requests at once each recording an access when its previous one "
        f"returned, {args.writer_seconds:g} s per run; checkpoints signed into a directory "
        "(FileSink, fsync).",
        "",
        "What `audit synth` and `audit verify` printed:",
        "",
        "```",
        r.synth_output,
        "",
        r.verify_output,
        "```",
        "",
    ]
    out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--events",
        type=int,
        default=int(os.environ.get("GOVGRAPH_BENCH_AUDIT_EVENTS", "10000000")),
        help="events to synthesize (default $GOVGRAPH_BENCH_AUDIT_EVENTS, else 10,000,000)",
    )
    parser.add_argument("--writers", type=int, default=16)
    parser.add_argument("--subjects", type=int, default=100_000)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", LOCAL),
        help=f"an admin DSN of the server to use (default $DATABASE_URL, else {LOCAL}; "
        "an embedded server when it does not answer)",
    )
    parser.add_argument("--writer-seconds", type=float, default=10.0, help="per writer run")
    parser.add_argument("--concurrency", type=int, default=64, help="concurrent requests on the writer")
    parser.add_argument("--out", default=str(HERE / "audit_scale.md"))
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
