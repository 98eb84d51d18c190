"""The GraphQL endpoint: GraphQL over HTTP, per-request context, trusted-document ids.

Follows the GraphQL-over-HTTP specification: JSON bodies on POST, queries only on GET,
`application/graphql-response+json` when the client accepts it (with 4xx for requests
that never reach execution), and coded JSON errors for every malformed request.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

import orjson
from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Message, Receive, Scope, Send
from strawberry.exceptions import MissingQueryError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData, process_result
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types import ExecutionResult

from gateway.audit.record import AccessRecord, subject_key, subject_keys
from gateway.compat import Execute, GraphQLView
from gateway.execution.limits import limit_error
from gateway.execution.outcome import request_error, request_error_status
from gateway.execution.schema import GatewaySchema
from gateway.execution.step import RequestContext
from gateway.execution.textcheck import unpaired_surrogate
from gateway.http.graphiql import CSP, graphiql_page, load_presets, page_wanted
from gateway.http.refusal import Refusal
from resolvers.context import Context, Principal, RequestTally
from resolvers.loaders import Loaders

if TYPE_CHECKING:
    from gateway.runtime import Runtime

__all__ = ["GatewayGraphQL"]

GRAPHQL_RESPONSE = "application/graphql-response+json"
_CODES = {
    400: "BAD_USER_INPUT",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "OPERATION_LIMIT",
    415: "UNSUPPORTED_MEDIA_TYPE",
}
_NO_QUERY = "A request needs a `query` or a `documentId`."


def _too_large(limit: int, actual: int) -> Refusal:
    return Refusal(
        413,
        "OPERATION_LIMIT",
        "The request body is too large.",
        limit="body_bytes",
        max=limit,
        actual=actual,
    )


def _bounded(receive: Receive, limit: int) -> Receive:
    """`receive` that counts the body as it arrives and refuses it once past `limit`, so a
    chunked body (no Content-Length) costs at most `limit` bytes plus one chunk."""
    received = 0

    async def bounded() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise _too_large(limit, received)
        return message

    return bounded


def _json(text: str | bytes, key: str | None) -> Any:
    """A request's JSON (the body, or the GET parameter `key`), refused with a message
    saying what is wrong; for an unpaired surrogate, where it is (orjson refuses those
    outright, and a client deserves to learn which variable holds one)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        found = unpaired_surrogate(text, key or "") if "surrogate" in str(exc) else None
    if found is not None:
        where, point = found
        raise Refusal(
            400, "BAD_USER_INPUT", f"An unpaired surrogate (U+{point:04X}) in {where} is not Unicode text."
        )
    what = "The request body" if key is None else f"`{key}`"
    raise Refusal(400, "BAD_USER_INPUT", f"{what} is not valid JSON.")


def _item(data: Any) -> GraphQLRequestData:
    if not isinstance(data, dict):
        raise Refusal(400, "BAD_USER_INPUT", "A GraphQL request is a JSON object.")
    query, variables, extensions = data.get("query"), data.get("variables"), data.get("extensions")
    document = data.get("documentId")
    if query is not None and not isinstance(query, str):
        raise Refusal(400, "BAD_USER_INPUT", "`query` must be a string.")
    if variables is not None and not isinstance(variables, dict):
        raise Refusal(400, "BAD_USER_INPUT", "`variables` must be an object.")
    if extensions is not None and not isinstance(extensions, dict):
        raise Refusal(400, "BAD_USER_INPUT", "`extensions` must be an object.")
    if document is not None and not isinstance(document, str):
        raise Refusal(400, "BAD_USER_INPUT", "`documentId` must be a string.")
    operation = data.get("operationName")
    if operation is not None and not isinstance(operation, str):
        raise Refusal(400, "BAD_USER_INPUT", "`operationName` must be a string.")
    if document is not None:
        extensions = {**(extensions or {}), "documentId": document}
    if query is None and not (extensions and ("documentId" in extensions or "persistedQuery" in extensions)):
        raise Refusal(400, "BAD_USER_INPUT", _NO_QUERY)
    return GraphQLRequestData(
        query=query, variables=variables, operation_name=operation, extensions=extensions
    )


