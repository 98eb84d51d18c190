"""Tracing: a span per operation and per backend call, and the W3C traceparent a REST
department receives, which names the gateway's call span."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import httpx
import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from gateway.app import create_app
from gateway.config.settings import TracingSettings
from sources.base import EntitySpec, SourceSpec
from tests.resolvers.city import CHILD

from .support import DEVELOPER, settings

QUERY = "query Insured($id: ResidentId!) { person(id: $id) { name socialInsurance { status } } }"
CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"


class Department:
    """A social-insurance REST department on loopback that keeps each request's traceparent."""

    def __init__(self) -> None:
        self.traceparents: list[str | None] = []
        self.baggage: list[str | None] = []

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.traceparents.append(request.headers.get("traceparent"))
        self.baggage.append(request.headers.get("baggage"))
        keys = (await request.json())["keys"]
        if not request.path.startswith("/v1/insured_persons"):
            return web.json_response({"items": []})
        items = [
            {"person_id": k, "si_no": "3502000001", "status": "1", "first_insured_month": "202001",
             "current_employer": None, "updated_on": "2026-09-01"}
            for k in keys
        ]  # fmt: skip
        return web.json_response({"items": items})


@pytest_asyncio.fixture
async def department() -> AsyncIterator[tuple[Department, str]]:
    dept = Department()
    app = web.Application()
    app.router.add_post("/{tail:.*}", dept.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield dept, str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


def rest_social_insurance(url: str) -> SourceSpec:
    paths = {
        "insured_person": ("insured_persons", "person_id", False),
        "contributions": ("contributions", "person_id", True),
        "employer_headcount": ("employer_headcounts", "credit_code", True),
    }
    entities = {
        name: EntitySpec(name, key, many=many, options={"path": f"/v1/{path}:batchGet"})
        for name, (path, key, many) in paths.items()
    }
    return SourceSpec("social_insurance", "http", entities, {"base_url": url})


@asynccontextmanager
async def traced(
    exporter: InMemorySpanExporter | None, url: str | None = None, enabled: bool = True
) -> AsyncIterator[httpx.AsyncClient]:
    base = settings(tracing=TracingSettings(enabled=enabled))
    if url is not None:
        base = replace(
            base,
            sources=tuple(
                rest_social_insurance(url) if s.name == "social_insurance" else s for s in base.sources
            ),
        )
    app = create_app(base, span_exporter=exporter)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            yield client


def by_kind(spans: tuple[ReadableSpan, ...], kind: SpanKind) -> list[ReadableSpan]:
    return [s for s in spans if s.kind == kind]


async def ask(client: httpx.AsyncClient, **extra: str) -> dict[str, Any]:
    response = await client.post(
        "/graphql", json={"query": QUERY, "variables": {"id": CHILD}}, headers={**DEVELOPER, **extra}
    )
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    body["request_id"] = response.headers["x-request-id"]
    return body


async def test_an_operation_span_holds_a_span_per_backend_call(department: tuple[Department, str]) -> None:
    dept, url = department
    exporter = InMemorySpanExporter()
    async with traced(exporter, url) as client:
        body = await ask(client)
    assert body["data"]["person"]["socialInsurance"]["status"] == "PAYING"
    spans = exporter.get_finished_spans()
    (operation,) = by_kind(spans, SpanKind.SERVER)
    calls = by_kind(spans, SpanKind.CLIENT)
    assert operation.name == "graphql other"  # an ad-hoc name is not a label
    assert operation.attributes is not None
    assert dict(operation.attributes) == {
        "graphql.operation.name": "other",
        "govgraph.outcome": "ok",
        "govgraph.client": "developer",
        "govgraph.purpose": "development",
        "govgraph.request_id": body["request_id"],
    }
    assert operation.parent is None  # the client sent no traceparent
    assert {(s.attributes or {}).get("govgraph.source") for s in calls} == {
        "public_security",
        "social_insurance",
    }
    for span in calls:
        assert span.context is not None
        assert operation.context is not None
        assert span.context.trace_id == operation.context.trace_id
        assert span.parent is not None
        assert span.parent.span_id == operation.context.span_id
        attributes = dict(span.attributes or {})
        assert attributes["govgraph.batch_size"] == 1
        assert span.name == f"source {attributes['govgraph.source']}.{attributes['govgraph.entity']}"
    assert CHILD not in str([dict(s.attributes or {}) for s in spans])
    # The department received the context of the gateway's call span.
    (call,) = [s for s in calls if (s.attributes or {}).get("govgraph.source") == "social_insurance"]
    assert call.context is not None
    ids = f"{call.context.trace_id:032x}-{call.context.span_id:016x}"
    assert dept.traceparents == [f"00-{ids}-{int(call.context.trace_flags):02x}"]
    assert call.context.trace_flags.sampled


async def test_a_callers_traceparent_is_joined(department: tuple[Department, str]) -> None:
    dept, url = department
    exporter = InMemorySpanExporter()
    async with traced(exporter, url) as client:
        await ask(client, traceparent=f"00-{CALLER_TRACE}-{CALLER_SPAN}-01", baggage=f"subject={CHILD}")
    (operation,) = by_kind(exporter.get_finished_spans(), SpanKind.SERVER)
    assert operation.context is not None
    assert operation.parent is not None
    assert f"{operation.context.trace_id:032x}" == CALLER_TRACE
    assert f"{operation.parent.span_id:016x}" == CALLER_SPAN
    (received,) = dept.traceparents
    assert received is not None
    assert received.startswith(f"00-{CALLER_TRACE}-")
    assert dept.baggage == [None]  # a caller's baggage is not passed on to departments


async def test_failed_calls_mark_their_spans(department: tuple[Department, str]) -> None:
    _, url = department
    exporter = InMemorySpanExporter()
    async with traced(exporter, url.rsplit(":", 1)[0] + ":1") as client:  # nothing listens on port 1
        body = await ask(client)
    assert body["errors"][0]["extensions"]["code"] == "SOURCE_UNAVAILABLE"
    spans = exporter.get_finished_spans()
    (operation,) = by_kind(spans, SpanKind.SERVER)
    assert (operation.attributes or {})["govgraph.outcome"] == "partial"
    failed = [
        s
        for s in by_kind(spans, SpanKind.CLIENT)
        if (s.attributes or {}).get("govgraph.source") == "social_insurance"
    ]
    assert failed
    assert all((s.attributes or {})["govgraph.outcome"] == "SOURCE_UNAVAILABLE" for s in failed)
    assert all(not s.status.is_ok and s.status.description == "SOURCE_UNAVAILABLE" for s in failed)


async def test_off_no_spans_and_no_traceparent(department: tuple[Department, str]) -> None:
    dept, url = department
    async with traced(None, url, enabled=False) as client:
        body = await ask(client, traceparent=f"00-{CALLER_TRACE}-{CALLER_SPAN}-01")
    assert body["data"]["person"]["socialInsurance"]["status"] == "PAYING"
    assert dept.traceparents == [None]


class Collector(BaseHTTPRequestHandler):
    """An OTLP/HTTP collector on loopback, in a thread of its own: the exporter posts from
    the span processor's thread and shutdown waits for it on the event loop's."""

    received: ClassVar[list[tuple[str, str, bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, self.headers["Content-Type"], body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


async def test_the_otlp_exporter_sends_the_spans_to_a_collector(monkeypatch: pytest.MonkeyPatch) -> None:
    Collector.received.clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        endpoint = f"http://127.0.0.1:{server.server_address[1]}/v1/traces"
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", endpoint)
        app = create_app(settings(tracing=TracingSettings(enabled=True, exporter="otlp")))
        async with app.router.lifespan_context(app):  # leaving it flushes the batch
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
                body = await ask(client)
        assert body["data"]["person"]["name"]
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
    assert Collector.received, "no spans reached the collector"
    names = []
    for path, content_type, payload in Collector.received:
        assert path == "/v1/traces"
        assert content_type == "application/x-protobuf"
        request = ExportTraceServiceRequest.FromString(payload)
        names += [s.name for r in request.resource_spans for ss in r.scope_spans for s in ss.spans]
    assert "graphql other" in names, names
    assert any(n.startswith("source public_security.") for n in names), names
