"""What one /graphql request did, in bounded terms, for its log line and its metrics.

The request log middleware opens an `Exchange` per request (in the ASGI scope's state);
`OperationObserver`, a schema extension, adds each executed operation's label and
outcome from the GraphQL result when the result is final (after error translation), so
it costs one pass over the errors per operation and nothing per field.

Everything here is safe to log and to use as a metric label: operation names only of
trusted documents (else "anonymous" or "other"), error codes, scope names, source names
and counts; never variables, ids or query text.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Container
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from graphql import GraphQLError

from gateway.execution.documents import Registry
from gateway.execution.outcome import Outcome, classify, refused, worst
from gateway.execution.step import Step
from resolvers.context import Context, Principal
from sources.stats import CallTally

if TYPE_CHECKING:
    from gateway.config.settings import Settings

__all__ = ["Exchange", "OperationNames", "OperationObserver", "OperationRecord"]


class OperationNames:
    """Operation names safe for labels: a trusted document's name when the operation is
    that document's text, "anonymous" when unnamed, "other" for any ad-hoc name."""

    def __init__(self, registry: Callable[[], Registry]) -> None:
        self._registry = registry
        self._seen: Registry | None = None
        self._texts: dict[str, str] = {}  # name -> document text

    def label(self, name: str | None, query: str | None) -> str:
        if name is None:
            return "anonymous"
        registry = self._registry()
        if registry is not self._seen:  # documents were reloaded
            self._texts = {d.name: d.text for d in registry}
            self._seen = registry
        return name if self._texts.get(name) == query else "other"


@dataclass
class OperationRecord:
    operation: str  # label
    outcome: Outcome
    errors: dict[str, int]  # code -> count
    denied: dict[str, int]  # scope -> fields refused
    sources: dict[str, str]  # source -> ok | cached | failed


@dataclass
class Exchange:
    """One /graphql request; closed by the request log middleware when it has answered."""

    request_id: str
    started: float = field(default_factory=time.perf_counter)
    operations: list[OperationRecord] = field(default_factory=list)
    client: str | None = None
    purpose: str | None = None
    status: int = 0
    outcome: str = ""
    seconds: float = 0.0
    calls: CallTally | None = None

    @property
    def batch(self) -> bool:
        """Several operations (a batch of one reads as that one operation)."""
        return len(self.operations) > 1

    @property
    def operation(self) -> str:
        """The label of the request as a whole: its operation's, "batch", or "none"."""
        if self.batch:
            return "batch"
        return self.operations[0].operation if self.operations else "none"

    def close(self, status: int, principal: Principal | None, calls: CallTally) -> None:
        self.seconds = time.perf_counter() - self.started
        self.status = status
        self.calls = calls
        if principal is not None:
            self.client, self.purpose = principal.client_id, principal.purpose
        if self.operations:
            self.outcome = worst([o.outcome for o in self.operations], status)
        else:
            self.outcome = refused(status)

    def log_fields(self) -> dict[str, Any]:
        """The request's log line: no variables, ids or query text."""
        consulted: dict[str, str] = {}
        for operation in self.operations:
            for source, status in operation.sources.items():
                if consulted.get(source) != "failed":
                    consulted[source] = status
        calls = self.calls.sources if self.calls is not None else {}
        sources = {
            name: {
                "status": consulted.get(name, "ok"),
                "calls": counts[0] if counts else 0,
                "keys": counts[1] if counts else 0,
                "failed": counts[2] if counts else 0,
            }
            for name in sorted(set(consulted) | set(calls))
            for counts in [calls.get(name)]
        }
        errors: dict[str, int] = {}
        denied: dict[str, int] = {}
        for operation in self.operations:
            for code, n in operation.errors.items():
                errors[code] = errors.get(code, 0) + n
            for scope, n in operation.denied.items():
                denied[scope] = denied.get(scope, 0) + n
        fields: dict[str, Any] = {
            "request_id": self.request_id,
            "client": self.client,
            "purpose": self.purpose,
            "operation": self.operation,
            "outcome": self.outcome,
            "status": self.status,
            "duration_ms": round(self.seconds * 1000, 3),
            "sources": sources,
            "errors": errors,
            "denied": denied,
        }
        if self.batch:
            fields["operations"] = [{"operation": o.operation, "outcome": o.outcome} for o in self.operations]
        return fields


def _denied_scope(error: GraphQLError, scopes: Container[str]) -> str:
    scope = (error.extensions or {}).get("scope")
    if scope is None:
        # Enforcement's jurisdiction refusals sit at a field; the introspection gate's at none.
        return "jurisdiction" if error.path else "introspection"
    return scope if scope in scopes else "other"


class OperationObserver(Step):
    """Adds each operation's record to its request's Exchange (if the request has one)."""

    @classmethod
    def wanted(cls, settings: Settings) -> bool:
        return settings.metrics.enabled or settings.logging.requests

    def get_results(self) -> dict[str, Any]:
        ctx = self.execution_context
        context = ctx.context
        request = getattr(context, "request", None)
        exchange = request.scope.get("state", {}).get("exchange") if request is not None else None
        if not isinstance(exchange, Exchange):
            return {}
        # Strawberry sets this to the final, translated errors (and leaves it unset when none).
        errors: list[GraphQLError] = list(ctx.pre_execution_errors or [])
        result = ctx.result
        # Field errors have a path; an error without one ended the whole operation (no data).
        has_data = getattr(result, "data", None) is not None and all(e.path for e in errors)
        codes: dict[str, int] = {}
        denied: dict[str, int] = {}
        for error in errors:
            code = str((error.extensions or {}).get("code", "INTERNAL_SERVER_ERROR"))
            codes[code] = codes.get(code, 0) + 1
            if code == "FORBIDDEN":
                scope = _denied_scope(error, self.runtime.schema.scopes)
                denied[scope] = denied.get(scope, 0) + 1
        exchange.operations.append(
            OperationRecord(
                operation=self.runtime.names.label(ctx.operation_name, ctx.query),
                outcome=classify(codes, has_data),
                errors=codes,
                denied=denied,
                sources=context.loaders.consulted() if isinstance(context, Context) else {},
            )
        )
        return {}
