"""The product and its optional parts: `gateway/` never imports the demo, and a missing
extra (`demo`, `otel`) is a clear message naming the extra, not a traceback."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]
GATEWAY = ROOT / "gateway"


def _is_demo(module: str) -> bool:
    return module == "demo" or module.startswith("demo.")


def test_no_gateway_module_imports_the_demo() -> None:
    found = []
    for path in sorted(GATEWAY.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.Call) and ast.unparse(node.func).endswith(
                ("import_module", "__import__")
            ):
                names = [
                    a.value for a in node.args[:1] if isinstance(a, ast.Constant) and isinstance(a.value, str)
                ]
            found += [f"{path.relative_to(ROOT)}:{node.lineno} {n}" for n in names if _is_demo(n)]
    assert found == []


def test_importing_every_gateway_module_loads_no_demo_module() -> None:
    """The same, as Python sees it: nothing the gateway imports imports the demo either."""
    code = (
        "import pkgutil, sys, importlib, gateway\n"
        "for m in pkgutil.walk_packages(gateway.__path__, 'gateway.'):\n"
        "    if m.name != 'gateway.__main__':\n"
        "        importlib.import_module(m.name)\n"
        "print(sorted(n for n in sys.modules if n == 'demo' or n.startswith('demo.')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def without(module: str, *argv: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`govgraph ARGV` in a Python where `module` is not installed (None in sys.modules
    makes every import of it fail, as for a package that is absent)."""
    code = (
        f"import sys; sys.modules[{module!r}] = None\n"
        "from gateway.cli.main import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code, *argv], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def placeholders() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVGRAPH_") and k != "DATABASE_URL"}
    env |= {
        f"GOVGRAPH_{d}_DSN": "postgresql://x@127.0.0.1:1/x"
        for d in ("PUBLIC_SECURITY", "TAX", "MARKET", "LICENCES", "AUDIT")
    }
    env |= {
        "GOVGRAPH_EDUCATION_URL": "http://127.0.0.1:1",
        "GOVGRAPH_SOCIAL_INSURANCE_URL": "http://127.0.0.1:1",
        "GOVGRAPH_CREDIT_URL": "http://127.0.0.1:1",
    }
    return env


def test_the_otlp_exporter_without_the_otel_extra_names_the_extra(tmp_path: Path) -> None:
    config = tmp_path / "govgraph.toml"
    text = (ROOT / "govgraph.toml").read_text(encoding="utf-8")
    assert '\nexporter = "console"' in text
    config.write_text(text.replace('\nexporter = "console"', '\nexporter = "otlp"', 1), encoding="utf-8")
    for shared in ("policy.toml", "documents", "catalog"):
        (tmp_path / shared).symlink_to(ROOT / shared)
    otlp = "opentelemetry.exporter.otlp"
    # Tracing off: the gateway needs nothing of the extra. (The shipped file holds the demo's
    # keys, which serve and check-config refuse unless allowed.)
    off = without(otlp, "check-config", "--allow-demo-keys", "--config", str(config), env=placeholders())
    assert off.returncode == 0, off.stderr
    assert off.stdout.startswith("ok: "), off.stderr
    on = placeholders() | {"GOVGRAPH_TRACING": "true"}
    for command in (["check-config"], ["serve", "--port", "1"]):
        out = without(otlp, *command, "--allow-demo-keys", "--config", str(config), env=on)
        assert out.returncode == 2, out.stderr
        assert "Traceback" not in out.stderr
        lines = out.stderr.splitlines()
        using = f"using configuration {config} (from --config)"
        # check-config says it on stderr; serve in its log (JSON by default, for shippers).
        assert lines[0] == f"govgraph: {using}" or json.loads(lines[0])["message"] == using
        assert lines[-1].startswith('govgraph: configuration error: tracing.exporter: "otlp" needs the OTLP')
        assert "pip install 'govgraph[otel]'" in out.stderr
    # With the extra installed, the same configuration is fine.
    assert (
        subprocess.run(
            [sys.executable, "-m", "gateway", "check-config", "--allow-demo-keys", "--config", str(config)],
            cwd=ROOT,
            env=on,
            capture_output=True,
            timeout=120,
        ).returncode
        == 0
    )


def test_the_demo_without_the_demo_extra_names_the_extra(tmp_path: Path) -> None:
    out = without("pgserver", "demo", "--data-dir", str(tmp_path), "--port", "1", env=placeholders())
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr
    assert "the embedded PostgreSQL needs the demo extra: pip install 'govgraph[demo]'" in out.stderr
