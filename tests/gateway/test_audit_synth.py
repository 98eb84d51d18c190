"""`govgraph audit synth` against a real PostgreSQL: the COPY path writes what the writer's path
writes, a synthesized store verifies (with its signed checkpoints) until it is tampered with,
its traffic is skewed and deterministic, and it is what the gateway records."""

from __future__ import annotations

import datetime as dt
import json
import statistics
import tomllib
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from random import Random
from typing import Any

import asyncpg
import orjson
import pytest
import pytest_asyncio

from gateway.audit.keys import write_key_pair
from gateway.audit.record import GENESIS, PolicyChange, change_fields, link, subject_key
from gateway.audit.store import AuditStore, ChainHead
from gateway.audit.sweep import verify
from gateway.audit.synth import synthesize
from gateway.audit.synth_city import BASES, DOCUMENTS, OPERATIONS, Traffic, population, timeline
from tests.commands import govgraph
from tests.databases import fresh_database
from tests.resolvers.city import BOSS, CHILD, EMPLOYER, FATHER, HOUSEHOLD

from .support import AUDIT_KEY, ROOT, audit_events, audited, gateway, headers

SECRET = b"test-audit-secret-0123456789abcdef"
UNKNOWN = "350211201903100012"  # a valid resident id no department knows
UNTIL = dt.datetime(2026, 11, 20, 15, 30, 12, 345678, tzinfo=dt.UTC)


def seeded(seed: object) -> Random:
    return Random(str(seed))  # noqa: S311 - reproducible draws, not secrets


@pytest_asyncio.fixture
async def other_db(pg_admin_dsn: str) -> AsyncIterator[str]:
    async with fresh_database(pg_admin_dsn) as dsn:
        yield dsn


@pytest_asyncio.fixture
async def store(scratch_db: str) -> AsyncIterator[AuditStore]:
    store = AuditStore(scratch_db, timeout=30.0)
    yield store
    await store.aclose()


async def fetch(dsn: str, query: str, *args: Any) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(dsn)
    try:
        return [dict(r) for r in await conn.fetch(query, *args)]
    finally:
        await conn.close()


# Every column of the three tables, and the partition each row went to; jsonb as the server
# prints it, times to the microsecond.
EVENTS = "SELECT tableoid::regclass::text AS partition, * FROM audit_event ORDER BY writer_id, seq"
INDEX = "SELECT tableoid::regclass::text AS partition, * FROM audit_subject ORDER BY writer_id, seq, subject"
HEADS = "SELECT * FROM audit_writer ORDER BY writer_id"


async def contents(dsn: str) -> tuple[list[dict[str, Any]], ...]:
    return await fetch(dsn, EVENTS), await fetch(dsn, INDEX), await fetch(dsn, HEADS)


