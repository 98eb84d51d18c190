"""Reading hand-written TOML tables with the line of any mistake: where each key is, and
readers of typed values that say which key is wrong."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sources.options import unknown_key

__all__ = ["Lines", "count", "known", "positive", "strings", "tables", "text"]


class Lines:
    """Finds the line of a dotted key in TOML text, for error messages.

    tomllib keeps no positions; scanning headers and keys is enough for files written
    by hand, which is what a policy file is.
    """

    _HEADER = re.compile(r"\s*(\[\[?)\s*([^\]]+?)\s*\]\]?")
    _KEY = re.compile(r"\s*([A-Za-z0-9_\-\"']+)\s*=")

    def __init__(self, text: str) -> None:
        self._tables: list[tuple[tuple[str, ...], int]] = []  # (table path, header line)
        self._keys: dict[tuple[str, ...], int] = {}
        current: tuple[str, ...] = ()
        counts: dict[tuple[str, ...], int] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            if line.lstrip().startswith("#"):
                continue
            header = self._HEADER.match(line)
            if header:
                name = tuple(part.strip().strip("\"'") for part in header.group(2).split("."))
                if header.group(1) == "[[":
                    self._keys.setdefault(name, number)
                    index = counts.get(name, 0)
                    counts[name] = index + 1
                    name = (*name, str(index))
                current = name
                for end in range(1, len(current) + 1):  # `[sorces.tax]` is where `sorces` is
                    self._keys.setdefault(current[:end], number)
                continue
            key = self._KEY.match(line)
            if key:
                self._keys.setdefault((*current, key.group(1).strip("\"'")), number)

    def of(self, *path: str | int) -> int:
        parts = tuple(str(p) for p in path)
        while parts:
            if parts in self._keys:
                return self._keys[parts]
            parts = parts[:-1]
        return 0


# Readers of a table's values: each names the key in the error it raises through `fail`,
# a callable(problem, *where) -> Exception that adds the file and line.


def known(table: Mapping[str, Any], known: set[str], fail: Any, *where: str | int) -> None:
    for key in table:
        if key not in known:
            raise fail(unknown_key(key, known), *where, key)


def tables(raw: Mapping[str, Any], key: str, fail: Any) -> dict[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise fail("must be tables, one per entry", key)
    return value


def text(table: Mapping[str, Any], key: str, fail: Any, *where: str | int, default: str | None = None) -> str:
    value = table.get(key, default)
    if not isinstance(value, str) or not value.strip():
        raise fail("must be a non-empty string", *where, key)
    return value


def strings(table: Mapping[str, Any], key: str, fail: Any, *where: str | int) -> list[str]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise fail("must be a list of strings", *where, key)
    return value


def count(table: Mapping[str, Any], key: str, default: int, fail: Any, *where: str | int) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise fail("must be a whole number, at least 1", *where, key)
    return value


def positive(table: Mapping[str, Any], key: str, default: float, fail: Any, *where: str | int) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise fail("must be a positive number of seconds", *where, key)
    return float(value)
