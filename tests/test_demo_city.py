"""End to end: the seeded demo city, its five departments, and the gateway over HTTP."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
import pytest

from demo.stack import DemoStack
from sources.stats import CallStats

from .stack import gateway_app, served

FAMILY_REVIEW = """
query FamilyReview($ids: [ResidentId!]!) {
  persons(ids: $ids) {
    id name age
    household { number district { code } members { relation person { id } } }
    studentStatus { studentNumber school { name district { code } } }
    enrollmentApplications { number status }
    guardians {
      id name
      socialInsurance {
        status monthsContributed hasContributed(months: 24, within: 36)
        currentEmployer { name status taxCreditRating { year grade } }
      }
    }
  }
}
"""

# The FamilyReview query reads each entity at these depths (a depth is one round of
# loads): persons at the root, guardians' persons after the guardianship links, and
# household members' persons after the member lists. One call per (entity, depth).
MAX_CALLS = {
    ("public_security", "person"): 3,
    ("public_security", "household"): 1,
    ("public_security", "household_members"): 1,
    ("public_security", "guardians"): 1,
    ("education", "student_status"): 1,
    ("education", "school"): 1,
    ("education", "enrollment_applications"): 1,
    ("social_insurance", "insured_person"): 1,
    ("social_insurance", "contributions"): 1,
    ("market", "enterprise"): 1,
    ("tax", "credit_ratings"): 1,
}


@pytest.fixture
def city(demo_city: DemoStack) -> DemoStack:
    return demo_city


async def query(
    url: str, document: str, variables: dict[str, Any], headers: dict[str, str] | None = None
) -> dict[str, Any]:
    headers = headers or {"X-API-Key": "demo-only-developer-api-key", "X-Purpose": "development"}
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(
            f"{url}/graphql", json={"query": document, "variables": variables}, headers=headers
        )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_fifty_families_cost_one_call_per_entity_and_depth(city: DemoStack) -> None:
    children = city.samples["cases"]["family_child"][:50]
    assert len(children) == 50
    stats = CallStats()
    async with served(gateway_app(city.gateway_env(), stats)) as url:
        body = await query(url, FAMILY_REVIEW, {"ids": children})
    assert "errors" not in body, body.get("errors")
    persons = body["data"]["persons"]
    assert [p["id"] for p in persons] == children
    assert all(p["guardians"] for p in persons)
    calls = Counter((c.source, c.entity) for c in stats.recent)
    assert set(calls) == set(MAX_CALLS)
    for key, count in calls.items():
        assert count <= MAX_CALLS[key], (key, count)
    assert {c.outcome for c in stats.recent} == {"ok"}
    print(f"\nbatched: {sum(calls.values())} backend calls for 50 families")


async def test_without_batching_the_same_query_costs_far_more(city: DemoStack) -> None:
    children = city.samples["cases"]["family_child"][:50]
    batched, naive = CallStats(), CallStats()
    async with served(gateway_app(city.gateway_env(), batched)) as url:
        fast = await query(url, FAMILY_REVIEW, {"ids": children})
    async with served(gateway_app(city.gateway_env(), naive, batching=False)) as url:
        slow = await query(url, FAMILY_REVIEW, {"ids": children})
    assert fast == slow  # same answer, however it is fetched
    print(f"\nnaive: {naive.total()} backend calls, batched: {batched.total()}")
    assert naive.total() >= 20 * batched.total()


async def test_enterprise_profile_reads_market_tax_and_social_insurance(city: DemoStack) -> None:
    codes = city.samples["cases"]["d_rated_enterprise"][:3]
    document = """query($c: [CreditCode!]!) { enterprises(creditCodes: $c) {
        creditCode name status legalRepresentative { name }
        taxRegistration { taxAuthority } taxCreditRatings { year grade } insuredHeadcount
        annualReports { year status } } }"""
    stats = CallStats()
    async with served(gateway_app(city.gateway_env(), stats)) as url:
        body = await query(url, document, {"c": codes})
    assert "errors" not in body
    for code, ent in zip(codes, body["data"]["enterprises"], strict=True):
        assert ent["creditCode"] == code
        assert "D" in {r["grade"] for r in ent["taxCreditRatings"]}
        assert ent["legalRepresentative"]["name"]
    assert {c.source for c in stats.recent} == {"market", "tax", "social_insurance", "public_security"}


async def test_migrant_children_have_guardians_with_residence_permits(city: DemoStack) -> None:
    ids = city.samples["cases"]["migrant_child"][:5]
    document = """query($ids: [ResidentId!]!) { persons(ids: $ids) {
        hasLocalHukou household { number } guardians { hasLocalHukou residencePermit { number } } } }"""
    async with served(gateway_app(city.gateway_env(), CallStats())) as url:
        body = await query(url, document, {"ids": ids})
    assert ids
    assert len(body["data"]["persons"]) == len(ids)
    for person in body["data"]["persons"]:
        assert person["hasLocalHukou"] is False
        assert person["household"] is None
        assert any(g["residencePermit"] for g in person["guardians"])


async def test_duplicate_applications_are_visible(city: DemoStack) -> None:
    ids = city.samples["cases"]["duplicate_application"][:5]
    document = """query($ids: [ResidentId!]!) { persons(ids: $ids) {
        enrollmentApplications { year status school { code } } } }"""
    async with served(gateway_app(city.gateway_env(), CallStats())) as url:
        body = await query(url, document, {"ids": ids})
    assert ids
    assert len(body["data"]["persons"]) == len(ids)
    for person in body["data"]["persons"]:
        years = Counter(a["year"] for a in person["enrollmentApplications"])
        assert max(years.values()) >= 2


async def test_a_second_start_does_not_reseed(city: DemoStack) -> None:
    again = DemoStack(data_dir=city.data_dir, database_url=city.database_url, city=city.city)
    await again.start()
    try:
        assert again.seed_seconds is None
        assert again.samples == city.samples
    finally:
        await again.stop()


async def test_rest_departments_refuse_keys_their_database_cannot_take(city: DemoStack) -> None:
    url = city.urls["education"]
    async with httpx.AsyncClient(timeout=30) as client:
        refused = await client.post(f"{url}/v1/schools:batchGet", json={"keys": ["3502\u0000"]})
        one = await client.get(f"{url}/v1/schools/3502%00")
        fine = await client.post(f"{url}/v1/schools:batchGet", json={"keys": ["nothing"]})
    assert (refused.status_code, one.status_code, fine.status_code) == (422, 422, 200)
