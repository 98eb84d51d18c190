"""The policy store's errors."""

from __future__ import annotations

from sources.errors import GovgraphError

__all__ = ["PolicyStoreError"]


class PolicyStoreError(GovgraphError):
    """The policy store could not be read or changed; the message says what and why."""
