"""SNMPv3 message framing (RFC 3412 section 6, RFC 3414 section 2.4): the header, the USM
security parameters and the scoped PDU, as bytes, without any cryptography.

This is the part of netmon's own wire path that v3 adds around the PDU the v2c codec already
builds and decodes (`snmpwire`): requests are assembled from cached pieces, replies decoded
straight from the datagram, and every malformed field is a `WireError` naming the field and the
byte. Signing and encryption live in `usm`; this module only says where the authentication
parameters sit (so a digest can be written over the whole message with them zero-filled, as RFC
3414 section 6.3.1 asks) and carries an encrypted scoped PDU as the opaque OCTET STRING it is.
"""

from __future__ import annotations

from dataclasses import dataclass

# The v2c codec's BER pieces: the same TLV rules hold for v3 (one codec, one set of limits).
from netmon.collectors.snmpwire import (
    _INTEGER,
    _OCTETS,
    _SEQUENCE,
    Header,
    WireError,
    _expect,
    _header,
    _int,
    _tlv,
    encode_integer,
)

VERSION_3 = 3
USM = 3  # msgSecurityModel of the User-based Security Model
REPORT = 0xA8
# msgFlags (RFC 3412 6.4): authFlag, privFlag, reportableFlag.
AUTH, PRIV, REPORTABLE = 0x01, 0x02, 0x04
MAX_SIZE = 65507  # what netmon accepts back: the largest UDP payload over IPv4
_MAX_USER = 32  # SnmpAdminString (SIZE(1..32)) for msgUserName; 0 is allowed in discovery
_MAX_ENGINE_ID = 32  # SnmpEngineID (SIZE(5..32)); 0 in discovery


@dataclass(frozen=True, slots=True)
class UsmParams:
    """UsmSecurityParameters (RFC 3414 2.4)."""

    engine_id: bytes
    boots: int
    time: int
    user: bytes
    auth: bytes  # msgAuthenticationParameters: the digest, or its zero-filled placeholder
    priv: bytes  # msgPrivacyParameters: the salt, or b""


@dataclass(frozen=True, slots=True)
class Message:
    """A decoded SNMPv3 message. `auth_at` is the offset of the authentication parameters'
    contents in the datagram (their length is len(usm.auth)): the digest is checked over the
    datagram with those bytes zeroed. `scoped` is the plaintext ScopedPDU's (start, end) when
    not encrypted, `encrypted` the encryptedPDU octets when it is."""

    msg_id: int
    max_size: int
    flags: int
    usm: UsmParams
    auth_at: int
    scoped: tuple[int, int] | None
    encrypted: bytes | None


def _usm_body(p: UsmParams) -> tuple[bytes, int]:
    """The UsmSecurityParameters SEQUENCE and where the auth octets start inside it."""
    head = _tlv(_OCTETS, p.engine_id) + encode_integer(p.boots) + encode_integer(p.time)
    head += _tlv(_OCTETS, p.user)
    auth = _tlv(_OCTETS, p.auth)
    body = head + auth + _tlv(_OCTETS, p.priv)
    sequence = _tlv(_SEQUENCE, body)
    # The auth octets' contents: past the SEQUENCE header, the fields before, and their own header.
    return sequence, (len(sequence) - len(body)) + len(head) + (len(auth) - len(p.auth))


def encode_scoped_pdu(context_engine_id: bytes, context_name: bytes, pdu: bytes) -> bytes:
    """ScopedPDU: the context and the PDU (a GET/GETNEXT TLV from snmpwire's encoder)."""
    return _tlv(_SEQUENCE, _tlv(_OCTETS, context_engine_id) + _tlv(_OCTETS, context_name) + pdu)


def encode_pdu(pdu_type: int, request_id: int, varbinds: bytes) -> bytes:
    """A PDU with error-status and error-index 0 (a request), as v2c sends inside its message."""
    return _tlv(pdu_type, encode_integer(request_id) + b"\x02\x01\x00\x02\x01\x00" + varbinds)


