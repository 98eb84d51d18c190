"""The benchmark's operations: their GraphQL documents and their `direct` equivalents.

Each operation is what one of the gateway's real users sends. Its `direct` function is
the same question asked of the departments without a gateway: level by level in the
order the query needs (a level's keys come from the records of the level above), every
fetch of a level at once (`asyncio.gather`), records already fetched by the request not
asked for again. It assembles the same JSON the GraphQL answer's `data` holds, so the
benchmark can check that every variant answers alike.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import decimal
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sources.base import Record, Result

__all__ = [
    "BULK",
    "BULK_VERDICT",
    "OPERATIONS",
    "Fetch",
    "Operation",
    "Request",
    "district_name",
    "has_contributed",
    "months_contributed",
    "today_cst",
]

DOCUMENTS = Path(__file__).parents[1] / "documents"
Fetch = Callable[[str, Sequence[str]], Awaitable[list[Result]]]
Json = dict[str, Any]

# --- what the graph derives from records (mirrors resolvers/, written out independently) ---

_CST = dt.timezone(dt.timedelta(hours=8))
_DISTRICTS = {
    "350200": "厦门市",
    "350202": "鼓浪屿区",
    "350203": "思明区",
    "350204": "开元区",
    "350205": "海沧区",
    "350206": "湖里区",
    "350211": "集美区",
    "350212": "同安区",
    "350213": "翔安区",
    "350221": "同安县",
}
GENDER = {"1": "MALE", "2": "FEMALE"}
INSURANCE_STATUS = {"1": "PAYING", "2": "SUSPENDED", "3": "TERMINATED"}
ENTERPRISE_STATUS = {"存续": "ACTIVE", "在业": "ACTIVE", "注销": "DEREGISTERED", "吊销": "REVOKED"}
GRADES = ["A", "B", "M", "C", "D"]  # best first
PENSION = "110"


def today_cst() -> dt.date:
    return dt.datetime.now(_CST).date()


def district_name(code: str | None) -> str | None:
    return None if code is None else _DISTRICTS.get(code)


def age(birth: str | None, today: dt.date) -> int | None:
    if birth is None:
        return None
    b = dt.date.fromisoformat(birth[:10])
    return today.year - b.year - ((today.month, today.day) < (b.month, b.day))


def month(key: str | None) -> str | None:
    return None if key is None else f"{key[:4]}-{key[4:6]}"


def decimal_text(value: Any) -> str | None:
    return None if value is None else str(decimal.Decimal(str(value)))


def _shift(key: str, months: int) -> str:
    index = int(key[:4]) * 12 + int(key[4:]) - 1 + months
    return f"{index // 12:04d}{index % 12 + 1:02d}"


def _counted(rows: Iterable[Record], first: str, last: str) -> int:
    return len(
        {
            r["period"]
            for r in rows
            if r["insurance_type"] == PENSION
            and first <= r["period"] <= last
            and r["paid_month"] <= r["period"]
        }
    )


def months_contributed(rows: Iterable[Record]) -> int:
    """Pension months paid on time, ever (monthsContributed with its defaults)."""
    return _counted(rows, "000000", "999999")


def has_contributed(rows: Iterable[Record], months: int, within: int, today: dt.date) -> bool:
    this_month = f"{today.year:04d}{today.month:02d}"
    return _counted(rows, _shift(this_month, -within), _shift(this_month, -1)) >= months


def permit_valid(r: Record, today: dt.date) -> bool:
    until = r.get("valid_until")
    return r.get("status") == "有效" and until is not None and dt.date.fromisoformat(until[:10]) >= today


def latest_rating(rows: Sequence[Record]) -> Record | None:
    return max(rows, key=lambda r: int(r["year"])) if rows else None


# --- one request's records ---


class Request:
    """The records one request has fetched, by entity and key; `load` asks for the rest.

    `known` may be shared between requests (the floor's preloading does) so that it ends
    up holding every record the workload reads."""

    def __init__(self, fetch: Fetch, known: dict[str, dict[str, Result]] | None = None) -> None:
        self._fetch = fetch
        self.known: dict[str, dict[str, Result]] = {} if known is None else known
        self.today = today_cst()

    async def load(self, entity: str, keys: Iterable[str | None]) -> None:
        have = self.known.setdefault(entity, {})
        missing = list(dict.fromkeys(k for k in keys if k is not None and k not in have))
        if missing:
            results = await self._fetch(entity, missing)
            have.update(zip(missing, results, strict=True))

    async def level(self, *loads: Awaitable[None]) -> None:
        await asyncio.gather(*loads)

    def one(self, entity: str, key: str | None) -> Record | None:
        r = None if key is None else self.known.get(entity, {}).get(key)
        return r if isinstance(r, dict) else None

    def many(self, entity: str, key: str | None) -> list[Record]:
        r = None if key is None else self.known.get(entity, {}).get(key)
        return r if isinstance(r, list) else []


def _present(records: Iterable[Record | None]) -> list[Record]:
    return [r for r in records if r is not None]


# --- the operations ---


@dataclass(frozen=True)
class Operation:
    name: str
    title: str
    query: str
    direct: Callable[[Request, Mapping[str, Any]], Awaitable[Json]]
    note: str = ""


def _document(file: str) -> str:
    return (DOCUMENTS / file).read_text(encoding="utf-8")


# The registered EnrolmentReview document, plus each guardian's employer and its tax
# credit rating (as the enrolment platform's review of a family describes it): the one
# query that reads all five departments.
ENROLMENT = """query EnrolmentReview($ids: [ResidentId!]!, $year: Int) {
  persons(ids: $ids) {
    id
    name
    age
    hasLocalHukou
    hukouDistrict { code name }
    household { number district { name } members { relation person { id name } } }
    studentStatus { studentNumber grade school { code name } }
    enrollmentApplications(year: $year) { number year stage status school { code name } }
    guardians {
      id
      name
      residencePermit { number isValid }
      socialInsurance {
        monthsContributed
        hasContributed(months: 24, within: 36)
        currentEmployer { name taxCreditRating { year grade } }
      }
    }
  }
}
"""


async def enrolment_direct(req: Request, v: Mapping[str, Any]) -> Json:
    ids: list[str] = list(v["ids"])
    year = v.get("year")
    await req.load("person", ids)
    children = _present(req.one("person", i) for i in ids)
    child_ids = [c["id"] for c in children]
    await req.level(
        req.load("household", (c.get("household_no") for c in children)),
        req.load("student_status", child_ids),
        req.load("enrollment_applications", child_ids),
        req.load("guardians", child_ids),
    )
    households = _present(req.one("household", c.get("household_no")) for c in children)
    statuses = _present(req.one("student_status", i) for i in child_ids)
    applications = [a for i in child_ids for a in req.many("enrollment_applications", i)]
    guardian_ids = [g["guardian_id"] for i in child_ids for g in req.many("guardians", i)]
    await req.level(
        req.load("household_members", (h["number"] for h in households)),
        req.load(
            "school", [s.get("school_code") for s in statuses] + [a.get("school_code") for a in applications]
        ),
        req.load("person", guardian_ids),
    )
    members = [m for h in households for m in req.many("household_members", h["number"])]
    guardians = _present(req.one("person", i) for i in guardian_ids)
    found = [g["id"] for g in guardians]
    await req.level(
        req.load("person", (m["person_id"] for m in members)),
        req.load("residence_permit", found),
        req.load("insured_person", found),
    )
    insured = _present(req.one("insured_person", i) for i in found)
    await req.level(
        req.load("contributions", (i["person_id"] for i in insured)),
        req.load("enterprise", (i.get("current_employer") for i in insured)),
    )
    employers = _present(req.one("enterprise", i.get("current_employer")) for i in insured)
    await req.load("credit_ratings", (e["credit_code"] for e in employers))

    def school(code: str | None) -> Json | None:
        s = req.one("school", code)
        return None if s is None else {"code": s["code"], "name": s.get("name")}

    def household(number: str | None) -> Json | None:
        h = req.one("household", number)
        if h is None:
            return None
        rows = req.many("household_members", h["number"])
        return {
            "number": h["number"],
            "district": None if h.get("district") is None else {"name": district_name(h["district"])},
            "members": [
                {"relation": m.get("relation"), "person": _id_name(req.one("person", m["person_id"]))}
                for m in rows
            ],
        }

    def guardian(g: Record) -> Json:
        permit = req.one("residence_permit", g["id"])
        si = req.one("insured_person", g["id"])
        social: Json | None = None
        if si is not None:
            rows = req.many("contributions", si["person_id"])
            employer = req.one("enterprise", si.get("current_employer"))
            social = {
                "monthsContributed": months_contributed(rows),
                "hasContributed": has_contributed(rows, 24, 36, req.today),
                "currentEmployer": None
                if employer is None
                else {
                    "name": employer.get("name"),
                    "taxCreditRating": _year_grade(
                        latest_rating(req.many("credit_ratings", employer["credit_code"]))
                    ),
                },
            }
        return {
            "id": g["id"],
            "name": g.get("name"),
            "residencePermit": None
            if permit is None
            else {"number": permit["permit_no"], "isValid": permit_valid(permit, req.today)},
            "socialInsurance": social,
        }

    def child(c: Record) -> Json:
        status = req.one("student_status", c["id"])
        code = c.get("hukou_district")
        return {
            "id": c["id"],
            "name": c.get("name"),
            "age": age(c.get("birth_date"), req.today),
            "hasLocalHukou": c.get("household_no") is not None,
            "hukouDistrict": None if code is None else {"code": code, "name": district_name(code)},
            "household": household(c.get("household_no")),
            "studentStatus": None
            if status is None
            else {
                "studentNumber": status["student_no"],
                "grade": status.get("grade"),
                "school": school(status.get("school_code")),
            },
            "enrollmentApplications": [
                {
                    "number": a["application_no"],
                    "year": a["year"],
                    "stage": a.get("stage"),
                    "status": a.get("status"),
                    "school": school(a.get("school_code")),
                }
                for a in req.many("enrollment_applications", c["id"])
                if year is None or a["year"] == year
            ],
            "guardians": [
                guardian(g)
                for g in _present(
                    req.one("person", link["guardian_id"]) for link in req.many("guardians", c["id"])
                )
            ],
        }

    persons = [req.one("person", i) for i in ids]
    return {"persons": [None if p is None else child(p) for p in persons]}


def _id_name(p: Record | None) -> Json | None:
    return None if p is None else {"id": p["id"], "name": p.get("name")}


def _year_grade(r: Record | None) -> Json | None:
    return None if r is None else {"year": r["year"], "grade": r["grade"]}


async def talent_direct(req: Request, v: Mapping[str, Any]) -> Json:
    pid: str = v["id"]
    await req.load("person", [pid])
    person = req.one("person", pid)
    if person is None:
        return {"person": None}
    await req.load("insured_person", [pid])
    si = req.one("insured_person", pid)
    if si is None:
        return {"person": {"id": pid, "name": person.get("name"), "socialInsurance": None}}
    await req.level(req.load("contributions", [pid]), req.load("enterprise", [si.get("current_employer")]))
    employer = req.one("enterprise", si.get("current_employer"))
    if employer is not None:
        await req.load("credit_ratings", [employer["credit_code"]])
    social: Json = {
        "status": INSURANCE_STATUS.get(si.get("status") or ""),
        "eligible": has_contributed(req.many("contributions", pid), v["months"], v["within"], req.today),
        "currentEmployer": None,
    }
    if employer is not None:
        rating = latest_rating(req.many("credit_ratings", employer["credit_code"]))
        social["currentEmployer"] = {
            "creditCode": employer["credit_code"],
            "name": employer.get("name"),
            "status": ENTERPRISE_STATUS.get(employer.get("status") or ""),
            "goodTaxpayer": None if rating is None else GRADES.index(rating["grade"]) <= GRADES.index("B"),
        }
    return {"person": {"id": pid, "name": person.get("name"), "socialInsurance": social}}


async def household_direct(req: Request, v: Mapping[str, Any]) -> Json:
    number = str(v["number"]).strip()
    await req.load("household", [number])
    h = req.one("household", number)
    if h is None:
        return {"household": None}
    await req.load("household_members", [number])
    rows = req.many("household_members", number)
    ids = [m["person_id"] for m in rows]
    await req.load("person", ids)
    found = [p["id"] for p in _present(req.one("person", i) for i in ids)]
    await req.level(req.load("residence_permit", found), req.load("student_status", found))
    await req.load(
        "school", (s.get("school_code") for s in _present(req.one("student_status", i) for i in found))
    )

    def member(p: Record | None) -> Json | None:
        if p is None:
            return None
        permit = req.one("residence_permit", p["id"])
        status = req.one("student_status", p["id"])
        school = None if status is None else req.one("school", status.get("school_code"))
        return {
            "id": p["id"],
            "name": p.get("name"),
            "gender": GENDER.get(p.get("gender") or ""),
            "age": age(p.get("birth_date"), req.today),
            "phone": p.get("phone"),
            "residenceAddress": p.get("residence_address"),
            "residencePermit": None
            if permit is None
            else {"number": permit["permit_no"], "validUntil": permit["valid_until"][:10]},
            "studentStatus": None
            if status is None
            else {
                "grade": status.get("grade"),
                "school": None if school is None else {"name": school.get("name")},
            },
        }

    code = h.get("district")
    return {
        "household": {
            "number": h["number"],
            "address": h.get("address"),
            "kind": h.get("kind"),
            "district": None if code is None else {"code": code, "name": district_name(code)},
            "members": [
                {"relation": m.get("relation"), "person": member(req.one("person", m["person_id"]))}
                for m in rows
            ],
        }
    }


async def enterprise_direct(req: Request, v: Mapping[str, Any]) -> Json:
    code: str = v["creditCode"]
    await req.load("enterprise", [code])
    e = req.one("enterprise", code)
    if e is None:
        return {"enterprise": None}
    await req.level(
        req.load("person", [e.get("legal_rep_id")]),
        req.load("annual_reports", [code]),
        req.load("taxpayer", [code]),
        req.load("credit_ratings", [code]),
        req.load("arrears", [code]),
        req.load("employer_headcount", [code]),
    )
    rep = req.one("person", e.get("legal_rep_id"))
    taxpayer = req.one("taxpayer", code)
    headcounts = req.many("employer_headcount", code)
    established = e.get("established_on")
    return {
        "enterprise": {
            "creditCode": code,
            "name": e.get("name"),
            "type": e.get("kind"),
            "status": ENTERPRISE_STATUS.get(e.get("status") or ""),
            "registeredCapital": decimal_text(e.get("registered_capital")),
            "establishedOn": None if established is None else established[:10],
            "district": None if e.get("district") is None else {"name": district_name(e["district"])},
            "legalRepresentative": None if rep is None else {"name": rep.get("name")},
            "annualReports": [
                {"year": r["year"], "status": r.get("status"), "employees": r.get("employees")}
                for r in sorted(req.many("annual_reports", code), key=lambda r: int(r["year"]))
            ],
            "taxRegistration": None
            if taxpayer is None
            else {
                "taxpayerNumber": taxpayer["taxpayer_no"],
                "kind": taxpayer.get("kind"),
                "taxAuthority": taxpayer.get("tax_authority"),
                "status": taxpayer.get("status"),
            },
            "taxCreditRatings": [
                {"year": r["year"], "grade": r["grade"], "score": r.get("score")}
                for r in sorted(req.many("credit_ratings", code), key=lambda r: int(r["year"]))
            ],
            "taxArrears": [
                {
                    "taxType": r["tax_type"],
                    "amount": decimal_text(r.get("amount")),
                    "since": month(r.get("since")),
                }
                for r in req.many("arrears", code)
            ],
            "insuredHeadcount": max(headcounts, key=lambda r: str(r["month"]))["headcount"]
            if headcounts
            else None,
        }
    }


# --- 1,000 persons across four departments in one query (target d) ---

BULK = """query Bulk($ids: [ResidentId!]!) {
  persons(ids: $ids) {
    id
    name
    household { number district { name } }
    socialInsurance { status currentEmployer { name taxCreditRating { year grade } } }
  }
}
"""
# The same with each person's contribution verdict: the social-insurance department then
# sends every contribution record of the thousand (about 86 rows a person).
BULK_VERDICT = """query BulkVerdict($ids: [ResidentId!]!) {
  persons(ids: $ids) {
    id
    name
    household { number district { name } }
    socialInsurance {
      status
      hasContributed(months: 24, within: 36)
      currentEmployer { name taxCreditRating { year grade } }
    }
  }
}
"""


async def bulk_direct(req: Request, v: Mapping[str, Any], verdict: bool = False) -> Json:
    ids: list[str] = list(v["ids"])
    await req.load("person", ids)
    people = _present(req.one("person", i) for i in ids)
    await req.level(
        req.load("household", (p.get("household_no") for p in people)),
        req.load("insured_person", (p["id"] for p in people)),
    )
    insured = _present(req.one("insured_person", p["id"]) for p in people)
    await req.level(
        req.load("enterprise", (i.get("current_employer") for i in insured)),
        *([req.load("contributions", (i["person_id"] for i in insured))] if verdict else []),
    )
    employers = _present(req.one("enterprise", i.get("current_employer")) for i in insured)
    await req.load("credit_ratings", (e["credit_code"] for e in employers))

    def person(p: Record) -> Json:
        h = req.one("household", p.get("household_no"))
        si = req.one("insured_person", p["id"])
        social: Json | None = None
        if si is not None:
            employer = req.one("enterprise", si.get("current_employer"))
            social = {"status": INSURANCE_STATUS.get(si.get("status") or "")}
            if verdict:
                social["hasContributed"] = has_contributed(
                    req.many("contributions", p["id"]), 24, 36, req.today
                )
            social["currentEmployer"] = (
                None
                if employer is None
                else {
                    "name": employer.get("name"),
                    "taxCreditRating": _year_grade(
                        latest_rating(req.many("credit_ratings", employer["credit_code"]))
                    ),
                }
            )
        return {
            "id": p["id"],
            "name": p.get("name"),
            "household": None
            if h is None
            else {
                "number": h["number"],
                "district": None if h.get("district") is None else {"name": district_name(h["district"])},
            },
            "socialInsurance": social,
        }

    return {"persons": [None if p is None else person(p) for p in (req.one("person", i) for i in ids)]}


async def bulk_verdict_direct(req: Request, v: Mapping[str, Any]) -> Json:
    return await bulk_direct(req, v, verdict=True)


OPERATIONS: dict[str, Operation] = {
    op.name: op
    for op in (
        Operation(
            "enrolment_review",
            "Enrolment review: 50 children in one query",
            ENROLMENT,
            enrolment_direct,
            "persons(ids: 50 children): household and members, student status and school, applications,"
            " guardians with residence permit, social-insurance summary and verdict, employer and its"
            " tax rating (all five departments; the registered EnrolmentReview plus the employer).",
        ),
        Operation(
            "talent_check",
            "Talent-policy check: one person",
            _document("talent_check.graphql"),
            talent_direct,
            "documents/talent_check.graphql: hasContributed(24 of 36 months) and the current employer"
            " with taxCreditAtLeast(B).",
        ),
        Operation(
            "household_prefill",
            "Grid worker's household pre-fill",
            _document("household_prefill.graphql"),
            household_direct,
            "documents/household_prefill.graphql: household(number) members with identity, residence"
            " permit and school.",
        ),
        Operation(
            "enterprise_profile",
            "Enterprise profile",
            _document("enterprise_profile.graphql"),
            enterprise_direct,
            "documents/enterprise_profile.graphql: registration, legal representative, annual reports,"
            " tax registration, ratings and arrears, insured headcount.",
        ),
    )
}
