"""`govgraph check-config` checks what `govgraph serve` checks, reports every mistake at
once, refuses the demo's published keys as serve does, and with --no-env checks a file
without its secrets, saying what that leaves unchecked; `serve --help` lists the
environment the configuration needs. Real `govgraph` processes."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from pathlib import Path

import pytest

from gateway.config.settings import GatewaySettings
from tests.commands import ROOT, govgraph

CONFIG = ROOT / "govgraph.toml"
MEMORY = '[sources.tax]\nkind = "memory"\n[sources.tax.entities.taxpayer]\nkey = "credit_code"\n'
POSTGRES = (
    '[sources.tax]\nkind = "postgres"\ndsn = "postgresql://x@127.0.0.1:1/x"\npool_size = 2\n'
    '[sources.tax.entities.taxpayer]\nkey = "credit_code"\ntable = "taxpayer"\n'
)
# What govgraph.toml needs from the environment, as `make demo` gives it (nothing listens).
DEMO_ENV = {
    **{
        f"GOVGRAPH_{d}_DSN": "postgresql://x@127.0.0.1:1/x"
        for d in ("PUBLIC_SECURITY", "TAX", "MARKET", "LICENCES")
    },
    "GOVGRAPH_AUDIT_DSN": "postgresql://x@127.0.0.1:1/x",
    **{f"GOVGRAPH_{d}_URL": "http://127.0.0.1:1" for d in ("EDUCATION", "SOCIAL_INSURANCE", "CREDIT")},
}

# The [gateway] keys, as the refusal of an unknown one lists them.
GATEWAY_KEYS = ", ".join(sorted(f.name for f in dataclasses.fields(GatewaySettings)))


def site(tmp_path: Path, *edits: tuple[str, str]) -> Path:
    """The shipped govgraph.toml, edited, in `tmp_path`; its policy, catalogue and documents
    the project's own unless an edit says otherwise."""
    text = CONFIG.read_text(encoding="utf-8")
    for name in ("policy.toml", "catalog", "documents"):
        text = text.replace(f'= "{name}"', f'= "{ROOT / name}"', 1)
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    config = tmp_path / "govgraph.toml"
    config.write_text(text, encoding="utf-8")
    return config


def problems(out: subprocess.CompletedProcess[str]) -> list[str]:
    """The mistakes reported, one a line, after `configuration error: `."""
    text = out.stderr.split("govgraph: configuration error: ", 1)[1]
    return text.splitlines()


def test_every_mistake_is_reported_at_once(tmp_path: Path) -> None:
    """Mistakes in each place the gateway reads, reported together, each once: the file (a
    key, a variable, a department's own key), the policy, the catalogue."""
    policy = tmp_path / "policy.toml"
    policy.write_text((ROOT / "policy.toml").read_text().replace('"person.identity"', '"person.identiy"', 1))
    config = tmp_path / "govgraph.toml"
    config.write_text(
        '[gateway]\nmax_conections = 5\n[rate_limit]\nrate = "${NO_SUCH_RATE}"\n'
        '[auth]\npolicy = "policy.toml"\n[catalog]\npath = "catalog"\n[audit]\nmode = "off"\n'
        + POSTGRES.replace("pool_size", "pool_sise")
    )
    shutil.copytree(ROOT / "catalog", tmp_path / "catalog")
    out = govgraph("check-config", "--config", str(config))
    assert out.returncode == 2, out.stdout
    assert out.stdout == ""
    assert "Traceback" not in out.stderr
    found = problems(out)
    # The whole file fails; the policy is still read, through [auth] alone.
    assert found[:2] == [
        f"{config}:2: gateway.max_conections: unknown key; did you mean 'max_connections'? (expected one of:"
        f" {GATEWAY_KEYS})",
        f"{config}:4: rate_limit.rate: environment variable NO_SUCH_RATE is not set",
    ]
    assert any(line.startswith(f"{policy}:") and "unknown scope 'person.identiy'" in line for line in found)
    # The file right: the department's own key, the policy and the catalogue, together.
    config.write_text(
        config.read_text().replace("max_conections = 5\n", "").replace('"${NO_SUCH_RATE}"', "5")
    )
    market = tmp_path / "catalog" / "market.toml"
    market.write_text(
        market.read_text().replace('employees = { type = "Int"', 'employees = { type = "Count"')
    )
    found = problems(govgraph("check-config", "--config", str(config)))
    assert any(
        line.startswith(f"{config}:13: ")
        and "sources.tax.pool_sise: unknown key; did you mean 'pool_size'?" in line
        for line in found
    ), found
    assert any(line.startswith(f"{market}:") and "unknown type 'Count'" in line for line in found)
    assert len(found) == len(set(found))
    market.write_text(market.read_text().replace('type = "Count"', 'type = "Int"'))
    found = problems(govgraph("check-config", "--config", str(config)))
    assert any("sources.tax.pool_sise: unknown key" in line for line in found)
    assert any("unknown scope 'person.identiy'" in line for line in found)


