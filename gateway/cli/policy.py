"""`govgraph policy`: the policy store from a shell. Import and export the policy file, and
the workflow's actions as the console has them (apply, review, revoke, renew, roles),
each made as the person `--as` names and recorded in the audit log like the console's.

Only the [auth], [audit], [catalog] and [applications] sections are read: this runs where
the stores are reachable, without the departments' addresses.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import getpass
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from gateway.applications.building import build_workflow
from gateway.applications.errors import WorkflowError
from gateway.applications.model import ApplicationInput
from gateway.applications.workflow import Workflow
from gateway.audit.record import AuditUnavailable, PolicyChange
from gateway.audit.recorder import change_recorder
from gateway.catalog.graph import graph_of
from gateway.cli.common import Subparsers, add_config
from gateway.cli.jsonout import as_json
from gateway.compat import graphql_schema
from gateway.config.settings import (
    ApplicationSettings,
    load_audit,
    load_auth,
    load_catalog_path,
    load_documents_path,
    load_section,
)
from gateway.execution.documents import Registry
from gateway.execution.schema import build_schema
from gateway.policy.model import read_policy
from gateway.policystore.errors import PolicyStoreError
from gateway.policystore.store import PolicyStore
from gateway.policystore.transfer import export_policy, import_policy

__all__ = ["register", "run"]

ACTIONS = ("import", "export", "applications", "apply", "review", "grants", "revoke", "renew", "role")


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "policy",
        help="the policy store: import/export policy.toml, applications, reviews, grants, roles",
        description="Each change is made as the person --as names and recorded in the audit log.",
    )
    parser.add_argument("action", choices=ACTIONS)
    parser.add_argument(
        "target", nargs="?", help="import: the file; review: the application; revoke/renew: grant"
    )
    parser.add_argument("--as", dest="actor", help="the person acting (import: default the login name)")
    parser.add_argument("--client", help="apply, grants: the client")
    parser.add_argument("--purpose", help="apply: the purpose")
    parser.add_argument("--items", default="", help="apply: comma-separated catalogue resources or items")
    parser.add_argument("--masked", default="", help="apply: items to be seen masked, comma-separated")
    parser.add_argument("--scenario", default="", help="apply: 应用场景, what the data is used for")
    parser.add_argument("--basis", default="", help="apply: the legal basis")
    parser.add_argument(
        "--days", type=int, default=365, help="apply, renew: the period in days (default 365)"
    )
    decision = parser.add_mutually_exclusive_group()
    decision.add_argument("--approve", action="store_true", help="review: approve")
    decision.add_argument("--refuse", action="store_true", help="review: refuse")
    parser.add_argument("--reason", default="", help="review, revoke, renew: the reason recorded")
    parser.add_argument("--state", help="applications: only those in this state (pending, approved, refused)")
    parser.add_argument("--role", help="role: applicant, reviewer, auditor or administrator")
    parser.add_argument("--on", default="", help="role: the client (applicant) or department (reviewer)")
    parser.add_argument("--name", default="", help="role: the person's name")
    parser.add_argument("--remove", action="store_true", help="role: take the role away")
    parser.add_argument(
        "--bootstrap", action="store_true", help="role: act without an administrator's role (the first one)"
    )
    parser.add_argument("-o", "--output", help="export: write here instead of standard output")
    add_config(parser, demo=True)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_run(args))
    except WorkflowError as exc:
        print(f"govgraph: {exc.code}: {exc.message}", file=sys.stderr)
        return 1
    except (PolicyStoreError, AuditUnavailable) as exc:
        print(f"govgraph: {exc}; nothing changed", file=sys.stderr)
        return 1


@dataclasses.dataclass
class _Session:
    store: PolicyStore
    workflow: Workflow


@contextlib.asynccontextmanager
async def _session(config: str) -> AsyncIterator[_Session]:
    auth = load_auth(config)
    if not auth.store:
        raise WorkflowError("POLICY_STORE_REQUIRED", f"{config}: [auth] store names no policy store")
    schema = build_schema(graph=graph_of(load_catalog_path(config)))
    documents = load_documents_path(config)
    operations = (
        frozenset(d.name for d in Registry.load(Path(documents), graphql_schema(schema)))
        if documents
        else None
    )
    store = PolicyStore(auth.store, auth.store_schema)
    try:
        async with change_recorder(load_audit(config)) as commit:

            async def record(change: PolicyChange) -> None:
                # `--as` is who the change is for; the account that ran the command is on record too.
                via = f"govgraph policy, {getpass.getuser()}@{socket.gethostname()}"
                await commit(dataclasses.replace(change, detail={**change.detail, "via": via}))

            await store.install()
            applications = load_section(config, "applications", ApplicationSettings)
            workflow = build_workflow(store, schema, applications, record, operations=operations)
            yield _Session(store, workflow)
    finally:
        await store.aclose()


async def _run(args: argparse.Namespace) -> int:
    async with _session(args.config) as session:
        if args.action == "import":
            return await _import(session, args)
        if args.action == "export":
            text = await export_policy(session.store)
            if args.output:
                Path(args.output).write_text(text, encoding="utf-8")  # noqa: ASYNC240 - a CLI, nothing else runs
            else:
                sys.stdout.write(text)
            return 0
        actor = args.actor
        if not actor:
            raise WorkflowError("BAD_USER_INPUT", f"`policy {args.action}` needs --as PERSON: who is acting")
        return await _act(session.workflow, actor, args)


async def _import(session: _Session, args: argparse.Namespace) -> int:
    if not args.target:
        raise WorkflowError("BAD_USER_INPUT", "`policy import` needs the policy file")
    text = read_policy(args.target)
    checks = session.workflow.checks  # as the gateway checks it, registered operations included
    checked = checks.text(text, str(args.target))
    actor = args.actor or f"{getpass.getuser()} (govgraph policy import)"
    await import_policy(session.store, text, checked, actor, session.workflow.record, checks)
    print(f"imported {args.target}: {len(checked.purposes)} purposes, {len(checked.clients)} clients")
    return 0


async def _act(workflow: Workflow, actor: str, args: argparse.Namespace) -> int:
    answer: Any
    if args.action == "applications":
        answer = await workflow.applications(actor, state=args.state)
    elif args.action == "grants":
        answer = await workflow.grants(actor, args.client)
    elif args.action == "apply":
        given = ApplicationInput(
            client=args.client or "",
            purpose=args.purpose or "",
            items=_names(args.items),
            masked_items=_names(args.masked),
            scenario=args.scenario,
            legal_basis=args.basis,
            period_days=args.days,
        )
        answer = await workflow.apply(actor, given)
    elif args.action == "review":
        if not (args.approve or args.refuse):
            raise WorkflowError("BAD_USER_INPUT", "`policy review` needs --approve or --refuse")
        answer = await workflow.review(actor, _target(args), args.approve, args.reason)
    elif args.action in ("revoke", "renew"):
        try:
            grant = int(_target(args))
        except ValueError:
            raise WorkflowError("BAD_USER_INPUT", "a grant is named by its number") from None
        if args.action == "revoke":
            answer = await workflow.revoke(actor, grant, args.reason)
        else:
            answer = await workflow.renew(actor, grant, args.days, args.reason)
    else:  # role
        if not args.target or not args.role:
            raise WorkflowError("BAD_USER_INPUT", "`policy role PERSON --role ROLE [--on TARGET]`")
        answer = await workflow.set_role(
            actor, args.target, args.role, args.on, args.name, not args.remove, bootstrap=args.bootstrap
        )
    print(as_json(answer))
    return 0


def _names(text: str) -> tuple[str, ...]:
    return tuple(n.strip() for n in text.split(",") if n.strip())


def _target(args: argparse.Namespace) -> str:
    if not args.target:
        raise WorkflowError("BAD_USER_INPUT", f"`policy {args.action}` needs what it acts on")
    return str(args.target)
