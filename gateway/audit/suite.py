"""The audit log's cryptographic suite: the chain's hash, the subjects' HMAC and the
checkpoints' signatures, chosen together by one name.

- ``sha256-ed25519`` (the default): SHA-256, HMAC-SHA-256 (hashlib) and Ed25519
  (`cryptography`).
- ``sm3-sm2``: SM3 (GB/T 32905), HMAC-SM3 and SM2 signatures (GB/T 32918.2) with SM3
  and the default signer ID "1234567812345678" of GB/T 35276. SM3 and HMAC-SM3 come
  from hashlib's OpenSSL, or from `cryptography`'s where that OpenSSL lacks SM3.
  SM2 comes from `tongsuopy` (Tongsuo, OpenSSL's fork with the SM algorithms), which
  computes Z_A with that default ID; it is imported only when an SM2 key is used, and
  it is installed only where it ships a wheel (Linux x86_64, macOS, Windows x86_64).

Keys are PEM: unencrypted PKCS#8 for private keys, SubjectPublicKeyInfo for public
ones. An SM2 signature is the DER ``SEQUENCE {r, s}`` of GB/T 35276, an Ed25519 one
the 64 bytes of RFC 8032. A key's id names its suite and the start of the suite's
digest of its DER SubjectPublicKeyInfo, so it is stable wherever the key is loaded.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from types import ModuleType
from typing import Any, NamedTuple

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = [
    "DEFAULT_SUITE",
    "SM_SUITE",
    "SUITES",
    "Signer",
    "Suite",
    "Verifier",
    "get_suite",
    "verifier_for",
]

DEFAULT_SUITE = "sha256-ed25519"
SM_SUITE = "sm3-sm2"

_ED25519 = "Ed25519"
_SM2 = "SM2"


class Signer:
    """A loaded private key: signs with its suite's algorithm."""

    __slots__ = ("_sign", "key_id", "public_pem")

    def __init__(self, key_id: str, public_pem: bytes, sign: Callable[[bytes], bytes]) -> None:
        self.key_id = key_id
        self.public_pem = public_pem
        self._sign = sign

    def sign(self, data: bytes) -> bytes:
        return self._sign(data)

    def __repr__(self) -> str:
        return f"Signer({self.key_id!r})"  # never the key


class Verifier:
    """A loaded public key: says whether a signature over some data is its key's."""

    __slots__ = ("_verify", "key_id")

    def __init__(self, key_id: str, verify: Callable[[bytes, bytes], bool]) -> None:
        self.key_id = key_id
        self._verify = verify

    def verify(self, signature: bytes, data: bytes) -> bool:
        """True for a good signature, False for any other (never raises for a bad one)."""
        return self._verify(signature, data)

    def __repr__(self) -> str:
        return f"Verifier({self.key_id!r})"


class _Loaded(NamedTuple):
    """What a key scheme makes of a PEM: the operation and the key's public forms."""

    operation: Callable[..., Any]
    public_der: bytes
    public_pem: bytes


@dataclass(frozen=True)
class _Scheme:
    """One signature algorithm: its keys' name, and how to make and load them."""

    algorithm: str
    generate: Callable[[], bytes]
    load_private: Callable[[bytes], _Loaded]
    load_public: Callable[[bytes], _Loaded]


