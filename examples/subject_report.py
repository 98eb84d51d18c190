"""Auditor / data-protection officer (数据安全审计): who accessed this person's data?

Runs the registered SubjectAccess operation as the `auditor` client (purpose `audit`,
scope `audit.read`) and prints each access to the subject, newest first: when, which
client, for what purpose, under which case and operator, which operation and which
data scopes it read. The look-up is itself an audited access.

    .venv/bin/python examples/subject_report.py                     # the first sample family's child
    .venv/bin/python examples/subject_report.py 350203201408264925

`govgraph audit subject ID` prints the same report from the audit database, and
`govgraph audit verify` checks that the log's hash chains are intact (docs/audit.md).
"""

from __future__ import annotations

import sys
from typing import Any

from demo_client import ask, base_parser, finish, headers, samples


def report(subject: str, events: list[dict[str, Any]]) -> list[str]:
    lines = [f"{len(events)} accesses to {subject}, newest first:"]
    for e in events:
        case = f" case {e['caseId']}" if e.get("caseId") else ""
        operator = f" operator {e['operator']}" if e.get("operator") else ""
        lines.append(
            f"  {e['time']}  {e['client']} for {e['purpose']}{case}{operator}: "
            f"{e['operation'] or '(anonymous operation)'} {e['outcome']}"
        )
        lines.append(f"      read: {', '.join(e['scopes']) or '-'}   request {e['requestId']}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("subject", nargs="?", help="resident id or credit code (default: a sample child)")
    args = parser.parse_args(argv)
    subject = args.subject or samples()["family_child"][0]
    answer = ask(args.url, "SubjectAccess", {"subject": subject}, headers("auditor"))
    if answer is None:
        return 1
    events = (answer.get("data") or {}).get("accessLog")
    if events is not None:
        print("\n".join(report(subject, events)))
    return finish(answer)


if __name__ == "__main__":
    sys.exit(main())
