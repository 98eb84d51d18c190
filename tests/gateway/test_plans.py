"""The plan executor in the gateway: registered documents planned at start-up, plans reused
per grant set and bounded, what falls back to graphql-core's executor (counted), the
`[gateway] executor` switch, and a policy swap dropping the plans."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gateway.config.settings import GatewaySettings
from gateway.execution.plan.cache import condition_variables
from gateway.execution.schema import build_schema
from resolvers.context import Context
from resolvers.loaders import Loaders
from tests.resolvers import city
from tests.resolvers.city import CHILD, FATHER

from .support import DEVELOPER, gateway_and_ops, headers
from .test_metrics import moved, scrape

PERSON = "query($id: ResidentId!) { person(id: $id) { name } }"
TALENT = headers("talent-policy", "talent_subsidy")


def _executions(samples: dict[object, float], before: dict[object, float], **labels: str) -> float:
    return moved(before, samples, "govgraph_executions_total", **labels)  # type: ignore[arg-type]


async def test_registered_documents_are_planned_before_the_first_request() -> None:
    async with gateway_and_ops() as (client, ops):
        plans = client._transport.app.state.schema.plans  # type: ignore[attr-defined]
        built = plans.stats.built
        assert built >= 7, plans.stats  # every document, for each grant whose client may run it
        before = await scrape(ops)
        answer = await client.post(
            "/graphql",
            json={
                "documentId": _document_id("TalentCheck"),
                "variables": {"id": FATHER, "months": 24, "within": 36},
            },
            headers=TALENT,
        )
        after = await scrape(ops)
    assert answer.status_code == 200, answer.text
    assert "errors" not in answer.json(), answer.json()
    assert plans.stats.built == built  # the request found its plan made
    assert _executions(after, before, executor="plan", reason="planned") == 1


def _document_id(name: str) -> str:
    from gateway.execution.documents import Registry
    from tests.gateway.support import ROOT

    registry = Registry.load(ROOT / "documents", build_schema()._schema)
    return next(d.id for d in registry if d.name == name)


async def test_one_plan_per_grant_set_and_what_falls_back_is_counted() -> None:
    async with gateway_and_ops() as (client, ops):
        plans = client._transport.app.state.schema.plans  # type: ignore[attr-defined]
        before = await scrape(ops)
        body = {"query": PERSON, "variables": {"id": CHILD}}
        for _ in range(3):
            assert (await client.post("/graphql", json=body, headers=DEVELOPER)).status_code == 200
        built = plans.stats.built
        enrolment = headers("enrollment", "enrollment_review")
        assert (await client.post("/graphql", json=body, headers=enrolment)).status_code == 200
        assert plans.stats.built == built + 1  # another grant set, another plan
        schema = await client.post(
            "/graphql", json={"query": "{ __schema { queryType { name } } }"}, headers=DEVELOPER
        )
        after = await scrape(ops)
    assert schema.json()["data"]["__schema"]["queryType"]["name"] == "Query"
    assert _executions(after, before, executor="plan", reason="planned") == 4
    assert _executions(after, before, executor="strawberry", reason="introspection") == 1


async def test_the_strawberry_executor_is_a_setting_and_answers_alike() -> None:
    family = (
        "query($id: ResidentId!) { person(id: $id) { name age guardians { name phone"
        " socialInsurance { status hasContributed(months: 24, within: 36) } } } }"
    )
    answers = []
    for executor in ("plan", "strawberry"):
        async with gateway_and_ops(gateway=GatewaySettings(executor=executor)) as (client, ops):
            before = await scrape(ops)
            body = {"query": family, "variables": {"id": CHILD}}
            answer = await client.post(
                "/graphql", json=body, headers=headers("enrollment", "enrollment_review")
            )
            after = await scrape(ops)
            reason = "planned" if executor == "plan" else "configured"
            assert _executions(after, before, executor=executor, reason=reason) == 1
            answers.append(answer.json())
    assert answers[0] == answers[1]
    assert answers[0]["data"]["person"]["guardians"], answers[0]


def test_an_executor_the_gateway_does_not_have_is_refused() -> None:
    with pytest.raises(ValueError, match="executor 'fast'"):
        build_schema(executor="fast")
    with pytest.raises(ValueError, match="executor"):
        replace(GatewaySettings(), executor="fast")  # type: ignore[arg-type]


async def test_the_plan_cache_is_bounded_and_keyed_by_include_and_skip_values() -> None:
    schema = build_schema(plan_cache=2)
    plans = schema.plans
    assert plans is not None
    flagged = "query($id: ResidentId!, $f: Boolean!) { person(id: $id) { name age @include(if: $f) } }"
    answers = []
    for query, variables in (
        (PERSON, {"id": CHILD}),
        (flagged, {"id": CHILD, "f": True}),
        (flagged, {"id": CHILD, "f": False}),
    ):
        context = Context(loaders=Loaders(city.catalog()), principal=city.EVERYTHING, today=city.TODAY)
        result = await schema.execute(query, variable_values=variables, context_value=context)
        assert result.errors is None, result.errors
        answers.append(result.data)
    assert answers[1] == {"person": {"name": answers[0]["person"]["name"], "age": 7}}  # type: ignore[index]
    assert answers[2] == answers[0]
    assert plans.stats.built == 3  # the flag's two values, two plans
    assert len(plans) == 2  # the oldest dropped


def test_include_and_skip_variables_are_found_in_fragments_too() -> None:
    from graphql import OperationDefinitionNode, parse

    document = parse(
        'query($a: Boolean!, $b: Boolean!, $c: Boolean!) { person(id: "x") {'
        " name @include(if: $a) ...F ... @skip(if: $c) { age } } }"
        " fragment F on Person { gender @skip(if: $b) phone @include(if: true) }"
    )
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    fragments = [d for d in document.definitions if not isinstance(d, OperationDefinitionNode)]
    assert condition_variables(operation, fragments) == ("a", "b", "c")


async def test_a_policy_swap_drops_the_plans() -> None:
    async with gateway_and_ops() as (client, _ops):
        runtime = client._transport.app.state.runtime  # type: ignore[attr-defined]
        plans = runtime.schema.plans
        assert len(plans) > 0
        runtime.policy = runtime.policy  # what a reload does, with an equal policy
        assert len(plans) == 0
        answer = await client.post(
            "/graphql", json={"query": PERSON, "variables": {"id": CHILD}}, headers=DEVELOPER
        )
    assert answer.json()["data"]["person"]["name"]
    assert len(plans) == 1
