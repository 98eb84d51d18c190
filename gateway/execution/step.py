"""A step of the operation pipeline: a Strawberry extension that says when a deployment
wants it and reads the process's runtime from the request's context.

Steps take no constructor arguments: Strawberry makes one per operation, and what they
need (the documents, the audit writer, the limits in force now) is read from the
`RequestContext` the view builds, never captured when the schema is built. gateway/app.py
lists the steps in order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from strawberry.extensions import SchemaExtension

from resolvers.context import Context

if TYPE_CHECKING:
    from gateway.config.settings import Settings
    from gateway.runtime import Runtime

__all__ = ["RequestContext", "Step"]


@dataclass(kw_only=True)
class RequestContext(Context):
    """The context of an operation served over HTTP: the resolvers' `Context`, plus the
    runtime that only the gateway's steps read."""

    runtime: Runtime


class Step(SchemaExtension):
    @classmethod
    def wanted(cls, settings: Settings) -> bool:
        """Whether a gateway with these settings runs this step at all; a step that is off
        costs nothing per operation."""
        return True

    @property
    def runtime(self) -> Runtime:
        context = self.execution_context.context
        if not isinstance(context, RequestContext):
            raise TypeError(f"{type(self).__name__} runs only in the gateway's HTTP pipeline")
        return context.runtime
