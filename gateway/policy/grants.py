"""What a grant in the policy file says: the scopes it gives, each `full` or `masked`,
the link scopes those open (`with_families`, as the links declare with `@openedBy`),
and its pinned verdict arguments."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

from gateway.config.tomllines import known, strings, text
from gateway.policy.pins import Pinnable, Pins, parse_pins

if TYPE_CHECKING:
    from gateway.policy.model import Client, Purpose

__all__ = ["FULL", "MASKED", "parse_grants", "with_families"]

FULL = "full"
MASKED = "masked"


def parse_grants(
    raw: Any,
    clients: Mapping[str, Client],
    purposes: Mapping[str, Purpose],
    scopes: Mapping[str, Collection[str]],
    pinnable: Mapping[str, Pinnable] | None,
    fail: Any,
) -> tuple[dict[tuple[str, str], Mapping[str, str]], dict[tuple[str, str], Pins]]:
    if not isinstance(raw, list) or not all(isinstance(g, dict) for g in raw):
        raise fail("must be an array of tables ([[grants]])", "grants")
    grants: dict[tuple[str, str], Mapping[str, str]] = {}
    pins: dict[tuple[str, str], Pins] = {}
    for index, grant in enumerate(raw):
        where = ("grants", index)
        known(grant, {"client", "purpose", "full", "masked", "pins"}, fail, *where)
        client = clients.get(text(grant, "client", fail, *where))
        if client is None:
            raise fail(f"unknown client {grant['client']!r}", *where, "client")
        purpose = text(grant, "purpose", fail, *where)
        if purpose not in client.purposes:
            raise fail(f"client {client.id!r} is not allowed purpose {purpose!r}", *where, "purpose")
        if (client.id, purpose) in grants:
            raise fail(f"a second grant for ({client.id}, {purpose})", *where)
        levels: dict[str, str] = {}
        for level in (FULL, MASKED):
            for scope in strings(grant, level, fail, *where):
                if scope not in scopes:
                    raise fail(f"unknown scope {scope!r}", *where, level)
                if scope in levels:
                    raise fail(f"scope {scope!r} granted twice", *where, level)
                levels[scope] = level
        grants[client.id, purpose] = with_families(levels, scopes)
        pins[client.id, purpose] = parse_pins(
            grant.get("pins", {}), levels, purposes[purpose].introspection, pinnable, fail, *where
        )
    return grants, pins


def with_families(levels: Mapping[str, str], opens: Mapping[str, Collection[str]]) -> dict[str, str]:
    """`levels` plus the link scopes they open, in full: the root look-ups and links such as
    Person.socialInsurance, so that a verdict-only grant reaches its verdict. `opens` maps
    each scope to the link scopes a grant of it opens (the schema's declarations)."""
    expanded = dict(levels)
    for scope in levels:
        for opened in opens.get(scope, ()):
            expanded.setdefault(opened, FULL)
    return expanded
