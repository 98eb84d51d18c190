"""Signed checkpoints against a real PostgreSQL: what the chain alone cannot show (a chain
rewritten or cut short with its head) is found; a failing checkpoint sink closes the gateway
to personal data, and its recovery opens it again."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import orjson
import pytest
import pytest_asyncio

from gateway.audit.checkpoint import Checkpointer, open_sink, sign_checkpoint
from gateway.audit.record import AuditUnavailable, _hashed_fields, canonical_hash, event_hash
from gateway.audit.store import AuditStore, ChainHead
from gateway.audit.suite import DEFAULT_SUITE, SM_SUITE, get_suite
from gateway.audit.sweep import verify
from gateway.audit.writer import AuditWriter
from tests.resolvers.city import CHILD
from tests.waiting import until

from .support import audited, chains, gateway, headers
from .test_audit import SECRET, access, tamper

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def store(scratch_db: str) -> AsyncIterator[AuditStore]:
    store = AuditStore(scratch_db, timeout=2.0)
    await store.install()
    yield store
    await store.aclose()


class Anchored:
    """A writer with a checkpointer into a directory, and what verify needs to check it."""

    def __init__(self, store: AuditStore, directory: Path, suite: str = DEFAULT_SUITE) -> None:
        self.suite = get_suite(suite)
        self.signer = self.suite.signer(self.suite.generate_key())
        self.directory = directory
        self.store = store
        self.suite_name = suite

    async def start(self) -> None:
        identity = await self.store.identity()
        self.files = self.directory / identity  # the store's folder in the sink
        sink = open_sink(str(self.directory), identity)
        self.checkpointer = Checkpointer(sink, self.signer, self.suite_name, grace=0.5, store=identity)
        self.writer = AuditWriter(
            self.store, SECRET, suite=self.suite, checkpointer=self.checkpointer, tend_interval=0.1
        )
        await self.writer.start()

    async def write(self, n: int) -> None:
        """n events, one commit each, the head checkpointed after each."""
        for i in range(n):
            await self.writer.record(access(i), "ok", canonical_hash(i))
            assert await self.writer.anchor()


async def run(anchored: Anchored, n: int) -> str:
    await anchored.start()
    await anchored.write(n)
    await anchored.writer.aclose()
    return anchored.writer.writer_id


async def rehash_from(dsn: str, store: AuditStore, seq: int, change: str) -> None:
    """Alter the event at `seq` and recompute every later hash and the head: the chain alone
    then verifies, as a privileged operator could arrange."""
    await tamper(dsn, f"UPDATE audit_event SET {change} WHERE seq = {seq}")
    ((writer_id, rows, _),) = await chains(store)
    suite = get_suite((await store.head(writer_id) or ChainHead(writer_id, 0, "")).suite)
    prev = rows[seq - 2].hash if seq > 1 else "0" * 64
    for row in rows[seq - 1 :]:
        digest = event_hash(prev, _hashed_fields(vars(replace(row, prev_hash=prev))), suite)
        await tamper(
            dsn, f"UPDATE audit_event SET prev_hash = '{prev}', hash = '{digest}' WHERE seq = {row.seq}"
        )
        prev = digest
    await tamper(dsn, f"UPDATE audit_writer SET last_hash = '{prev}'")


async def test_a_chain_rewritten_from_an_event_on_verifies_alone_but_not_against_its_checkpoints(
    store: AuditStore, scratch_db: str, tmp_path: Path
) -> None:
    anchored = Anchored(store, tmp_path)
    writer_id = await run(anchored, 6)
    keys = (anchored.signer.public_pem,)
    assert (await verify(store, checkpoints=str(tmp_path), keys=keys)).problems == []

    await rehash_from(scratch_db, store, 3, "purpose = 'curiosity'")
    alone = await verify(store)
    assert alone.problems == []  # every link hashes: the chain alone cannot tell
    (problem,) = (await verify(store, checkpoints=str(tmp_path), keys=keys)).problems
    assert problem.startswith(f"writer {writer_id} seq 3: not the event signed in the checkpoint")
    assert "rewritten" in problem


async def test_a_truncated_chain_is_found_by_the_checkpoint_beyond_its_end(
    store: AuditStore, scratch_db: str, tmp_path: Path
) -> None:
    anchored = Anchored(store, tmp_path)
    writer_id = await run(anchored, 5)
    ((_, rows, _),) = await chains(store)
    await tamper(scratch_db, "DELETE FROM audit_event WHERE seq > 3; DELETE FROM audit_subject WHERE seq > 3")
    await tamper(scratch_db, f"UPDATE audit_writer SET last_seq = 3, last_hash = '{rows[2].hash}'")
    assert (await verify(store)).problems == []  # head and chain agree
    (problem,) = (await verify(store, checkpoints=str(tmp_path), keys=(anchored.signer.public_pem,))).problems
    assert problem.startswith(f"writer {writer_id} seq 3: the chain ends here, but the checkpoint of ")
    assert "signed seq 4" in problem  # the first checkpoint beyond the end
    assert "truncated" in problem


async def test_a_deleted_chain_leaves_its_checkpoints_behind(
    store: AuditStore, scratch_db: str, tmp_path: Path
) -> None:
    anchored = Anchored(store, tmp_path)
    writer_id = await run(anchored, 2)
    await tamper(scratch_db, "DELETE FROM audit_event; DELETE FROM audit_subject; DELETE FROM audit_writer")
    (problem,) = (await verify(store, checkpoints=str(tmp_path), keys=(anchored.signer.public_pem,))).problems
    assert (
        problem
        == f"writer {writer_id}: signed checkpoints, but the database has no such chain; it was deleted"
    )


async def test_forged_altered_or_untrusted_checkpoints_are_refused(store: AuditStore, tmp_path: Path) -> None:
    anchored = Anchored(store, tmp_path)
    writer_id = await run(anchored, 3)
    path = anchored.files / f"{writer_id}.jsonl"
    good = path.read_bytes()
    keys = (anchored.signer.public_pem,)

    lines = good.splitlines(keepends=True)
    altered = orjson.loads(lines[0])
    altered["seq"] += 1  # claims more than was signed
    path.write_bytes(orjson.dumps(altered) + b"\n" + b"".join(lines[1:]))
    (problem,) = (await verify(store, checkpoints=str(tmp_path), keys=keys)).problems
    assert "checkpoint 1: the signature does not match" in problem

    stranger = get_suite(DEFAULT_SUITE).signer(get_suite(DEFAULT_SUITE).generate_key())
    forged = sign_checkpoint(
        stranger, DEFAULT_SUITE, ChainHead(writer_id, 3, "f" * 64), store=path.parent.name
    )
    path.write_bytes(good + forged.line())
    (problem,) = (await verify(store, checkpoints=str(tmp_path), keys=keys)).problems
    assert f"signed with key {stranger.key_id}, which is not trusted" in problem

    elsewhere = sign_checkpoint(
        anchored.signer, DEFAULT_SUITE, ChainHead(writer_id, 3, "f" * 64), store="other"
    )
    path.write_bytes(good + elsewhere.line())  # the right key, another store's chain of that name
    (problem,) = (await verify(store, checkpoints=str(tmp_path), keys=keys)).problems
    assert "checkpoint 4: signed for audit store 'other', not this one" in problem

    path.write_bytes(good + b"not json\n")
    (problem,) = (await verify(store, checkpoints=str(tmp_path), keys=keys)).problems
    assert "not a checkpoint" in problem

    path.write_bytes(good)
    other_key = (stranger.public_pem,)  # the right checkpoints, checked with the wrong key
    (problem,) = (await verify(store, checkpoints=str(tmp_path), keys=other_key)).problems
    assert "which is not trusted" in problem
    assert (await verify(store, checkpoints=str(tmp_path), keys=keys)).problems == []


async def test_chains_of_both_suites_verify_and_an_altered_recorded_suite_does_not(
    store: AuditStore, scratch_db: str, tmp_path: Path
) -> None:
    old = Anchored(store, tmp_path, DEFAULT_SUITE)
    new = Anchored(store, tmp_path, SM_SUITE)
    await run(old, 3)
    sm_writer = await run(new, 3)
    keys = (old.signer.public_pem, new.signer.public_pem)
    report = await verify(store, checkpoints=str(tmp_path), keys=keys)
    assert report.problems == []
    assert sorted(r.suite for r in report.results) == [DEFAULT_SUITE, SM_SUITE]
    assert report.checkpoints == 6
    ((_, rows, _),) = [c for c in await chains(store) if c[0] == sm_writer]
    assert rows[0].hash == event_hash("0" * 64, _hashed_fields(vars(rows[0])), get_suite(SM_SUITE))
    assert rows[0].hash != event_hash("0" * 64, _hashed_fields(vars(rows[0])), get_suite(DEFAULT_SUITE))

    await tamper(
        scratch_db, f"UPDATE audit_writer SET suite = '{DEFAULT_SUITE}' WHERE writer_id = '{sm_writer}'"
    )
    (problem,) = (await verify(store)).problems
    assert problem.startswith(f"writer {sm_writer} seq 1: hash does not match")
    (problem,) = (await verify(store, checkpoints=str(tmp_path), keys=keys)).problems
    assert f"writer {sm_writer} checkpoint 1: signed for suite {SM_SUITE}" in problem
    assert "the chain's suite was altered" in problem


async def test_a_writer_refuses_to_continue_a_chain_of_another_suite(
    store: AuditStore, caplog: pytest.LogCaptureFixture
) -> None:
    first = AuditWriter(store, SECRET, writer_id="reused", suite=get_suite(DEFAULT_SUITE))
    await first.start()
    await first.record(access(), "ok", "r" * 64)
    await first.aclose()
    second = AuditWriter(store, SECRET, writer_id="reused", suite=get_suite(SM_SUITE))
    await second.start()
    with pytest.raises(AuditUnavailable):
        await second.record(access(), "ok", "r" * 64)
    await second.aclose()
    assert "chain reused was begun with suite sha256-ed25519, not this writer's sm3-sm2" in caplog.text
    assert [len(rows) for _, rows, _ in await chains(store)] == [1]


async def test_verify_resumes_from_the_checkpoints_an_earlier_run_verified(
    store: AuditStore, scratch_db: str, tmp_path: Path
) -> None:
    (tmp_path / "checkpoints").mkdir()
    anchored = Anchored(store, tmp_path / "checkpoints")
    await anchored.start()
    await anchored.write(4)
    state = str(tmp_path / "verified.json")
    options = {
        "checkpoints": str(tmp_path / "checkpoints"),
        "keys": (anchored.signer.public_pem,),
        "state": state,
    }
    full = await verify(store, **options)
    assert (full.problems, full.events) == ([], 4)
    await anchored.write(3)
    resumed = await verify(store, since_checkpoint=True, **options)
    assert (resumed.problems, resumed.events) == ([], 3)  # only what came after the verified checkpoint (4)

    await anchored.write(3)  # seq 8 to 10, after the checkpoint verified last (7)
    await anchored.writer.aclose()
    await tamper(scratch_db, "UPDATE audit_event SET client = 'x' WHERE seq IN (2, 9)")
    (problem,) = (await verify(store, since_checkpoint=True, **options)).problems
    assert "seq 9: hash does not match" in problem  # seq 2 lies before where it resumed
    (problem,) = (await verify(store, **options)).problems
    assert "seq 2: hash does not match" in problem  # a full run reads from the start


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_failing_sink_closes_personal_data_past_the_grace_and_its_recovery_reopens_it(
    scratch_db: str, tmp_path: Path, mode: str
) -> None:
    key = tmp_path / "checkpoint.pem"
    key.write_bytes(get_suite(DEFAULT_SUITE).generate_key())
    sink = tmp_path / "checkpoints"
    sink.mkdir()
    changes = audited(scratch_db)
    changes["audit"] = replace(
        changes["audit"],
        mode=mode,
        checkpoints=str(sink),
        checkpoint_key=str(key),
        checkpoint_interval=0.1,
        checkpoint_grace=0.5,
    )
    query = {"query": "query($id: ResidentId!) { person(id: $id) { name } }", "variables": {"id": CHILD}}
    who = headers("developer", "development")
    async with gateway(**changes) as http:
        assert (await http.post("/graphql", json=query, headers=who)).status_code == 200
        await until(lambda: any(sink.iterdir()), "the first checkpoint")

        shutil.rmtree(sink)
        sink.write_text("not a directory")  # appends now fail, even for root
        answer = (
            await http.post("/graphql", json=query, headers=who)
        ).json()  # commits; its checkpoint fails
        assert answer["data"]["person"]["name"]
        failed_at = time.monotonic()

        async def refused() -> bool:
            response = await http.post("/graphql", json=query, headers=who)
            return response.status_code == 503

        await until(refused, "personal data to be refused once checkpoints have failed past the grace")
        assert time.monotonic() - failed_at >= 0.5
        response = await http.post("/graphql", json=query, headers=who)
        assert response.json()["errors"][0]["extensions"]["code"] == "AUDIT_UNAVAILABLE"
        assert "data" not in response.json() or response.json()["data"] is None

        sink.unlink()
        sink.mkdir()

        async def reopened() -> bool:
            return (await http.post("/graphql", json=query, headers=who)).status_code == 200

        await until(reopened, "personal data once checkpoints work again")

    public = get_suite(DEFAULT_SUITE).signer(key.read_bytes()).public_pem
    store = AuditStore(scratch_db)
    report = await verify(store, checkpoints=str(sink), keys=(public,))
    await store.aclose()
    assert report.problems == []
    assert report.checkpoints >= 1


class Hanging:
    """A sink that never answers, as a stale network mount does."""

    description = "a mount that hangs"

    async def append(self, checkpoint: object) -> None:
        await asyncio.Event().wait()

    def writers(self) -> list[str]:
        return []

    def read(self, writer_id: str) -> Iterator[bytes]:
        return iter(())


async def test_a_hanging_sink_fails_closed_like_a_failing_one(store: AuditStore) -> None:
    signer = get_suite(DEFAULT_SUITE).signer(get_suite(DEFAULT_SUITE).generate_key())
    checkpointer = Checkpointer(Hanging(), signer, DEFAULT_SUITE, grace=0.3, timeout=0.1)
    writer = AuditWriter(store, SECRET, checkpointer=checkpointer, tend_interval=0.05)
    await writer.start()
    try:
        await writer.record(access(), "ok", "r" * 64)  # committed; its checkpoint hangs, then times out

        async def refused() -> bool:
            return writer.refusing() is not None

        await until(refused, "the writer to refuse events")
        assert "no answer within 0.1s" in str(writer.refusing())
        with pytest.raises(AuditUnavailable, match="checkpoints have failed"):
            await writer.record(access(), "ok", "r" * 64)
        assert "checkpoints have failed" in str(await writer.check())
    finally:
        await writer.aclose()


async def test_malformed_and_repeated_checkpoints(store: AuditStore, tmp_path: Path) -> None:
    anchored = Anchored(store, tmp_path)
    writer_id = await run(anchored, 3)
    path = anchored.files / f"{writer_id}.jsonl"
    good = path.read_bytes()
    keys = (anchored.signer.public_pem,)
    last = good.splitlines(keepends=True)[-1]
    path.write_bytes(good + last)  # the same head signed twice (a retried append that landed)
    assert (await verify(store, checkpoints=str(tmp_path), keys=keys)).problems == []

    odd = orjson.loads(last)
    odd["key_id"] = ["not", "text"]
    path.write_bytes(good + orjson.dumps(odd) + b"\n")
    (problem,) = (await verify(store, checkpoints=str(tmp_path), keys=keys)).problems
    assert "checkpoint 4: not a checkpoint: a field has the wrong type" in problem


async def test_an_unwritable_state_file_leaves_the_report(store: AuditStore, tmp_path: Path) -> None:
    anchored = Anchored(store, tmp_path / "checkpoints")
    (tmp_path / "checkpoints").mkdir()
    await run(anchored, 2)
    (tmp_path / "file").write_text("")
    report = await verify(
        store,
        checkpoints=str(tmp_path / "checkpoints"),
        keys=(anchored.signer.public_pem,),
        state=str(tmp_path / "file" / "state.json"),  # under a file: cannot be written
    )
    assert (report.problems, report.events) == ([], 2)
    assert any(
        n.startswith(f"the verify state was not saved to {tmp_path / 'file' / 'state.json'}")
        for n in report.notes
    )
