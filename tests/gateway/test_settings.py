"""Configuration: ${ENV} substitution and errors that name the file, source and key."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from gateway.app import create_app
from gateway.config.load import Problems
from gateway.config.settings import (
    AuditSettings,
    ConfigError,
    GatewaySettings,
    load_audit,
    load_auth,
    load_documents_path,
    load_settings,
    parse_settings,
)
from sources.errors import SourceConfigError

ENV = {
    "GOVGRAPH_PUBLIC_SECURITY_DSN": "postgresql://ps@db/ps",
    "GOVGRAPH_TAX_DSN": "postgresql://tax@db/tax",
    "GOVGRAPH_MARKET_DSN": "postgresql://mkt@db/mkt",
    "GOVGRAPH_EDUCATION_URL": "http://edu",
    "GOVGRAPH_SOCIAL_INSURANCE_URL": "http://si",
    "GOVGRAPH_LICENCES_DSN": "postgresql://lic@db/lic",
    "GOVGRAPH_CREDIT_URL": "http://credit",
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
    assert set(by_name) == {
        "public_security",
        "education",
        "social_insurance",
        "tax",
        "market",
        "licences",
        "credit",
        "audit",
    }
    assert settings.audit.mode == "sync"
    assert settings.audit.dsn == "postgresql://audit@db/audit"
    assert settings.auth is not None
    assert settings.auth.policy.endswith("policy.toml")
    assert by_name["tax"].options["dsn"] == "postgresql://tax@db/tax"
    assert by_name["education"].options["base_url"] == "http://edu"
    assert by_name["public_security"].entities["household_members"].many is True
    assert settings.limits.list_keys == 100
    assert settings.limits.depth == 12
    assert settings.documents is not None
    assert settings.documents.endswith("documents")


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
    assert settings.gateway.graphiql is False
    assert settings.gateway.gc_young == 0
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


@pytest.mark.parametrize("load", [load_settings, load_audit])
def test_a_file_without_an_audit_section_does_not_run_unaudited(
    tmp_path: Path, load: Callable[..., object]
) -> None:
    # Only `mode = "off"` turns the audit off: a lost [audit] section stops start-up.
    text = '[sources.a]\nkind = "memory"\n[sources.a.entities.e]\nkey = "id"\n'
    with pytest.raises(ConfigError, match=r"audit\.subject_key: is required"):
        load(write(tmp_path, text), {})
    assert load_audit(write(tmp_path, text + '[audit]\nmode = "off"\n'), {}).mode == "off"


def test_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "missing.toml", {})


MEMORY = '[sources.a]\nkind = "memory"\n[sources.a.entities.e]\nkey = "id"\n[audit]\nmode = "off"\n'


def test_edge_and_token_settings_have_defaults_and_can_be_set(tmp_path: Path) -> None:
    defaults = load_settings(write(tmp_path, MEMORY), {})
    assert defaults.gateway.ops_listen == "127.0.0.1:9000"
    assert (defaults.gateway.keepalive_timeout, defaults.gateway.header_timeout) == (5, 10.0)
    assert defaults.gateway.max_connections == 1000
    assert (defaults.gateway.shutdown_timeout, defaults.gateway.drain_seconds) == (20.0, 0.0)
    text = (
        '[gateway]\nops_listen = "${OPS}"\nkeepalive_timeout = 75\nheader_timeout = 2.5\n'
        "max_connections = 50\nshutdown_timeout = 45\ndrain_seconds = 3\n"
        '[auth]\npolicy = "policy.toml"\nleeway = 0\n' + MEMORY
    )
    chosen = load_settings(write(tmp_path, text), {"OPS": "[::1]:9100"})
    assert chosen.gateway.ops_listen == "[::1]:9100"
    assert (chosen.gateway.keepalive_timeout, chosen.gateway.header_timeout) == (75, 2.5)
    assert chosen.gateway.max_connections == 50
    assert (chosen.gateway.shutdown_timeout, chosen.gateway.drain_seconds) == (45.0, 3.0)
    assert chosen.auth is not None
    assert chosen.auth.leeway == 0.0
    unset = load_settings(write(tmp_path, '[auth]\npolicy = "p.toml"\n' + MEMORY), {}).auth
    assert unset is not None
    assert unset.leeway == 30.0


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


# Lines, suggestions, every mistake at once --------------------------------------------


def test_a_mistake_names_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, MEMORY + '[gateway]\ngraphiql = true\n\nheader_timeout = "soon"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(path, {})
    assert str(caught.value) == f"{path}:10: gateway.header_timeout: must be float, got 'soon'"


def test_an_unknown_key_gets_the_nearest_known_one(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"gateway\.max_conections: unknown key; did you mean 'max_connections'\?"
    ):
        load_settings(write(tmp_path, "[gateway]\nmax_conections = 5\n" + MEMORY), {})
    with pytest.raises(ConfigError, match=r":1: gatway: unknown key; did you mean 'gateway'\?"):
        load_settings(write(tmp_path, "gatway = 1\n" + MEMORY), {})
    # A misspelt table is named on the line of its header, dotted or not.
    with pytest.raises(ConfigError, match=r":8: sorces: unknown key; did you mean 'sources'\?"):
        load_settings(write(tmp_path, MEMORY + '\n[sorces.tax]\nkind = "memory"\n'), {})
    with pytest.raises(ConfigError) as far:
        load_settings(write(tmp_path, "[limits]\nzzz = 1\n" + MEMORY), {})
    assert "did you mean" not in str(far.value)
    assert "expected one of: aliases, batch" in str(far.value)


def test_every_mistake_is_reported_in_the_order_of_the_file(tmp_path: Path) -> None:
    text = (
        '[sources.a]\nkind = "memory"\nretries = -1\n[sources.a.entities.e]\nkey = "id"\n'
        '[audit]\nmode = "off"\n[gateway]\ngc_young = 5.5\ngraphiql = 1\n'
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, text), {})
    found = [line.split(": ", 1)[1] for line in str(caught.value).splitlines()]
    assert found == [
        "sources.a.retries: must be at least 0, got -1",
        "gateway.gc_young: must be int, got 5.5",
        "gateway.graphiql: must be true or false, got 1",
    ]


def test_unset_variables_are_reported_with_every_other_mistake(tmp_path: Path) -> None:
    """An unset variable does not hide the rest of the file; its stand-in's own checks say
    nothing (`rate` is not also "must be float")."""
    text = (
        '[gateway]\nmax_conections = 5\n[rate_limit]\nrate = "${NO_RATE}"\n'
        '[sources.a]\nkind = "memory"\nretries = -1\ndsn = "${NO_DSN}"\n[sources.a.entities.e]\nkey = "id"\n'
        '[audit]\nsubject_key = "${NO_KEY}"\ndsn = "${NO_DSN}"\n'
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, text), {})
    found = [line.split(": ", 1)[1] for line in str(caught.value).splitlines()]
    assert found == [
        "gateway.max_conections: unknown key; did you mean 'max_connections'? (expected one of:"
        f" {', '.join(sorted(f.name for f in dataclasses.fields(GatewaySettings)))})",
        "rate_limit.rate: environment variable NO_RATE is not set",
        "sources.a.retries: must be at least 0, got -1",
        "sources.a.dsn: environment variable NO_DSN is not set",
        "audit.subject_key: environment variable NO_KEY is not set",
        "audit.dsn: environment variable NO_DSN is not set",
    ]


def test_numbers_and_switches_are_not_guessed(tmp_path: Path) -> None:
    """Text is read as a number or switch (what ${VAR} gives), but nothing else is coerced."""
    text = (
        '[gateway]\nbatching = "FALSE"\nmax_connections = " 7 "\n[limits]\ndepth = "${D}"\n'
        '[logging]\nlevel = "Warning"\n[tracing]\nsample_ratio = "0.5"\n' + MEMORY
    )
    chosen = load_settings(write(tmp_path, text), {"D": "3"})
    assert (chosen.gateway.batching, chosen.gateway.max_connections, chosen.limits.depth) == (False, 7, 3)
    assert (chosen.logging.level, chosen.tracing.sample_ratio) == ("WARNING", 0.5)
    for table, message in [
        ("[gateway]\nbatching = 0", r"gateway\.batching: must be true or false, got 0"),
        ('[gateway]\nbatching = "yes"', r"gateway\.batching: must be true or false, got 'yes'"),
        ("[limits]\ndepth = 2.0", r"limits\.depth: must be int, got 2\.0"),
        ("[limits]\ndepth = true", r"limits\.depth: must be int, got True"),
    ]:
        with pytest.raises(ConfigError, match=message):
            load_settings(write(tmp_path, f"{table}\n{MEMORY}"), {})


def test_audit_off_reads_none_of_its_other_keys(tmp_path: Path) -> None:
    text = '[sources.a]\nkind = "memory"\n[sources.a.entities.e]\nkey = "id"\n[audit]\nmode = "off"\n'
    off = load_settings(write(tmp_path, text + 'dsn = "postgresql://a@b/c"\nmax_batch = 0\n'), {})
    assert off.audit.mode == "off"
    assert off.audit.dsn is None
    assert off.audit.subject_key == ""
    with pytest.raises(ConfigError, match=r"audit\.dns: unknown key; did you mean 'dsn'\?"):
        load_settings(write(tmp_path, text + 'dns = "postgresql://a@b/c"\n'), {})


def test_one_section_readers(tmp_path: Path) -> None:
    """`govgraph token`, `audit` and `documents` read their section alone: a department's
    missing variable elsewhere in the file is not their concern."""
    text = (
        '[auth]\npolicy = "p.toml"\npublic_keys = { RS256 = "keys/rsa.pem" }\npolicy_poll = "${POLL:-0}"\n'
        '[documents]\npath = "${DOCS:-registered}"\n[sources.a]\nkind = "postgres"\ndsn = "${UNSET}"\n'
    )
    path = write(tmp_path, text)
    auth = load_auth(path, {"POLL": "0"})
    assert auth.policy == str(tmp_path / "p.toml")
    assert auth.policy_poll == 0.0
    assert auth.public_keys == (("RS256", str(tmp_path / "keys" / "rsa.pem")),)
    with pytest.raises(ConfigError, match=r"audit\.subject_key: is required"):
        load_audit(path, {})  # absent: the defaults, which need a key
    assert load_documents_path(path, {}) == str(tmp_path / "registered")
    assert load_documents_path(write(tmp_path, MEMORY), {}) is None
    with pytest.raises(ConfigError, match=r"govgraph\.toml: auth: the \[auth\] section"):
        load_auth(write(tmp_path, MEMORY), {})
    with pytest.raises(ConfigError, match=r":2: audit\.subject_key: must be at least 16 characters"):
        load_audit(write(tmp_path, '[audit]\nsubject_key = "short"\ndsn = "x"\n'), {})
    with pytest.raises(ConfigError, match=r":2: auth\.public_keys: must map RS256 or ES256"):
        load_auth(write(tmp_path, '[auth]\npublic_keys = { HS256 = "k.pem" }\npolicy = "p"\n'), {})


def test_parse_settings_raises_every_problem_as_a_source_config_error() -> None:
    raw = {"gateway": {"gc_young": -1, "ops_listen": "nowhere"}, "sources": {}, "audit": {"mode": "off"}}
    with pytest.raises(SourceConfigError) as caught:
        parse_settings(raw, {})
    assert isinstance(caught.value, Problems)
    assert caught.value.found == [
        ("gateway.gc_young", "must be at least 0, got -1"),
        ("gateway.ops_listen", "must be HOST:PORT, e.g. 127.0.0.1:9000, got 'nowhere'"),
        ("sources", "at least one source is required"),
    ]
    assert (caught.value.where, caught.value.problem) == caught.value.found[0]


def test_sections_are_checked_however_they_are_built() -> None:
    """The models check keyword construction too (tests and code build settings directly)."""
    with pytest.raises(ValueError, match="max_connections"):
        GatewaySettings(max_connections=0)
    with pytest.raises(ValueError, match="subject_key"):
        AuditSettings(mode="sync", dsn="postgresql://a@b/c")
    gateway = GatewaySettings(graphiql=False)
    assert replace(gateway, max_connections=7) == GatewaySettings(graphiql=False, max_connections=7)
    assert GatewaySettings().graphiql_presets is None


def test_an_adapters_own_mistake_names_the_line_too(tmp_path: Path) -> None:
    """A department's own keys are checked by its adapter when the app is built."""
    text = (
        '[sources.a]\nkind = "http"\nbase_url = "http://127.0.0.1:9"\ncolour = "red"\n'
        '[sources.a.entities.e]\nkey = "id"\npath = "/e:batchGet"\n[audit]\nmode = "off"\n'
    )
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        create_app(load_settings(path, {}))
    assert str(caught.value).startswith(f"{path}:4: sources.a.colour: unknown key")
