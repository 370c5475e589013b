"""The USM crypto core (netmon/collectors/usm.py) against published vectors and against pysnmp.

Known answers pin the algorithms to their specifications: RFC 3414 A.3 (password to key and
localisation for "maplesyrup"), RFC 2202 (HMAC-MD5 and HMAC-SHA-1 with USM-sized keys, cut to
96 bits) and FIPS 81 (single DES, which the module builds from cryptography's decrepit
TripleDES). RFC 7860 and RFC 3826 publish no test vectors; SHA-2 and AES rest on the round trips.

The round trips check every auth and every privacy protocol, both AES-192/256 key extensions
included, against pysnmp 7's own services in both directions: same keys, same MACs, each side's
ciphertext decrypted by the other. pysnmp is the oracle because it is independent code that
interoperates with net-snmp and Cisco agents in the field.
"""

from __future__ import annotations

import hashlib
import warnings
from functools import cache
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyasn1.type import univ
from pysnmp.hlapi.v3arch.asyncio import auth as names
from pysnmp.proto import error as pysnmp_error
from pysnmp.proto.secmod.rfc3414.service import SnmpUSMSecurityModel

from netmon.collectors import usm
from netmon.collectors.usm import UsmError

# pysnmp's own USM registry, looked up by the names a pysnmp user configures.
PYSNMP_AUTH_ID: dict[str, tuple[int, ...]] = {
    "md5": names.usmHMACMD5AuthProtocol,
    "sha": names.usmHMACSHAAuthProtocol,
    "sha224": names.usmHMAC128SHA224AuthProtocol,
    "sha256": names.usmHMAC192SHA256AuthProtocol,
    "sha384": names.usmHMAC256SHA384AuthProtocol,
    "sha512": names.usmHMAC384SHA512AuthProtocol,
}
PYSNMP_AUTH: dict[str, Any] = {
    auth: SnmpUSMSecurityModel.AUTH_SERVICES[oid] for auth, oid in PYSNMP_AUTH_ID.items()
}
_PRIV_ID: dict[str, tuple[int, ...]] = {
    "des": names.usmDESPrivProtocol,
    "aes": names.usmAesCfb128Protocol,
    "aes128": names.usmAesCfb128Protocol,
    "aes192": names.usmAesBlumenthalCfb192Protocol,  # net-snmp AES192
    "aes256": names.usmAesBlumenthalCfb256Protocol,  # net-snmp AES256
    "aes192c": names.usmAesCfb192Protocol,  # Reeder: Cisco, net-snmp AES192C
    "aes256c": names.usmAesCfb256Protocol,  # Reeder: Cisco, net-snmp AES256C
}
# A class, not the registry's instance: each encryption gets a fresh service whose salt
# counter the test sets, so one test cannot move another's salt.
PYSNMP_PRIV: dict[str, Any] = {
    priv: type(SnmpUSMSecurityModel.PRIV_SERVICES[oid]) for priv, oid in _PRIV_ID.items()
}
HASHLIB = {"md5": "md5", "sha": "sha1", **{a: a for a in ("sha224", "sha256", "sha384", "sha512")}}

AUTHS = st.sampled_from(usm.AUTH_PROTOCOLS)
PRIVS = st.sampled_from(usm.PRIV_PROTOCOLS)
# Ku costs 1 MiB of hashing on each side: a few passphrases, at the ring buffer's edges (pysnmp
# cycles a 64-byte window) and with bytes that are not text, cover the derivation; engine IDs
# (which cost one small hash) are random.
PASSPHRASES = (
    b"maplesyrup",
    b"x",
    b"\x00\xff" * 32,
    bytes(range(65)),
    "pässwörd-ünïcode".encode(),
)
ENGINE_IDS = st.binary(min_size=5, max_size=32)  # SnmpEngineID, RFC 3411
UINT31 = st.integers(0, 2**31 - 1)
ZERO_FREE = st.binary(max_size=200).map(lambda b: b.replace(b"\x00", b"\x01"))
FAST = settings(max_examples=50, deadline=None)  # deadline: the first Ku of a passphrase

RFC3414_ENGINE = bytes.fromhex("000000000000000000000002")


@cache
def pysnmp_ku(auth: str, passphrase: bytes) -> Any:
    return PYSNMP_AUTH[auth].hash_passphrase(passphrase)


