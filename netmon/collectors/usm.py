"""SNMPv3 USM crypto core: key localisation, message authentication and privacy (issue 17).

Pure functions over bytes, no I/O and no state beyond the key caches: the wire path
(``snmpwire``) builds and parses the messages, this module only turns passphrases into keys,
signs and verifies whole messages and encrypts and decrypts scoped PDUs.

Authentication, by name (``digest_length`` is the MAC on the wire, the key is the hash size):

- ``md5``: HMAC-MD5-96 (RFC 3414 6), ``sha``: HMAC-SHA-96 (RFC 3414 7), both 12-byte MACs;
- ``sha224``, ``sha256``, ``sha384``, ``sha512``: HMAC-SHA-2 of RFC 7860 with 16, 24, 32 and
  48-byte MACs (usmHMAC128SHA224AuthProtocol ... usmHMAC384SHA512AuthProtocol).

Privacy, by name (the key is what ``priv_key`` returns, already cut to the cipher's size):

- ``des``: CBC-DES of RFC 3414 8. The 16-byte key is the DES key (8) then the pre-IV (8);
  the salt is snmpEngineBoots (4) || a 32-bit counter (4) and IV = pre-IV XOR salt.
- ``aes`` / ``aes128``: CFB128-AES-128 of RFC 3826; IV = engineBoots (4) || engineTime (4) ||
  salt (8), the salt a 64-bit counter.
- ``aes192`` / ``aes256``: CFB128 AES with the key extended as draft-blumenthal-aes-usm-04
  3.1.2.1 says (Kul || H(Kul)). This is what net-snmp means by AES192 / AES256 (its
  ``_kul_extend_blumenthal``) and what pysnmp calls usmAesBlumenthalCfb192Protocol /
  usmAesBlumenthalCfb256Protocol.
- ``aes192c`` / ``aes256c``: the same cipher with the key extended as
  draft-reeder-snmpv3-usm-3desede-00 does for 3DES (Kul || localize(Ku(Kul))). Cisco IOS and
  many other vendors do this; net-snmp calls it AES192C / AES256C (its ``_kul_extend_reeder``),
  pysnmp usmAesCfb192Protocol / usmAesCfb256Protocol, gosnmp AES192C / AES256C.

The two AES-192/256 variants exist because neither draft became an RFC and vendors picked
differently; nothing on the wire tells them apart, so a device's documentation (or trying both)
decides. They give the same key whenever the auth hash is already long enough (SHA-256 and up
for AES-256, SHA-224 and up for AES-192): only the extension differs.

Single DES with ``cryptography`` 50: the library has no DES algorithm; it offers TripleDES in
``cryptography.hazmat.decrepit.ciphers.algorithms``. Triple DES is EDE (encrypt K1, decrypt K2,
encrypt K3), so with K1 = K2 = K3 the middle steps cancel and it is single DES. An 8-byte key
is accepted only with a deprecation warning (cryptography expands it to key * 3 itself), so this
module passes the 24-byte key * 3 directly; the tests pin it to the FIPS 81 DES vector. CFB
likewise lives in ``cryptography.hazmat.decrepit.ciphers.modes`` now.

Secrets: no key or passphrase ever appears in an exception, a repr or a log line; errors name
the protocol, the field and lengths only. The caches hold keys in memory (as any USM engine
must); ``clear_key_cache`` drops them when users change.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from typing import Final, Literal

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.decrepit.ciphers.modes import CFB
from cryptography.hazmat.primitives import constant_time, hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

__all__ = [
    "AUTH_PROTOCOLS",
    "PRIV_PROTOCOLS",
    "UsmError",
    "auth_key_length",
    "clear_key_cache",
    "decrypt",
    "digest_length",
    "encrypt",
    "localized_key",
    "passphrase_key",
    "priv_key",
    "priv_key_length",
    "sign",
    "verify",
]


class UsmError(ValueError):
    """A USM input that cannot be used: unknown protocol, or a field of the wrong size or range.

    The message names the protocol and the field and gives lengths, never key material.
    """


@dataclass(frozen=True, slots=True)
class _Auth:
    hashlib_name: str  # for the password-to-key hashing (RFC 3414 A.2)
    algorithm: type[hashes.HashAlgorithm]  # for the HMAC
    key_length: int  # the localized key is one hash output
    digest_length: int  # the truncated MAC in msgAuthenticationParameters


_AUTH: Final[dict[str, _Auth]] = {
    "md5": _Auth("md5", hashes.MD5, 16, 12),
    "sha": _Auth("sha1", hashes.SHA1, 20, 12),
    "sha224": _Auth("sha224", hashes.SHA224, 28, 16),
    "sha256": _Auth("sha256", hashes.SHA256, 32, 24),
    "sha384": _Auth("sha384", hashes.SHA384, 48, 32),
    "sha512": _Auth("sha512", hashes.SHA512, 64, 48),
}

_Extension = Literal["none", "blumenthal", "reeder"]


@dataclass(frozen=True, slots=True)
class _Priv:
    cipher: Literal["des", "aes"]
    key_length: int  # DES: 8 key + 8 pre-IV; AES: the AES key size
    extension: _Extension


_PRIV: Final[dict[str, _Priv]] = {
    "des": _Priv("des", 16, "none"),
    "aes": _Priv("aes", 16, "none"),
    "aes128": _Priv("aes", 16, "none"),
    "aes192": _Priv("aes", 24, "blumenthal"),
    "aes256": _Priv("aes", 32, "blumenthal"),
    "aes192c": _Priv("aes", 24, "reeder"),
    "aes256c": _Priv("aes", 32, "reeder"),
}

AUTH_PROTOCOLS: Final[tuple[str, ...]] = tuple(_AUTH)
PRIV_PROTOCOLS: Final[tuple[str, ...]] = tuple(_PRIV)

_EXPANSION: Final = 1_048_576  # RFC 3414 A.2: the passphrase repeated to 1 MiB, then hashed
_SALT_LENGTH: Final = 8  # msgPrivacyParameters of DES and AES alike
_DES_BLOCK: Final = 8
_MAX_UINT31: Final = 2**31 - 1  # snmpEngineBoots, snmpEngineTime: INTEGER (0..2147483647)
# Passphrases (Ku) are few: one per user and hash. Localised and privacy keys are one per
# (user, engine), so one per device: sized for a large fleet, not a lab (an entry is a few
# hundred bytes; 65,536 of them ~20 MB at most). A cache smaller than the fleet, polled
# round-robin, would miss on every request and redo a 1 MiB hash each time.
_PASSPHRASE_CACHE: Final = 4096
_CACHE_SIZE: Final = 65_536


def _auth(auth: str) -> _Auth:
    try:
        return _AUTH[auth]
    except KeyError:
        raise UsmError(
            f"unknown auth protocol {auth!r}; known: {', '.join(AUTH_PROTOCOLS)}"
        ) from None


def _priv(priv: str) -> _Priv:
    try:
        return _PRIV[priv]
    except KeyError:
        raise UsmError(
            f"unknown privacy protocol {priv!r}; known: {', '.join(PRIV_PROTOCOLS)}"
        ) from None


def digest_length(auth: str) -> int:
    """Length of the truncated MAC that ``auth`` puts in msgAuthenticationParameters."""
    return _auth(auth).digest_length


def auth_key_length(auth: str) -> int:
    """Length of ``auth``'s localized key, one output of its hash (RFC 3414, RFC 7860)."""
    return _auth(auth).key_length