def encode_message(
    msg_id: int, flags: int, usm: UsmParams, scoped: bytes, encrypted: bool = False
) -> tuple[bytes, int]:
    """The whole SNMPv3 message and the offset of its authentication parameters' contents.
    `scoped` is the ScopedPDU TLV, or the ciphertext when `encrypted` (sent as encryptedPDU)."""
    if not 0 <= msg_id < 1 << 31:
        raise ValueError(f"msgID {msg_id} is outside 0..2147483647")
    if len(usm.user) > _MAX_USER or len(usm.engine_id) > _MAX_ENGINE_ID:
        raise ValueError("user name or engine ID longer than 32 bytes")
    version = encode_integer(VERSION_3)
    glob = _tlv(
        _SEQUENCE,
        encode_integer(msg_id)
        + encode_integer(MAX_SIZE)
        + _tlv(_OCTETS, bytes((flags,)))
        + encode_integer(USM),
    )
    params, auth_in_params = _usm_body(usm)
    security = _tlv(_OCTETS, params)
    data = _tlv(_OCTETS, scoped) if encrypted else scoped
    body = version + glob + security + data
    message = _tlv(_SEQUENCE, body)
    before = len(message) - len(body) + len(version) + len(glob) + (len(security) - len(params))
    return message, before + auth_in_params


def _octets(
    data: bytes, pos: int, end: int, what: str, most: int | None = None
) -> tuple[bytes, int]:
    start, stop = _expect(data, pos, end, _OCTETS, what)
    if most is not None and stop - start > most:
        raise WireError(f"{what}: {stop - start} bytes at byte {start}, at most {most}")
    return data[start:stop], stop


def _integer(data: bytes, pos: int, end: int, what: str) -> tuple[int, int]:
    start, stop = _expect(data, pos, end, _INTEGER, what)
    return _int(data, start, stop, what), stop


def decode_message(data: bytes) -> Message:
    """An SNMPv3 datagram's framing. Raises WireError naming the field and byte; never another
    exception, whatever the bytes. The scoped PDU itself is decoded by `scoped_pdu` (after
    decryption, when it is encrypted)."""
    pos, end = _expect(data, 0, len(data), _SEQUENCE, "message")
    if end != len(data):
        raise WireError(f"message: {len(data) - end} stray bytes at byte {end}")
    version, pos = _integer(data, pos, end, "msgVersion")
    if version != VERSION_3:
        raise WireError(f"msgVersion: SNMP message version {version}, expected 3")
    gpos, gend = _expect(data, pos, end, _SEQUENCE, "msgGlobalData")
    msg_id, gpos = _integer(data, gpos, gend, "msgID")
    max_size, gpos = _integer(data, gpos, gend, "msgMaxSize")
    flags_raw, gpos = _octets(data, gpos, gend, "msgFlags")
    if len(flags_raw) != 1:
        raise WireError(
            f"msgFlags: {len(flags_raw)} bytes at byte {gpos - len(flags_raw)}, expected 1"
        )
    model, gpos = _integer(data, gpos, gend, "msgSecurityModel")
    if gpos != gend:
        raise WireError(f"msgGlobalData: {gend - gpos} stray bytes at byte {gpos}")
    if msg_id < 0 or max_size < 484:
        raise WireError(f"msgGlobalData: msgID {msg_id} or msgMaxSize {max_size} out of range")
    if model != USM:
        raise WireError(f"msgSecurityModel: {model}, expected 3 (USM)")
    flags = flags_raw[0]
    if flags & PRIV and not flags & AUTH:
        raise WireError("msgFlags: privacy without authentication (RFC 3412 7.2 step 5)")
    spos, send = _expect(data, gend, end, _OCTETS, "msgSecurityParameters")
    upos, uend = _expect(data, spos, send, _SEQUENCE, "UsmSecurityParameters")
    if uend != send:
        raise WireError(f"msgSecurityParameters: {send - uend} stray bytes at byte {uend}")
    engine_id, upos = _octets(data, upos, uend, "msgAuthoritativeEngineID", _MAX_ENGINE_ID)
    boots, upos = _integer(data, upos, uend, "msgAuthoritativeEngineBoots")
    clock, upos = _integer(data, upos, uend, "msgAuthoritativeEngineTime")
    if boots < 0 or clock < 0:
        raise WireError(f"UsmSecurityParameters: engine boots {boots} or time {clock} negative")
    user, upos = _octets(data, upos, uend, "msgUserName", _MAX_USER)
    _, auth_at, after = _header(data, upos, uend, "msgAuthenticationParameters")
    if data[upos] != _OCTETS:
        raise WireError(f"msgAuthenticationParameters: tag 0x{data[upos]:02x} at byte {upos}")
    auth = data[auth_at:after]
    priv, upos = _octets(data, after, uend, "msgPrivacyParameters")
    if upos != uend:
        raise WireError(f"UsmSecurityParameters: {uend - upos} stray bytes at byte {upos}")
    usm = UsmParams(engine_id, boots, clock, user, auth, priv)
    if flags & PRIV:
        encrypted, stop = _octets(data, send, end, "encryptedPDU")
        scoped, ciphertext = None, encrypted
    else:
        tag, _, stop = _header(data, send, end, "ScopedPDU")
        if tag != _SEQUENCE:
            raise WireError(f"ScopedPDU: tag 0x{tag:02x} at byte {send}, expected 0x30")
        scoped, ciphertext = (send, stop), None
    if stop != end:
        raise WireError(f"message: {end - stop} stray bytes at byte {stop}")
    return Message(msg_id, max_size, flags, usm, auth_at, scoped, ciphertext)


