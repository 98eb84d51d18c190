"""The default demo city's rows, for tests of shares that a small city is too noisy for."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import pytest

from demo.synth import COLUMNS, CityConfig, Synth

# Tables the licence library and credit centre tests read (the city's others are large).
_KEPT = {"public_security": {"person"}, "market": {"enterprise"}, "tax": {"credit_rating", "arrears"}}


@dataclass
class DefaultCity:
    as_of: dt.date
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    cases: dict[str, list[str]] = field(default_factory=dict)

    def by(self, table: str, key: str) -> dict[Any, dict[str, Any]]:
        return {row[key]: row for row in self.tables[table]}

    def grouped(self, table: str, key: str) -> dict[Any, list[dict[str, Any]]]:
        groups: dict[Any, list[dict[str, Any]]] = defaultdict(list)
        for row in self.tables[table]:
            groups[row[key]].append(row)
        return dict(groups)


@pytest.fixture(scope="session")
def default_city() -> DefaultCity:
    """Rows by table, and the sample cases, of the city `govgraph demo` seeds by default."""
    cfg = CityConfig()
    city = DefaultCity(cfg.as_of)
    synth = Synth(cfg)
    for department, table, rows in synth.chunks():
        if department in ("licences", "credit") or table in _KEPT.get(department, ()):
            columns = COLUMNS[department][table]
            city.tables[table].extend(dict(zip(columns, row, strict=True)) for row in rows)
    city.cases = synth.samples()["cases"]
    return city
