"""The policy store against a real PostgreSQL: a policy file imported and exported, changes
followed through LISTEN/NOTIFY, expiry by the clock, and an unreachable store."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from gateway.audit.record import PolicyChange
from gateway.policy.model import Policy
from gateway.policystore.follower import StoreFollower
from gateway.policystore.snapshot import GrantRow, policy_at
from gateway.policystore.store import PolicyStore
from gateway.policystore.transfer import export_policy, import_policy
from tests.resolvers.city import SCHEMA
from tests.tcp_proxy import proxied
from tests.waiting import until

SHIPPED = Path(__file__).parents[2] / "policy.toml"
CHECKED = SCHEMA.policy_checks()


def shipped() -> Policy:
    return CHECKED.text(SHIPPED.read_text(encoding="utf-8"), str(SHIPPED))


def same_policy(a: Policy, b: Policy) -> bool:
    return (a.purposes, a.clients, a.grants, a.pins, a.bases) == (
        b.purposes,
        b.clients,
        b.grants,
        b.pins,
        b.bases,
    )


@dataclass
class Holder:
    policy: Policy


@pytest_asyncio.fixture
async def store(scratch_db: str) -> AsyncIterator[PolicyStore]:
    changes: list[PolicyChange] = []

    async def record(change: PolicyChange) -> None:
        changes.append(change)

    store = PolicyStore(scratch_db)
    await store.install()
    await store.install()  # a second install finds the tables and changes nothing
    await import_policy(store, SHIPPED.read_text(encoding="utf-8"), shipped(), "tester", record, CHECKED)
    assert [c.action for c in changes] == ["import"]
    assert "enrollment" in changes[0].detail["clients"]
    yield store
    await store.aclose()


def follower(holder: Holder, store: PolicyStore, **kwargs: object) -> StoreFollower:
    options: dict[str, object] = {"check_interval": 30.0, "stale_after": 30.0, **kwargs}
    return StoreFollower(holder, store, CHECKED, **options)  # type: ignore[arg-type]


async def add_grant(store: PolicyStore, scopes: list[str], expires_at: dt.datetime | None = None) -> int:
    async with store.change("test grant") as conn:
        return int(
            await conn.fetchval(
                'INSERT INTO "grant" (client, purpose, full_scopes, masked_scopes, basis, valid_from, '
                "expires_at, created_by) VALUES ('grid-worker', 'household_survey', $1, '{}', 'test basis', "
                "now(), $2, 'tester') RETURNING id",
                scopes,
                expires_at,
            )
        )


def grid(policy: Policy) -> dict[str, str]:
    return dict(policy.grant("grid-worker", "household_survey"))


async def test_an_imported_file_builds_the_policy_the_file_gives(store: PolicyStore) -> None:
    built = policy_at(await store.snapshot(), dt.datetime.now(dt.UTC), CHECKED)
    assert same_policy(built, shipped())
    assert built.path.startswith("policy store (version ")


async def test_export_gives_a_file_that_reads_back_the_same(store: PolicyStore) -> None:
    text = await export_policy(store)
    assert text.startswith("# govgraph policy, exported from the policy store")
    assert same_policy(CHECKED.text(text), shipped())


async def test_a_second_import_replaces_imported_grants_only(store: PolicyStore) -> None:
    await add_grant(store, ["tax.rating"])

    async def record(change: PolicyChange) -> None:
        return None

    await import_policy(store, SHIPPED.read_text(encoding="utf-8"), shipped(), "tester", record, CHECKED)
    snapshot = await store.snapshot()
    kept = [g for g in snapshot.grants if g.full == ("tax.rating",)]
    assert len(kept) == 1  # a grant not from an import stays
    imported = [g for g in snapshot.grants if g.client == "enrollment"]
    assert len(imported) == 1  # the earlier import's grant was revoked, not doubled


async def test_a_change_reaches_a_following_process_within_a_second(store: PolicyStore) -> None:
    holder = Holder(shipped())
    following = follower(holder, store)  # checks every 30 s: only the notification can be this quick
    await following.start()
    try:
        assert "tax.rating" not in grid(holder.policy)
        started = time.monotonic()
        await add_grant(store, ["tax.rating"])
        await until(lambda: "tax.rating" in grid(holder.policy), "the new grant in force", within=1.0)
        assert time.monotonic() - started < 1.0
        assert "test basis" in (holder.policy.basis("grid-worker", "household_survey") or "")
    finally:
        await following.aclose()


async def test_a_grant_expires_at_its_instant_and_one_process_records_it(store: PolicyStore) -> None:
    recorded: list[tuple[int, Sequence[GrantRow]]] = []

    def recorder(n: int):  # type: ignore[no-untyped-def]
        async def record(rows: Sequence[GrantRow]) -> None:
            recorded.append((n, rows))

        return record

    holders = [Holder(shipped()), Holder(shipped())]
    followers = [follower(h, store, on_expired=recorder(n)) for n, h in enumerate(holders)]
    for f in followers:
        await f.start()
    try:
        expires = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1.5)
        grant = await add_grant(store, ["tax.rating"], expires)
        for h in holders:
            await until(lambda h=h: "tax.rating" in grid(h.policy), "the grant in force", within=1.0)
        for h in holders:
            await until(lambda h=h: "tax.rating" not in grid(h.policy), "the grant expired", within=2.0)
        assert dt.datetime.now(dt.UTC) >= expires
        assert dt.datetime.now(dt.UTC) - expires < dt.timedelta(seconds=0.5)  # at its instant, not at a check
        await until(lambda: recorded, "the expiry recorded", within=2.0)
        await asyncio.sleep(0.3)
        assert [[r.id for r in rows] for _, rows in recorded] == [[grant]]  # by exactly one process
    finally:
        for f in followers:
            await f.aclose()


async def test_an_unreachable_store_keeps_the_last_good_policy_then_catches_up(
    store: PolicyStore, caplog: pytest.LogCaptureFixture
) -> None:
    async with proxied(store.dsn) as (proxy, through):
        remote = PolicyStore(through)
        holder = Holder(shipped())
        # Checks only every 30 s: the catch-up below is the re-established LISTEN's.
        following = follower(holder, remote, check_interval=30.0, stale_after=0.6)
        await following.start()
        try:
            assert not following.stale
            proxy.sever()
            await add_grant(store, ["tax.rating"])  # made while this process cannot see the store
            await asyncio.sleep(0.3)
            assert "tax.rating" not in grid(holder.policy)
            assert "person.hukou" in grid(holder.policy)  # the last good policy still serves
            await until(lambda: following.stale, "the policy reported stale", within=2.0)
            assert "policy store unreachable" in caplog.text
            proxy.restore()
            await until(lambda: "tax.rating" in grid(holder.policy), "the change applied", within=2.0)
            assert not following.stale
        finally:
            await following.aclose()
            await remote.aclose()


async def test_a_pair_whose_grants_fail_the_checks_is_denied_alone(
    store: PolicyStore, caplog: pytest.LogCaptureFixture
) -> None:
    holder = Holder(shipped())
    following = follower(holder, store)
    await following.start()
    try:
        assert grid(holder.policy)
        await add_grant(store, ["tax.rating.verdict"])  # a verdict scope with no pins: refused
        await until(lambda: not grid(holder.policy), "the grid worker's grants denied", within=1.0)
        assert holder.policy.grant("enrollment", "enrollment_review")  # every other pair stays
        assert following.problems
        assert following.problems[0].startswith("grid-worker/household_survey: ")
        assert "must be pinned" in following.problems[0]
        assert "grants left out (denied)" in caplog.text
    finally:
        await following.aclose()


async def test_an_import_removes_what_the_file_leaves_out(store: PolicyStore) -> None:
    text = SHIPPED.read_text(encoding="utf-8")
    without = text.split("[clients.developer]")[0] + "[clients.auditor]" + text.split("[clients.auditor]")[1]
    developer_grant = without.index('client = "developer"')
    start = without.rindex("[[grants]]", 0, developer_grant)
    end = without.find("[[grants]]", developer_grant)
    without = without[:start] + (without[end:] if end != -1 else "")
    checked = CHECKED.text(without)
    assert "developer" not in checked.clients

    async def record(change: PolicyChange) -> None:
        assert change.detail["clients_removed"] == ["developer"]

    await import_policy(store, without, checked, "tester", record, CHECKED)
    snapshot = await store.snapshot()
    assert "developer" not in snapshot.clients
    assert not [g for g in snapshot.grants if g.client == "developer"]


async def test_export_keeps_grants_from_applications_out_of_the_file(store: PolicyStore) -> None:
    async with store.change("an approved application") as conn:
        await conn.execute(
            "INSERT INTO application (id, client, purpose, department, items, full_scopes, masked_scopes, "
            "scenario, legal_basis, period_days, sharing, applicant, submitted_at, state) VALUES "
            "('GX-2026-000001', 'grid-worker', 'household_survey', 'XM-SW', '{}', '{tax.registration}', "
            "'{}', 's', 'law', 30, 'unconditional', 'p', now(), 'approved')"
        )
        await conn.execute(
            'INSERT INTO "grant" (client, purpose, full_scopes, masked_scopes, basis, application, '
            "valid_from, expires_at, created_by) VALUES ('grid-worker', 'household_survey', "
            "'{tax.registration}', '{}', 'law', 'GX-2026-000001', now(), now() + interval '30 days', 'p')"
        )
    text = await export_policy(store)
    assert "# grid-worker/household_survey: tax.registration; GX-2026-000001, until " in text
    exported = CHECKED.text(text)
    assert "tax.registration" not in exported.grant("grid-worker", "household_survey")
    assert same_policy(exported, shipped())
