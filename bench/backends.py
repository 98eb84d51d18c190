"""The departments called directly (asyncpg, aiohttp), with no gateway in between.

`Departments.fetch(entity, keys)` asks the department that keeps `entity` for `keys`
in one call (or one call per `max_batch_size` keys, concurrently), exactly as the
departments' contract in govgraph.toml describes them: PostgreSQL departments with one
`= ANY($1)` statement per entity, REST departments with their `:batchGet` endpoints.
PostgreSQL calls sleep `pg_latency` first, as the gateway's `inject_latency` does; REST
departments add their own latency server-side. Every call is counted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import asyncpg
import orjson

from gateway.config.settings import load_settings
from sources.base import EntitySpec, Record, Result, SourceSpec, align

__all__ = ["CONFIG", "DEPARTMENT_SOURCES", "Departments", "department_specs"]

CONFIG = Path(__file__).parents[1] / "govgraph.toml"
# The five departments of the demo city (the audit store is not one).
DEPARTMENT_SOURCES = ("public_security", "education", "social_insurance", "tax", "market")


def department_specs(env: Mapping[str, str]) -> tuple[SourceSpec, ...]:
    """The departments as govgraph.toml configures them, with the demo stack's addresses."""
    settings = load_settings(CONFIG, env)
    return tuple(s for s in settings.sources if s.name in DEPARTMENT_SOURCES)


@dataclass(frozen=True)
class _Route:
    spec: SourceSpec
    entity: EntitySpec
    sql: str | None  # PostgreSQL departments
    url: str | None  # REST departments


def _sql(entity: EntitySpec) -> str:
    table = entity.options["table"]
    order = [entity.key, *entity.options.get("order_by", [])]
    order_sql = ", ".join(f'r."{c}"' for c in order)
    return (
        # Identifiers from the gateway's own configuration; keys are bound ($1).
        f"SELECT coalesce(json_agg(r ORDER BY {order_sql}), '[]')::text "  # noqa: S608
        f'FROM (SELECT * FROM {table} WHERE "{entity.key}" = ANY($1::text[])) r'
    )


class Departments:
    def __init__(self, specs: Sequence[SourceSpec], pg_latency: float = 0.0, pool_size: int = 10) -> None:
        self.pg_latency = pg_latency
        self.pool_size = pool_size
        self.calls = 0
        self.keys = 0
        self._specs = list(specs)
        self._routes: dict[str, _Route] = {}
        for spec in self._specs:
            for entity in spec.entities.values():
                if spec.kind == "postgres":
                    route = _Route(spec, entity, _sql(entity), None)
                else:
                    base = str(spec.options["base_url"]).rstrip("/")
                    route = _Route(spec, entity, None, base + str(entity.options["path"]))
                self._routes[entity.name] = route
        self._pools: dict[str, asyncpg.Pool] = {}
        self._session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        for spec in self._specs:
            if spec.kind == "postgres":
                self._pools[spec.name] = await asyncpg.create_pool(
                    str(spec.options["dsn"]), min_size=1, max_size=self.pool_size
                )
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=64, keepalive_timeout=30),
            timeout=aiohttp.ClientTimeout(total=30),
        )

    async def aclose(self) -> None:
        for pool in self._pools.values():
            await pool.close()
        self._pools.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def fetch(self, entity: str, keys: Sequence[str]) -> list[Result]:
        route = self._routes[entity]
        size = route.spec.max_batch_size
        if len(keys) <= size:
            return await self._call(route, list(keys))
        parts = await asyncio.gather(
            *(self._call(route, list(keys[i : i + size])) for i in range(0, len(keys), size))
        )
        return [result for part in parts for result in part]

    async def _call(self, route: _Route, keys: list[str]) -> list[Result]:
        self.calls += 1
        self.keys += len(keys)
        rows: list[Record]
        if route.sql is not None:
            if self.pg_latency:
                await asyncio.sleep(self.pg_latency)
            payload = await self._pools[route.spec.name].fetchval(route.sql, keys)
            rows = orjson.loads(payload)
        else:
            assert self._session is not None and route.url is not None
            async with self._session.post(
                route.url, data=orjson.dumps({"keys": keys}), headers={"Content-Type": "application/json"}
            ) as response:
                response.raise_for_status()
                rows = orjson.loads(await response.read())["items"]
        return align(rows, keys, route.entity.key, route.entity.many)
