"""The access workflow's GraphQL API at /console/graphql: what applicants, reviewers,
auditors, administrators and residents do in the console, for scripts and other tools.

People authenticate with their identity provider's bearer token (the console's audience);
cookies are never read here, so a page on another site cannot make a signed-in browser
call it. Every refusal is an error with a code (WorkflowError's).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import orjson
import strawberry
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter
from strawberry.scalars import JSON
from strawberry.types import Info

from gateway.applications.errors import WorkflowError
from gateway.applications.model import Application as ApplicationRecord
from gateway.applications.model import ApplicationInput, GrantView
from gateway.applications.workflow import Workflow
from gateway.console.history import access_history
from gateway.console.people import Person, person_of
from gateway.http.refusal import Refusal

if TYPE_CHECKING:
    from gateway.runtime import Runtime

__all__ = ["CONSOLE_SCHEMA", "console_graphql"]

log = logging.getLogger("govgraph.console")


@dataclass
class ConsoleContext:
    person: Person
    workflow: Workflow
    runtime: Runtime


def _workflow(info: Info[ConsoleContext, None]) -> tuple[Workflow, str]:
    return info.context.workflow, info.context.person.subject


@strawberry.type(description="A person signed in to the console, with the roles the policy store gives them.")
class Me:
    subject: str
    name: str
    roles: list[str]


@strawberry.type(description="An application for access (共享申请).")
class Application:
    id: str
    client: str
    purpose: str
    department: str
    items: list[str]
    masked_items: list[str]
    scopes: list[str] = strawberry.field(description="The scopes granted in full on approval.")
    masked_scopes: list[str]
    pins: JSON
    scenario: str = strawberry.field(description="应用场景: what the data is used for.")
    legal_basis: str
    period_days: int
    sharing: str = strawberry.field(description="unconditional (无条件共享) or conditional (有条件共享).")
    applicant: str
    submitted_at: dt.datetime
    due_at: dt.datetime | None
    overdue: bool
    state: str = strawberry.field(description="pending, approved or refused.")
    decided_by: str | None
    decided_at: dt.datetime | None
    reason: str | None
    grant: int | None

    @classmethod
    def of(cls, a: ApplicationRecord) -> Application:
        return cls(
            id=a.id, client=a.client, purpose=a.purpose, department=a.department, items=list(a.items),
            masked_items=list(a.masked_items), scopes=list(a.full), masked_scopes=list(a.masked),
            pins=cast(JSON, dict(a.pins)), scenario=a.scenario, legal_basis=a.legal_basis,
            period_days=a.period_days,
            sharing=a.sharing, applicant=a.applicant, submitted_at=a.submitted_at, due_at=a.due_at,
            overdue=a.overdue(dt.datetime.now(dt.UTC)), state=a.state, decided_by=a.decided_by,
            decided_at=a.decided_at, reason=a.reason, grant=a.grant,
        )  # fmt: skip


@strawberry.type(description="A grant: scopes a client may read for a purpose, and what it rests on.")
class Grant:
    id: int
    client: str
    purpose: str
    scopes: list[str]
    masked_scopes: list[str]
    basis: str | None
    application: str | None
    department: str | None
    origin: str = strawberry.field(description="import (policy file) or application.")
    valid_from: dt.datetime
    expires_at: dt.datetime | None
    state: str = strawberry.field(description="active, expired or revoked.")
    revoked_at: dt.datetime | None
    revoked_by: str | None
    revoke_reason: str | None

    @classmethod
    def of(cls, g: GrantView) -> Grant:
        return cls(
            id=g.id, client=g.client, purpose=g.purpose, scopes=list(g.full), masked_scopes=list(g.masked),
            basis=g.basis, application=g.application, department=g.department, origin=g.origin,
            valid_from=g.valid_from, expires_at=g.expires_at, state=g.state(dt.datetime.now(dt.UTC)),
            revoked_at=g.revoked_at, revoked_by=g.revoked_by, revoke_reason=g.revoke_reason,
        )  # fmt: skip


@strawberry.type(description="One access to the signed-in resident's record.")
class AccessToMe:
    time: dt.datetime
    client: str
    client_name: str
    purpose: str
    purpose_title: str
    basis: str | None = strawberry.field(description="The approval or legal basis the access rested on.")
    scopes: list[str]
    outcome: str
    verdicts: JSON


@strawberry.input(description="An application: catalogue items for a client's purpose.")
class ApplyInput:
    client: str
    purpose: str
    items: list[str] = strawberry.field(
        description='Catalogue resources ("serious_dishonesty"), items ("person.name") or verdict '
        'fields ("Enterprise.hasNoSeriousDishonesty"), to be seen in full.'
    )
    scenario: str = strawberry.field(description="应用场景: what the data is used for.")
    legal_basis: str
    period_days: int = 365
    masked_items: list[str] = strawberry.field(default_factory=list, description="Items to be seen masked.")
    pins: JSON | None = None


@strawberry.type
class Query:
    @strawberry.field(description="Who is signed in, and their roles.")
    async def me(self, info: Info[ConsoleContext, None]) -> Me:
        workflow, person = _workflow(info)
        roles = await workflow.roles(person)
        return Me(subject=person, name=roles.name or info.context.person.name, roles=roles.names())

    @strawberry.field(description="Applications you may see: your clients', your departments', or all.")
    async def applications(
        self, info: Info[ConsoleContext, None], state: str | None = None
    ) -> list[Application]:
        workflow, person = _workflow(info)
        return [Application.of(a) for a in await workflow.applications(person, state=state)]

    @strawberry.field(description="Grants you may see, optionally of one client.")
    async def grants(self, info: Info[ConsoleContext, None], client: str | None = None) -> list[Grant]:
        workflow, person = _workflow(info)
        return [Grant.of(g) for g in await workflow.grants(person, client)]

    @strawberry.field(
        description="Who accessed my record: every access, by which app, why, on what approval."
    )
    async def my_access_history(self, info: Info[ConsoleContext, None]) -> list[AccessToMe]:
        rows = await access_history(info.context.runtime, info.context.person.subject)
        return [AccessToMe(**row) for row in rows]


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Apply for catalogue items for a client's purpose (you apply for the client)."
    )
    async def apply_for_access(self, info: Info[ConsoleContext, None], input: ApplyInput) -> Application:
        workflow, person = _workflow(info)
        given = ApplicationInput(
            client=input.client, purpose=input.purpose, items=tuple(input.items), scenario=input.scenario,
            legal_basis=input.legal_basis, period_days=input.period_days,
            masked_items=tuple(input.masked_items), pins=cast(dict[str, Any], input.pins or {}),
        )  # fmt: skip
        return Application.of(await workflow.apply(person, given))

    @strawberry.mutation(description="Approve or refuse an application for your department, with a reason.")
    async def review_application(
        self, info: Info[ConsoleContext, None], id: str, approve: bool, reason: str
    ) -> Application:
        workflow, person = _workflow(info)
        return Application.of(await workflow.review(person, id, approve, reason))

    @strawberry.mutation(description="Revoke a grant: its client is refused from the next request on.")
    async def revoke_grant(self, info: Info[ConsoleContext, None], id: int, reason: str) -> Grant:
        workflow, person = _workflow(info)
        return Grant.of(await workflow.revoke(person, id, reason))

    @strawberry.mutation(
        description="Extend a grant by `days` from its expiry (or from now, if it has passed)."
    )
    async def renew_grant(self, info: Info[ConsoleContext, None], id: int, days: int, reason: str) -> Grant:
        workflow, person = _workflow(info)
        return Grant.of(await workflow.renew(person, id, days, reason))


class _ConsoleSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        errors[:] = [_coded(e) for e in errors]


def _coded(error: GraphQLError) -> GraphQLError:
    """Every error with a code, and no driver's or host's words: a refusal keeps its own,
    anything unexpected is INTERNAL_SERVER_ERROR with an id that matches one log line."""
    original = error.original_error
    if isinstance(original, WorkflowError):
        return GraphQLError(
            original.message, error.nodes, path=error.path, extensions={"code": original.code}
        )
    if original is None:  # parse and validation errors: the caller's own text
        code = (error.extensions or {}).get("code", "BAD_USER_INPUT")
        return GraphQLError(
            error.message, error.nodes, error.source, error.positions, error.path, extensions={"code": code}
        )
    ident = uuid.uuid4().hex[:12]
    log.error("console API error %s", ident, exc_info=original)
    message = f"Internal error {ident}: nothing was changed."
    return GraphQLError(message, error.nodes, path=error.path, extensions={"code": "INTERNAL_SERVER_ERROR"})


# A small schema with no recursion: these bound what one request may ask of the store.
CONSOLE_SCHEMA = _ConsoleSchema(
    query=Query,
    mutation=Mutation,
    extensions=[
        lambda: QueryDepthLimiter(max_depth=4),
        lambda: MaxAliasesLimiter(max_alias_count=10),
        lambda: MaxTokensLimiter(max_token_count=1000),
    ],
)


def console_graphql(runtime: Runtime) -> Any:
    """The endpoint: POST only, JSON in and out, a person's bearer token required."""

    async def endpoint(request: Request) -> Response:
        try:
            person = _bearer(runtime, request)
            if runtime.workflow is None:
                raise Refusal(
                    503, "POLICY_STORE_REQUIRED", "The console needs a policy store ([auth] store)."
                )
            body = orjson.loads(await _body(request, runtime.settings.limits.body_bytes))
            if not isinstance(body, dict) or not isinstance(body.get("query"), str):
                raise Refusal(400, "BAD_USER_INPUT", 'Send a JSON object with "query".')
        except orjson.JSONDecodeError:
            return JSONResponse(
                {"errors": [{"message": "The body is not JSON.", "extensions": {"code": "BAD_USER_INPUT"}}]},
                400,
            )
        except Refusal as refused:
            return refused.response()
        result = await CONSOLE_SCHEMA.execute(
            body["query"],
            variable_values=body.get("variables") if isinstance(body.get("variables"), dict) else None,
            operation_name=body.get("operationName") if isinstance(body.get("operationName"), str) else None,
            context_value=ConsoleContext(person, runtime.workflow, runtime),
        )
        answer: dict[str, Any] = {"data": result.data}
        if result.errors:
            answer["errors"] = [e.formatted for e in result.errors]
        return Response(orjson.dumps(answer), media_type="application/json")

    return endpoint


async def _body(request: Request, limit: int) -> bytes:
    """The request body, refused (413) as soon as it passes the gateway's body limit."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Refusal(413, "OPERATION_LIMIT", f"The body is over {limit} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


def _bearer(runtime: Runtime, request: Request) -> Person:
    authorization = request.headers.get("authorization", "")
    if authorization[:7].lower() != "bearer ":
        raise Refusal(
            401, "UNAUTHENTICATED", "Send your identity provider's token: 'Authorization: Bearer <token>'."
        )
    person, _ = person_of(runtime.authenticator, authorization[7:].strip(), runtime.settings.console.audience)
    return person
