"""`govgraph audit synth`: fill an audit store with a synthetic city's events, as a fleet of
gateway processes would have written them over the last months, at bulk speed: for trying
the auditor's tools, and for measuring `audit verify` and look-ups on a store of a city's size.

Each writer's chain is what an AuditWriter would commit: accesses (synth_city.py) turned into
an event's columns by `access_fields`, chained by `link` with the configured suite and
subject key, and written with `AuditStore.copy` a chunk at a time (each chunk with the
chain's new head, in one transaction), into the months' partitions created first. With
checkpoints configured, each chain's head is signed into the sink every `checkpoint_every`
events and at its end, at the times of the events signed, so `audit verify` checks them.

Hashing is CPU-bound: chains are written by worker processes (one or more chains each,
spawned), a chunk in memory at a time. The same seed (and end of the timeline) gives the
same events, however many processes write them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import gc
import heapq
import itertools
import multiprocessing as mp
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from random import Random
from typing import Any

from gateway.audit.checkpoint import open_sink, sign_checkpoint
from gateway.audit.errors import AuditError
from gateway.audit.partitions import month_of
from gateway.audit.progress import Progress, share
from gateway.audit.record import GENESIS, MIN_SECRET_BYTES, link, subject_key
from gateway.audit.store import AuditStore, ChainHead, EventRow
from gateway.audit.suite import DEFAULT_SUITE, Suite, get_suite
from gateway.audit.synth_city import Population, Traffic, population, timeline

__all__ = ["SynthError", "SynthReport", "synthesize"]

CHUNK = 25_000  # events per COPY
WRITERS = 16
CHECKPOINT_EVERY = 10_000
MIN_SUBJECTS = 20
DAYS_PER_MONTH = 30.4375


class SynthError(AuditError):
    """The store cannot take these synthetic chains (they are there already)."""


@dataclass(frozen=True)
class _Plan:
    """What every worker process needs: picklable, each builds its own connections."""

    dsn: str
    secret: bytes
    suite: str
    seed: int
    subjects: int
    start: dt.datetime
    until: dt.datetime
    chunk: int
    checkpoints: str | None
    signing_key: bytes | None
    checkpoint_every: int
    store: str = ""  # the store's id, which checkpoints name


@dataclass(frozen=True)
class _Chain:
    index: int
    writer_id: str
    events: int


@dataclass
class SynthReport:
    events: int = 0
    chains: list[str] = field(default_factory=list)
    checkpoints: int = 0
    subjects: int = 0
    start: dt.datetime | None = None
    until: dt.datetime | None = None
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


async def synthesize(
    store: AuditStore,
    secret: bytes,
    events: int,
    *,
    writers: int = WRITERS,
    subjects: int = 100_000,
    months: int = 3,
    seed: int = 1,
    suite: str = DEFAULT_SUITE,
    checkpoints: str | None = None,
    signing_key: bytes | None = None,
    checkpoint_every: int = CHECKPOINT_EVERY,
    chunk: int = CHUNK,
    jobs: int = 0,
    until: dt.datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SynthReport:
    """Write `events` synthetic events into `store`, in `writers` chains over the `months`
    before `until` (default: now), about a city of `subjects` subjects, in `jobs` processes
    (0: one per core). Checkpoints are signed into the sink `checkpoints` with the PEM
    `signing_key` when both are given. `progress(done, total)` is called about twice a second."""
    problem = _problem(events, writers, subjects, months, checkpoint_every, chunk)
    if problem is not None:
        raise ValueError(problem)
    if len(secret) < MIN_SECRET_BYTES:
        raise ValueError(f"the audit secret must be at least {MIN_SECRET_BYTES} bytes")
    get_suite(suite)
    started = time.monotonic()
    end = (until or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    start = end - dt.timedelta(days=DAYS_PER_MONTH * months)
    plan = _Plan(
        store.dsn, secret, suite, seed, subjects, start, end, chunk,
        checkpoints if signing_key else None, signing_key if checkpoints else None, checkpoint_every,
    )  # fmt: skip
    chains = _chains(seed, events, writers)
    await store.install(now=end)
    plan = dataclasses.replace(plan, store=await store.identity())
    await store.ensure_partitions(month_of(start), month_of(end))
    for chain in chains:
        if await store.head(chain.writer_id) is not None:
            raise SynthError(
                f"the store already holds chain {chain.writer_id}, synthesized with seed {seed}: "
                "give another seed"
            )
    groups = [
        sorted(g, key=lambda c: c.index)
        for g in share(chains, jobs or os.cpu_count() or 1, lambda c: c.events)
    ]
    if len(groups) == 1:
        counter = Progress(events, progress)
        signed = await _write(plan, chains, counter.add)
    else:
        signed = await _in_processes(plan, groups, events, progress)
    return SynthReport(
        events=events,
        chains=[c.writer_id for c in chains],
        checkpoints=signed,
        subjects=subjects,
        start=start,
        until=end,
        seconds=time.monotonic() - started,
    )


def _problem(events: int, writers: int, subjects: int, months: int, every: int, chunk: int) -> str | None:
    """What is wrong with these numbers, or None."""
    for name, value in (("events", events), ("writers", writers), ("months", months)):
        if value < 1:
            return f"{name} must be at least 1, not {value}"
    if subjects < MIN_SUBJECTS:
        return f"subjects must be at least {MIN_SUBJECTS}, not {subjects}"
    if writers > events:
        return f"{writers} writers cannot share {events} events: each chain holds one at least"
    if every < 1 or chunk < 1:
        return "checkpoint_every and chunk must be at least 1"
    return None


def _chains(seed: int, events: int, writers: int) -> list[_Chain]:
    """The writers' ids (as gateway processes name theirs: host-pid-random) and their shares of
    the events, unequal as processes' loads are."""
    rng = Random(f"{seed}:writers")
    ids = [
        f"gateway-{1 + i % 4}-{rng.randrange(1000, 60_000)}-{rng.getrandbits(32):08x}" for i in range(writers)
    ]
    weights = list(itertools.accumulate(rng.uniform(0.7, 1.3) for _ in range(writers)))
    # Each chain one event, the rest by cumulative rounding of the weights.
    rest = events - writers
    bounds = [0] + [round(rest * w / weights[-1]) for w in weights]
    return [_Chain(i, ids[i], 1 + bounds[i + 1] - bounds[i]) for i in range(writers)]


