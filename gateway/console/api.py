"""The access workflow's GraphQL API at /console/graphql: what applicants, reviewers,
auditors, administrators and residents do in the console, for scripts and other tools.

People authenticate with their identity provider's bearer token (the console's audience);
cookies are never read here, so a page on another site cannot make a signed-in browser
call it. Every refusal is an error with a code (WorkflowError's).
"""

from __future__ import annotations

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
from strawberry.types import Info

from gateway.applications.errors import WorkflowError
from gateway.applications.model import ApplicationInput
from gateway.applications.workflow import Workflow
from gateway.console.history import access_history
from gateway.console.people import Person, person_of
from gateway.console.types import AccessToMe, Application, ApplyInput, Grant, Me
from gateway.execution.outcome import request_error
from gateway.execution.parse_cache import ParsedOnce
from gateway.execution.validation_cache import ValidatedOnce
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
        ParsedOnce,  # GRAPHQL_PARSE_FAILED; several operations need an operationName
        ValidatedOnce,  # GRAPHQL_VALIDATION_FAILED
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
        if request_error(result.data, result.errors):
            del answer["data"]  # nothing ran (as on /graphql)
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