def octets(value: Any) -> bytes:
    result: bytes = univ.OctetString(value).asOctets()
    return result


def assert_no_secret(exc: BaseException, *secrets: bytes) -> None:
    text = f"{exc} {exc!r} {exc.args!r}"
    for secret in secrets:
        assert secret.hex() not in text
        assert secret.hex().upper() not in text
        assert repr(secret) not in text
        assert secret.decode("latin-1") not in text


# --- known answers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("auth", "ku", "kul"),
    [
        # RFC 3414 A.3.1 (MD5) and A.3.2 (SHA)
        ("md5", "9faf3283884e92834ebc9847d8edd963", "526f5eed9fcce26f8964c2930787d82b"),
        (
            "sha",
            "9fb5cc0381497b3793528939ff788d5d79145211",
            "6695febc9288e36282235fc7151f128497b38f3f",
        ),
    ],
)
def test_rfc3414_password_to_key(auth: str, ku: str, kul: str) -> None:
    assert usm.passphrase_key(auth, b"maplesyrup").hex() == ku
    assert usm.localized_key(auth, b"maplesyrup", RFC3414_ENGINE).hex() == kul
    # DES and AES-128 take the first 16 bytes of the same localized key (RFC 3414 8.1.1.1,
    # RFC 3826 3.1.2.1).
    assert usm.priv_key(auth, "des", b"maplesyrup", RFC3414_ENGINE).hex() == kul[:32]
    assert usm.priv_key(auth, "aes", b"maplesyrup", RFC3414_ENGINE).hex() == kul[:32]


@pytest.mark.parametrize(
    ("auth", "key", "mac"),
    [
        # RFC 2202 test case 1: key 0x0b * L ("Hi There"), L the USM key length.
        ("md5", b"\x0b" * 16, "9294727a3638bb1c13f48ef8158bfc9d"),
        ("sha", b"\x0b" * 20, "b617318655057264e28bc0b6fb378c8ef146be00"),
    ],
)
def test_rfc2202_hmac_truncated_to_96_bits(auth: str, key: bytes, mac: str) -> None:
    assert usm.digest_length(auth) == 12
    assert usm.sign(auth, key, b"Hi There").hex() == mac[:24]
    assert usm.verify(auth, key, b"Hi There", bytes.fromhex(mac[:24]))


def test_digest_lengths_are_rfc7860s() -> None:
    lengths = {a: usm.digest_length(a) for a in usm.AUTH_PROTOCOLS}
    assert lengths == {
        "md5": 12,
        "sha": 12,
        "sha224": 16,
        "sha256": 24,
        "sha384": 32,
        "sha512": 48,
    }
    assert {a: PYSNMP_AUTH[a].digest_length for a in usm.AUTH_PROTOCOLS} == lengths
    assert {a: usm.auth_key_length(a) for a in usm.AUTH_PROTOCOLS} == {
        a: hashlib.new(HASHLIB[a]).digest_size for a in usm.AUTH_PROTOCOLS
    }


def test_des_is_single_des_fips81() -> None:
    """FIPS 81 appendix B (CBC, key 0123456789abcdef, IV 1234567890abcdef): the decrepit
    TripleDES with K1 = K2 = K3 is single DES, and it warns nothing (warnings are errors)."""
    plaintext = b"Now is the time for all "
    pre_iv = bytes.fromhex("1234567890abcdef")
    salt = 0x00000000  # with boots 0 the salt is all zeros, so IV = pre-IV
    key = bytes.fromhex("0123456789abcdef") + pre_iv
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ciphertext, params = usm.encrypt("des", key, 0, 0, salt, plaintext)
        assert usm.decrypt("des", key, 0, 0, params, ciphertext) == plaintext
    assert params == bytes(8)
    assert ciphertext.hex() == "e5c7cdde872bf27c43e934008c389c0f683788499a7c05f6"


def test_des_salt_is_boots_then_counter_and_pads_only_as_needed() -> None:
    key = bytes(range(16))
    ciphertext, params = usm.encrypt("des", key, 0x01020304, 7, 0xA0B0C0D0, b"123456789")
    assert params == bytes.fromhex("01020304a0b0c0d0")
    assert len(ciphertext) == 16
    assert usm.decrypt("des", key, 0x01020304, 7, params, ciphertext) == b"123456789" + bytes(7)
    ciphertext, _ = usm.encrypt("des", key, 1, 7, 1, b"12345678")
    assert len(ciphertext) == 8  # RFC 3414 8.1.1.2 pads "as necessary": not a whole block more


