"""The audit log's cryptographic suites (gateway/audit/suite.py) against published vectors.

SHA-256: FIPS 180-4's examples; HMAC-SHA-256: RFC 4231; Ed25519: RFC 8032 section 7.1.
SM3: GB/T 32905-2016 Appendix A; HMAC-SM3: GM/T 0042-2015 Appendix D.3 (as OpenSSL's
and Intel's test data carry it) and an RFC 2104 construction written here. SM2: a small
pure-Python reference, checked against GB/T 32918.2-2016 Annex A (on the standard's
example curve, which no library exposes) and GM/T 0003.5-2012 Annex A (on the
recommended curve), then used to check the suite's signer and verifier both ways.
"""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
import textwrap
from dataclasses import dataclass

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from gateway.audit import suite as suite_module
from gateway.audit.suite import (
    DEFAULT_SUITE,
    SM_SUITE,
    SUITES,
    Suite,
    get_suite,
    verifier_for,
)

ED = SUITES[DEFAULT_SUITE]
SM = SUITES[SM_SUITE]
DEFAULT_ID = b"1234567812345678"  # GB/T 35276's default signer ID
# SM3 and HMAC-SM3 through `cryptography`, the suite's fallback where hashlib lacks SM3.
FALLBACK_SM3, FALLBACK_HMAC_SM3 = suite_module._cryptography_sm3()


def h(text: str) -> int:
    return int(text.replace(" ", ""), 16)


# --- SHA-256 and HMAC-SHA-256 ----------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (b"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (
            b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
        ),
        (b"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    ],
    ids=["abc", "448-bit", "empty"],
)
def test_sha256_fips_180_4(message: bytes, expected: str) -> None:
    assert ED.digest(message) == expected


@pytest.mark.parametrize(
    ("key", "data", "expected"),
    [
        (
            b"\x0b" * 20,
            b"Hi There",
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
        ),
        (
            b"Jefe",
            b"what do ya want for nothing?",
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        ),
        (
            b"\xaa" * 20,
            b"\xdd" * 50,
            "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
        ),
        (
            bytes(range(1, 26)),
            b"\xcd" * 50,
            "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
        ),
        (
            b"\xaa" * 131,
            b"Test Using Larger Than Block-Size Key - Hash Key First",
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
        ),
        (
            b"\xaa" * 131,
            b"This is a test using a larger than block-size key and a larger than block-size data."
            b" The key needs to be hashed before being used by the HMAC algorithm.",
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
        ),
    ],
    ids=["case-1", "case-2", "case-3", "case-4", "case-6", "case-7"],
)
def test_hmac_sha256_rfc_4231(key: bytes, data: bytes, expected: str) -> None:
    assert ED.mac(key, data) == expected


# --- Ed25519 -------------------------------------------------------------------------

RFC_8032 = [
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        b"",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
        "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        b"\x72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
        "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
]


def flip(data: bytes, index: int = 0) -> bytes:
    return data[:index] + bytes([data[index] ^ 1]) + data[index + 1 :]


@pytest.mark.parametrize(("secret", "public", "message", "signature"), RFC_8032, ids=["TEST-1", "TEST-2"])
def test_ed25519_rfc_8032(secret: str, public: str, message: bytes, signature: str) -> None:
    private_pem = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(secret)).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    signer = ED.signer(private_pem)
    assert spki_der(signer.public_pem)[-32:].hex() == public
    assert signer.sign(message).hex() == signature

    verifier = ED.verifier(signer.public_pem)
    expected = bytes.fromhex(signature)
    assert verifier.verify(expected, message)
    assert not verifier.verify(flip(expected, 40), message)
    assert not verifier.verify(expected, message + b"\x00")


# --- SM3 and HMAC-SM3 ------------------------------------------------------------------

GBT_32905 = [
    (b"abc", "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"),
    (b"abcd" * 16, "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"),
]
SM3_IMPLEMENTATIONS = pytest.mark.parametrize(
    "digest", [SM.digest, FALLBACK_SM3], ids=["suite", "cryptography-fallback"]
)


