"""A hand-made family for pure graph tests, served by memory sources.

Small enough to reason about: every expected value in the tests is derived from these
records, not from the code under test.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from gateway.execution.schema import build_schema
from resolvers.context import AccessLog, Context, Principal
from resolvers.identifiers import credit_code_check, org_code_check, resident_id_check
from resolvers.loaders import Loaders
from sources.base import EntitySpec, Result, SourceSpec
from sources.registry import Catalog, build_catalog
from sources.stats import CallStats

TODAY = dt.date(2026, 9, 15)


def rid(area: str, born: str, seq: int) -> str:
    first17 = f"{area}{born}{seq:03d}"
    return first17 + resident_id_check(first17)


def uscc(org8: str) -> str:
    first17 = "91350211" + org8 + org_code_check(org8)
    return first17 + credit_code_check(first17)


FATHER = rid("350211", "19850412", 11)
MOTHER = rid("360426", "19870623", 22)
CHILD = rid("350211", "20190310", 31)
BOSS = rid("350203", "19700101", 13)
EMPLOYER = uscc("MA2Y0001")
HOUSEHOLD = "350211000000001"
SCHOOL = "3502110001"

ON_TIME = (
    [f"2024{m:02d}" for m in range(9, 13)]
    + [f"2025{m:02d}" for m in range(1, 13)]
    + [f"2026{m:02d}" for m in range(1, 5)]
)  # 20 months, each paid in its own month
BACK_PAID = ["202605", "202606", "202607", "202608"]  # paid in 202609


def person(pid: str, name: str, gender: str, born: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": pid,
        "name": name,
        "gender": gender,
        "birth_date": born,
        "ethnicity": "汉族",
        "phone": None,
        "household_no": HOUSEHOLD,
        "hukou_district": "350211",
        "hukou_address": "集美区杏林路1号",
        "residence_district": "350211",
        "residence_address": "集美区杏林路1号",
        "status": "正常",
        **extra,
    }


def contributions() -> list[dict[str, Any]]:
    rows = []
    for period in ON_TIME:
        for kind in ("110", "310"):
            rows.append(
                {
                    "person_id": FATHER,
                    "period": period,
                    "paid_month": period,
                    "insurance_type": kind,
                    "base": 8000.5,
                    "employer": EMPLOYER,
                }
            )
    for period in BACK_PAID:
        rows.append(
            {
                "person_id": FATHER,
                "period": period,
                "paid_month": "202609",
                "insurance_type": "110",
                "base": 8000.5,
                "employer": EMPLOYER,
            }
        )
    return rows


DATA: dict[str, dict[str, dict[str, Result]]] = {
    "public_security": {
        "person": {
            FATHER: person(FATHER, "林建国", "1", "1985-04-12", phone="13800000001"),
            MOTHER: person(MOTHER, "陈美玲", "2", "1987-06-23", household_no=None, hukou_district="360426"),
            CHILD: person(CHILD, "林小雨", "1", "2019-03-10"),
            BOSS: person(
                BOSS,
                "王大伟",
                "1",
                "1970-01-01",
                household_no=None,
                hukou_district="350203",
                residence_district="350203",
            ),
        },
        "household": {
            HOUSEHOLD: {
                "number": HOUSEHOLD,
                "district": "350211",
                "address": "集美区杏林路1号",
                "kind": "家庭户",
                "head_id": FATHER,
                "registered_on": "2010-05-01",
            },
        },
        "household_members": {
            HOUSEHOLD: [
                {"household_no": HOUSEHOLD, "person_id": FATHER, "relation": "户主", "seq": 1},
                {"household_no": HOUSEHOLD, "person_id": CHILD, "relation": "子", "seq": 2},
            ]
        },
        "guardians": {
            CHILD: [
                {"child_id": CHILD, "guardian_id": FATHER, "relation": "父亲"},
                {"child_id": CHILD, "guardian_id": MOTHER, "relation": "母亲"},
            ]
        },
        "wards": {
            FATHER: [{"child_id": CHILD, "guardian_id": FATHER, "relation": "父亲"}],
            MOTHER: [{"child_id": CHILD, "guardian_id": MOTHER, "relation": "母亲"}],
        },
        "residence_permit": {
            MOTHER: {
                "person_id": MOTHER,
                "permit_no": "350211202400000001",
                "district": "350211",
                "address": "集美区杏林路1号",
                "issued_on": "2024-01-01",
                "valid_until": "2027-01-01",
                "status": "有效",
            },
        },
        "portrait": {},
    },
    "education": {
        "school": {
            SCHOOL: {
                "code": SCHOOL,
                "name": "厦门市集美区第一实验小学",
                "district": "350211",
                "level": "PRIMARY",
                "address": "集美区",
                "capacity": 900,
            }
        },
        "student_status": {
            CHILD: {
                "person_id": CHILD,
                "student_no": "G" + CHILD,
                "school_code": SCHOOL,
                "grade": 1,
                "class_no": 3,
                "enrolled_month": "202509",
                "status": "在读",
                "boarding": False,
                "enrol_mode": "就近入学",
                "migrant_child": False,
            },
        },
        "enrollment_applications": {
            CHILD: [
                {
                    "application_no": "202500000001",
                    "person_id": CHILD,
                    "year": 2025,
                    "stage": "小学一年级",
                    "school_code": SCHOOL,
                    "district": "350211",
                    "guardian_id": FATHER,
                    "submitted_at": "2025-05-10T09:00:00+08:00",
                    "status": "已录取",
                },
                {
                    "application_no": "202500000002",
                    "person_id": CHILD,
                    "year": 2025,
                    "stage": "小学一年级",
                    "school_code": SCHOOL,
                    "district": "350211",
                    "guardian_id": MOTHER,
                    "submitted_at": "2025-05-11T09:00:00+08:00",
                    "status": "重复报名",
                },
            ]
        },
    },
    "social_insurance": {
        "insured_person": {
            FATHER: {
                "person_id": FATHER,
                "si_no": "3502000001",
                "status": "1",
                "first_insured_month": "201007",
                "current_employer": EMPLOYER,
                "updated_on": "2026-09-01",
            },
        },
        "contributions": {FATHER: contributions()},
        "employer_headcount": {
            EMPLOYER: [
                {"credit_code": EMPLOYER, "month": "202608", "headcount": 41},
                {"credit_code": EMPLOYER, "month": "202607", "headcount": 40},
            ],
        },
    },
    "tax": {
        "taxpayer": {
            EMPLOYER: {
                "credit_code": EMPLOYER,
                "taxpayer_no": EMPLOYER,
                "name": "厦门示例科技有限公司",
                "kind": "一般纳税人",
                "tax_authority": "国家税务总局厦门市集美区税务局",
                "registered_on": "2015-03-01",
                "status": "正常",
            },
        },
        "credit_ratings": {
            EMPLOYER: [
                {"credit_code": EMPLOYER, "year": y, "grade": g, "score": s, "published_on": f"{y + 1}-04-20"}
                for y, g, s in [(2025, "D", None), (2023, "B", 81), (2024, "A", 93)]
            ],
        },
        "tax_payments": {},
        "arrears": {},
        "income_tax": {},
    },
    "market": {
        "enterprise": {
            EMPLOYER: {
                "credit_code": EMPLOYER,
                "name": "厦门示例科技有限公司",
                "kind": "有限责任公司",
                "status": "存续",
                "legal_rep_id": BOSS,
                "registered_capital": 500.0,
                "established_on": "2015-02-01",
                "district": "350211",
                "address": "集美区软件园",
                "business_scope": "软件开发",
                "deregistered_on": None,
            },
        },
        "enterprises_by_legal_rep": {},
        "annual_reports": {},
    },
    "credit": {
        "administrative_licences": {
            EMPLOYER: [
                {
                    "credit_code": EMPLOYER,
                    "decision_no": "厦市监许〔2024〕123号",
                    "title": "食品经营许可决定书",
                    "category": "普通",
                    "content": "准予食品经营许可",
                    "decided_on": "2024-05-06",
                    "valid_from": "2024-05-06",
                    "valid_until": "2029-05-05",
                    "authority": "厦门市市场监督管理局",
                }
            ],
        },
        "administrative_penalties": {
            EMPLOYER: [
                {
                    "credit_code": EMPLOYER,
                    "decision_no": "厦税罚〔2023〕45号",
                    "violation": "逾期申报",
                    "penalty_type": "罚款",
                    "amount": 2000.0,
                    "basis": "《中华人民共和国税收征收管理法》第六十二条",
                    "decided_on": "2023-08-10",
                    "authority": "国家税务总局厦门市集美区税务局",
                    "publish_until": "2024-08-10",
                }
            ],
        },
        # Listed once, and taken off the list before TODAY: no longer counts.
        "serious_dishonesty": {
            EMPLOYER: [
                {
                    "credit_code": EMPLOYER,
                    "list_name": "重大税收违法失信主体",
                    "reason": "逃避追缴欠税",
                    "listed_on": "2025-03-01",
                    "listed_by": "国家税务总局厦门市税务局",
                    "removed_on": "2026-03-01",
                }
            ],
        },
        "credit_warning": {
            EMPLOYER: {
                "credit_code": EMPLOYER,
                "level": "MEDIUM",
                "score": 640,
                "assessed_on": "2026-09-14",
                "reasons": "近三年内有行政处罚",
            },
        },
    },
    "licences": {
        "enterprise_licences": {
            EMPLOYER: [
                {
                    "licence_no": EMPLOYER,
                    "credit_code": EMPLOYER,
                    "kind": "营业执照",
                    "name": "厦门示例科技有限公司",
                    "issued_on": "2015-02-01",
                    "valid_until": None,
                    "authority": "厦门市集美区市场监督管理局",
                    "status": "有效",
                }
            ],
        },
        "person_certificates": {
            BOSS: [
                {
                    "certificate_no": "350200123456",
                    "holder_id": BOSS,
                    "kind": "机动车驾驶证",
                    "name": "陈志强",
                    "issued_on": "1995-06-01",
                    "valid_until": None,
                    "authority": "厦门市公安局交通警察支队",
                    "status": "有效",
                }
            ],
        },
    },
}
DATA["audit"] = {"access_log": {}}
MANY = {
    "access_log",
    "household_members",
    "guardians",
    "wards",
    "enrollment_applications",
    "contributions",
    "employer_headcount",
    "credit_ratings",
    "tax_payments",
    "arrears",
    "income_tax",
    "enterprises_by_legal_rep",
    "annual_reports",
    "administrative_licences",
    "administrative_penalties",
    "serious_dishonesty",
    "enterprise_licences",
    "person_certificates",
}


def specs() -> list[SourceSpec]:
    return [
        SourceSpec(
            name, "memory", {e: EntitySpec(e, "id", many=e in MANY) for e in entities}, {"data": entities}
        )
        for name, entities in DATA.items()
    ]


def catalog(stats: CallStats | None = None) -> Catalog:
    return build_catalog(specs(), stats)


SCHEMA = build_schema()
EVERYTHING = Principal(client_id="test", purpose="test", grants=dict.fromkeys(SCHEMA.scopes, "full"))


async def run(
    query: str,
    variables: dict[str, Any] | None = None,
    cat: Catalog | None = None,
    principal: Principal = EVERYTHING,
    access: AccessLog | None = None,
) -> Any:
    context = Context(loaders=Loaders(cat or catalog()), principal=principal, today=TODAY, max_list_keys=5)
    if access is not None:
        context.access = access
    return await SCHEMA.execute(query, variable_values=variables, context_value=context)