@dataclass(frozen=True, slots=True)
class ScopedPdu:
    context_engine_id: bytes
    context_name: bytes
    pdu_type: int
    header: Header  # the PDU's request-id and where its error-status starts (snmpwire)


def scoped_pdu(data: bytes, start: int = 0, end: int | None = None) -> ScopedPdu:
    """A plaintext ScopedPDU (from the message, or decrypted) up to its PDU's request-id; the
    rest decodes with snmpwire.decode_response(data, header), as a v2c reply does. Decrypted
    data may carry padding after the ScopedPDU (DES pads to 8 bytes): it is ignored."""
    stop_at = len(data) if end is None else end
    pos, stop = _expect(data, start, stop_at, _SEQUENCE, "ScopedPDU")
    engine, pos = _octets(data, pos, stop, "contextEngineID", _MAX_ENGINE_ID)
    name, pos = _octets(data, pos, stop, "contextName")
    tag, ppos, pend = _header(data, pos, stop, "PDU")
    if pend != stop:
        raise WireError(f"ScopedPDU: {stop - pend} stray bytes at byte {pend}")
    rstart, rstop = _expect(data, ppos, pend, _INTEGER, "request-id")
    header = Header(b"", _int(data, rstart, rstop, "request-id"), rstop, pend)
    return ScopedPdu(engine, name, tag, header)


# -- Reports (RFC 3414 3.2, RFC 3412 7.2) ---------------------------------------------------
# What an agent's Report says, and what netmon does about it. The counters' OIDs are
# SNMP-USER-BASED-SM-MIB usmStats (1.3.6.1.6.3.15.1.1.N.0).
USM_STATS = (1, 3, 6, 1, 6, 3, 15, 1, 1)


@dataclass(frozen=True, slots=True)
class ReportMeaning:
    name: str  # the usmStats counter the agent raised
    action: str  # "resync": take its boots/time and retry once; "discover": learn its engine
    # again and retry; "auth": give up with an `auth` reason naming the problem
    reason: str  # what the member's reason says (never a key or password)


REPORTS: dict[int, ReportMeaning] = {
    1: ReportMeaning(
        "usmStatsUnsupportedSecLevels", "auth", "security level not supported by the agent"
    ),
    2: ReportMeaning("usmStatsNotInTimeWindows", "resync", "not in the agent's time window"),
    3: ReportMeaning("usmStatsUnknownUserNames", "auth", "unknown user name"),
    4: ReportMeaning("usmStatsUnknownEngineIDs", "discover", "unknown engine ID"),
    5: ReportMeaning(
        "usmStatsWrongDigests", "auth", "wrong digest (authentication key or protocol)"
    ),
    6: ReportMeaning(
        "usmStatsDecryptionErrors", "auth", "decryption error (privacy key or protocol)"
    ),
}


def report_meaning(oid: tuple[int, ...]) -> ReportMeaning | None:
    """The meaning of a Report's first variable binding, or None for one USM does not define
    (another security model's, or an MPD counter such as snmpUnknownPDUHandlers)."""
    if len(oid) == len(USM_STATS) + 2 and oid[: len(USM_STATS)] == USM_STATS and oid[-1] == 0:
        return REPORTS.get(oid[len(USM_STATS)])
    return None