async def _in_processes(
    plan: _Plan, groups: list[list[_Chain]], total: int, progress: Callable[[int, int], None] | None
) -> int:
    context = mp.get_context("spawn")
    done = context.Value("q", 0)
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor(len(groups), mp_context=context, initializer=_init, initargs=(done,)) as pool:
        futures = [asyncio.wrap_future(pool.submit(_process, plan, group), loop=loop) for group in groups]
        pending: set[asyncio.Future[int]] = set(futures)
        try:
            while pending:
                finished, pending = await asyncio.wait(pending, timeout=0.5)
                for future in finished:
                    future.result()  # the first failure stops the others
                if progress is not None:
                    progress(done.value, total)
        except BrokenProcessPool as exc:
            raise SynthError("a writing process ended abruptly (out of memory?)") from exc
        finally:
            for future in pending:
                future.cancel()
        return sum(f.result() for f in futures)


_done: Any = None  # the worker process's shared count of events written


def _init(done: Any) -> None:
    global _done  # set once per worker process, by the pool's initializer
    _done = done


def _process(plan: _Plan, chains: list[_Chain]) -> int:
    def add(events: int) -> None:
        with _done.get_lock():
            _done.value += events

    return asyncio.run(_write(plan, chains, add))


async def _write(plan: _Plan, chains: list[_Chain], add: Callable[[int], None]) -> int:
    """Write `chains` (this process's) side by side in time, as processes running at once
    write theirs: each COPY holds the next `plan.chunk` events of all of them in time order
    (so pages and partitions fill as a fleet's would), with their heads; then the
    checkpoints the chunk reached are signed. Returns how many were."""
    suite = get_suite(plan.suite)
    city = population(plan.seed, plan.subjects)
    # Millions of short-lived rows and few cycles: the collector's passes over the city and
    # the chunk in hand would cost more than the hashing. Collected once per chunk instead.
    gc.freeze()
    gc.disable()
    keys: dict[str, str] = {}

    def key(identifier: str) -> str:
        found = keys.get(identifier)
        if found is None:
            found = keys[identifier] = subject_key(plan.secret, identifier, suite)
        return found

    signer = suite.signer(plan.signing_key) if plan.signing_key else None
    sink = open_sink(plan.checkpoints, plan.store) if plan.checkpoints and signer else None
    streams = [_Stream(plan, chain, position, city, suite) for position, chain in enumerate(chains)]
    moments = heapq.merge(*(s.moments() for s in streams))
    store = AuditStore(plan.dsn, pool_size=1, timeout=60.0)
    signed = 0
    try:
        for batch in _batched(moments, plan.chunk):
            drafts: dict[int, list[dict[str, Any]]] = {}
            for moment, i in batch:
                access = streams[i].traffic.access(moment)
                drafts.setdefault(i, []).append(access.fields(plan.secret, suite, key))
            linked = {i: iter(streams[i].link(d)) for i, d in drafts.items()}
            del drafts
            rows = [next(linked[i]) for _, i in batch]  # back in time order
            await store.copy(rows, [streams[i].head for i in linked])
            if sink is not None and signer is not None:
                for (_, i), row in zip(batch, rows, strict=True):
                    if row.seq % plan.checkpoint_every == 0 or row.seq == streams[i].chain.events:
                        # Signed a moment after the event, as a writer's follow its commits.
                        at = min(row.time + dt.timedelta(seconds=5), plan.until)
                        anchored = ChainHead(row.writer_id, row.seq, row.hash, suite.name)
                        await sink.append(sign_checkpoint(signer, suite.name, anchored, at, store=plan.store))
                        signed += 1
            add(len(rows))
            del rows, linked
            gc.collect()
    finally:
        await store.aclose()
        gc.enable()
        gc.unfreeze()  # in-process (jobs=1), the caller's objects are collectable again
    return signed


class _Stream:
    """One chain as it is written: its times, its traffic, its head."""

    def __init__(self, plan: _Plan, chain: _Chain, position: int, city: Population, suite: Suite) -> None:
        self.chain = chain
        self.position = position  # in this process's list of chains
        self.suite = suite
        self._times = timeline(
            Random(f"{plan.seed}:times:{chain.index}"), chain.events, plan.start, plan.until
        )
        self.traffic = Traffic(city, Random(f"{plan.seed}:chain:{chain.index}"), plan.seed)
        self.head = ChainHead(chain.writer_id, 0, GENESIS, suite.name)

    def moments(self) -> Iterator[tuple[dt.datetime, int]]:
        return ((moment, self.position) for moment in self._times)

    def link(self, drafts: list[dict[str, Any]]) -> list[EventRow]:
        rows = link(self.chain.writer_id, (self.head.last_seq, self.head.last_hash), drafts, self.suite)
        self.head = ChainHead(self.chain.writer_id, rows[-1].seq, rows[-1].hash, self.suite.name)
        return rows


def _batched(items: Iterator[tuple[dt.datetime, int]], size: int) -> Iterator[list[tuple[dt.datetime, int]]]:
    while batch := list(itertools.islice(items, size)):
        yield batch
