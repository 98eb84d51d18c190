"""The plan executor answers exactly as Strawberry's: every query the repository writes and
generated ones, for every demo client, with departments failing and ids that are wrong.

`GOVGRAPH_DIFFERENTIAL_EXAMPLES` sets how many generated queries run (600 in `make test`,
with a fixed seed, each bounded to EXAMPLE_SECONDS; `make bench` runs 20,000).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from demo.stack import DemoStack
from gateway.policy.model import Policy
from sources.registry import Catalog, build_catalog
from tests.gateway import differential as diff
from tests.gateway.generated import Pools, operations
from tests.stack import demo_settings

EXAMPLES = int(os.environ.get("GOVGRAPH_DIFFERENTIAL_EXAMPLES", "600"))
EXAMPLE_SECONDS = 20.0  # one generated operation on both executors, faults included
PAIR = diff.schemas()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def departments(demo_city: DemoStack) -> AsyncIterator[tuple[Catalog, Policy, Pools]]:
    settings = demo_settings(demo_city.gateway_env())
    catalog = build_catalog(settings.sources)  # no record cache: each run asks the departments
    policy = PAIR[0].policy_checks().text(Path(settings.auth.policy).read_text(encoding="utf-8"))  # noqa: ASYNC240
    try:
        yield catalog, policy, Pools.of(demo_city.samples)
    finally:
        await catalog.aclose()


def _same(planned: diff.Outcome, reference: diff.Outcome, what: str) -> None:
    if planned != reference:  # not `assert`: the outcomes' own words are what to read
        if os.environ.get("GOVGRAPH_DIFFERENTIAL_LOG"):
            with open(os.environ["GOVGRAPH_DIFFERENTIAL_LOG"], "a", encoding="utf-8") as log:
                log.write(f"{what}\nplan:       {planned}\nstrawberry: {reference}\n\n")
        raise AssertionError(f"{what}\nplan:       {planned}\nstrawberry: {reference}")


async def test_the_corpus_answers_alike_for_every_client(departments: tuple[Catalog, Policy, Pools]) -> None:
    catalog, policy, pools = departments
    entries = diff.corpus(PAIR[0])
    assert len(entries) >= 40, [e.where for e in entries]  # the repository's queries, found
    principals = diff.principals(policy)
    drills = [diff.Faults(), diff.Faults(entities=frozenset({"contributions", "credit_ratings"}))]
    planned_runs = 0
    for index, entry in enumerate(entries):
        variables = pools.variables(entry.variables, index)
        if variables is None:
            continue  # a variable of a type the pools cannot fill
        for who in principals:
            for faults in drills:
                planned, reference = await diff.differ(
                    PAIR, diff.faulty(catalog, faults), who, entry.query, variables, entry.operation
                )
                _same(planned, reference, f"{entry.where} as {who.client_id}/{who.purpose}, {faults}")
                planned_runs += 1
    assert planned_runs > 500
    stats = PAIR[0].plans.stats  # type: ignore[union-attr]
    assert stats.built > 0
    assert stats.hits > stats.built


@seed(20261206)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
    database=None,
)
@given(data=st.data())
async def test_generated_queries_answer_alike(
    departments: tuple[Catalog, Policy, Pools], data: st.DataObject
) -> None:
    catalog, policy, pools = departments
    principal = data.draw(st.sampled_from(diff.principals(policy)), label="principal")
    query, variables = data.draw(operations(PAIR[0], pools), label="operation")
    faults = data.draw(pools.faults(), label="faults")
    planned, reference = await asyncio.wait_for(  # the time bound: each example within seconds
        diff.differ(PAIR, diff.faulty(catalog, faults), principal, query, variables), EXAMPLE_SECONDS
    )
    _same(planned, reference, f"{query} {variables} as {principal.client_id}, {faults}")
