"""Running one operation on both executors (plan and Strawberry) and comparing everything
a client and the audit log would see: data, errors (paths, codes, locations), extensions,
and what the operation recorded (subjects read, denials, look-ups, verdicts).

The operations: every query document the repository holds (registered documents,
examples, the bench's operations, every query written in a test) and queries generated
over the schema (test_plan_differential.py). Departments are the demo city's real ones,
with faults injected per entity or per key by wrapping their sources.
"""

from __future__ import annotations

import ast
import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    parse,
    validate,
)

from gateway.access.auth import principal_for
from gateway.access.tally import MemoryTally
from gateway.audit.record import AccessRecord
from gateway.execution.schema import CORE, GatewaySchema, build_schema
from gateway.execution.source_report import SourceReport
from gateway.policy.model import Policy
from resolvers.context import Context, Principal, RequestTally
from resolvers.loaders import Loaders
from sources.base import Result, Source
from sources.errors import SourceTimeout, SourceUnavailable
from sources.registry import Catalog

ROOT = Path(__file__).resolve().parents[2]
TODAY = dt.date(2026, 9, 15)


def schemas() -> tuple[GatewaySchema, GatewaySchema]:
    """The gateway's schema on the plan executor, and on Strawberry's."""
    steps = [*CORE, SourceReport]
    return build_schema(steps, executor="plan"), build_schema(steps, executor="strawberry")


# Faults ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Faults:
    """Entities whose every call fails, and keys whose calls time out."""

    entities: frozenset[str] = frozenset()
    keys: frozenset[str] = frozenset()


class _Faulty:
    def __init__(self, inner: Source, faults: Faults) -> None:
        self.inner, self.faults = inner, faults
        self.name = inner.name

    async def fetch_many(self, entity: str, keys: Sequence[str]) -> list[Result]:
        if entity in self.faults.entities:
            raise SourceUnavailable(self.name, entity, "fault drill: the department is down")
        if self.faults.keys.intersection(keys):
            raise SourceTimeout(self.name, entity, "fault drill: no answer for this key")
        return await self.inner.fetch_many(entity, keys)

    async def aclose(self) -> None:
        return None


def faulty(catalog: Catalog, faults: Faults) -> Catalog:
    if not (faults.entities or faults.keys):
        return catalog
    wrapped = {name: _Faulty(s, faults) for name, s in catalog.sources.items()}
    routes = {e: replace(r, source=wrapped[r.source.name]) for e, r in catalog.routes.items()}
    return Catalog(wrapped, routes, catalog.stats)  # type: ignore[arg-type]


# Principals -----------------------------------------------------------------------------


def principals(policy: Policy) -> list[Principal]:
    """Every demo client, for each purpose it may declare."""
    return [
        principal_for(policy, client, purpose)
        for client in policy.clients.values()
        for purpose in sorted(client.purposes)
    ]


# Running --------------------------------------------------------------------------------


def _access(principal: Principal) -> AccessRecord:
    return AccessRecord(
        request_id="differential",
        client=principal.client_id,
        purpose=principal.purpose,
        case_id=None,
        operator=None,
        operation=None,
        document_hash="",
    )


def _error(formatted: Mapping[str, Any]) -> str:
    extensions = {k: v for k, v in formatted.get("extensions", {}).items() if k != "errorId"}
    return json.dumps({**formatted, "extensions": extensions}, sort_keys=True, ensure_ascii=False)


@dataclass
class Outcome:
    data: Any
    errors: list[str]
    extensions: Any
    subjects: dict[str, list[str]]
    denied: list[tuple[str, str]]
    lookups: dict[str, str]
    conclusions: dict[str, list[str]]
    executor: dict[str, Any] = field(default_factory=dict, compare=False)


async def run(
    schema: GatewaySchema,
    catalog: Catalog,
    principal: Principal,
    query: str,
    variables: Mapping[str, Any] | None,
    operation: str | None = None,
) -> Outcome:
    access = _access(principal)
    context = Context(
        loaders=Loaders(catalog),
        principal=principal,
        access=access,
        audit_subject=lambda identifier: f"hmac:{identifier}",
        max_list_keys=20,
        tally=RequestTally(store=MemoryTally()),
        today=TODAY,
    )
    try:
        result = await schema.execute(
            query, variable_values=dict(variables or {}), context_value=context, operation_name=operation
        )
    finally:
        context.loaders.release()
    return Outcome(
        data=result.data,
        errors=[_error(e.formatted) for e in result.errors or ()],  # in the order answered
        extensions=result.extensions,
        subjects={s: sorted(scopes) for s, scopes in access.subjects.items()},
        denied=sorted(access.denied),
        lookups=dict(access.lookups),
        conclusions={
            s: sorted(json.dumps(c, sort_keys=True, default=str) for c in found)
            for s, found in access.conclusions.items()
        },
    )


async def differ(
    pair: tuple[GatewaySchema, GatewaySchema],
    catalog: Catalog,
    principal: Principal,
    query: str,
    variables: Mapping[str, Any] | None,
    operation: str | None = None,
) -> tuple[Outcome, Outcome]:
    planned = await run(pair[0], catalog, principal, query, variables, operation)
    reference = await run(pair[1], catalog, principal, query, variables, operation)
    return _settled(planned), _settled(reference)


def _settled(outcome: Outcome) -> Outcome:
    """When a non-null root field failed (no data), the department calls still in flight for
    the rest of the answer are cancelled, and whether one finished first, and is reported
    "ok", is a race in either executor: only the failed ones are compared then."""
    sources = (outcome.extensions or {}).get("sources")
    if outcome.data is not None or not outcome.errors or sources is None:
        return outcome
    failed = {name: status for name, status in sources.items() if status == "failed"}
    others = {k: v for k, v in outcome.extensions.items() if k != "sources"}
    return replace(outcome, extensions={**others, **({"sources": failed} if failed else {})})


# The corpus -------------------------------------------------------------------------------


def _queries(document: DocumentNode) -> list[OperationDefinitionNode]:
    return [
        d
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode) and d.operation is OperationType.QUERY
    ]


def _strings(path: Path) -> Iterable[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and "{" in node.value:
            yield node.value


@dataclass(frozen=True)
class Entry:
    where: str
    query: str
    operation: str | None
    variables: tuple[tuple[str, str], ...]  # (name, type as written)


def corpus(schema: GatewaySchema) -> list[Entry]:
    """Every query the repository writes that the schema validates, once each."""
    texts: dict[str, str] = {}
    files = sorted(ROOT.glob("documents/*.graphql")) + sorted(ROOT.glob("examples/*.py"))
    files += sorted(ROOT.glob("bench/*.py")) + sorted(ROOT.glob("tests/**/*.py"))
    for path in files:
        found = [path.read_text(encoding="utf-8")] if path.suffix == ".graphql" else _strings(path)
        for text in found:
            texts.setdefault(text, str(path.relative_to(ROOT)))
    core = schema._schema
    entries = []
    for text, where in texts.items():
        try:
            document = parse(text)
        except GraphQLError:
            continue
        if not _queries(document) or validate(core, document):
            continue
        for op in _queries(document):
            names = tuple((v.variable.name.value, _written(v.type)) for v in op.variable_definitions or ())
            entries.append(Entry(where, text, op.name.value if op.name else None, names))
    return entries


def _written(node: Any) -> str:
    from graphql import print_ast

    return print_ast(node)