def test_the_demo_keys_are_refused_as_serve_refuses_them() -> None:
    checked = govgraph("check-config", **DEMO_ENV)
    served = govgraph("serve", "--port", "1", **DEMO_ENV)
    assert checked.returncode == served.returncode == 2
    refusal = problems(checked)
    assert refusal == problems(served)
    assert "the demo's published keys are in use (auth.hs256_secret, audit.subject_key" in refusal[0]
    assert refusal[0].endswith("set your own (or start with --allow-demo-keys, never in production)")
    allowed = govgraph("check-config", "--allow-demo-keys", **DEMO_ENV)
    assert allowed.returncode == 0, allowed.stderr
    assert allowed.stdout.startswith("ok: 8 sources, ")
    assert "govgraph: allowed by --allow-demo-keys: the demo's published keys are in use (" in allowed.stderr
    # Its own keys set, the shipped file passes but for the policy's demo API key, which
    # serve refuses too.
    own = {
        "GOVGRAPH_JWT_SECRET": "j" * 40,
        "GOVGRAPH_AUDIT_KEY": "a" * 40,
        "GOVGRAPH_CONSOLE_SECRET": "c" * 40,
    }
    checked = govgraph("check-config", **DEMO_ENV, **own)
    assert problems(checked) == problems(govgraph("serve", "--port", "1", **DEMO_ENV, **own))
    assert "(policy clients.developer.api_key_sha256)" in problems(checked)[0]


def test_what_only_serve_builds_is_checked_too(tmp_path: Path) -> None:
    """The console's audience beside the clients', and the issuer's key files: found by
    building the app as serve does, with the same words."""
    audience = site(tmp_path, ('audience = "govgraph-console"', 'audience = "govgraph"'))
    for command in (["check-config"], ["serve", "--port", "1"]):
        out = govgraph(*command, "--allow-demo-keys", "--config", str(audience), **DEMO_ENV)
        assert out.returncode == 2, out.stderr
        assert problems(out) == [
            f"{audience}: console.audience: must differ from auth.audience ('govgraph'): a person's sign-in"
            " token must never be a client's"
        ]
    absent = site(tmp_path, ("# public_keys = {", 'public_keys = { RS256 = "absent.pem" }\n#'))
    for command in (["check-config"], ["serve", "--port", "1"]):
        out = govgraph(*command, "--allow-demo-keys", "--config", str(absent), **DEMO_ENV)
        assert out.returncode == 2, out.stderr
        assert "Traceback" not in out.stderr
        assert problems(out) == [
            f"{absent}: auth.public_keys: cannot read {tmp_path / 'absent.pem'} (No such file or directory)"
        ]


