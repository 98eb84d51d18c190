"""deploy/: the systemd unit and the HAProxy configuration agree with the gateway's own
settings (tests/fleet/ runs them; these checks need neither HAProxy nor systemd)."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.config.load import load_audit, load_section
from gateway.config.sections import GatewaySettings
from gateway.http import ops
from tests.fleet.balancer import timing

ROOT = Path(__file__).parents[1]
UNIT = ROOT / "deploy" / "govgraph.service"
HAPROXY = ROOT / "deploy" / "haproxy.cfg"


def unit() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(UNIT.read_text(encoding="utf-8").replace("\\\n", " "))
    return parser["Service"]


def drain_seconds() -> float:
    """What deploy/README.md's environment file sets."""
    readme = (ROOT / "deploy" / "README.md").read_text(encoding="utf-8")
    found = re.search(r"GOVGRAPH_DRAIN_SECONDS=(\d+)", readme)
    assert found is not None, "deploy/README.md sets no GOVGRAPH_DRAIN_SECONDS"
    return float(found.group(1))


def seconds(value: str) -> float:
    return float(value.removesuffix("s"))


def test_the_unit_stops_the_supervisor_gracefully_and_waits_longer_than_the_gateway() -> None:
    service = unit()
    gateway = load_section(ROOT / "govgraph.toml", "gateway", GatewaySettings, {})
    audit = load_audit(ROOT / "govgraph.toml", {"GOVGRAPH_AUDIT_DSN": "postgresql://audit"})
    assert "serve" in service["ExecStart"]
    assert "--workers ${GOVGRAPH_WORKERS}" in service["ExecStart"]
    assert service["EnvironmentFile"].startswith("/etc/")
    assert (service["KillSignal"], service["KillMode"]) == ("SIGTERM", "mixed")  # to the supervisor only
    graceful = drain_seconds() + gateway.shutdown_timeout + audit.commit_timeout
    assert seconds(service["TimeoutStopSec"]) > graceful
    assert service["NoNewPrivileges"] == "yes"
    assert service["ProtectSystem"] == "strict"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    installed = tmp_path / "govgraph.service"  # as installed: its command exists
    text = UNIT.read_text(encoding="utf-8").replace("/opt/govgraph/.venv/bin/govgraph", sys.executable)
    installed.write_text(text, encoding="utf-8")
    checked = subprocess.run(
        ["systemd-analyze", "verify", str(installed)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stderr


def test_the_balancer_checks_readyz_on_the_operators_port_and_waits_for_the_supervisor() -> None:
    text = HAPROXY.read_text(encoding="utf-8")
    assert drain_seconds() > timing(text).window + 1  # a stopping host serves until it is out
    gateway = load_section(ROOT / "govgraph.toml", "gateway", GatewaySettings, {})
    port = gateway.ops_listen.rsplit(":", 1)[1]
    assert re.search(rf"^\s*default-server check port {port}\b", text, flags=re.M)
    assert "http-check send meth GET uri /readyz" in text
    check = re.search(r"^\s*timeout check (\d+)s", text, flags=re.M)
    assert check is not None
    assert float(check.group(1)) > ops._ASK_TIMEOUT  # a slow worker is the supervisor's to judge
    assert "shutdown-sessions" not in re.sub(r"#.*", "", text)  # it would cut a draining host's requests
