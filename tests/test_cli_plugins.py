"""`govgraph` finds the commands and published keys of installed packages through entry
points, as a user's `pip install` makes them: here a distribution on PYTHONPATH."""

from __future__ import annotations

import hashlib
import os
import subprocess
import textwrap
from pathlib import Path

from tests import test_cli as cli

ROOT = Path(__file__).parents[1]

HELLO = """
import argparse


def register(subparsers):
    parser = subparsers.add_parser("hello", help="greet someone (a plugin's command)")
    parser.add_argument("name")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    print(f"hello, {args.name}")
    return 3
"""


def install(site: Path, name: str, entry_points: str, modules: dict[str, str]) -> None:
    """A distribution as pip leaves it: its modules and a .dist-info with entry points."""
    info = site / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points), encoding="utf-8")
    for module, text in modules.items():
        (site / f"{module}.py").write_text(text, encoding="utf-8")


def govgraph(site: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The command with the packages installed in `site` on its path."""
    return cli.govgraph(*args, env={**(env or os.environ), "PYTHONPATH": f"{site}{os.pathsep}{ROOT}"})


def test_an_installed_command_is_listed_and_runs(tmp_path: Path) -> None:
    install(
        tmp_path, "govgraph_hello", "[govgraph.commands]\nhello = hello_cmd:register\n", {"hello_cmd": HELLO}
    )
    listed = govgraph(tmp_path, "--help")
    assert listed.returncode == 0, listed.stderr
    assert "hello               greet someone (a plugin's command)" in listed.stdout
    assert "demo " in listed.stdout
    assert "serve " in listed.stdout
    ran = govgraph(tmp_path, "hello", "城市")
    assert (ran.returncode, ran.stdout) == (3, "hello, 城市\n")


def test_a_command_whose_package_is_gone_is_absent(tmp_path: Path) -> None:
    """An entry point left behind by a removed module: the command is simply not there."""
    install(tmp_path, "govgraph_gone", "[govgraph.commands]\ngone = gone_cmd:register\n", {})
    listed = govgraph(tmp_path, "--help")
    assert listed.returncode == 0, listed.stderr
    assert "gone" not in listed.stdout
    assert "samples" in listed.stdout
    assert govgraph(tmp_path, "gone").returncode == 2  # argparse: no such command


def test_a_command_that_fails_to_import_is_a_visible_error(tmp_path: Path) -> None:
    """Only the entry point's own module may be missing; a bug in it is not hidden."""
    broken = "import no_such_dependency_of_broken_cmd\n"
    install(
        tmp_path,
        "govgraph_broken",
        "[govgraph.commands]\nbroken = broken_cmd:register\n",
        {"broken_cmd": broken},
    )
    out = govgraph(tmp_path, "--help")
    assert out.returncode != 0
    assert "no_such_dependency_of_broken_cmd" in out.stderr


def test_serve_refuses_the_keys_any_installed_package_publishes(tmp_path: Path) -> None:
    secret = "acme-sample-secret-from-its-readme"
    digest = hashlib.sha256(secret.encode()).hexdigest()
    install(
        tmp_path,
        "govgraph_acme",
        "[govgraph.published_keys]\nacme = acme_keys:HASHES\n",
        {"acme_keys": f"HASHES = [{digest!r}]\n"},
    )
    env = {
        **os.environ,
        **{
            f"GOVGRAPH_{d}_DSN": "postgresql://x@127.0.0.1:1/x"
            for d in ("PUBLIC_SECURITY", "TAX", "MARKET", "LICENCES", "AUDIT")
        },
        "GOVGRAPH_EDUCATION_URL": "http://127.0.0.1:1",
        "GOVGRAPH_SOCIAL_INSURANCE_URL": "http://127.0.0.1:1",
        "GOVGRAPH_CREDIT_URL": "http://127.0.0.1:1",
        "GOVGRAPH_JWT_SECRET": secret,
        "GOVGRAPH_AUDIT_KEY": "a-subject-key-of-this-deployment-only",
        "GOVGRAPH_CONSOLE_SECRET": "a-console-session-secret-of-this-deployment-only",
    }
    out = govgraph(tmp_path, "serve", "--port", "1", env=env)
    assert out.returncode == 2, out.stderr
    assert "the acme's published keys are in use (auth.hs256_secret)" in out.stderr
    # The demo's API key is still in policy.toml; its own secrets are no longer used.
    assert "the demo's published keys are in use (policy clients.developer.api_key_sha256)" in out.stderr
