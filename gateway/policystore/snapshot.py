"""What the policy store holds at one version, and the policy in force at a given instant.

The grants of one (client, purpose) add up: a scope full in any grant in force is full,
pins are joined, and the bases of all of them are what the client's accesses rest on. A
grant counts from `valid_from` until `expires_at`, so an expiry takes effect by the clock,
without any change to the store (`next_change` says when to rebuild).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from gateway.config.tomllines import Lines
from gateway.policy.grants import FULL, MASKED
from gateway.policy.model import Policy, PolicyChecks, PolicyError

__all__ = ["GrantRow", "Snapshot", "isolated_policy", "policy_at", "snapshot_path", "tables_at"]


@dataclass(frozen=True)
class GrantRow:
    id: int
    client: str
    purpose: str
    full: tuple[str, ...]
    masked: tuple[str, ...]
    pins: Mapping[str, Mapping[str, Any]]
    basis: str | None
    application: str | None  # the approval it comes from; None for an imported grant
    valid_from: dt.datetime
    expires_at: dt.datetime | None

    def in_force(self, when: dt.datetime) -> bool:
        return self.valid_from <= when and (self.expires_at is None or when < self.expires_at)

    @property
    def rests_on(self) -> str | None:
        """What an access under this grant records: the approval and its basis."""
        if self.application is None:
            return self.basis
        return f"{self.application}: {self.basis}" if self.basis else self.application


@dataclass(frozen=True)
class Snapshot:
    version: int
    purposes: Mapping[str, Mapping[str, Any]]
    clients: Mapping[str, Mapping[str, Any]]  # as their [clients.ID] tables
    grants: tuple[GrantRow, ...]  # not revoked; in force or not

    def next_change(self, after: dt.datetime) -> dt.datetime | None:
        """The next instant a grant starts or ends, when the policy must be rebuilt."""
        moments = [g.valid_from for g in self.grants if g.valid_from > after]
        moments += [g.expires_at for g in self.grants if g.expires_at is not None and g.expires_at > after]
        return min(moments, default=None)


def snapshot_path(snapshot: Snapshot) -> str:
    """How errors name a snapshot, where a file's errors name the file."""
    return f"policy store (version {snapshot.version})"


def tables_at(snapshot: Snapshot, when: dt.datetime) -> dict[str, Any]:
    """The snapshot as the tables of a policy file, with the grants in force at `when`
    merged per (client, purpose); every purpose of a client has a grant, empty if need be."""
    held: dict[tuple[str, str], list[GrantRow]] = {
        (cid, purpose): []
        for cid, settings in snapshot.clients.items()
        for purpose in settings.get("purposes", ())
    }
    for row in snapshot.grants:
        if (row.client, row.purpose) in held and row.in_force(when):  # a purpose dropped gives nothing
            held[row.client, row.purpose].append(row)
    grants = []
    for (cid, purpose), rows in held.items():
        full = {s for r in rows for s in r.full}
        grant: dict[str, Any] = {
            "client": cid,
            "purpose": purpose,
            FULL: sorted(full),
            MASKED: sorted({s for r in rows for s in r.masked} - full),  # full in one grant is full
            "pins": {},
        }
        for row in rows:
            for coordinate, values in row.pins.items():
                grant["pins"].setdefault(coordinate, dict(values))  # the older grant's pins stand
        bases = list(dict.fromkeys(r.rests_on for r in rows if r.rests_on))
        if bases:
            grant["basis"] = "; ".join(bases)
        grants.append(grant)
    return {"purposes": dict(snapshot.purposes), "clients": dict(snapshot.clients), "grants": grants}


def policy_at(snapshot: Snapshot, when: dt.datetime, checks: PolicyChecks) -> Policy:
    """The policy in force at `when`, checked as a policy file is (PolicyError otherwise)."""
    return checks.tables(tables_at(snapshot, when), Lines(""), snapshot_path(snapshot))


def isolated_policy(snapshot: Snapshot, when: dt.datetime, checks: PolicyChecks) -> tuple[Policy, list[str]]:
    """The policy at `when`, with any (client, purpose) whose grants fail the checks left
    without them (denied: failing closed, for that pair only), and why. A mistake that is
    no grant's (a client's or a purpose's) raises PolicyError: the snapshot is refused."""
    try:
        return policy_at(snapshot, when, checks), []
    except PolicyError as whole:
        problems: list[str] = []
        bad: set[tuple[str, str]] = set()
        for pair in sorted({(g.client, g.purpose) for g in snapshot.grants if g.in_force(when)}):
            alone = replace(
                snapshot, grants=tuple(g for g in snapshot.grants if (g.client, g.purpose) == pair)
            )
            try:
                policy_at(alone, when, checks)
            except PolicyError as exc:
                bad.add(pair)
                problems.append(f"{pair[0]}/{pair[1]}: {exc.problem}")
        if not bad:
            raise whole from None
        kept = replace(snapshot, grants=tuple(g for g in snapshot.grants if (g.client, g.purpose) not in bad))
        return policy_at(kept, when, checks), problems
