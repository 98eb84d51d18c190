"""`govgraph audit`: verify the audit log's hash chains, or list who accessed a subject."""

from __future__ import annotations

import argparse
import asyncio
import sys

from graphql import GraphQLError

from gateway.audit.store import AuditStore, AuditStoreError
from gateway.audit.verify import subject_report, verify
from gateway.cli.common import Subparsers, add_config
from gateway.cli.jsonout import as_json
from gateway.config.settings import load_audit
from resolvers.scalars import parse_subject

__all__ = ["register", "run"]


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser("audit", help="verify the audit log, or list who accessed a subject")
    parser.add_argument(
        "action", choices=["verify", "subject"], help="verify: check the hash chains; subject: list accesses"
    )
    parser.add_argument("subject", nargs="?", help="resident id or credit code (for `subject`)")
    add_config(parser, help="configuration whose [audit] section names the log", demo=True)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    subject = None
    if args.action == "subject":
        if not args.subject:
            print("govgraph: audit subject needs a resident id or credit code", file=sys.stderr)
            return 2
        try:  # refused as the auditor's `accessLog` query refuses it, before anything is opened
            subject = parse_subject(args.subject)
        except GraphQLError as exc:
            print(f"govgraph: audit subject: {exc.message}", file=sys.stderr)
            return 2
    return asyncio.run(_audit(args.config, args.action, subject))


async def _audit(config: str, action: str, subject: str | None) -> int:
    audit = load_audit(config)  # not the departments': this runs where only the audit store is known
    if audit.dsn is None:
        print("govgraph: the audit log is off in this configuration", file=sys.stderr)
        return 2
    store = AuditStore(audit.dsn)
    try:
        await store.open()
        return await _action(store, audit.subject_key, action, subject)
    except AuditStoreError as exc:  # unreachable, or no audit log installed there
        print(f"govgraph: {exc}", file=sys.stderr)
        return 1
    finally:
        await store.aclose()


async def _action(store: AuditStore, subject_key: str, action: str, subject: str | None) -> int:
    if action == "verify":
        report = await verify(store)
        for problem in report.problems:
            print(problem)
        print(f"{report.chains} chains, {report.events} events: {'intact' if report.ok else 'BROKEN'}")
        return 0 if report.ok else 1
    rows = await subject_report(store, subject_key.encode(), subject or "")
    print(as_json(rows))  # the field names and times of `accessLog`, and the chain position
    return 0