@dataclass(frozen=True)
class Suite:
    """A named hash, HMAC and signature algorithm; the audit log uses one at a time."""

    name: str
    _digest: Callable[[bytes], str] = field(repr=False, compare=False)
    _mac: Callable[[bytes, bytes], str] = field(repr=False, compare=False)
    _scheme: _Scheme = field(repr=False, compare=False)

    def digest(self, data: bytes) -> str:
        """The suite's hash of `data`, lower-case hex."""
        return self._digest(data)

    def mac(self, key: bytes, data: bytes) -> str:
        """The suite's HMAC of `data` under `key`, lower-case hex."""
        return self._mac(key, data)

    def generate_key(self) -> bytes:
        """A new private key, unencrypted PKCS#8 PEM."""
        return self._scheme.generate()

    def signer(self, private_pem: bytes) -> Signer:
        """The private key in `private_pem`, which must be of this suite's algorithm."""
        self._expect(_key_algorithm(private_pem, private=True))
        loaded = self._scheme.load_private(private_pem)
        return Signer(self._key_id(loaded.public_der), loaded.public_pem, loaded.operation)

    def verifier(self, public_pem: bytes) -> Verifier:
        """The public key in `public_pem`, which must be of this suite's algorithm."""
        self._expect(_key_algorithm(public_pem, private=False))
        loaded = self._scheme.load_public(public_pem)
        return Verifier(self._key_id(loaded.public_der), loaded.operation)

    def _expect(self, found: str) -> None:
        if found != self._scheme.algorithm:
            raise ValueError(
                f"the {self.name} audit suite uses {self._scheme.algorithm} keys, but this key is {found}"
            )

    def _key_id(self, public_der: bytes) -> str:
        return f"{self.name}:{self.digest(public_der)[:16]}"


# --- hashes and HMACs ---------------------------------------------------------------


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hmac_sha256_hex(key: bytes, data: bytes) -> str:
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def _sm3_functions() -> tuple[Callable[[bytes], str], Callable[[bytes, bytes], str]]:
    """SM3 and HMAC-SM3 from hashlib where its OpenSSL has SM3, else from `cryptography`."""
    try:
        template = hashlib.new("sm3")
    except ValueError:  # an OpenSSL built without SM3, or one in FIPS mode
        return _cryptography_sm3()

    def sm3_hex(data: bytes) -> str:
        # Copying a ready context skips OpenSSL's per-call algorithm fetch: a third
        # faster than hashlib.new("sm3", data) on a 600-byte event.
        h = template.copy()
        h.update(data)
        return h.hexdigest()

    def hmac_sm3_hex(key: bytes, data: bytes) -> str:
        return hmac.new(key, data, "sm3").hexdigest()

    return sm3_hex, hmac_sm3_hex


def _cryptography_sm3() -> tuple[Callable[[bytes], str], Callable[[bytes, bytes], str]]:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives import hmac as crypto_hmac

    def sm3_hex(data: bytes) -> str:
        h = hashes.Hash(hashes.SM3())
        h.update(data)
        return h.finalize().hex()

    def hmac_sm3_hex(key: bytes, data: bytes) -> str:
        h = crypto_hmac.HMAC(key, hashes.SM3())
        h.update(data)
        return h.finalize().hex()

    return sm3_hex, hmac_sm3_hex


# --- reading a PEM key's algorithm, without loading it --------------------------------

_PEM = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.DOTALL)
_ALGORITHMS = {
    "1.3.101.112": _ED25519,
    "1.3.101.113": "Ed448",
    "1.3.101.110": "X25519",
    "1.3.101.111": "X448",
    "1.2.840.113549.1.1.1": "RSA",
    "1.2.840.113549.1.1.10": "RSA-PSS",
    "1.2.840.10040.4.1": "DSA",
    "1.2.156.10197.1.301": _SM2,  # some tools name SM2 keys by the curve alone
}
_EC_PUBLIC_KEY = "1.2.840.10045.2.1"
_CURVES = {
    "1.2.156.10197.1.301": _SM2,
    "1.2.840.10045.3.1.7": "ECDSA P-256",
    "1.3.132.0.34": "ECDSA P-384",
    "1.3.132.0.35": "ECDSA P-521",
    "1.3.132.0.10": "ECDSA secp256k1",
}


