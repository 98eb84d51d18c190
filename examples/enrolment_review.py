"""School enrolment platform (教育入学报名): review one family in one request.

Runs the registered EnrolmentReview operation as the `enrollment` client (purpose
`enrollment_review`) and prints the child's hukou, household, school status and
applications, and each guardian's social-insurance summary and verdict: the platform is
granted the verdict, never the contribution records.

    .venv/bin/python examples/enrolment_review.py                # the first sample family
    .venv/bin/python examples/enrolment_review.py 350203201408264925 --case-id ENR-2026-0001
"""

from __future__ import annotations

import sys
from collections import Counter
from typing import Any

from demo_client import ask, base_parser, finish, headers, samples


def yes(value: bool | None) -> str:
    return "not answered" if value is None else "yes" if value else "no"


def review(child: dict[str, Any]) -> list[str]:
    hukou = child.get("hukouDistrict") or {}
    lines = [f"{child['name']} {child['id']}, age {child['age']}"]
    place = hukou.get("name") or hukou.get("code") or "-"
    lines.append(f"  hukou: {place} (local hukou: {yes(child['hasLocalHukou'])})")
    if household := child.get("household"):
        members = ", ".join(f"{m['relation']} {m['person']['name']}" for m in household["members"])
        lines.append(f"  household {household['number']} ({household['district']['name']}): {members}")
    if status := child.get("studentStatus"):
        school = status["school"]["name"] if status.get("school") else "-"
        lines.append(f"  school: {school}, grade {status['grade']}, student number {status['studentNumber']}")
    applications = child.get("enrollmentApplications") or []
    for a in applications:
        school = a["school"]["name"] if a.get("school") else "-"
        lines.append(f"  application {a['number']} ({a['year']}): {school} {a['stage']} {a['status']}")
    insured = False
    for g in child.get("guardians") or []:
        si = g.get("socialInsurance")
        permit = g.get("residencePermit")
        held = f"; residence permit {permit['number']} valid: {yes(permit['isValid'])}" if permit else ""
        summary = (
            f"{si['monthsContributed']} months contributed; "
            f"24 on-time months in the last 36: {yes(si['hasContributed'])}"
            if si
            else "not insured in this city"
        )
        lines.append(f"  guardian {g['name']} {g['id']}: {summary}{held}")
        insured = insured or bool(si and si["hasContributed"])
    per_year = Counter(a["year"] for a in applications)
    duplicates = sum(n - 1 for n in per_year.values() if n > 1)
    lines.append(
        f"  checks: local hukou {yes(child['hasLocalHukou'])}; a guardian insured 24 of the last "
        f"36 months {yes(insured)}; applications {len(applications)} (duplicates {duplicates})"
    )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("ids", nargs="*", help="children's resident ids (default: the first sample family)")
    parser.add_argument("--year", type=int, help="applications of this year only")
    parser.add_argument("--case-id", default="ENR-DEMO-0001", help="sent as X-Case-Id, kept in the audit log")
    args = parser.parse_args(argv)
    ids = args.ids or samples()["family_child"][:1]
    sent = headers("enrollment") | {"X-Case-Id": args.case_id}
    answer = ask(args.url, "EnrolmentReview", {"ids": ids, "year": args.year}, sent)
    if answer is None:
        return 1
    for identifier, child in zip(ids, (answer.get("data") or {}).get("persons") or [], strict=False):
        print("\n".join(review(child)) if child else f"{identifier}: no such person")
    return finish(answer)


if __name__ == "__main__":
    sys.exit(main())
