"""The project's exception tree, and the part of it that crosses the source boundary.

Every exception govgraph raises on purpose derives from `GovgraphError`, which carries
the code a client or operator sees. It is rooted here, in the bottom layer, so that
gateway, resolvers and sources share it without importing upwards:

    GovgraphError
    ├── ConfigError          a file or setting is wrong; start-up stops (gateway/config)
    │   ├── SourceConfigError   a source's table (here)
    │   ├── PolicyError         the policy file (gateway/policy/model.py)
    │   └── DocumentError       a trusted document (gateway/execution/documents.py)
    ├── SourceError          a department could not answer (here; SOURCE_* codes)
    ├── Refusal              a request refused with an HTTP status (gateway/http/refusal.py)
    ├── DemoError            the demo cannot start (demo/stack.py)
    └── AuditError           the audit log (gateway/audit/errors.py; AUDIT_UNAVAILABLE)

Adapters translate driver exceptions (asyncpg, aiohttp, OSError) into SourceErrors, with
`raise ... from exc`, so the gateway maps outcomes to codes without knowing drivers.
"""

from __future__ import annotations

__all__ = [
    "BadSourceResponse",
    "ConfigError",
    "GovgraphError",
    "SourceCircuitOpen",
    "SourceConfigError",
    "SourceError",
    "SourceRejected",
    "SourceTimeout",
    "SourceUnavailable",
]


class GovgraphError(Exception):
    """The root of every error govgraph raises on purpose; `code` is the code a client or an
    operator sees for it."""

    code = "INTERNAL_SERVER_ERROR"


class ConfigError(GovgraphError):
    """A configuration file is wrong; the message says which file and key."""


class SourceError(GovgraphError):
    """A department could not answer. `code` is the GraphQL error code it maps to."""

    code = "SOURCE_UNAVAILABLE"

    def __init__(self, source: str, entity: str, detail: str) -> None:
        super().__init__(f"{source}/{entity}: {detail}")
        self.source = source
        self.entity = entity
        self.detail = detail


class SourceUnavailable(SourceError):
    """Connection refused, reset or dropped; the department's server errored."""


class SourceTimeout(SourceError):
    """No answer within the source's `timeout` (or its call deadline, retries included)."""

    code = "SOURCE_TIMEOUT"


class SourceCircuitOpen(SourceError):
    """The department failed repeatedly; it is not asked until its breaker's cooldown ends."""

    code = "SOURCE_CIRCUIT_OPEN"


class SourceRejected(SourceError):
    """The department answered, refusing the call's input (PostgreSQL SQLSTATE class 22 or
    23, HTTP 400/404/422, keys that cannot be encoded): the fault of the request whose keys
    these were, not of the department. Never retried, never counted by the circuit breaker
    or readiness, never cached."""

    code = "SOURCE_REJECTED"


class BadSourceResponse(SourceError):
    """The department answered, but not in the shape its contract promises."""


class SourceConfigError(ConfigError):
    """A source's configuration is wrong; the message names the source and the key."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}")
        self.where = where
        self.problem = problem
