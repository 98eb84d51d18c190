"""Metrics with several gateway processes: one PROMETHEUS_MULTIPROC_DIR, one total.

Two `govgraph serve` processes share a directory and either one's /metrics (on its
operators' listener) reports both; `govgraph serve --workers 2` prepares the directory
itself, its supervisor's /metrics reports every worker, and a killed worker's live
gauges are dropped while its counts stay in the totals."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from demo.stack import DemoStack

from .ports import free_ports
from .test_processes import wait_ready

ROOT = Path(__file__).parents[1]
DEV = {"X-API-Key": "demo-only-developer-api-key", "X-Purpose": "development"}
QUERY = "query($id: ResidentId!) { person(id: $id) { name } }"
OK = {"operation": "anonymous", "client": "developer", "purpose": "development", "outcome": "ok"}
CLOSED = {"source": "public_security", "state": "closed"}


def environment(demo_city: DemoStack, directory: Path) -> dict[str, str]:
    return {**os.environ, **demo_city.gateway_env(), "PROMETHEUS_MULTIPROC_DIR": str(directory)}


def start(
    env: dict[str, str], port: int, ops: int, *extra: str, log: Path | None = None
) -> subprocess.Popen[bytes]:
    command = ["serve", "--port", str(port), "--ops-listen", f"127.0.0.1:{ops}", "--allow-demo-keys"]
    with open(log or os.devnull, "wb") as stderr:  # the child keeps its own descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "gateway", *command, *extra],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )


def request_lines(log: Path) -> list[dict[str, object]]:
    """The request lines of a process's log; every line of it must be JSON."""
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    return [line for line in lines if line["logger"] == "govgraph.request"]


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        process.wait(timeout=30)


async def sample(ops: str, name: str, labels: dict[str, str]) -> float:
    async with httpx.AsyncClient(timeout=10) as client:
        text = (await client.get(f"{ops}/metrics")).text
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and s.labels == labels:
                return s.value
    return 0.0


async def until(ops: str, name: str, labels: dict[str, str], expected: float) -> None:
    """Wait (bounded) until a metric reaches a value; processes start and stop on their own time."""
    deadline = time.monotonic() + 60
    while (value := await sample(ops, name, labels)) != expected:
        assert time.monotonic() < deadline, f"{name}{labels} stayed {value}, expected {expected}"
        await asyncio.sleep(0.1)


async def ask(url: str, person: str, times: int) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        for _ in range(times):
            response = await client.post(
                f"{url}/graphql", json={"query": QUERY, "variables": {"id": person}}, headers=DEV
            )
            assert response.status_code == 200
            assert response.json()["data"]["person"]["name"]


Gateways = tuple[list[tuple[str, str]], list[subprocess.Popen[bytes]]]


@pytest.fixture
def two_gateways(demo_city: DemoStack, tmp_path: Path) -> Iterator[Gateways]:
    """Two processes: (public URL, operators' URL) of each, and the processes."""
    env = environment(demo_city, tmp_path)
    first, second, third, fourth = free_ports(4)
    ports = [(first, second), (third, fourth)]
    processes = [start(env, port, ops) for port, ops in ports]
    try:
        yield [(f"http://127.0.0.1:{p}", f"http://127.0.0.1:{o}") for p, o in ports], processes
    finally:
        for process in processes:
            stop(process)


async def test_two_processes_report_one_total(two_gateways: Gateways, demo_city: DemoStack) -> None:
    ((first, first_ops), (second, second_ops)), processes = two_gateways
    for url in (first, second):
        await wait_ready(url)
    person = demo_city.samples["cases"]["family_child"][0]
    await ask(first, person, 2)
    await ask(second, person, 3)
    for ops in (first_ops, second_ops):  # either process answers for both
        assert await sample(ops, "govgraph_requests_total", OK) == 5
        assert await sample(ops, "govgraph_source_breaker", CLOSED) == 2  # two live processes
    stop(processes[1])  # shuts down cleanly: its gauges no longer count, its counts do
    await until(first_ops, "govgraph_source_breaker", CLOSED, 1)
    assert await sample(first_ops, "govgraph_requests_total", OK) == 5


def children(parent: int) -> set[int]:
    """The worker processes of a supervisor (not multiprocessing's resource tracker)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == parent and b"spawn_main" in command and b"resource_tracker" not in command:
            found.add(int(stat.parent.name))
    return found


async def test_serve_workers_share_a_fresh_directory_and_forget_dead_workers(
    demo_city: DemoStack, tmp_path: Path
) -> None:
    directory = tmp_path / "metrics"
    directory.mkdir()
    (directory / "counter_999999.db").write_bytes(b"left by a previous run")
    port, ops_port = free_ports(2)
    url = f"http://127.0.0.1:{port}"
    ops = f"http://127.0.0.1:{ops_port}"  # the supervisor's, for every worker
    log = tmp_path / "stderr.log"
    supervisor = start(environment(demo_city, directory), port, ops_port, "--workers", "2", log=log)
    try:
        await wait_ready(url)
        await until(ops, "govgraph_source_breaker", CLOSED, 2)  # both workers are serving
        assert not (directory / "counter_999999.db").exists()
        person = demo_city.samples["cases"]["family_child"][0]
        await ask(url, person, 4)
        assert await sample(ops, "govgraph_requests_total", OK) == 4

        workers = children(supervisor.pid)
        assert len(workers) == 2
        # A worker that has answered (either may have taken all four): its counts must outlive it.
        killed = min(pid for pid in workers if (directory / f"counter_{pid}.db").exists())
        os.kill(killed, signal.SIGKILL)  # no clean shutdown: the supervisor must mark it dead
        deadline = time.monotonic() + 60
        while (directory / f"gauge_livesum_{killed}.db").exists() or len(children(supervisor.pid)) != 2:
            assert time.monotonic() < deadline, "the killed worker was not replaced and marked dead"
            await asyncio.sleep(0.1)
        await until(ops, "govgraph_source_breaker", CLOSED, 2)  # the survivor and the replacement
        assert (directory / f"counter_{killed}.db").exists()
        assert await sample(ops, "govgraph_requests_total", OK) == 4
    finally:
        supervisor.send_signal(signal.SIGINT)
        supervisor.wait(timeout=60)
    assert supervisor.returncode == 0
    # The workers log in the configured format (JSON), one line per request; the
    # supervisor's saying which configuration it read is one of those JSON lines too.
    said = [json.loads(line)["message"] for line in log.read_text().splitlines()]
    assert f"using configuration {ROOT / 'govgraph.toml'} (from the current directory)" in said
    lines = request_lines(log)
    assert len(lines) == 4
    assert {line["outcome"] for line in lines} == {"ok"}
    assert len({line["request_id"] for line in lines}) == 4
    assert person not in log.read_text()
