"""Talent-policy app (人才政策): is an applicant eligible for a subsidy?

Runs the registered TalentCheck operation as the `talent-policy` client (purpose
`talent_subsidy`): the gateway answers "N on-time months of social insurance within the
last M" with yes or no, and whether the current employer's tax credit is B or better,
without showing one contribution record.

    .venv/bin/python examples/talent_check.py                     # the first back-paid sample
    .venv/bin/python examples/talent_check.py 350203197208031677 --months 12 --within 12
"""

from __future__ import annotations

import sys
from typing import Any

from demo_client import ask, base_parser, finish, headers, samples


def verdict(person: dict[str, Any], months: int, within: int) -> list[str]:
    si = person.get("socialInsurance")
    lines = [f"{person['name']} {person['id']}"]
    if si is None:
        return [*lines, "  not insured in this city", "  verdict: NOT ELIGIBLE"]
    employer = si.get("currentEmployer")
    lines.append(f"  insurance status: {si['status']}")
    lines.append(f"  {months} on-time months within the last {within}: {'yes' if si['eligible'] else 'no'}")
    if employer:
        good = "yes" if employer["goodTaxpayer"] else "no"
        lines.append(
            f"  employer: {employer['name']} {employer['creditCode']} ({employer['status']}), "
            f"tax credit B or better: {good}"
        )
    eligible = si["eligible"] is True and bool(employer and employer["goodTaxpayer"])
    lines.append(f"  verdict: {'ELIGIBLE' if eligible else 'NOT ELIGIBLE'}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("id", nargs="?", help="the applicant's resident id (default: a sample)")
    parser.add_argument("--months", type=int, default=24, help="on-time months required (24)")
    parser.add_argument("--within", type=int, default=36, help="in the last this many months (36)")
    args = parser.parse_args(argv)
    applicant = args.id or samples()["back_paid"][0]
    variables = {"id": applicant, "months": args.months, "within": args.within}
    answer = ask(args.url, "TalentCheck", variables, headers("talent-policy"))
    if answer is None:
        return 1
    person = (answer.get("data") or {}).get("person")
    print("\n".join(verdict(person, args.months, args.within)) if person else f"{applicant}: no such person")
    return finish(answer)


if __name__ == "__main__":
    sys.exit(main())
