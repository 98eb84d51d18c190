"""The licence library and the credit centre as the demo stack seeds and serves them: their
databases, the credit centre's REST service, and the sources govgraph.toml configures."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import asyncpg
import httpx
import pytest

from demo.stack import DemoStack
from sources.registry import build_catalog
from tests.stack import demo_settings

TABLES = {
    "credit": ("administrative_licence", "administrative_penalty", "serious_dishonesty", "credit_warning"),
    "licences": ("enterprise_licence", "person_certificate"),
}


async def rows(dsn: str, sql: str, *args: object) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(dsn)
    try:
        return [dict(r) for r in await conn.fetch(sql, *args)]
    finally:
        await conn.close()


def jsonish(row: dict[str, Any]) -> dict[str, Any]:
    """A database row as the REST department's JSON carries it (dates ISO, numbers as numbers)."""
    text = json.dumps(row, default=lambda v: v.isoformat() if isinstance(v, dt.date) else float(v))
    return dict(json.loads(text))


async def test_the_new_databases_hold_the_city_the_samples_count(demo_city: DemoStack) -> None:
    counts = demo_city.samples["counts"]
    enterprises = await rows(demo_city.dsns["market"], "SELECT credit_code FROM enterprise")
    codes = {r["credit_code"] for r in enterprises}
    for department, tables in TABLES.items():
        for table in tables:
            found = await rows(demo_city.dsns[department], f"SELECT count(*) AS n FROM {table}")
            assert found[0]["n"] == counts[f"{department}.{table}"] > 0, table
            if table != "person_certificate":
                referenced = await rows(
                    demo_city.dsns[department], f"SELECT DISTINCT credit_code FROM {table}"
                )
                assert {r["credit_code"] for r in referenced} <= codes, table
    assert counts["credit.credit_warning"] == len(codes)
    assert counts["licences.enterprise_licence"] > len(codes)  # a business licence each, and more
    holders = await rows(demo_city.dsns["licences"], "SELECT DISTINCT holder_id FROM person_certificate")
    adults = await rows(
        demo_city.dsns["public_security"],
        "SELECT id FROM person WHERE id = ANY($1::text[]) AND birth_date <= $2 AND status = '正常'",
        [r["holder_id"] for r in holders],
        demo_city.city.as_of.replace(year=demo_city.city.as_of.year - 18),
    )
    assert len(adults) == len(holders) > 0


async def test_the_credit_centre_answers_a_batch_in_decision_order(demo_city: DemoStack) -> None:
    dsn, url = demo_city.dsns["credit"], demo_city.urls["credit"]
    dishonest = demo_city.samples["cases"]["dishonest_enterprise"][0]
    penalised = demo_city.samples["cases"]["penalised_enterprise"][0]
    clean = demo_city.samples["cases"]["clean_enterprise"][0]
    keys = [dishonest, penalised, clean, "91350200NOSUCHONE0"]
    endpoints = {
        "administrative_licences": ("administrative_licence", "decided_on"),
        "administrative_penalties": ("administrative_penalty", "decided_on"),
        "serious_dishonesty": ("serious_dishonesty", "listed_on"),
        "credit_warnings": ("credit_warning", "credit_code"),
    }
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        for endpoint, (table, order) in endpoints.items():
            answer = await client.post(f"/v1/{endpoint}:batchGet", json={"keys": keys})
            assert answer.status_code == 200, endpoint
            items = answer.json()["items"]
            stored = await rows(dsn, f"SELECT * FROM {table} WHERE credit_code = ANY($1::text[])", keys)
            assert stored, table
            answered = sorted(json.dumps(i, sort_keys=True) for i in items)
            assert answered == sorted(json.dumps(jsonish(r), sort_keys=True) for r in stored), endpoint
            for code in keys:
                mine = [i[order] for i in items if i["credit_code"] == code]
                assert mine == sorted(mine), endpoint
        warning = (await client.get(f"/v1/credit_warnings/{dishonest}")).json()
        missing = await client.get("/v1/credit_warnings/91350200NOSUCHONE0")
    assert warning["level"] in ("HIGH", "SEVERE")
    assert missing.status_code == 404


async def test_the_configured_sources_reach_both_departments(demo_city: DemoStack) -> None:
    settings = demo_settings(demo_city.gateway_env())
    catalog = build_catalog([s for s in settings.sources if s.name in ("credit", "licences")])
    cases = demo_city.samples["cases"]
    unknown = "91350200NOSUCHONE0"
    try:
        route = catalog.routes["credit_warning"]
        levels = await route.source.fetch_many("credit_warning", [cases["clean_enterprise"][0], unknown])
        assert levels[0] is not None
        assert levels[0]["level"] == "LOW"
        assert levels[1] is None
        for entity in ("administrative_licences", "administrative_penalties", "serious_dishonesty"):
            source = catalog.routes[entity].source
            found = await source.fetch_many(entity, [cases["dishonest_enterprise"][0], unknown])
            assert isinstance(found[0], list)
            assert found[1] == []
        source = catalog.routes["enterprise_licences"].source
        licensed = cases["licensed_enterprise"][0]
        (licences,) = await source.fetch_many("enterprise_licences", [licensed])
        assert isinstance(licences, list)
        assert [r["issued_on"] for r in licences] == sorted(r["issued_on"] for r in licences)
        assert {r["kind"] for r in licences} > {"营业执照"}
        holder = cases["certificate_holder"][0]
        source = catalog.routes["person_certificates"].source
        (certificates,) = await source.fetch_many("person_certificates", [holder])
        assert isinstance(certificates, list)
        assert len(certificates) >= 2
        assert {r["holder_id"] for r in certificates} == {holder}
    finally:
        await catalog.aclose()


async def test_a_restarted_stack_describes_and_stops_the_new_departments(demo_city: DemoStack) -> None:
    again = DemoStack(data_dir=demo_city.data_dir, database_url=demo_city.database_url, city=demo_city.city)
    await again.start()
    try:
        assert again.seed_seconds is None  # the new departments count in "already seeded"
        described = again.describe()
        assert described["credit"].startswith("http://127.0.0.1:")
        assert described["licences"].startswith("postgresql://gg_licences@")
        env = again.gateway_env()
        assert env["GOVGRAPH_CREDIT_URL"] == again.urls["credit"]
        assert env["GOVGRAPH_LICENCES_DSN"] == again.dsns["licences"]
        await again.stop_department("credit")
        async with httpx.AsyncClient(timeout=5) as client:
            with pytest.raises(httpx.ConnectError):
                await client.get(f"{again.urls['credit']}/healthz")
            assert (await client.get(f"{demo_city.urls['credit']}/healthz")).status_code == 200
    finally:
        await again.stop()
