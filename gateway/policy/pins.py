"""Pinned verdict arguments in the policy file: `[grants.pins]` fixes, per grant, the
arguments of the verdict and summary fields its scopes open (docs/authorization.md).
Enforcement is gateway/policy/verdicts.py; this module reads and checks what a grant says.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["REQUIRED", "Pinnable", "Pins", "parse_pins"]

REQUIRED = object()  # a Pinnable argument with no default: a pin must name its value


@dataclass(frozen=True)
class Pinnable:
    """A verdict or summary field, whose arguments a grant of its scope pins.

    `arguments` maps each GraphQL argument name to its default (REQUIRED when it has
    none); `normalize(name, value)` returns a policy or request value in one comparable
    form, raising ValueError for a value the argument does not accept."""

    scope: str
    arguments: Mapping[str, object]
    normalize: Callable[[str, object], object]


Pins = Mapping[str, Mapping[str, object]]  # field coordinate -> argument -> normalized value


# One check per way a pin can be wrong, each naming its key: read top to bottom, not split.
def parse_pins(  # noqa: C901
    raw: Any,
    levels: Mapping[str, str],
    exploring: bool,
    pinnable: Mapping[str, Pinnable] | None,
    fail: Any,
    *where: str | int,
) -> Pins:
    """A grant's pinned verdict arguments. Every pinnable field of a granted scope must be
    pinned, except for a purpose that explores the schema (the demo's development one)."""
    if not isinstance(raw, dict) or not all(isinstance(v, dict) for v in raw.values()):
        raise fail('must be a table of field = { argument = value } (e.g. "Type.field" = { n = 1 })', *where)
    at = (*where, "pins")
    if pinnable is None:  # no schema to check against: keep the values as written
        return {coordinate: dict(values) for coordinate, values in raw.items()}
    pins: dict[str, Mapping[str, object]] = {}
    for coordinate, values in raw.items():
        spec = pinnable.get(coordinate)
        if spec is None:
            known = ", ".join(sorted(pinnable))
            raise fail(f"{coordinate!r} is not a verdict or summary field (pinnable: {known})", *at)
        if spec.scope not in levels:
            raise fail(f"{coordinate!r} pins a field of {spec.scope!r}, which this grant lacks", *at)
        fixed: dict[str, object] = {}
        for name, default in spec.arguments.items():
            value = values.get(name, default)
            if value is REQUIRED:
                raise fail(f"{coordinate}: argument {name!r} has no default and must be pinned", *at)
            try:
                fixed[name] = spec.normalize(name, value)
            except ValueError as exc:
                raise fail(f"{coordinate}: argument {name!r}: {exc}", *at) from exc
        for name in values:
            if name not in spec.arguments:
                raise fail(f"{coordinate}: no argument {name!r} (has: {', '.join(spec.arguments)})", *at)
        pins[coordinate] = fixed
    if not exploring:
        for coordinate, spec in sorted(pinnable.items()):
            if spec.scope in levels and spec.arguments and coordinate not in pins:
                raise fail(
                    f"{spec.scope!r} is granted, so {coordinate} must be pinned"
                    f" (arguments: {', '.join(spec.arguments)})",
                    *where,
                )
    return pins
