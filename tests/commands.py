"""Running `govgraph` commands as a user would: a process of their own, in a directory of
their choice, with none of the caller's GOVGRAPH_* variables unless given."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

__all__ = ["ROOT", "govgraph"]

ROOT = Path(__file__).parents[1]


# What commands remember between runs (`audit verify`'s state) stays out of the user's home.
STATE = Path(tempfile.gettempdir()) / f"govgraph-test-state-{os.getuid()}"


def govgraph(*args: str, cwd: Path = ROOT, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("GOVGRAPH_")}
    environ = environ | {"XDG_STATE_HOME": str(STATE)} | env
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
