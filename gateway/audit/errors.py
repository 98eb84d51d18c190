"""What can go wrong with the audit log; a client sees AUDIT_UNAVAILABLE either way."""

from __future__ import annotations

from sources.errors import GovgraphError

__all__ = ["AuditError", "AuditStoreError", "AuditUnavailable"]


class AuditError(GovgraphError):
    code = "AUDIT_UNAVAILABLE"


class AuditStoreError(AuditError):
    """The audit store could not take or give events (down, timed out, refused the batch)."""


class AuditUnavailable(AuditError):
    """The event could not be committed: the response must not be released."""