def test_aes_priv_params_are_the_64_bit_salt_and_no_padding() -> None:
    ciphertext, params = usm.encrypt("aes", bytes(16), 5, 6, 0x0102030405060708, b"abc")
    assert params == bytes.fromhex("0102030405060708")
    assert len(ciphertext) == 3  # CFB is a stream mode


# --- the two AES-192/256 key extensions -------------------------------------------------------


@pytest.mark.parametrize("auth", usm.AUTH_PROTOCOLS)
@pytest.mark.parametrize("bits", [192, 256])
def test_blumenthal_and_reeder_differ_only_in_the_extension(auth: str, bits: int) -> None:
    blumenthal = usm.priv_key(auth, f"aes{bits}", b"maplesyrup", RFC3414_ENGINE)
    reeder = usm.priv_key(auth, f"aes{bits}c", b"maplesyrup", RFC3414_ENGINE)
    kul = usm.localized_key(auth, b"maplesyrup", RFC3414_ENGINE)
    assert len(blumenthal) == len(reeder) == usm.priv_key_length(f"aes{bits}") == bits // 8
    if len(kul) >= bits // 8:  # long enough already: nothing to extend, the same key
        assert blumenthal == reeder == kul[: bits // 8]
    else:
        assert blumenthal[: len(kul)] == reeder[: len(kul)] == kul
        assert blumenthal != reeder
        assert (
            blumenthal[len(kul) :]
            == hashlib.new(HASHLIB[auth], kul).digest()[: bits // 8 - len(kul)]
        )


# --- round trips against pysnmp ---------------------------------------------------------------


@FAST
@given(auth=AUTHS, passphrase=st.binary(min_size=1, max_size=130), engine_id=ENGINE_IDS)
def test_keys_equal_pysnmps(auth: str, passphrase: bytes, engine_id: bytes) -> None:
    service = PYSNMP_AUTH[auth]
    ku = service.hash_passphrase(passphrase)
    assert usm.passphrase_key(auth, passphrase) == octets(ku)
    kul = service.localize_key(ku, univ.OctetString(engine_id))
    assert usm.localized_key(auth, passphrase, engine_id) == octets(kul)


@FAST
@given(auth=AUTHS, priv=PRIVS, passphrase=st.sampled_from(PASSPHRASES), engine_id=ENGINE_IDS)
def test_priv_keys_equal_pysnmps(auth: str, priv: str, passphrase: bytes, engine_id: bytes) -> None:
    theirs = PYSNMP_PRIV[priv]().localize_key(
        PYSNMP_AUTH_ID[auth], pysnmp_ku(auth, passphrase), univ.OctetString(engine_id)
    )
    assert usm.priv_key(auth, priv, passphrase, engine_id) == octets(theirs)


@FAST
@given(auth=AUTHS, data=st.data(), head=ZERO_FREE, tail=ZERO_FREE)
def test_macs_equal_pysnmps_both_ways(
    auth: str, data: st.DataObject, head: bytes, tail: bytes
) -> None:
    service = PYSNMP_AUTH[auth]
    length = usm.auth_key_length(auth)
    key = data.draw(st.binary(min_size=length, max_size=length))
    size = usm.digest_length(auth)
    # pysnmp finds the placeholder as the first run of zeros: the rest of the message has none.
    zeroed = head + bytes(size) + tail
    mac = usm.sign(auth, key, zeroed)
    signed = service.authenticate_outgoing_message(univ.OctetString(key), zeroed)
    assert signed == head + mac + tail
    assert usm.verify(auth, key, zeroed, signed[len(head) : len(head) + size])
    assert (
        service.authenticate_incoming_message(
            univ.OctetString(key), univ.OctetString(mac), head + mac + tail
        )
        == zeroed
    )


@FAST
@given(
    priv=PRIVS,
    data=st.data(),
    boots=UINT31,
    time=UINT31,
    salt=st.integers(0, 2**64 - 1),
    plaintext=st.binary(min_size=1, max_size=600),
)
def test_ciphers_round_trip_with_pysnmp(
    priv: str, data: st.DataObject, boots: int, time: int, salt: int, plaintext: bytes
) -> None:
    size = usm.priv_key_length(priv)
    key = data.draw(st.binary(min_size=size, max_size=size))
    is_des = priv == "des"
    salt = salt & 0xFFFFFFFF if is_des else salt  # DES: a 32-bit counter after the boots
    ours, our_params = usm.encrypt(priv, key, boots, time, salt, plaintext)

    service = PYSNMP_PRIV[priv]()
    service.local_int = salt  # pysnmp's salt counter, so both sides use the same salt
    theirs_os, their_params_os = service.encrypt_data(
        univ.OctetString(key), (boots, time, None), plaintext
    )
    theirs, their_params = octets(theirs_os), octets(their_params_os)
    assert our_params == their_params

    if is_des:
        # pysnmp pads 8 - len % 8 bytes, a whole block when none is needed; we pad only to a
        # multiple of 8. Receivers ignore what follows the scopedPDU, so both interoperate.
        our_pad = -len(plaintext) % 8
        assert len(ours) == len(plaintext) + our_pad
        assert theirs.startswith(ours)
        assert len(theirs) == len(plaintext) + 8 - len(plaintext) % 8
        expect_ours, expect_theirs = (
            plaintext + bytes(our_pad),
            plaintext + bytes(len(theirs) - len(plaintext)),
        )
    else:
        assert ours == theirs
        expect_ours = expect_theirs = plaintext

    # Theirs decrypted by us, ours decrypted by them.
    assert usm.decrypt(priv, key, boots, time, their_params, theirs) == expect_theirs
    decrypted = PYSNMP_PRIV[priv]().decrypt_data(
        univ.OctetString(key), (boots, time, univ.OctetString(our_params)), univ.OctetString(ours)
    )
    assert octets(decrypted) == expect_ours


@FAST
@given(
    auth=AUTHS,
    priv=PRIVS,
    passphrase=st.sampled_from(PASSPHRASES),
    engine_id=ENGINE_IDS,
    boots=UINT31,
    time=UINT31,
    plaintext=st.binary(min_size=1, max_size=300),
)
def test_derived_priv_keys_decrypt_with_pysnmp(
    auth: str,
    priv: str,
    passphrase: bytes,
    engine_id: bytes,
    boots: int,
    time: int,
    plaintext: bytes,
) -> None:
    """The whole chain: our key from the passphrase, our ciphertext, pysnmp's key and decryption."""
    key = usm.priv_key(auth, priv, passphrase, engine_id)
    ciphertext, params = usm.encrypt(priv, key, boots, time, 12345, plaintext)
    their_key = PYSNMP_PRIV[priv]().localize_key(
        PYSNMP_AUTH_ID[auth], pysnmp_ku(auth, passphrase), univ.OctetString(engine_id)
    )
    decrypted = PYSNMP_PRIV[priv]().decrypt_data(
        their_key, (boots, time, univ.OctetString(params)), univ.OctetString(ciphertext)
    )
    assert octets(decrypted)[: len(plaintext)] == plaintext


@pytest.mark.parametrize("auth", usm.AUTH_PROTOCOLS)
def test_every_auth_signs_as_pysnmp(auth: str) -> None:
    """Hypothesis samples the protocols; this pins each one deterministically as well."""
    key = usm.localized_key(auth, b"maplesyrup", RFC3414_ENGINE)
    their_key = PYSNMP_AUTH[auth].localize_key(
        pysnmp_ku(auth, b"maplesyrup"), univ.OctetString(RFC3414_ENGINE)
    )
    assert key == octets(their_key)
    zeroed = b"\x30\x2a" + bytes(usm.digest_length(auth)) + b"\x04\x03pdu"
    signed = PYSNMP_AUTH[auth].authenticate_outgoing_message(their_key, zeroed)
    assert signed == zeroed[:2] + usm.sign(auth, key, zeroed) + zeroed[-5:]


@pytest.mark.parametrize("auth", usm.AUTH_PROTOCOLS)
@pytest.mark.parametrize("priv", usm.PRIV_PROTOCOLS)
def test_every_auth_and_priv_pair_against_pysnmp(auth: str, priv: str) -> None:
    """Every pair deterministically: same key, and each side decrypts the other's PDU."""
    key = usm.priv_key(auth, priv, b"maplesyrup", RFC3414_ENGINE)
    their_key = PYSNMP_PRIV[priv]().localize_key(
        PYSNMP_AUTH_ID[auth], pysnmp_ku(auth, b"maplesyrup"), univ.OctetString(RFC3414_ENGINE)
    )
    assert key == octets(their_key)
    plaintext = b"\x30\x0b\x04\x00\x04\x00\xa0\x05\x02\x01\x01\x30\x00"  # 13: DES pads
    ciphertext, params = usm.encrypt(priv, key, 3, 1234, 99, plaintext)
    theirs = PYSNMP_PRIV[priv]().decrypt_data(
        their_key, (3, 1234, univ.OctetString(params)), univ.OctetString(ciphertext)
    )
    assert octets(theirs)[: len(plaintext)] == plaintext
    service = PYSNMP_PRIV[priv]()
    service.local_int = 99
    their_ciphertext, their_params = service.encrypt_data(their_key, (3, 1234, None), plaintext)
    assert octets(their_params) == params
    ours = usm.decrypt(priv, key, 3, 1234, octets(their_params), octets(their_ciphertext))
    assert ours[: len(plaintext)] == plaintext


# --- damage and bad input ---------------------------------------------------------------------


@FAST
@given(auth=AUTHS, message=st.binary(min_size=1, max_size=300), data=st.data())
def test_damaged_macs_fail(auth: str, message: bytes, data: st.DataObject) -> None:
    key = usm.localized_key(auth, b"maplesyrup", RFC3414_ENGINE)
    mac = usm.sign(auth, key, message)
    assert usm.verify(auth, key, message, mac)
    index = data.draw(st.integers(0, len(mac) - 1))
    bit = data.draw(st.integers(0, 7))
    damaged = bytearray(mac)
    damaged[index] ^= 1 << bit
    assert not usm.verify(auth, key, message, bytes(damaged))
    at = data.draw(st.integers(0, len(message) - 1))
    changed = bytearray(message)
    changed[at] ^= 1 << bit
    assert not usm.verify(auth, key, bytes(changed), mac)
    assert not usm.verify(auth, key, message, mac[:-1])
    assert not usm.verify(auth, key, message, mac + b"\x00")
    assert not usm.verify(auth, key, message, b"")
    other = usm.localized_key(auth, b"maplesyrup", RFC3414_ENGINE[:-1] + b"\x03")
    assert not usm.verify(auth, other, message, mac)


def test_pysnmp_rejects_a_mac_we_damaged() -> None:
    key = usm.localized_key("sha256", b"maplesyrup", RFC3414_ENGINE)
    zeroed = b"\x30\x10" + bytes(24) + b"\x04\x01x"
    mac = bytearray(usm.sign("sha256", key, zeroed))
    mac[0] ^= 0x80
    message = b"\x30\x10" + bytes(mac) + b"\x04\x01x"
    with pytest.raises(pysnmp_error.StatusInformation):
        PYSNMP_AUTH["sha256"].authenticate_incoming_message(
            univ.OctetString(key), univ.OctetString(bytes(mac)), message
        )


SECRET_KEY = bytes.fromhex("5ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2")


@pytest.mark.parametrize("priv", usm.PRIV_PROTOCOLS)
@pytest.mark.parametrize("size", [0, 1, 7, 9, 16])
def test_wrong_size_priv_params_raise_without_the_key(priv: str, size: int) -> None:
    key = SECRET_KEY[: usm.priv_key_length(priv)]
    with pytest.raises(
        UsmError, match=rf"msgPrivacyParameters must be 8 bytes, got {size}"
    ) as info:
        usm.decrypt(priv, key, 1, 2, b"\x11" * size, bytes(16))
    assert_no_secret(info.value, key)


@pytest.mark.parametrize("size", [0, 1, 7, 9, 15, 17])
def test_des_ciphertext_not_a_multiple_of_8_raises_without_the_key(size: int) -> None:
    key = SECRET_KEY[:16]
    with pytest.raises(UsmError, match=rf"multiple of 8 bytes, got {size}") as info:
        usm.decrypt("des", key, 1, 2, bytes(8), b"\x22" * size)
    assert_no_secret(info.value, key)


@pytest.mark.parametrize("priv", [p for p in usm.PRIV_PROTOCOLS if p != "des"])
def test_empty_aes_ciphertext_raises(priv: str) -> None:
    with pytest.raises(UsmError, match="encryptedPDU is empty"):
        usm.decrypt(priv, SECRET_KEY[: usm.priv_key_length(priv)], 1, 2, bytes(8), b"")


@pytest.mark.parametrize("priv", usm.PRIV_PROTOCOLS)
def test_wrong_size_priv_keys_raise_without_the_key(priv: str) -> None:
    key = SECRET_KEY[: usm.priv_key_length(priv) - 1]
    for call in (
        lambda: usm.encrypt(priv, key, 1, 2, 3, b"pdu"),
        lambda: usm.decrypt(priv, key, 1, 2, bytes(8), bytes(16)),
    ):
        with pytest.raises(UsmError, match=rf"{priv} privacy key must be") as info:
            call()
        assert_no_secret(info.value, key)


@pytest.mark.parametrize("auth", usm.AUTH_PROTOCOLS)
def test_wrong_size_auth_keys_raise_without_the_key(auth: str) -> None:
    key = SECRET_KEY[:5]
    with pytest.raises(UsmError, match=rf"{auth} auth key must be") as info:
        usm.sign(auth, key, b"message")
    assert_no_secret(info.value, key)
    with pytest.raises(UsmError):
        usm.verify(auth, key, b"message", bytes(usm.digest_length(auth)))


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: usm.encrypt("aes", bytes(16), -1, 0, 0, b"x"), "snmpEngineBoots"),
        (lambda: usm.encrypt("aes", bytes(16), 0, 2**31, 0, b"x"), "snmpEngineTime"),
        (lambda: usm.decrypt("des", bytes(16), 2**31, 0, bytes(8), bytes(8)), "snmpEngineBoots"),
        (lambda: usm.encrypt("aes", bytes(16), 0, 0, 2**64, b"x"), "AES salt counter"),
        (lambda: usm.encrypt("des", bytes(16), 0, 0, 2**32, b"x"), "DES salt counter"),
        (lambda: usm.encrypt("des", bytes(16), 0, 0, -1, b"x"), "DES salt counter"),
        (lambda: usm.encrypt("des", bytes(16), 0, 0, 0, b""), "plaintext"),
        (lambda: usm.sign("sha1", bytes(20), b"x"), "unknown auth protocol 'sha1'"),
        (lambda: usm.digest_length("none"), "unknown auth protocol"),
        (lambda: usm.priv_key("sha", "3des", b"maplesyrup", b"engine"), "unknown privacy"),
        (lambda: usm.encrypt("aes128c", bytes(16), 0, 0, 0, b"x"), "unknown privacy"),
    ],
)
def test_bad_arguments_raise_usm_error(call: Any, match: str) -> None:
    with pytest.raises(UsmError, match=match):
        call()


