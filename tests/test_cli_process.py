"""`govgraph` as a process on a terminal: its version, and a reader that goes away."""

from __future__ import annotations

import importlib.metadata
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.commands import ROOT


def test_version_is_the_installed_distributions(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "gateway", "--version"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout == f"govgraph {importlib.metadata.version('govgraph')}\n"


@pytest.mark.parametrize(
    "command", [("token", "developer"), ("export-schema",), ("catalog", "--format", "json")]
)
def test_a_reader_that_goes_away_ends_a_command_quietly(command: tuple[str, ...]) -> None:
    """`govgraph token X | head -1`: the reader closes the pipe; no traceback follows."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway", *command],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    proc.stdout.close()  # gone before the command writes its first line
    with proc.stderr:
        err = proc.stderr.read()
    assert proc.wait(timeout=120) == 1
    assert "Traceback" not in err
    assert "BrokenPipeError" not in err
    piped = subprocess.run(
        ["sh", "-c", f"{shlex.quote(sys.executable)} -m gateway {' '.join(command)} | head -c 1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Traceback" not in piped.stderr
    assert "BrokenPipeError" not in piped.stderr
