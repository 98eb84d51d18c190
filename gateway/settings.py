"""The only reader of configuration files and the environment.

`govgraph.toml` becomes frozen dataclasses here; every mistake stops start-up with a
message naming the file, the source and the key.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sources.base import EntitySpec, SourceSpec
from sources.errors import SourceConfigError
from sources.options import Options

__all__ = ["ConfigError", "GatewaySettings", "Settings", "load_settings", "parse_settings"]

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_NAME = re.compile(r"[a-z][a-z0-9_]*")
_SOURCE_KEYS = {"kind", "max_batch_size", "timeout", "entities"}
_ENTITY_KEYS = {"key", "many"}


class ConfigError(Exception):
    """A configuration file is wrong; the message says which file and key."""


@dataclass(frozen=True)
class GatewaySettings:
    max_list_keys: int = 100  # keys accepted by persons(ids:) and enterprises(creditCodes:)
    graphiql: bool = True
    batching: bool = True  # off only to measure a naive resolver's backend calls


@dataclass(frozen=True)
class Settings:
    gateway: GatewaySettings
    sources: tuple[SourceSpec, ...]
    path: str = "<memory>"


def load_settings(path: str | Path, environ: Mapping[str, str] | None = None) -> Settings:
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    try:
        return parse_settings(raw, os.environ if environ is None else environ, str(path))
    except SourceConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def parse_settings(raw: Mapping[str, Any], environ: Mapping[str, str], path: str = "<memory>") -> Settings:
    """Turn a parsed TOML document into settings; raises SourceConfigError naming the key."""
    top = Options("", raw, {"gateway", "sources"})
    gw = Options("gateway", top.mapping("gateway"), {"max_list_keys", "graphiql"})
    gateway = GatewaySettings(
        max_list_keys=gw.integer("max_list_keys", 100), graphiql=gw.flag("graphiql", True)
    )
    sources_table = top.mapping("sources")
    if not sources_table:
        raise SourceConfigError("sources", "at least one source is required")
    specs = tuple(
        _source(name, _expand(table, environ, f"sources.{name}"), name)
        for name, table in sources_table.items()
    )
    return Settings(gateway=gateway, sources=specs, path=path)


def _source(name: str, table: Any, where_name: str) -> SourceSpec:
    where = f"sources.{where_name}"
    if not _NAME.fullmatch(name):
        raise SourceConfigError(where, "source names are lower-case letters, digits and underscores")
    if not isinstance(table, dict):
        raise SourceConfigError(where, "must be a table")
    common = Options(where, {k: v for k, v in table.items() if k in _SOURCE_KEYS}, _SOURCE_KEYS)
    entities_table = common.mapping("entities")
    if not entities_table:
        raise SourceConfigError(f"{where}.entities", "at least one entity is required")
    entities = {e: _entity(f"{where}.entities.{e}", e, t) for e, t in entities_table.items()}
    return SourceSpec(
        name=name,
        kind=common.text("kind"),
        entities=entities,
        options={k: v for k, v in table.items() if k not in _SOURCE_KEYS},
        max_batch_size=common.integer("max_batch_size", 500),
        timeout=common.number("timeout", 5.0),
    )


def _entity(where: str, name: str, table: Any) -> EntitySpec:
    if not _NAME.fullmatch(name):
        raise SourceConfigError(where, "entity names are lower-case letters, digits and underscores")
    if not isinstance(table, dict):
        raise SourceConfigError(where, "must be a table")
    common = Options(where, {k: v for k, v in table.items() if k in _ENTITY_KEYS}, _ENTITY_KEYS)
    return EntitySpec(
        name=name,
        key=common.text("key"),
        many=common.flag("many", False),
        options={k: v for k, v in table.items() if k not in _ENTITY_KEYS},
    )


def _expand(value: Any, environ: Mapping[str, str], where: str) -> Any:
    """Substitute ${VAR} and ${VAR:-default} in every string under `value`."""
    if isinstance(value, str):

        def sub(m: re.Match[str]) -> str:
            var, default = m.group(1), m.group(2)
            if var in environ:
                return environ[var]
            if default is not None:
                return default
            raise SourceConfigError(where, f"environment variable {var} is not set")

        return _ENV.sub(sub, value)
    if isinstance(value, dict):
        return {k: _expand(v, environ, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, environ, f"{where}[{i}]") for i, v in enumerate(value)]
    return value
