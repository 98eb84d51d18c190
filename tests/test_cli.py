"""The `govgraph` command as a user runs it: demo (embedded PostgreSQL), samples, errors."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import jwt
import pytest

from demo.cli import _announce
from demo.stack import DemoStack
from gateway.audit.store import AuditStore
from gateway.cli.main import main
from gateway.config.settings import load_auth, load_settings
from gateway.execution.schema import build_schema
from gateway.policy.model import load_policy

from .ports import free_port, free_ports

ROOT = Path(__file__).parents[1]


def govgraph(
    *args: str, env: dict[str, str] | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


@pytest.mark.slow
def test_demo_serves_the_city_and_stops_cleanly_on_ctrl_c(tmp_path: Path, private_runtime_dir: Path) -> None:
    port, ops = free_ports(2)
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    data = tmp_path / "demo"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gateway",
            "demo",
            "--port",
            str(port),
            "--ops-listen",
            f"127.0.0.1:{ops}",
            "--persons",
            "400",
            "--data-dir",
            str(data),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "demo did not start"
            time.sleep(0.3)
        # From another directory, with nothing pasted: the commands find this demo.
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        found = govgraph("samples", cwd=elsewhere)
        assert found.returncode == 0, found.stderr
        assert f"govgraph: using the demo running as pid {proc.pid} (data in {data})" in found.stderr
        samples = json.loads(found.stdout)
        child = samples["cases"]["family_child"][0]
        audit = govgraph("audit", "verify", cwd=elsewhere)
        assert audit.returncode == 0, audit.stderr
        assert (
            f"configuration {ROOT / 'govgraph.toml'} (from the demo running as pid {proc.pid})"
            in audit.stderr
        )
        assert audit.stdout.strip().endswith(": intact")
        response = httpx.post(
            f"http://127.0.0.1:{port}/graphql",
            json={
                "query": "query($id: ResidentId!) { person(id: $id) { id guardians { name } } }",
                "variables": {"id": child},
            },
            headers={"X-API-Key": "demo-only-developer-api-key", "X-Purpose": "development"},
            timeout=30,
        )
        assert response.json()["data"]["person"]["id"] == child
        graphiql = httpx.get(f"http://127.0.0.1:{port}/graphql", headers={"Accept": "text/html"}, timeout=5)
        assert graphiql.status_code == 200
        assert "graphiql" in graphiql.text.lower()
        assert httpx.get(f"http://127.0.0.1:{ops}/readyz", timeout=5).json()["status"] == "ready"
        # The console as the README walks it: a reviewer's login link, the department's
        # seeded applications, one of them overdue.
        login = govgraph("login", "reviewer", cwd=elsewhere)
        link = login.stdout.strip().splitlines()[-1]
        assert link.startswith(f"http://127.0.0.1:{port}/console/login?ticket="), login.stderr
        with httpx.Client(timeout=10, follow_redirects=True) as browser:
            assert browser.get(link).status_code == 200
            reviews = browser.get(f"http://127.0.0.1:{port}/console/reviews")
        assert reviews.status_code == 200
        assert reviews.text.count('class="card review') == 2
        assert reviews.text.count('class="card review late"') == 1
        assert httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 404
    finally:
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, output
    assert f"GraphiQL: http://127.0.0.1:{port}/graphql" in output
    assert "family_child" in output
    assert f"operators: http://127.0.0.1:{ops}/metrics and http://127.0.0.1:{ops}/readyz" in output
    assert "(or: govgraph samples, from any directory)" in output
    assert "; event loop uvloop" in output
    assert "  audit log: postgresql://gg_audit@" in output
    assert not (data / "pg" / "postmaster.pid").exists(), "embedded PostgreSQL left running"
    # Stopped, it is no longer found: its state file and the pointer to it are gone.
    assert not (data / "demo.json").exists()
    assert not (private_runtime_dir / "govgraph" / "demo.json").exists()
    gone = govgraph("samples", cwd=elsewhere)
    assert gone.returncode == 1
    assert "no demo is running" in gone.stderr


def announcement(data_dir: Path, caplog: pytest.LogCaptureFixture) -> str:
    """What `govgraph demo` prints once its city is up, for a stack with made-up addresses."""
    stack = DemoStack(data_dir=data_dir)
    stack.dsns = {
        d: f"postgresql://gg_{d}@/gg_{d}?host=/srv/pg"
        for d in ("public_security", "tax", "market", "licences")
    }
    stack.urls = {
        "education": "http://127.0.0.1:1",
        "social_insurance": "http://127.0.0.1:2",
        "credit": "http://127.0.0.1:3",
    }
    stack.audit_dsn = "postgresql://gg_audit@/gg_audit?host=/srv/my city/pg"
    stack.samples = {"cases": {"family_child": ["350203201408264925"]}}
    settings = load_settings(ROOT / "govgraph.toml", stack.gateway_env())
    policy = load_policy(load_auth(ROOT / "govgraph.toml").policy, build_schema().scopes)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="govgraph"):
        _announce(stack, settings, policy, "127.0.0.1", 8474, 1.0, ("127.0.0.1", 9474))
    return caplog.records[-1].getMessage()


def test_the_start_up_announcement_gives_ready_commands(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    default = announcement(Path(".govgraph"), caplog)
    # `govgraph samples` and `govgraph audit` find the running demo: nothing to paste.
    assert "  sample ids: .govgraph/samples.json  (or: govgraph samples, from any directory)\n" in default
    assert "  GraphiQL: http://127.0.0.1:8474/graphql" in default
    assert "  operators: http://127.0.0.1:9474/metrics and http://127.0.0.1:9474/readyz" in default
    elsewhere = announcement(tmp_path / "a city", caplog)
    assert f"  sample ids: {tmp_path / 'a city' / 'samples.json'}  (or: govgraph samples," in elsewhere
    assert (
        "  audit log: postgresql://gg_audit@/gg_audit?host=/srv/my city/pg"
        "  (`govgraph audit verify`, `govgraph audit subject ID` find it)"
    ) in elsewhere
    assert (
        f"  audit checkpoints: {(tmp_path / 'a city' / 'audit-checkpoints').resolve()}  (signed every 10 s)"
        in elsewhere
    )


def test_help_describes_every_command_and_option(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--help"], ["demo", "--help"], ["samples", "--help"]):
        with pytest.raises(SystemExit) as done:
            main(argv)
        assert done.value.code == 0
    overview, demo, samples = capsys.readouterr().out.split("usage: govgraph")[1:]
    description = " ".join(overview.split("positional arguments:")[0].split())
    for command in (
        "demo",
        "serve",
        "check-config",
        "export-schema",
        "catalog",
        "token",
        "documents",
        "audit",
        "samples",
    ):
        assert command in description
    options = " ".join(demo.split())
    for option in (
        "--host HOST address",
        "--port PORT port",
        "--data-dir DATA_DIR the demo's data directory",
    ):
        assert option in options
    assert "(default 8000)" in options
    assert "(default 127.0.0.1)" in options
    assert "(default .govgraph;" in options or f"(default {os.environ['GOVGRAPH_DATA_DIR']};" in options
    assert "--data-dir DATA_DIR the demo's data directory" in " ".join(samples.split())


@pytest.mark.parametrize("ttl", ["0", "-60"])
def test_token_refuses_a_lifetime_under_one_second(ttl: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["token", "developer", "--ttl", ttl])
    assert done.value.code == 2
    captured = capsys.readouterr()
    assert f"argument --ttl: must be at least 1 second, got {int(ttl)}" in captured.err
    assert "Bearer" not in captured.out


def test_token_prints_headers_for_a_positive_lifetime(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "developer", "--ttl", "60"]) == 0
    authorization, purpose = capsys.readouterr().out.splitlines()
    claims = jwt.decode(authorization.split()[-1], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 60
    assert purpose == "X-Purpose: development"


def test_samples_without_a_city_says_what_to_do(tmp_path: Path) -> None:
    out = govgraph("samples", "--data-dir", str(tmp_path))
    assert out.returncode == 1
    assert "make demo" in out.stderr


def test_serve_with_a_bad_config_names_the_key(tmp_path: Path) -> None:
    config = tmp_path / "govgraph.toml"
    config.write_text(
        '[sources.tax]\nkind = "postgres"\n[sources.tax.entities.t]\nkey = "k"\ntable = "t"\n'
        '[audit]\nmode = "off"\n'
    )
    out = govgraph("serve", "--config", str(config))
    assert out.returncode == 2
    assert "sources.tax.dsn: is required" in out.stderr


def test_serve_refuses_the_demo_keys(tmp_path: Path) -> None:
    env = {
        **os.environ,
        **{
            f"GOVGRAPH_{d}_DSN": "postgresql://x@127.0.0.1:1/x"
            for d in ("PUBLIC_SECURITY", "TAX", "MARKET", "LICENCES", "AUDIT")
        },
        "GOVGRAPH_EDUCATION_URL": "http://127.0.0.1:1",
        "GOVGRAPH_SOCIAL_INSURANCE_URL": "http://127.0.0.1:1",
        "GOVGRAPH_CREDIT_URL": "http://127.0.0.1:1",
    }
    out = govgraph("serve", "--port", str(free_port()), env=env)
    assert out.returncode == 2
    assert "demo's published keys are in use (auth.hs256_secret, audit.subject_key" in out.stderr


def test_check_config_names_an_entity_no_source_serves(tmp_path: Path) -> None:
    config = tmp_path / "govgraph.toml"
    config.write_text(
        f'[auth]\npolicy = "{ROOT / "policy.toml"}"\n'
        '[sources.tax]\nkind = "memory"\n[sources.tax.entities.taxpayer]\nkey = "credit_code"\n'
        '[audit]\nmode = "off"\n'
    )
    out = govgraph("check-config", "--config", str(config))
    assert out.returncode == 2, out.stdout
    # Named by the catalogue file and resource that needs it.
    assert f"{ROOT / 'catalog' / 'public_security.toml'}:" in out.stderr
    assert (
        "resources.person: no source serves entity 'person' (its department's: [sources.public_security])"
        in out.stderr
    )
    assert "ok:" not in out.stdout


async def test_audit_needs_only_its_own_section(scratch_db: str) -> None:
    """`govgraph audit` beside a running gateway: the departments' addresses are not needed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVGRAPH_")}
    empty = govgraph("audit", "verify", env={**env, "GOVGRAPH_AUDIT_DSN": scratch_db})
    assert empty.returncode == 1
    assert "Traceback" not in empty.stderr
    using, problem = empty.stderr.splitlines()
    assert using == f"govgraph: using configuration {ROOT / 'govgraph.toml'} (from the current directory)"
    assert problem.startswith("govgraph: audit store: ")
    assert "audit_store" in empty.stderr  # the first table verify reads
    store = AuditStore(scratch_db)
    await store.open()
    await store.install()
    await store.aclose()
    out = govgraph("audit", "verify", env={**env, "GOVGRAPH_AUDIT_DSN": scratch_db})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith("0 chains, 0 events: intact")
    unset = govgraph("audit", "verify", env=env)
    assert unset.returncode == 2
    assert "GOVGRAPH_AUDIT_DSN" in unset.stderr


