"""Who each console page is for, and the navigation a person sees: only the pages of the
roles they hold (read from the policy store on every request)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gateway.applications.model import Roles

__all__ = ["ANYONE", "APPLICANT", "APPLICATIONS", "AUDITOR", "GRANTS", "NAV", "REVIEWER", "SIGNED_IN", "Need"]


@dataclass(frozen=True)
class Need:
    """Who a page is for: a role word for the refusal, and the test of a person's roles."""

    role: str
    allows: Callable[[Roles], bool]
    signed_in: bool = True


ANYONE = Need("", lambda roles: True, signed_in=False)
SIGNED_IN = Need("", lambda roles: True)
APPLICANT = Need("role.applicant", lambda r: bool(r.applicant))
REVIEWER = Need("role.reviewer", lambda r: bool(r.reviewer))
AUDITOR = Need("role.auditor", lambda r: r.auditor)
APPLICATIONS = Need("role.staff", lambda r: bool(r.applicant) or r.auditor or r.administrator)
GRANTS = Need("role.staff", lambda r: r.any)

# The navigation, in order: each page with the need that shows it.
NAV: tuple[tuple[str, str, Need], ...] = (
    ("catalog", "/catalog", APPLICANT),
    ("apply", "/apply", APPLICANT),
    ("applications", "/applications", APPLICATIONS),
    ("reviews", "/reviews", REVIEWER),
    ("grants", "/grants", GRANTS),
    ("audit", "/audit", AUDITOR),
    ("history", "/history", SIGNED_IN),
)
