"""`govgraph audit`: verify the audit log, list who accessed a subject, archive old months,
make a checkpoint key, or fill a store with a synthetic city's events."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import sys
from pathlib import Path

from graphql import GraphQLError

from gateway.audit.archive import ArchiveError, archived_subject_events
from gateway.audit.keys import trusted_keys
from gateway.audit.partitions import next_month, parse_month, start_of
from gateway.audit.progress import print_progress
from gateway.audit.record import subject_keys
from gateway.audit.store import AuditStore, AuditStoreError
from gateway.audit.sweep import Sweep, sweep
from gateway.audit.verify import VerifyReport
from gateway.cli import audit_archive, audit_synth
from gateway.cli.common import Subparsers, add_config
from gateway.cli.jsonout import as_json
from gateway.config.load import load_audit
from gateway.config.sections import AuditSettings
from resolvers.scalars import parse_subject
from sources.errors import ConfigError

__all__ = ["register", "run_verify"]

# Beside the verifier, never in the checkpoint directory (often write-once storage).
DEFAULT_STATE = (
    Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    / "govgraph"
    / "audit-verified.json"
)


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "audit", help="verify the audit log, list who accessed a subject, archive old months, synthesize one"
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    verify = actions.add_parser("verify", help="check every chain, its index, head and signed checkpoints")
    verify.add_argument("--archive", metavar="DIR", help="read archived months from their files in DIR")
    verify.add_argument(
        "--since-checkpoint",
        action="store_true",
        help="start each chain at the last checkpoint an earlier run verified (see --state)",
    )
    verify.add_argument(
        "--state",
        metavar="FILE",
        help="where verified checkpoints and the store's id are remembered "
        "(default: $XDG_STATE_HOME or ~/.local/state, then govgraph/audit-verified.json)",
    )
    verify.add_argument(
        "--checkpoints",
        metavar="DIR",
        help="the checkpoint log to check against, an investigator's copy (default: [audit] checkpoints)",
    )
    verify.add_argument(
        "--keys", metavar="PEM", nargs="+", help="public keys to trust (default: [audit] verify_keys)"
    )
    verify.add_argument(
        "--jobs", type=int, default=0, help="processes verifying chains (default: one per core)"
    )
    add_config(verify, help="configuration whose [audit] section names the log", demo=True)
    verify.set_defaults(func=run_verify)

    subject = actions.add_parser("subject", help="who accessed a person or enterprise, newest first")
    subject.add_argument("subject", help="resident id or credit code")
    subject.add_argument("--archive", metavar="DIR", help="search archived months' files in DIR too")
    subject.add_argument("--since", metavar="YYYY-MM", type=_month, help="from this month on")
    subject.add_argument("--until", metavar="YYYY-MM", type=_month, help="up to and including this month")
    subject.add_argument("--limit", type=int, default=1000, help="at most this many accesses (default 1000)")
    add_config(subject, help="configuration whose [audit] section names the log", demo=True)
    subject.set_defaults(func=run_subject)

    audit_archive.register(actions)
    audit_synth.register(actions)


def _month(text: str) -> dt.date:
    try:
        return parse_month(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _settings(config: str) -> AuditSettings | None:
    audit = load_audit(config)  # not the departments': this runs where only the audit store is known
    if audit.dsn is None:
        print("govgraph: the audit log is off in this configuration", file=sys.stderr)
        return None
    return audit


def run_verify(args: argparse.Namespace) -> int:
    audit = _settings(args.config)
    if audit is None or audit.dsn is None:
        return 2
    try:
        keys = trusted_keys(audit, args.keys)
    except ConfigError as exc:
        print(f"govgraph: {exc}", file=sys.stderr)
        return 2
    checkpoints = args.checkpoints or audit.checkpoints
    settings = Sweep(
        dsn=audit.dsn,
        checkpoints=checkpoints,
        keys=tuple(keys.values()),
        archive=args.archive,
        state=args.state or str(DEFAULT_STATE),
        since_checkpoint=args.since_checkpoint,
        jobs=args.jobs,
        # A writer checkpoints every interval and refuses events once that has failed for the
        # grace: older events must lie under a checkpoint.
        anchor_span=audit.checkpoint_interval + audit.checkpoint_grace + 5.0,
    )
    if checkpoints and not keys:
        print(
            "govgraph: no public key to check checkpoints with (--keys, or [audit] verify_keys)",
            file=sys.stderr,
        )
        return 2
    if args.keys and not checkpoints:
        print("govgraph: --keys given, but no checkpoints to check (--checkpoints DIR)", file=sys.stderr)
        return 2
    try:
        report = sweep(settings, print_progress if sys.stderr.isatty() else None)
    except (AuditStoreError, ArchiveError) as exc:  # unreachable, or no audit log installed there
        print(f"govgraph: {exc}", file=sys.stderr)
        return 1
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    _print_report(report)
    return 0 if report.ok else 1


def _print_report(report: VerifyReport) -> None:
    for problem in report.problems:
        print(problem)
    for note in report.notes:
        print(f"note: {note}")
    rate = report.events / report.seconds if report.seconds > 0 else 0.0
    unanchored = sum(r.unanchored for r in report.results)
    print(
        f"{report.checkpoints} signed checkpoints matched; {unanchored} events after the last checkpoint "
        f"of their chain; {report.events} events in {report.seconds:.1f} s ({rate:,.0f} events/s)"
    )
    print(f"{report.chains} chains, {report.events} events: {'intact' if report.ok else 'BROKEN'}")


def run_subject(args: argparse.Namespace) -> int:
    try:  # refused as the auditor's `accessLog` query refuses it, before anything is opened
        subject = parse_subject(args.subject)
    except GraphQLError as exc:
        print(f"govgraph: audit subject: {exc.message}", file=sys.stderr)
        return 2
    audit = _settings(args.config)
    if audit is None or audit.dsn is None:
        return 2
    return asyncio.run(_subject(args, audit, audit.dsn, subject))


async def _subject(args: argparse.Namespace, audit: AuditSettings, dsn: str, subject: str) -> int:
    keys = subject_keys(audit.subject_key.encode(), subject)
    since = start_of(args.since) if args.since else None
    until = start_of(next_month(args.until)) if args.until else None
    store = AuditStore(dsn)
    try:
        await store.open()
        rows = await store.subject_events(keys, args.limit, since, until)
        if args.archive:  # the months this store archived, nothing another store left there
            identity = await store.identity()
            rows += archived_subject_events(Path(args.archive), keys, since, until, store=identity)
            rows.sort(key=lambda r: r["time"], reverse=True)
    except (AuditStoreError, ArchiveError) as exc:  # unreachable, or no audit log installed there
        print(f"govgraph: {exc}", file=sys.stderr)
        return 1
    finally:
        await store.aclose()
    print(as_json(rows[: args.limit]))  # the field names and times of `accessLog`, and the chain position
    return 0
