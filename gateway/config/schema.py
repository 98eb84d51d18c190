"""The JSON Schema of govgraph.toml, for editors (taplo, VS Code's Even Better TOML).

Generated from the models, then shaped for TOML editors: references inlined and
titles dropped (taplo ignores a description beside a `$ref`), `null` removed (TOML
has none), and every number, switch and choice also accepting a `${VAR}` string, as
the file may. Draft 7, the newest taplo validates fully.
"""

from __future__ import annotations

import functools
from typing import Any

from gateway.config.file import ConfigFile

__all__ = ["ENV_TEXT", "file_schema", "section_keys"]

DRAFT = "http://json-schema.org/draft-07/schema#"
ENV_TEXT = {
    "type": "string",
    "pattern": r"\$\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\}",
    "description": "${VAR} or ${VAR:-default}: replaced from the environment when the file is read.",
}
_META = ("description", "default")
_SCALARS = ("integer", "number", "boolean")


@functools.cache
def _generated() -> dict[str, Any]:
    return ConfigFile.model_json_schema(mode="validation")


def file_schema() -> dict[str, Any]:
    """The schema `govgraph config schema` prints."""
    generated = _generated()
    shaped = _shape(generated, generated.get("$defs", {}))
    return {
        "$schema": DRAFT,
        "title": "govgraph.toml",
        **{k: v for k, v in shaped.items() if k != "title"},
    }


def _shape(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_shape(n, defs) for n in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = defs[node["$ref"].rsplit("/", 1)[-1]]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("title", "$defs"):
            continue
        if key in ("properties", "patternProperties"):
            out[key] = {name: _shape(v, defs) for name, v in value.items()}
        elif key in ("additionalProperties", "items", "anyOf", "allOf", "oneOf", "not"):
            out[key] = _shape(value, defs)
        else:
            out[key] = value
    if "patternProperties" in out and "additionalProperties" not in out:
        # Tables named by pattern ([sources.NAME]): editors complete inside any name, and
        # flag a name the pattern refuses.
        ((pattern, table),) = out.pop("patternProperties").items()
        out["additionalProperties"], out["propertyNames"] = table, {"pattern": pattern}
    if "default" in out and out["default"] is None:
        del out["default"]  # TOML has no null: an optional key is simply left out
    if out.get("type") == "object" and out.get("default") == []:
        out["default"] = {}  # public_keys: pairs in code, a table in the file
    return _or_env(_without_null(out))


def _without_null(node: dict[str, Any]) -> dict[str, Any]:
    options = node.get("anyOf")
    if options is None:
        return node
    rest = [o for o in options if o != {"type": "null"}]
    node = {k: v for k, v in node.items() if k != "anyOf"}
    return {**rest[0], **node} if len(rest) == 1 else {**node, "anyOf": rest}


def _or_env(node: dict[str, Any]) -> dict[str, Any]:
    """A number, switch or choice may also be written as `${VAR}` text."""
    if node.get("type") not in _SCALARS and "enum" not in node:
        return node
    meta = {k: node[k] for k in _META if k in node}
    inner = {k: v for k, v in node.items() if k not in _META}
    return {**meta, "anyOf": [inner, ENV_TEXT]}


def section_keys() -> dict[str, set[str]]:
    """The keys each table accepts, by label: `""` for the sections, `gateway`, ...,
    `sources.NAME` and `sources.NAME.entities.ENTITY` (adapters add their own keys)."""
    root = file_schema()
    keys: dict[str, set[str]] = {"": set(root["properties"])}
    for name, section in root["properties"].items():
        if name != "sources":
            keys[name] = set(section.get("properties", {}))
    source = root["properties"]["sources"]["additionalProperties"]
    keys["sources.NAME"] = set(source["properties"])
    entity = source["properties"]["entities"]["additionalProperties"]
    keys["sources.NAME.entities.ENTITY"] = set(entity["properties"])
    return keys
