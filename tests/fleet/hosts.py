"""One gateway host of the fleet: `govgraph serve --workers N` on a loopback address of its
own (Linux routes all of 127/8 to lo), its public and operators' ports the same on every
host, as on machines of one fleet.

The host is a process group of its own (the supervisor and its workers), so that it can
be killed whole, as a machine that dies takes every process with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil

from tests.waiting import until

__all__ = ["Host", "free_port_on", "start_host"]

ROOT = Path(__file__).parents[2]


def free_port_on(*addresses: str) -> int:
    """A port free on every one of `addresses`."""
    while True:
        with socket.socket() as first:
            first.bind((addresses[0], 0))
            port: int = first.getsockname()[1]
            try:
                for address in addresses[1:]:
                    with socket.socket() as other:
                        other.bind((address, port))
            except OSError:
                continue
            return port


@dataclass
class Host:
    name: str  # the balancer's name for it (gw1, gw2...)
    address: str
    port: int
    ops: int
    process: subprocess.Popen[bytes]
    maintenance: Path
    log: Path
    stopping: bool = False  # `stop` or `kill` was called: it is going, or gone

    @property
    def url(self) -> str:
        return f"http://{self.address}:{self.port}"

    @property
    def ops_url(self) -> str:
        return f"http://{self.address}:{self.ops}"

    async def readiness(self) -> tuple[int, dict[str, Any]]:
        """The supervisor's /readyz: its status and body (each worker's own report in `workers`)."""
        async with httpx.AsyncClient(timeout=10) as http:
            answer = await http.get(f"{self.ops_url}/readyz")
        return answer.status_code, answer.json()

    async def policy_versions(self) -> dict[str, int | None]:
        """Worker pid -> the policy store version in force in that worker, as it reports
        it to the supervisor (None: the worker did not answer)."""
        _, body = await self.readiness()
        return {pid: (w.get("policy") or {}).get("version") for pid, w in body["workers"].items()}

    async def wait_ready(self, workers: int) -> None:
        async def ready() -> bool:
            try:
                status, body = await self.readiness()
            except (httpx.TransportError, ValueError):
                return False
            states = [w.get("status") for w in body.get("workers", {}).values()]
            return status == 200 and states == ["ready"] * workers

        await until(
            ready, f"{self.name} ({self.url}) and its {workers} workers to be ready", within=120, interval=0.2
        )

    async def metric(self, name: str, **labels: str) -> float:
        """The sum of a metric's samples whose labels include `labels`, over every worker."""
        async with httpx.AsyncClient(timeout=10) as http:
            text = (await http.get(f"{self.ops_url}/metrics")).text
        total = 0.0
        for line in text.splitlines():
            if not line.startswith(name + "{"):
                continue
            head, _, value = line.rpartition(" ")
            if all(f'{k}="{v}"' in head for k, v in labels.items()):
                total += float(value)
        return total

    async def kill(self) -> None:
        """SIGKILL to the whole host (supervisor and workers); returns once every one of its
        processes is gone and its public port refuses connections. Both are needed: the port
        went on accepting connections for 5 to 7 ms after every process showed as a zombie,
        and a request HAProxy sent on one of those is lost (the host was not yet dead)."""
        members = [
            self.process.pid,
            *(c.pid for c in psutil.Process(self.process.pid).children(recursive=True)),
        ]
        self.stopping = True
        os.killpg(self.process.pid, signal.SIGKILL)
        await asyncio.to_thread(self.process.wait)

        await until(lambda: not any(map(_alive, members)), f"{self.name}'s processes to die", interval=0.001)
        await until(self._refuses, f"{self.name}'s port {self.port} to refuse connections", interval=0.001)

    async def _refuses(self) -> bool:
        try:
            _, writer = await asyncio.open_connection(self.address, self.port)
        except ConnectionRefusedError:
            return True
        except ConnectionResetError:  # accepted by a listener closing as it answered
            return False
        writer.close()
        with contextlib.suppress(OSError):  # reset when the socket went away meanwhile
            await writer.wait_closed()
        return False

    def stop(self) -> None:
        """SIGTERM to the supervisor, as systemd sends it (KillMode=mixed); `wait` for the end."""
        self.stopping = True
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def wait(self) -> None:
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def start_host(
    name: str, address: str, port: int, ops: int, workers: int, env: dict[str, str], directory: Path
) -> Host:
    directory.mkdir(parents=True, exist_ok=True)
    maintenance, log = directory / "maintenance", directory / "gateway.log"
    command = [sys.executable, "-m", "gateway", "serve", "--allow-demo-keys", "--host", address]
    command += ["--port", str(port), "--workers", str(workers), "--ops-listen", f"{address}:{ops}"]
    with log.open("ab") as out:  # a host started again writes after its earlier life
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={
                **env,
                "GOVGRAPH_MAINTENANCE_FILE": str(maintenance),
                "TMPDIR": str(directory),  # the supervisor's control and metrics directories
            },
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a process group of its own: killed whole
        )
    return Host(name, address, port, ops, process, maintenance, log)