def _key_algorithm(pem: bytes, *, private: bool) -> str:
    """The algorithm a PEM key names ("Ed25519", "SM2", "RSA", ...).

    Raises ValueError for anything but an unencrypted PKCS#8 private key (`private`)
    or a SubjectPublicKeyInfo public key, naming what was found instead."""
    wanted = "PRIVATE KEY" if private else "PUBLIC KEY"
    if not isinstance(pem, bytes):
        raise TypeError(f"a PEM key is bytes, not {type(pem).__name__}")
    match = _PEM.search(pem)
    if match is None:
        raise ValueError(f"expected a PEM '{wanted}', found no PEM block")
    label = match.group(1).decode()
    if label != wanted:
        hint = " (unencrypted PKCS#8: openssl pkcs8 -topk8 -nocrypt)" if private else ""
        raise ValueError(f"expected a PEM '{wanted}'{hint}, found a PEM '{label}'")
    try:
        der = base64.b64decode(b"".join(match.group(2).split()), validate=True)
        algorithm, parameter = _algorithm_identifier(der, private=private)
    except (binascii.Error, IndexError, ValueError) as exc:
        raise ValueError(f"the PEM '{label}' is not a well-formed key: {exc}") from None
    if algorithm == _EC_PUBLIC_KEY:
        curve = parameter or "explicit parameters"
        return _CURVES.get(curve, f"an EC key on curve {curve}")
    return _ALGORITHMS.get(algorithm, f"a key of algorithm {algorithm}")


def _algorithm_identifier(der: bytes, *, private: bool) -> tuple[str, str | None]:
    """(algorithm OID, its parameter's OID if it is one) of a PKCS#8 or SPKI DER."""
    tag, body, end = _tlv(der, 0)
    if tag != 0x30 or end != len(der):
        raise ValueError("not one DER SEQUENCE")
    at = 0
    if private:  # PrivateKeyInfo starts with its version
        tag, _, at = _tlv(body, 0)
        if tag != 0x02:
            raise ValueError("no version")
    tag, identifier, _ = _tlv(body, at)
    if tag != 0x30:
        raise ValueError("no AlgorithmIdentifier")
    tag, oid, after = _tlv(identifier, 0)
    if tag != 0x06:
        raise ValueError("no algorithm OID")
    parameter = None
    if after < len(identifier):
        tag, value, _ = _tlv(identifier, after)
        parameter = _oid(value) if tag == 0x06 else None
    return _oid(oid), parameter


def _tlv(der: bytes, at: int) -> tuple[int, bytes, int]:
    """(tag, value, offset after it) of the DER element at `at` (one-byte tags)."""
    tag, length = der[at], der[at + 1]
    at += 2
    if length & 0x80:
        count = length & 0x7F
        if not 0 < count <= 4:
            raise ValueError("unsupported DER length")
        length = int.from_bytes(der[at : at + count], "big")
        at += count
    if at + length > len(der):
        raise ValueError("truncated DER")
    return tag, der[at : at + length], at + length


def _oid(value: bytes) -> str:
    if not value:
        raise ValueError("empty OID")
    arcs: list[int] = []
    n = 0
    for byte in value:
        n = (n << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(n)
            n = 0
    first = min(arcs[0] // 40, 2)
    return ".".join(map(str, [first, arcs[0] - 40 * first, *arcs[1:]]))


# --- Ed25519 through cryptography -------------------------------------------------------


def _public_forms(key: Any) -> tuple[bytes, bytes]:
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der: bytes = key.public_bytes(serialization.Encoding.DER, spki)
    pem: bytes = key.public_bytes(serialization.Encoding.PEM, spki)
    return der, pem


def _ed25519_generate() -> bytes:
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _ed25519_private(pem: bytes) -> _Loaded:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"expected an Ed25519 private key, found {type(key).__name__}")
    return _Loaded(key.sign, *_public_forms(key.public_key()))


def _ed25519_public(pem: bytes) -> _Loaded:
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"expected an Ed25519 public key, found {type(key).__name__}")

    def verify(signature: bytes, data: bytes) -> bool:
        try:
            key.verify(signature, data)
        except InvalidSignature:
            return False
        return True

    return _Loaded(verify, *_public_forms(key))


# --- SM2 through tongsuopy, imported on first use ---------------------------------------


class _Tongsuo(NamedTuple):
    ec: ModuleType
    hashes: ModuleType
    serialization: ModuleType
    exceptions: ModuleType


@cache
def _tongsuo() -> _Tongsuo:
    try:
        from tongsuopy.crypto import exceptions, hashes
        from tongsuopy.crypto import serialization as ts_serialization
        from tongsuopy.crypto.asymciphers import ec
    except ImportError as exc:
        raise RuntimeError(
            f"the {SM_SUITE} audit suite signs with SM2 through tongsuopy, which is not installed "
            "(it ships wheels for Linux x86_64, macOS and Windows x86_64 only)"
        ) from exc
    return _Tongsuo(ec, hashes, ts_serialization, exceptions)


