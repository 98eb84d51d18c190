"""Configuration: ${ENV} substitution and errors that name the file, source and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config.settings import ConfigError, load_settings

ENV = {
    "GOVGRAPH_PUBLIC_SECURITY_DSN": "postgresql://ps@db/ps",
    "GOVGRAPH_TAX_DSN": "postgresql://tax@db/tax",
    "GOVGRAPH_MARKET_DSN": "postgresql://mkt@db/mkt",
    "GOVGRAPH_EDUCATION_URL": "http://edu",
    "GOVGRAPH_SOCIAL_INSURANCE_URL": "http://si",
    "GOVGRAPH_AUDIT_DSN": "postgresql://audit@db/audit",
}
SHIPPED = Path(__file__).parents[2] / "govgraph.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "govgraph.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_config_loads_with_environment() -> None:
    settings = load_settings(SHIPPED, ENV)
    by_name = {s.name: s for s in settings.sources}
    assert set(by_name) == {"public_security", "education", "social_insurance", "tax", "market", "audit"}
    assert settings.audit.mode == "sync" and settings.audit.dsn == "postgresql://audit@db/audit"
    assert settings.auth is not None and settings.auth.policy.endswith("policy.toml")
    assert by_name["tax"].options["dsn"] == "postgresql://tax@db/tax"
    assert by_name["education"].options["base_url"] == "http://edu"
    assert by_name["public_security"].entities["household_members"].many is True
    assert settings.limits.list_keys == 100 and settings.limits.depth == 12
    assert settings.documents is not None and settings.documents.endswith("documents")


def test_missing_environment_variable_names_the_key() -> None:
    env = {k: v for k, v in ENV.items() if k != "GOVGRAPH_TAX_DSN"}
    with pytest.raises(
        ConfigError, match=r"sources\.tax\.dsn: environment variable GOVGRAPH_TAX_DSN is not set"
    ):
        load_settings(SHIPPED, env)


def test_environment_default_is_used(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[sources.a]\nkind = "memory"\nnote = "${NOPE:-fallback}-${HERE}"\n'
        '[sources.a.entities.e]\nkey = "id"\n[audit]\nmode = "off"\n',
    )
    settings = load_settings(path, {"HERE": "x"})
    assert settings.sources[0].options["note"] == "fallback-x"


def test_every_section_takes_environment_variables(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[gateway]\ngraphiql = "${GRAPHIQL}"\ngc_young = "${GC:-0}"\n'
        '[limits]\nlist_keys = "${KEYS}"\n[documents]\npath = "${DOCS}"\n'
        '[sources.a]\nkind = "memory"\n[sources.a.entities.e]\nkey = "id"\n[audit]\nmode = "off"\n',
    )
    settings = load_settings(path, {"GRAPHIQL": "false", "KEYS": "7", "DOCS": "registered"})
    assert settings.gateway.graphiql is False and settings.gateway.gc_young == 0
    assert settings.limits.list_keys == 7
    assert settings.documents == str(tmp_path / "registered")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[sources.a]\nkind = 'memory'\n", r"sources\.a\.entities: at least one entity is required"),
        ("[sources.a]\n[sources.a.entities.e]\nkey = 'id'\n", r"sources\.a\.kind: is required"),
        (
            "[sources.a]\nkind = 'memory'\ntimeout = 'soon'\n[sources.a.entities.e]\nkey = 'id'\n",
            r"sources\.a\.timeout: must be float",
        ),
        (
            "[sources.a]\nkind = 'memory'\nmax_batch_size = 0\n[sources.a.entities.e]\nkey = 'id'\n",
            r"sources\.a\.max_batch_size: must be at least 1",
        ),
        (
            "[sources.a]\nkind = 'memory'\n[sources.a.entities.e]\nmany = true\n",
            r"sources\.a\.entities\.e\.key",
        ),
        ("[gateway]\nmax_list_key = 5\n", r"gateway\.max_list_key: unknown key"),
        ("[limits]\ndepth = 0\n", r"limits\.depth: must be at least 1"),
        ("[limits]\ndepht = 5\n", r"limits\.depht: unknown key"),
        ("[gateway]\n", r"sources: at least one source is required"),
        ("[sources.Bad]\nkind = 'memory'\n", r"sources\.Bad: source names are lower-case"),
        ("[sources.a\nkind = 'memory'\n", r"govgraph\.toml: .*line 1"),
    ],
)
def test_mistakes_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        load_settings(write(tmp_path, text), {})
    assert str(caught.value).startswith(str(tmp_path / "govgraph.toml"))


@pytest.mark.parametrize(
    ("audit", "message"),
    [
        ('mode = "sometimes"', r"audit\.mode: must be sync, async or off"),
        ('dsn = "postgresql://a@b/c"\nsubject_key = "short"', r"audit\.subject_key: must be at least 16"),
        ('subject_key = "0123456789abcdef"', r"audit\.dsn: is required"),
    ],
)
def test_audit_mistakes_name_the_key(tmp_path: Path, audit: str, message: str) -> None:
    text = f'[sources.a]\nkind = "memory"\n[sources.a.entities.e]\nkey = "id"\n[audit]\n{audit}\n'
    with pytest.raises(ConfigError, match=message):
        load_settings(write(tmp_path, text), {})


def test_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "missing.toml", {})


MEMORY = '[sources.a]\nkind = "memory"\n[sources.a.entities.e]\nkey = "id"\n[audit]\nmode = "off"\n'


def test_edge_and_token_settings_have_defaults_and_can_be_set(tmp_path: Path) -> None:
    defaults = load_settings(write(tmp_path, MEMORY), {})
    assert defaults.gateway.ops_listen == "127.0.0.1:9000"
    assert (defaults.gateway.keepalive_timeout, defaults.gateway.header_timeout) == (5, 10.0)
    assert defaults.gateway.max_connections == 1000
    text = (
        '[gateway]\nops_listen = "${OPS}"\nkeepalive_timeout = 75\nheader_timeout = 2.5\n'
        'max_connections = 50\n[auth]\npolicy = "policy.toml"\nleeway = 0\n' + MEMORY
    )
    chosen = load_settings(write(tmp_path, text), {"OPS": "[::1]:9100"})
    assert chosen.gateway.ops_listen == "[::1]:9100"
    assert (chosen.gateway.keepalive_timeout, chosen.gateway.header_timeout) == (75, 2.5)
    assert chosen.gateway.max_connections == 50
    assert chosen.auth is not None and chosen.auth.leeway == 0.0
    unset = load_settings(write(tmp_path, '[auth]\npolicy = "p.toml"\n' + MEMORY), {}).auth
    assert unset is not None and unset.leeway == 30.0


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            '[gateway]\nops_listen = "9000"',
            r"gateway\.ops_listen: must be HOST:PORT, e\.g\. 127\.0\.0\.1:9000",
        ),
        ('[gateway]\nops_listen = "127.0.0.1:99999"', r"gateway\.ops_listen: must be HOST:PORT"),
        ("[gateway]\nheader_timeout = 0", r"gateway\.header_timeout: must be positive"),
        ("[gateway]\nkeepalive_timeout = 0", r"gateway\.keepalive_timeout: must be at least 1"),
        ("[gateway]\nmax_connections = 0", r"gateway\.max_connections: must be at least 1"),
        ('[auth]\npolicy = "p.toml"\nleeway = -1', r"auth\.leeway: must be 0 \(off\) or a number"),
    ],
)
def test_edge_and_token_mistakes_name_the_key(tmp_path: Path, table: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(write(tmp_path, f"{table}\n{MEMORY}"), {})