def test_empty_passphrase_or_engine_id_raise_without_the_other() -> None:
    with pytest.raises(UsmError, match="passphrase is empty") as info:
        usm.localized_key("sha", b"", b"\x80\x00\x1f\x88\x04secret-engine")
    assert "secret-engine" not in str(info.value)
    with pytest.raises(UsmError, match="engine ID is empty") as info:
        usm.priv_key("sha", "aes", b"hunter2hunter2", b"")
    assert_no_secret(info.value, b"hunter2hunter2")
    with pytest.raises(UsmError, match="passphrase is empty"):
        usm.passphrase_key("md5", b"")


def test_keys_are_cached_per_user_and_engine() -> None:
    usm.clear_key_cache()
    first = usm.localized_key("sha512", b"cached passphrase", b"engine-1")
    before = usm._localized_key.cache_info()
    assert usm.localized_key("sha512", b"cached passphrase", b"engine-1") is first
    assert usm._localized_key.cache_info().hits == before.hits + 1
    # Another engine for the same passphrase reuses Ku: only the cheap localisation runs.
    ku_misses = usm._passphrase_key.cache_info().misses
    usm.localized_key("sha512", b"cached passphrase", b"engine-2")
    assert usm._passphrase_key.cache_info().misses == ku_misses
    usm.clear_key_cache()
    assert usm._localized_key.cache_info().currsize == 0
