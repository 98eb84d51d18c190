"""Commands work from any directory: the configuration is found from --config,
$GOVGRAPH_CONFIG or ./govgraph.toml (and, for the demo's commands, the running demo's),
said on stderr; the demo's commands find a running demo's data and audit log through
the state file it leaves (gateway/cli/demo_state.py). Real `govgraph` processes."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.audit.keys import write_key_pair
from gateway.audit.store import AuditStore
from gateway.audit.suite import DEFAULT_SUITE
from gateway.cli import demo_state
from gateway.cli.demo_state import RunningDemo
from tests.commands import ROOT, govgraph

CONFIG = ROOT / "govgraph.toml"


@pytest.fixture
def nowhere(tmp_path: Path) -> Path:
    """A directory with no govgraph.toml, as a user's home is."""
    path = tmp_path / "nowhere"
    path.mkdir()
    return path


@pytest.fixture
def pointer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's own $XDG_RUNTIME_DIR, in this process and the commands it runs."""
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    return runtime / "govgraph" / "demo.json"


def test_without_a_configuration_every_place_looked_at_is_named(nowhere: Path, pointer: Path) -> None:
    out = govgraph("token", "developer", cwd=nowhere)
    assert out.returncode == 2
    assert out.stdout == ""
    assert out.stderr == (
        "govgraph: configuration error: no configuration: give --config FILE, set GOVGRAPH_CONFIG,"
        f" or run where govgraph.toml is (there is none in {nowhere}, and no demo is running)\n"
    )
    # Not a demo command: the running demo is not mentioned.
    out = govgraph("documents", "check", cwd=nowhere)
    assert out.returncode == 2
    assert out.stderr.endswith(f"(there is none in {nowhere})\n")


def test_the_configuration_is_found_and_said(nowhere: Path, pointer: Path, tmp_path: Path) -> None:
    by_env = govgraph("token", "developer", cwd=nowhere, GOVGRAPH_CONFIG=str(CONFIG))
    assert by_env.returncode == 0, by_env.stderr
    assert by_env.stderr == f"govgraph: using configuration {CONFIG} (from GOVGRAPH_CONFIG)\n"
    assert by_env.stdout.startswith("Authorization: Bearer ")
    here = govgraph("token", "developer", cwd=ROOT)
    assert here.stderr == f"govgraph: using configuration {CONFIG} (from the current directory)\n"
    # --config first, then GOVGRAPH_CONFIG, then the current directory.
    relative = os.path.relpath(CONFIG, nowhere)
    given = govgraph("token", "developer", "--config", relative, cwd=nowhere, GOVGRAPH_CONFIG="/nope.toml")
    assert given.stderr == f"govgraph: using configuration {CONFIG} (from --config)\n"
    # A file named but absent is an error, never a fallback to the next place.
    absent = govgraph("token", "developer", cwd=ROOT, GOVGRAPH_CONFIG=str(tmp_path / "typo.toml"))
    assert absent.returncode == 2
    assert f"{tmp_path / 'typo.toml'}: no such configuration file (from GOVGRAPH_CONFIG)" in absent.stderr
    missing = govgraph("check-config", "--config", "nope.toml", cwd=ROOT)
    assert missing.returncode == 2
    assert "nope.toml: no such configuration file (from --config)" in missing.stderr
    # `catalog` can do without one: the project's own catalogue.
    catalog = govgraph("catalog", "--format", "json", cwd=nowhere)
    assert catalog.returncode == 0, catalog.stderr
    assert catalog.stderr == ""


@pytest.fixture
def city(tmp_path: Path) -> Path:
    """A demo data directory holding a city's samples."""
    data = tmp_path / "city"
    data.mkdir()
    (data / "samples.json").write_text(json.dumps({"cases": {"family_child": ["350203201408264925"]}}))
    return data


async def installed(dsn: str) -> None:
    store = AuditStore(dsn)
    await store.open()
    await store.install()
    await store.aclose()


