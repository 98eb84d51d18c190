"""The edge of a real `govgraph serve`: operators' endpoints on their own port, request
heads and idle connections timed out, connections capped, oversized bodies refused
without the process growing."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Protocol

import httpx
import orjson
import psutil
import pytest

from bench.edge_memory import MB, send
from demo.stack import DemoStack
from gateway.config.settings import ConfigError
from gateway.server.addresses import separate

from .ports import free_ports
from .test_cli import govgraph
from .test_processes import wait_ready
from .waiting import until

ROOT = Path(__file__).parents[1]
DEV = {"X-API-Key": "demo-only-developer-api-key", "X-Purpose": "development"}


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    port: int
    ops: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ops_url(self) -> str:
        return f"http://127.0.0.1:{self.ops}"


def config(tmp_path: Path, **gateway: object) -> Path:
    """The shipped configuration with `[gateway]` settings added, written to `tmp_path`."""
    text = (ROOT / "govgraph.toml").read_text(encoding="utf-8")
    for key, value in gateway.items():  # the shipped file sets them: replace its lines
        text = re.sub(rf"^{key} = .*$", f"{key} = {value!r}", text, count=1, flags=re.M)
        assert f"{key} = {value!r}" in text, f"govgraph.toml has no [gateway] {key}"
    text = text.replace('policy = "policy.toml"', f'policy = "{ROOT / "policy.toml"}"')
    text = text.replace('path = "documents"', f'path = "{ROOT / "documents"}"')
    text = text.replace('path = "catalog"', f'path = "{ROOT / "catalog"}"')
    path = tmp_path / "govgraph.toml"
    path.write_text(text, encoding="utf-8")
    return path


class Start(Protocol):
    def __call__(self, *extra: str, env: dict[str, str] | None = None, **gateway: object) -> Served: ...


@pytest.fixture
def serve(demo_city: DemoStack, tmp_path: Path) -> Iterator[Start]:
    """Starts `govgraph serve` (extra arguments as given); every process is stopped after the test."""
    started: list[subprocess.Popen[bytes]] = []

    def start(*extra: str, env: dict[str, str] | None = None, **gateway: object) -> Served:
        port, ops = free_ports(2)
        command = [sys.executable, "-m", "gateway", "serve", "--allow-demo-keys", "--port", str(port)]
        command += ["--ops-listen", f"127.0.0.1:{ops}", "--config", str(config(tmp_path, **gateway))]
        process = subprocess.Popen(
            [*command, *extra],
            cwd=ROOT,
            env={**os.environ, **demo_city.gateway_env(), **(env or {})},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started.append(process)
        return Served(process, port, ops)

    yield start
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=60)


@pytest.mark.parametrize(
    ("public", "ops"),
    [
        (("127.0.0.1", 8000), ("127.0.0.1", 8000)),
        (("0.0.0.0", 8000), ("127.0.0.1", 8000)),  # noqa: S104 - addresses compared, not bound
        (("127.0.0.1", 8000), ("0.0.0.0", 8000)),  # noqa: S104
        (("::", 8000), ("::1", 8000)),
        (("::", 8000), ("127.0.0.1", 8000)),  # an IPv6 wildcard takes IPv4 too (dual stack)
        (("0.0.0.0", 8000), ("::", 8000)),  # noqa: S104
        (("::ffff:127.0.0.1", 8000), ("127.0.0.1", 8000)),  # IPv4 written as IPv6
        (("0:0::0", 8000), ("::1", 8000)),  # the IPv6 wildcard written another way
        (("localhost", 8000), ("127.0.0.1", 8000)),  # a name, by what it resolves to
    ],
)
def test_an_operators_address_that_overlaps_the_public_one_is_refused(
    public: tuple[str, int], ops: tuple[str, int]
) -> None:
    with pytest.raises(ConfigError, match="give the operators' endpoints another port"):
        separate(public, ops)


@pytest.mark.parametrize(
    ("public", "ops"),
    [
        (("127.0.0.1", 8000), ("127.0.0.1", 9000)),
        (("127.0.0.1", 8000), ("127.0.0.2", 8000)),  # another loopback address, same port
        (("0.0.0.0", 8000), ("::1", 8000)),  # noqa: S104 - an IPv4 wildcard leaves IPv6 alone
        (("127.0.0.1", 8000), ("::1", 8000)),
    ],
)
def test_operators_addresses_apart_from_the_public_one_are_accepted(
    public: tuple[str, int], ops: tuple[str, int]
) -> None:
    separate(public, ops)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_stops_at_once_when_told_one_port_for_both_listeners(
    demo_city: DemoStack, tmp_path: Path, workers: str
) -> None:
    (port,) = free_ports(1)
    env = {**os.environ, **demo_city.gateway_env()}
    out = govgraph(
        "serve", "--allow-demo-keys", "--port", str(port), "--ops-listen", f"127.0.0.1:{port}",
        "--workers", workers, "--config", str(config(tmp_path)), env=env,
    )  # fmt: skip
    assert out.returncode == 2, out.stderr
    overlap = f"127.0.0.1:{port} overlaps the public address (--host/--port) 127.0.0.1:{port}"
    assert f"gateway.ops_listen (or --ops-listen) {overlap}" in out.stderr


async def test_operators_endpoints_are_on_their_own_port_only(serve: Start) -> None:
    gateway: Served = serve()
    await wait_ready(gateway.url)
    async with httpx.AsyncClient(timeout=10) as client:
        answered = await client.post(f"{gateway.url}/graphql", json={"query": "{ __typename }"}, headers=DEV)
        public = {p: (await client.get(f"{gateway.url}{p}")).status_code for p in ("/metrics", "/readyz")}
        alive = await client.get(f"{gateway.url}/healthz")
        metrics = await client.get(f"{gateway.ops_url}/metrics")
        ready = await client.get(f"{gateway.ops_url}/readyz")
        ops_alive = await client.get(f"{gateway.ops_url}/healthz")
        no_data = await client.post(
            f"{gateway.ops_url}/graphql", json={"query": "{ __typename }"}, headers=DEV
        )
    assert answered.status_code == 200
    assert answered.json()["data"] == {"__typename": "Query"}
    assert public == {"/metrics": 404, "/readyz": 404}
    assert alive.status_code == 200
    assert 'govgraph_requests_total{client="developer"' in metrics.text
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"
    assert ready.json()["pid"] == gateway.process.pid
    assert alive.json() == ops_alive.json() == {"status": "ok", "version": version("govgraph")}
    assert no_data.status_code == 404


def closed_within(sock: socket.socket, seconds: float) -> bytes:
    """What the server sent before closing the connection; fails if it stays open `seconds`."""
    sock.settimeout(seconds)
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


async def test_slow_heads_and_idle_connections_are_closed(serve: Start) -> None:
    gateway: Served = serve(header_timeout=1, keepalive_timeout=1)
    await wait_ready(gateway.url)
    address = ("127.0.0.1", gateway.port)
    with socket.create_connection(address) as slow:
        slow.sendall(b"POST /graphql HT")  # half a request line, then nothing
        assert closed_within(slow, 30) == b""  # closed, without an answer
    with socket.create_connection(address) as silent:  # connects and never asks
        assert closed_within(silent, 30) == b""
    with socket.create_connection(address) as idle:  # one request, then idle on keep-alive
        idle.sendall(b"GET /healthz HTTP/1.1\r\nHost: gateway\r\n\r\n")
        answer = closed_within(idle, 30)
        assert answer.startswith(b"HTTP/1.1 200 ")
        assert answer.endswith(b'{"status":"ok","version":"%s"}' % version("govgraph").encode())
    with socket.create_connection(address) as huge:  # a head past 64 kB, never finished
        huge.sendall(b"GET /healthz HTTP/1.1\r\nHost: gateway\r\nX-Padding: " + b"a" * 100_000)
        assert closed_within(huge, 30).startswith(b"HTTP/1.1 431 ")


async def test_a_stopping_process_serves_for_drain_seconds_with_readyz_failing(serve: Start) -> None:
    gateway: Served = serve(drain_seconds=3)
    await wait_ready(gateway.url)
    async with httpx.AsyncClient(timeout=10) as client:
        gateway.process.send_signal(signal.SIGTERM)

        async def not_ready() -> bool:
            return (await client.get(f"{gateway.ops_url}/readyz")).status_code == 503

        await until(not_ready, "/readyz to fail after SIGTERM")
        body = {"query": "{ __typename }"}
        served = await client.post(f"{gateway.url}/graphql", json=body, headers=DEV)
        assert served.status_code == 200  # still serving while the balancer takes it out
    assert await asyncio.to_thread(gateway.process.wait, 30) == 0


async def test_a_stop_waits_for_requests_in_flight_at_most_shutdown_timeout(serve: Start) -> None:
    gateway: Served = serve(shutdown_timeout=1, header_timeout=300)
    await wait_ready(gateway.url)
    head = (
        b"POST /graphql HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
        b"X-API-Key: demo-only-developer-api-key\r\nX-Purpose: development\r\nContent-Length: 1000\r\n\r\n{"
    )
    with socket.create_connection(("127.0.0.1", gateway.port)) as stuck:
        stuck.sendall(head)  # a request in flight whose body never ends
        await asyncio.sleep(0.5)
        stopping = time.monotonic()
        gateway.process.send_signal(signal.SIGTERM)
        # uvicorn alone would wait for this request for ever
        code = await asyncio.to_thread(gateway.process.wait, 30)
        print(f"stopped {time.monotonic() - stopping:.1f} s after SIGTERM with a request in flight")
    assert code == 0


async def test_connections_beyond_the_cap_are_refused(serve: Start) -> None:
    gateway: Served = serve(max_connections=2, keepalive_timeout=300, header_timeout=300)
    await wait_ready(gateway.url)
    request = b"GET /healthz HTTP/1.1\r\nHost: gateway\r\n\r\n"
    kept = [socket.create_connection(("127.0.0.1", gateway.port)) for _ in range(2)]
    try:
        for sock in kept:  # two connections, each answered and kept alive
            sock.sendall(request)
            sock.settimeout(30)
            assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
        with socket.create_connection(("127.0.0.1", gateway.port)) as third:
            third.sendall(request)
            assert closed_within(third, 30).startswith(b"HTTP/1.1 503 ")
        async with httpx.AsyncClient(timeout=10) as client:  # a listener of its own, not capped by these
            assert (await client.get(f"{gateway.ops_url}/readyz")).status_code == 200
    finally:
        for sock in kept:
            sock.close()
    deadline = time.monotonic() + 30
    while True:  # once they are gone, a new connection is served
        with socket.create_connection(("127.0.0.1", gateway.port)) as fourth:
            fourth.sendall(request.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
            if closed_within(fourth, 30).startswith(b"HTTP/1.1 200 "):
                break
        assert time.monotonic() < deadline, "the closed connections still count"
        await asyncio.sleep(0.1)


async def test_oversized_bodies_are_refused_without_growing_the_process(serve: Start) -> None:
    gateway: Served = serve()
    await wait_ready(gateway.url)
    process = psutil.Process(gateway.process.pid)
    await send(gateway.port, MB, chunked=False)  # the refusal's code paths, once, before measuring
    await send(gateway.port, MB, chunked=True)
    for chunked in (False, True):
        before = peak = process.memory_info().rss
        sending = asyncio.gather(*(send(gateway.port, 50 * MB, chunked) for _ in range(8)))
        while not sending.done():
            peak = max(peak, process.memory_info().rss)
            await asyncio.sleep(0.01)
        for status, body in await sending:
            assert status == "413", body[:500]
            error = orjson.loads(body)["errors"][0]
            assert error["extensions"]["code"] == "OPERATION_LIMIT"
            assert error["extensions"]["limit"] == "body_bytes"
            assert error["extensions"]["max"] == 200_000
        grown = (peak - before) / MB
        assert grown < 20, f"8 x 50 MB {'chunked' if chunked else 'with Content-Length'}: +{grown:.0f} MB"


async def test_serve_workers_answer_operators_from_the_supervisor(serve: Start, tmp_path: Path) -> None:
    maintenance = tmp_path / "maintenance"
    gateway: Served = serve("--workers", "2", env={"GOVGRAPH_MAINTENANCE_FILE": str(maintenance)})
    await wait_ready(gateway.url)
    async with httpx.AsyncClient(timeout=10) as client:
        deadline = time.monotonic() + 60
        while True:  # until both workers have started and answer
            ready = await client.get(f"{gateway.ops_url}/readyz")
            states = [w["status"] for w in ready.json()["workers"].values()]
            if ready.status_code == 200 and states == ["ready", "ready"]:
                break
            assert time.monotonic() < deadline, ready.text
            await asyncio.sleep(0.2)
        body = ready.json()
        assert body["pid"] == gateway.process.pid  # the supervisor answers, for both workers
        workers = {int(pid) for pid in body["workers"]}
        assert workers <= {c.pid for c in psutil.Process(gateway.process.pid).children()}
        assert all(w["pid"] == int(pid) for pid, w in body["workers"].items())  # each its own
        assert (await client.get(f"{gateway.url}/readyz")).status_code == 404
        assert (await client.get(f"{gateway.url}/metrics")).status_code == 404
        assert "govgraph_source_breaker" in (await client.get(f"{gateway.ops_url}/metrics")).text

        maintenance.touch()  # drains the whole group
        drained = await client.get(f"{gateway.ops_url}/readyz")
        assert drained.status_code == 503
        assert drained.json()["reasons"] == ["maintenance"]
        served = await client.post(f"{gateway.url}/graphql", json={"query": "{ __typename }"}, headers=DEV)
        assert served.status_code == 200  # requests that still arrive are answered
        maintenance.unlink()
        assert (await client.get(f"{gateway.ops_url}/readyz")).status_code == 200
