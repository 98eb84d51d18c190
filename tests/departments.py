"""A social-insurance department for drills: it can be made sick, and counts requests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web
from aiohttp.test_utils import TestServer

__all__ = ["Switch", "serve_switch"]


class Switch:
    """A social-insurance department that can be made sick; healthy, it knows every key."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.requests = 0

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        if self.mode == "500":
            return web.Response(status=500, text="internal error at 10.1.2.3")
        if self.mode == "garbage":
            return web.Response(text="<html>", content_type="application/json")
        keys = (await request.json())["keys"]
        items = [
            {
                "person_id": k,
                "si_no": "3502000001",
                "status": "1",
                "first_insured_month": "202001",
                "current_employer": None,
                "updated_on": "2026-09-01",
            }
            for k in keys
        ]
        return web.json_response({"items": items})


@asynccontextmanager
async def serve_switch() -> AsyncIterator[tuple[Switch, str]]:
    """A Switch on a loopback port: (the switch, its base URL)."""
    switch = Switch()
    app = web.Application()
    app.router.add_post("/{tail:.*}", switch.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield switch, str(server.make_url("")).rstrip("/")
    finally:
        await server.close()
