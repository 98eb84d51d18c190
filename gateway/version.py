"""The installed distribution's version: what `govgraph --version` prints and /healthz
answers, read from the package metadata so that it is never written twice."""

from __future__ import annotations

import functools
from importlib.metadata import PackageNotFoundError, version

__all__ = ["DISTRIBUTION", "installed_version"]

DISTRIBUTION = "govgraph"


@functools.cache
def installed_version() -> str:
    """The version pip installed; "unknown" when run from a tree that was never installed."""
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return "unknown"
