"""Before an application is accepted or approved: the grant it would make must pass the
checks every gateway process applies to the store, on its own (its own pins for its own
scopes, a basis for conditional ones) and merged with the client's grants in force, and
its pins must not contradict pins already in force for the same client and purpose."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import asyncpg

from gateway.applications.errors import WorkflowError
from gateway.applications.model import Application
from gateway.policy.model import PolicyChecks, PolicyError
from gateway.policystore.snapshot import GrantRow, Snapshot, policy_at
from gateway.policystore.store import read_snapshot

__all__ = ["as_grant", "check_grant"]


def as_grant(application: Application, now: dt.datetime) -> GrantRow:
    return GrantRow(
        id=0,
        client=application.client,
        purpose=application.purpose,
        full=application.full,
        masked=application.masked,
        pins=application.pins,
        basis=application.legal_basis,
        application=application.id,
        valid_from=now,
        expires_at=now + dt.timedelta(days=application.period_days),
    )


async def check_grant(
    conn: asyncpg.Connection,
    application: Application,
    now: dt.datetime,
    checks: PolicyChecks,
) -> None:
    snapshot = await read_snapshot(conn)
    row = as_grant(application, now)
    pair = (row.client, row.purpose)
    held = [g for g in snapshot.grants if (g.client, g.purpose) == pair and g.in_force(now)]
    for coordinate, values in row.pins.items():
        for grant in held:
            pinned = grant.pins.get(coordinate)
            if pinned is not None and dict(pinned) != dict(values):
                raise WorkflowError(
                    "BAD_USER_INPUT",
                    f"{coordinate} is already pinned to {dict(pinned)} for this client and purpose"
                    f" ({grant.rests_on or f'grant {grant.id}'}); apply with the same arguments.",
                )
    # Other pairs' grants are left out: a mistake of theirs is theirs (the follower denies them).
    _passes(replace(snapshot, grants=(row,)), now, checks)  # on its own
    _passes(replace(snapshot, grants=(*held, row)), now, checks)  # with the pair's grants in force


def _passes(snapshot: Snapshot, now: dt.datetime, checks: PolicyChecks) -> None:
    try:
        policy_at(snapshot, now, checks)
    except PolicyError as exc:
        raise WorkflowError("BAD_USER_INPUT", f"The application is not complete: {exc.problem}") from exc
