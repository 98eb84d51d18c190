"""The auditor's view of the audit log: who accessed a person or enterprise, and why."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from sources.base import Record

from .context import Info
from .derivations import derived
from .directives import max_length, scope
from .scalars import parse_subject
from .subjects import Subject
from .values import as_datetime

__all__ = ["AccessEvent", "access_log"]

_A = "audit.read"


@strawberry.type(description="One operation that read a subject's data.")
class AccessEvent(Subject):
    time: dt.datetime | None = strawberry.field(directives=scope(_A))
    client: str = strawberry.field(directives=scope(_A))
    purpose: str = strawberry.field(directives=scope(_A))
    case_id: str | None = strawberry.field(directives=scope(_A))
    operator: str | None = strawberry.field(directives=scope(_A))
    operation: str | None = strawberry.field(directives=scope(_A))
    scopes: list[str] = strawberry.field(
        directives=scope(_A), description="Data scopes read about the subject."
    )
    outcome: str = strawberry.field(directives=scope(_A))
    basis: str | None = strawberry.field(
        directives=scope(_A), description="What the client's grant rested on: a legal basis or approval."
    )
    request_id: str = strawberry.field(directives=scope(_A))
    subject_id: strawberry.Private[str]

    @classmethod
    def of(cls, r: Record, subject: str) -> AccessEvent:
        return cls(
            time=as_datetime(r.get("time")),
            client=r["client"],
            purpose=r["purpose"],
            case_id=r.get("case_id"),
            operator=r.get("operator"),
            operation=r.get("operation"),
            scopes=list(r.get("scopes") or []),
            outcome=r["outcome"],
            basis=r.get("basis"),
            request_id=r["request_id"],
            subject_id=subject,
        )


@derived(
    "Query",
    scope=_A,
    assumed=100,
    loads=("access_log",),
    description="Audit: who accessed this person or enterprise (by resident id or credit code).",
)
async def access_log(root: None, info: Info, subject: Annotated[str, max_length(32)]) -> list[AccessEvent]:
    """Newest first. The log holds only keyed hashes of ids; the gateway supplies the key."""
    identifier = parse_subject(subject)  # BAD_USER_INPUT, as `govgraph audit subject` says it
    info.context.access.read(identifier, "audit.read")  # looking is an access, even to an empty log
    every = info.context.audit_subjects
    keys = every(identifier) if every is not None else (info.context.audit_subject(identifier),)
    rows = [r for k in keys for r in await info.context.loaders.many("access_log", k)]
    return [AccessEvent.of(r, identifier) for r in sorted(rows, key=lambda r: str(r["time"]), reverse=True)]