@SM3_IMPLEMENTATIONS
@pytest.mark.parametrize(("message", "expected"), GBT_32905, ids=["example-1", "example-2"])
def test_sm3_gbt_32905(digest: object, message: bytes, expected: str) -> None:
    assert callable(digest)
    assert digest(message) == expected


HMAC_SM3_IMPLEMENTATIONS = pytest.mark.parametrize(
    "mac", [SM.mac, FALLBACK_HMAC_SM3], ids=["suite", "cryptography-fallback"]
)


@HMAC_SM3_IMPLEMENTATIONS
@pytest.mark.parametrize(
    ("key", "data", "expected"),
    [
        (
            bytes(range(1, 33)),
            b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq" * 2,
            "ca05e144ed05d1857840d1f318a4a8669e559fc8391f414485bfdf7bb408963a",
        ),
        (
            bytes(range(1, 38)),
            b"\xcd" * 50,
            "220bf579ded555393f0159f66c99877822a3ecf610d1552154b41d44b94db3ae",
        ),
    ],
    ids=["D.3-1", "D.3-2"],
)
def test_hmac_sm3_gmt_0042(mac: object, key: bytes, data: bytes, expected: str) -> None:
    assert callable(mac)
    assert mac(key, data) == expected


def rfc_2104_hmac_sm3(key: bytes, data: bytes) -> bytes:
    """HMAC (RFC 2104) over SM3 (64-byte block), written out."""
    block = 64
    if len(key) > block:
        key = hashlib.new("sm3", key).digest()
    key = key.ljust(block, b"\x00")
    inner = hashlib.new("sm3", bytes(b ^ 0x36 for b in key) + data).digest()
    return hashlib.new("sm3", bytes(b ^ 0x5C for b in key) + inner).digest()


@HMAC_SM3_IMPLEMENTATIONS
@pytest.mark.parametrize("key", [b"k" * 16, b"k" * 64, bytes(range(100))], ids=["short", "block", "long"])
@pytest.mark.parametrize("message", [m for m, _ in GBT_32905], ids=["abc", "abcd*16"])
def test_hmac_sm3_is_rfc_2104_over_sm3(mac: object, key: bytes, message: bytes) -> None:
    assert callable(mac)
    assert mac(key, message) == rfc_2104_hmac_sm3(key, message).hex()


# --- SM2: a pure-Python reference --------------------------------------------------------

Point = tuple[int, int] | None  # None is the point at infinity


@dataclass(frozen=True)
class Curve:
    p: int
    a: int
    b: int
    gx: int
    gy: int
    n: int

    def on_curve(self, point: Point) -> bool:
        if point is None:
            return True
        x, y = point
        return (y * y - (x * x * x + self.a * x + self.b)) % self.p == 0

    def add(self, first: Point, second: Point) -> Point:
        if first is None:
            return second
        if second is None:
            return first
        (x1, y1), (x2, y2) = first, second
        if x1 == x2:
            if (y1 + y2) % self.p == 0:
                return None
            slope = (3 * x1 * x1 + self.a) * pow(2 * y1, -1, self.p)
        else:
            slope = (y2 - y1) * pow(x2 - x1, -1, self.p)
        x3 = (slope * slope - x1 - x2) % self.p
        return x3, (slope * (x1 - x3) - y1) % self.p

    def multiply(self, k: int, point: Point) -> Point:
        result: Point = None
        for bit in bin(k)[2:]:
            result = self.add(result, result)
            if bit == "1":
                result = self.add(result, point)
        return result

    def g(self) -> Point:
        return self.gx, self.gy


def sm3(data: bytes) -> bytes:
    return hashlib.new("sm3", data).digest()


def z_a(curve: Curve, ident: bytes, public: tuple[int, int]) -> bytes:
    """Z_A = SM3(ENTL_A || ID_A || a || b || x_G || y_G || x_A || y_A), GB/T 32918.2 5.5."""
    fields = (curve.a, curve.b, curve.gx, curve.gy, *public)
    return sm3((len(ident) * 8).to_bytes(2, "big") + ident + b"".join(v.to_bytes(32, "big") for v in fields))