def test_check_config_checks_pins_as_start_up_does(tmp_path: Path) -> None:
    policy = (ROOT / "policy.toml").read_text(encoding="utf-8")
    (tmp_path / "policy.toml").write_text(
        policy.replace('"Enterprise.taxCreditAtLeast" = { grade = "B" }\n', "", 1), encoding="utf-8"
    )
    config = tmp_path / "govgraph.toml"
    config.write_text(
        '[auth]\npolicy = "policy.toml"\n'
        '[sources.tax]\nkind = "memory"\n[sources.tax.entities.taxpayer]\nkey = "credit_code"\n'
        '[audit]\nmode = "off"\n'
    )
    out = govgraph("check-config", "--config", str(config))
    assert out.returncode == 2, out.stdout
    assert "Enterprise.taxCreditAtLeast must be pinned" in out.stderr


def test_check_config_names_a_catalogue_mistake(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog"
    shutil.copytree(ROOT / "catalog", catalog)
    market = catalog / "market.toml"
    market.write_text(
        market.read_text(encoding="utf-8").replace(
            'employees = { type = "Int"', 'employees = { type = "Count"'
        ),
        encoding="utf-8",
    )
    config = tmp_path / "govgraph.toml"
    config.write_text(
        f'[auth]\npolicy = "{ROOT / "policy.toml"}"\n[catalog]\npath = "catalog"\n'
        '[sources.tax]\nkind = "memory"\n[sources.tax.entities.taxpayer]\nkey = "credit_code"\n'
        '[audit]\nmode = "off"\n'
    )
    out = govgraph("check-config", "--config", str(config))
    assert out.returncode == 2, out.stdout
    assert "Traceback" not in out.stderr
    line = next(
        n for n, text in enumerate(market.read_text(encoding="utf-8").splitlines(), 1) if "Count" in text
    )
    assert (
        f"{market}:{line}: resources.annual_reports.items.employees.type: unknown type 'Count'" in out.stderr
    )
