"""`govgraph audit verify` of a 1,000,000-event store (`audit synth`'s COPY path) stays under a
memory bound: it streams each chain, whatever its length."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import psutil

from gateway.audit.keys import write_key_pair
from gateway.audit.store import AuditStore
from gateway.audit.synth import synthesize
from tests.commands import ROOT

SUBJECT_KEY = "test-audit-subject-key-0123456789"
EVENTS = 1_000_000
WRITERS = 8  # 125,000 events a chain
# Measured on 2 cores (`--jobs 2`): the command's own process peaked at 100 MB (its imports),
# each verifying process at 66 MB, the tree at 245 MB, as they do for a store of any size;
# verify loading a whole chain took about 1 GB for 1M events. The bounds leave room for
# allocator slack and other Python builds, and still fail if a verifying process holds a
# chain (or a month of one): 125,000 events of a chain are hundreds of MB as rows.
PROCESS_BOUND_MB = 150
TREE_BOUND_MB = 400
SAMPLE_EVERY = 0.05


def test_verify_of_a_million_events_stays_under_a_memory_bound(tmp_path: Path, scratch_db: str) -> None:
    key = tmp_path / "key.pem"
    public = write_key_pair("sha256-ed25519", key)
    checkpoints = tmp_path / "checkpoints"
    checkpoints.mkdir()

    async def fill() -> None:
        store = AuditStore(scratch_db, timeout=60.0)
        try:
            await synthesize(
                store, SUBJECT_KEY.encode(), EVENTS, writers=WRITERS, subjects=20_000, seed=3,
                checkpoints=str(checkpoints), signing_key=key.read_bytes(),
            )  # fmt: skip
        finally:
            await store.aclose()

    asyncio.run(fill())
    config = tmp_path / "govgraph.toml"
    config.write_text(
        f'[audit]\ndsn = "{scratch_db}"\nsubject_key = "{SUBJECT_KEY}"\n'
        f'checkpoints = "{checkpoints}"\ncheckpoint_key = "{key}"\nverify_keys = ["{public}"]\n'
    )
    environ = {k: v for k, v in os.environ.items() if not k.startswith("GOVGRAPH_")}
    command = [sys.executable, "-m", "gateway", "audit", "verify", "--jobs", "2", "--config", str(config)]
    process = subprocess.Popen(
        command, cwd=ROOT, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    tree = psutil.Process(process.pid)
    peaks: dict[int, int] = {}  # pid -> its largest RSS seen
    largest_tree = 0
    deadline = time.monotonic() + 300
    while process.poll() is None:
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"audit verify still running after 300 s: {process.communicate()}")
        total = 0
        for member in [tree, *_children(tree)]:
            try:
                rss = member.memory_info().rss
            except psutil.Error:  # ended between the listing and the reading
                continue
            peaks[member.pid] = max(peaks.get(member.pid, 0), rss)
            total += rss
        largest_tree = max(largest_tree, total)
        time.sleep(SAMPLE_EVERY)
    out, err = process.communicate()
    assert process.returncode == 0, out + err
    assert f"{WRITERS} chains, {EVENTS} events: intact" in out
    assert re.search(r"\(([\d,]+) events/s\)", out)
    signed = sum(len(f.read_bytes().splitlines()) for f in checkpoints.glob("*/*.jsonl"))  # per store
    assert signed > EVENTS // 10_000  # every 10,000 events of a chain, and its end
    assert f"{signed} signed checkpoints matched; 0 events after the last checkpoint" in out
    mb = {pid: rss / 2**20 for pid, rss in peaks.items()}
    assert len(mb) >= 3, mb  # the command and its verifying processes were all sampled
    assert max(mb.values()) < PROCESS_BOUND_MB, mb
    assert largest_tree / 2**20 < TREE_BOUND_MB, (largest_tree / 2**20, mb)


def _children(process: psutil.Process) -> list[psutil.Process]:
    try:
        return process.children(recursive=True)
    except psutil.Error:
        return []
