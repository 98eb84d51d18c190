"""What the workflow reads and returns: applications, grants as people see them, roles."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.policystore.snapshot import GrantRow

__all__ = ["ROLES", "Application", "ApplicationInput", "GrantView", "Roles"]

ROLES = ("applicant", "reviewer", "auditor", "administrator")


@dataclass(frozen=True)
class ApplicationInput:
    client: str
    purpose: str
    items: tuple[str, ...]  # given in full
    scenario: str  # 应用场景
    legal_basis: str
    period_days: int
    masked_items: tuple[str, ...] = ()  # given masked
    pins: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # verdict arguments fixed


@dataclass(frozen=True)
class Application:
    id: str
    client: str
    purpose: str
    department: str
    items: tuple[str, ...]
    masked_items: tuple[str, ...]
    full: tuple[str, ...]  # the scopes they come to
    masked: tuple[str, ...]
    pins: Mapping[str, Mapping[str, Any]]
    scenario: str
    legal_basis: str
    period_days: int
    sharing: str  # unconditional | conditional
    applicant: str
    submitted_at: dt.datetime
    due_at: dt.datetime | None
    state: str  # pending | approved | refused
    decided_by: str | None
    decided_at: dt.datetime | None
    reason: str | None
    grant: int | None  # the grant an approval made

    def overdue(self, now: dt.datetime) -> bool:
        return self.state == "pending" and self.due_at is not None and now > self.due_at


@dataclass(frozen=True)
class GrantView:
    id: int
    client: str
    purpose: str
    full: tuple[str, ...]
    masked: tuple[str, ...]
    pins: Mapping[str, Mapping[str, Any]]
    basis: str | None
    application: str | None
    department: str | None  # the providing department, for a grant from an application
    origin: str  # import | application
    valid_from: dt.datetime
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    revoked_by: str | None
    revoke_reason: str | None

    def as_row(self) -> GrantRow:
        """The grant as the policy store's snapshot holds it."""
        return GrantRow(
            self.id, self.client, self.purpose, self.full, self.masked, self.pins, self.basis,
            self.application, self.valid_from, self.expires_at,
        )  # fmt: skip

    def state(self, now: dt.datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and now >= self.expires_at:
            return "expired"
        return "active" if now >= self.valid_from else "pending"


@dataclass(frozen=True)
class Roles:
    person: str
    name: str = ""
    applicant: frozenset[str] = frozenset()  # clients this person applies for
    reviewer: frozenset[str] = frozenset()  # departments (catalogue codes) this person reviews for
    auditor: bool = False
    administrator: bool = False

    @property
    def any(self) -> bool:
        return bool(self.applicant or self.reviewer or self.auditor or self.administrator)

    def names(self) -> list[str]:
        named = [f"applicant:{c}" for c in sorted(self.applicant)]
        named += [f"reviewer:{d}" for d in sorted(self.reviewer)]
        named += [r for r, held in (("auditor", self.auditor), ("administrator", self.administrator)) if held]
        return named
