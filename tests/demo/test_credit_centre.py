"""The public credit centre (信用) of the default demo city: 双公示, dishonesty lists, warnings."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections import Counter

from resolvers.identifiers import credit_code_problem

from .conftest import DefaultCity

RECORDS = ("administrative_licence", "administrative_penalty", "serious_dishonesty", "credit_warning")
LEVELS = ("SEVERE", "HIGH", "MEDIUM", "LOW")  # worst first
DECISION_NO = re.compile(r"[^〔〕]+〔(\d{4})〕\d+号")


def years_later(day: dt.date, years: int) -> dt.date:
    """The same day `years` later (negative: earlier); 28 February for 29 February."""
    return day.replace(year=day.year + years, day=day.day if (day.month, day.day) != (2, 29) else 28)


def share(default_city: DefaultCity, table: str) -> float:
    codes = {row["credit_code"] for row in default_city.tables[table]}
    return len(codes) / len(default_city.tables["enterprise"])


def test_records_are_about_registered_enterprises(default_city: DefaultCity) -> None:
    enterprises = default_city.by("enterprise", "credit_code")
    for table in RECORDS:
        rows = default_city.tables[table]
        assert rows, table
        for row in rows:
            assert credit_code_problem(row["credit_code"]) is None
            assert row["credit_code"] in enterprises, table
    for table in ("administrative_licence", "administrative_penalty"):
        rows = default_city.tables[table]
        assert len({row["decision_no"] for row in rows}) == len(rows)
        for row in rows:
            found = DECISION_NO.fullmatch(row["decision_no"])
            assert found is not None, row["decision_no"]
            assert int(found.group(1)) == row["decided_on"].year


def test_shares_of_enterprises_with_records(default_city: DefaultCity) -> None:
    assert 0.30 <= share(default_city, "administrative_licence") <= 0.40
    assert 0.10 <= share(default_city, "administrative_penalty") <= 0.15
    assert 0.02 <= share(default_city, "serious_dishonesty") <= 0.03
    assert share(default_city, "credit_warning") == 1
    assert len(default_city.tables["credit_warning"]) == len(default_city.tables["enterprise"])
    licences = Counter(row["credit_code"] for row in default_city.tables["administrative_licence"])
    penalties = Counter(row["credit_code"] for row in default_city.tables["administrative_penalty"])
    assert set(licences.values()) == {1, 2, 3}
    assert set(penalties.values()) == {1, 2}
    listings = default_city.tables["serious_dishonesty"]
    removed = [row for row in listings if row["removed_on"] is not None]
    assert 0 < len(removed) < len(listings) / 2


def test_warning_levels_follow_the_records(default_city: DefaultCity) -> None:
    as_of = default_city.as_of
    listed = {r["credit_code"] for r in default_city.tables["serious_dishonesty"] if r["removed_on"] is None}
    cutoff = years_later(as_of, -3)
    penalised = {
        r["credit_code"] for r in default_city.tables["administrative_penalty"] if r["decided_on"] >= cutoff
    }
    enterprises = default_city.by("enterprise", "credit_code")
    for w in default_city.tables["credit_warning"]:
        code = w["credit_code"]
        if code in listed:
            assert w["level"] in ("HIGH", "SEVERE"), w
        elif code in penalised:
            assert w["level"] in ("MEDIUM", "HIGH", "SEVERE"), w
        else:
            assert w["level"] == "LOW", w
        assert (w["reasons"] == "") == (w["level"] == "LOW"), w
        assert enterprises[code]["established_on"] <= w["assessed_on"] < as_of
    assert Counter(w["level"] for w in default_city.tables["credit_warning"]).keys() == set(LEVELS)


def test_scores_rank_the_levels(default_city: DefaultCity) -> None:
    scores: dict[str, list[int]] = {level: [] for level in LEVELS}
    for w in default_city.tables["credit_warning"]:
        assert isinstance(w["score"], int)
        assert 0 <= w["score"] <= 1000
        scores[w["level"]].append(w["score"])
    for worse, better in itertools.pairwise(LEVELS):
        assert max(scores[worse]) < min(scores[better]), (worse, better)


def test_records_are_dated_while_the_enterprise_traded(default_city: DefaultCity) -> None:
    enterprises, as_of = default_city.by("enterprise", "credit_code"), default_city.as_of

    def traded(code: str, day: dt.date) -> bool:
        ent = enterprises[code]
        return ent["established_on"] <= day < (ent["deregistered_on"] or as_of)

    for row in default_city.tables["administrative_licence"]:
        assert traded(row["credit_code"], row["decided_on"])
        assert row["valid_from"] == row["decided_on"]
        assert row["valid_until"] is None or row["valid_until"] > row["valid_from"]
        assert row["category"] in ("普通", "特许", "认可", "核准", "登记")
    for row in default_city.tables["administrative_penalty"]:
        assert traded(row["credit_code"], row["decided_on"])
        assert row["decided_on"] < row["publish_until"] <= years_later(row["decided_on"], 3)
        assert (row["amount"] is None) == (row["penalty_type"] in ("警告", "责令停产停业", "暂扣许可证件")), (
            row
        )
        assert row["amount"] is None or row["amount"] > 0
        assert row["basis"].startswith("《")
        assert row["authority"]
        assert row["violation"]
    for row in default_city.tables["serious_dishonesty"]:
        assert traded(row["credit_code"], row["listed_on"])
        assert row["removed_on"] is None or row["listed_on"] < row["removed_on"] < as_of


def test_licensing_decisions_are_the_licence_library_s(default_city: DefaultCity) -> None:
    """Each published decision is the current issue of a licence the library holds."""
    held = {
        (r["credit_code"], r["issued_on"], r["valid_until"], r["authority"])
        for r in default_city.tables["enterprise_licence"]
    }
    for row in default_city.tables["administrative_licence"]:
        key = (row["credit_code"], row["valid_from"], row["valid_until"], row["authority"])
        assert key in held, row
    titles = Counter(row["title"] for row in default_city.tables["administrative_licence"])
    assert titles["准予设立登记通知书"] > 0
    assert titles["食品经营许可决定书"] > 0


def test_the_lists_draw_on_what_the_tax_office_knows(default_city: DefaultCity) -> None:
    d_rated = {r["credit_code"] for r in default_city.tables["credit_rating"] if r["grade"] == "D"}
    owing = {r["credit_code"] for r in default_city.tables["arrears"]}
    revoked = {e["credit_code"] for e in default_city.tables["enterprise"] if e["status"] == "吊销"}
    penalties = default_city.grouped("administrative_penalty", "credit_code")
    listings = default_city.tables["serious_dishonesty"]
    for row in listings:
        if row["list_name"] == "重大税收违法失信主体":
            assert row["credit_code"] in d_rated
            evasion = [p for p in penalties.get(row["credit_code"], []) if p["violation"] == "偷税"]
            assert evasion, row
            assert min(p["decided_on"] for p in evasion) < row["listed_on"], row
    known = sum(row["credit_code"] in d_rated | owing | revoked for row in listings)
    assert known >= 0.8 * len(listings)
    assert len({row["list_name"] for row in listings}) >= 3


def test_the_new_samples_show_what_they_say(default_city: DefaultCity) -> None:
    cases, as_of = default_city.cases, default_city.as_of
    warnings = default_city.by("credit_warning", "credit_code")
    listings = default_city.grouped("serious_dishonesty", "credit_code")
    penalties = default_city.grouped("administrative_penalty", "credit_code")
    licensed = {r["credit_code"] for r in default_city.tables["administrative_licence"]}
    for code in cases["dishonest_enterprise"]:
        assert any(r["removed_on"] is None for r in listings.get(code, []))
        assert warnings[code]["level"] in ("HIGH", "SEVERE")
    for code in cases["delisted_enterprise"]:
        assert listings.get(code, [])
        assert all(r["removed_on"] is not None for r in listings.get(code, []))
    for code in cases["penalised_enterprise"]:
        assert any(p["decided_on"] >= years_later(as_of, -3) for p in penalties.get(code, []))
        assert warnings[code]["level"] in ("MEDIUM", "HIGH")
    enterprises = default_city.by("enterprise", "credit_code")
    for code in cases["clean_enterprise"]:
        assert warnings[code]["level"] == "LOW"
        assert code not in penalties
        assert code not in listings
        assert code in licensed
        assert enterprises[code]["status"] == "存续"
    trade = {r["credit_code"] for r in default_city.tables["enterprise_licence"] if r["kind"] != "营业执照"}
    assert set(cases["licensed_enterprise"]) <= trade
    held = Counter(r["holder_id"] for r in default_city.tables["person_certificate"])
    assert all(held[pid] >= 2 for pid in cases["certificate_holder"])
    for case in ("dishonest_enterprise", "delisted_enterprise", "penalised_enterprise", "clean_enterprise"):
        assert cases[case], case
