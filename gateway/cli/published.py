"""Keys the installed packages publish (the demo's, in its sample configuration and docs):
anyone could sign tokens or call with them, so `govgraph serve` refuses a configuration
that uses one unless `--allow-demo-keys` says otherwise, and `check-config` reports the
same refusal in the same words."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from gateway.config.settings import Settings
from gateway.policy.model import Policy

__all__ = ["ALLOW_FLAG", "in_use", "published_keys_in_use", "refusal"]

ALLOW_FLAG = "--allow-demo-keys"


def published_keys_in_use(
    settings: Settings, policy: Policy, published: Mapping[str, frozenset[str]]
) -> dict[str, list[str]]:
    """Publisher -> the places where the configuration uses a key that publisher made public."""

    def digest(secret: str) -> str:
        return hashlib.sha256(secret.encode()).hexdigest()

    found: dict[str, list[str]] = {}
    for publisher, hashes in published.items():
        places = []
        if settings.auth and settings.auth.hs256_secret and digest(settings.auth.hs256_secret) in hashes:
            places.append("auth.hs256_secret")
        if settings.audit.mode != "off" and digest(settings.audit.subject_key) in hashes:
            places.append("audit.subject_key")
        secret = settings.console.session_secret
        if settings.console.enabled and secret and digest(secret) in hashes:
            places.append("console.session_secret")
        places += [
            f"policy clients.{c.id}.api_key_sha256"
            for c in policy.clients.values()
            if hashes.intersection(c.api_key_sha256)
        ]
        if places:
            found[publisher] = places
    return found


def in_use(found: Mapping[str, list[str]]) -> str:
    return "; ".join(f"the {who}'s published keys are in use ({', '.join(p)})" for who, p in found.items())


def refusal(found: Mapping[str, list[str]]) -> str:
    """What serve says when it refuses them (after the configuration's path)."""
    return f"{in_use(found)}; set your own (or start with {ALLOW_FLAG}, never in production)"
