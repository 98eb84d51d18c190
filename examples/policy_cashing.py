"""Policy-cashing pre-fill (惠企政策兑现): an enterprise's application form, filled in from
four departments in one query.

Runs the registered PolicyCashingPrefill operation as the `enterprise-desk` client
(purpose `enterprise_service`), as the policy-cashing platform reads it. Market
regulation answers the registration, tax the registration, latest rating and arrears,
the public credit centre the serious-dishonesty verdict, the credit risk warning and
the published penalties, and the electronic licence library the enterprise's licences.
The form's eligibility lines are what the platform checks before it pays out.

    .venv/bin/python examples/policy_cashing.py                 # a sample clean enterprise
    .venv/bin/python examples/policy_cashing.py 91350203MA63W62631
"""

from __future__ import annotations

import sys
from typing import Any

from demo_client import ask, base_parser, finish, headers, samples


def _yes(value: bool | None) -> str:
    return "unknown" if value is None else "yes" if value else "NO"


def form(e: dict[str, Any]) -> list[str]:
    rep = (e.get("legalRepresentative") or {}).get("name") or "-"
    district = (e.get("district") or {}).get("name") or "-"
    lines = [
        f"{e['name']} {e['creditCode']}",
        f"  {e['type']}, {e['status']}, established {e['establishedOn']}, {district}; {e['address']}",
        f"  registered capital {e['registeredCapital']} 万元, legal representative {rep},"
        f" {e['insuredHeadcount']} insured employees",
    ]
    if reg := e.get("taxRegistration"):
        lines.append(f"  taxpayer {reg['taxpayerNumber']}: {reg['kind']}, {reg['status']}")
    rating = e.get("taxCreditRating")
    grade = f"{rating['grade']} ({rating['year']})" if rating else "-"
    lines.append(f"  tax credit rating: {grade}")
    warning = e.get("creditWarning")
    level = f"{warning['level']} (assessed {warning['assessedOn']})" if warning else "-"
    lines.append(f"  credit risk warning: {level}")
    if warning and warning.get("reasons"):
        lines.append(f"    reasons: {warning['reasons']}")
    for p in e.get("administrativePenalties") or []:
        amount = f" {p['amount']} 元" if p.get("amount") else ""
        lines.append(f"  penalty {p['decisionNo']}: {p['penaltyType']}{amount} on {p['decidedOn']}")
    for licence in e.get("licences") or []:
        until = licence.get("validUntil") or "长期"
        lines.append(
            f"  licence {licence['kind']} {licence['licenceNo']}: {licence['status']}, until {until}"
        )
    arrears = e.get("taxArrears") or []
    below_high = None if warning is None else warning["level"] in ("LOW", "MEDIUM")
    lines += [
        "  eligibility:",
        f"    on no serious dishonesty list: {_yes(e.get('hasNoSeriousDishonesty'))}",
        f"    no unpaid tax: {_yes(not arrears)}",
        f"    credit warning below HIGH: {_yes(below_high)}",
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("credit_code", nargs="?", help="unified social credit code (default: a sample)")
    args = parser.parse_args(argv)
    code = args.credit_code or samples()["clean_enterprise"][0]
    answer = ask(args.url, "PolicyCashingPrefill", {"creditCode": code}, headers("enterprise-desk"))
    if answer is None:
        return 1
    enterprise = (answer.get("data") or {}).get("enterprise")
    print("\n".join(form(enterprise)) if enterprise else f"{code}: no such enterprise")
    return finish(answer)


if __name__ == "__main__":
    sys.exit(main())