class GatewayGraphQL(GraphQLView[Context]):
    def __init__(self, schema: GatewaySchema, runtime: Runtime) -> None:
        gateway = runtime.settings.gateway
        super().__init__(schema, graphql_ide="graphiql" if gateway.graphiql else None)
        self.runtime = runtime
        presets = gateway.graphiql_presets if gateway.graphiql else None  # read once, at start-up
        self._presets = load_presets(presets) if presets else None
        self._ide: tuple[object, object, str] | None = None  # (policy, documents, page)

    # orjson rather than the standard library's json: a 50-child enrolment review's
    # answer took about 1 ms to encode with json.dumps, a tenth of that with orjson.
    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    def decode_json(self, data: str | bytes) -> object:
        return orjson.loads(data)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        limit = self.runtime.settings.limits.body_bytes
        request = Request(scope, receive=_bounded(receive, limit))
        try:
            declared = request.headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > limit:
                raise _too_large(limit, int(declared))  # refused before a byte of it is read
            response = await self.respond(request)
        except Refusal as refused:
            response = refused.response()
        except HTTPException as exc:
            if isinstance(exc.__cause__, InvalidOperationTypeError):
                # A mutation or subscription sent with GET: the method is what is wrong.
                response = Refusal(405, "METHOD_NOT_ALLOWED", exc.reason, allow="POST").response()
            else:
                response = Refusal(
                    exc.status_code, _CODES.get(exc.status_code, "BAD_USER_INPUT"), exc.reason
                ).response()
        except MissingQueryError:
            response = Refusal(
                400, "BAD_USER_INPUT", "A request needs a `query` or a `documentId`."
            ).response()
        await response(scope, receive, send)

    def should_render_graphql_ide(self, request: Any) -> bool:
        # The one rule admission applies too: a browser's GET gets the page, never an API
        # client's (strawberry would also serve it for */* without a query, e.g. a
        # persisted query's hash sent alone by GET).
        return page_wanted(request.method, request.headers.get("accept", ""))

    async def render_graphql_ide(self, request: Any) -> Response:
        # Built on the first visit, again after the policy or the documents are reloaded.
        policy, documents = self.runtime.policy, self.runtime.documents
        if self._ide is None or self._ide[0] is not policy or self._ide[1] is not documents:
            self._ide = (policy, documents, graphiql_page(documents, policy, self._presets))
        return HTMLResponse(self._ide[2], headers={"Content-Security-Policy": CSP})

    async def read_operations(self, request: Any) -> GraphQLRequestData | list[GraphQLRequestData]:
        limits = self.runtime.settings.limits
        if request.method == "GET":
            params = dict(request.query_params)
            for key in ("variables", "extensions"):
                if params.get(key):
                    params[key] = _json(params[key], key)
            return _item(params)
        content_type = (request.content_type or "").split(";")[0].strip().lower()
        if content_type not in ("application/json", "application/graphql-response+json"):
            raise Refusal(415, "UNSUPPORTED_MEDIA_TYPE", "Send GraphQL requests as application/json.")
        body = await request.get_body()  # bounded while it is read: see _bounded
        data = _json(body, None)
        if isinstance(data, list):
            if not data:
                raise Refusal(400, "BAD_USER_INPUT", "An empty batch.")
            if len(data) > limits.batch:
                error = limit_error("batch", limits.batch, len(data))
                raise Refusal(
                    400, "OPERATION_LIMIT", error.message, limit="batch", max=limits.batch, actual=len(data)
                )
            return [_item(d) for d in data]
        return _item(data)

    async def execute_operations(
        self, request: Any, sub_response: Any, data: Any, context: Context, execute: Execute
    ) -> Any:
        if not isinstance(data, list):
            try:
                return await execute(context, data)
            finally:
                context.loaders.release()
        # Each operation of a batch gets its own context: its own audit event and loaders.
        context.tally.batch = True  # shared by the operations' contexts
        results = []
        for item in data:
            own = await self.get_context(request, sub_response)
            try:
                results.append(await execute(own, item))
            finally:
                own.loaders.release()
        return results

    async def get_context(self, request: Any, response: Any) -> Context:
        runtime = self.runtime
        state = request.scope.setdefault("state", {})
        principal: Principal | None = state.get("principal")
        if principal is None:
            if not state.get("ide"):  # only the static GraphiQL page goes without credentials
                raise Refusal(401, "UNAUTHENTICATED", "Credentials are required.")
            principal = Principal()
        access = AccessRecord(
            request_id=state.get("request_id", ""),
            client=principal.client_id,
            purpose=principal.purpose,
            case_id=principal.case_id,
            operator=principal.operator_id,
            operation=None,
            document_hash="",
            basis=principal.basis,
        )
        response.gg_accept = request.headers.get("accept", "")
        # One per HTTP request, shared by every operation of a batch.
        tally = state.get("tally")
        if tally is None:
            tally = state["tally"] = RequestTally(store=runtime.tally)
        return RequestContext(
            runtime=runtime,
            loaders=Loaders(runtime.catalog, batching=runtime.settings.gateway.batching),
            principal=principal,
            access=access,
            audit_subject=partial(subject_key, runtime.audit_key, suite=runtime.audit_suite),
            audit_subjects=partial(subject_keys, runtime.audit_key),
            max_list_keys=runtime.settings.limits.list_keys,
            tally=tally,
            request=request,
            response=response,
        )

    async def process_result(self, request: Any, result: ExecutionResult) -> GraphQLHTTPResponse:
        body = process_result(result)
        if request_error(result.data, result.errors):
            del body["data"]
        return body

    def finish_response(self, response: Response, response_data: Any, sub_response: Any) -> Response:
        if GRAPHQL_RESPONSE in getattr(sub_response, "gg_accept", ""):
            response.headers["content-type"] = GRAPHQL_RESPONSE
            # A request error answers 400, or 500 when the gateway failed (a status of the
            # request's own, such as 503 for AUDIT_UNAVAILABLE, stands); with
            # application/json it stays 200, as the specification recommends.
            single = response_data if isinstance(response_data, dict) else None
            if single is not None and "data" not in single and not sub_response.status_code:
                codes = [e.get("extensions", {}).get("code") for e in single.get("errors", ())]
                response.status_code = request_error_status(codes)
        return response
