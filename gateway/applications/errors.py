"""The workflow's refusals, each with the code a caller sees."""

from __future__ import annotations

from sources.errors import GovgraphError

__all__ = ["WorkflowError"]


class WorkflowError(GovgraphError):
    """An application, decision or grant change that cannot be made; nothing was changed.

    Codes: BAD_USER_INPUT (a field is missing or malformed), NOT_SHARED (不予共享 items),
    FORBIDDEN (the person lacks the role), NOT_FOUND, CONFLICT (already decided),
    POLICY_STORE_UNAVAILABLE."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
