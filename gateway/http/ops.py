"""The operators' endpoints: /metrics, /readyz and /healthz, on `[gateway] ops_listen`.

They are never served on the public port: /metrics shows clients, purposes and how
many audit events each request wrote (which differs for a person that exists and one
that does not), and /readyz names the departments and their last errors. The public
port answers 404 for both and keeps /healthz, which says nothing but "alive".

- One process (`govgraph serve`, `govgraph demo`): `ops_app` serves the process's own
  readiness and metrics on a second listener of the same event loop (gateway/server/edge.py).
- `govgraph serve --workers N`: the supervisor serves the listener, so the workers do
  not compete for one port and the answer does not depend on which worker a probe
  reaches. /metrics collects every worker's files (gateway/observability/metrics.py), after asking
  each live worker to refresh its breaker gauges; /readyz asks each live worker for its
  own readiness over a Unix socket in a private directory (`answer_supervisor`) and is
  200 only when the maintenance file is absent, the supervisor is not stopping, at
  least one worker is ready and no worker says it is not. A worker that does not answer
  (still starting, or stuck) takes no connections from the shared socket's queue
  while it is in that state, so it is listed but does not decide alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

import orjson
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Lifespan

from gateway.config.settings import Settings
from gateway.http import paths
from gateway.http.health import Readiness, healthz
from gateway.observability import metrics

__all__ = ["answer_supervisor", "ask_worker", "ops_app", "supervisor_app"]

log = logging.getLogger("govgraph")

_ASK_TIMEOUT = 3.0  # seconds a worker has to answer; its own audit check gives up after 1


def ops_app(gateway: Starlette) -> Starlette:
    """The operators' endpoints of one process, over that process's gateway app (whose
    lifespan runs them: this app has none)."""
    readiness: Readiness = gateway.state.readiness
    settings: Settings = gateway.state.runtime.settings
    routes = [Route(paths.HEALTHZ, healthz), Route("/readyz", readiness.endpoint())]
    if settings.metrics.enabled:
        routes.append(Route("/metrics", metrics.metrics_endpoint(gateway.state.catalog)))
    return Starlette(routes=routes)


# --- a worker's side: answering its supervisor ---


def answer_supervisor(gateway: Starlette, directory: Path) -> None:
    """While `gateway` serves (its lifespan has started), answer the supervisor on
    `directory/PID.sock`: one command line in, one JSON line out."""
    started: Lifespan[Any] = gateway.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[Any]:
        async with started(app) as state:
            path = directory / f"{os.getpid()}.sock"
            server = await asyncio.start_unix_server(
                lambda reader, writer: _answer(gateway, reader, writer), path=str(path)
            )
            try:
                yield state
            finally:
                server.close()
                path.unlink(missing_ok=True)

    gateway.router.lifespan_context = lifespan


async def _answer(gateway: Starlette, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        command = (await asyncio.wait_for(reader.readline(), _ASK_TIMEOUT)).strip()
        answer: dict[str, Any] = {}
        if command == b"readyz":
            status, body = await gateway.state.readiness.report()
            answer = {"status": status, "body": body}
        elif command == b"metrics" and gateway.state.runtime.settings.metrics.enabled:
            metrics.refresh_breakers(gateway.state.catalog)
        writer.write(orjson.dumps(answer) + b"\n")
        await writer.drain()
    except (OSError, TimeoutError):
        pass  # the supervisor went away or never asked: it counts this worker as not answering
    finally:
        writer.close()


# --- the supervisor's side ---


async def ask_worker(directory: Path, pid: int, command: bytes) -> dict[str, Any] | None:
    """A worker's answer to `command`, or None when it does not answer in time."""
    try:
        async with asyncio.timeout(_ASK_TIMEOUT):
            reader, writer = await asyncio.open_unix_connection(str(directory / f"{pid}.sock"), limit=2**22)
            try:
                writer.write(command + b"\n")
                line = await reader.readline()
            finally:
                writer.close()
        answer = orjson.loads(line)
        return answer if isinstance(answer, dict) else None
    except (OSError, TimeoutError, orjson.JSONDecodeError):
        return None


def supervisor_app(
    settings: Settings,
    workers: Callable[[], list[int]],
    control: Path,
    metrics_directory: Path,
    stopping: Callable[[], bool],
) -> Starlette:
    """The operators' endpoints of `serve --workers`: `workers` gives the live workers'
    process ids, `control` the directory of their sockets, `stopping` whether the
    supervisor is shutting them down."""

    async def readyz(request: Request) -> Response:
        pids = workers()
        answers = await asyncio.gather(*(ask_worker(control, pid, b"readyz") for pid in pids))
        status, body = fleet_readiness(settings, dict(zip(pids, answers, strict=True)), stopping())
        return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})

    async def scrape(request: Request) -> Response:
        await asyncio.gather(*(ask_worker(control, pid, b"metrics") for pid in workers()))
        body = await asyncio.to_thread(metrics.exposition, str(metrics_directory))
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    routes = [Route(paths.HEALTHZ, healthz), Route("/readyz", readyz)]
    if settings.metrics.enabled:
        routes.append(Route("/metrics", scrape))
    return Starlette(routes=routes)


def fleet_readiness(
    settings: Settings, answers: Mapping[int, dict[str, Any] | None], stopping: bool
) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body) of the supervisor's /readyz from its workers' answers."""
    maintenance = settings.health.maintenance_file
    draining = maintenance is not None and os.path.exists(maintenance)
    reasons = ["maintenance"] if draining else []
    if stopping:
        reasons.append("stopping")
    detail: dict[str, Any] = {}
    ready = 0
    for pid, answer in answers.items():
        if answer is None or not isinstance(answer.get("body"), dict):
            detail[str(pid)] = {"status": "not_answering"}
            continue
        detail[str(pid)] = answer["body"]
        if answer.get("status") == 200:
            ready += 1
        else:  # the maintenance file is the supervisor's own reason, once
            reasons += [f"worker {pid}: {r}" for r in answer["body"].get("reasons", []) if r != "maintenance"]
    if not ready and not reasons:
        reasons.append("no worker ready")
    status = "maintenance" if draining else "not_ready" if reasons else "ready"
    body = {"status": status, "reasons": reasons, "pid": os.getpid(), "workers": detail}
    return (503 if reasons else 200), body
