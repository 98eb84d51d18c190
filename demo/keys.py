"""The demo's keys. They are published (policy.toml, govgraph.toml, the docs), so anyone
can use them: `PUBLISHED_SHA256` is declared as the entry point `govgraph.published_keys`
`demo`, and `govgraph serve` refuses a configuration that uses any of them."""

from __future__ import annotations

import hashlib

__all__ = [
    "AUDIT_SUBJECT_KEY",
    "CONSOLE_SECRET",
    "DEMO_API_KEY",
    "DEMO_PURPOSE",
    "HS256_SECRET",
    "PUBLISHED_SHA256",
]

DEMO_API_KEY = "demo-only-developer-api-key"  # the developer client's, in policy.toml
DEMO_PURPOSE = "development"  # the developer's purpose that may explore the schema
HS256_SECRET = "demo-only-hs256-secret-do-not-use-in-production"  # noqa: S105 - published on purpose
AUDIT_SUBJECT_KEY = "demo-only-audit-subject-key"  # govgraph.toml's default
CONSOLE_SECRET = "demo-only-console-session-secret-do-not-use"  # noqa: S105 - govgraph.toml's default

PUBLISHED_SHA256 = frozenset(
    hashlib.sha256(key.encode()).hexdigest()
    for key in (DEMO_API_KEY, HS256_SECRET, AUDIT_SUBJECT_KEY, CONSOLE_SECRET)
)