def e_of(curve: Curve, ident: bytes, public: tuple[int, int], message: bytes) -> int:
    return int.from_bytes(sm3(z_a(curve, ident, public) + message), "big")


def public_of(curve: Curve, d: int) -> tuple[int, int]:
    point = curve.multiply(d, curve.g())
    assert point is not None
    return point


def ref_sign(curve: Curve, d: int, ident: bytes, message: bytes, k: int) -> tuple[int, int]:
    """GB/T 32918.2 6.1, with the given k (A3)."""
    e = e_of(curve, ident, public_of(curve, d), message)
    kg = curve.multiply(k, curve.g())
    assert kg is not None
    r = (e + kg[0]) % curve.n
    assert r != 0
    assert r + k != curve.n
    s = pow(1 + d, -1, curve.n) * (k - r * d) % curve.n
    assert s != 0
    return r, s


def ref_verify(curve: Curve, public: tuple[int, int], ident: bytes, message: bytes, r: int, s: int) -> bool:
    """GB/T 32918.2 7.1."""
    if not (1 <= r < curve.n and 1 <= s < curve.n):
        return False
    t = (r + s) % curve.n
    if t == 0:
        return False
    point = curve.add(curve.multiply(s, curve.g()), curve.multiply(t, public))
    return point is not None and (e_of(curve, ident, public, message) + point[0]) % curve.n == r


# GB/T 32918.2-2016 Annex A: the example curve over F_p (256 bits) and its signature.
EXAMPLE = Curve(
    p=h("8542D69E 4C044F18 E8B92435 BF6FF7DE 45728391 5C45517D 722EDB8B 08F1DFC3"),
    a=h("787968B4 FA32C3FD 2417842E 73BBFEFF 2F3C848B 6831D7E0 EC65228B 3937E498"),
    b=h("63E4C6D3 B23B0C84 9CF84241 484BFE48 F61D59A5 B16BA06E 6E12D1DA 27C5249A"),
    gx=h("421DEBD6 1B62EAB6 746434EB C3CC315E 32220B3B ADD50BDC 4C4E6C14 7FEDD43D"),
    gy=h("0680512B CBB42C07 D47349D2 153B70C4 E5D7FDFC BFA36EA1 A85841B9 E46E09A2"),
    n=h("8542D69E 4C044F18 E8B92435 BF6FF7DD 29772063 0485628D 5AE74EE7 C32E79B7"),
)
# GB/T 32918.5-2017: the recommended curve.
RECOMMENDED = Curve(
    p=h("FFFFFFFE FFFFFFFF FFFFFFFF FFFFFFFF FFFFFFFF 00000000 FFFFFFFF FFFFFFFF"),
    a=h("FFFFFFFE FFFFFFFF FFFFFFFF FFFFFFFF FFFFFFFF 00000000 FFFFFFFF FFFFFFFC"),
    b=h("28E9FA9E 9D9F5E34 4D5A9E4B CF6509A7 F39789F5 15AB8F92 DDBCBD41 4D940E93"),
    gx=h("32C4AE2C 1F198119 5F990446 6A39C994 8FE30BBF F2660BE1 715A4589 334C74C7"),
    gy=h("BC3736A2 F4F6779C 59BDCEE3 6B692153 D0A9877C C62A4740 02DF32E5 2139F0A0"),
    n=h("FFFFFFFE FFFFFFFF FFFFFFFF FFFFFFFF 7203DF6B 21C6052B 53BBF409 39D54123"),
)
# GM/T 0003.5-2012 Annex A's signature on the recommended curve, with the default ID
# (as OpenSSL's test/sm2_internal_test.c carries it).
GMT_D = h("3945208F 7B2144B1 3F36E38A C6D39F95 88939369 2860B51A 42FB81EF 4DF7C5B8")
GMT_K = h("59276E27 D506861A 16680F3A D9C02DCC EF3CC1FA 3CDBE4CE 6D54B80D EAC1BC21")
GMT_R = h("F5A03B06 48D2C463 0EEAC513 E1BB81A1 5944DA38 27D5B741 43AC7EAC EEE720B3")
GMT_S = h("B1B6AA29 DF212FD8 763182BC 0D421CA1 BB9038FD 1F7F42D4 840B69C4 85BBC1AA")


