"""`govgraph audit` as an operator runs it: keygen, verify with checkpoints (in parallel
processes), archive, and subject look-ups reaching into archived months."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import pty
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.audit.checkpoint import open_sink, sign_checkpoint
from gateway.audit.record import GENESIS, link
from gateway.audit.store import AuditStore, ChainHead
from gateway.audit.suite import DEFAULT_SUITE, get_suite
from gateway.audit.writer import AuditWriter
from tests.commands import ROOT, STATE, govgraph
from tests.gateway.test_audit import SECRET, access, tamper
from tests.resolvers.city import CHILD as RESIDENT

pytestmark = pytest.mark.asyncio


def config(tmp_path: Path, dsn: str, key: Path) -> Path:
    path = tmp_path / "audit.toml"
    path.write_text(
        "[audit]\n"
        f'dsn = "{dsn}"\n'
        f'subject_key = "{SECRET.decode()}"\n'
        'checkpoints = "checkpoints"\n'  # relative to the file
        f'checkpoint_key = "{key.name}"\n',
        encoding="utf-8",
    )
    return path


def on_a_terminal(*args: str) -> str:
    """What `govgraph ARGS` writes to stderr when stderr is a terminal (a pseudo-terminal)."""
    controller, terminal = pty.openpty()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("GOVGRAPH_")}
    environ["XDG_STATE_HOME"] = str(STATE)
    try:
        subprocess.run(
            [sys.executable, "-m", "gateway", *args], stderr=terminal, stdout=subprocess.DEVNULL,
            env=environ, cwd=ROOT, timeout=120, check=True,
        )  # fmt: skip
    finally:
        os.close(terminal)
    output = b""
    with contextlib.suppress(OSError):  # EIO once everything written is read
        while chunk := os.read(controller, 65536):
            output += chunk
    os.close(controller)
    return output.decode()


async def fill(dsn: str, sink: Path, key: Path) -> None:
    """Two chains from last year's January and February into now, signed as they went."""
    store = AuditStore(dsn, timeout=5.0)
    await store.install(now=dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
    await store.install()
    signer = get_suite(DEFAULT_SUITE).signer(key.read_bytes())  # noqa: ASYNC240 - a test's small file
    drafter = AuditWriter(store, SECRET)
    identity = await store.identity()
    for writer_id, months in (("gw-a", (1, 2)), ("gw-b", (2,))):
        drafts = []
        for month in months:
            for day in range(1, 4):
                record = access(day)
                record.read(RESIDENT, "person.identity")
                draft = drafter._draft(record, "ok", "r" * 64)
                draft["time"] = dt.datetime(2025, month, day, tzinfo=dt.UTC)
                drafts.append(draft)
        for row in link(writer_id, (0, GENESIS), drafts):
            head = ChainHead(writer_id, row.seq, row.hash)
            await store.append([row], head)
            signed = sign_checkpoint(signer, DEFAULT_SUITE, head, row.time, store=identity)
            await open_sink(str(sink), identity).append(signed)
    await store.aclose()


async def test_keygen_verify_archive_and_subject(scratch_db: str, tmp_path: Path) -> None:
    key = tmp_path / "audit-1.pem"
    made = govgraph("audit", "keygen", str(key))
    assert made.returncode == 0, made.stderr
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert (tmp_path / "audit-1.pub.pem").read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")
    again = govgraph("audit", "keygen", str(key))
    assert (again.returncode, "never overwritten" in again.stderr) == (1, True)
    (tmp_path / "checkpoints").mkdir()
    await fill(scratch_db, tmp_path / "checkpoints", key)
    conf = str(config(tmp_path, scratch_db, key))

    verified = govgraph("audit", "verify", "--config", conf, "--jobs", "2")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    lines = verified.stdout.splitlines()
    assert lines[-1] == "2 chains, 9 events: intact"
    assert lines[-2].startswith(
        "9 signed checkpoints matched; 0 events after the last checkpoint of their chain"
    )
    assert "events/s" in lines[-2]

    shown = on_a_terminal("audit", "verify", "--config", conf)
    assert "\rverified 9 of 9 events (100%)" in shown  # progress, rewritten in place on stderr

    bad_month = govgraph(
        "audit", "archive", "--config", conf, "--to", str(tmp_path / "a"), "--before", "2025-13"
    )
    assert bad_month.returncode == 2
    assert "'2025-13' is not a month written YYYY-MM" in bad_month.stderr
    archived = govgraph(
        "audit", "archive", "--config", conf, "--to", str(tmp_path / "archive"), "--before", "2025-03"
    )
    assert archived.returncode == 0, archived.stderr
    gone = "and dropped from the database"
    assert archived.stdout.splitlines() == [
        f"2025-01: 3 events of 1 chains archived to {tmp_path / 'archive' / '2025-01'} {gone}",
        f"2025-02: 6 events of 2 chains archived to {tmp_path / 'archive' / '2025-02'} {gone}",
    ]
    alone = govgraph("audit", "verify", "--config", conf)
    assert alone.stdout.splitlines()[-1] == "2 chains, 0 events: intact"
    assert (
        "note: 2 archived months (9 events) taken on the database's record; --archive DIR reads them"
        in alone.stdout
    )
    whole = govgraph("audit", "verify", "--config", conf, "--archive", str(tmp_path / "archive"))
    assert whole.stdout.splitlines()[-1] == "2 chains, 9 events: intact"

    found = govgraph("audit", "subject", RESIDENT, "--config", conf, "--archive", str(tmp_path / "archive"))
    assert found.returncode == 0, found.stderr
    accesses = json.loads(found.stdout)
    assert len(accesses) == 9
    assert accesses[0]["time"] > accesses[-1]["time"]  # newest first
    assert {a["writerId"] for a in accesses} == {"gw-a", "gw-b"}
    february = govgraph(
        "audit",
        "subject",
        RESIDENT,
        "--config",
        conf,
        "--archive",
        str(tmp_path / "archive"),
        "--since",
        "2025-02",
    )
    assert len(json.loads(february.stdout)) == 6
    without = govgraph("audit", "subject", RESIDENT, "--config", conf)
    assert json.loads(without.stdout) == []  # every access lies in an archived month

    await tamper(scratch_db, "UPDATE audit_writer SET last_seq = 2 WHERE writer_id = 'gw-b'")
    broken = govgraph("audit", "verify", "--config", conf)
    assert broken.returncode == 1
    assert broken.stdout.splitlines()[-1] == "2 chains, 0 events: BROKEN"


async def test_verify_without_a_trusted_key_is_refused(scratch_db: str, tmp_path: Path) -> None:
    key = tmp_path / "k.pem"
    conf = config(tmp_path, scratch_db, key)  # the key file does not exist
    missing = govgraph("audit", "verify", "--config", str(conf))
    assert missing.returncode == 2
    assert f"audit: checkpoint_key {key}: No such file or directory" in missing.stderr
    key.write_bytes(get_suite(DEFAULT_SUITE).generate_key())
    wrong = govgraph("audit", "verify", "--config", str(conf), "--keys", str(key))  # a private key
    assert wrong.returncode == 2
    assert "public key" in wrong.stderr
