"""Enterprise service desk (企业一企一档): one enterprise's profile from three departments.

Runs the registered EnterpriseProfile operation as the `enterprise-desk` client (purpose
`enterprise_service`). The desk is persisted-only: it may send only the registered
operation's id, never query text. Market regulation answers the registration and annual
reports, tax the registration, ratings and arrears, social insurance the insured
headcount, and the population register the legal representative (name masked).

    .venv/bin/python examples/enterprise_profile.py                 # the first D-rated sample
    .venv/bin/python examples/enterprise_profile.py 91350203MA63W62631
"""

from __future__ import annotations

import sys
from typing import Any

from demo_client import ask, base_parser, finish, headers, samples


def profile(e: dict[str, Any]) -> list[str]:
    rep = (e.get("legalRepresentative") or {}).get("name") or "-"
    lines = [
        f"{e['name']} {e['creditCode']}",
        f"  {e['type']}, {e['status']}, established {e['establishedOn']} in {e['district']['name']}, "
        f"registered capital {e['registeredCapital']} 万元, legal representative {rep}",
    ]
    if reg := e.get("taxRegistration"):
        lines.append(f"  tax: {reg['kind']} at {reg['taxAuthority']}, {reg['status']}")
    ratings = ", ".join(f"{r['year']} {r['grade']}" for r in e.get("taxCreditRatings") or [])
    lines.append(f"  tax credit ratings: {ratings or '-'}")
    for a in e.get("taxArrears") or []:
        lines.append(f"  arrears: {a['taxType']} {a['amount']} since {a['since']}")
    reports = ", ".join(f"{r['year']} {r['status']} ({r['employees']} employees)" for r in e["annualReports"])
    lines.append(f"  annual reports: {reports or '-'}")
    lines.append(f"  insured headcount: {e['insuredHeadcount']}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("credit_code", nargs="?", help="unified social credit code (default: a sample)")
    args = parser.parse_args(argv)
    code = args.credit_code or samples()["d_rated_enterprise"][0]
    answer = ask(args.url, "EnterpriseProfile", {"creditCode": code}, headers("enterprise-desk"))
    if answer is None:
        return 1
    enterprise = (answer.get("data") or {}).get("enterprise")
    print("\n".join(profile(enterprise)) if enterprise else f"{code}: no such enterprise")
    return finish(answer)


if __name__ == "__main__":
    sys.exit(main())