def test_sm2_reference_reproduces_gbt_32918_annex_a() -> None:
    ident, message = b"ALICE123@YAHOO.COM", b"message digest"
    d = h("128B2FA8 BD433C6C 068C8D80 3DFF7979 2A519A55 171B1B65 0C23661D 15897263")
    public = public_of(EXAMPLE, d)
    assert public == (
        h("0AE4C779 8AA0F119 471BEE11 825BE462 02BB79E2 A5844495 E97C04FF 4DF2548A"),
        h("7C0240F8 8F1CD4E1 6352A73C 17B7F16F 07353E53 A176D684 A9FE0C6B B798E857"),
    )
    assert z_a(EXAMPLE, ident, public).hex().upper() == (
        "F4A38489E32B45B6F876E3AC2168CA392362DC8F23459C1D1146FC3DBFB7BC9A"
    )
    assert e_of(EXAMPLE, ident, public, message) == h(
        "B524F552 CD82B8B0 28476E00 5C377FB1 9A87E6FC 682D48BB 5D42E3D9 B9EFFE76"
    )
    k = h("6CB28D99 385C175C 94F94E93 4817663F C176D925 DD72B727 260DBAAE 1FB2F96F")
    r, s = ref_sign(EXAMPLE, d, ident, message, k)
    assert r == h("40F1EC59 F793D9F4 9E09DCEF 49130D41 94F79FB1 EED2CAA5 5BACDB49 C4E755D1")
    assert s == h("6FC6DAC3 2C5D5CF1 0C77DFB2 0F7C2EB6 67A45787 2FB09EC5 6327A67E C7DEEBE7")
    assert ref_verify(EXAMPLE, public, ident, message, r, s)
    assert not ref_verify(EXAMPLE, public, ident, b"message digesT", r, s)
    assert not ref_verify(EXAMPLE, public, b"BOB", message, r, s)


def probably_prime(n: int) -> bool:
    return all(pow(witness, n - 1, n) == 1 for witness in (2, 3, 5, 7, 11, 13))


def test_recommended_curve_is_the_standards() -> None:
    c = RECOMMENDED
    # GB/T 32918.5: p = 2^256 - 2^224 - 2^96 + 2^64 - 1, a = p - 3, cofactor 1.
    assert c.p == 2**256 - 2**224 - 2**96 + 2**64 - 1
    assert c.a == c.p - 3
    assert probably_prime(c.p)
    assert probably_prime(c.n)
    assert c.on_curve(c.g())
    assert c.multiply(c.n, c.g()) is None
    assert c.multiply(c.n - 1, c.g()) == (c.gx, c.p - c.gy)
    # The library's SM2 keys are points of this curve.
    assert c.on_curve(sm2_point(SM.signer(SM.generate_key()).public_pem))


def test_sm2_reference_reproduces_gmt_0003_5_example() -> None:
    assert ref_sign(RECOMMENDED, GMT_D, DEFAULT_ID, b"message digest", GMT_K) == (GMT_R, GMT_S)


# --- SM2: the suite against the reference ----------------------------------------------

# DER prefixes of SM2 keys (id-ecPublicKey, curve 1.2.156.10197.1.301), as GB/T 35276 lays
# them out and OpenSSL-family libraries write them.
SM2_SPKI_PREFIX = bytes.fromhex("3059301306072a8648ce3d020106082a811ccf5501822d034200")
SM2_PKCS8_PREFIX = bytes.fromhex("308187020100301306072a8648ce3d020106082a811ccf5501822d046d306b0201010420")


def pem(label: str, der: bytes) -> bytes:
    body = base64.b64encode(der).decode()
    lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
    return f"-----BEGIN {label}-----\n{lines}\n-----END {label}-----\n".encode()


