"""`govgraph audit verify` over a whole store: chains checked in parallel processes, each
streamed (verify.py), with progress on a terminal, archived months read from their files or
taken on the database's record of them, and a state file so the next run can start from the
checkpoints this one verified (`--since-checkpoint`)."""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
import queue
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway.audit.anchors import Anchors
from gateway.audit.archive import ArchiveError, ChainSpan, Manifest, archived_batches, read_manifests
from gateway.audit.chain_read import check_chain
from gateway.audit.checkpoint import open_sink
from gateway.audit.progress import Progress, share
from gateway.audit.reads import read_head
from gateway.audit.spans import archive_spans, continuity, recorded_spans
from gateway.audit.store import AuditStore, AuditStoreError, ChainHead
from gateway.audit.suite import verifier_for
from gateway.audit.verify import ChainResult, Start, VerifyReport
from gateway.audit.verify_state import load_state, save_state

__all__ = ["Sweep", "sweep", "verify", "verify_here"]


@dataclass(frozen=True)
class Sweep:
    """What a verify run reads: picklable, so each process builds its own connections."""

    dsn: str
    checkpoints: str | None = None  # the sink spec; None: no checkpoints to check against
    keys: tuple[bytes, ...] = ()  # trusted public keys (PEM)
    archive: str | None = None  # a directory of archived months, read instead of trusted
    anchor_span: float | None = None  # events this much older than a chain's last need a checkpoint
    state: str | None = None  # where verified checkpoints are remembered
    since_checkpoint: bool = False
    jobs: int = 0  # processes; 0: one per core


@dataclass(frozen=True)
class _Job:
    writer_id: str
    start: Start
    months: tuple[str, ...] = ()  # archived months (in Sweep.archive) holding its first events
    size: int = 0  # events expected, to share the work and show progress


@dataclass
class _Plan:
    jobs: list[_Job] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    total: int = 0
    store: str = ""  # the store's id, which its checkpoints name


def sweep(settings: Sweep, progress: Callable[[int, int], None] | None = None) -> VerifyReport:
    """Verify every chain, in `settings.jobs` processes; `progress(done, total)` is called
    about twice a second."""
    if settings.jobs == 1:
        return asyncio.run(verify_here(settings, progress))
    started = time.monotonic()
    plan = asyncio.run(_plan(settings))
    return _finish(settings, plan, _run(settings, plan, progress), started, progress)


async def verify_here(settings: Sweep, progress: Callable[[int, int], None] | None = None) -> VerifyReport:
    """Verify every chain in this process, one after another."""
    started = time.monotonic()
    plan = await _plan(settings)
    counter = Progress(plan.total, progress)
    results = await _work(settings, plan.jobs, counter.add, plan.store)
    return _finish(settings, plan, results, started, progress)


async def verify(store: AuditStore, **options: Any) -> VerifyReport:
    """Verify the store `store` opens, in this process (`options`: Sweep's)."""
    return await verify_here(Sweep(dsn=store.dsn, jobs=1, **options))


def _finish(
    settings: Sweep,
    plan: _Plan,
    results: Iterable[ChainResult],
    started: float,
    progress: Callable[[int, int], None] | None = None,
) -> VerifyReport:
    report = VerifyReport(problems=list(plan.problems), notes=list(plan.notes))
    for result in results:
        report.add(result)
    report.results.sort(key=lambda r: r.writer_id)
    report.problems.sort()
    report.seconds = time.monotonic() - started
    if progress is not None:
        progress(report.events, plan.total)
    if settings.state:
        try:
            save_state(Path(settings.state), settings.dsn, plan.store, report.results)
        except OSError as exc:  # the report stands; only the next --since-checkpoint loses
            report.notes.append(f"the verify state was not saved to {settings.state}: {exc.strerror}")
    return report


async def _plan(settings: Sweep) -> _Plan:
    store = AuditStore(settings.dsn, pool_size=1, timeout=30.0)
    try:
        identity = await store.identity()
        # Listed before the database's chains: a chain begun meanwhile is then in both.
        signed = open_sink(settings.checkpoints, identity).writers() if settings.checkpoints else []
        writers = await store.writers()
        recorded = await store.archived()
    finally:
        await store.aclose()
    plan = _Plan(store=identity)
    pinned, verified = load_state(Path(settings.state), settings.dsn) if settings.state else ("", {})
    if pinned and pinned != identity:
        plan.problems.append(
            f"the audit store's id is {identity}, but it was {pinned} when it was last verified; "
            "its id was changed (which hides its checkpoints)"
        )
    spans = recorded_spans(recorded)
    if settings.archive:
        spans = archive_spans(Path(settings.archive), recorded, plan.problems, plan.notes)
    elif recorded:
        archived = sum(r["events"] for r in recorded)
        plan.notes.append(
            f"{len(recorded)} archived months ({archived} events) taken on the database's record; "
            "--archive DIR reads them"
        )
    state = verified if settings.since_checkpoint else {}
    for writer_id, head in writers:
        chain_spans = spans.get(writer_id, [])
        problem = continuity(writer_id, chain_spans)
        if problem is not None:
            plan.problems.append(problem)
            continue
        plan.jobs.append(
            _job(writer_id, head, chain_spans, settings.archive is not None, state.get(writer_id))
        )
    if settings.checkpoints:
        known = {w for w, _ in writers}
        for writer_id in signed:
            if writer_id not in known:
                plan.problems.append(
                    f"writer {writer_id}: signed checkpoints, but the database has no such chain; "
                    "it was deleted"
                )
    else:
        plan.notes.append("no checkpoints configured: a chain rewritten together with its head would verify")
    plan.total = sum(j.size for j in plan.jobs)
    return plan


