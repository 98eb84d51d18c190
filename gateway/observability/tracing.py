"""OpenTelemetry tracing, off unless `[tracing] enabled = true`.

When on, each GraphQL operation is a span (joining the caller's trace when the request
carries a W3C `traceparent`), and each backend call a child span (sources/stats.py) whose
context REST departments receive in their own `traceparent` (sources/http.py). Spans
carry bounded, non-personal attributes only: operation label, client, purpose, outcome,
request id; source, entity, batch size. When off, none of this is installed: no
extension, no tracer, and the HTTP adapter's check for a current span finds none.

The provider is this app's own, not the global one, so several apps (tests) can trace
side by side.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from graphql import GraphQLError
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from gateway.config.settings import Settings, TracingSettings
from gateway.execution.outcome import Outcome, classify
from gateway.execution.step import Step
from resolvers.context import Context
from sources.errors import ConfigError

__all__ = ["OperationSpan", "Tracing"]

# A caller's W3C trace context is joined; its baggage is not taken in.
_PROPAGATOR = TraceContextTextMapPropagator()


def _one_line(span: ReadableSpan) -> str:
    return str(span.to_json(indent=None)) + os.linesep


def _exporter(name: str) -> SpanExporter:
    if name == "console":
        return ConsoleSpanExporter(formatter=_one_line)
    try:  # an optional package: the `otel` extra
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError as exc:
        raise ConfigError(
            'tracing.exporter: "otlp" needs the OTLP exporter, which is not installed: '
            "pip install 'govgraph[otel]' (opentelemetry-exporter-otlp-proto-http)"
        ) from exc
    # Endpoint, headers and timeout from the standard OTEL_EXPORTER_OTLP_* variables.
    return OTLPSpanExporter()


class Tracing:
    """This app's tracer provider. Made with the app (so a missing exporter package stops
    start-up), started by the serving process's lifespan (the export thread lives there).
    `exporter` replaces the configured one and exports each span as it ends (tests pass
    an InMemorySpanExporter)."""

    def __init__(self, settings: TracingSettings, exporter: SpanExporter | None = None) -> None:
        self._immediate = exporter is not None
        self._exporter = exporter if exporter is not None else _exporter(settings.exporter)
        ratio = TraceIdRatioBased(settings.sample_ratio)
        self.provider = TracerProvider(
            resource=Resource.create({"service.name": settings.service_name}),
            # A caller's "sampled" flag cannot raise the share above sample_ratio: anyone
            # could otherwise have every request traced, at the gateway's expense.
            sampler=ParentBased(ratio, remote_parent_sampled=ratio),
        )
        self.tracer: Tracer = self.provider.get_tracer("govgraph")

    def start(self) -> None:
        if self._immediate:
            self.provider.add_span_processor(SimpleSpanProcessor(self._exporter))
        else:
            self.provider.add_span_processor(BatchSpanProcessor(self._exporter))

    def shutdown(self) -> None:
        """Export what is buffered and stop."""
        self.provider.shutdown()


class OperationSpan(Step):
    """A span around each operation; it opens before every other step's `on_operation`,
    so their work and every backend call of the operation is inside it."""

    @classmethod
    def wanted(cls, settings: Settings) -> bool:
        return settings.tracing.enabled

    def on_operation(self) -> Iterator[None]:
        ctx = self.execution_context
        context = ctx.context
        request = getattr(context, "request", None)
        parent = _PROPAGATOR.extract(request.headers) if request is not None else None
        tracing = self.runtime.tracing
        if tracing is None:  # a runtime built without tracing: nothing to record
            yield
            return
        with tracing.tracer.start_as_current_span(
            "graphql operation",
            context=parent,
            kind=SpanKind.SERVER,
            record_exception=False,  # messages may quote the document
            set_status_on_exception=False,
        ) as span:
            outcome = Outcome.ERROR
            try:
                yield
                errors = list(ctx.pre_execution_errors or [])
                has_data = getattr(ctx.result, "data", None) is not None and all(e.path for e in errors)
                outcome = classify([(e.extensions or {}).get("code") for e in errors], has_data)
            except GraphQLError as exc:  # raised by a later extension (e.g. AUDIT_UNAVAILABLE)
                outcome = classify([(exc.extensions or {}).get("code")], False)
                raise
            finally:
                label = self.runtime.names.label(ctx.operation_name, ctx.query)
                span.update_name(f"graphql {label}")
                span.set_attribute("graphql.operation.name", label)
                span.set_attribute("govgraph.outcome", outcome)
                if isinstance(context, Context):
                    span.set_attribute("govgraph.client", context.principal.client_id)
                    span.set_attribute("govgraph.purpose", context.principal.purpose)
                    request_id = getattr(context.access, "request_id", None)
                    if request_id:
                        span.set_attribute("govgraph.request_id", request_id)
                if outcome not in ("ok", "denied"):
                    span.set_status(Status(StatusCode.ERROR, outcome))