def spki_der(public_pem: bytes) -> bytes:
    lines = public_pem.decode().strip().splitlines()
    assert lines[0] == "-----BEGIN PUBLIC KEY-----"
    assert lines[-1] == "-----END PUBLIC KEY-----"
    return base64.b64decode("".join(lines[1:-1]))


def sm2_point(public_pem: bytes) -> tuple[int, int]:
    der = spki_der(public_pem)
    assert der[: len(SM2_SPKI_PREFIX)] == SM2_SPKI_PREFIX
    point = der[len(SM2_SPKI_PREFIX) :]
    assert len(point) == 65
    assert point[0] == 4  # uncompressed
    return int.from_bytes(point[1:33], "big"), int.from_bytes(point[33:], "big")


def point_bytes(point: tuple[int, int]) -> bytes:
    return b"\x04" + point[0].to_bytes(32, "big") + point[1].to_bytes(32, "big")


def sm2_public_pem(point: tuple[int, int]) -> bytes:
    return pem("PUBLIC KEY", SM2_SPKI_PREFIX + point_bytes(point))


def sm2_private_pem(d: int) -> bytes:
    public = point_bytes(public_of(RECOMMENDED, d))
    return pem("PRIVATE KEY", SM2_PKCS8_PREFIX + d.to_bytes(32, "big") + bytes.fromhex("a144034200") + public)


def test_suite_verifies_the_gmt_0003_5_example() -> None:
    verifier = SM.verifier(sm2_public_pem(public_of(RECOMMENDED, GMT_D)))
    signature = encode_dss_signature(GMT_R, GMT_S)
    assert verifier.verify(signature, b"message digest")
    assert not verifier.verify(signature, b"message digesT")
    assert not verifier.verify(encode_dss_signature(GMT_R, GMT_S ^ 1), b"message digest")


def test_suite_signer_loads_the_standards_key_and_signs_with_the_default_id() -> None:
    signer = SM.signer(sm2_private_pem(GMT_D))
    public = public_of(RECOMMENDED, GMT_D)
    assert signer.public_pem == sm2_public_pem(public)
    message = b"audit checkpoint 7"
    first, second = signer.sign(message), signer.sign(message)
    assert first != second  # a fresh k each time
    for signature in (first, second):
        r, s = decode_dss_signature(signature)
        assert ref_verify(RECOMMENDED, public, DEFAULT_ID, message, r, s)
        assert not ref_verify(RECOMMENDED, public, b"", message, r, s)  # Z_A covers the ID


def test_suite_signature_verifies_under_the_reference() -> None:
    signer = SM.signer(SM.generate_key())
    public = sm2_point(signer.public_pem)
    message = b'{"checkpoint": 42, "hash": "' + b"ab" * 32 + b'"}'
    r, s = decode_dss_signature(signer.sign(message))
    assert ref_verify(RECOMMENDED, public, DEFAULT_ID, message, r, s)
    assert not ref_verify(RECOMMENDED, public, DEFAULT_ID, message + b" ", r, s)
    assert not ref_verify(RECOMMENDED, public, DEFAULT_ID, message, r, s ^ 1)


def test_reference_signature_verifies_under_the_suite() -> None:
    message = b"audit checkpoint 8"
    k = h("0123456789ABCDEF FEDCBA9876543210 0F1E2D3C4B5A6978 8796A5B4C3D2E1F0")
    r, s = ref_sign(RECOMMENDED, GMT_D, DEFAULT_ID, message, k)
    verifier = SM.verifier(sm2_public_pem(public_of(RECOMMENDED, GMT_D)))
    signature = encode_dss_signature(r, s)
    assert verifier.verify(signature, message)
    assert not verifier.verify(signature, b"audit checkpoint 9")
    assert not verifier.verify(encode_dss_signature(r ^ 1, s), message)
    # A signature over the same message with another ID is refused too.
    other = encode_dss_signature(*ref_sign(RECOMMENDED, GMT_D, b"ALICE123@YAHOO.COM", message, k))
    assert not verifier.verify(other, message)


