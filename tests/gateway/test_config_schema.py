"""`govgraph config schema`: the JSON Schema editors use for govgraph.toml. It must accept
the shipped file as written (`${VAR}` strings included), refuse what start-up refuses,
and agree with the models on every default."""

from __future__ import annotations

import argparse
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator

from gateway.cli import config as command
from gateway.config.schema import file_schema, section_keys
from gateway.config.settings import (
    GatewaySettings,
    HealthSettings,
    LogSettings,
    MetricsSettings,
    RateSettings,
    TracingSettings,
)

from .test_settings import SHIPPED


def violations(value: Any, schema: dict[str, Any]) -> list[str]:
    """What `value` breaks in `schema`, by jsonschema's draft-7 validator (what editors run),
    as `path: message`."""
    Draft7Validator.check_schema(schema)
    return [
        f"{'.'.join(map(str, e.absolute_path))}: {e.message}"
        for e in Draft7Validator(schema).iter_errors(value)
    ]


def run(*argv: str) -> str:
    parser = argparse.ArgumentParser(prog="govgraph")
    command.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["config", "schema", *argv])
    assert args.func(args) == 0
    return Path(argv[-1]).read_text(encoding="utf-8") if argv else ""


def test_the_command_prints_the_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run()
    printed = json.loads(capsys.readouterr().out)
    assert printed == file_schema()
    assert printed["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert json.loads(run("-o", str(tmp_path / "govgraph.schema.json"))) == printed
    parser = argparse.ArgumentParser(prog="govgraph")
    command.register(parser.add_subparsers(dest="command", required=True))
    with pytest.raises(SystemExit):
        parser.parse_args(["config"])  # a subcommand is required


def test_the_schema_accepts_the_shipped_file_as_written() -> None:
    raw = tomllib.loads(SHIPPED.read_text(encoding="utf-8"))
    assert violations(raw, file_schema()) == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('[gateway]\ngraphiql = "yes"\n', "gateway.graphiql: 'yes' is not valid under any"),
        ("[limits]\ndepht = 5\n", "limits: Additional properties are not allowed ('depht' was unexpected)"),
        ("[limits]\ndepth = 0\n", "limits.depth: 0 is not valid under any"),
        ('[logging]\nformat = "xml"\n', "logging.format: 'xml' is not valid under any"),
        ("[sources.Bad]\nkind = 'memory'\n", "sources: 'Bad' does not match"),
        ("[sources.a]\ntimeout = 1\n", "sources.a: 'kind' is a required property"),
        (
            '[auth]\npolicy = "p"\npublic_keys = { HS256 = "k" }\n',
            "auth.public_keys: Additional properties are not allowed ('HS256'",
        ),
        ('[tracing]\nsample_ratio = "${RATIO:-0.5}"\n', None),
        ('[sources.a]\nkind = "x"\ndsn = "adapter keys are free"\n[sources.a.entities.e]\nkey = "k"\n', None),
    ],
)
def test_the_schema_refuses_what_start_up_refuses(text: str, problem: str | None) -> None:
    raw = tomllib.loads(text)
    raw.setdefault("sources", {"a": {"kind": "memory", "entities": {"e": {"key": "id"}}}})
    found = violations(raw, file_schema())
    if problem is None:
        assert found == []
    else:
        assert any(problem in f for f in found), found


def test_no_draft_2019_keywords_and_no_null() -> None:
    """taplo validates draft 7: references are inlined and TOML has no null."""
    text = json.dumps(file_schema())
    for keyword in ('"$ref"', '"$defs"', '"prefixItems"', '"null"', '"title": "Gateway'):
        assert keyword not in text


@pytest.mark.parametrize(
    "section", [GatewaySettings, RateSettings, MetricsSettings, HealthSettings, LogSettings, TracingSettings]
)
def test_the_schema_shows_the_models_defaults(section: type[Any]) -> None:
    name = {RateSettings: "rate_limit", LogSettings: "logging"}.get(section, section.__name__[:-8].lower())
    properties = file_schema()["properties"][name]["properties"]
    made = section()
    for key, prop in properties.items():
        if "default" in prop:
            value = getattr(made, key)
            expected = list(value) if isinstance(value, tuple) else value  # a TOML array
            assert prop["default"] == expected, f"{name}.{key}"
        assert prop.get("description"), f"{name}.{key} has no description"


def test_section_keys_are_the_models() -> None:
    keys = section_keys()
    assert keys[""] >= {"gateway", "sources", "auth", "audit", "limits"}
    assert "graphiql_presets" in keys["gateway"]
    assert "policy_poll" in keys["auth"]
    assert keys["sources.NAME"] >= {"kind", "entities", "timeout", "retries"}
    assert keys["sources.NAME.entities.ENTITY"] == {"key", "many", "cache", "cache_ttl"}
