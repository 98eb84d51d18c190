"""`govgraph audit archive` (old months to files, then out of the database) and
`govgraph audit keygen` (a checkpoint signing key)."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
from pathlib import Path

from gateway.audit.archive import ArchiveError
from gateway.audit.archiver import Signed, archive_months
from gateway.audit.keys import trusted_keys, write_key_pair
from gateway.audit.partitions import Month, month_of, next_month, parse_month
from gateway.audit.store import AuditStore, AuditStoreError
from gateway.audit.suite import DEFAULT_SUITE, SUITES
from gateway.cli.common import Subparsers, add_config
from gateway.config.load import load_audit
from sources.errors import ConfigError

__all__ = ["register"]


def register(actions: Subparsers) -> None:
    archive = actions.add_parser(
        "archive", help="export whole months to files, check them, then drop them from the database"
    )
    archive.add_argument(
        "--to", metavar="DIR", required=True, help="the archive directory (a folder per month)"
    )
    archive.add_argument(
        "--before",
        metavar="YYYY-MM",
        help="archive every month before this one (default: those older than [audit] retain_months)",
    )
    add_config(archive, help="configuration whose [audit] section names the log", demo=True)
    archive.set_defaults(func=run_archive)

    keygen = actions.add_parser("keygen", help="write a new checkpoint signing key and its public half")
    keygen.add_argument("key", help="where the private key goes (PEM, 0600); the public key beside it")
    keygen.add_argument("--suite", choices=sorted(SUITES), default=DEFAULT_SUITE, help="Ed25519, or SM2")
    keygen.set_defaults(func=run_keygen)


def run_archive(args: argparse.Namespace) -> int:
    audit = load_audit(args.config)
    if audit.dsn is None:
        print("govgraph: the audit log is off in this configuration", file=sys.stderr)
        return 2
    current = month_of(dt.datetime.now(dt.UTC))
    try:
        before = parse_month(args.before) if args.before else next_month(current, -audit.retain_months)
    except ValueError as exc:
        print(f"govgraph: audit archive: {exc}", file=sys.stderr)
        return 2
    try:
        keys = trusted_keys(audit)
    except ConfigError as exc:
        print(f"govgraph: {exc}", file=sys.stderr)
        return 2
    signed = Signed(audit.checkpoints, tuple(keys.values())) if audit.checkpoints else None
    return asyncio.run(_archive(audit.dsn, Path(args.to), before, signed))


async def _archive(dsn: str, directory: Path, before: Month, signed: Signed | None) -> int:
    store = AuditStore(dsn, timeout=30.0)
    try:
        done = await archive_months(store, directory, before, signed=signed)
    except (AuditStoreError, ArchiveError, OSError) as exc:
        print(f"govgraph: audit archive: {exc}", file=sys.stderr)
        return 1
    finally:
        await store.aclose()
    for manifest in done:
        print(f"{manifest.month}: {manifest.events} events of {len(manifest.chains)} chains archived to "
              f"{directory / manifest.month} and dropped from the database")  # fmt: skip
    if not done:
        print(f"nothing to archive before {before:%Y-%m}")
    return 0


def run_keygen(args: argparse.Namespace) -> int:
    try:
        public = write_key_pair(args.suite, Path(args.key))
    except FileExistsError:
        print(f"govgraph: {args.key} exists; a key is never overwritten", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"govgraph: {args.key}: {exc.strerror}", file=sys.stderr)
        return 1
    print(f"private key {args.key} (keep it off the database host's reach), public key {public}")
    return 0