# --- both suites ---------------------------------------------------------------------

BOTH = pytest.mark.parametrize("suite", [ED, SM], ids=[DEFAULT_SUITE, SM_SUITE])


@BOTH
def test_round_trip(suite: Suite) -> None:
    private_pem = suite.generate_key()
    assert private_pem.startswith(b"-----BEGIN PRIVATE KEY-----\n")
    signer = suite.signer(private_pem)
    signature = signer.sign(b"event 1")
    for verifier in (suite.verifier(signer.public_pem), verifier_for(signer.public_pem)):
        assert verifier.key_id == signer.key_id
        assert verifier.verify(signature, b"event 1")
        assert not verifier.verify(signature, b"event 2")
        assert not verifier.verify(flip(signature, len(signature) - 1), b"event 1")


@BOTH
def test_key_id_names_the_suite_and_the_public_key(suite: Suite) -> None:
    private_pem = suite.generate_key()
    signer = suite.signer(private_pem)
    assert signer.key_id == f"{suite.name}:{suite.digest(spki_der(signer.public_pem))[:16]}"
    assert suite.signer(private_pem).key_id == signer.key_id
    # The same key in a differently wrapped PEM has the same id.
    rewrapped = signer.public_pem.replace(b"\n", b"\r\n")
    assert suite.verifier(rewrapped).key_id == signer.key_id
    assert suite.signer(suite.generate_key()).key_id != signer.key_id


def test_key_ids_differ_between_suites() -> None:
    ed_id = ED.signer(ED.generate_key()).key_id
    sm_id = SM.signer(SM.generate_key()).key_id
    assert ed_id.startswith("sha256-ed25519:")
    assert sm_id.startswith("sm3-sm2:")
    assert ed_id.split(":")[1] != sm_id.split(":")[1]


@pytest.mark.parametrize("suite", [ED, SM], ids=[DEFAULT_SUITE, SM_SUITE])
def test_verifier_for_picks_the_suite(suite: Suite) -> None:
    signer = suite.signer(suite.generate_key())
    verifier = verifier_for(signer.public_pem)
    assert verifier.key_id.startswith(f"{suite.name}:")
    assert verifier.verify(signer.sign(b"x"), b"x")


BAD_SIGNATURES = [
    b"",
    b"\x00",
    b"\x00" * 64,
    b"\xff" * 72,
    encode_dss_signature(0, 0),
    encode_dss_signature(RECOMMENDED.n, 1),
    encode_dss_signature(1, RECOMMENDED.n + 1),
    b"\x30\x80\x02\x01\x01\x02\x01\x01\x00\x00",  # BER, not DER
]


@BOTH
@pytest.mark.parametrize("bad", BAD_SIGNATURES)
def test_bad_signatures_are_refused_not_raised(suite: Suite, bad: bytes) -> None:
    signer = suite.signer(suite.generate_key())
    verifier = suite.verifier(signer.public_pem)
    assert verifier.verify(bad, b"x") is False
    assert verifier.verify(signer.sign(b"x") + b"\x00", b"x") is False
    assert verifier.verify(signer.sign(b"x"), b"x") is True  # and nothing is left behind


