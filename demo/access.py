"""The demo's access workflow: its policy store seeded from policy.toml, demo people for
each console role (persons of the synthetic register), and a few applications waiting
for review, one of them overdue. Seeded once, on the first run with an empty store; the
people are written to `people.json` in the data directory, where `govgraph login` finds them.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from gateway.applications.model import ApplicationInput
from gateway.applications.workdays import add_working_days
from gateway.applications.workflow import Workflow
from gateway.policystore.store import PolicyStore
from gateway.policystore.transfer import import_policy

__all__ = ["PEOPLE_FILE", "DemoPerson", "read_people", "seed_access"]

log = logging.getLogger("govgraph.demo")

PEOPLE_FILE = "people.json"
SEEDER = "demo-seed"  # who the seeding's changes are recorded as

# role -> (sample case, index, roles granted as (role, target)); the resident has none.
_CAST: dict[str, tuple[str, int, tuple[tuple[str, str], ...]]] = {
    "applicant": ("back_paid", 0, (("applicant", "talent-policy"), ("applicant", "enrollment"))),
    "reviewer": ("back_paid", 1, (("reviewer", "XM-XY"),)),
    "tax-reviewer": ("legal_representative", 1, (("reviewer", "XM-SW"),)),
    "auditor": ("certificate_holder", 1, (("auditor", ""),)),
    "administrator": ("legal_representative", 0, (("administrator", ""),)),
    "resident": ("changed_employer", 0, ()),
}

_WAITING = (  # (client, purpose, items, scenario, legal basis, days old)
    (
        "talent-policy", "talent_subsidy", ("serious_dishonesty",),
        "人才补贴申报时核验用人单位是否列入严重失信主体名单", "厦门市人才政策实施办法 (demo)", 0,
    ),
    (
        "talent-policy", "talent_subsidy", ("credit_ratings",),
        "核验用人单位纳税信用等级以确定补贴档次", "厦门市人才政策实施办法 (demo)", 1,
    ),
    (
        "talent-policy", "talent_subsidy", ("credit_warning",),
        "对存在信用风险预警的用人单位加强补贴复核", "厦门市人才政策实施办法 (demo)", 20,
    ),
)  # fmt: skip


@dataclass(frozen=True)
class DemoPerson:
    role: str
    subject: str  # their resident id: the `sub` of their sign-in token
    name: str


def read_people(data_dir: Path) -> list[DemoPerson]:
    path = data_dir / PEOPLE_FILE
    if not path.exists():
        return []
    return [DemoPerson(**p) for p in json.loads(path.read_text(encoding="utf-8"))]


async def seed_access(
    store: PolicyStore,
    workflow: Workflow,
    policy_text: str,
    samples: dict[str, Any],
    register_dsn: str,
    data_dir: Path,
) -> bool:
    """Seed an empty store; False when it already held clients (nothing is changed)."""
    await store.install()
    if (await store.snapshot()).clients:
        return False
    checks = workflow.checks
    policy = checks.text(policy_text, "policy.toml")
    await import_policy(store, policy_text, policy, SEEDER, workflow.record, checks)
    people = await _cast(samples, register_dsn)
    for person in people:
        for role, target in _CAST[person.role][2]:
            await workflow.set_role(SEEDER, person.subject, role, target, person.name, True, bootstrap=True)
    applicant = next(p for p in people if p.role == "applicant")
    for client, purpose, items, scenario, basis, age in _WAITING:
        given = ApplicationInput(client, purpose, items, scenario, basis, 365)
        application = await workflow.apply(applicant.subject, given)
        if age:
            await _backdate(store, application.id, age, workflow)
    (data_dir / PEOPLE_FILE).write_text(
        json.dumps([vars(p) for p in people], ensure_ascii=False, indent=2), encoding="utf-8"
    )
    log.info("access workflow seeded: %d people, %d applications waiting", len(people), len(_WAITING))
    return True


async def _cast(samples: dict[str, Any], register_dsn: str) -> list[DemoPerson]:
    cases = samples.get("cases", {})
    chosen = {role: cases[case][index] for role, (case, index, _) in _CAST.items()}
    conn = await asyncpg.connect(register_dsn)
    try:
        rows = await conn.fetch(
            "SELECT id, name FROM person WHERE id = ANY($1::text[])", list(chosen.values())
        )
    finally:
        await conn.close()
    names = {r["id"]: r["name"] for r in rows}
    return [DemoPerson(role, subject, names.get(subject, subject)) for role, subject in chosen.items()]


async def _backdate(store: PolicyStore, ident: str, days: int, workflow: Workflow) -> None:
    """A demo application submitted `days` ago, its deadline counted from then."""
    submitted = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    settings = workflow.settings
    due = add_working_days(submitted, settings.review_days, settings.calendar, settings.timezone)
    async with store.change("backdate a demo application") as conn:
        await conn.execute(
            "UPDATE application SET submitted_at = $2, due_at = $3 WHERE id = $1", ident, submitted, due
        )