def drafts(chain: int, count: int) -> list[dict[str, Any]]:
    """A chain's synthetic events but their place in it, with a policy change among them."""
    city = population(7, 400)
    traffic = Traffic(city, seeded(f"chain {chain}"), 7)
    start = UNTIL - dt.timedelta(days=70)  # three months' partitions
    events = [
        traffic.access(t).fields(SECRET) for t in timeline(seeded(f"times {chain}"), count, start, UNTIL)
    ]
    basis = BASES[("enrollment", "enrollment_review")]
    detail = {"expires": "2027-12-31", "n": 1.5}
    change = PolicyChange(
        "renew", "officer.01", "enrollment", "enrollment_review", "XM-GX-2026-0012", basis, detail
    )
    events.insert(count // 2, {**change_fields(change, events[count // 2]["time"]), "request_id": "r" * 32})
    return events


async def test_copy_writes_the_rows_the_writers_append_writes(scratch_db: str, other_db: str) -> None:
    chains = {f"gateway-1-100-{i:08x}": drafts(i, 700) for i in range(2)}
    started = dt.datetime.now(dt.UTC)
    appended, copied = AuditStore(scratch_db, timeout=30.0), AuditStore(other_db, timeout=30.0)
    try:
        for store in (appended, copied):
            await store.install(now=UNTIL)
            await store.ensure_partitions(dt.date(2026, 9, 1), dt.date(2026, 11, 1))
        # The writer's path: group commits of 1 to 200 events, each with its chain's new head.
        rng = seeded(3)
        for writer_id, events in chains.items():
            head, at = (0, GENESIS), 0
            while at < len(events):
                size = rng.randint(1, 200)
                rows = link(writer_id, head, events[at : at + size])
                await appended.append(rows, ChainHead(writer_id, rows[-1].seq, rows[-1].hash))
                head, at = (rows[-1].seq, rows[-1].hash), at + size
        # audit synth's: COPYs of both chains' rows interleaved, with both heads, as it writes them.
        linked = {w: link(w, (0, GENESIS), events) for w, events in chains.items()}
        for low in (0, 300):
            high = 701 if low else 300
            rows = [row for w in linked for row in linked[w][low:high]]
            rows.sort(key=lambda r: r.time)
            heads = [ChainHead(w, r[high - 1].seq, r[high - 1].hash) for w, r in linked.items()]
            assert await copied.copy(rows, heads) == len(rows)
    finally:
        await appended.aclose()
        await copied.aclose()

    events, index, writers = await contents(scratch_db)
    assert (len(events), len(writers)) == (1402, 2)
    assert len(index) == sum(len(orjson.loads(e["subjects"])) for e in events) > 2000
    assert {e["partition"] for e in events} == {f"audit_event_p2026_{m}" for m in ("09", "10", "11")}
    assert any(e["detail"] for e in events)
    assert any(e["basis"] for e in events)
    assert (events, index) == (await fetch(other_db, EVENTS), await fetch(other_db, INDEX))
    # The heads alike but for when each chain was started here, which is when it was written.
    other = await fetch(other_db, HEADS)
    for heads in (writers, other):
        assert all(started <= h.pop("started_at") <= dt.datetime.now(dt.UTC) for h in heads)
    assert writers == other
    assert [(h["last_seq"], h["suite"]) for h in writers] == [(701, "sha256-ed25519")] * 2


async def test_a_synthesized_store_verifies_against_its_checkpoints_until_tampered_with(
    store: AuditStore, scratch_db: str, tmp_path: Path
) -> None:
    public = write_key_pair("sha256-ed25519", tmp_path / "key.pem")
    sink = tmp_path / "checkpoints"
    sink.mkdir()
    report = await synthesize(
        store, SECRET, 12_000, writers=3, subjects=2_000, seed=5, checkpoints=str(sink),
        signing_key=(tmp_path / "key.pem").read_bytes(), checkpoint_every=1_000, jobs=2, until=UNTIL,
    )  # fmt: skip
    sizes = {r["writer_id"]: r["last_seq"] for r in await fetch(scratch_db, HEADS)}
    assert sorted(sizes) == sorted(report.chains)
    assert sum(sizes.values()) == 12_000
    signed = {w: n // 1000 + (n % 1000 > 0) for w, n in sizes.items()}  # every 1,000 and the end
    assert report.checkpoints == sum(signed.values())
    folder = sink / await store.identity()  # the store's folder in the checkpoint directory
    assert {w: len((folder / f"{w}.jsonl").read_bytes().splitlines()) for w in sizes} == signed
    options = {"checkpoints": str(sink), "keys": (public.read_bytes(),)}

    intact = await verify(store, **options)
    assert (intact.problems, intact.chains, intact.events) == ([], 3, 12_000)
    assert (intact.checkpoints, sum(r.unanchored for r in intact.results)) == (report.checkpoints, 0)

    # One event altered in place: its hash no longer matches.
    victim = report.chains[1]
    conn = await asyncpg.connect(scratch_db)
    try:
        await conn.execute("SET session_replication_role = replica")  # past the append-only triggers
        await conn.execute(
            "UPDATE audit_event SET purpose = 'talent_subsidy' WHERE writer_id = $1 AND seq = 2345", victim
        )
        altered = await verify(store, **options)
        assert altered.problems == [
            f"writer {victim} seq 2345: hash does not match the event's content; the event was altered"
        ]
        # The chain rewritten from there, every later link and the head rehashed: only the
        # checkpoints still tell.
        stored = await conn.fetch(
            "SELECT * FROM audit_event WHERE writer_id = $1 AND seq >= 2344 ORDER BY seq", victim
        )
        tail = [
            {k: v for k, v in r.items() if k not in ("writer_id", "seq", "prev_hash", "hash")}
            for r in stored[1:]
        ]
        for event in tail:
            for name in ("subjects", "denied", "detail"):
                event[name] = None if event[name] is None else orjson.loads(event[name])
        relinked = link(victim, (2344, stored[0]["hash"]), tail)
        await conn.executemany(
            "UPDATE audit_event SET prev_hash = $3, hash = $4 WHERE writer_id = $1 AND seq = $2",
            [(r.writer_id, r.seq, r.prev_hash, r.hash) for r in relinked],
        )
        await conn.execute(
            "UPDATE audit_writer SET last_hash = $2 WHERE writer_id = $1", victim, relinked[-1].hash
        )
    finally:
        await conn.close()
    assert (await verify(store)).problems == []  # without the checkpoints it would pass
    rewritten = await verify(store, **options)
    assert len(rewritten.problems) == 1
    assert rewritten.problems[0].startswith(
        f"writer {victim} seq 3000: not the event signed in the checkpoint"
    )


async def test_the_synthesized_traffic_is_skewed_varied_and_deterministic(
    store: AuditStore, scratch_db: str, other_db: str
) -> None:
    report = await synthesize(store, SECRET, 30_000, writers=6, subjects=5_000, seed=11, jobs=2, until=UNTIL)
    assert report.events == 30_000
    events = await fetch(scratch_db, EVENTS)
    assert len({e["writer_id"] for e in events}) == 6
    by_writer: dict[str, list[dt.datetime]] = {}
    for e in events:
        by_writer.setdefault(e["writer_id"], []).append(e["time"])
    assert all(times == sorted(times) for times in by_writer.values())  # ascending along each chain
    assert min(len(t) for t in by_writer.values()) > 3_000  # the load shared, unevenly
    times = [e["time"] for e in events]
    assert UNTIL - dt.timedelta(days=92) <= min(times) < UNTIL - dt.timedelta(days=85)
    assert UNTIL - dt.timedelta(days=2) < max(times) < UNTIL
    local = Counter((t + dt.timedelta(hours=8)).hour for t in times)
    assert local[10] > 20 * local[3]  # offices' hours, in Xiamen

    # Subjects: the city's own (or ids that were not found), a few asked much more than most.
    city = population(11, 5_000)
    known = {subject_key(SECRET, i) for i in city.identifiers()}
    index = await fetch(scratch_db, "SELECT subject, count(*) AS n FROM audit_subject GROUP BY subject")
    counts = sorted(r["n"] for r in index)
    assert len(counts) > 2_500
    assert counts[-1] > 15 * statistics.median(counts)  # about 20 here; uniform draws would give 3
    entries = [s for e in events for s in orjson.loads(e["subjects"])]
    strangers = {s["subject"] for s in entries if s["subject"] not in known}
    assert strangers
    assert all(s.get("lookup") == "not_found" for s in entries if s["subject"] in strangers)
    lookups = Counter(s.get("lookup") for s in entries)
    assert lookups["found"] > 20 * lookups["not_found"] > 0
    assert lookups["failed"] > 0
    assert lookups["out_of_jurisdiction"] > 0
    assert sum(1 for s in entries if s.get("verdicts")) > 5_000

    # The demo's clients and operations, in the shares the traffic gives them, with what they send.
    operations = Counter(e["operation"] for e in events)
    assert set(operations) >= set(OPERATIONS)
    assert operations["EnrolmentReview"] > operations["TalentCheck"] > operations["SubjectAccess"] > 100
    outcomes = Counter(e["outcome"] for e in events)
    assert outcomes["ok"] > 0.95 * len(events)
    assert min(outcomes.values()) > 10
    assert {json.dumps(d) for e in events for d in orjson.loads(e["denied"])} == {
        '{"path": "household", "scope": "jurisdiction"}',
        '{"path": "person.socialInsurance.eligible", "scope": "social_insurance.verdict"}',
    }
    for e in events:
        if e["operation"] == "EnrolmentReview":
            assert e["case_id"].startswith(f"ENR-{e['time'].year}-")
            assert e["operator"] is None
        elif e["operation"] == "HouseholdPrefill":
            assert e["operator"].startswith("JM-")
            assert e["case_id"] is None

    # The same seed and end of the timeline: the same store, however many processes wrote it.
    again = AuditStore(other_db, timeout=30.0)
    try:
        await synthesize(again, SECRET, 30_000, writers=6, subjects=5_000, seed=11, jobs=1, until=UNTIL)
    finally:
        await again.aclose()
    assert await fetch(other_db, EVENTS) == events
    assert await fetch(other_db, INDEX) == await fetch(scratch_db, INDEX)
    heads = "SELECT writer_id, last_seq, last_hash, suite FROM audit_writer ORDER BY 1"
    assert await fetch(other_db, heads) == await fetch(scratch_db, heads)
    other = AuditStore(other_db, timeout=30.0)  # another seed: other chains, other events
    try:
        await synthesize(other, SECRET, 600, writers=2, subjects=5_000, seed=12, jobs=1, until=UNTIL)
    finally:
        await other.aclose()
    assert len(await fetch(other_db, heads)) == 8


def test_the_traffic_uses_the_shipped_policy_and_documents() -> None:
    policy = tomllib.loads((ROOT / "policy.toml").read_text(encoding="utf-8"))
    manifest = json.loads((ROOT / "documents" / "manifest.json").read_text(encoding="utf-8"))
    assert {d["name"]: d["id"] for d in manifest["documents"]} == DOCUMENTS
    grants = {(g["client"], g["purpose"]): g for g in policy["grants"]}
    city = population(3, 1_000)
    traffic = Traffic(city, seeded(3), 3)
    read: dict[tuple[str, str], set[str]] = {}
    for t in timeline(seeded(4), 5_000, UNTIL - dt.timedelta(days=30), UNTIL):
        access = traffic.access(t).access
        if access is not None:
            scopes = read.setdefault((access.client, access.purpose), set())
            scopes.update(s for given in access.subjects.values() for s in given)
    for (client, purpose), scopes in read.items():
        assert purpose in policy["clients"][client]["purposes"]
        grant = grants[(client, purpose)]
        assert grant.get("basis") == BASES.get((client, purpose))
        granted = set(grant.get("full", [])) | set(grant.get("masked", []))
        assert {s for s in scopes if not s.endswith(".*")} <= granted, client
    assert set(read) == {(c, p) for c, p, _ in OPERATIONS.values()}


def shape(event: dict[str, Any]) -> tuple[Any, ...]:
    """What an event says but whom and when: the client's request and, per subject, the scopes
    read, the look-up's outcome and the verdicts' fields and arguments."""

    def verdicts(entry: dict[str, Any]) -> tuple[tuple[str, bytes], ...]:
        return tuple(
            (v["field"], orjson.dumps(v["arguments"], option=orjson.OPT_SORT_KEYS))
            for v in entry.get("verdicts", ())
        )

    subjects = sorted((tuple(s["scopes"]), s.get("lookup"), verdicts(s)) for s in event["subjects"])
    denied = tuple(sorted((d["path"], d["scope"]) for d in event["denied"]))
    own = (event["client"], event["purpose"], event["operation"], event["document_hash"], event["basis"])
    return (*own, event["outcome"], denied, tuple(subjects))


async def test_each_operation_is_synthesized_as_the_gateway_records_it(scratch_db: str) -> None:
    """The gateway serves each registered operation (the memory city); each event it writes has
    the shape of events the synthetic traffic writes."""
    requests = [
        ("enrollment", "enrollment_review", "EnrolmentReview", {"ids": [CHILD], "year": 2026}),
        ("talent-policy", "talent_subsidy", "TalentCheck", {"id": FATHER, "months": 24, "within": 36}),
        ("talent-policy", "talent_subsidy", "TalentCheck", {"id": FATHER, "months": 12, "within": 12}),
        ("talent-policy", "talent_subsidy", "TalentCheck", {"id": UNKNOWN, "months": 24, "within": 36}),
        ("grid-worker", "household_survey", "HouseholdPrefill", {"number": HOUSEHOLD}),
        ("grid-worker", "household_survey", "HouseholdPrefill", {"number": "350211000000009"}),
        ("enterprise-desk", "enterprise_service", "EnterpriseProfile", {"creditCode": EMPLOYER}),
        ("enterprise-desk", "enterprise_service", "PolicyCashingPrefill", {"creditCode": EMPLOYER}),
        ("auditor", "audit", "SubjectAccess", {"subject": BOSS}),
    ]  # fmt: skip
    async with gateway(**audited(scratch_db)) as http:
        for client, purpose, name, variables in requests:
            persisted = {"persistedQuery": {"version": 1, "sha256Hash": DOCUMENTS[name]}}
            body = {"variables": variables, "extensions": persisted}
            response = await http.post("/graphql", json=body, headers=headers(client, purpose))
            assert response.status_code == 200, response.text
    recorded = await audit_events(scratch_db)
    assert [e["operation"] for e in recorded] == [name for _, _, name, _ in requests]

    city = population(3, 2_000)
    traffic = Traffic(city, seeded(5), 3)
    moments = timeline(seeded(6), 40_000, UNTIL - dt.timedelta(days=30), UNTIL)
    synthesized = {shape(traffic.access(t).fields(AUDIT_KEY.encode())) for t in moments}
    for event in recorded:
        assert shape(event) in synthesized, event


# --- the command ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--events", "0"], "--events must be at least 1, not 0"),
        (["--events", "-5"], "--events must be at least 1, not -5"),
        (["--events", "10", "--writers", "0"], "--writers must be at least 1, not 0"),
        (["--events", "10", "--months", "0"], "--months must be at least 1, not 0"),
        (["--events", "10", "--subjects", "19"], "--subjects must be at least 20, not 19"),
        (["--events", "10", "--writers", "11"], "--writers 11 cannot share --events 10"),
        (["--events", "10", "--checkpoint-every", "0"], "--checkpoint-every must be at least 1, not 0"),
        (["--events", "10", "--jobs", "-1"], "--jobs must be 0 (one per core) or more, not -1"),
        (["--events", "ten"], "argument --events: invalid int value: 'ten'"),
    ],
)
def test_audit_synth_refuses_bad_numbers(tmp_path: Path, arguments: list[str], message: str) -> None:
    config = tmp_path / "govgraph.toml"
    config.write_text('[audit]\ndsn = "postgresql://127.0.0.1:1/nothing"\nsubject_key = "k" \n')
    out = govgraph("audit", "synth", *arguments, "--config", str(config), cwd=tmp_path)
    assert out.returncode == 2, out
    assert message in out.stderr.splitlines()[-1]
    assert out.stdout == ""


