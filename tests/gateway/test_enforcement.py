"""Field policy: scopes, masking, verdicts and jurisdiction, applied by one mechanism."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.policy.model import FULL, MASKED, with_families
from resolvers.context import Principal
from sources.stats import CallStats
from tests.resolvers import city
from tests.resolvers.city import BOSS, CHILD, EMPLOYER, FATHER, HOUSEHOLD, MOTHER, SCHEMA, run


class Log:
    def __init__(self) -> None:
        self.reads: list[tuple[str, str]] = []
        self.denied: list[tuple[str, str]] = []
        self.lookups: list[tuple[str, str]] = []
        self.concluded: list[tuple[str, str, dict[str, object], object]] = []

    def read(self, subject: str, scope: str) -> None:
        self.reads.append((subject, scope))

    def deny(self, path: str, scope: str) -> None:
        self.denied.append((path, scope))

    def lookup(self, subject: str, outcome: str) -> None:
        self.lookups.append((subject, outcome))

    def conclude(self, subject: str, field: str, arguments: Mapping[str, object], value: object) -> None:
        self.concluded.append((subject, field, dict(arguments), value))


def principal(
    full: tuple[str, ...] = (), masked: tuple[str, ...] = (), districts: tuple[str, ...] = ()
) -> Principal:
    grants = with_families({**dict.fromkeys(full, FULL), **dict.fromkeys(masked, MASKED)}, SCHEMA.scopes)
    return Principal(client_id="c", purpose="p", grants=grants, jurisdiction=frozenset(districts))


def codes(result: Any) -> list[tuple[str, str]]:
    return [(".".join(map(str, e.path)), e.extensions["code"]) for e in result.errors or []]


def test_scopes_show_in_the_sdl() -> None:
    sdl = SCHEMA.as_str()
    assert 'name: String @scope(name: "person.identity") @mask(rule: NAME)' in sdl
    assert (
        "hasContributed(months: Int!, within: Int!, onTimeOnly: Boolean! = true): Boolean"
        ' @scope(name: "social_insurance.verdict")' in sdl
    )


async def test_denied_fields_are_null_with_forbidden_and_their_source_is_not_called() -> None:
    stats = CallStats()
    log = Log()
    result = await run(
        "query($id: ResidentId!) { person(id: $id) {"
        " name socialInsurance { status } studentStatus { grade } } }",
        {"id": CHILD},
        cat=city.catalog(stats),
        principal=principal(full=("person.identity",)),
        access=log,
    )
    assert result.data == {"person": {"name": "林小雨", "socialInsurance": None, "studentStatus": None}}
    assert codes(result) == [("person.socialInsurance", "FORBIDDEN"), ("person.studentStatus", "FORBIDDEN")]
    assert {c.source for c in stats.recent} == {"public_security"}
    assert log.denied == [("person.socialInsurance", "social_insurance.*"),
                          ("person.studentStatus", "education.student_status")]  # fmt: skip
    assert (CHILD, "person.identity") in log.reads


async def test_masked_grant_masks_ids_names_phones_and_addresses() -> None:
    query = """query($id: ResidentId!) { person(id: $id) {
        id name birthDate age phone residenceAddress household { number address } } }"""
    result = await run(
        query,
        {"id": FATHER},
        principal=principal(
            full=("person.hukou",), masked=("person.identity", "person.contact", "household.register")
        ),
    )
    person = result.data["person"]
    assert person["id"] == FATHER[0] + "*" * 15 + FATHER[-2:]
    assert FATHER[6:14] not in person["id"]  # never the birth date
    assert person["name"] == "林**"
    assert person["birthDate"] is None
    assert person["age"] == 41
    assert person["phone"] == "138****0001"
    # "集美区杏林路1号" is eight characters: at most eight are hidden, the first two always stay.
    assert person["residenceAddress"] == "集美******"
    assert person["household"]["number"] == HOUSEHOLD[:6] + "*" * (len(HOUSEHOLD) - 8) + HOUSEHOLD[-2:]
    assert result.errors is None


async def test_a_verdict_without_the_records_behind_it() -> None:
    stats = CallStats()
    query = """query($id: ResidentId!) { person(id: $id) { socialInsurance {
        verdict: hasContributed(months: 12, within: 36) contributions { period } } } }"""
    result = await run(
        query,
        {"id": FATHER},
        cat=city.catalog(stats),
        principal=principal(full=("social_insurance.status", "social_insurance.verdict")),
    )
    si = result.data["person"]["socialInsurance"]
    assert si == {"verdict": True, "contributions": None}
    assert codes(result) == [("person.socialInsurance.contributions", "FORBIDDEN")]
    assert "202409" not in str(result.data)


async def test_tax_verdict() -> None:
    query = """query($c: CreditCode!, $y: Int) { enterprise(creditCode: $c) {
        atLeastB: taxCreditAtLeast(grade: B, year: $y) rating: taxCreditRating { grade } } }"""
    p = principal(full=("tax.rating.verdict",))
    latest = await run(query, {"c": EMPLOYER}, principal=p)
    in_2024 = await run(query, {"c": EMPLOYER, "y": 2024}, principal=p)
    assert latest.data["enterprise"] == {"atLeastB": False, "rating": None}  # latest is D
    assert in_2024.data["enterprise"]["atLeastB"] is True  # 2024 was A
    assert codes(latest) == [("enterprise.rating", "FORBIDDEN")]


async def test_a_verdict_is_answered_once_per_subject_and_request() -> None:
    query = """query($c: CreditCode!) { enterprise(creditCode: $c) {
        a: taxCreditAtLeast(grade: A) again: taxCreditAtLeast(grade: A) b: taxCreditAtLeast(grade: B) } }"""
    result = await run(query, {"c": EMPLOYER}, principal=principal(full=("tax.rating.verdict",)))
    assert result.data["enterprise"] == {"a": False, "again": False, "b": None}
    assert codes(result) == [("enterprise.b", "FORBIDDEN")]


JIMEI = ("350211",)


async def test_jurisdiction_allows_persons_registered_or_living_there() -> None:
    p = principal(full=("person.identity", "person.family"), districts=JIMEI)
    result = await run(
        "query($id: ResidentId!) { person(id: $id) { name guardians { name } } }", {"id": CHILD}, principal=p
    )
    assert result.errors is None
    assert result.data["person"]["guardians"] == [
        {"name": "林建国"},
        {"name": "陈美玲"},
    ]  # the mother lives in Jimei


async def test_outside_the_jurisdiction_looks_the_same_as_not_found() -> None:
    p = principal(full=("person.identity",), districts=JIMEI)
    elsewhere = await run("query($id: ResidentId!) { person(id: $id) { name } }", {"id": BOSS}, principal=p)
    nobody = await run(
        "query($id: ResidentId!) { person(id: $id) { name } }",
        {"id": city.rid("350203", "19990101", 5)},
        principal=p,
    )
    assert elsewhere.data == nobody.data == {"person": None}
    assert [e.formatted for e in elsewhere.errors] == [e.formatted for e in nobody.errors]
    assert codes(elsewhere) == [("person", "FORBIDDEN")]


async def test_jurisdiction_applies_to_each_item_of_a_list() -> None:
    p = principal(full=("person.identity",), districts=JIMEI)
    result = await run(
        "query($ids: [ResidentId!]!) { persons(ids: $ids) { name } }",
        {"ids": [CHILD, BOSS, MOTHER]},
        principal=p,
    )
    assert result.data["persons"] == [{"name": "林小雨"}, None, {"name": "陈美玲"}]
    assert codes(result) == [("persons.1", "FORBIDDEN")]


async def test_enterprise_legal_representative_is_masked_for_the_desk() -> None:
    p = principal(
        full=("enterprise.registration", "enterprise.legal_representative"), masked=("person.identity",)
    )
    result = await run(
        "query($c: CreditCode!) { enterprise(creditCode: $c) { name legalRepresentative { id name } } }",
        {"c": EMPLOYER},
        principal=p,
    )
    assert result.data["enterprise"]["legalRepresentative"] == {
        "id": BOSS[0] + "*" * 15 + BOSS[-2:],
        "name": "王**",
    }
