"""Credentials and purpose → Principal, before any GraphQL work is done.

Bearer JWTs (client-credentials style: `sub` is the client, `aud` this gateway, `exp`
required, optional `scope` listing the purposes the token may be used for), verified
with HS256 (demo) or RS256/ES256 public keys, `exp`, `nbf` and `iat` within `[auth]
leeway` seconds of this host's clock; or API keys, stored only as SHA-256
hashes in the policy. The purpose comes from `X-Purpose` and must be granted to the
client (and to the token); `X-Case-Id` and `X-Operator-Id` are recorded in the audit.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import jwt

from gateway.config.sections import AuthConfig
from gateway.http.refusal import Refusal
from gateway.policy.model import Client, Policy
from resolvers.context import Principal
from sources.errors import ConfigError

__all__ = ["AuthSettings", "Authenticator", "mint_token", "principal_for"]

VERIFIED_TOKENS = 4096  # tokens remembered as verified, least recently used dropped beyond
_HEADER_VALUE = re.compile(r"[\x21-\x7e][\x20-\x7e]{0,127}")  # printable ASCII, at most 128


def principal_for(
    policy: Policy, client: Client, purpose: str, case_id: str | None = None, operator_id: str | None = None
) -> Principal:
    """`client` acting for `purpose` (one it may declare) under `policy`."""
    return Principal(
        client_id=client.id,
        purpose=purpose,
        grants=policy.grant(client.id, purpose),
        jurisdiction=client.jurisdiction,
        may_introspect=policy.purposes[purpose].introspection,
        persisted_only=client.persisted_only,
        operations=client.operations,
        pins=None if policy.purposes[purpose].introspection else policy.pinned(client.id, purpose),
        max_lookup_ids=client.max_lookup_ids,
        miss_budget=client.miss_budget,
        miss_window=client.miss_window,
        verdict_window=client.verdict_window,
        verdict_variants=client.verdict_variants,
        case_id=case_id,
        operator_id=operator_id,
        basis=policy.basis(client.id, purpose),
    )


@dataclass(frozen=True)
class AuthSettings:
    audience: str = AuthConfig.audience
    issuer: str | None = None
    hs256_secret: str | None = None  # demo and tests; production uses public keys
    public_keys: tuple[tuple[str, str], ...] = ()  # (algorithm, PEM text)
    leeway: float = AuthConfig.leeway  # seconds of clock skew tolerated on exp, nbf and iat
    # Audiences of other endpoints (the console's): a token naming one is refused here, and
    # a console token naming `audience` there, so no token opens both.
    exclusive: tuple[str, ...] = ()

    @staticmethod
    def key_files(paths: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
        """The PEM text of each file; a ConfigError naming the one that cannot be read."""
        try:
            return tuple((alg, Path(p).read_text(encoding="ascii")) for alg, p in paths.items())
        except (OSError, UnicodeDecodeError) as exc:
            problem = f"{exc.filename} ({exc.strerror})" if isinstance(exc, OSError) else "(not PEM text)"
            raise ConfigError(f"auth.public_keys: cannot read {problem}") from exc


class Authenticator:
    """`policy` is read per request so a reloaded policy takes effect at once."""

    def __init__(self, settings: AuthSettings, policy: Callable[[], Policy]) -> None:
        self._settings = settings
        self._policy = policy
        self._keys: dict[str, list[str]] = {}
        self._verified: OrderedDict[tuple[str, str | None], dict[str, object]] = OrderedDict()
        for alg, pem in settings.public_keys:
            self._keys.setdefault(alg, []).append(pem)

    @property
    def policy(self) -> Policy:
        return self._policy()

    def authenticate(self, headers: Mapping[str, str]) -> Principal:
        policy = self._policy()
        client, token_purposes = self._client(headers, policy)
        purpose = headers.get("x-purpose", "").strip()
        if not purpose:
            raise Refusal(403, "PURPOSE_REQUIRED", "Declare the purpose of this request in X-Purpose.")
        if purpose not in client.purposes or (token_purposes is not None and purpose not in token_purposes):
            raise Refusal(403, "PURPOSE_NOT_ALLOWED", _not_allowed(purpose, client, token_purposes))
        return principal_for(
            policy, client, purpose, _optional(headers, "x-case-id"), _optional(headers, "x-operator-id")
        )

    def _client(self, headers: Mapping[str, str], policy: Policy) -> tuple[Client, frozenset[str] | None]:
        authorization = headers.get("authorization", "")
        api_key = headers.get("x-api-key")
        if authorization[:7].lower() == "bearer ":
            claims = self._verify(authorization[7:].strip())
            client = policy.client_by_subject(str(claims.get("sub", "")))
            if client is None:
                raise Refusal(401, "UNAUTHENTICATED", "The token's client is not known to this gateway.")
            scope = claims.get("scope")
            return client, None if scope is None else frozenset(str(scope).split())
        if api_key:
            found = policy.client_by_key_hash(hashlib.sha256(api_key.encode()).hexdigest())
            if found is None:
                raise Refusal(401, "UNAUTHENTICATED", "The API key is not known to this gateway.")
            return found, None
        if authorization:
            raise Refusal(401, "UNAUTHENTICATED", "Use 'Authorization: Bearer <token>' or 'X-API-Key'.")
        raise Refusal(401, "UNAUTHENTICATED", "Credentials are required: a bearer token or an API key.")

    def verify(self, token: str, audience: str) -> dict[str, object]:
        """A token's claims, checked as a client's are but for another audience: the console's
        sign-in tokens, whose `sub` is a person (Refusal 401 otherwise)."""
        return self._verify(token, audience)

    def _verify(self, token: str, audience: str | None = None) -> dict[str, object]:
        """A token verified before is not verified again while it is current: a client sends
        the same token for its whole lifetime, and its signature and claims cannot change."""
        key = (token, audience)
        claims = self._verified.get(key)
        if claims is not None and self._current(claims):
            self._verified.move_to_end(key)
            return claims
        claims = self._verify_signed(token, audience)
        self._verified[key] = claims
        if len(self._verified) > VERIFIED_TOKENS:
            self._verified.popitem(last=False)
        return claims

    def _current(self, claims: Mapping[str, object]) -> bool:
        """Within exp and nbf (with the leeway), as when it was verified; otherwise it is
        verified again, which refuses it with the reason."""
        now, leeway = time.time(), self._settings.leeway
        exp, nbf = claims.get("exp"), claims.get("nbf", 0)
        return (
            isinstance(exp, int | float)
            and now < exp + leeway
            and isinstance(nbf, int | float)
            and nbf <= now + leeway
        )

    def _verify_signed(self, token: str, audience: str | None = None) -> dict[str, object]:
        try:
            alg = jwt.get_unverified_header(token).get("alg")
            if alg == "HS256" and self._settings.hs256_secret:
                keys: list[str] = [self._settings.hs256_secret]
            else:
                keys = self._keys.get(str(alg), [])
            if not keys:
                raise Refusal(
                    401, "UNAUTHENTICATED", f"Tokens signed with {str(alg)[:10]!r} are not accepted."
                )
            problem: jwt.PyJWTError | None = None
            for key in keys:
                try:
                    expected = audience or self._settings.audience
                    claims: dict[str, object] = jwt.decode(
                        token,
                        key,
                        algorithms=[str(alg)],  # only the algorithm of this key: no confusion
                        audience=expected,
                        issuer=self._settings.issuer,
                        leeway=self._settings.leeway,
                        options={"require": ["exp", "sub", "aud"]},
                    )
                    named = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
                    exclusive = {*self._settings.exclusive, self._settings.audience} - {expected}
                    if exclusive.intersection(map(str, named)):
                        raise jwt.InvalidAudienceError("the token is also for another endpoint")
                    return claims
                except jwt.InvalidSignatureError as exc:
                    problem = exc
            raise problem or jwt.InvalidSignatureError()
        except jwt.ExpiredSignatureError as exc:
            raise Refusal(401, "UNAUTHENTICATED", "The token has expired.") from exc
        except jwt.ImmatureSignatureError as exc:  # nbf or iat ahead of this host's clock
            raise Refusal(401, "UNAUTHENTICATED", "The token is not valid yet.") from exc
        except jwt.InvalidAudienceError as exc:
            raise Refusal(401, "UNAUTHENTICATED", "The token is for another audience.") from exc
        except jwt.PyJWTError as exc:
            raise Refusal(
                401, "UNAUTHENTICATED", "The token is malformed or its signature is invalid."
            ) from exc


_LISTED = 6  # purposes named in a refusal; a client with more is told how many more


def _not_allowed(purpose: str, client: Client, token_purposes: frozenset[str] | None) -> str:
    """The refusal names what this caller may declare instead: its own client's purposes
    (those its token allows, when the token limits them), never another client's."""
    holder = "this client" if purpose not in client.purposes else "this token"
    valid = sorted(client.purposes if token_purposes is None else client.purposes & token_purposes)
    said = f"Purpose {purpose[:64]!r} is not granted to {holder}"
    if not valid and token_purposes is None:
        return f"{said}, which has no purposes."
    if not valid:
        return f"{said}; the token allows none of its client's purposes."
    more = f" and {len(valid) - _LISTED} more" if len(valid) > _LISTED else ""
    return f"{said}; use one of: {', '.join(valid[:_LISTED])}{more}."


def _optional(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None or value == "":
        return None
    if not _HEADER_VALUE.fullmatch(value):
        raise Refusal(400, "BAD_USER_INPUT", f"{name} must be printable ASCII, at most 128 characters.")
    return value


def mint_token(secret: str, client: Client, audience: str, ttl: int, purposes: list[str], now: int) -> str:
    """A demo HS256 token for `client`, allowed the given purposes."""
    claims = {
        "sub": client.jwt_subject,
        "aud": audience,
        "iat": now,
        "exp": now + ttl,
        "scope": " ".join(purposes),
    }
    return jwt.encode(claims, secret, algorithm="HS256")