def other_keys() -> dict[str, tuple[bytes, bytes]]:
    """(private PKCS#8 PEM, public PEM) of keys neither suite uses."""
    keys: dict[str, tuple[bytes, bytes]] = {}
    for name, key in (
        ("RSA", rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        ("ECDSA P-256", ec.generate_private_key(ec.SECP256R1())),
    ):
        private = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        public = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        keys[name] = (private, public)
    return keys


OTHER_KEYS = other_keys()


@pytest.mark.parametrize(("suite", "other"), [(ED, SM), (SM, ED)], ids=[DEFAULT_SUITE, SM_SUITE])
def test_a_key_of_the_other_suite_is_refused(suite: Suite, other: Suite) -> None:
    expected = "Ed25519" if suite is ED else "SM2"
    found = "SM2" if suite is ED else "Ed25519"
    message = f"{suite.name} audit suite uses {expected} keys, but this key is {found}"
    private_pem = other.generate_key()
    with pytest.raises(ValueError, match=message):
        suite.signer(private_pem)
    with pytest.raises(ValueError, match=message):
        suite.verifier(other.signer(private_pem).public_pem)


@BOTH
@pytest.mark.parametrize("name", sorted(OTHER_KEYS))
def test_keys_of_other_algorithms_are_refused(suite: Suite, name: str) -> None:
    private_pem, public_pem = OTHER_KEYS[name]
    with pytest.raises(ValueError, match=f"uses .* keys, but this key is {name}"):
        suite.signer(private_pem)
    with pytest.raises(ValueError, match=f"uses .* keys, but this key is {name}"):
        suite.verifier(public_pem)
    with pytest.raises(ValueError, match=f"no audit suite verifies {name}"):
        verifier_for(public_pem)


@BOTH
@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"garbage", "found no PEM block"),
        (b"", "found no PEM block"),
        (b"-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n", "not a well-formed key"),
        (b"-----BEGIN PRIVATE KEY-----\nMAMCAQA=\n-----END PRIVATE KEY-----\n", "not a well-formed key"),
        (
            b"-----BEGIN EC PRIVATE KEY-----\nMAA=\n-----END EC PRIVATE KEY-----\n",
            r"expected a PEM 'PRIVATE KEY' .*found a PEM 'EC PRIVATE KEY'",
        ),
    ],
    ids=["garbage", "empty", "not-base64", "truncated", "sec1"],
)
def test_garbage_private_keys_are_refused(suite: Suite, text: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        suite.signer(text)


@BOTH
def test_the_wrong_kind_of_pem_is_refused(suite: Suite) -> None:
    private_pem = suite.generate_key()
    public_pem = suite.signer(private_pem).public_pem
    with pytest.raises(ValueError, match=r"expected a PEM 'PRIVATE KEY'.*found a PEM 'PUBLIC KEY'"):
        suite.signer(public_pem)
    with pytest.raises(ValueError, match="expected a PEM 'PUBLIC KEY', found a PEM 'PRIVATE KEY'"):
        suite.verifier(private_pem)
    with pytest.raises(ValueError, match="expected a PEM 'PUBLIC KEY', found a PEM 'PRIVATE KEY'"):
        verifier_for(private_pem)


def test_an_encrypted_private_key_is_refused() -> None:
    encrypted = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"passphrase"),
    )
    with pytest.raises(ValueError, match="found a PEM 'ENCRYPTED PRIVATE KEY'"):
        ED.signer(encrypted)


def test_get_suite() -> None:
    assert get_suite("sha256-ed25519") is ED
    assert get_suite("sm3-sm2") is SM
    assert get_suite(DEFAULT_SUITE).name == "sha256-ed25519"
    with pytest.raises(ValueError, match="unknown audit suite 'md5'; known suites: sha256-ed25519, sm3-sm2"):
        get_suite("md5")


def test_tongsuopy_is_imported_only_for_sm2() -> None:
    script = textwrap.dedent(
        """
        import sys
        from gateway.audit.suite import SUITES
        ed, sm = SUITES["sha256-ed25519"], SUITES["sm3-sm2"]
        ed.verifier(ed.signer(ed.generate_key()).public_pem)
        sm.digest(b"x"), sm.mac(b"k", b"x")
        print("tongsuopy" in sys.modules)
        sm.generate_key()
        print("tongsuopy" in sys.modules)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "True"]


def test_without_tongsuopy_the_sm_suite_hashes_and_says_what_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    suite_module._tongsuo.cache_clear()
    monkeypatch.setitem(sys.modules, "tongsuopy.crypto", None)  # makes the import fail
    try:
        assert SM.digest(b"abc") == GBT_32905[0][1]
        with pytest.raises(RuntimeError, match="SM2 through tongsuopy, which is not installed"):
            SM.generate_key()
    finally:
        suite_module._tongsuo.cache_clear()
