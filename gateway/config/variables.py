"""`${VAR}` and `${VAR:-default}` in govgraph.toml: the values the file's variables take.

From the environment, a variable that is not set and has no default is a mistake named
at its key; it stands in for a value of that key's type meanwhile, so that every other
mistake in the file is found in the same pass. `govgraph check-config --no-env` checks a
file where its secrets are not at hand: then every variable stands in (its default when
it has one, otherwise a value that passes the key's type checks), and what could not be
checked is said (`stood_in`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.config.schema import file_schema

__all__ = ["REFERENCE", "STAND_IN_MARK", "Reference", "Variables", "references", "stand_in"]

REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")  # ${VAR}, ${VAR:-default}
STAND_IN_MARK = "${"  # a text stand-in is the reference itself: a message quoting it says so
_PARTS = re.compile(r"\[\d+\]|[^.\[\]]+")
# A stand-in by key name where the type says only "text" (the adapters' own keys included).
_BY_NAME = {
    "dsn": "postgresql://stand-in@127.0.0.1:5432/stand_in",
    "store": "postgresql://stand-in@127.0.0.1:5432/stand_in",
    "redis_url": "redis://127.0.0.1:6379/0",
}


class Variables:
    def __init__(self, environ: Mapping[str, str], *, stand_in: bool = False) -> None:
        self.environ = environ
        self.stand_in = stand_in  # every variable, set or not, stands in (check-config --no-env)
        self.unset: dict[str, str] = {}  # key -> variable not set, without a default: mistakes
        self.stood_in: dict[str, str] = {}  # key -> variable without a default, not read
        self.defaulted: dict[str, str] = {}  # key -> variable read as its default, not read

    def value(self, var: str, default: str | None, where: str) -> str:
        """The text `${var}` (or `${var:-default}`) at the dotted key `where` stands for."""
        if self.stand_in:
            if default is None:
                self.stood_in[where] = var
                return stand_in(where, var)
            self.defaulted[where] = var
            return default
        if var in self.environ:
            return self.environ[var]
        if default is not None:
            return default
        self.unset[where] = var
        return stand_in(where, var)

    def take_unset(self) -> list[tuple[str, str]]:
        """The variables found unset since the last call, as (key, problem)."""
        found = [(where, f"environment variable {var} is not set") for where, var in self.unset.items()]
        self.unset.clear()
        return found


@dataclass(frozen=True)
class Reference:
    var: str
    where: str  # the dotted key
    has_default: bool


def references(value: Any, where: str = "") -> list[Reference]:
    """The `${VAR}`s of a parsed file (or of the table `value` at `where`), in file order."""
    if isinstance(value, str):
        return [Reference(m.group(1), where, m.group(2) is not None) for m in REFERENCE.finditer(value)]
    if isinstance(value, dict):
        return [r for k, v in value.items() for r in references(v, f"{where}.{k}" if where else k)]
    if isinstance(value, list):
        return [r for i, v in enumerate(value) for r in references(v, f"{where}[{i}]")]
    return []


def stand_in(where: str, var: str) -> str:
    """A value for `where` that passes its type checks: its default, the first of its
    choices, the least number it allows; for text, the reference itself."""
    node = _schema_at(where)
    default = node.get("default")
    if default not in (None, "") and not isinstance(default, dict | list):  # "": not set
        return str(default).lower() if isinstance(default, bool) else str(default)
    kinds = [node, *node.get("anyOf", [])]
    for kind in kinds:
        if "enum" in kind:
            return str(kind["enum"][0])
        if kind.get("type") == "boolean":
            return "false"
        if kind.get("type") in ("integer", "number"):
            return str(kind.get("minimum", 1))
    key = _PARTS.findall(where)[-1] if where else ""
    if key in _BY_NAME:
        return _BY_NAME[key]
    if key.endswith("_url"):
        return "http://127.0.0.1:9"
    return f"${{{var}}}".ljust(32, "_")  # long enough for any secret's minimum length


def _schema_at(where: str) -> dict[str, Any]:
    """The JSON Schema of the key at `where` (gateway/config/schema.py); {} when the file's
    schema does not describe it (an adapter's own keys)."""
    node: Any = _file_schema()
    for part in _PARTS.findall(where):
        if part.startswith("["):
            node = node.get("items", {})
            continue
        properties = node.get("properties", {})
        extra = node.get("additionalProperties")
        node = properties.get(part, extra if isinstance(extra, dict) else {})
        if not isinstance(node, dict):
            return {}
    return node if isinstance(node, dict) else {}


@functools.cache
def _file_schema() -> dict[str, Any]:
    return file_schema()
