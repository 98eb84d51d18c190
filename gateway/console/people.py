"""People, as the console knows them: signed in with their identity provider's token (an
OIDC-style JWT for the console's audience whose `sub` is the person), their roles read
from the policy store. A login link carries a one-time ticket: the same kind of token with
a `jti`, accepted once across every process (the store remembers it)."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from dataclasses import dataclass

import jwt

from gateway.access.auth import Authenticator
from gateway.http.refusal import Refusal
from gateway.policystore.store import PolicyStore

__all__ = ["Person", "mint_person_token", "person_of", "redeem_ticket"]


@dataclass(frozen=True)
class Person:
    subject: str  # the identity provider's `sub`: for a resident, their resident id
    name: str


def person_of(authenticator: Authenticator, token: str, audience: str) -> tuple[Person, dict[str, object]]:
    """The person a console token names, and its claims (Refusal 401 when it is not valid)."""
    claims = authenticator.verify(token, audience)
    subject = str(claims.get("sub", "")).strip()
    if not subject or len(subject) > 64:
        raise Refusal(401, "UNAUTHENTICATED", "The token names no person.")
    return Person(subject, str(claims.get("name", "")) or subject), claims


async def redeem_ticket(store: PolicyStore, claims: dict[str, object]) -> bool:
    """Whether a login ticket is used for the first time (then it never is again)."""
    jti = str(claims.get("jti", ""))
    if not jti:
        return False
    async with store.reading("redeem a login ticket") as conn:  # one statement, no policy change
        redeemed = await conn.fetchval(
            "INSERT INTO used_ticket (jti, used_at) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING true",
            jti,
            dt.datetime.now(dt.UTC),
        )
    return bool(redeemed)


def mint_person_token(
    secret: str, subject: str, name: str, audience: str, ttl: int = 600, *, ticket: bool = False
) -> str:
    """A demo HS256 token for a person, as the platform's identity provider would issue; a
    ticket (for a login link) carries a `jti` and works once."""
    now = int(time.time())
    claims: dict[str, object] = {"sub": subject, "name": name, "aud": audience, "iat": now, "exp": now + ttl}
    if ticket:
        claims["jti"] = uuid.uuid4().hex
    return jwt.encode(claims, secret, algorithm="HS256")
