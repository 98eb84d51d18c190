"""The gateway as a fleet: two hosts behind HAProxy (deploy/haproxy.cfg), one Redis, one
PostgreSQL (tests/fleet/conftest.py). A client's rate limit and the record cache are the
fleet's, a policy change reaches every worker of every host, a host that dies costs only
the requests it was answering (each delivered answer audited), a host stopped or put in
maintenance under load fails no request.

The tests share one fleet, in this order; each leaves both hosts serving (a host killed
or stopped is started again), so a new check of the fleet (e.g. a query registered
through one host and found through the other) can go anywhere. The kill comes first of
the disruptive ones, while HAProxy gives both hosts their full share: a host that came
back ramps up over its `slowstart`. Each test prints the figures it measured (`make
test-fleet` shows them); timings are asserted only against the bounds the fleet promises:
a policy change in every worker within 2 s, a dead host out of the balancer within its
check window.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time

import asyncpg
import httpx
import pytest

from gateway.audit.record import canonical_hash
from gateway.execution.documents import document_id
from tests.fleet.balancer import SHIPPED, timing
from tests.fleet.conftest import BURST, POLICY, RATE, ROOT, WORKERS, Fleet, token
from tests.fleet.load import steady_load

pytestmark = pytest.mark.fleet

DEV = {"X-API-Key": "demo-only-developer-api-key", "X-Purpose": "development"}
PERSON = "query($id: ResidentId!) { person(id: $id) { id name gender birthDate household { number } } }"
STATUS = "query($id: ResidentId!) { person(id: $id) { socialInsurance { status } } }"
PROPAGATION = 2.0  # seconds: the fleet's promise for a policy change


def documents() -> dict[str, str]:
    manifest = json.loads((ROOT / "documents" / "manifest.json").read_text(encoding="utf-8"))
    return {d["name"]: d["id"] for d in manifest["documents"]}


def person_bodies(fleet: Fleet) -> list[dict[str, object]]:
    people = fleet.samples["cases"]["family_child"] + fleet.samples["cases"]["changed_employer"]
    return [{"query": PERSON, "variables": {"id": p}} for p in people]


async def test_a_clients_rate_limit_holds_across_the_fleet(fleet: Fleet) -> None:
    """One burst for the whole fleet: the enterprise desk's bucket is one Redis key, however
    many hosts and workers its requests reach."""
    code = fleet.samples["cases"]["d_rated_enterprise"][0]
    body = {"documentId": f"sha256:{documents()['EnterpriseProfile']}", "variables": {"creditCode": code}}
    headers = token("enterprise-desk", "enterprise_service")
    sent = 4 * BURST  # what four workers' own buckets would let through
    fresh = httpx.Limits(max_keepalive_connections=0)  # each request balanced on its own
    async with httpx.AsyncClient(base_url=fleet.balancer.url, timeout=30, limits=fresh) as http:
        slots = asyncio.Semaphore(8)

        async def one() -> int:
            async with slots:
                return (await http.post("/graphql", json=body, headers=headers)).status_code

        started = time.monotonic()
        statuses = await asyncio.gather(*(one() for _ in range(sent)))
        elapsed = time.monotonic() - started
    admitted, refused = statuses.count(200), statuses.count(429)
    per_host = [await h.metric("govgraph_requests_total", client="enterprise-desk") for h in fleet.hosts]
    print(
        f"\nrate limit: {sent} requests in {elapsed:.2f} s through the balancer, {admitted} admitted, "
        f"{refused} refused (burst {BURST}, {RATE}/s); per host {per_host}"
    )
    assert admitted + refused == sent
    assert all(n > 0 for n in per_host), "every host took some of the client's requests"
    assert BURST <= admitted <= BURST + RATE * elapsed + 1


async def test_a_record_fetched_through_one_host_is_cached_for_the_other(fleet: Fleet) -> None:
    first, second = fleet.hosts
    person = fleet.samples["cases"]["back_paid"][0]
    body = {"query": STATUS, "variables": {"id": person}}
    async with httpx.AsyncClient(timeout=30) as http:
        before = fleet.switch.requests
        a = (await http.post(f"{first.url}/graphql", json=body, headers=DEV)).json()
        asked = fleet.switch.requests - before
        b = (await http.post(f"{second.url}/graphql", json=body, headers=DEV)).json()
    print(f"\ncache: the department was asked {asked} time(s) by {first.name}, then "
          f"{fleet.switch.requests - before - asked} time(s) by {second.name}")  # fmt: skip
    assert a["data"] == b["data"]
    assert a["data"]["person"]["socialInsurance"]["status"] == "PAYING"
    assert asked == 1
    assert fleet.switch.requests - before == asked
    assert (
        a["extensions"]["sources"]["social_insurance"],
        b["extensions"]["sources"]["social_insurance"],
    ) == (
        "ok",
        "cached",
    )


async def test_a_query_registered_through_one_host_is_found_through_the_other(fleet: Fleet) -> None:
    """Automatic persisted queries live in the record cache's Redis: a hash registered
    through one host (one of its workers) is run by hash alone through the other."""
    first, second = fleet.hosts
    person = fleet.samples["cases"]["family_child"][0]
    text = f'query FleetName {{ person(id: "{person}") {{ name }} }}'  # the run's own Redis namespace
    hashed = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": document_id(text)}}}
    fresh = httpx.Limits(max_keepalive_connections=0)  # each request to either worker of a host
    async with httpx.AsyncClient(timeout=30, limits=fresh) as http:
        unknown = (await http.post(f"{second.url}/graphql", json=hashed, headers=DEV)).json()
        registered = (
            await http.post(f"{first.url}/graphql", json={**hashed, "query": text}, headers=DEV)
        ).json()
        found = [
            (await http.post(f"{second.url}/graphql", json=hashed, headers=DEV)).json() for _ in range(4)
        ]
    print(f"\npersisted query: registered through {first.name}, found by hash through {second.name} 4 times")
    assert unknown["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert registered["data"]["person"]["name"]
    assert all(f.get("data") == registered["data"] for f in found), found


async def test_a_policy_change_reaches_every_worker_of_every_host(fleet: Fleet) -> None:
    """Proved worker by worker: each host's supervisor asks every one of its workers for
    its readiness report, which carries the policy store version in force in that worker.
    That the new policy is enforced is then sampled through the balancer, on fresh
    connections, not asked of each worker."""
    person = fleet.samples["cases"]["changed_employer"][0]
    probe = {"query": STATUS, "variables": {"id": person}}
    talent = token("talent-policy", "talent_subsidy")
    fresh = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=fleet.balancer.url, timeout=30, limits=fresh) as http:
        seen = (await http.post("/graphql", json=probe, headers=talent)).json()
        assert seen["data"]["person"]["socialInsurance"]["status"] == "PAYING"

        narrower = POLICY.replace(
            '"person.identity", "social_insurance.status", "social_insurance.verdict"',
            '"person.identity", "social_insurance.verdict"',
        )
        assert narrower != POLICY
        await fleet.import_policy(narrower)  # committed when it returns
        committed = time.monotonic()
        version = await fleet.store.version()

        async def everywhere() -> dict[str, dict[str, int | None]]:
            return {h.name: await h.policy_versions() for h in fleet.hosts}

        while True:
            versions = await everywhere()
            if all(v is not None and v >= version for w in versions.values() for v in w.values()):
                break
            assert time.monotonic() - committed < 10, versions
            await asyncio.sleep(0.01)
        propagated = time.monotonic() - committed
        workers = sum(len(w) for w in versions.values())
        print(
            f"\npolicy: version {version} in force in all {workers} workers "
            f"{propagated * 1000:.0f} ms after its commit; {versions}"
        )
        assert [len(w) for w in versions.values()] == [WORKERS] * len(fleet.hosts)
        assert propagated <= PROPAGATION

        refused = [(await http.post("/graphql", json=probe, headers=talent)).json() for _ in range(12)]
    for answer in refused:  # through the balancer, each on a new connection
        assert answer["data"]["person"]["socialInsurance"]["status"] is None
        assert [e["extensions"]["code"] for e in answer["errors"]] == ["FORBIDDEN"]


@pytest.mark.usefixtures("restore_hosts")
async def test_a_host_killed_under_load_costs_only_its_requests_in_flight(fleet: Fleet) -> None:
    victim = fleet.hosts[0]
    balancer = fleet.balancer
    window = timing(SHIPPED.read_text(encoding="utf-8")).window
    async with steady_load(balancer.url, DEV, person_bodies(fleet)) as load:
        await load.wait_delivered(200)
        assert await balancer.sessions(victim.name) > 0
        killed = time.monotonic()
        await victim.kill()
        dead = time.monotonic()
        await balancer.wait_state(victim.name, "DOWN")
        marked = time.monotonic() - killed
        sessions = await balancer.sessions(victim.name)
        await load.wait_delivered(300)
    failed = load.failed()
    print(
        f"\nkill: {victim.name} (supervisor and {WORKERS} workers) killed under "
        f"{load.clients} clients; marked down {marked * 1000:.0f} ms after the kill (check window "
        f"{window:g} s); {len(failed)} of {len(load.outcomes)} requests lost, statuses "
        f"{sorted({f.status or f.error for f in failed}, key=str)}"
    )
    assert marked <= window
    assert await balancer.sessions(victim.name) == sessions, "requests went to a host marked down"
    assert len(failed) <= load.clients
    assert all(f.started < dead for f in failed), "a request sent after the host died failed"

    delivered = {o.request_id: o for o in load.delivered()}
    assert None not in delivered
    connection = await asyncpg.connect(fleet.dsn)
    try:
        rows = await connection.fetch(
            "SELECT request_id, response_hash FROM audit_event WHERE request_id = ANY($1::text[])",
            list(delivered),
        )
    finally:
        await connection.close()
    audited = {r["request_id"]: r["response_hash"] for r in rows}
    print(f"audit: {len(audited)} of {len(delivered)} delivered answers found in the audit log")
    assert audited.keys() == delivered.keys()
    for request_id, outcome in delivered.items():
        assert outcome.body is not None
        assert audited[request_id] == canonical_hash({"data": outcome.body["data"], "errors": []})

    verified = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "gateway", "audit", "verify"],
        cwd=ROOT,
        env=fleet.env,
        capture_output=True,
        text=True,
        check=False,
    )
    print(verified.stdout.strip())
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.strip().endswith("intact")


@pytest.mark.usefixtures("restore_hosts")
async def test_a_host_stopped_under_load_loses_no_request(fleet: Fleet) -> None:
    """`systemctl stop` with no drain first: SIGTERM to the supervisor (KillMode=mixed). The
    host goes on serving for drain_seconds while HAProxy sees /readyz fail, then stops."""
    stopped = fleet.hosts[1]
    balancer = fleet.balancer
    async with steady_load(balancer.url, DEV, person_bodies(fleet)) as load:
        await load.wait_delivered(100)
        assert await balancer.sessions(stopped.name) > 0
        stopping = time.monotonic()
        stopped.stop()
        await balancer.wait_state(stopped.name, "DOWN")
        out = time.monotonic() - stopping
        code = await asyncio.to_thread(stopped.process.wait, 60)
        exited = time.monotonic() - stopping
        await load.wait_delivered(100)
    failed = load.failed()
    print(
        f"\nstop: {stopped.name} out of the balancer {out * 1000:.0f} ms after SIGTERM, exited after "
        f"{exited * 1000:.0f} ms; {len(failed)} of {len(load.outcomes)} requests failed "
        f"{sorted({f.status or f.error for f in failed}, key=str)}"
    )
    assert code == 0
    assert failed == []


@pytest.mark.usefixtures("restore_hosts")
async def test_a_host_in_maintenance_drains_without_a_failed_request(fleet: Fleet) -> None:
    drained = fleet.hosts[0]
    balancer = fleet.balancer
    async with steady_load(balancer.url, DEV, person_bodies(fleet)) as load:
        await load.wait_delivered(100)
        assert await balancer.sessions(drained.name) > 0
        drained.maintenance.touch()
        touched = time.monotonic()
        await balancer.wait_state(drained.name, "DOWN")
        out = time.monotonic() - touched
        sessions = await balancer.sessions(drained.name)
        await load.wait_delivered(200)
    after = await balancer.sessions(drained.name)
    print(f"\ndrain: {drained.name} out of the balancer {out * 1000:.0f} ms after the maintenance file; "
          f"{len(load.outcomes)} requests, {len(load.failed())} failed")  # fmt: skip
    assert load.failed() == []
    assert after == sessions, "the balancer sent requests to a host it had marked down"

    drained.maintenance.unlink()
    await balancer.wait_state(drained.name, "UP")