def test_a_running_demo_is_found_from_anywhere(
    nowhere: Path, pointer: Path, city: Path, scratch_db: str
) -> None:
    asyncio.run(installed(scratch_db))
    # This test's process stands for the demo: alive while the commands run.
    (city / "checkpoints").mkdir()
    write_key_pair(DEFAULT_SUITE, city / "checkpoint.pem")
    lent = {
        "GOVGRAPH_AUDIT_DSN": scratch_db,
        "GOVGRAPH_AUDIT_CHECKPOINTS": str(city / "checkpoints"),
        "GOVGRAPH_AUDIT_CHECKPOINT_KEY": str(city / "checkpoint.pem"),
    }
    demo = RunningDemo(os.getpid(), str(city), str(CONFIG), "http://127.0.0.1:8474", lent)
    demo_state.announce(demo)
    assert json.loads(pointer.read_text())["state"] == str(city / "demo.json")
    assert oct((city / "demo.json").stat().st_mode & 0o777) == "0o600"  # it holds addresses
    said = f"govgraph: using the demo running as pid {os.getpid()} (data in {city})\n"
    samples = govgraph("samples", cwd=nowhere)
    assert samples.returncode == 0, samples.stderr
    assert json.loads(samples.stdout)["cases"]["family_child"] == ["350203201408264925"]
    assert samples.stderr == said
    # The audit log: the demo's configuration and the address it gave its gateway.
    audit = govgraph("audit", "verify", cwd=nowhere)
    assert audit.returncode == 0, audit.stderr
    assert audit.stdout.splitlines()[-1] == "0 chains, 0 events: intact"
    assert "no checkpoints configured" not in audit.stdout  # it checks against the demo's checkpoints
    assert audit.stderr == said + (
        f"govgraph: using configuration {CONFIG} (from the demo running as pid {os.getpid()})\n"
    )
    # What the shell sets wins over the demo's.
    elsewhere = govgraph("audit", "verify", cwd=nowhere, GOVGRAPH_AUDIT_DSN="postgresql://x@127.0.0.1:9/x")
    assert elsewhere.returncode == 1
    own = govgraph("samples", "--data-dir", str(nowhere), cwd=nowhere)
    assert own.returncode == 1
    assert f"no samples at {nowhere / 'samples.json'}: " in own.stderr
    # A later demo's pointer is not taken away by this one's stopping.
    later = RunningDemo(os.getppid(), str(nowhere), str(CONFIG), "http://127.0.0.1:8475")
    demo_state.announce(later)
    demo_state.withdraw(demo)
    assert json.loads(pointer.read_text())["pid"] == os.getppid()
    assert not (city / "demo.json").exists()
    demo_state.withdraw(later)
    assert not pointer.exists()
    assert demo_state.running() is None


def test_a_demo_that_died_is_not_found(nowhere: Path, pointer: Path, city: Path) -> None:
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
    dead = int(finished.stdout)
    demo_state.announce(RunningDemo(dead, str(city), str(CONFIG), "http://127.0.0.1:8474"))
    assert demo_state.running() is None
    # Nor one whose number a later process was given: it started at another time.
    demo_state.announce(RunningDemo(os.getpid(), str(city), str(CONFIG), "http://127.0.0.1:8474"))
    assert demo_state.running() is not None
    state = json.loads((city / "demo.json").read_text())
    (city / "demo.json").write_text(json.dumps({**state, "started": "1"}))
    assert demo_state.running() is None
    out = govgraph("samples", cwd=nowhere)
    assert out.returncode == 1
    assert "(no demo is running; --data-dir names another city)" in out.stderr


def test_without_a_runtime_directory_the_pointer_is_in_the_users_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert demo_state.pointer_path() == tmp_path / "cache" / "govgraph" / "demo.json"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert demo_state.pointer_path() == tmp_path / ".cache" / "govgraph" / "demo.json"


def test_another_configuration_never_gets_the_demos_addresses(
    nowhere: Path, pointer: Path, city: Path, tmp_path: Path
) -> None:
    production = tmp_path / "production.toml"
    production.write_text(
        '[audit]\ndsn = "${GOVGRAPH_AUDIT_DSN}"\nsubject_key = "a-production-key-of-32-chars-xx"\n'
    )
    demo = RunningDemo(
        os.getpid(),
        str(city),
        str(CONFIG),
        "http://127.0.0.1:8474",
        {"GOVGRAPH_AUDIT_DSN": "postgresql://demo"},
    )
    demo_state.announce(demo)
    out = govgraph("audit", "verify", "--config", str(production), cwd=nowhere)
    assert out.returncode == 2
    assert f"not using the demo's addresses: {production} is not its configuration" in out.stderr
    assert "GOVGRAPH_AUDIT_DSN is not set" in out.stderr  # the demo's database was not used


def test_a_state_file_gives_addresses_only_and_only_when_it_is_the_users_own(
    pointer: Path, city: Path
) -> None:
    environ = {
        "GOVGRAPH_AUDIT_DSN": "postgresql://demo",
        "GOVGRAPH_EDUCATION_URL": "http://127.0.0.1:8101",
        "GOVGRAPH_CONFIG": "/srv/elsewhere.toml",  # would choose what every later command reads
        "PYTHONPATH": "/srv/code",
    }
    demo_state.announce(RunningDemo(os.getpid(), str(city), str(CONFIG), "http://127.0.0.1:8474", environ))
    found = demo_state.running()
    assert found is not None
    assert found.environ == {
        "GOVGRAPH_AUDIT_DSN": "postgresql://demo",
        "GOVGRAPH_EDUCATION_URL": "http://127.0.0.1:8101",
    }
    # A state file another user could have written is as good as none.
    (city / "demo.json").chmod(0o620)
    assert demo_state.running() is None
    (city / "demo.json").chmod(0o600)
    city.chmod(0o777)
    assert demo_state.running() is None
    city.chmod(0o755)
    assert demo_state.running() is not None
    # Nor is one that does not say when its process started, where /proc does.
    state = json.loads((city / "demo.json").read_text())
    del state["started"]
    (city / "demo.json").write_text(json.dumps(state))
    assert demo_state.running() is None
