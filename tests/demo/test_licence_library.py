"""The licence library (电子证照) of the default demo city: enterprises' licences, people's certificates."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from resolvers.identifiers import birth_date_of, credit_code_problem, resident_id_problem

from .conftest import DefaultCity

# Trade licences and the words in the names of the enterprises that plausibly need them.
FOOD = ("餐饮管理", "食品", "小吃店", "便利店", "茶叶店")
NEEDED_BY = {
    "食品经营许可证": FOOD,
    "食品生产许可证": ("食品",),
    "烟草专卖零售许可证": ("便利店",),
    "建筑业企业资质证书": ("建设工程",),
    "安全生产许可证": ("建设工程",),
    "道路运输经营许可证": ("物流",),
    "医疗器械经营许可证": ("医疗器械",),
    "旅行社业务经营许可证": ("旅游",),
    "广播电视节目制作经营许可证": ("文化传媒",),
    "公共场所卫生许可证": ("理发店",),
}
SUFFIXES = ("有限公司", "股份有限公司", "商行", "")


def turns(birth: dt.date, years: int) -> dt.date:
    try:
        return birth.replace(year=birth.year + years)
    except ValueError:  # 29 February
        return dt.date(birth.year + years, 3, 1)


def test_every_enterprise_has_one_business_licence_numbered_with_its_code(default_city: DefaultCity) -> None:
    enterprises = default_city.by("enterprise", "credit_code")
    licences = default_city.tables["enterprise_licence"]
    assert len({row["licence_no"] for row in licences}) == len(licences)
    business = [row for row in licences if row["kind"] == "营业执照"]
    assert sorted(row["credit_code"] for row in business) == sorted(enterprises)
    for row in business:
        assert row["licence_no"] == row["credit_code"]
        assert credit_code_problem(row["credit_code"]) is None
        assert row["authority"].endswith("市场监督管理局")
    assert {row["credit_code"] for row in licences} <= set(enterprises)


def test_licences_follow_their_enterprise(default_city: DefaultCity) -> None:
    enterprises, as_of = default_city.by("enterprise", "credit_code"), default_city.as_of
    kinds = Counter[str]()
    for row in default_city.tables["enterprise_licence"]:
        ent = enterprises[row["credit_code"]]
        kinds[row["kind"]] += 1
        assert row["name"] == ent["name"]
        assert ent["established_on"] <= row["issued_on"] < as_of
        assert row["valid_until"] is None or row["valid_until"] > row["issued_on"]
        if ent["status"] == "存续":
            assert row["status"] == "有效"
            assert row["valid_until"] is None or row["valid_until"] >= as_of, row
        else:
            assert row["issued_on"] < ent["deregistered_on"]
            expected = ent["status"] if row["kind"] == "营业执照" else "注销"
            assert row["status"] == expected, (row, ent["status"])
        if row["kind"] != "营业执照":
            trades = NEEDED_BY[row["kind"]]
            assert any(ent["name"].endswith(t + s) for t in trades for s in SUFFIXES), (
                row["kind"],
                ent["name"],
            )
    assert set(kinds) == {"营业执照", *NEEDED_BY}
    assert kinds["食品经营许可证"] > kinds["建筑业企业资质证书"] > 0
    statuses = Counter(row["status"] for row in default_city.tables["enterprise_licence"])
    assert statuses["有效"] > statuses["注销"] > statuses["吊销"] > 0


def test_certificates_belong_to_adults_and_carry_their_names(default_city: DefaultCity) -> None:
    persons, as_of = default_city.by("person", "id"), default_city.as_of
    certificates = default_city.tables["person_certificate"]
    assert len({row["certificate_no"] for row in certificates}) == len(certificates)
    for row in certificates:
        assert resident_id_problem(row["holder_id"]) is None
        holder = persons[row["holder_id"]]
        assert holder["status"] == "正常"
        assert birth_date_of(row["holder_id"]) == holder["birth_date"]
        assert row["name"] == holder["name"]
        assert turns(holder["birth_date"], 18) <= row["issued_on"] < as_of, row
        assert row["authority"]


def test_certificate_status_follows_validity(default_city: DefaultCity) -> None:
    as_of = default_city.as_of
    certificates = default_city.tables["person_certificate"]
    for row in certificates:
        lapsed = row["valid_until"] is not None and row["valid_until"] < as_of
        assert (row["status"] == "过期") == lapsed, row
        assert row["valid_until"] is None or row["valid_until"] > row["issued_on"]
        if row["kind"] == "机动车驾驶证" and row["valid_until"] is not None:
            assert row["valid_until"] <= turns(row["issued_on"], 10)  # terms of 6 years, then 10
    statuses = Counter((row["kind"], row["status"]) for row in certificates)
    assert statuses[("机动车驾驶证", "有效")] > statuses[("机动车驾驶证", "过期")] > 0
    assert statuses[("机动车驾驶证", "注销")] > 0
    assert {row["kind"] for row in certificates} >= {
        "机动车驾驶证",
        "教师资格证",
        "执业医师资格证书",
        "学位证书",
    }


def test_qualifications_come_at_a_plausible_age(default_city: DefaultCity) -> None:
    persons = default_city.by("person", "id")
    youngest = {"学位证书": 21, "教师资格证": 21, "执业医师资格证书": 24, "专业技术资格证书": 26}
    for row in default_city.tables["person_certificate"]:
        if row["kind"] in youngest:
            birth = persons[row["holder_id"]]["birth_date"]
            assert row["issued_on"] >= turns(birth, youngest[row["kind"]]), row
    degrees = [row for row in default_city.tables["person_certificate"] if row["kind"] == "学位证书"]
    assert all(row["issued_on"].month == 6 and row["certificate_no"][:5].isdigit() for row in degrees)


def test_about_half_of_the_adults_hold_one_to_three_certificates(default_city: DefaultCity) -> None:
    as_of = default_city.as_of
    adults = {
        p["id"]
        for p in default_city.tables["person"]
        if p["status"] == "正常" and turns(p["birth_date"], 18) <= as_of
    }
    held = Counter(row["holder_id"] for row in default_city.tables["person_certificate"])
    assert set(held) <= adults
    assert 0.40 <= len(held) / len(adults) <= 0.60, len(held) / len(adults)
    assert set(held.values()) == {1, 2, 3}
    kinds = {(row["holder_id"], row["kind"]) for row in default_city.tables["person_certificate"]}
    assert len(kinds) == sum(held.values()), "nobody holds two certificates of a kind"
