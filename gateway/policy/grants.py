"""What a grant in the policy file says: the scopes it gives, each `full` or `masked`,
the link scopes those open (`with_families`, as the links declare with `@openedBy`),
its pinned verdict arguments, and the basis it rests on (required for a scope holding a
conditional item of the catalogue; not-shared items are never granted)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

from gateway.config.tomllines import known, strings, text
from gateway.policy.pins import Pinnable, Pins, parse_pins
from gateway.policy.sharing import SharingRules

if TYPE_CHECKING:
    from gateway.policy.model import Client, Purpose

__all__ = ["FULL", "MASKED", "Grants", "parse_grants", "with_families"]

FULL = "full"
MASKED = "masked"


Grants = tuple[
    dict[tuple[str, str], Mapping[str, str]],  # (client, purpose) -> scope -> full | masked
    dict[tuple[str, str], Pins],
    dict[tuple[str, str], str],  # (client, purpose) -> basis, for grants that name one
]


def parse_grants(  # noqa: C901 - one check per rule of the file, each a line or two
    raw: Any,
    clients: Mapping[str, Client],
    purposes: Mapping[str, Purpose],
    scopes: Mapping[str, Collection[str]],
    pinnable: Mapping[str, Pinnable] | None,
    fail: Any,
    sharing: SharingRules | None = None,
) -> Grants:
    """Without `sharing` (a policy read without the catalogue), bases are not required."""
    if not isinstance(raw, list) or not all(isinstance(g, dict) for g in raw):
        raise fail("must be an array of tables ([[grants]])", "grants")
    grants: dict[tuple[str, str], Mapping[str, str]] = {}
    pins: dict[tuple[str, str], Pins] = {}
    bases: dict[tuple[str, str], str] = {}
    for index, grant in enumerate(raw):
        where = ("grants", index)
        known(grant, {"client", "purpose", "full", "masked", "pins", "basis"}, fail, *where)
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
                refused = None if sharing is None else sharing.refusal(scope)
                if refused is not None:
                    raise fail(f"{refused}: it cannot be granted", *where, level)
                if scope not in scopes:
                    raise fail(f"unknown scope {scope!r}", *where, level)
                if scope in levels:
                    raise fail(f"scope {scope!r} granted twice", *where, level)
                levels[scope] = level
        basis = grant.get("basis")
        if basis is not None:
            bases[client.id, purpose] = text(grant, "basis", fail, *where)
        conditional = sorted(set(levels) & (sharing.conditional if sharing else frozenset()))
        if conditional and basis is None:
            raise fail(
                f"grants conditional (有条件共享) scopes {', '.join(conditional)}: it needs a basis"
                " (the legal basis or approval reference it rests on)",
                *where,
            )
        grants[client.id, purpose] = with_families(levels, scopes)
        pins[client.id, purpose] = parse_pins(
            grant.get("pins", {}), levels, purposes[purpose].introspection, pinnable, fail, *where
        )
    return grants, pins, bases


def with_families(levels: Mapping[str, str], opens: Mapping[str, Collection[str]]) -> dict[str, str]:
    """`levels` plus the link scopes they open, in full: the root look-ups and links such as
    Person.socialInsurance, so that a verdict-only grant reaches its verdict. `opens` maps
    each scope to the link scopes a grant of it opens (the schema's declarations)."""
    expanded = dict(levels)
    for scope in levels:
        for opened in opens.get(scope, ()):
            expanded.setdefault(opened, FULL)
    return expanded
