"""The graph over memory sources: shape, cross-source links, derived fields, errors."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pytest

from sources.base import EntitySpec, Result, SourceSpec
from sources.errors import SourceUnavailable
from sources.memory import MemorySource
from sources.registry import build_catalog
from sources.stats import CallStats

from . import city
from .city import BACK_PAID, BOSS, CHILD, EMPLOYER, FATHER, MOTHER, ON_TIME, TODAY, run

FAMILY = """
query Family($id: ResidentId!) {
  person(id: $id) {
    name gender birthDate age hasLocalHukou hukouDistrict { code name inXiamen }
    household { number kind members { relation person { name } } head { name } }
    guardians { name residencePermit { number isValid } }
    studentStatus { studentNumber grade enrolledMonth school { name level district { name } } }
    enrollmentApplications(year: 2025) { number status guardian { name } }
  }
}
"""


async def test_family_reads_across_departments() -> None:
    result = await run(FAMILY, {"id": CHILD})
    assert result.errors is None
    child = result.data["person"]
    assert child["name"] == "林小雨"
    assert child["gender"] == "MALE"
    assert child["birthDate"] == "2019-03-10"
    assert child["age"] == 7  # born 2019-03-10, counted on 2026-09-15
    assert child["hukouDistrict"] == {"code": "350211", "name": "集美区", "inXiamen": True}
    assert child["household"]["members"] == [
        {"relation": "户主", "person": {"name": "林建国"}},
        {"relation": "子", "person": {"name": "林小雨"}},
    ]
    assert child["household"]["head"] == {"name": "林建国"}
    assert child["guardians"] == [
        {"name": "林建国", "residencePermit": None},
        {"name": "陈美玲", "residencePermit": {"number": "350211202400000001", "isValid": True}},
    ]
    assert child["studentStatus"]["studentNumber"] == "G" + CHILD
    assert child["studentStatus"]["enrolledMonth"] == "2025-09"
    assert child["studentStatus"]["school"]["district"] == {"name": "集美区"}
    assert [a["status"] for a in child["enrollmentApplications"]] == ["已录取", "重复报名"]


async def test_children_and_hukou_verdict() -> None:
    query = """query($id: ResidentId!, $d: String!) { person(id: $id) {
        hasLocalHukou hasHukouIn(district: $d) children { name } } }"""
    mother = (await run(query, {"id": MOTHER, "d": "350211"})).data["person"]
    assert mother == {"hasLocalHukou": False, "hasHukouIn": False, "children": [{"name": "林小雨"}]}
    jimei = (await run(query, {"id": FATHER, "d": "350211"})).data["person"]
    siming = (await run(query, {"id": FATHER, "d": "350203"})).data["person"]
    assert jimei["hasHukouIn"] is True
    assert siming["hasHukouIn"] is False


SOCIAL = """
query($id: ResidentId!) { person(id: $id) { socialInsurance {
  status firstInsuredMonth
  currentEmployer { name legalRepresentative { name } taxCreditRating { year grade } }
  onTime: monthsContributed
  strict: hasContributed(months: 24, within: 36)
  recent: contributions(from: "2026-04", type: PENSION) { period paidMonth backPaid base }
} } }
"""


async def months_contributed(arguments: str) -> int:
    """One summary per request: a second argument set for the same subject is refused."""
    field = f"monthsContributed{arguments}"
    query = f"query($id: ResidentId!) {{ person(id: $id) {{ socialInsurance {{ {field} }} }} }}"
    result = await run(query, {"id": FATHER})
    value: int = result.data["person"]["socialInsurance"]["monthsContributed"]
    return value


async def test_contribution_summaries_and_verdicts_are_derived_from_records() -> None:
    si = (await run(SOCIAL, {"id": FATHER})).data["person"]["socialInsurance"]
    assert si["status"] == "PAYING"
    assert si["firstInsuredMonth"] == "2010-07"
    assert si["currentEmployer"]["legalRepresentative"] == {"name": "王大伟"}
    assert si["currentEmployer"]["taxCreditRating"] == {"year": 2025, "grade": "D"}  # latest, not last listed
    assert si["onTime"] == len(ON_TIME)
    assert await months_contributed("(onTimeOnly: false)") == len(ON_TIME) + len(BACK_PAID)
    assert await months_contributed('(since: "2026-01")') == len([p for p in ON_TIME if p >= "202601"])
    assert await months_contributed("(type: MEDICAL)") == len(ON_TIME)
    # 20 on-time + 4 back-paid months in the 36 before 2026-09: back-pay decides the verdict.
    lenient = await run(
        "query($id: ResidentId!) { person(id: $id) { socialInsurance {"
        " hasContributed(months: 24, within: 36, onTimeOnly: false) } } }",
        {"id": FATHER},
    )
    assert si["strict"] is False
    assert lenient.data["person"]["socialInsurance"]["hasContributed"] is True
    assert si["recent"][0] == {
        "period": "2026-04",
        "paidMonth": "2026-04",
        "backPaid": False,
        "base": "8000.5",
    }
    assert [r["backPaid"] for r in si["recent"]] == [False, True, True, True, True]


async def test_enterprise_links_to_tax_market_and_headcount() -> None:
    query = """query($c: CreditCode!) { enterprise(creditCode: $c) {
        name status registeredCapital district { name } legalRepresentative { id }
        taxRegistration { kind } r2023: taxCreditRating(year: 2023) { grade score }
        taxCreditRatings { year } insuredHeadcount latest: insuredHeadcount(month: "2026-07")
        taxArrears { amount }
    } }"""
    ent = (await run(query, {"c": EMPLOYER})).data["enterprise"]
    assert ent["status"] == "ACTIVE"
    assert ent["registeredCapital"] == "500.0"
    assert ent["legalRepresentative"] == {"id": BOSS}
    assert ent["r2023"] == {"grade": "B", "score": 81}
    assert [r["year"] for r in ent["taxCreditRatings"]] == [2023, 2024, 2025]
    assert ent["insuredHeadcount"] == 41
    assert ent["latest"] == 40
    assert ent["taxArrears"] == []


async def test_unknown_keys_are_plain_nulls() -> None:
    result = await run(
        "query($ids: [ResidentId!]!) { persons(ids: $ids) { name } }",
        {"ids": [CHILD, city.rid("350203", "20000101", 1), FATHER]},
    )
    assert result.errors is None
    assert result.data["persons"] == [{"name": "林小雨"}, None, {"name": "林建国"}]


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ('{ person(id: "350211201903100312") { name } }', "wrong check digit"),
        ('{ person(id: "3502") { name } }', "must be 18 characters"),
        ('{ enterprise(creditCode: "91350211MA2Y0001XI") { name } }', "outside GB 32100"),
        ("{ person(id: 350211) { name } }", "ResidentId must be a string"),
    ],
)
async def test_bad_keys_are_refused_before_any_source_is_asked(query: str, fragment: str) -> None:
    stats = CallStats()
    result = await run(query, cat=city.catalog(stats))
    assert result.data is None
    (error,) = result.errors
    # Written in the document: a validation failure, where the literal is.
    assert error.extensions["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert error.locations is not None
    assert error.locations[0].column > 1
    assert fragment in error.message
    assert stats.total() == 0


async def test_bad_variable_is_refused_with_code() -> None:
    query = (
        "query($id: ResidentId!, $c: Month) {"
        " person(id: $id) { socialInsurance { monthsContributed(since: $c) } } }"
    )
    result = await run(query, {"id": FATHER, "c": "2026-13"})
    (error,) = result.errors
    assert error.extensions["code"] == "BAD_USER_INPUT"
    assert "YYYY-MM" in error.message


async def test_verdict_arguments_are_checked() -> None:
    result = await run(
        "query($id: ResidentId!) { person(id: $id) { socialInsurance {"
        " hasContributed(months: 40, within: 36) } } }",
        {"id": FATHER},
    )
    (error,) = result.errors
    assert error.extensions["code"] == "BAD_USER_INPUT"
    assert result.data["person"]["socialInsurance"]["hasContributed"] is None


async def test_list_arguments_are_bounded() -> None:
    ids = [city.rid("350203", "20000101", i) for i in range(6)]
    stats = CallStats()
    result = await run(
        "query($ids: [ResidentId!]!) { persons(ids: $ids) { name } }", {"ids": ids}, cat=city.catalog(stats)
    )
    (error,) = result.errors
    assert error.extensions == {
        "code": "OPERATION_LIMIT",
        "limit": "list_keys",
        "max": 5,
        "actual": 6,
        "argument": "ids",
    }
    assert stats.total() == 0


class FailingSource(MemorySource):
    async def fetch_many(self, entity: str, keys: Sequence[str]) -> list[Result]:
        raise SourceUnavailable(self.name, entity, "connection reset by 10.0.0.7:5432")


async def test_a_failing_department_costs_only_its_fields() -> None:
    specs = []
    instances = {}
    for name, entities in city.DATA.items():
        spec = SourceSpec(
            name,
            "memory",
            {e: EntitySpec(e, "id", many=e in city.MANY) for e in entities},
            {"data": entities},
        )
        specs.append(spec)
        if name == "social_insurance":
            instances[name] = FailingSource(spec)
    cat = build_catalog(specs, instances=instances)
    result = await run(
        "query($id: ResidentId!) { person(id: $id) {"
        " name socialInsurance { status } studentStatus { grade } } }",
        {"id": CHILD},
        cat=cat,
    )
    assert result.data["person"] == {"name": "林小雨", "socialInsurance": None, "studentStatus": {"grade": 1}}
    (error,) = result.errors
    assert error.path == ["person", "socialInsurance"]
    assert error.extensions == {"code": "SOURCE_UNAVAILABLE", "source": "social_insurance"}
    assert "10.0.0.7" not in error.message


class BrokenSource(MemorySource):
    async def fetch_many(self, entity: str, keys: Sequence[str]) -> list[Result]:
        raise RuntimeError("SELECT secret FROM person -- internal")


async def test_unexpected_errors_are_masked_with_an_id_found_in_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    spec = SourceSpec(
        "public_security",
        "memory",
        {e: EntitySpec(e, "id", many=e in city.MANY) for e in city.DATA["public_security"]},
    )
    others = [
        SourceSpec(n, "memory", {e: EntitySpec(e, "id", many=e in city.MANY) for e in ents}, {"data": ents})
        for n, ents in city.DATA.items()
        if n != "public_security"
    ]
    cat = build_catalog([spec, *others], instances={"public_security": BrokenSource(spec)})
    with caplog.at_level(logging.ERROR, logger="govgraph.errors"):
        result = await run("query($id: ResidentId!) { person(id: $id) { name } }", {"id": CHILD}, cat=cat)
    (error,) = result.errors
    assert error.message == "Internal server error."
    assert error.extensions["code"] == "INTERNAL_SERVER_ERROR"
    error_id = error.extensions["errorId"]
    matching = [r for r in caplog.records if error_id in r.getMessage()]
    assert len(matching) == 1
    assert matching[0].exc_info is not None
    assert TODAY.year == 2026