def priv_key_length(priv: str) -> int:
    """Length of the key ``priv_key`` returns for ``priv`` (DES: key and pre-IV, 16)."""
    return _priv(priv).key_length


def _secret(what: str, value: bytes) -> bytes:
    # bytes(): the caches need a hashable value, and a bytearray the caller reuses must not
    # change a cached key. Only the name of the argument goes into the error.
    value = bytes(value)
    if not value:
        raise UsmError(f"{what} is empty")
    return value


def passphrase_key(auth: str, passphrase: bytes) -> bytes:
    """Ku of RFC 3414 A.2: the passphrase repeated to 1 MiB and hashed with ``auth``'s hash.

    Independent of the engine, so it is cached: one engine more costs one small hash.
    """
    spec = _auth(auth)
    return _passphrase_key(spec.hashlib_name, _secret("passphrase", passphrase))


@functools.lru_cache(maxsize=_PASSPHRASE_CACHE)
def _passphrase_key(hashlib_name: str, passphrase: bytes) -> bytes:
    return _expand(hashlib_name, passphrase)


def _expand(hashlib_name: str, passphrase: bytes) -> bytes:
    # One hash call over the whole 1 MiB buffer instead of A.2's 16,384 64-byte updates: the
    # hashed bytes are the same (the passphrase cycled to exactly 1 MiB), ~5x faster in Python.
    repeats = -(-_EXPANSION // len(passphrase))
    return hashlib.new(hashlib_name, (passphrase * repeats)[:_EXPANSION]).digest()


def _localize(hashlib_name: str, ku: bytes, engine_id: bytes) -> bytes:
    # RFC 3414 A.2: Kul = H(Ku || snmpEngineID || Ku)
    return hashlib.new(hashlib_name, ku + engine_id + ku).digest()


def localized_key(auth: str, passphrase: bytes, engine_id: bytes) -> bytes:
    """The key of RFC 3414 A.2 for ``auth``: Ku of the passphrase localized with the engine ID.

    Expensive the first time for a passphrase (1 MiB of hashing), cached after that.
    """
    spec = _auth(auth)
    return _localized_key(
        spec.hashlib_name,
        _secret("passphrase", passphrase),
        _secret("engine ID", engine_id),
    )


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _localized_key(hashlib_name: str, passphrase: bytes, engine_id: bytes) -> bytes:
    return _localize(hashlib_name, _passphrase_key(hashlib_name, passphrase), engine_id)


def priv_key(auth: str, priv: str, passphrase: bytes, engine_id: bytes) -> bytes:
    """The privacy key for ``priv``: the localized key (with ``auth``'s hash), extended as the
    variant requires and cut to ``priv_key_length(priv)`` bytes. Cached.
    """
    auth_spec, priv_spec = _auth(auth), _priv(priv)
    return _priv_key(
        auth_spec.hashlib_name,
        priv_spec.key_length,
        priv_spec.extension,
        _secret("passphrase", passphrase),
        _secret("engine ID", engine_id),
    )


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _priv_key(
    hashlib_name: str, length: int, extension: _Extension, passphrase: bytes, engine_id: bytes
) -> bytes:
    key = _localized_key(hashlib_name, passphrase, engine_id)
    # Each round hashes everything so far, as net-snmp and pysnmp do; with today's hashes
    # (16 bytes or more) and keys (32 bytes at most) one round is always enough.
    while len(key) < length:
        if extension == "blumenthal":
            key += hashlib.new(hashlib_name, key).digest()
        elif extension == "reeder":
            # A Ku of the per-engine key: one per device, computed once (this function is
            # cached) and kept out of the users' passphrase cache, which it would flush.
            key += _localize(hashlib_name, _expand(hashlib_name, key), engine_id)
        else:  # DES and AES-128 never need more than the shortest hash (MD5, 16 bytes)
            raise AssertionError(f"{hashlib_name} key too short for a {length}-byte cipher key")
    return key[:length]


def clear_key_cache() -> None:
    """Forget every derived key (after users or passphrases change)."""
    _passphrase_key.cache_clear()
    _localized_key.cache_clear()
    _priv_key.cache_clear()


def _check_key(what: str, key: bytes, length: int) -> bytes:
    if len(key) != length:
        raise UsmError(f"{what} key must be {length} bytes, got {len(key)}")
    return bytes(key)


def sign(auth: str, key: bytes, message: bytes) -> bytes:
    """The truncated HMAC of the whole message for msgAuthenticationParameters.

    The caller has put ``digest_length(auth)`` zero bytes where the MAC goes (RFC 3414 6.3.1).
    """
    spec = _auth(auth)
    mac = hmac.HMAC(_check_key(f"{auth} auth", key, spec.key_length), spec.algorithm())
    mac.update(message)
    return mac.finalize()[: spec.digest_length]


def verify(auth: str, key: bytes, message_with_zeroed_digest: bytes, digest: bytes) -> bool:
    """Whether ``digest`` (msgAuthenticationParameters as received) authenticates the message.

    The message is the one received with its msgAuthenticationParameters zero-filled. A digest
    of the wrong length is simply not valid (False); the comparison is constant-time so a
    forger learns nothing from how long a rejection takes.
    """
    if len(digest) != digest_length(auth):
        return False
    return constant_time.bytes_eq(sign(auth, key, message_with_zeroed_digest), bytes(digest))


def _check_uint31(what: str, value: int) -> None:
    if not 0 <= value <= _MAX_UINT31:
        raise UsmError(f"{what} must be 0..{_MAX_UINT31}, got {value}")


def _xor(a: bytes, b: bytes) -> bytes:
    return (int.from_bytes(a) ^ int.from_bytes(b)).to_bytes(len(a))


def _des(key: bytes, salt: bytes) -> Cipher[modes.CBC]:
    # RFC 3414 8.1.1.1: DES key = first 8 bytes, IV = pre-IV (last 8) XOR salt. Key * 3 makes
    # the decrepit TripleDES single DES without its 8-byte-key deprecation warning.
    return Cipher(TripleDES(key[:8] * 3), modes.CBC(_xor(key[8:16], salt)))


def _aes(key: bytes, boots: int, time: int, salt: bytes) -> Cipher[CFB]:
    # RFC 3826 3.1.2.1: IV = snmpEngineBoots (4) || snmpEngineTime (4) || salt (8)
    iv = boots.to_bytes(4) + time.to_bytes(4) + salt
    return Cipher(algorithms.AES(key), CFB(iv))


def encrypt(
    priv: str, key: bytes, boots: int, time: int, salt: int, plaintext: bytes
) -> tuple[bytes, bytes]:
    """Encrypt a serialised scopedPDU; returns (encryptedPDU, msgPrivacyParameters).

    ``boots`` and ``time`` are the authoritative engine's, as in the message. ``salt`` is the
    sender's counter, never to repeat under one key: 32 bits for DES (the salt on the wire is
    boots || salt, RFC 3414 8.1.1.1), 64 bits for AES (RFC 3826 3.1.2.1). DES pads the
    plaintext with zeros to a multiple of 8 bytes (RFC 3414 8.1.1.2: the pad value is
    irrelevant; the receiver's BER decoder ignores what follows the scopedPDU).
    """
    spec = _priv(priv)
    key = _check_key(f"{priv} privacy", key, spec.key_length)
    _check_uint31("snmpEngineBoots", boots)
    _check_uint31("snmpEngineTime", time)
    if not plaintext:
        raise UsmError("plaintext (scopedPDU) is empty")
    if spec.cipher == "des":
        if not 0 <= salt < 2**32:
            raise UsmError(f"DES salt counter must be 0..{2**32 - 1}, got {salt}")
        salt_bytes = boots.to_bytes(4) + salt.to_bytes(4)
        padded = bytes(plaintext) + bytes(-len(plaintext) % _DES_BLOCK)
        encryptor = _des(key, salt_bytes).encryptor()
        return encryptor.update(padded) + encryptor.finalize(), salt_bytes
    if not 0 <= salt < 2**64:
        raise UsmError(f"AES salt counter must be 0..{2**64 - 1}, got {salt}")
    salt_bytes = salt.to_bytes(_SALT_LENGTH)
    encryptor = _aes(key, boots, time, salt_bytes).encryptor()
    return encryptor.update(plaintext) + encryptor.finalize(), salt_bytes


def decrypt(
    priv: str, key: bytes, boots: int, time: int, priv_params: bytes, ciphertext: bytes
) -> bytes:
    """Decrypt an encryptedPDU; returns the scopedPDU bytes (for DES with any padding after it).

    ``boots`` and ``time`` are msgAuthoritativeEngineBoots/Time of the message, ``priv_params``
    its msgPrivacyParameters. Raises UsmError for parameters of the wrong size (RFC 3414
    8.3.2.1, RFC 3826 3.3.2.1: a decryptionError); a wrong key is not detectable here, it
    yields garbage that the BER decoder rejects.
    """
    spec = _priv(priv)
    key = _check_key(f"{priv} privacy", key, spec.key_length)
    _check_uint31("snmpEngineBoots", boots)
    _check_uint31("snmpEngineTime", time)
    if len(priv_params) != _SALT_LENGTH:
        raise UsmError(
            f"{priv} msgPrivacyParameters must be {_SALT_LENGTH} bytes, got {len(priv_params)}"
        )
    salt = bytes(priv_params)
    if spec.cipher == "des":
        if not ciphertext or len(ciphertext) % _DES_BLOCK:
            raise UsmError(
                f"des encryptedPDU must be a non-empty multiple of {_DES_BLOCK} bytes, "
                f"got {len(ciphertext)}"
            )
        decryptor = _des(key, salt).decryptor()
    else:
        if not ciphertext:
            raise UsmError(f"{priv} encryptedPDU is empty")
        decryptor = _aes(key, boots, time, salt).decryptor()
    return decryptor.update(ciphertext) + decryptor.finalize()
