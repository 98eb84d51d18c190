"""A policy's purposes and clients: what each is, and how its table is read and checked
(each mistake naming its key; gateway/config/tomllines.py adds the file and line)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.config.tomllines import count, known, positive, strings, text

__all__ = [
    "MAX_LOOKUP_IDS",
    "MISS_BUDGET",
    "MISS_WINDOW",
    "VERDICT_VARIANTS",
    "VERDICT_WINDOW",
    "Client",
    "Purpose",
    "parse_client",
    "parse_purpose",
]

_CLIENT_ID = re.compile(r"[a-z][a-z0-9-]{0,62}")
_DISTRICT = re.compile(r"\d{6}")
_SHA256 = re.compile(r"[0-9a-f]{64}")

# What a client gets unless its table says otherwise (docs/authorization.md).
MAX_LOOKUP_IDS = 10  # ids per request when the grant masks the identifier
MISS_BUDGET = 100  # look-ups that find nothing the client may see, per miss window
MISS_WINDOW = 86_400.0  # seconds
VERDICT_WINDOW = 86_400.0  # seconds over which distinct verdict arguments per subject are counted
VERDICT_VARIANTS = 1  # distinct argument sets per (subject, verdict) within the window


@dataclass(frozen=True)
class Purpose:
    name: str
    title: str
    legal_basis: str
    introspection: bool  # may read the schema (and use GraphiQL meaningfully)


@dataclass(frozen=True)
class Client:
    id: str
    name: str
    purposes: frozenset[str]
    jurisdiction: frozenset[str]  # district codes; empty means the whole city
    jwt_subject: str
    api_key_sha256: frozenset[str]
    persisted_only: bool = False  # only registered documents, sent by id
    rate: float | None = None  # requests per second; None: the gateway's default
    burst: int | None = None
    operations: frozenset[str] = frozenset()  # registered operations it may run; empty: any
    max_lookup_ids: int = MAX_LOOKUP_IDS
    miss_budget: int = MISS_BUDGET
    miss_window: float = MISS_WINDOW
    verdict_window: float = VERDICT_WINDOW
    verdict_variants: int = VERDICT_VARIANTS


def parse_purpose(name: str, table: Mapping[str, Any], fail: Any) -> Purpose:
    known(table, {"title", "legal_basis", "introspection"}, fail, "purposes", name)
    introspection = table.get("introspection", False)
    if not isinstance(introspection, bool):
        raise fail("must be true or false", "purposes", name, "introspection")
    return Purpose(
        name=name,
        title=text(table, "title", fail, "purposes", name, default=name),
        legal_basis=text(table, "legal_basis", fail, "purposes", name),
        introspection=introspection,
    )


# One check per key of a client table, each naming its key: read top to bottom, not split.
def parse_client(cid: str, table: Mapping[str, Any], purposes: Mapping[str, Purpose], fail: Any) -> Client:  # noqa: C901
    where = ("clients", cid)
    if not _CLIENT_ID.fullmatch(cid):
        raise fail("client ids are lower-case letters, digits and hyphens", *where)
    keys = {
        "name",
        "purposes",
        "jurisdiction",
        "jwt_subject",
        "api_key_sha256",
        "persisted_only",
        "rate",
        "burst",
        "operations",
        "max_lookup_ids",
        "miss_budget",
        "miss_window",
        "verdict_window",
        "verdict_variants",
    }
    known(table, keys, fail, *where)
    persisted_only = table.get("persisted_only", False)
    if not isinstance(persisted_only, bool):
        raise fail("must be true or false", *where, "persisted_only")
    rate = table.get("rate")
    if rate is not None and (isinstance(rate, bool) or not isinstance(rate, int | float) or rate <= 0):
        raise fail("must be a positive number of requests per second", *where, "rate")
    burst = table.get("burst")
    if burst is not None and (isinstance(burst, bool) or not isinstance(burst, int) or burst < 1):
        raise fail("must be a whole number of requests, at least 1", *where, "burst")
    allowed = strings(table, "purposes", fail, *where)
    if not allowed:
        raise fail("at least one purpose is required", *where, "purposes")
    for purpose in allowed:
        if purpose not in purposes:
            raise fail(f"unknown purpose {purpose!r}", *where, "purposes")
    districts = strings(table, "jurisdiction", fail, *where)
    for code in districts:
        if not _DISTRICT.fullmatch(code):
            raise fail(f"{code!r} is not a six-digit district code", *where, "jurisdiction")
    operations = strings(table, "operations", fail, *where)
    if persisted_only and not operations:
        raise fail("a persisted_only client must list the registered operations it runs", *where)
    counts = {
        key: count(table, key, default, fail, *where)
        for key, default in (
            ("max_lookup_ids", MAX_LOOKUP_IDS),
            ("miss_budget", MISS_BUDGET),
            ("verdict_variants", VERDICT_VARIANTS),
        )
    }
    windows = {
        key: positive(table, key, default, fail, *where)
        for key, default in (("miss_window", MISS_WINDOW), ("verdict_window", VERDICT_WINDOW))
    }
    hashes = strings(table, "api_key_sha256", fail, *where)
    for digest in hashes:
        if not _SHA256.fullmatch(digest):
            raise fail(
                "each entry must be 64 lower-case hex digits (SHA-256 of the key)", *where, "api_key_sha256"
            )
    return Client(
        id=cid,
        name=text(table, "name", fail, *where, default=cid),
        purposes=frozenset(allowed),
        jurisdiction=frozenset(districts),
        jwt_subject=text(table, "jwt_subject", fail, *where, default=cid),
        api_key_sha256=frozenset(hashes),
        persisted_only=persisted_only,
        rate=None if rate is None else float(rate),
        burst=burst,
        operations=frozenset(operations),
        max_lookup_ids=counts["max_lookup_ids"],
        miss_budget=counts["miss_budget"],
        verdict_variants=counts["verdict_variants"],
        miss_window=windows["miss_window"],
        verdict_window=windows["verdict_window"],
    )
