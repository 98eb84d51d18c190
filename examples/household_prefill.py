"""Grid worker app (网格员入户采集): pre-fill a household survey form.

Runs the registered HouseholdPrefill operation as the `grid-worker` client (purpose
`household_survey`, jurisdiction 集美区 350211) and prints the form: members, masked
identity and contact details, residence and schooling. A household outside Jimei is
refused exactly like one that does not exist.

    .venv/bin/python examples/household_prefill.py                  # the first Jimei sample
    .venv/bin/python examples/household_prefill.py 350211004775641 --operator JM-0042
"""

from __future__ import annotations

import sys
from typing import Any

from demo_client import ask, base_parser, finish, headers, samples


def form(household: dict[str, Any]) -> list[str]:
    district = household["district"]
    lines = [
        f"household {household['number']} ({household['kind']}), {district['name']} {district['code']}",
        f"  address: {household['address']}",
    ]
    for member in household["members"]:
        p = member["person"]
        if p is None:
            lines.append(f"  {member['relation']}: (not answered)")
            continue
        fields = [f"{p['name']} {p['id']}", f"{p['gender']} age {p['age']}", f"phone {p['phone'] or '-'}"]
        if permit := p.get("residencePermit"):
            fields.append(f"residence permit {permit['number']} until {permit['validUntil']}")
        if status := p.get("studentStatus"):
            school = status["school"]["name"] if status.get("school") else "-"
            fields.append(f"grade {status['grade']} at {school}")
        lines.append(f"  {member['relation']}: " + ", ".join(fields))
        lines.append(f"      lives at {p['residenceAddress'] or '-'}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("number", nargs="?", help="household number (default: the first Jimei sample)")
    parser.add_argument("--operator", default="JM-DEMO-01", help="sent as X-Operator-Id (the worker)")
    args = parser.parse_args(argv)
    number = args.number or samples()["jimei_household"][0]
    sent = headers("grid-worker") | {"X-Operator-Id": args.operator}
    answer = ask(args.url, "HouseholdPrefill", {"number": number}, sent)
    if answer is None:
        return 1
    household = (answer.get("data") or {}).get("household")
    if household:
        print("\n".join(form(household)))
    return finish(answer)


if __name__ == "__main__":
    sys.exit(main())