def _job(
    writer_id: str,
    head: ChainHead | None,
    spans: list[tuple[str, ChainSpan]],
    read_archive: bool,
    verified: tuple[int, str] | None,
) -> _Job:
    size = head.last_seq if head is not None else 0
    archived_to = spans[-1][1].last_seq if spans else 0
    if verified is not None and verified[0] >= archived_to:
        seq, digest = verified
        return _Job(writer_id, Start(seq, digest, "verified before", archived_to), (), max(0, size - seq))
    if read_archive:
        return _Job(writer_id, Start(archived=archived_to), tuple(m for m, _ in spans), size)
    if spans:
        start = Start(archived_to, spans[-1][1].last_hash, "archived", archived_to)
        return _Job(writer_id, start, (), max(0, size - archived_to))
    return _Job(writer_id, Start(), (), size)


def _run(settings: Sweep, plan: _Plan, progress: Callable[[int, int], None] | None) -> Iterator[ChainResult]:
    groups = share(plan.jobs, settings.jobs or os.cpu_count() or 1, lambda j: j.size)
    if len(groups) <= 1:
        counter = Progress(plan.total, progress)
        yield from asyncio.run(_work(settings, plan.jobs, counter.add, plan.store))
        return
    context = mp.get_context("spawn")
    done = context.Value("q", 0)
    results: Any = context.Queue()
    workers = [
        context.Process(target=_process, args=(settings, group, plan.store, done, results))
        for group in groups
    ]
    for worker in workers:
        worker.start()
    remaining = len(workers)
    while remaining:
        try:
            batch = results.get(timeout=0.5)
        except queue.Empty:
            if progress is not None:
                progress(done.value, plan.total)
            if not any(w.is_alive() for w in workers) and results.empty():
                for worker in workers:
                    worker.terminate()
                raise AuditStoreError("a verifying process ended without its results") from None
            continue
        remaining -= 1
        if isinstance(batch, str):
            for worker in workers:
                worker.terminate()
            raise AuditStoreError(batch)
        yield from batch
    for worker in workers:
        worker.join()
    if progress is not None:
        progress(done.value, plan.total)


def _process(settings: Sweep, jobs: list[_Job], identity: str, done: Any, results: Any) -> None:
    def add(events: int) -> None:
        with done.get_lock():
            done.value += events

    try:
        results.put(asyncio.run(_work(settings, jobs, add, identity)))
    except Exception as exc:  # told to the parent, which reports it
        results.put(f"{type(exc).__name__}: {exc}")


async def _work(
    settings: Sweep, jobs: list[_Job], progress: Callable[[int], None], identity: str
) -> list[ChainResult]:
    trusted = {v.key_id: v for v in map(verifier_for, settings.keys)}
    sink = open_sink(settings.checkpoints, identity) if settings.checkpoints else None
    manifests = {m.month: m for m, _ in read_manifests(Path(settings.archive))} if settings.archive else {}
    store = AuditStore(settings.dsn, pool_size=1, timeout=30.0)
    results = []
    try:
        for job in jobs:
            # Listed before the snapshot begins, the checkpoints cover only commits it sees.
            signed = sink.read(job.writer_id) if sink else None
            async with store.snapshot() as conn:
                head = await read_head(conn, job.writer_id)
                suite = head.suite if head is not None else _archived_suite(manifests, job)
                anchors = None if signed is None else Anchors(signed, job.writer_id, suite, trusted, identity)
                archived = _archived(Path(settings.archive or "."), manifests, job)
                try:
                    result = await check_chain(
                        conn,
                        job.writer_id,
                        head,
                        job.start,
                        anchors,
                        archived,
                        progress,
                        suite,
                        settings.anchor_span,
                    )
                except ArchiveError as exc:
                    result = ChainResult(job.writer_id, suite, problem=f"writer {job.writer_id}: {exc}")
                except (ValueError, TypeError, KeyError) as exc:  # data no writer wrote
                    problem = f"writer {job.writer_id}: could not be read: {type(exc).__name__}: {exc}"
                    result = ChainResult(job.writer_id, suite, problem=problem)
            results.append(result)
    finally:
        await store.aclose()
    return results


def _archived_suite(manifests: dict[str, Manifest], job: _Job) -> str:
    for month in job.months:
        return manifests[month].chains[job.writer_id].suite
    return "sha256-ed25519"


def _archived(directory: Path, manifests: dict[str, Manifest], job: _Job) -> Iterator[list[dict[str, Any]]]:
    for month in job.months:
        yield from archived_batches(directory, manifests[month], job.writer_id)
