"""A department behind a REST API: one aiohttp session per source.

Entities are served either by a batch endpoint (`POST {path}` with `{"keys": [...]}`,
answering `{"items": [...]}` in any order) or, for departments that only have
single-key endpoints, by concurrent `GET {path}` with `{key}` substituted, under a
per-source concurrency cap so one request cannot open hundreds of connections.

Timeouts: `connect_timeout` to get a connection, `timeout` for the whole request and
for any silence while reading. Answers are checked strictly: an item for a key that was
not asked for, or a second item for a one-to-one key, means the department's answer
cannot be trusted, and the whole call is a `BadSourceResponse`. Each distinct key is
asked once, so a one-to-one key never legitimately comes back twice. A department that
refuses the keys (400, 404 to a batch, 422) raises `SourceRejected`: the request's
fault, which says nothing about the department's health.

Tracing: while a span is current (tracing on, see sources/stats.py), every request
carries its W3C `traceparent`, so a department's own traces join the gateway's.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp
import orjson
from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from .base import EntitySpec, Record, Result, SourceSpec, align
from .errors import BadSourceResponse, SourceConfigError, SourceRejected, SourceTimeout, SourceUnavailable
from .options import Options

__all__ = ["HttpSource"]

# Statuses that refuse the request's keys, not report the department's trouble: bad
# request, not found (a batch endpoint's; a single-key GET's 404 is "no such record")
# and unprocessable content.
_REJECTED = frozenset({400, 404, 422})
_NOT_A_SEGMENT = frozenset({"", ".", ".."})  # keys a single-key path cannot hold


@dataclass(frozen=True)
class _Endpoint:
    path: str
    batch: bool
    key: str
    many: bool


def _endpoint(source: str, entity: EntitySpec) -> _Endpoint:
    where = f"sources.{source}.entities.{entity.name}"
    opts = Options(where, entity.options, {"path", "mode"})
    path = opts.text("path")
    mode = opts.text("mode", "batch")
    if mode not in ("batch", "single"):
        raise SourceConfigError(f"{where}.mode", f"must be 'batch' or 'single', got {mode!r}")
    if not path.startswith("/"):
        raise SourceConfigError(f"{where}.path", "must start with '/'")
    if (mode == "single") != ("{key}" in path):
        raise SourceConfigError(f"{where}.path", "must contain '{key}' exactly when mode is 'single'")
    return _Endpoint(path, mode == "batch", entity.key, entity.many)


class HttpSource:
    """Options: `base_url` (required), `concurrency` (16) for single-key endpoints."""

    def __init__(self, spec: SourceSpec) -> None:
        opts = Options(f"sources.{spec.name}", spec.options, {"base_url", "concurrency"})
        self.name = spec.name
        self._base_url = opts.text("base_url").rstrip("/")
        if not self._base_url.startswith(("http://", "https://")):
            raise SourceConfigError(f"sources.{spec.name}.base_url", "must be an http:// or https:// URL")
        self._concurrency = opts.integer("concurrency", 16)
        self._timeout = spec.timeout
        self._connect_timeout = spec.resilience.connect_timeout
        # Batch calls are capped by the resilience layer and single-key GETs by
        # `concurrency`; the connection pool fits both so it never queues a request.
        self._connections = spec.resilience.max_in_flight + self._concurrency
        self._endpoints = {name: _endpoint(spec.name, e) for name, e in spec.entities.items()}
        self._session: aiohttp.ClientSession | None = None
        self._slots: asyncio.Semaphore | None = None

    def _open(self) -> aiohttp.ClientSession:
        # Created on first use, inside the running loop (aiohttp 3.14 requires one).
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connections, keepalive_timeout=30),
                timeout=aiohttp.ClientTimeout(
                    total=self._timeout, connect=self._connect_timeout, sock_read=self._timeout
                ),
                json_serialize=lambda v: orjson.dumps(v).decode(),
            )
            self._slots = asyncio.Semaphore(self._concurrency)
        return self._session

    @contextlib.asynccontextmanager
    async def _translated(self, entity: str) -> AsyncIterator[None]:
        try:
            yield
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:  # before ClientError: it is one
            raise SourceTimeout(
                self.name, entity, f"no answer within {self._timeout}s ({type(exc).__name__})"
            ) from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise SourceUnavailable(self.name, entity, type(exc).__name__) from exc
        except (orjson.JSONDecodeError, UnicodeDecodeError) as exc:
            raise BadSourceResponse(self.name, entity, "response is not JSON") from exc
        except (orjson.JSONEncodeError, UnicodeEncodeError) as exc:
            # A key that is not Unicode text (a lone surrogate) cannot even be sent.
            raise SourceRejected(self.name, entity, "a key cannot be encoded") from exc

    async def fetch_many(self, entity: str, keys: Sequence[str]) -> list[Result]:
        endpoint = self._endpoints.get(entity)
        if endpoint is None:
            raise BadSourceResponse(self.name, entity, "entity not configured for this source")
        session = self._open()
        async with self._translated(entity):
            unique = list(dict.fromkeys(keys))  # each key is asked once
            if endpoint.batch:
                body = await self._request(session, entity, "POST", endpoint.path, {"keys": unique})
                items = body.get("items") if isinstance(body, dict) else None
                rows = self._records(entity, items, endpoint, unique)
                return align(rows, keys, endpoint.key, endpoint.many)
            answers = await asyncio.gather(*(self._get_one(session, entity, endpoint, k) for k in unique))
            by_key = dict(zip(unique, answers, strict=True))
            return [by_key[k] for k in keys]

    async def _get_one(
        self, session: aiohttp.ClientSession, entity: str, endpoint: _Endpoint, key: str
    ) -> Result:
        if self._slots is None:
            raise RuntimeError(f"source {self.name!r} is used before it is opened")
        if key in _NOT_A_SEGMENT:
            # "/v1/schools/.." would be resolved to "/v1/": another resource of the department.
            raise SourceRejected(self.name, entity, "a key that cannot name a record in a URL")
        async with self._slots:
            # safe="": a "/" in a key must not become a path separator ("../admin").
            body = await self._request(
                session, entity, "GET", endpoint.path.replace("{key}", quote(key, safe="")), None
            )
        if body is None:
            return [] if endpoint.many else None
        if endpoint.many:
            return self._records(entity, body, endpoint, [key])
        return self._records(entity, [body], endpoint, [key])[0]

    async def _request(
        self, session: aiohttp.ClientSession, entity: str, method: str, path: str, payload: Any
    ) -> Any:
        async with session.request(
            method, self._base_url + path, json=payload, headers=_trace_headers()
        ) as resp:
            if resp.status == 404 and method == "GET":
                return None  # a single-key endpoint's "no such record"
            if resp.status in _REJECTED:
                raise SourceRejected(self.name, entity, f"HTTP {resp.status}")
            if resp.status >= 500:
                raise SourceUnavailable(self.name, entity, f"HTTP {resp.status}")
            if resp.status != 200:
                raise BadSourceResponse(self.name, entity, f"HTTP {resp.status}")
            return orjson.loads(await resp.read())

    def _records(self, entity: str, items: Any, endpoint: _Endpoint, keys: Sequence[str]) -> list[Record]:
        """`items` as records, refusing any that answer a key not asked for (or twice)."""
        if not isinstance(items, list) or not all(
            isinstance(i, dict) and isinstance(i.get(endpoint.key), str) for i in items
        ):
            raise BadSourceResponse(
                self.name, entity, f"expected a list of records keyed by {endpoint.key!r}"
            )
        self._check_keys(entity, [i[endpoint.key] for i in items], endpoint.many, keys)
        return items

    def _check_keys(self, entity: str, answered: list[str], many: bool, asked: Sequence[str]) -> None:
        # A department that answers what was not asked has mixed something up: trust none of it.
        unasked = not set(asked).issuperset(answered)
        if unasked or (not many and len(set(answered)) != len(answered)):
            problem = "a key not asked for" if unasked else "a key answered twice"
            raise BadSourceResponse(self.name, entity, f"the wrong number of items ({problem})")

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


# W3C trace context only: baggage (which a caller could fill) is not passed on.
_PROPAGATOR = TraceContextTextMapPropagator()


def _trace_headers() -> dict[str, str] | None:
    """`traceparent` (and `tracestate`) of the current span; None when tracing is off."""
    if not trace.get_current_span().get_span_context().is_valid:
        return None
    headers: dict[str, str] = {}
    _PROPAGATOR.inject(headers)
    return headers
