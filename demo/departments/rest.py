"""A department's REST service: aiohttp in front of the department's own database.

Batch endpoints `POST /v1/{entity}:batchGet {"keys": [...]}` answer `{"items": [...]}`;
single-key `GET /v1/{entity}/{key}` answer the record (or list) or 404; keys the
database refuses (a NUL byte, an unpaired surrogate) are 422. `latency` adds a fixed
delay per request, as a real department's network and processing would.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

import asyncpg
import orjson
from aiohttp import web

__all__ = ["ENDPOINTS", "Endpoint", "make_app"]


@dataclass(frozen=True)
class Endpoint:
    table: str
    key: str
    many: bool = False
    order_by: str | None = None


_DECIDED = "decided_on, decision_no"  # a day's decisions by their number (as text)
ENDPOINTS: dict[str, dict[str, Endpoint]] = {
    "education": {
        "schools": Endpoint("school", "code"),
        "student_status": Endpoint("student_status", "person_id"),
        "enrollment_applications": Endpoint("enrollment_application", "person_id", True, "submitted_at"),
    },
    "social_insurance": {
        "insured_persons": Endpoint("insured_person", "person_id"),
        "contributions": Endpoint("contribution", "person_id", True, "period, insurance_type"),
        "employer_headcounts": Endpoint("employer_headcount", "credit_code", True, "month"),
    },
    "credit": {
        "administrative_licences": Endpoint("administrative_licence", "credit_code", True, _DECIDED),
        "administrative_penalties": Endpoint("administrative_penalty", "credit_code", True, _DECIDED),
        "serious_dishonesty": Endpoint("serious_dishonesty", "credit_code", True, "listed_on, list_name"),
        "credit_warnings": Endpoint("credit_warning", "credit_code"),
    },
}

_POOL = web.AppKey("pool", asyncpg.Pool)


def _sql(e: Endpoint) -> str:
    order = f" ORDER BY {e.order_by}" if e.order_by else ""
    # The demo's own fixed endpoint table names the identifiers; keys are bound ($1).
    return f"SELECT coalesce(json_agg(t{order}), '[]')::text FROM {e.table} t WHERE {e.key} = ANY($1::text[])"  # noqa: S608


def make_app(  # noqa: C901 - the department's handlers, closures over its pool, in one place
    dsn: str, endpoints: Mapping[str, Endpoint], latency: float = 0.0
) -> web.Application:
    statements = {name: _sql(e) for name, e in endpoints.items()}

    async def fetch(name: str, keys: list[str], pool: asyncpg.Pool) -> bytes:
        if latency:
            await asyncio.sleep(latency)
        try:
            payload: str = await pool.fetchval(statements[name], keys)
        except asyncpg.DataError:  # keys the database cannot take (a NUL byte): the caller's fault
            raise web.HTTPUnprocessableEntity(text="keys must be text without NUL") from None
        return payload.encode()

    async def batch_get(request: web.Request) -> web.Response:
        name = request.match_info["entity"]
        if name not in statements:
            raise web.HTTPNotFound(text="no such entity")
        try:
            body = orjson.loads(await request.read())
            keys = body["keys"]
            if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
                raise TypeError
        except (orjson.JSONDecodeError, KeyError, TypeError):
            raise web.HTTPBadRequest(text='expected {"keys": [string, ...]}') from None
        items = await fetch(name, keys, request.app[_POOL])
        return web.Response(body=b'{"items":' + items + b"}", content_type="application/json")

    async def get_one(request: web.Request) -> web.Response:
        name, key = request.match_info["entity"], request.match_info["key"]
        if name not in statements:
            raise web.HTTPNotFound(text="no such entity")
        rows = orjson.loads(await fetch(name, [key], request.app[_POOL]))
        if not rows:
            raise web.HTTPNotFound(text="no such record")
        body = rows if endpoints[name].many else rows[0]
        return web.Response(body=orjson.dumps(body), content_type="application/json")

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def pool_ctx(app: web.Application) -> AsyncIterator[None]:
        app[_POOL] = await asyncpg.create_pool(dsn, min_size=1, max_size=8)
        yield
        await app[_POOL].close()

    app = web.Application()
    app.cleanup_ctx.append(pool_ctx)
    app.router.add_post("/v1/{entity}:batchGet", batch_get)
    app.router.add_get("/v1/{entity}/{key}", get_one)
    app.router.add_get("/healthz", healthz)
    return app
