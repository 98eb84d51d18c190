"""The leak suite, inference: a verdict or summary reveals the verdict, not the records
behind it. Arguments are pinned by the grant, evaluated once per subject and HTTP request
(aliases, batches and multiple operations alike), limited per subject over a window, and
audited with their values."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.app import create_app
from gateway.audit.chain_read import subject_report
from gateway.audit.store import AuditStore
from gateway.config.settings import AuthConfig, RateSettings
from gateway.policy.model import PolicyError, load_policy, parse_policy
from sources.stats import CallStats
from tests.resolvers import city
from tests.resolvers.city import EMPLOYER, FATHER

from .support import AUDIT_KEY, ROOT, SECRET, audited, gateway, headers, settings

TALENT = headers("talent-policy", "talent_subsidy")
ENROLMENT = headers("enrollment", "enrollment_review")
DEVELOPER = headers("developer", "development")
SHIPPED = (ROOT / "policy.toml").read_text(encoding="utf-8")


def verdict(arguments: str, alias: str = "v") -> str:
    return (
        "query($id: ResidentId!) { person(id: $id) { socialInsurance {"
        f" {alias}: hasContributed{arguments} }} }} }}"
    )


def with_policy(path: Path) -> AuthConfig:
    return AuthConfig(policy=str(path), hs256_secret=SECRET)


def codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors", [])]


def contributions_asked(stats: CallStats) -> int:
    return sum(1 for c in stats.recent if c.entity == "contributions")


async def test_arguments_other_than_the_pinned_ones_are_forbidden_and_ask_nothing() -> None:
    stats = CallStats()
    async with gateway(stats) as client:
        swept = await client.post(
            "/graphql",
            json={"query": verdict("(months: 12, within: 36)"), "variables": {"id": FATHER}},
            headers=TALENT,
        )
        lenient = await client.post(
            "/graphql",
            json={
                "query": verdict("(months: 24, within: 36, onTimeOnly: false)"),
                "variables": {"id": FATHER},
            },
            headers=TALENT,
        )
        asked = contributions_asked(stats)
        pinned = await client.post(
            "/graphql",
            json={"query": verdict("(months: 24, within: 36)"), "variables": {"id": FATHER}},
            headers=TALENT,
        )
    for refused in (swept, lenient):
        error = refused.json()["errors"][0]
        assert error["extensions"] == {
            "code": "FORBIDDEN",
            "scope": "social_insurance.verdict",
            "pinned": {"months": 24, "within": 36, "onTimeOnly": True},
        }
        assert refused.json()["data"]["person"]["socialInsurance"] == {"v": None}
    assert asked == 0  # the records behind a refused verdict are never fetched
    assert pinned.json()["data"]["person"]["socialInsurance"] == {"v": False}
    assert "errors" not in pinned.json()


async def test_summaries_are_pinned_too() -> None:
    document = (
        "query($id: ResidentId!) { person(id: $id) { socialInsurance {"
        ' since: monthsContributed(since: "2024-09") } } }'
    )
    async with gateway() as client:
        response = await client.post(
            "/graphql", json={"query": document, "variables": {"id": FATHER}}, headers=ENROLMENT
        )
        plain = await client.post(
            "/graphql",
            json={"query": document.replace('(since: "2024-09")', ""), "variables": {"id": FATHER}},
            headers=ENROLMENT,
        )
    assert response.json()["errors"][0]["extensions"]["pinned"] == {
        "since": None,
        "onTimeOnly": True,
        "type": "PENSION",
    }
    assert plain.json()["data"]["person"]["socialInsurance"] == {"since": len(city.ON_TIME)}


async def test_enterprise_verdicts_are_pinned() -> None:
    document = "query($c: CreditCode!) { enterprise(creditCode: $c) { taxCreditAtLeast(grade: D) } }"
    async with gateway() as client:
        response = await client.post(
            "/graphql", json={"query": document, "variables": {"c": EMPLOYER}}, headers=TALENT
        )
    assert response.json()["errors"][0]["extensions"]["pinned"] == {"grade": "B", "year": None}


@pytest.mark.parametrize("route", ["aliases", "batch", "operations"])
async def test_one_argument_set_per_subject_per_http_request(route: str) -> None:
    # The developer's grant is unpinned (development): only the per-request rule holds it.
    stats = CallStats()
    months = (1, 2, 3)
    async with gateway(stats) as client:
        if route == "aliases":
            aliased = " ".join(f"m{n}: hasContributed(months: {n}, within: 36)" for n in months)
            document = f"query($id: ResidentId!) {{ person(id: $id) {{ socialInsurance {{ {aliased} }} }} }}"
            bodies = [
                (
                    await client.post(
                        "/graphql", json={"query": document, "variables": {"id": FATHER}}, headers=DEVELOPER
                    )
                ).json()
            ]
        elif route == "batch":
            batch = [
                {"query": verdict(f"(months: {n}, within: 36)"), "variables": {"id": FATHER}} for n in months
            ]
            bodies = (await client.post("/graphql", json=batch, headers=DEVELOPER)).json()
        else:
            # Several operations in one document: one runs per request, whichever is named.
            document = " ".join(f"query Q{n}{verdict(f'(months: {n}, within: 36)')[5:]}" for n in months)
            batch = [
                {"query": document, "operationName": f"Q{n}", "variables": {"id": FATHER}} for n in months
            ]
            bodies = (await client.post("/graphql", json=batch, headers=DEVELOPER)).json()
    errors = [e for body in bodies for e in body.get("errors", [])]
    assert [e["extensions"]["code"] for e in errors] == ["FORBIDDEN", "FORBIDDEN"]
    assert all("once per subject and request" in e["message"] for e in errors)
    answered = [
        value
        for body in bodies
        for value in ((body.get("data") or {}).get("person") or {}).get("socialInsurance", {}).values()
        if value is not None
    ]
    assert answered == [True]  # 20 on-time months: at least 1, 2 or 3, whichever went first


def with_developer(**keys: object) -> str:
    lines = "".join(f"{k} = {v}\n" for k, v in keys.items())
    return SHIPPED.replace("[clients.developer]\n", f"[clients.developer]\n{lines}", 1)


async def test_distinct_arguments_per_subject_are_limited_over_a_window(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(
        with_developer().replace("verdict_variants = 20", "verdict_variants = 2"), encoding="utf-8"
    )
    stats = CallStats()
    async with gateway(stats, auth=with_policy(path)) as client:

        async def ask(months: int) -> dict[str, Any]:
            body = {"query": verdict(f"(months: {months}, within: 36)"), "variables": {"id": FATHER}}
            answer: dict[str, Any] = (await client.post("/graphql", json=body, headers=DEVELOPER)).json()
            return answer

        first, second = await ask(1), await ask(2)
        asked = contributions_asked(stats)
        third = await ask(3)  # a third argument set for the father today
        asked_after = contributions_asked(stats)
        again = await ask(1)  # an argument set already answered stays answerable
    assert "errors" not in first
    assert "errors" not in second
    assert "errors" not in again
    assert third["errors"][0]["extensions"] == {
        "code": "FORBIDDEN",
        "scope": "social_insurance.verdict",
        "window": 86400.0,
        "variants": 2,
    }
    assert asked_after == asked


async def test_the_subject_report_shows_what_was_concluded(scratch_db: str) -> None:
    async with gateway(**audited(scratch_db)) as client:
        body = {"query": verdict("(months: 24, within: 36)"), "variables": {"id": FATHER}}
        response = await client.post("/graphql", json=body, headers=TALENT)
    assert response.json()["data"]["person"]["socialInsurance"] == {"v": False}
    store = AuditStore(scratch_db)
    try:
        rows = await subject_report(store, AUDIT_KEY.encode(), FATHER)
    finally:
        await store.aclose()
    assert len(rows) == 1
    row = rows[0]
    assert row["lookup"] == "found"
    assert row["verdicts"] == [
        {
            "field": "SocialInsurance.hasContributed",
            "arguments": {"months": 24, "within": 36, "onTimeOnly": True},
            "value": False,
        }
    ]
    assert "social_insurance.verdict" in row["scopes"]
    json.dumps(rows, default=str)  # what `govgraph audit subject` prints


SCHEMA = city.SCHEMA


def test_a_verdict_grant_without_pins_is_refused_naming_the_field() -> None:
    unpinned = SHIPPED.replace('"Enterprise.taxCreditAtLeast" = { grade = "B" }\n', "", 1)
    with pytest.raises(
        PolicyError, match=r"Enterprise\.taxCreditAtLeast must be pinned \(arguments: grade, year\)"
    ):
        parse_policy(unpinned, SCHEMA.scopes, pinnable=SCHEMA.surface.pinnable)


@pytest.mark.parametrize(
    ("pin", "problem"),
    [
        ('"Enterprise.taxCreditAtLeast" = { grade = "Z" }', r"argument 'grade': 'Z' is not a TaxCreditGrade"),
        (
            '"Enterprise.taxCreditAtLeast" = { grade = "B", level = 1 }',
            r"no argument 'level' \(has: grade, year\)",
        ),
        (
            '"Enterprise.taxCreditAtLeast" = { year = 2025 }',
            r"argument 'grade' has no default and must be pinned",
        ),
        ('"Person.name" = {}', r"'Person.name' is not a verdict or summary field"),
        (
            '"Person.hasHukouIn" = { district = "350211" }',
            r"pins a field of 'person.hukou.verdict', which this grant lacks",
        ),
    ],
)
def test_bad_pins_are_refused_with_the_line(pin: str, problem: str) -> None:
    text = SHIPPED.replace('"Enterprise.taxCreditAtLeast" = { grade = "B" }', pin, 1)
    with pytest.raises(PolicyError, match=problem) as caught:
        parse_policy(text, SCHEMA.scopes, pinnable=SCHEMA.surface.pinnable)
    assert caught.value.line > 0


def test_the_shipped_policy_pins_every_verdict_it_grants() -> None:
    policy = load_policy(ROOT / "policy.toml", SCHEMA.scopes, pinnable=SCHEMA.surface.pinnable)
    assert policy.pinned("talent-policy", "talent_subsidy") == {
        "SocialInsurance.hasContributed": {"months": 24, "within": 36, "onTimeOnly": True},
        "Enterprise.taxCreditAtLeast": {"grade": "B", "year": None},
    }
    assert policy.pinned("developer", "development") == {}  # a development purpose explores


async def test_an_alias_cannot_overtake_the_window_while_it_is_asked(tmp_path: Path, redis_url: str) -> None:
    # Redis answers asynchronously: the second alias must wait for the first one's answer.
    path = tmp_path / "policy.toml"
    path.write_text(SHIPPED.replace("verdict_variants = 20", "verdict_variants = 1"), encoding="utf-8")
    shared = RateSettings(backend="redis", redis_url=redis_url, namespace=f"test-{uuid.uuid4().hex}")
    twice = (
        "query($id: ResidentId!) { person(id: $id) { socialInsurance {"
        " a: hasContributed(months: 2, within: 36) b: hasContributed(months: 2, within: 36) } } }"
    )
    app = create_app(settings(auth=AuthConfig(policy=str(path), hs256_secret=SECRET), rate_limit=shared))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://g") as client,
    ):
        first = await client.post(
            "/graphql",
            json={"query": verdict("(months: 1, within: 36)"), "variables": {"id": FATHER}},
            headers=DEVELOPER,
        )
        both = await client.post(
            "/graphql", json={"query": twice, "variables": {"id": FATHER}}, headers=DEVELOPER
        )
    assert "errors" not in first.json()
    assert both.json()["data"]["person"]["socialInsurance"] == {"a": None, "b": None}
    assert [e["extensions"]["variants"] for e in both.json()["errors"]] == [1, 1]


async def test_a_verdict_its_grant_does_not_pin_is_not_answered() -> None:
    # A policy built without the schema's pinnable fields (so not checked for pins) still
    # cannot open a verdict: enforcement fails closed.
    unpinned = SHIPPED.replace('"Enterprise.taxCreditAtLeast" = { grade = "B" }\n', "", 1)
    policy = parse_policy(unpinned, SCHEMA.scopes)
    app = create_app(settings(), policy=policy)
    document = "query($c: CreditCode!) { enterprise(creditCode: $c) { taxCreditAtLeast(grade: B) } }"
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://g") as client,
    ):
        response = await client.post(
            "/graphql", json={"query": document, "variables": {"c": EMPLOYER}}, headers=TALENT
        )
    error = response.json()["errors"][0]
    assert error["extensions"] == {"code": "FORBIDDEN", "scope": "tax.rating.verdict", "pinned": None}
