"""/healthz (the process is alive, and its version) and /readyz (this process should get traffic).

/readyz answers 200 when the configuration is loaded and serving has started (and no
stop signal has come), the audit writer can take events (unless the audit log is off),
the policy store has answered within `[auth] stale_after` seconds (with `stale_drains`),
no required source's circuit breaker is open, and the maintenance file does not exist;
otherwise 503, with the same JSON body saying why. It is served on the operators'
listener only (gateway/http/ops.py); with `serve --workers` the supervisor asks each worker
for this report and answers for the group.

The checks are cheap: breaker states are in memory, the maintenance file is one stat,
and the audit store is asked one indexed read at most once per `audit_check_interval`,
however often the probe comes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gateway.config.settings import HealthSettings
from gateway.version import installed_version

if TYPE_CHECKING:
    from gateway.runtime import Runtime

__all__ = ["Readiness", "healthz"]


async def healthz(request: Request) -> Response:
    """Alive, and which release: a rolling upgrade can be watched host by host."""
    return JSONResponse({"status": "ok", "version": installed_version()})


class Readiness:
    def __init__(self, runtime: Runtime, settings: HealthSettings) -> None:
        self._runtime = runtime
        self._settings = settings
        self.started = False  # set by the lifespan once the audit writer and sources are up
        self._lock = asyncio.Lock()
        self._audit_checked = -float("inf")
        self._audit_problem: str | None = None

    async def _audit(self) -> tuple[bool, dict[str, Any]]:
        mode = self._runtime.settings.audit.mode
        if mode == "off":
            return True, {"mode": mode}
        writer = self._runtime.writer
        if writer is None:
            return False, {"mode": mode, "problem": "no audit store is open"}
        async with self._lock:  # concurrent probes share one check
            if time.monotonic() - self._audit_checked >= self._settings.audit_check_interval:
                self._audit_problem = await writer.check()
                self._audit_checked = time.monotonic()
            problem = self._audit_problem
        return problem is None, {"mode": mode, "queued": writer.queue_depth, "problem": problem}

    def _policy(self) -> dict[str, Any]:
        follower = self._runtime.follower
        if follower is None:
            return {"source": self._runtime.policy.path}
        age = follower.age
        return {
            "source": "store",
            "version": follower.version,
            "seconds_since_store_answered": None if age is None else round(age, 1),
            "stale": follower.stale,
            "problems": follower.problems,  # grants left out (denied), or a version refused
        }

    async def report(self) -> tuple[int, dict[str, Any]]:
        """(HTTP status, body) of /readyz."""
        reasons: list[str] = []
        maintenance = self._settings.maintenance_file
        draining = maintenance is not None and os.path.exists(maintenance)  # noqa: ASYNC240 (one stat)
        if draining:
            reasons.append("maintenance")
        if not self.started:
            reasons.append("not started")
        audit_ok, audit = await self._audit()
        if not audit_ok:
            reasons.append("audit")
        required = self._settings.required_sources
        sources: dict[str, Any] = {}
        for name, health in self._runtime.catalog.conditions().items():
            needed = required is None or name in required
            if needed and health.state == "open":
                reasons.append(f"source {name}")
            error = health.last_error
            sources[name] = {
                "state": health.state,
                "required": needed,
                "last_error": None
                if error is None
                else {
                    "code": error.code,
                    "detail": error.detail,
                    "at": dt.datetime.fromtimestamp(error.at, dt.UTC).isoformat(timespec="seconds"),
                },
            }
        policy = self._policy()
        auth = self._runtime.settings.auth
        if policy.get("stale") and auth is not None and auth.stale_drains:
            reasons.append("policy stale")
        status = "maintenance" if draining else "not_ready" if reasons else "ready"
        body = {
            "status": status,
            "reasons": reasons,
            "pid": os.getpid(),
            "audit": audit,
            "policy": policy,
            "sources": sources,
        }
        return (503 if reasons else 200), body

    def endpoint(self) -> Callable[[Request], Awaitable[Response]]:
        async def readyz(request: Request) -> Response:
            status, body = await self.report()
            return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})

        return readyz
