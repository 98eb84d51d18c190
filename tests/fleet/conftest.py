"""The fleet: two gateway hosts (127.0.0.2 and 127.0.0.3, each `govgraph serve --workers 2`)
sharing one Redis (record cache, rate limits) and one PostgreSQL database (audit log and
policy store), behind HAProxy configured from deploy/haproxy.cfg.

Without HAProxy the fleet tests skip, unless GOVGRAPH_REQUIRE_HAPROXY=1 (CI), where they fail.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest
import pytest_asyncio

from demo.stack import DemoStack
from gateway.audit.record import PolicyChange
from gateway.policystore.store import PolicyStore
from gateway.policystore.transfer import import_policy
from tests.databases import fresh_database
from tests.departments import Switch, serve_switch
from tests.fleet.balancer import Balancer, start_balancer
from tests.fleet.hosts import Host, free_port_on, start_host
from tests.policy_store import DEMO_SECRET

ROOT = Path(__file__).parents[2]
ADDRESSES = ("127.0.0.2", "127.0.0.3")
WORKERS = 2
DRAIN = 3  # seconds: above the shipped checks' inter + (fall - 1) x fastinter
# The shipped policy, with the enterprise desk's own limit made small enough that one
# burst is quickly spent; every other client gets the (high) defaults the hosts run with.
RATE, BURST = 1, 10
POLICY = (
    (ROOT / "policy.toml")
    .read_text(encoding="utf-8")
    .replace("rate = 20 ", f"rate = {RATE} ")
    .replace("burst = 40", f"burst = {BURST}")
)
assert f"burst = {BURST}" in POLICY


@dataclass
class Fleet:
    hosts: list[Host]
    balancer: Balancer
    store: PolicyStore  # the policy store every host follows
    dsn: str  # its database, which also holds the audit log
    switch: Switch  # the social-insurance department, counting its requests
    samples: dict[str, Any]
    env: dict[str, str]  # the hosts' environment (for `govgraph` commands against the same stores)
    directory: Path

    async def import_policy(self, text: str) -> None:
        await import_text(self.store, text)

    async def restore(self) -> None:
        """Every host serving again: out of maintenance, started again if it was stopped or
        killed; returns once the balancer sends to each."""
        for index, host in enumerate(self.hosts):
            host.maintenance.unlink(missing_ok=True)
            if host.stopping or host.process.poll() is not None:
                await asyncio.to_thread(host.wait)
                await self.restart(index)
            else:
                await self.balancer.wait_state(host.name, "UP")

    async def restart(self, index: int) -> Host:
        """Start a stopped host again, as it was; returns once the balancer sends to it."""
        old = self.hosts[index]
        assert old.process.poll() is not None, f"{old.name} is still running"
        directory = self.directory / old.name
        host = start_host(old.name, old.address, old.port, old.ops, WORKERS, self.env, directory)
        self.hosts[index] = host
        await host.wait_ready(WORKERS)
        await self.balancer.wait_state(host.name, "UP")
        return host


@pytest_asyncio.fixture
async def restore_hosts(fleet: Fleet) -> AsyncIterator[None]:
    """For a test that kills, stops or drains a host: after it, passed or failed, the fleet
    is whole again, so that one failure does not leave the next tests a fleet of one."""
    yield
    await fleet.restore()


async def import_text(store: PolicyStore, text: str) -> None:
    """`govgraph policy import`, through the store's API (the change's audit event left out)."""
    from tests.resolvers.city import SCHEMA  # builds the schema: only when a fleet starts

    async def unrecorded(change: PolicyChange) -> None:
        return None

    checks = SCHEMA.policy_checks()
    await import_policy(store, text, checks.text(text, "policy.toml"), "fleet-test", unrecorded, checks)


def token(client: str, purpose: str) -> dict[str, str]:
    claims = {"sub": client, "aud": "govgraph", "exp": int(time.time()) + 3600, "scope": purpose}
    return {"Authorization": "Bearer " + jwt.encode(claims, DEMO_SECRET, "HS256"), "X-Purpose": purpose}


def haproxy_or_skip() -> str:
    found = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/usr/local/sbin")
    if found:
        return found
    reason = "HAProxy is not installed (Debian: apt-get install haproxy)"
    if os.environ.get("GOVGRAPH_REQUIRE_HAPROXY") == "1":
        pytest.fail(f"{reason}; GOVGRAPH_REQUIRE_HAPROXY=1 requires it")
    pytest.skip(reason)


def loopback_or_skip() -> None:
    for address in ADDRESSES:
        with socket.socket() as s:
            try:
                s.bind((address, 0))
            except OSError:
                pytest.skip(f"cannot listen on {address} (Linux routes 127/8 to lo; this system does not)")


@pytest_asyncio.fixture(scope="module")
async def fleet_db(pg_admin_dsn: str) -> AsyncIterator[str]:
    async with fresh_database(pg_admin_dsn, "gg_fleet") as dsn:
        yield dsn


@pytest_asyncio.fixture(scope="module")
async def fleet(
    demo_city: DemoStack, redis_url: str, fleet_db: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Fleet]:
    binary = haproxy_or_skip()
    loopback_or_skip()
    store = PolicyStore(fleet_db)
    await store.install()
    await import_text(store, POLICY)
    directory = tmp_path_factory.mktemp("fleet")
    run = uuid.uuid4().hex[:8]
    async with serve_switch() as (switch, switch_url):
        env = {
            **{k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"},
            **demo_city.gateway_env(),
            "GOVGRAPH_SOCIAL_INSURANCE_URL": switch_url,
            "GOVGRAPH_POLICY_DSN": fleet_db,
            "GOVGRAPH_AUDIT_DSN": fleet_db,
            "GOVGRAPH_CACHE_BACKEND": "redis",
            "GOVGRAPH_RATE_BACKEND": "redis",
            "REDIS_URL": redis_url,
            "GOVGRAPH_CACHE_VERSION": f"fleet-{run}",  # this run's cache keys only
            "GOVGRAPH_NAMESPACE": f"govgraph-fleet-{run}",  # and its rate-limit buckets
            "GOVGRAPH_RATE": "100000",
            "GOVGRAPH_BURST": "100000",
            "GOVGRAPH_LOG_FORMAT": "text",
            # As deploy/README.md sets it: a stopping host serves until HAProxy has seen its /readyz fail.
            "GOVGRAPH_DRAIN_SECONDS": str(DRAIN),
        }
        port, ops = free_port_on(*ADDRESSES), free_port_on(*ADDRESSES)
        while ops == port:
            ops = free_port_on(*ADDRESSES)
        hosts = [
            start_host(f"gw{i}", address, port, ops, WORKERS, env, directory / f"gw{i}")
            for i, address in enumerate(ADDRESSES, 1)
        ]
        try:
            await asyncio.gather(*(h.wait_ready(WORKERS) for h in hosts))
            balancer = start_balancer(
                binary,
                [f"{h.address}:{h.port}" for h in hosts],
                ops,
                directory / "haproxy",
                public=free_port_on("127.0.0.1"),
                stats=free_port_on("127.0.0.1"),
            )
            try:
                assert balancer.names == [h.name for h in hosts]
                for host in hosts:
                    await balancer.wait_state(host.name, "UP")
                yield Fleet(hosts, balancer, store, fleet_db, switch, demo_city.samples, env, directory)
            finally:
                balancer.process.terminate()
                balancer.process.wait(timeout=30)
        finally:
            for host in hosts:
                host.stop()
            for host in hosts:
                await asyncio.to_thread(host.wait)
            await store.aclose()