def test_without_the_environment(tmp_path: Path) -> None:
    """--no-env: the shipped file checks without one variable set; what could not be
    checked is said, the demo keys among it; what is wrong in the file itself still is."""
    out = govgraph("check-config", "--no-env", "--allow-demo-keys")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ok: 8 sources, ")
    notes = out.stderr.splitlines()
    assert any(
        line.startswith("govgraph: not checked: the values of GOVGRAPH_AUDIT_DSN, GOVGRAPH_CREDIT_URL,")
        and "GOVGRAPH_TAX_DSN, which stand for values of their keys' types (--no-env)" in line
        for line in notes
    ), notes
    assert (
        "govgraph: not checked: the policy store's grants ([auth] store comes from ${GOVGRAPH_POLICY_DSN})"
        in notes
    )
    assert (
        "govgraph: not checked: auth.hs256_secret: the default of ${GOVGRAPH_JWT_SECRET} is the demo's"
        " published key; serve refuses it unless GOVGRAPH_JWT_SECRET is set (or --allow-demo-keys is given)"
        in notes
    )
    # A key written in the file itself is known: refused as serve refuses it.
    refused = govgraph("check-config", "--no-env")
    assert refused.returncode == 2
    assert problems(refused) == [
        f"{CONFIG}: the demo's published keys are in use (policy clients.developer.api_key_sha256);"
        " set your own (or start with --allow-demo-keys, never in production)"
    ]
    # A stand-in passes its key's checks (a number, an address, a secret's length); a
    # file named by a variable cannot be read: said, not reported as a mistake.
    config = site(
        tmp_path,
        ('ops_listen = "${GOVGRAPH_OPS_LISTEN:-127.0.0.1:9000}"', 'ops_listen = "${OPS}"'),
        ("max_connections = 1000", 'max_connections = "${CONNECTIONS}"'),
        (f'policy = "{ROOT / "policy.toml"}"', 'policy = "${POLICY_FILE}"'),
        (
            'subject_key = "${GOVGRAPH_AUDIT_KEY:-demo-only-audit-subject-key}"',
            'subject_key = "${AUDIT_KEY}"',
        ),
    )
    out = govgraph("check-config", "--no-env", "--allow-demo-keys", "--config", str(config))
    assert out.returncode == 0, out.stderr
    notes = out.stderr.splitlines()
    assert any(
        line.startswith("govgraph: not checked: the values of AUDIT_KEY, CONNECTIONS, GOVGRAPH_AUDIT_DSN,")
        for line in notes
    ), notes
    assert any(
        line.startswith(f"govgraph: not checked: {tmp_path}/${{POLICY_FILE}}") and "cannot read" in line
        for line in notes
    ), notes
    # Without --no-env the same file names each variable that is not set, all at once.
    out = govgraph("check-config", "--config", str(config), **DEMO_ENV)
    assert out.returncode == 2
    unset = [line.split(": ", 2)[2] for line in problems(out) if "is not set" in line]
    assert unset == [
        f"environment variable {v} is not set" for v in ("OPS", "CONNECTIONS", "POLICY_FILE", "AUDIT_KEY")
    ]


def test_serve_help_lists_the_environment_the_configuration_needs(tmp_path: Path) -> None:
    out = govgraph("serve", "--help")
    assert out.returncode == 0, out.stderr
    environment = out.stdout.split("\nenvironment:\n", 1)[1]
    assert f"  read by {CONFIG}:\n" in environment
    rows = {
        line.split()[0]: line.split(None, 1)[1]
        for line in environment.splitlines()
        if line.startswith("    ")
    }
    assert rows["GOVGRAPH_TAX_DSN"] == "required: sources.tax.dsn"
    assert rows["GOVGRAPH_AUDIT_DSN"] == "required: sources.audit.dsn, audit.dsn"
    assert rows["GOVGRAPH_POLICY_DSN"] == "optional: auth.store"
    # A secret's default is a demo key: serve refuses it, so it is not optional.
    assert rows["GOVGRAPH_CONSOLE_SECRET"] == (
        "required unless --allow-demo-keys (a published demo key is refused): console.session_secret"
    )
    assert rows["REDIS_URL"] == "optional: rate_limit.redis_url, cache.redis_url"
    for fixed in ("GOVGRAPH_CONFIG", "PROMETHEUS_MULTIPROC_DIR", "OTEL_EXPORTER_OTLP_ENDPOINT"):
        assert fixed in rows
    # Another configuration, named before --help; and none at all.
    other = tmp_path / "other.toml"
    other.write_text('[auth]\npolicy = "p.toml"\nhs256_secret = "${MY_SECRET}"\n' + MEMORY)
    out = govgraph("serve", "--config", str(other), "--help", cwd=tmp_path)
    assert f"  read by {other}:\n    MY_SECRET" in out.stdout
    assert "GOVGRAPH_TAX_DSN" not in out.stdout
    out = govgraph("serve", "--help", cwd=tmp_path)
    assert "  no configuration: give --config FILE, set GOVGRAPH_CONFIG" in out.stdout
    assert "    GOVGRAPH_CONFIG " in out.stdout


@pytest.mark.parametrize("flag", ["--no-env", "--allow-demo-keys"])
def test_check_config_help_describes_its_flags(flag: str) -> None:
    out = govgraph("check-config", "--help")
    assert flag in out.stdout
