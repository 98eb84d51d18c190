"""The synthetic city: determinism, valid identifiers, agreement across departments, loading."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from demo import synth
from demo.departments import SQL_DIR
from demo.synth import COLUMNS, DEPARTMENTS, CityConfig, Synth, generate, samples_of
from resolvers.identifiers import birth_date_of, credit_code_problem, resident_id_problem

SMALL = CityConfig(persons=2000)
XIAMEN = {"350203", "350205", "350206", "350211", "350212", "350213"}


@dataclass
class City:
    cfg: CityConfig
    chunks: list[tuple[str, str, int]] = field(default_factory=list)  # (department, table, rows)
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    samples: dict[str, Any] = field(default_factory=dict)

    def by(self, table: str, key: str) -> dict[Any, dict[str, Any]]:
        return {row[key]: row for row in self.tables[table]}

    def age(self, birth: dt.date) -> int:
        today = self.cfg.as_of
        return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


@pytest.fixture(scope="module")
def city() -> City:
    made = City(SMALL)
    maker = Synth(SMALL)
    for department, table, rows in maker.chunks():
        made.chunks.append((department, table, len(rows)))
        columns = COLUMNS[department][table]
        assert all(len(row) == len(columns) for row in rows), table
        made.tables[table].extend(dict(zip(columns, row, strict=True)) for row in rows)
    made.samples = maker.samples()
    return made


def month(day: dt.date, back: int = 0) -> str:
    n = day.year * 12 + day.month - 1 - back
    return f"{n // 12}{n % 12 + 1:02d}"


def ddl_columns() -> Iterator[tuple[str, str, list[str]]]:
    for department in DEPARTMENTS:
        path = SQL_DIR / f"{department}.sql"
        text = path.read_text(encoding="utf-8")
        for table, body in re.findall(r"CREATE TABLE (\w+) \((.*?)\n\);", text, re.S):
            lines = (line.split("--")[0].strip() for line in body.splitlines())
            names = [line.split()[0] for line in lines if line]
            yield path.stem, table, [n for n in names if n not in ("PRIMARY", "UNIQUE", "CHECK", "FOREIGN")]


def test_the_same_seed_gives_the_same_rows_and_another_seed_does_not() -> None:
    first = list(generate(SMALL))
    assert first == list(generate(SMALL))
    assert repr(first[:3]) == repr(list(generate(SMALL))[:3])
    other = list(generate(CityConfig(seed=SMALL.seed + 1, persons=SMALL.persons)))
    ids = {row[0] for _, table, rows in first if table == "person" for row in rows}
    other_ids = {row[0] for _, table, rows in other if table == "person" for row in rows}
    assert len(ids & other_ids) < len(ids) // 10


def test_samples_of_agrees_with_generate(city: City) -> None:
    assert samples_of(SMALL) == city.samples
    counts = Counter[str]()
    for department, table, size in city.chunks:
        counts[f"{department}.{table}"] += size
    assert city.samples["counts"] == dict(counts)
    assert city.samples["person_rows"] == len(city.tables["person"])
    assert abs(len(city.tables["person"]) - SMALL.persons) < 50


def test_columns_are_the_ddl_and_chunks_are_bounded(city: City) -> None:
    parsed = {(department, table): columns for department, table, columns in ddl_columns()}
    declared = {(d, t): list(columns) for d, tables in COLUMNS.items() for t, columns in tables.items()}
    assert parsed == declared
    assert set(COLUMNS) == set(DEPARTMENTS)
    assert all(size <= 50_100 for _, _, size in city.chunks)


def test_chunks_arrive_parents_first() -> None:
    """Replaying the stream, every foreign key points at a row an earlier chunk delivered."""
    seen: dict[str, set[Any]] = defaultdict(set)
    refs = {  # table: [(column, parent table)]
        "person": [("household_no", "household")],
        "household_member": [("household_no", "household"), ("person_id", "person")],
        "guardianship": [("child_id", "person"), ("guardian_id", "person")],
        "residence_permit": [("person_id", "person")],
        "portrait": [("person_id", "person")],
        "student_status": [("school_code", "school")],
        "enrollment_application": [("school_code", "school")],
        "annual_report": [("credit_code", "enterprise")],
    }
    for department, table, rows in generate(SMALL):
        columns = COLUMNS[department][table]
        for column, parent in refs.get(table, []):
            at = columns.index(column)
            assert {r[at] for r in rows if r[at] is not None} <= seen[parent], (table, column)
        seen[table].update(row[0] for row in rows)
    assert all(seen[table] for table in refs), "a table with foreign keys never arrived"


def test_resident_ids_are_valid_and_agree_with_gender_and_birth_date(city: City) -> None:
    persons = city.tables["person"]
    assert len({p["id"] for p in persons}) == len(persons)
    for p in persons:
        assert resident_id_problem(p["id"]) is None, p["id"]
        assert birth_date_of(p["id"]) == p["birth_date"]
        assert int(p["id"][16]) % 2 == (1 if p["gender"] == "1" else 0)
        assert p["phone"] is None or re.fullmatch(r"1[3-9]\d{9}", p["phone"])
        assert p["status"] in ("正常", "迁出")
    areas = Counter(p["id"][:6] for p in persons)
    assert {"350204", "350221"} <= set(areas), "historical Xiamen area codes appear in older ids"
    assert sum(n for area, n in areas.items() if not area.startswith("3502")) > len(persons) * 0.1
    assert Counter(p["ethnicity"] for p in persons).most_common(1)[0][0] == "汉族"
    assert len({p["ethnicity"] for p in persons}) >= 3


def test_credit_codes_are_valid_and_enterprises_are_consistent(city: City) -> None:
    persons = city.by("person", "id")
    enterprises = city.tables["enterprise"]
    assert len({e["credit_code"] for e in enterprises}) == len(enterprises)
    for e in enterprises:
        code = e["credit_code"]
        assert credit_code_problem(code) is None, code
        assert code[:2] == ("92" if e["kind"] == "个体工商户" else "91")
        assert code[2:8] == e["district"]
        assert e["district"] in XIAMEN
        assert (e["deregistered_on"] is not None) == (e["status"] in ("注销", "吊销"))
        if e["deregistered_on"]:
            assert e["established_on"] < e["deregistered_on"] < city.cfg.as_of
        rep = persons[e["legal_rep_id"]]
        assert e["established_on"] >= rep["birth_date"].replace(year=rep["birth_date"].year + 18, day=1)
    statuses = Counter(e["status"] for e in enterprises)
    assert statuses["存续"] > statuses["注销"] > 0
    assert statuses["吊销"] > 0
    codes = {e["credit_code"] for e in enterprises}
    assert {r["credit_code"] for r in city.tables["annual_report"]} <= codes
    assert {"已公示", "未公示"} == {r["status"] for r in city.tables["annual_report"]}


def test_households_members_and_guardians_exist(city: City) -> None:
    persons = city.by("person", "id")
    households = city.by("household", "number")
    assert {h["kind"] for h in households.values()} == {"家庭户", "集体户"}
    members: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for m in city.tables["household_member"]:
        assert m["person_id"] in persons
        assert m["household_no"] in households
        assert persons[m["person_id"]]["household_no"] == m["household_no"]
        members[m["household_no"]].append(m)
    for number, household in households.items():
        assert re.fullmatch(household["district"] + r"\d{9}", number)
        rows = sorted(members[number], key=lambda m: m["seq"])
        assert [m["seq"] for m in rows] == list(range(1, len(rows) + 1))
        assert rows[0]["relation"] == "户主"
        assert rows[0]["person_id"] == household["head_id"]
    assert sum(1 for p in persons.values() if p["household_no"]) == len(city.tables["household_member"])
    guardians: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for g in city.tables["guardianship"]:
        guardian = persons[g["guardian_id"]]
        assert g["child_id"] in persons
        assert city.age(guardian["birth_date"]) >= 18
        assert g["relation"] == "其他监护人" or g["relation"] == (
            "父亲" if guardian["gender"] == "1" else "母亲"
        )
        guardians[g["child_id"]].append(g)
    minors = [p for p in persons.values() if city.age(p["birth_date"]) < 18]
    assert minors
    assert all(1 <= len(guardians[p["id"]]) <= 2 for p in minors)
    assert all(r["ref"].startswith("ps://portrait/") for r in city.tables["portrait"])


def test_migrant_families_hold_residence_permits_instead_of_hukou(city: City) -> None:
    permits = city.by("residence_permit", "person_id")
    migrants = [p for p in city.tables["person"] if p["household_no"] is None]
    assert len(migrants) > len(city.tables["person"]) * 0.08
    for p in migrants:
        assert not p["hukou_district"].startswith("3502")
        assert p["residence_district"] in XIAMEN
        if city.age(p["birth_date"]) >= 18:
            permit = permits[p["id"]]
            assert permit["district"] == p["residence_district"]
            assert re.fullmatch(permit["district"] + r"\d{12}", permit["permit_no"])
    assert set(permits) <= {p["id"] for p in migrants}
    for permit in permits.values():
        assert permit["issued_on"] < permit["valid_until"]
        assert permit["status"] == ("有效" if permit["valid_until"] >= city.cfg.as_of else "过期")
    assert {"有效", "过期"} == {p["status"] for p in permits.values()}


def test_students_and_applications_point_at_schools_children_and_guardians(city: City) -> None:
    persons, schools = city.by("person", "id"), city.by("school", "code")
    guardian_pairs = {(g["child_id"], g["guardian_id"]) for g in city.tables["guardianship"]}
    school_year = city.cfg.as_of.year if city.cfg.as_of.month >= 9 else city.cfg.as_of.year - 1
    for code, school in schools.items():
        assert re.fullmatch(r"\d{10}", code)
        assert code.startswith(school["district"])
    for s in city.tables["student_status"]:
        person, school = persons[s["person_id"]], schools[s["school_code"]]
        birth = person["birth_date"]
        assert s["student_no"] == "G" + s["person_id"]
        assert s["grade"] == school_year - (birth.year + (6 if birth.month <= 8 else 7)) + 1
        assert school["level"] == ("PRIMARY" if s["grade"] <= 6 else "JUNIOR")
        assert school["district"] == person["residence_district"]
        assert s["migrant_child"] == (person["household_no"] is None)
    applications = city.tables["enrollment_application"]
    assert len({a["application_no"] for a in applications}) == len(applications)
    for a in applications:
        assert a["school_code"] in schools
        assert (a["person_id"], a["guardian_id"]) in guardian_pairs
        assert a["year"] == city.cfg.as_of.year
        assert a["application_no"].startswith(str(a["year"]))
        assert a["submitted_at"].tzinfo is not None
        assert a["submitted_at"].date() < city.cfg.as_of
    per_child: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for a in applications:
        per_child[a["person_id"]].append(a)
    duplicated = [apps for apps in per_child.values() if len(apps) > 1]
    assert duplicated
    for apps in duplicated:
        assert len({a["school_code"] for a in apps}) == len(apps)
        assert [a["status"] for a in apps][1:] == ["重复报名"] * (len(apps) - 1)


def test_contributions_employers_and_headcounts_agree(city: City) -> None:
    persons, enterprises = city.by("person", "id"), city.by("enterprise", "credit_code")
    insured = city.by("insured_person", "person_id")
    history = {month(city.cfg.as_of, back) for back in range(1, 49)}
    for person_id, ip in insured.items():
        assert person_id in persons
        assert re.fullmatch(r"\d{10}", ip["si_no"])
        if ip["status"] == "1":
            assert enterprises[ip["current_employer"]]["status"] == "存续"
        else:
            assert ip["current_employer"] is None
    assert len({ip["si_no"] for ip in insured.values()}) == len(insured)
    types: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
    employers: dict[str, set[str]] = defaultdict(set)
    heads = Counter[tuple[str, str]]()
    for c in city.tables["contribution"]:
        assert c["person_id"] in insured
        assert c["period"] in history
        assert c["period"] <= c["paid_month"] <= month(city.cfg.as_of, 1)
        assert 4000 <= c["base"] <= 30000
        employer = enterprises[c["employer"]]
        assert month(employer["established_on"]) <= c["period"]
        assert employer["deregistered_on"] is None or c["period"] < month(employer["deregistered_on"])
        types[(c["person_id"], c["period"])][c["insurance_type"]] = c["employer"]
        employers[c["person_id"]].add(c["employer"])
        if c["insurance_type"] == "110":
            heads[(c["employer"], c["period"])] += 1
    assert all(set(t) == {"110", "310"} and len(set(t.values())) == 1 for t in types.values())
    assert any(c["paid_month"] > c["period"] for c in city.tables["contribution"])
    assert sum(len(e) > 1 for e in employers.values()) > len(employers) * 0.1
    last_year = {month(city.cfg.as_of, back) for back in range(1, 13)}
    counted = {(h["credit_code"], h["month"]): h["headcount"] for h in city.tables["employer_headcount"]}
    assert {m for _, m in counted} == last_year
    assert {key for key in heads if key[1] in last_year} <= set(counted)
    assert all(count == heads[key] for key, count in counted.items())
    assert set(enterprises) == {code for code, _ in counted} | {
        code
        for code, e in enterprises.items()
        if e["deregistered_on"] and e["deregistered_on"] < min_day(last_year)
    }


def min_day(months: set[str]) -> dt.date:
    first = min(months)
    return dt.date(int(first[:4]), int(first[4:]), 1)


def test_tax_records_follow_enterprises_and_jobs(city: City) -> None:
    enterprises = city.by("enterprise", "credit_code")
    taxpayers = city.by("taxpayer", "credit_code")
    assert set(taxpayers) == set(enterprises)
    for code, t in taxpayers.items():
        e = enterprises[code]
        assert t["name"] == e["name"]
        assert (t["status"] == "注销") == (e["status"] == "注销")
        assert t["tax_authority"].startswith("国家税务总局厦门市")
        assert t["registered_on"] >= e["established_on"]
    years = range(city.cfg.as_of.year - 3, city.cfg.as_of.year)
    for r in city.tables["credit_rating"]:
        assert r["credit_code"] in enterprises
        assert r["year"] in years
        if r["score"] is None:
            assert r["grade"] in ("M", "D")
        else:
            assert r["grade"] == (
                "A" if r["score"] >= 90 else "B" if r["score"] >= 70 else "C" if r["score"] >= 40 else "D"
            )
        assert (r["grade"] == "M") == (enterprises[r["credit_code"]]["established_on"].year == r["year"])
    assert {"A", "B", "M", "C"} <= {r["grade"] for r in city.tables["credit_rating"]}
    assert {p["credit_code"] for p in city.tables["tax_payment"]} <= set(enterprises)
    assert {p["tax_type"] for p in city.tables["tax_payment"]} == {"增值税", "企业所得税"}
    latest = {
        r["credit_code"]: r["grade"] for r in sorted(city.tables["credit_rating"], key=lambda r: r["year"])
    }
    assert city.tables["arrears"]
    assert all(latest[a["credit_code"]] in ("C", "D") for a in city.tables["arrears"])
    worked = {(c["person_id"], c["period"][:4], c["employer"]) for c in city.tables["contribution"]}
    for s in city.tables["income_tax_summary"]:
        assert (s["person_id"], str(s["year"]), s["withholding_agent"]) in worked
        assert 0 <= s["tax_paid"] < s["income"]


def test_samples_name_generated_cases(city: City) -> None:
    cases = city.samples["cases"]
    assert all(0 < len(ids) <= 100 and len(set(ids)) == len(ids) for ids in cases.values()), cases
    assert len(cases["family_child"]) >= 50  # the end-to-end test reviews 50 families
    persons, enterprises = city.by("person", "id"), city.by("enterprise", "credit_code")
    insured = city.by("insured_person", "person_id")
    rated = {r["credit_code"] for r in city.tables["credit_rating"]}
    in_school = {s["person_id"] for s in city.tables["student_status"]}
    applied = Counter(a["person_id"] for a in city.tables["enrollment_application"])
    guardians: dict[str, list[str]] = defaultdict(list)
    for g in city.tables["guardianship"]:
        guardians[g["child_id"]].append(g["guardian_id"])
    for child in cases["family_child"]:
        assert child in in_school or child in applied
        for guardian in guardians[child]:
            assert insured[guardian]["status"] == "1"
            assert insured[guardian]["current_employer"] in rated
    for child in cases["migrant_child"]:
        assert persons[child]["household_no"] is None
        assert child in in_school or child in applied
    assert all(applied[child] >= 2 for child in cases["duplicate_application"])
    late = {c["person_id"] for c in city.tables["contribution"] if c["paid_month"] > c["period"]}
    assert set(cases["back_paid"]) <= late
    employers: dict[str, set[str]] = defaultdict(set)
    for c in city.tables["contribution"]:
        employers[c["person_id"]].add(c["employer"])
    assert all(len(employers[p]) == 2 for p in cases["changed_employer"])
    d_rated = {r["credit_code"] for r in city.tables["credit_rating"] if r["grade"] == "D"}
    assert set(cases["d_rated_enterprise"]) <= d_rated
    assert all(enterprises[code]["status"] == "注销" for code in cases["deregistered_enterprise"])
    assert set(cases["enterprise_with_arrears"]) <= {a["credit_code"] for a in city.tables["arrears"]}
    sizes = Counter(m["household_no"] for m in city.tables["household_member"])
    assert all(sizes[number] >= 4 for number in cases["household"])
    households = city.by("household", "number")
    assert all(households[number]["district"] == "350211" for number in cases["jimei_household"])
    assert set(cases["school"]) <= {s["code"] for s in city.tables["school"]}
    assert set(cases["legal_representative"]) <= {e["legal_rep_id"] for e in enterprises.values()}


def _on_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, ""))


async def test_seed_loads_every_generated_row_into_postgres(pg_admin_dsn: str) -> None:
    url = _on_database(pg_admin_dsn, "postgres")
    cfg = CityConfig(persons=1000)
    expected = Counter[tuple[str, str]]()
    for department, table, rows in generate(cfg):
        expected[(department, table)] += len(rows)
    prefix = f"gg_synth_{uuid.uuid4().hex[:8]}"
    dsns = {d: _on_database(url, f"{prefix}_{d}") for d in DEPARTMENTS}
    admin = await asyncpg.connect(url)
    try:
        for department in DEPARTMENTS:
            await admin.execute(f"CREATE DATABASE {prefix}_{department}")
        for department in DEPARTMENTS:
            conn = await asyncpg.connect(dsns[department])
            try:
                await conn.execute((SQL_DIR / f"{department}.sql").read_text(encoding="utf-8"))
            finally:
                await conn.close()
        samples = await synth.seed(dsns, cfg)
        assert samples == samples_of(cfg)
        for department in DEPARTMENTS:
            conn = await asyncpg.connect(dsns[department])
            try:
                for table in COLUMNS[department]:
                    count = await conn.fetchval(f"SELECT count(*) FROM {table}")
                    assert count == expected[(department, table)] > 0, table
            finally:
                await conn.close()
    finally:
        for department in DEPARTMENTS:
            await admin.execute(f"DROP DATABASE IF EXISTS {prefix}_{department} WITH (FORCE)")
        await admin.close()