def test_audit_synth_writes_a_store_that_verifies(tmp_path: Path, scratch_db: str) -> None:
    config = tmp_path / "govgraph.toml"
    config.write_text(f'[audit]\ndsn = "{scratch_db}"\nsubject_key = "{AUDIT_KEY}"\n')
    run = (
        "audit",
        "synth",
        "--events",
        "3000",
        "--writers",
        "3",
        "--subjects",
        "500",
        "--config",
        str(config),
    )
    written = govgraph(*run, cwd=tmp_path)
    assert written.returncode == 0, written.stderr
    lines = written.stdout.splitlines()
    assert lines[0].startswith("3000 events in 3 chains about 500 subjects, ")
    assert lines[-1].startswith("written in ")
    assert lines[-1].endswith(" events/s)")
    verified = govgraph("audit", "verify", "--config", str(config), cwd=tmp_path)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "3 chains, 3000 events: intact" in verified.stdout
    again = govgraph(*run, cwd=tmp_path)  # the same seed's chains are there already
    assert again.returncode == 1
    assert "already holds chain" in again.stderr
    assert "give another seed" in again.stderr
    other = govgraph(*run, "--seed", "2", cwd=tmp_path)
    assert other.returncode == 0, other.stderr
    assert (
        "6 chains, 6000 events: intact"
        in govgraph("audit", "verify", "--config", str(config), cwd=tmp_path).stdout
    )
