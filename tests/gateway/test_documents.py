"""Trusted documents: run by id, parsed once, and the only thing persisted-only clients run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from gateway.compat import graphql_schema
from gateway.execution.documents import MANIFEST, DocumentError, Registry, build_manifest, document_id
from gateway.execution.schema import build_schema
from gateway.policy.model import PolicyError, parse_policy
from sources.stats import CallStats
from tests.resolvers.city import EMPLOYER, FATHER

from .support import DEVELOPER, ROOT, gateway, headers

DOCUMENTS = ROOT / "documents"
PROFILE = (DOCUMENTS / "enterprise_profile.graphql").read_text(encoding="utf-8")
PROFILE_ID = document_id(PROFILE)
DESK = headers("enterprise-desk", "enterprise_service")


def test_shipped_manifest_lists_every_document_with_its_hash() -> None:
    manifest = json.loads((DOCUMENTS / MANIFEST).read_text(encoding="utf-8"))
    assert manifest == build_manifest(DOCUMENTS, graphql_schema(build_schema()))
    assert {d["file"] for d in manifest["documents"]} == {p.name for p in DOCUMENTS.glob("*.graphql")}


async def test_persisted_only_client_runs_its_document_by_id() -> None:
    body = {"documentId": f"sha256:{PROFILE_ID}", "variables": {"creditCode": EMPLOYER}}
    async with gateway() as client:
        by_id = (await client.post("/graphql", json=body, headers=DESK)).json()
        apollo = {
            "extensions": {"persistedQuery": {"version": 1, "sha256Hash": PROFILE_ID}},
            "variables": body["variables"],
        }
        by_hash = (await client.post("/graphql", json=apollo, headers=DESK)).json()
    assert by_id["data"]["enterprise"]["name"] == "厦门示例科技有限公司"
    assert by_id["data"]["enterprise"]["legalRepresentative"] == {"name": "王**"}  # masked for the desk
    assert by_hash["data"] == by_id["data"]


APQ_UNKNOWN = {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}


@pytest.mark.parametrize(
    ("body", "refusal"),
    [
        # the right text, but not by id
        ({"query": PROFILE, "variables": {"creditCode": EMPLOYER}}, "PERSISTED_QUERY_ID_REQUIRED"),
        ({"query": '{ enterprise(creditCode: "' + EMPLOYER + '") { name } }'}, "PERSISTED_QUERY_ID_REQUIRED"),
        ({"documentId": "sha256:" + "0" * 64}, "PERSISTED_QUERY_NOT_IN_LIST"),
        ({"extensions": APQ_UNKNOWN}, "PERSISTED_QUERY_NOT_IN_LIST"),
        # a text with its own hash would register it for other clients; not for this one
        (
            {
                "query": "{ __typename }",
                "extensions": {"persistedQuery": {"version": 1, "sha256Hash": document_id("{ __typename }")}},
            },
            "PERSISTED_QUERY_NOT_IN_LIST",
        ),
    ],
)
async def test_persisted_only_client_runs_nothing_else(body: dict[str, object], refusal: str) -> None:
    stats = CallStats()
    async with gateway(stats) as client:
        response = (await client.post("/graphql", json=body, headers=DESK)).json()
    assert "data" not in response
    assert [e["extensions"]["code"] for e in response["errors"]] == [refusal]
    assert stats.total() == 0


async def test_other_clients_may_use_ids_or_text_and_a_mismatch_is_refused() -> None:
    async with gateway() as client:
        by_id = await client.post(
            "/graphql",
            json={"documentId": PROFILE_ID, "variables": {"creditCode": EMPLOYER}},
            headers=DEVELOPER,
        )
        mismatch = await client.post(
            "/graphql", json={"documentId": PROFILE_ID, "query": "{ __typename }"}, headers=DEVELOPER
        )
        text = await client.post(
            "/graphql",
            json={
                "query": "query($id: ResidentId!) { person(id: $id) { name } }",
                "variables": {"id": FATHER},
            },
            headers=DEVELOPER,
        )
    assert by_id.json()["data"]["enterprise"]["creditCode"] == EMPLOYER
    assert mismatch.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert text.json()["data"]["person"]["name"] == "林建国"


def test_an_altered_document_stops_start_up_naming_the_file(tmp_path: Path) -> None:
    shutil.copytree(DOCUMENTS, tmp_path / "documents")
    target = tmp_path / "documents" / "talent_check.graphql"
    target.write_text(target.read_text(encoding="utf-8") + "# edited after registration\n", encoding="utf-8")
    with pytest.raises(DocumentError, match=r"talent_check\.graphql: content does not match id"):
        Registry.load(tmp_path / "documents", graphql_schema(build_schema()))


def test_an_invalid_document_is_refused_naming_the_file(tmp_path: Path) -> None:
    document = 'query Bad { person(id: "' + FATHER + '") { nickname } }'
    (tmp_path / "bad.graphql").write_text(document, encoding="utf-8")
    with pytest.raises(DocumentError, match=r"bad\.graphql: Cannot query field 'nickname'"):
        build_manifest(tmp_path, graphql_schema(build_schema()))


async def test_a_persisted_only_client_runs_only_the_operations_its_policy_names() -> None:
    stats = CallStats()
    talent_check = document_id((DOCUMENTS / "talent_check.graphql").read_text(encoding="utf-8"))
    review = document_id((DOCUMENTS / "enrolment_review.graphql").read_text(encoding="utf-8"))
    async with gateway(stats) as client:
        refused = [
            (
                await client.post(
                    "/graphql",
                    json={"documentId": doc, "variables": {"id": FATHER, "months": 24, "within": 36}},
                    headers=DESK,
                )
            ).json()
            for doc in (talent_check, review)
        ]
        asked = stats.total()
        own = await client.post(
            "/graphql", json={"documentId": PROFILE_ID, "variables": {"creditCode": EMPLOYER}}, headers=DESK
        )
    for body in refused:
        assert "data" not in body
        assert [e["extensions"]["code"] for e in body["errors"]] == ["PERSISTED_QUERY_NOT_IN_LIST"]
        assert "EnterpriseProfile" in body["errors"][0]["message"]
    assert asked == 0  # refused before any department was asked
    assert own.json()["data"]["enterprise"]["name"] == "厦门示例科技有限公司"


SHIPPED = (ROOT / "policy.toml").read_text(encoding="utf-8")
NAMES = {d.name for d in Registry.load(DOCUMENTS, graphql_schema(build_schema()))}


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (
            'operations = ["EnterpriseProfile", "PolicyCashingPrefill"]\n',
            "a persisted_only client must list the registered operations",
        ),
        (
            'operations = ["EnterpriseProfile", "PolicyCashingPrefill"]',
            "no registered operation is named 'EnterpriseProfiel'",
        ),
    ],
)
def test_the_operations_a_client_names_are_checked(change: str, problem: str) -> None:
    text = SHIPPED.replace(change, "" if change.endswith("\n") else 'operations = ["EnterpriseProfiel"]', 1)
    with pytest.raises(PolicyError, match=problem) as caught:
        parse_policy(text, build_schema().scopes, operations=NAMES)
    assert caught.value.line > 0
