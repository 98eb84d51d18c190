"""Jinja2 for the console's templates (gateway/console/templates): autoescaped, strict about
undefined names (a typo fails the page in the tests, not silently on a user), times shown in
the city's time zone."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from jinja2 import Environment, FileSystemLoader, StrictUndefined

__all__ = ["Renderer"]

TEMPLATES = Path(__file__).parent / "templates"


class Renderer:
    def __init__(self, timezone: str) -> None:
        self._zone = ZoneInfo(timezone)
        self._env = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._env.filters["when"] = self.when
        self._env.filters["day"] = self.day
        self._env.filters["json"] = _json
        self._env.filters["arguments"] = _arguments
        self._env.globals["m"] = self._env.get_template("macros.html").module

    def when(self, value: dt.datetime | None) -> str:
        return "" if value is None else value.astimezone(self._zone).strftime("%Y-%m-%d %H:%M")

    def day(self, value: dt.datetime | None) -> str:
        return "" if value is None else value.astimezone(self._zone).strftime("%Y-%m-%d")

    def render(self, template: str, values: dict[str, Any]) -> str:
        return self._env.get_template(template).render(values)


def _arguments(values: dict[str, object]) -> str:
    """A verdict's arguments as GraphQL writes them: `months: 24, within: 36`."""
    return ", ".join(f"{name}: {_json(value)}" for name, value in sorted(values.items()))


def _json(value: object) -> str:
    """Verdict arguments and values as compact JSON (escaped by the template as text)."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
