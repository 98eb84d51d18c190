"""`govgraph login ROLE`: a one-time console login link for the demo person of that role
(applicant, reviewer, tax-reviewer, auditor, administrator, resident), signed with the
demo's published HS256 secret as the platform's identity provider would sign it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gateway.cli.common import Subparsers, add_config, add_data_dir
from gateway.config.settings import ConsoleSettings, load_auth, load_section
from gateway.console.people import mint_person_token

from .access import PEOPLE_FILE, read_people

__all__ = ["login_link", "register", "run"]

DEFAULT_URL = "http://127.0.0.1:8000"  # where `govgraph demo` serves by default


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser("login", help="print a one-time console login link for a demo person")
    parser.add_argument("role", help="applicant, reviewer, tax-reviewer, auditor, administrator or resident")
    parser.add_argument("--url", help=f"the gateway (default: the running demo's, else {DEFAULT_URL})")
    parser.add_argument("--minutes", type=int, default=10, help="minutes the link stays valid (default 10)")
    add_data_dir(parser)
    add_config(parser, demo=True)
    parser.set_defaults(func=run)


def login_link(url: str, secret: str, audience: str, subject: str, name: str, minutes: int) -> str:
    ticket = mint_person_token(secret, subject, name, audience, minutes * 60, ticket=True)
    return f"{url.rstrip('/')}/console/login?ticket={ticket}"


def run(args: argparse.Namespace) -> int:
    people = {p.role: p for p in read_people(Path(args.data_dir))}
    if not people:
        print(f"govgraph: no {PEOPLE_FILE} in {args.data_dir}: run `make demo` first", file=sys.stderr)
        return 2
    person = people.get(args.role)
    if person is None:
        print(f"govgraph: no demo person is {args.role!r} (roles: {', '.join(people)})", file=sys.stderr)
        return 2
    auth = load_auth(args.config)
    if not auth.hs256_secret:
        print("govgraph: auth.hs256_secret is not set: sign in with your identity provider", file=sys.stderr)
        return 2
    console = load_section(args.config, "console", ConsoleSettings)
    url = args.url or (args.demo.gateway if args.demo else DEFAULT_URL)
    print(f"{person.name} ({args.role}):")
    print(login_link(url, auth.hs256_secret, console.audience, person.subject, person.name, args.minutes))
    return 0
