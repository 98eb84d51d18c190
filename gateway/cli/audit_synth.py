"""`govgraph audit synth`: fill an audit store with a synthetic city's events."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from gateway.audit.keys import signer_for
from gateway.audit.store import AuditStore, AuditStoreError
from gateway.audit.synth import CHECKPOINT_EVERY, MIN_SUBJECTS, WRITERS, SynthError, SynthReport, synthesize
from gateway.cli.common import Subparsers, add_config
from gateway.config.load import load_audit
from gateway.config.sections import AuditSettings
from sources.errors import ConfigError

__all__ = ["register"]


def register(actions: Subparsers) -> None:
    synth = actions.add_parser(
        "synth",
        help="fill the audit store with a synthetic city's events",
        description="Write synthetic events into the audit store of the configuration: chains as "
        "gateway processes write them, the demo's clients and operations, subjects of a synthetic "
        "city (a few asked often, most rarely), over the last months; signed checkpoints too when "
        "[audit] has them. For trying the audit tools and measuring them at a city's size.",
    )
    synth.add_argument("--events", type=int, required=True, help="how many events")
    synth.add_argument(
        "--writers", type=int, help="chains, one per gateway process (default 16, or one per event if fewer)"
    )
    synth.add_argument(
        "--subjects", type=int, default=100_000, help="people, households and enterprises (default 100,000)"
    )
    synth.add_argument("--months", type=int, default=3, help="months before now the events span (default 3)")
    synth.add_argument("--seed", type=int, default=1, help="the same seed writes the same city (default 1)")
    synth.add_argument(
        "--checkpoint-every",
        type=int,
        default=CHECKPOINT_EVERY,
        metavar="N",
        help=f"with checkpoints configured, sign each head every N events (default {CHECKPOINT_EVERY})",
    )
    synth.add_argument("--jobs", type=int, default=0, help="writing processes (default: one per core)")
    add_config(synth, help="configuration whose [audit] section names the log", demo=True)
    synth.set_defaults(func=run_synth)


def _refused(args: argparse.Namespace) -> str | None:
    """Why these numbers cannot be written, or None."""
    if args.writers is None:
        args.writers = max(1, min(WRITERS, args.events))
    for name in ("events", "writers", "months", "checkpoint_every"):
        value = getattr(args, name)
        if value < 1:
            return f"--{name.replace('_', '-')} must be at least 1, not {value}"
    if args.subjects < MIN_SUBJECTS:
        return f"--subjects must be at least {MIN_SUBJECTS}, not {args.subjects}"
    if args.writers > args.events:
        return (
            f"--writers {args.writers} cannot share --events {args.events}: a chain holds one event at least"
        )
    if args.jobs < 0:
        return f"--jobs must be 0 (one per core) or more, not {args.jobs}"
    return None


def run_synth(args: argparse.Namespace) -> int:
    refused = _refused(args)
    if refused is not None:
        print(f"govgraph: audit synth: {refused}", file=sys.stderr)
        return 2
    audit = load_audit(args.config)
    if audit.dsn is None:
        print("govgraph: the audit log is off in this configuration", file=sys.stderr)
        return 2
    try:
        signer = signer_for(audit)
        key = Path(audit.checkpoint_key).read_bytes() if signer and audit.checkpoint_key else None
    except (ConfigError, OSError) as exc:
        print(f"govgraph: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(_synth(args, audit, audit.dsn, key))


async def _synth(args: argparse.Namespace, audit: AuditSettings, dsn: str, key: bytes | None) -> int:
    store = AuditStore(dsn, timeout=30.0)
    try:
        report = await synthesize(
            store,
            audit.subject_key.encode(),
            args.events,
            writers=args.writers,
            subjects=args.subjects,
            months=args.months,
            seed=args.seed,
            suite=audit.suite,
            checkpoints=audit.checkpoints,
            signing_key=key,
            checkpoint_every=args.checkpoint_every,
            jobs=args.jobs,
            progress=_progress if sys.stderr.isatty() else None,
        )
    except (AuditStoreError, SynthError) as exc:
        print(f"govgraph: audit synth: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:  # a subject key too short for the audit log
        print(f"govgraph: audit synth: {exc}", file=sys.stderr)
        return 2
    finally:
        await store.aclose()
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    _print(report, audit)
    return 0


def _progress(done: int, total: int) -> None:
    share = f" ({100 * done // total}%)" if total else ""
    sys.stderr.write(f"\rwrote {done:,} of {total:,} events{share}   ")
    sys.stderr.flush()


def _print(report: SynthReport, audit: AuditSettings) -> None:
    span = f"{report.start:%Y-%m-%d %H:%M} to {report.until:%Y-%m-%d %H:%M} UTC" if report.start else ""
    print(
        f"{report.events} events in {len(report.chains)} chains about {report.subjects:,} subjects, "
        f"{span}, suite {audit.suite}"
    )
    if report.checkpoints:
        print(f"{report.checkpoints} signed checkpoints in {audit.checkpoints}")
    else:
        print("no checkpoints: [audit] checkpoints and checkpoint_key are not both set")
    print(f"written in {report.seconds:.1f} s ({report.rate:,.0f} events/s)")
