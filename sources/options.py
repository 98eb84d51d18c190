"""Typed reads from a configuration table, with errors that name the exact key."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from .errors import SourceConfigError

__all__ = ["IDENTIFIER", "Options"]

T = TypeVar("T")
# SQL identifiers we accept from configuration: plain names, optionally schema-qualified.
IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?")


def unknown_key(key: str, known: Iterable[str]) -> str:
    """The problem with an unknown key, with the nearest known one when there is one: the
    wording of every configuration table, the gateway's and the adapters'."""
    names = sorted(known)
    guess = difflib.get_close_matches(key, names, n=1)
    hint = f"; did you mean {guess[0]!r}?" if guess else ""
    return f"unknown key{hint} (expected one of: {', '.join(names)})"


class Options:
    """A view of one TOML table. `where` is its dotted path, e.g. `sources.tax`."""

    def __init__(self, where: str, table: Mapping[str, Any], known: set[str]) -> None:
        self.where = where
        self._table = table
        unknown = sorted(set(table) - known)
        if unknown:
            raise SourceConfigError(self.at(unknown[0]), unknown_key(unknown[0], known))

    def at(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def _get(self, key: str, kind: type[T], default: T | None) -> T:
        if key not in self._table:
            if default is None:
                raise SourceConfigError(self.at(key), "is required")
            return default
        value = self._table[key]
        if kind in (int, float) and isinstance(value, str):
            # ${VAR} substitution yields text: accept a number written as text.
            try:
                value = kind(value)  # type: ignore[call-arg]
            except ValueError:
                raise SourceConfigError(self.at(key), f"must be {kind.__name__}, got {value!r}") from None
        # bool is an int subclass; a float option accepts ints.
        ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value, ok = float(value), True
        if not ok:
            raise SourceConfigError(self.at(key), f"must be {kind.__name__}, got {value!r}")
        return value  # type: ignore[no-any-return]

    def text(self, key: str, default: str | None = None) -> str:
        value = self._get(key, str, default)
        if not value:
            raise SourceConfigError(self.at(key), "must not be empty")
        return value

    def identifier(self, key: str, default: str | None = None) -> str:
        value = self.text(key, default)
        if not IDENTIFIER.fullmatch(value):
            raise SourceConfigError(self.at(key), f"{value!r} is not a plain SQL identifier")
        return value

    def integer(self, key: str, default: int | None = None, minimum: int = 1) -> int:
        value = self._get(key, int, default)
        if value < minimum:
            raise SourceConfigError(self.at(key), f"must be at least {minimum}, got {value}")
        return value

    def identifiers(self, key: str) -> list[str]:
        values = self._get(key, list, [])
        for i, v in enumerate(values):
            if not isinstance(v, str) or not IDENTIFIER.fullmatch(v):
                raise SourceConfigError(f"{self.at(key)}[{i}]", f"{v!r} is not a plain SQL identifier")
        return values
