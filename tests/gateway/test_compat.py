"""gateway/compat: each use of strawberry's and Starlette's undocumented parts, checked
against the installed libraries, so that an upgrade that changes one fails here, by name
(uvicorn's: test_compat_uvicorn.py)."""

from __future__ import annotations

import enum
import itertools
from collections.abc import Iterator
from typing import Any

import httpx
import strawberry
from graphql import GraphQLError, GraphQLResolveInfo, GraphQLSchema
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.types import Receive, Scope, Send
from strawberry.extensions import ValidationCache
from strawberry.http import GraphQLRequestData

from gateway.compat import (
    Execute,
    ExecutingHooks,
    ExtensionsRunner,
    GraphQLView,
    OperationHooks,
    ParsingHooks,
    ValidationHooks,
    WrappedHook,
    cached_validation,
    field_definition,
    graphql_schema,
    info_maker,
    provided_operation_name,
    python_enum,
    resolver_shape,
    route_path,
    strawberry_definition,
)


class Colour(enum.Enum):
    RED = "red"


@strawberry.input
class Filter:
    colour: Colour


@strawberry.type
class Query:
    @strawberry.field
    def hello(self, info: strawberry.Info, shout: bool = False) -> str:
        return "HI" if shout else "hi"

    @strawberry.field
    def parent(self, owner: strawberry.Parent[Any]) -> str:
        return type(owner).__name__

    @strawberry.field
    def pick(self, filter: Filter) -> Colour:
        return filter.colour


def schema() -> strawberry.Schema:
    return strawberry.Schema(query=Query)


def test_graphql_schema_is_the_one_strawberry_executes() -> None:
    built = schema()
    core = graphql_schema(built)
    assert isinstance(core, GraphQLSchema)
    assert core.query_type is not None
    core.query_type.fields["hello"].resolve = lambda *_, **__: "patched"
    assert built.execute_sync("{ hello }").data == {"hello": "patched"}


def test_definitions_of_types_fields_arguments_and_input_fields() -> None:
    core = graphql_schema(schema())
    query = core.query_type
    assert query is not None
    assert strawberry_definition(query).name == "Query"
    hello = field_definition(query.fields["hello"])
    assert hello is not None
    assert hello.python_name == "hello"
    assert strawberry_definition(query.fields["hello"].args["shout"]).python_name == "shout"
    filter_type = core.type_map["Filter"]
    assert strawberry_definition(filter_type.fields["colour"]).python_name == "colour"  # type: ignore[union-attr]
    assert strawberry_definition(core.type_map["String"]) is None  # graphql-core's own
    assert python_enum(core.type_map["Colour"]) is Colour  # type: ignore[arg-type]


def test_resolver_shapes_and_the_info_they_are_given() -> None:
    built = schema()
    query = graphql_schema(built).query_type
    assert query is not None
    hello = field_definition(query.fields["hello"])
    parent = field_definition(query.fields["parent"])
    assert hello is not None
    assert parent is not None
    shape = resolver_shape(hello)
    assert shape is not None
    assert (shape.takes_self, shape.source_names, shape.info_name) == (True, (), "info")
    assert shape.function(None, info=None, shout=True) == "HI"
    assert resolver_shape(parent) is not None
    assert resolver_shape(parent).source_names == ("owner",)  # type: ignore[union-attr]

    make = info_maker(built, hello)
    seen: list[Any] = []

    def resolve(source: Any, raw: GraphQLResolveInfo[Any], **kwargs: Any) -> str:
        info = make(raw)
        seen.append(info)
        return f"{info.field_name}/{info.python_name}/{info.context}"

    query.fields["hello"].resolve = resolve
    assert built.execute_sync("{ hello }", context_value="ctx").data == {"hello": "hello/hello/ctx"}
    assert isinstance(seen[0], strawberry.Info)


class Copying(ValidationCache):
    """Strawberry's validation cache, as the gateway's copies what it finds."""

    found: list[list[GraphQLError]] = []  # noqa: RUF012

    def on_validate(self) -> Iterator[None]:
        errors = cached_validation(self)
        self.found.append(errors)
        self.execution_context.pre_execution_errors = list(errors)
        yield


