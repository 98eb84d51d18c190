"""A department behind PostgreSQL: one asyncpg pool, one statement per entity.

Each entity compiles to a single `= ANY($1::text[])` statement, so any batch size is
the same prepared statement, and the whole batch comes back as one JSON array that is
decoded in one call (cheaper than converting asyncpg records field by field).

Timeouts: `connect_timeout` bounds opening each connection (the pool's own reconnects
included); `timeout` bounds the whole call, pool creation, acquiring a connection and
the statement together. A connection the server terminated fails its call with
`SourceUnavailable`; the pool replaces it, so the next call (or a retry) works.

Errors caused by the keys themselves (SQLSTATE classes 22 and 23) are `SourceRejected`:
the request's fault, which says nothing about the department's health.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import asyncpg
import orjson

from .base import EntitySpec, Record, Result, SourceSpec, align
from .errors import BadSourceResponse, SourceConfigError, SourceRejected, SourceTimeout, SourceUnavailable
from .options import Options

__all__ = ["PostgresSource", "keep_session"]


async def keep_session(connection: asyncpg.Connection) -> None:
    """A pool's `reset` for connections that change no session state (no SET, LISTEN,
    session advisory lock or cursor outside a transaction): asyncpg's default runs its reset
    query (RESET ALL, UNLISTEN *, ...) on every release, one more round trip to the server
    per call. A transaction left open is still rolled back: asyncpg does that before this."""


# SQLSTATE classes caused by the data a statement was given, not by the server: data
# exception (22: a NUL byte in text, an invalid cast, a value out of range; asyncpg uses
# 22000 for a key it cannot encode, such as a lone surrogate) and integrity constraint
# violation (23).
_REJECTED = ("22", "23")


@dataclass(frozen=True)
class _Statement:
    sql: str
    key: str
    many: bool


def _compile(source: str, entity: EntitySpec) -> _Statement:
    opts = Options(
        f"sources.{source}.entities.{entity.name}", entity.options, {"table", "order_by", "columns"}
    )
    table = opts.identifier("table")
    key = entity.key
    if not key.isidentifier() or not key.islower():
        raise SourceConfigError(f"sources.{source}.entities.{entity.name}.key", f"{key!r} is not a column")
    columns = opts.identifiers("columns")
    if columns and key not in columns:
        raise SourceConfigError(
            f"sources.{source}.entities.{entity.name}.columns", f"must include the key {key!r}"
        )
    order = opts.identifiers("order_by")
    select = ", ".join(f'"{c}"' for c in columns) if columns else "*"
    order_sql = ", ".join(f'r."{c}"' for c in [key, *order])
    # Identifiers come from the configuration, checked as identifiers and quoted; the keys
    # are bound ($1), never formatted in.
    sql = (
        f"SELECT coalesce(json_agg(r ORDER BY {order_sql}), '[]')::text "  # noqa: S608
        f'FROM (SELECT {select} FROM {table} WHERE "{key}" = ANY($1::text[])) r'
    )
    return _Statement(sql, key, entity.many)


class PostgresSource:
    """Options: `dsn` (required), `pool_size` (10), `min_pool_size` (1)."""

    def __init__(self, spec: SourceSpec) -> None:
        opts = Options(f"sources.{spec.name}", spec.options, {"dsn", "pool_size", "min_pool_size"})
        self.name = spec.name
        self._dsn = opts.text("dsn")
        self._pool_size = opts.integer("pool_size", 10)
        self._min_size = min(opts.integer("min_pool_size", 1), self._pool_size)
        self._timeout = spec.timeout
        self._connect_timeout = spec.resilience.connect_timeout
        self._statements = {name: _compile(spec.name, e) for name, e in spec.entities.items()}
        self._pool: asyncpg.Pool | None = None
        self._lock = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def _translated(self, entity: str) -> AsyncIterator[None]:
        try:
            async with asyncio.timeout(self._timeout):
                yield
        except TimeoutError as exc:
            raise SourceTimeout(self.name, entity, f"no answer within {self._timeout}s") from exc
        except asyncpg.PostgresError as exc:
            sqlstate = str(getattr(exc, "sqlstate", "") or "")
            if sqlstate[:2] in _REJECTED:
                # The server (or asyncpg, encoding a key) refused the keys themselves: the
                # detail is the SQLSTATE only, as the message may quote the keys.
                raise SourceRejected(self.name, entity, f"SQLSTATE {sqlstate}") from exc
            raise SourceUnavailable(self.name, entity, type(exc).__name__) from exc
        except (OSError, asyncpg.InterfaceError, asyncpg.InternalClientError) as exc:
            raise SourceUnavailable(self.name, entity, type(exc).__name__) from exc

    async def _get_pool(self) -> asyncpg.Pool:
        # Opened on first use: a department that is down at start-up costs only its fields.
        if self._pool is None:
            async with self._lock:
                if self._pool is None:
                    self._pool = await asyncpg.create_pool(
                        self._dsn,
                        min_size=self._min_size,
                        max_size=self._pool_size,
                        timeout=self._connect_timeout,  # per connection, reconnects included
                        server_settings={"application_name": "govgraph"},
                        reset=keep_session,  # a look-up changes no session state
                    )
        return self._pool

    async def fetch_many(self, entity: str, keys: Sequence[str]) -> list[Result]:
        statement = self._statements.get(entity)
        if statement is None:
            raise BadSourceResponse(self.name, entity, "entity not configured for this source")
        async with self._translated(entity):
            pool = await self._get_pool()
            payload = await pool.fetchval(statement.sql, list(keys))
        rows: list[Record] = orjson.loads(payload)
        return align(rows, keys, statement.key, statement.many)

    async def aclose(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
