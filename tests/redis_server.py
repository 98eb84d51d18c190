"""A real Redis for tests that need one.

`await redis_url_or_skip()` answers with the first of:

1. `$REDIS_URL` (it must answer PING: a configured Redis that is down is a failure);
2. redis://127.0.0.1:6379/0 if it answers PING;
3. a private `redis-server` from PATH on a free loopback port, no persistence
   (`--save "" --appendonly no`), in a temporary directory; started once per process
   (once per test session) and reused;
4. otherwise `pytest.skip(...)`, or `pytest.fail(...)` when GOVGRAPH_REQUIRE_REDIS=1 (CI),
   so that a missing Redis never passes as a silent skip there.

Use it from a session-scoped fixture whose teardown stops the server it may have
started (an atexit hook also stops it if the session dies first)::

    @pytest_asyncio.fixture(scope="session", loop_scope="session")
    async def redis_url() -> AsyncIterator[str]:
        yield await redis_url_or_skip()
        stop_spawned_redis()

The server may be shared with other tests and other runs: give every test its own key
prefix (`unique_prefix()`), delete only your own keys, and never FLUSHDB.
`RedisServer` is the spawned server itself (start()/stop()), usable on its own.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.retry import Retry as SyncRetry

__all__ = ["RedisServer", "redis_url_or_skip", "stop_spawned_redis", "unique_prefix"]

DEFAULT_URL = "redis://127.0.0.1:6379/0"

_spawned: RedisServer | None = None


def unique_prefix(kind: str = "test") -> str:
    """A key namespace no other test or run uses."""
    return f"govgraph:{kind}:{uuid.uuid4().hex}:"


async def redis_url_or_skip() -> str:
    """The URL of a Redis that answers, or skip (fail under GOVGRAPH_REQUIRE_REDIS=1)."""
    global _spawned
    url = os.environ.get("REDIS_URL")
    if url:
        if await _answers_ping(url):
            return url
        pytest.fail(f"REDIS_URL is set but {_redacted(url)} does not answer PING")
    if await _answers_ping(DEFAULT_URL):
        return DEFAULT_URL
    if _spawned is not None and _spawned.url is not None:
        return _spawned.url
    executable = shutil.which("redis-server")
    if executable is None:
        _unavailable("no Redis: set REDIS_URL or install redis-server")
    server = RedisServer(executable)
    try:
        # Popen and a blocking readiness wait: keep them off the event loop.
        spawned_url = await asyncio.to_thread(server.start)
    except RuntimeError as exc:
        _unavailable(f"no Redis: set REDIS_URL, or fix redis-server ({exc})")
    _spawned = server
    return spawned_url


def stop_spawned_redis() -> None:
    """Stop the server `redis_url_or_skip` started, if any (idempotent)."""
    global _spawned
    if _spawned is not None:
        _spawned.stop()
        _spawned = None


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("GOVGRAPH_REQUIRE_REDIS") == "1":
        pytest.fail(f"{reason} (GOVGRAPH_REQUIRE_REDIS=1)")
    pytest.skip(reason)


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if not at:
        return url
    return urlunsplit(parts._replace(netloc=f"{userinfo.partition(':')[0]}:***@{hostport}"))


async def _answers_ping(url: str) -> bool:
    client = Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0, retry=Retry(NoBackoff(), 0))
    try:
        return bool(await client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        await client.aclose()


class RedisServer:
    """A throwaway `redis-server` on a free loopback port; nothing written to disk but its log."""

    def __init__(self, executable: str = "redis-server") -> None:
        self._executable = executable
        self._process: subprocess.Popen[bytes] | None = None
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self.url: str | None = None

    def start(self, timeout: float = 10.0) -> str:
        """Start it and wait until it answers PING; returns its URL. RuntimeError if it cannot."""
        self._dir = tempfile.TemporaryDirectory(prefix="govgraph-redis-")
        log = Path(self._dir.name) / "redis.log"
        for _ in range(3):  # the free port may be taken between probing and binding
            port = _free_port()
            self._process = subprocess.Popen(
                [
                    self._executable,
                    "--port", str(port),
                    "--bind", "127.0.0.1",
                    "--save", "",
                    "--appendonly", "no",
                    "--dir", self._dir.name,
                    "--logfile", str(log),
                    "--daemonize", "no",
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
            atexit.register(self.stop)
            if _wait_ready(self._process, port, timeout):
                self.url = f"redis://127.0.0.1:{port}/0"
                return self.url
            self._terminate()
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"
        self.stop()
        raise RuntimeError(f"{self._executable} did not start: {tail.strip()}")

    def stop(self) -> None:
        self._terminate()
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None
        self.url = None
        atexit.unregister(self.stop)

    def _terminate(self) -> None:
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_ready(process: subprocess.Popen[bytes], port: int, timeout: float) -> bool:
    client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=1.0, retry=SyncRetry(NoBackoff(), 0))
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if client.ping():
                    return True
            except (redis.RedisError, OSError):
                time.sleep(0.02)
        return False
    finally:
        client.close()
