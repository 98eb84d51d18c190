"""`govgraph config schema`: the JSON Schema editors use for govgraph.toml. It must accept
the shipped file as written (`${VAR}` strings included), refuse what start-up refuses,
and agree with the models on every default."""

from __future__ import annotations

import argparse
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

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

_TYPES: dict[str, Any] = {
    "object": dict,
    "string": str,
    "array": list,
    "boolean": bool,
    "integer": int,
    "number": (int, float),
}


def violations(value: Any, schema: dict[str, Any], at: str = "") -> list[str]:
    """What `value` breaks in `schema`: the draft-7 keywords the schema uses, no more."""
    if "anyOf" in schema:
        if all(violations(value, option, at) for option in schema["anyOf"]):
            return [f"{at}: {value!r} matches no alternative"]
        return []
    kind = schema.get("type")
    if kind and (not isinstance(value, _TYPES[kind]) or (kind != "boolean" and isinstance(value, bool))):
        return [f"{at}: {value!r} is not {kind}"]
    found: list[str] = []
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{at}: {value!r} not in {schema['enum']}")
    if "minimum" in schema and value < schema["minimum"]:
        found.append(f"{at}: {value!r} < {schema['minimum']}")
    if "maximum" in schema and value > schema["maximum"]:
        found.append(f"{at}: {value!r} > {schema['maximum']}")
    if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
        found.append(f"{at}: {value!r} <= {schema['exclusiveMinimum']}")
    if "minLength" in schema and len(value) < schema["minLength"]:
        found.append(f"{at}: {value!r} too short")
    if "pattern" in schema and not re.search(schema["pattern"], value):
        found.append(f"{at}: {value!r} does not match {schema['pattern']}")
    if "items" in schema:
        for i, item in enumerate(value):
            found += violations(item, schema["items"], f"{at}[{i}]")
    if kind == "object":
        found += [f"{at}.{key}: required" for key in schema.get("required", []) if key not in value]
        if len(value) < schema.get("minProperties", 0):
            found.append(f"{at}: fewer than {schema['minProperties']} entries")
        for key, item in value.items():
            name = schema.get("propertyNames", {}).get("pattern")
            if name and not re.search(name, key):
                found.append(f"{at}.{key}: name does not match {name}")
            if key in schema.get("properties", {}):
                found += violations(item, schema["properties"][key], f"{at}.{key}")
            elif schema.get("additionalProperties") is False:
                found.append(f"{at}.{key}: unknown key")
            elif isinstance(schema.get("additionalProperties"), dict):
                found += violations(item, schema["additionalProperties"], f"{at}.{key}")
    return found


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
        ('[gateway]\ngraphiql = "yes"\n', "gateway.graphiql: 'yes' matches no alternative"),
        ("[limits]\ndepht = 5\n", "limits.depht: unknown key"),
        ("[limits]\ndepth = 0\n", "limits.depth: 0 matches no alternative"),
        ('[logging]\nformat = "xml"\n', "logging.format: 'xml' matches no alternative"),
        ("[sources.Bad]\nkind = 'memory'\n", ".sources.Bad: name does not match"),
        ("[sources.a]\ntimeout = 1\n", ".sources.a.kind: required"),
        ('[auth]\npolicy = "p"\npublic_keys = { HS256 = "k" }\n', "auth.public_keys.HS256: unknown key"),
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
            assert prop["default"] == getattr(made, key), f"{name}.{key}"
        assert prop.get("description"), f"{name}.{key} has no description"


def test_section_keys_are_the_models() -> None:
    keys = section_keys()
    assert keys[""] >= {"gateway", "sources", "auth", "audit", "limits"}
    assert "graphiql_presets" in keys["gateway"] and "policy_poll" in keys["auth"]
    assert keys["sources.NAME"] >= {"kind", "entities", "timeout", "retries"}
    assert keys["sources.NAME.entities.ENTITY"] == {"key", "many", "cache", "cache_ttl"}
