"""Test helpers: a policy store seeded from the shipped policy.toml, people with roles, and
calls to the console's GraphQL API as one of them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import httpx

from gateway.audit.record import PolicyChange
from gateway.console.people import mint_person_token
from gateway.policystore.store import PolicyStore
from gateway.policystore.transfer import import_policy
from tests.resolvers.city import SCHEMA

ROOT = Path(__file__).parents[1]
DEMO_SECRET = "demo-only-hs256-secret-do-not-use-in-production"  # govgraph.toml's default (published)
CONSOLE_AUDIENCE = "govgraph-console"

# People and their roles: applicant for the talent-policy app, reviewers of the credit
# centre (XM-XY) and the tax bureau (XM-SW), an auditor, an administrator.
APPLICANT, CREDIT_REVIEWER, TAX_REVIEWER, AUDITOR, ADMIN = (
    "staff-applicant",
    "staff-credit",
    "staff-tax",
    "staff-auditor",
    "staff-admin",
)
ROLES = (
    (APPLICANT, "applicant", "talent-policy"),
    (CREDIT_REVIEWER, "reviewer", "XM-XY"),
    (TAX_REVIEWER, "reviewer", "XM-SW"),
    (AUDITOR, "auditor", ""),
    (ADMIN, "administrator", ""),
)


async def seeded_store(dsn: str) -> PolicyStore:
    """A policy store in `dsn` holding the shipped policy and the people above."""
    store = PolicyStore(dsn)
    await store.install()
    path, checks = ROOT / "policy.toml", SCHEMA.policy_checks()
    text = path.read_text(encoding="utf-8")

    async def unrecorded(change: PolicyChange) -> None:
        return None

    await import_policy(store, text, checks.text(text, str(path)), "test-setup", unrecorded, checks)
    async with store.change("seed roles") as conn:
        for person, role, target in ROLES:
            await conn.execute(
                "INSERT INTO person_role (person, role, target, name, granted_by, granted_at) "
                "VALUES ($1, $2, $3, $1, 'test-setup', $4)",
                person,
                role,
                target,
                dt.datetime.now(dt.UTC),
            )
    return store


def person(subject: str, secret: str = DEMO_SECRET) -> dict[str, str]:
    return {"Authorization": "Bearer " + mint_person_token(secret, subject, subject, CONSOLE_AUDIENCE)}


async def console(
    http: httpx.AsyncClient, subject: str, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A call to /console/graphql as `subject`; the decoded answer."""
    response = await http.post(
        "/console/graphql", json={"query": query, "variables": variables or {}}, headers=person(subject)
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


APPLY = """
mutation Apply($input: ApplyInput!) {
  applyForAccess(input: $input) { id state sharing department scopes maskedScopes dueAt overdue grant reason }
}"""
REVIEW = """
mutation Review($id: String!, $approve: Boolean!, $reason: String!) {
  reviewApplication(id: $id, approve: $approve, reason: $reason) { id state reason decidedBy grant }
}"""
REVOKE = "mutation Revoke($id: Int!, $reason: String!) { revokeGrant(id: $id, reason: $reason) { id state } }"
RENEW = """mutation Renew($id: Int!, $days: Int!, $reason: String!) {
  renewGrant(id: $id, days: $days, reason: $reason) { id state expiresAt } }"""


def codes(answer: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in answer.get("errors", [])]
