"""`govgraph serve --workers N`: uvicorn's supervisor, plus what the workers' metrics need.

Workers write their metrics to files in one directory (prometheus-client's multiprocess
mode, gateway/metrics.py), which must be set before they start and must not hold a
previous run's files: PROMETHEUS_MULTIPROC_DIR when the operator sets it (emptied at
start), else a fresh temporary directory removed at exit. When a worker dies and is
replaced, its live gauges (breaker states, audit queue) are dropped, so /metrics counts
live processes only; its counters stay in the totals.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import uvicorn
from prometheus_client import multiprocess
from starlette.applications import Starlette
from uvicorn.supervisors import Multiprocess

from .app import create_app
from .logs import configure_logging
from .settings import load_settings

__all__ = ["app", "metrics_directory", "serve_workers"]

_ENV = "PROMETHEUS_MULTIPROC_DIR"


def app() -> Starlette:
    """The factory each worker process runs: its logging, then its own app (sources,
    pools, audit writer) from the config named by GOVGRAPH_CONFIG."""
    settings = load_settings(os.environ.get("GOVGRAPH_CONFIG", "govgraph.toml"))
    configure_logging(settings.logging)
    return create_app(settings, serving=True)


@contextlib.contextmanager
def metrics_directory() -> Iterator[Path]:
    """The directory the workers share, in the environment they inherit."""
    configured = os.environ.get(_ENV)
    if configured:
        path = Path(configured)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()
        yield path
        return
    path = Path(tempfile.mkdtemp(prefix="govgraph-metrics-"))
    os.environ[_ENV] = str(path)
    try:
        yield path
    finally:
        del os.environ[_ENV]
        shutil.rmtree(path, ignore_errors=True)


class _Supervisor(Multiprocess):
    """Marks each worker that is gone (died, or replaced on SIGHUP) dead for the metrics."""

    def __init__(self, config: uvicorn.Config, sockets: list[socket.socket], directory: Path) -> None:
        super().__init__(config, sockets)
        self._directory = directory

    def _pids(self) -> set[int]:
        return {p.pid for p in self.processes if p.pid is not None}

    def _reap(self, before: set[int]) -> None:
        for pid in before - self._pids():
            multiprocess.mark_process_dead(pid, str(self._directory))  # type: ignore[no-untyped-call]

    def keep_subprocess_alive(self) -> None:
        before = self._pids()
        super().keep_subprocess_alive()
        self._reap(before)

    def restart_all(self) -> None:
        before = self._pids()
        super().restart_all()
        self._reap(before)


def serve_workers(config: str, host: str, port: int, workers: int) -> None:
    # Workers are started from the import string; they read the config path here.
    os.environ["GOVGRAPH_CONFIG"] = str(Path(config).resolve())
    with metrics_directory() as directory:
        server_config = uvicorn.Config(
            "gateway.workers:app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="info",
            loop="uvloop",
            http="httptools",
            log_config=None,  # uvicorn's records go to the root handler, in the configured format
            access_log=False,  # query strings of GET requests can carry resident ids
        )
        with contextlib.suppress(KeyboardInterrupt):
            _Supervisor(server_config, [server_config.bind_socket()], directory).run()
