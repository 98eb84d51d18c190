"""The demo city's infrastructure: department databases, seeding, REST services.

`DemoStack.start()` makes every department's database (embedded PostgreSQL through
pgserver, or the server at DATABASE_URL), seeds the synthetic city on first run only,
starts the REST departments on loopback, and writes GraphiQL's presets for the city.
`gateway_env()` gives the variables `govgraph.toml` reads to find them.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from aiohttp import web

from gateway.audit.keys import write_key_pair
from gateway.audit.suite import DEFAULT_SUITE
from sources.errors import GovgraphError

from . import synth
from .departments import DEPARTMENTS, REST_DEPARTMENTS, SQL_DIR, database_dsn, database_of, role_of
from .departments.rest import ENDPOINTS, make_app
from .graphiql import write_presets

__all__ = ["DemoError", "DemoStack", "department_dsn"]

log = logging.getLogger("govgraph.demo")

AUDIT = database_of("audit")  # the audit log's database and role

_SEED_INFO = """
CREATE TABLE IF NOT EXISTS seed_info (
    seed int NOT NULL, persons int NOT NULL, as_of date NOT NULL,
    seeded_at timestamptz NOT NULL DEFAULT now(), samples jsonb NOT NULL
)"""


class DemoError(GovgraphError):
    """The demo cannot start; the message says what to do."""


def department_dsn(admin_dsn: str, department: str) -> str:
    """The admin DSN re-pointed at a department's database, as its own role."""
    parts = urlsplit(admin_dsn)
    host = parts.netloc.rpartition("@")[2]
    netloc = f"{role_of(department)}@{host}"
    return urlunsplit((parts.scheme, netloc, "/" + database_of(department), parts.query, ""))


