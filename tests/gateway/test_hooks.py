"""The steps' hooks bound from a per-class table (gateway/execution/hooks.py) run exactly
as strawberry's own runner runs them: same hooks, same order, same exceptions seen."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import strawberry
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext

from gateway.execution.hooks import LeanRunner

LOG: list[str] = []


class Generators(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        LOG.append("operation:enter")
        try:
            yield
        except Exception as exc:  # what an exception below looks like from here
            LOG.append(f"operation:saw {exc}")
            raise
        LOG.append(f"operation:exit {self.execution_context.result is not None}")

    def on_parse(self) -> Iterator[None]:
        LOG.append("parse:enter")
        yield
        LOG.append("parse:exit")


class AsyncGenerators(SchemaExtension):
    async def on_validate(self) -> AsyncIterator[None]:
        LOG.append("validate:enter")
        yield
        LOG.append(f"validate:exit {len(self.execution_context.pre_execution_errors or [])}")

    async def on_execute(self) -> AsyncIterator[None]:
        LOG.append("execute:enter")
        yield
        if self.execution_context.query and "boom" in self.execution_context.query:
            raise RuntimeError("boom on the way out")
        LOG.append("execute:exit")


class Plain(SchemaExtension):
    """Plain functions as hooks: strawberry's own look-up wraps them."""

    def on_parse(self) -> None:  # type: ignore[override]
        LOG.append("plain parse")

    async def on_execute(self) -> None:  # type: ignore[override]
        LOG.append("plain execute")


class Nothing(SchemaExtension):
    def get_results(self) -> dict[str, Any]:
        return {"nothing": True}


@strawberry.type
class Query:
    @strawberry.field
    def hello(self) -> str:
        return "world"

    @strawberry.field
    def boom(self) -> str:
        return "fine"


class Lean(strawberry.Schema):
    def create_extensions_runner(
        self, execution_context: ExecutionContext, extensions: list[SchemaExtension]
    ) -> LeanRunner:
        return LeanRunner(execution_context=execution_context, extensions=extensions)


EXTENSIONS = [Generators, AsyncGenerators, Plain, Nothing, Generators]


async def _run(schema: strawberry.Schema, query: str) -> tuple[list[str], Any]:
    LOG.clear()
    try:
        result = await schema.execute(query)
        outcome: Any = (result.data, [e.message for e in result.errors or []], result.extensions)
    except Exception as exc:  # a hook that raises on the way out fails the call
        outcome = f"raised {type(exc).__name__}: {exc}"
    return list(LOG), outcome


@pytest.mark.parametrize("query", ["{ hello }", "{ hello", "{ nope }", "{ boom }"])
async def test_the_lean_runner_runs_the_hooks_as_strawberry_does(query: str) -> None:
    lean = Lean(query=Query, extensions=EXTENSIONS)
    plain = strawberry.Schema(query=Query, extensions=EXTENSIONS)
    for _ in range(2):  # the second time from the table
        seen = await _run(lean, query)
        assert seen == await _run(plain, query)
        assert seen[0]  # the hooks ran
    if query == "{ hello }":
        assert seen[0].count("operation:enter") == 2
        assert "plain execute" in seen[0]
    if query == "{ boom }":
        assert "operation:saw boom on the way out" in seen[0]