def test_cached_validation_answers_from_strawberrys_shared_cache() -> None:
    built = strawberry.Schema(query=Query, extensions=[lambda: Copying(maxsize=8)])
    first, second = built.execute_sync("{ nope }"), built.execute_sync("{ nope }")
    assert first.errors
    assert second.errors
    assert "nope" in first.errors[0].message
    assert Copying.found[0] is Copying.found[1]  # one list, from the cache
    assert built.execute_sync("{ hello }").data == {"hello": "hi"}


class View(GraphQLView[dict[str, Any]]):
    """Uses every hook: a batch read by hand and run with a context per operation."""

    async def get_context(self, request: Any, response: Any) -> dict[str, Any]:
        return {"n": next(COUNTER)}

    async def read_operations(self, request: Any) -> Any:
        if request.method == "GET":
            return await super().read_operations(request)  # strawberry's own reading
        queries = (await request.get_body()).decode().split(";")
        return [GraphQLRequestData(q, variables=None, operation_name=None, extensions=None) for q in queries]

    async def execute_operations(
        self, request: Any, sub_response: Any, data: Any, context: Any, execute: Execute
    ) -> Any:
        if not isinstance(data, list):
            return await super().execute_operations(request, sub_response, data, context, execute)
        return [await execute(await self.get_context(request, sub_response), item) for item in data]

    def finish_response(self, response: Response, data: Any, sub_response: Any) -> Response:
        response.headers["x-operations"] = str(len(data) if isinstance(data, list) else 1)
        return response


COUNTER = itertools.count()


@strawberry.type
class Counting:
    @strawberry.field
    def context_id(self, info: strawberry.Info) -> int:
        return int(info.context["n"])


async def test_the_view_hooks_are_called_in_place_of_strawberrys_steps() -> None:
    view = View(strawberry.Schema(query=Counting))
    app = Starlette(routes=[Route("/graphql", view, methods=["GET", "POST"])])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        batch = await client.post(
            "/graphql", content=b"{ contextId };{ contextId }", headers={"content-type": "text/plain"}
        )
        single = await client.get("/graphql", params={"query": "{ contextId }"})
    answers = batch.json()
    assert batch.headers["x-operations"] == "2"
    assert len(answers) == 2
    first, second = (a["data"]["contextId"] for a in answers)
    assert second == first + 1  # each operation its own context, made after the request's
    assert single.headers["x-operations"] == "1"
    assert single.json()["data"]["contextId"] == second + 1


async def test_route_path_is_what_the_router_routes_on() -> None:
    seen: list[str] = []

    class Recorded:
        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            seen.append(route_path(scope))
            await PlainTextResponse("ok")(scope, receive, send)

    app = Starlette(routes=[Mount("/api", app=Starlette(routes=[Route("/graphql", Recorded())]))])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        assert (await client.get("/api/graphql")).status_code == 200
    assert seen == ["/graphql"]
    assert route_path({"type": "http", "path": "/graphql", "root_path": ""}) == "/graphql"


async def test_provided_operation_name_is_the_requests_not_the_first_operations() -> None:
    seen: list[tuple[str | None, str | None]] = []

    class Look(strawberry.extensions.SchemaExtension):
        def on_parse(self) -> Iterator[None]:
            yield
            ctx = self.execution_context
            seen.append((provided_operation_name(ctx), ctx.operation_name))

    look = strawberry.Schema(query=Query, extensions=[Look])
    await look.execute("query A { hello } query B { hello }")
    await look.execute("query A { hello } query B { hello }", operation_name="B")
    # strawberry's own name falls back to the first operation; the provided one does not.
    assert seen == [(None, "A"), ("B", "B")]


def test_the_extension_runner_is_strawberrys_with_a_stage_per_hook() -> None:
    # gateway/execution/hooks.py fills each stage's `hooks` with WrappedHooks itself;
    # tests/gateway/test_hooks.py runs it against strawberry's own runner.
    schema = strawberry.Schema(query=Query)
    runner = schema.create_extensions_runner(None, [])  # type: ignore[arg-type]
    assert type(runner) is ExtensionsRunner
    stages = (OperationHooks, ParsingHooks, ValidationHooks, ExecutingHooks)
    assert [
        type(s) for s in (runner.operation(), runner.parsing(), runner.validation(), runner.executing())
    ] == list(stages)
    assert [s.HOOK_NAME for s in stages] == ["on_operation", "on_parse", "on_validate", "on_execute"]
    assert {"hooks", "default_hook"} <= set(OperationHooks.__slots__)
    assert WrappedHook._fields == ("extension", "hook", "is_async")