@dataclass
class DemoStack:
    data_dir: Path
    database_url: str | None = None
    city: synth.CityConfig = field(default_factory=synth.CityConfig)
    rest_latency: float = 0.0  # seconds added to each REST department request
    rest_host: str = "127.0.0.1"
    dsns: dict[str, str] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)
    samples: dict[str, Any] = field(default_factory=dict)
    audit_dsn: str = ""
    seed_seconds: float | None = None  # set when this start seeded the city
    graphiql_presets: Path | None = None  # written by start()
    _runners: dict[str, web.AppRunner] = field(default_factory=dict)
    _pg: Any = None

    @property
    def samples_path(self) -> Path:
        return self.data_dir / "samples.json"

    async def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        admin = self.database_url or self._embedded()
        self.dsns = {d: department_dsn(admin, d) for d in DEPARTMENTS}
        self.audit_dsn = department_dsn(admin, "audit")
        await self._ensure_city(admin)
        await self._ensure_audit_database(admin)
        self._ensure_checkpoint_key()
        self.graphiql_presets = write_presets(self.data_dir, self.samples)
        for department in REST_DEPARTMENTS:
            app = make_app(self.dsns[department], ENDPOINTS[department], self.rest_latency)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, self.rest_host, 0)
            await site.start()
            self._runners[department] = runner
            port = runner.addresses[0][1]
            self.urls[department] = f"http://{self.rest_host}:{port}"

    @property
    def checkpoints(self) -> Path:
        return self.data_dir / "audit-checkpoints"

    @property
    def checkpoint_key(self) -> Path:
        return self.data_dir / "audit-checkpoint.pem"

    def _ensure_checkpoint_key(self) -> None:
        """The demo's checkpoint key: made once in its data directory, kept with the audit log
        it signs (a deployment keeps its key off the database host)."""
        self.checkpoints.mkdir(exist_ok=True)
        if not self.checkpoint_key.exists():
            write_key_pair(DEFAULT_SUITE, self.checkpoint_key)

    def _embedded(self) -> str:
        try:  # only the embedded mode needs it
            from pgserver.postgres_server import get_server
        except ModuleNotFoundError as exc:
            raise DemoError(
                "the embedded PostgreSQL needs the demo extra: pip install 'govgraph[demo]' "
                "(or set DATABASE_URL to a PostgreSQL server's admin DSN)"
            ) from exc

        self._pg = get_server(self.data_dir / "pg", cleanup_mode="stop")
        uri: str = self._pg.get_uri()
        return uri

    async def _ensure_city(self, admin: str) -> None:
        if await self._seeded(admin):
            self.samples = json.loads(self.samples_path.read_text(encoding="utf-8"))
            return
        started = time.perf_counter()
        log.info("seeding the demo city (%d persons, seed %d)", self.city.persons, self.city.seed)
        await self._recreate_databases(admin)
        self.samples = await synth.seed(self.dsns, self.city)
        record = json.dumps(self.samples, ensure_ascii=False)
        for department in DEPARTMENTS:
            conn = await asyncpg.connect(self.dsns[department])
            try:
                await conn.execute(_SEED_INFO)
                await conn.execute(
                    "INSERT INTO seed_info (seed, persons, as_of, samples) VALUES ($1, $2, $3, $4::jsonb)",
                    self.city.seed,
                    self.city.persons,
                    self.city.as_of,
                    record,
                )
            finally:
                await conn.close()
        self.samples_path.write_text(json.dumps(self.samples, ensure_ascii=False, indent=2), encoding="utf-8")
        self.seed_seconds = time.perf_counter() - started
        log.info("seeded in %.1f s", self.seed_seconds)

    async def _seeded(self, admin: str) -> bool:
        """True when every department holds this city (same seed and size)."""
        for department in DEPARTMENTS:
            try:
                conn = await asyncpg.connect(self.dsns[department])
            except (OSError, asyncpg.PostgresError):
                return False
            try:
                row = await conn.fetchrow(
                    "SELECT seed, persons FROM seed_info ORDER BY seeded_at DESC LIMIT 1"
                )
            except asyncpg.UndefinedTableError:
                return False
            finally:
                await conn.close()
            if row is None or (row["seed"], row["persons"]) != (self.city.seed, self.city.persons):
                return False
        return self.samples_path.exists()

    async def _ensure_audit_database(self, admin: str) -> None:
        """The audit log outlives re-seeding: created once, never dropped here."""
        conn = await asyncpg.connect(database_dsn(admin))
        try:
            if not await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", AUDIT):
                await conn.execute(f"CREATE ROLE {AUDIT} LOGIN")
            if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", AUDIT):
                await conn.execute(f"CREATE DATABASE {AUDIT} OWNER {AUDIT}")
        finally:
            await conn.close()

    async def _recreate_databases(self, admin: str) -> None:
        conn = await asyncpg.connect(database_dsn(admin))
        try:
            for department in DEPARTMENTS:
                db, role = database_of(department), role_of(department)
                await conn.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
                exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
                if not exists:
                    await conn.execute(f"CREATE ROLE {role} LOGIN")
                await conn.execute(f"CREATE DATABASE {db} OWNER {role}")
        finally:
            await conn.close()
        for department in DEPARTMENTS:
            ddl = (SQL_DIR / f"{department}.sql").read_text(encoding="utf-8")
            dept = await asyncpg.connect(self.dsns[department])
            try:
                await dept.execute(ddl)
            finally:
                await dept.close()

    def gateway_env(self) -> dict[str, str]:
        """The variables govgraph.toml reads to find the demo's departments."""
        env = {f"GOVGRAPH_{d.upper()}_DSN": dsn for d, dsn in self.dsns.items() if d not in self.urls}
        env |= {f"GOVGRAPH_{d.upper()}_URL": url for d, url in self.urls.items()}
        env["GOVGRAPH_AUDIT_DSN"] = self.audit_dsn
        env["GOVGRAPH_AUDIT_CHECKPOINTS"] = str(self.checkpoints.resolve())
        env["GOVGRAPH_AUDIT_CHECKPOINT_KEY"] = str(self.checkpoint_key.resolve())
        if self.graphiql_presets is not None:
            env["GOVGRAPH_GRAPHIQL_PRESETS"] = str(self.graphiql_presets.resolve())
        return env

    def describe(self) -> Mapping[str, str]:
        return {**{d: _redacted(dsn) for d, dsn in self.dsns.items() if d not in self.urls}, **self.urls}

    async def stop_department(self, department: str) -> None:
        """Take one REST department down (fault drills); its port then refuses connections."""
        runner = self._runners.pop(department)
        await runner.cleanup()

    async def stop(self) -> None:
        for runner in reversed(list(self._runners.values())):
            await runner.cleanup()
        self._runners.clear()
        if self._pg is not None:
            self._pg.cleanup()
            self._pg = None


def _redacted(dsn: str) -> str:
    parts = urlsplit(dsn)
    user, _, host = parts.netloc.rpartition("@")
    return urlunsplit((parts.scheme, f"{user.split(':')[0]}@{host}", parts.path, parts.query, ""))