def _sm2_generate() -> bytes:
    ts = _tongsuo()
    pem: bytes = ts.ec.generate_private_key(ts.ec.SM2()).private_bytes(
        ts.serialization.Encoding.PEM,
        ts.serialization.PrivateFormat.PKCS8,
        ts.serialization.NoEncryption(),
    )
    return pem


def _sm2_public_forms(ts: _Tongsuo, key: Any) -> tuple[bytes, bytes]:
    spki = ts.serialization.PublicFormat.SubjectPublicKeyInfo
    der: bytes = key.public_bytes(ts.serialization.Encoding.DER, spki)
    pem: bytes = key.public_bytes(ts.serialization.Encoding.PEM, spki)
    return der, pem


def _sm2_load(ts: _Tongsuo, load: Callable[[], Any], kind: str) -> Any:
    try:
        key = load()
    except (ValueError, TypeError, ts.exceptions.UnsupportedAlgorithm, ts.exceptions.InternalError) as exc:
        raise ValueError(f"could not load the SM2 {kind} key: {exc}") from None
    if not isinstance(key.curve, ts.ec.SM2):
        raise ValueError(f"expected an SM2 {kind} key, found one on curve {key.curve.name}")
    return key


def _sm2_private(pem: bytes) -> _Loaded:
    ts = _tongsuo()
    key = _sm2_load(ts, lambda: ts.serialization.load_pem_private_key(pem, None), "private")
    # tongsuopy marks a loaded SM2 key as such, so this is SM2 with Z_A over the
    # default ID, not ECDSA on the SM2 curve (the tests check it against GB/T 32918).
    algorithm = ts.ec.ECDSA(ts.hashes.SM3())

    def sign(data: bytes) -> bytes:
        return bytes(key.sign(data, algorithm))

    return _Loaded(sign, *_sm2_public_forms(ts, key.public_key()))


def _sm2_public(pem: bytes) -> _Loaded:
    ts = _tongsuo()
    key = _sm2_load(ts, lambda: ts.serialization.load_pem_public_key(pem), "public")
    algorithm = ts.ec.ECDSA(ts.hashes.SM3())
    # A signature that is not DER at all comes back as InternalError, not InvalidSignature.
    refused = (ts.exceptions.InvalidSignature, ts.exceptions.InternalError)

    def verify(signature: bytes, data: bytes) -> bool:
        try:
            key.verify(signature, data, algorithm)
        except refused:
            return False
        return True

    return _Loaded(verify, *_sm2_public_forms(ts, key))


_sm3_hex, _hmac_sm3_hex = _sm3_functions()

SUITES: dict[str, Suite] = {
    DEFAULT_SUITE: Suite(
        DEFAULT_SUITE,
        _sha256_hex,
        _hmac_sha256_hex,
        _Scheme(_ED25519, _ed25519_generate, _ed25519_private, _ed25519_public),
    ),
    SM_SUITE: Suite(
        SM_SUITE,
        _sm3_hex,
        _hmac_sm3_hex,
        _Scheme(_SM2, _sm2_generate, _sm2_private, _sm2_public),
    ),
}


def get_suite(name: str) -> Suite:
    """The suite called `name`; ValueError naming the known ones for any other."""
    try:
        return SUITES[name]
    except KeyError:
        known = ", ".join(sorted(SUITES))
        raise ValueError(f"unknown audit suite {name!r}; known suites: {known}") from None


def verifier_for(public_pem: bytes) -> Verifier:
    """A Verifier for `public_pem` in the suite its algorithm belongs to."""
    found = _key_algorithm(public_pem, private=False)
    for suite in SUITES.values():
        if suite._scheme.algorithm == found:
            return suite.verifier(public_pem)
    known = ", ".join(f"{s._scheme.algorithm} ({s.name})" for s in SUITES.values())
    raise ValueError(f"no audit suite verifies {found}; the suites' keys are {known}")
