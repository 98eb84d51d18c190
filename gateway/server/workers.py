"""`govgraph serve --workers N`: uvicorn's supervisor, plus what the workers' metrics and
the operators' listener need.

Workers write their metrics to files in one directory (prometheus-client's multiprocess
mode, gateway/observability/metrics.py), which must be set before they start and must not hold a
previous run's files: PROMETHEUS_MULTIPROC_DIR when the operator sets it (emptied at
start), else a fresh temporary directory removed at exit. When a worker dies and is
replaced, its live gauges (breaker states, audit queue) are dropped, so /metrics counts
live processes only; its counters stay in the totals.

The supervisor serves the operators' listener (`[gateway] ops_listen`: /metrics, /readyz,
/healthz) from a thread of its own, for all the workers (gateway/http/ops.py); each worker
answers it on a Unix socket in a private directory made at start and removed at exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import uvicorn
from prometheus_client import multiprocess
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.compat import Supervisor, bind
from gateway.config.settings import Settings, load_settings
from gateway.http.ops import answer_supervisor, supervisor_app
from gateway.observability.logs import configure_logging
from gateway.server.addresses import separate
from gateway.server.edge import edge_config, listen, operators_server

__all__ = [
    "FACTORY",
    "app",
    "control_directory",
    "metrics_directory",
    "serve_workers",
    "supervise",
    "worker_app",
]

log = logging.getLogger("govgraph")

_ENV = "PROMETHEUS_MULTIPROC_DIR"
_CONTROL = "GOVGRAPH_CONTROL_DIR"  # set by the supervisor for its workers only
FACTORY = "gateway.server.workers:app"


def app() -> Starlette:
    """The factory each worker process runs: its logging, then its own app (sources,
    pools, audit writer) from the config named by GOVGRAPH_CONFIG."""
    return worker_app(load_settings(os.environ.get("GOVGRAPH_CONFIG", "govgraph.toml")))


def worker_app(settings: Settings) -> Starlette:
    """A worker's app from `settings`: what `app` runs, and another factory may (bench/server.py)."""
    configure_logging(settings.logging)
    gateway = create_app(settings, serving=True)
    control = os.environ.get(_CONTROL)
    if control:
        answer_supervisor(gateway, Path(control))
    return gateway


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
    with _inherited_directory(_ENV, "govgraph-metrics-") as path:
        yield path


@contextlib.contextmanager
def control_directory() -> Iterator[Path]:
    """Where the workers' sockets for the supervisor go: private to this user (mode 0700)
    and short enough for a socket path."""
    with _inherited_directory(_CONTROL, "govgraph-ctl-") as path:
        yield path


@contextlib.contextmanager
def _inherited_directory(variable: str, prefix: str) -> Iterator[Path]:
    """A fresh private directory, named in `variable` for the workers to inherit; removed,
    with the variable, when the supervisor is done."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ[variable] = str(path)
    try:
        yield path
    finally:
        del os.environ[variable]
        shutil.rmtree(path, ignore_errors=True)


class _Supervisor(Supervisor):
    """Serves the operators' listener for its workers, and marks each worker that is gone
    (died, replaced on SIGHUP, retired on SIGTTOU) dead for the metrics."""

    def __init__(
        self,
        config: uvicorn.Config,
        sockets: list[socket.socket],
        directory: Path,
        control: Path,
        settings: Settings,
        ops: socket.socket,
    ) -> None:
        super().__init__(config, sockets)
        self._directory = directory
        self._control = control
        self._settings = settings
        self._ops = ops

    def run(self) -> None:
        app = supervisor_app(
            self._settings, lambda: sorted(self.worker_pids()), self._control, self._directory, self.stopping
        )
        operators = operators_server(app, self._settings.gateway, self._ops)
        # A thread with its own event loop: the supervisor's own loop is a blocking one.
        thread = threading.Thread(
            target=asyncio.run, args=(operators.serve(sockets=[self._ops]),), name="govgraph-ops"
        )
        thread.start()
        try:
            super().run()
        finally:
            operators.should_exit = True
            thread.join()

    _signalled = False  # a stop signal came, rather than a worker failing to start

    def handle_term(self) -> None:
        self._signalled = True
        super().handle_term()

    def handle_int(self) -> None:
        self._signalled = True
        super().handle_int()

    def terminate_all(self) -> None:
        # From the signal on /readyz answers 503 ("stopping"); the workers go on serving for
        # drain_seconds, so that the load balancer stops sending before they stop accepting.
        # A second signal ends the wait. Workers that could not start serve nothing to drain.
        deadline = time.monotonic() + (self._settings.gateway.drain_seconds if self._signalled else 0)
        while time.monotonic() < deadline and not self.signal_queue:
            time.sleep(0.05)
        super().terminate_all()

    def workers_gone(self, pids: set[int]) -> None:
        for pid in pids:
            multiprocess.mark_process_dead(pid, str(self._directory))  # type: ignore[no-untyped-call]


def serve_workers(config: str, host: str, port: int, workers: int, ops: tuple[str, int]) -> None:
    # Workers are started from the import string; they read the config path here.
    os.environ["GOVGRAPH_CONFIG"] = str(Path(config).resolve())
    supervise(load_settings(config), FACTORY, host, port, workers, ops)


def supervise(
    settings: Settings, factory: str, host: str, port: int, workers: int, ops: tuple[str, int], **options: Any
) -> None:
    """Run `workers` processes of the app `factory` (an import string) makes, each serving
    host:port as `settings` say, and the operators' listener on `ops`, until a stop signal;
    `options` add to uvicorn's configuration (gateway.server.edge.edge_config)."""
    separate((host, port), ops)
    ops_socket = listen(*ops, "gateway.ops_listen (or --ops-listen)")  # before any worker starts
    with metrics_directory() as directory, control_directory() as control:
        server_config = edge_config(
            factory,
            settings.gateway,
            factory=True,
            host=host,
            port=port,
            workers=workers,
            **options,
        )
        with contextlib.suppress(KeyboardInterrupt):
            _Supervisor(server_config, [bind(server_config)], directory, control, settings, ops_socket).run()
