"""The departments published by catalogue only (credit centre, licence library): their
fields answer the records as the catalogue declares them, and the one derivation, the
serious-dishonesty verdict, counts only entries still on a list."""

from __future__ import annotations

import copy
from typing import Any

from sources.registry import build_catalog

from . import city
from .city import BOSS, EMPLOYER, TODAY, run

PROFILE = """
query Profile($code: CreditCode!) {
  enterprise(creditCode: $code) {
    administrativeLicences { decisionNo category decidedOn validUntil authority }
    administrativePenalties { decisionNo penaltyType amount publishUntil }
    seriousDishonesty { listName listedOn removedOn }
    creditWarning { level assessedOn reasons }
    hasNoSeriousDishonesty
    licences { licenceNo kind validUntil status }
  }
}
"""


def records(source: str, entity: str, key: str) -> Any:
    return city.DATA[source][entity][key]


async def test_credit_and_licence_fields_answer_the_records() -> None:
    result = await run(PROFILE, {"code": EMPLOYER})
    assert result.errors is None
    enterprise = result.data["enterprise"]
    (licence,) = records("credit", "administrative_licences", EMPLOYER)
    assert enterprise["administrativeLicences"] == [
        {
            "decisionNo": licence["decision_no"],
            "category": licence["category"],
            "decidedOn": licence["decided_on"],
            "validUntil": licence["valid_until"],
            "authority": licence["authority"],
        }
    ]
    (penalty,) = records("credit", "administrative_penalties", EMPLOYER)
    assert enterprise["administrativePenalties"][0]["amount"] == "2000.0"
    assert enterprise["administrativePenalties"][0]["penaltyType"] == penalty["penalty_type"]
    warning = records("credit", "credit_warning", EMPLOYER)
    assert enterprise["creditWarning"] == {
        "level": warning["level"],
        "assessedOn": warning["assessed_on"],
        "reasons": warning["reasons"],
    }
    (business,) = records("licences", "enterprise_licences", EMPLOYER)
    assert enterprise["licences"] == [
        {"licenceNo": business["licence_no"], "kind": "营业执照", "validUntil": None, "status": "有效"}
    ]


async def test_an_entry_taken_off_the_list_no_longer_counts() -> None:
    (entry,) = records("credit", "serious_dishonesty", EMPLOYER)
    assert entry["removed_on"] < TODAY.isoformat()
    result = await run(PROFILE, {"code": EMPLOYER})
    assert result.data["enterprise"]["hasNoSeriousDishonesty"] is True
    assert result.data["enterprise"]["seriousDishonesty"][0]["removedOn"] == entry["removed_on"]


async def dishonest(removed_on: str | None) -> Any:
    data = copy.deepcopy(city.DATA)
    listed = {**records("credit", "serious_dishonesty", EMPLOYER)[0], "removed_on": removed_on}
    data["credit"]["serious_dishonesty"][EMPLOYER] = [listed]
    specs = [
        spec
        if spec.name != "credit"
        else type(spec)(spec.name, spec.kind, spec.entities, {"data": data["credit"]})
        for spec in city.specs()
    ]
    result = await run("query($c: CreditCode!) { enterprise(creditCode: $c) { hasNoSeriousDishonesty } }",
                       {"c": EMPLOYER}, cat=build_catalog(specs))  # fmt: skip
    assert result.errors is None
    return result.data["enterprise"]["hasNoSeriousDishonesty"]


async def test_an_enterprise_still_on_a_list_fails_the_verdict() -> None:
    assert await dishonest(None) is False
    assert await dishonest("2099-01-01") is False  # removal not yet in force
    assert await dishonest("2026-01-01") is True


async def test_a_person_s_certificates() -> None:
    result = await run("query($id: ResidentId!) { person(id: $id) { certificates { kind name status } } }",
                       {"id": BOSS})  # fmt: skip
    assert result.errors is None
    (certificate,) = records("licences", "person_certificates", BOSS)
    assert result.data["person"]["certificates"] == [
        {"kind": certificate["kind"], "name": certificate["name"], "status": certificate["status"]}
    ]


async def test_the_not_shared_score_is_no_field() -> None:
    result = await run("query($c: CreditCode!) { enterprise(creditCode: $c) { creditWarning { score } } }",
                       {"c": EMPLOYER})  # fmt: skip
    assert result.errors is not None
    assert "Cannot query field 'score' on type 'CreditWarning'" in result.errors[0].message
