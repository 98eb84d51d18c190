"""`extensions.sources`: each department an operation consulted, and how it went."""

from __future__ import annotations

from typing import Any

from gateway.execution.step import Step
from resolvers.context import Context

__all__ = ["SourceReport"]


class SourceReport(Step):
    """`extensions.sources` in the response: each department consulted and how it went
    ("ok" or "failed"), so a client can tell "no record" from "not permitted" from
    "department down". Only a purpose that may read the schema (development) is told
    "cached" (answered from the record cache alone): to anyone else it would say which ids
    were asked recently, by anyone. Logs and metrics keep it for operators."""

    def get_results(self) -> dict[str, Any]:
        context = self.execution_context.context
        if not isinstance(context, Context):
            return {}
        consulted = context.loaders.consulted()
        if not context.principal.may_introspect:
            consulted = {
                source: "ok" if status == "cached" else status for source, status in consulted.items()
            }
        return {"sources": consulted} if consulted else {}
