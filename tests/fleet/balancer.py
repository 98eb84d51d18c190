"""HAProxy in front of the fleet, configured from the shipped deploy/haproxy.cfg.

`render` keeps the shipped file's defaults, balancing, health checks and draining as
they are and changes only what a test process cannot or must not use: the `global`
section's syslog, chroot, user and daemon lines (HAProxy runs in the foreground as the
test's user and logs to its standard error), the admin socket's path, the addresses it
listens on, the health-check port and the servers' addresses. Every change is asserted
to have matched, so a shipped file that no longer has the line fails here rather than
being tested in a form no one ships.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from tests.waiting import until

__all__ = ["SHIPPED", "Balancer", "CheckTiming", "render", "start_balancer", "timing"]

SHIPPED = Path(__file__).parents[2] / "deploy" / "haproxy.cfg"
BACKEND = "gateways"


@dataclass(frozen=True)
class CheckTiming:
    """The shipped health-check timing, read from its `default-server` line."""

    inter: float
    fastinter: float
    fall: int

    @property
    def window(self) -> float:
        """Seconds at most from a host failing (dead, or /readyz 503) to HAProxy marking it
        down: its next check within `inter`, then `fall - 1` more, `fastinter` apart."""
        return self.inter + (self.fall - 1) * self.fastinter


def _sub(pattern: str, replacement: str, text: str, *, count: int = 0) -> str:
    changed, n = re.subn(pattern, replacement, text, count=count, flags=re.M)
    assert n, f"deploy/haproxy.cfg has no line matching {pattern!r}"
    return changed


def render(shipped: str, *, servers: list[str], public: int, ops: int, stats: int, admin: Path) -> str:
    """The test's configuration: `servers` are "host:port" of the gateway hosts (the
    shipped server lines' names and options kept, in order; extra lines dropped)."""
    text = _sub(r"^\s*(chroot|user|group|daemon)\b.*\n", "", shipped)
    text = _sub(r"^(\s*)log /dev/log .*$", r"\1log stderr format raw local0", text)
    text = _sub(r"^(\s*stats socket )\S+", rf"\g<1>{admin}", text)
    text = _sub(r"^(\s*bind )\S*:80\b.*$", rf"\g<1>127.0.0.1:{public}", text, count=1)
    text = _sub(r"^(\s*bind )127\.0\.0\.1:8405\b", rf"\g<1>127.0.0.1:{stats}", text)
    text = _sub(r"^(\s*default-server .*\bcheck port )\d+", rf"\g<1>{ops}", text)
    shipped_servers = re.findall(r"^ *server (\S+) \S+(.*)$", text, flags=re.M)
    assert len(shipped_servers) >= len(servers), "deploy/haproxy.cfg lists fewer servers than the test runs"
    ours = [
        f"    server {name} {address}{rest}\n"
        for (name, rest), address in zip(shipped_servers, servers, strict=False)
    ]
    block = re.search(r"^ *server .*\n(?: *server .*\n)*", text, flags=re.M)  # the servers, one after another
    assert block is not None
    return text[: block.start()] + "".join(ours) + text[block.end() :]


def timing(shipped: str) -> CheckTiming:
    line = re.search(r"^\s*default-server (.*)$", shipped, flags=re.M)
    assert line, "deploy/haproxy.cfg has no default-server line"
    words = line.group(1).split()

    def value(name: str) -> str:
        return words[words.index(name) + 1]

    def seconds(v: str) -> float:
        return float(v[:-2]) / 1000 if v.endswith("ms") else float(v.rstrip("s"))

    return CheckTiming(seconds(value("inter")), seconds(value("fastinter")), int(value("fall")))


@dataclass
class Balancer:
    """A running HAProxy: `url` is its public frontend, `admin` its stats socket."""

    process: subprocess.Popen[bytes]
    url: str
    admin: Path
    log: Path
    names: list[str] = field(default_factory=list)  # the servers, in the fleet's host order

    async def command(self, line: str) -> str:
        reader, writer = await asyncio.open_unix_connection(str(self.admin))
        try:
            writer.write(line.encode() + b"\n")
            await writer.drain()
            return (await reader.read()).decode()
        finally:
            writer.close()

    async def servers(self) -> dict[str, dict[str, str]]:
        """`show stat` of the backend's servers: name -> its row (status, stot, ...)."""
        text = (await self.command("show stat")).lstrip("# ")
        rows = csv.DictReader(io.StringIO(text))
        return {
            r["svname"]: r
            for r in rows
            if r["pxname"] == BACKEND and r["svname"] not in ("BACKEND", "FRONTEND")
        }

    async def state(self, name: str) -> str:
        """UP, DOWN, MAINT, DRAIN or NOLB (a transition's "UP 1/2" is still UP)."""
        return (await self.servers())[name]["status"].split()[0]

    async def sessions(self, name: str) -> int:
        """Requests HAProxy has sent to that server so far (one connection each)."""
        return int((await self.servers())[name]["stot"])

    async def wait_state(self, name: str, state: str, within: float = 30) -> None:
        async def reached() -> bool:
            try:
                return await self.state(name) == state
            except OSError:  # HAProxy is still starting: no admin socket yet
                assert self.process.poll() is None, f"HAProxy exited; see {self.log}"
                return False

        await until(reached, f"HAProxy to see {name} {state}", within=within, interval=0.01)


def start_balancer(
    binary: str, servers: list[str], ops: int, directory: Path, public: int, stats: int
) -> Balancer:
    """HAProxy on the rendered configuration, checked first with `haproxy -c`."""
    directory.mkdir(parents=True, exist_ok=True)
    admin, config, log = directory / "admin.sock", directory / "haproxy.cfg", directory / "haproxy.log"
    shipped = SHIPPED.read_text(encoding="utf-8")
    config.write_text(
        render(shipped, servers=servers, public=public, ops=ops, stats=stats, admin=admin), encoding="utf-8"
    )
    checked = subprocess.run([binary, "-c", "-f", str(config)], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, f"haproxy -c {config}:\n{checked.stdout}{checked.stderr}"
    with log.open("wb") as out:  # -db: in the foreground, logging to stderr
        process = subprocess.Popen([binary, "-db", "-f", str(config)], stdout=out, stderr=subprocess.STDOUT)
    names = re.findall(r"^ *server (\S+) ", config.read_text(encoding="utf-8"), flags=re.M)
    return Balancer(process, f"http://127.0.0.1:{public}", admin, log, names)
