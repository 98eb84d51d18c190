"""schema.graphql is generated; it must match what `govgraph export-schema` prints."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from gateway.console.api import CONSOLE_SCHEMA
from gateway.execution.schema import build_schema

ROOT = Path(__file__).parents[1]


def test_committed_schema_matches_the_code() -> None:
    committed = (ROOT / "schema.graphql").read_text(encoding="utf-8")
    assert committed == build_schema().as_str() + "\n", "run `make schema` and commit schema.graphql"


def test_committed_console_schema_matches_the_code() -> None:
    committed = (ROOT / "console.graphql").read_text(encoding="utf-8")
    assert committed == CONSOLE_SCHEMA.as_str() + "\n", "run `make schema` and commit console.graphql"


def test_export_schema_command_prints_the_same() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "gateway", "export-schema"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout == (ROOT / "schema.graphql").read_text(encoding="utf-8")


def test_graph_has_the_documented_roots() -> None:
    sdl = build_schema().as_str()
    for root in (
        "person(id: ResidentId!)",
        "persons(ids: [ResidentId!]!)",
        "enterprise(creditCode: CreditCode!)",
        "household(number: String! @maxLength(chars: 32))",
        "school(code: String! @maxLength(chars: 16))",
    ):
        assert root in sdl
