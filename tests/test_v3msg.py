"""SNMPv3 framing held against pysnmp's own ASN.1 definitions (RFC 3412 SNMPv3Message, RFC 3414
UsmSecurityParameters), both directions, and against any bytes: a Message or a WireError."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyasn1.codec.ber import decoder, encoder
from pysnmp.proto import api
from pysnmp.proto.mpmod.rfc3412 import ScopedPDU, SNMPv3Message
from pysnmp.proto.secmod.rfc3414.service import UsmSecurityParameters

from netmon.collectors.snmpwire import GET, WireError, decode_response, encode_varbinds
from netmon.collectors.v3msg import (
    AUTH,
    PRIV,
    REPORTABLE,
    UsmParams,
    decode_message,
    encode_message,
    encode_pdu,
    encode_scoped_pdu,
    scoped_pdu,
)

from .helpers import fuzz_examples

ENGINE = st.binary(min_size=0, max_size=32)
USER = st.binary(min_size=0, max_size=32)
INT31 = st.integers(0, 2**31 - 1)
DIGEST = st.sampled_from([0, 12, 16, 24, 32, 48]).map(lambda n: bytes(range(n)))
SALT = st.sampled_from([b"", b"\x00" * 8, b"saltsalt"])
FLAGS = st.sampled_from([0, AUTH, AUTH | PRIV]).map(lambda f: f | REPORTABLE)
SYS_DESCR = (1, 3, 6, 1, 2, 1, 1, 1, 0)
v2c = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]


def usm_params() -> st.SearchStrategy[UsmParams]:
    return st.builds(UsmParams, ENGINE, INT31, INT31, USER, DIGEST, SALT)


def asn1_message(msg_id: int, flags: int, usm: UsmParams, data: Any, encrypted: bool) -> bytes:
    """The message as pysnmp's ASN.1 types build it."""
    params = UsmSecurityParameters()
    params["msgAuthoritativeEngineId"] = usm.engine_id
    params["msgAuthoritativeEngineBoots"] = usm.boots
    params["msgAuthoritativeEngineTime"] = usm.time
    params["msgUserName"] = usm.user
    params["msgAuthenticationParameters"] = usm.auth
    params["msgPrivacyParameters"] = usm.priv
    msg = SNMPv3Message()
    msg["msgVersion"] = 3
    glob = msg["msgGlobalData"]
    glob["msgID"] = msg_id
    glob["msgMaxSize"] = 65507
    glob["msgFlags"] = bytes((flags,))
    glob["msgSecurityModel"] = 3
    msg["msgSecurityParameters"] = encoder.encode(params)
    if encrypted:
        msg["msgData"]["encryptedPDU"] = data
    else:
        msg["msgData"]["plaintext"] = data
    return bytes(encoder.encode(msg))


def asn1_scoped(engine: bytes, name: bytes, request_id: int) -> Any:
    pdu = v2c.GetRequestPDU()
    v2c.apiPDU.set_defaults(pdu)
    v2c.apiPDU.set_request_id(pdu, request_id)
    v2c.apiPDU.set_varbinds(pdu, [(SYS_DESCR, v2c.Null(""))])
    scoped = ScopedPDU()
    scoped["contextEngineId"] = engine
    scoped["contextName"] = name
    scoped["data"].setComponentByType(pdu.tagSet, pdu)
    return scoped


@settings(max_examples=fuzz_examples(150), deadline=None)
@given(msg_id=INT31, flags=FLAGS, usm=usm_params(), engine=ENGINE, name=USER, rid=INT31)
def test_what_netmon_sends_is_what_pysnmp_reads(
    msg_id: int, flags: int, usm: UsmParams, engine: bytes, name: bytes, rid: int
) -> None:
    encrypted = bool(flags & PRIV)
    scoped = encode_scoped_pdu(engine, name, encode_pdu(GET, rid, encode_varbinds([SYS_DESCR])))
    data, auth_at = encode_message(msg_id, flags, usm, scoped, encrypted=encrypted)
    # The digest goes exactly where the auth parameters' contents are.
    assert data[auth_at : auth_at + len(usm.auth)] == usm.auth
    msg, rest = decoder.decode(data, asn1Spec=SNMPv3Message())
    assert rest == b""
    assert int(msg["msgGlobalData"]["msgID"]) == msg_id
    assert bytes(msg["msgGlobalData"]["msgFlags"]) == bytes((flags,))
    params, _ = decoder.decode(
        bytes(msg["msgSecurityParameters"]), asn1Spec=UsmSecurityParameters()
    )
    assert (
        bytes(params["msgAuthoritativeEngineId"]),
        int(params["msgAuthoritativeEngineBoots"]),
        int(params["msgAuthoritativeEngineTime"]),
        bytes(params["msgUserName"]),
        bytes(params["msgAuthenticationParameters"]),
        bytes(params["msgPrivacyParameters"]),
    ) == (usm.engine_id, usm.boots, usm.time, usm.user, usm.auth, usm.priv)
    if encrypted:
        assert bytes(msg["msgData"]["encryptedPDU"]) == scoped
    else:
        plain = msg["msgData"]["plaintext"]
        assert bytes(plain["contextEngineId"]) == engine
        assert bytes(plain["contextName"]) == name
        pdu = plain["data"].getComponent()
        assert int(v2c.apiPDU.get_request_id(pdu)) == rid


@settings(max_examples=fuzz_examples(150), deadline=None)
@given(msg_id=INT31, flags=FLAGS, usm=usm_params(), engine=ENGINE, name=USER, rid=INT31)
def test_what_pysnmp_sends_is_what_netmon_reads(
    msg_id: int, flags: int, usm: UsmParams, engine: bytes, name: bytes, rid: int
) -> None:
    encrypted = bool(flags & PRIV)
    scoped = asn1_scoped(engine, name, rid)
    payload = bytes(encoder.encode(scoped)) if encrypted else scoped
    data = asn1_message(msg_id, flags, usm, payload, encrypted)
    msg = decode_message(data)
    assert (msg.msg_id, msg.flags, msg.max_size, msg.usm) == (msg_id, flags, 65507, usm)
    assert data[msg.auth_at : msg.auth_at + len(usm.auth)] == usm.auth
    # Mine and pysnmp's are the same bytes: the digest offset holds in either.
    assert encode_message(msg_id, flags, usm, bytes(encoder.encode(scoped)), encrypted)[0] == data
    if encrypted:
        assert msg.scoped is None
        assert msg.encrypted is not None
        inner = scoped_pdu(msg.encrypted + b"\x00" * 7)  # DES-style padding is ignored
    else:
        assert msg.scoped is not None and msg.encrypted is None
        inner = scoped_pdu(data, *msg.scoped)
    assert (inner.context_engine_id, inner.context_name) == (engine, name)
    assert (inner.pdu_type, inner.header.request_id) == (GET, rid)


def test_a_scoped_response_decodes_with_the_v2c_codec() -> None:
    pdu = v2c.ResponsePDU()
    v2c.apiPDU.set_defaults(pdu)
    v2c.apiPDU.set_request_id(pdu, 4242)
    v2c.apiPDU.set_varbinds(pdu, [(SYS_DESCR, v2c.OctetString(b"Linux r1"))])
    scoped = ScopedPDU()
    scoped["contextEngineId"] = b"\x80\x00\x1f\x88\x80engine"
    scoped["contextName"] = b""
    scoped["data"].setComponentByType(pdu.tagSet, pdu)
    usm = UsmParams(b"\x80\x00\x1f\x88\x80engine", 3, 1234, b"netmon", bytes(24), b"")
    data = asn1_message(77, AUTH, usm, scoped, encrypted=False)
    msg = decode_message(data)
    assert msg.scoped is not None
    inner = scoped_pdu(data, *msg.scoped)
    reply = decode_response(data, inner.header)
    assert (reply.request_id, reply.error_status, reply.varbinds) == (
        4242,
        0,
        [(SYS_DESCR, "Linux r1")],
    )


@settings(max_examples=fuzz_examples(300), deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_are_a_message_or_a_wire_error(data: bytes) -> None:
    with contextlib.suppress(WireError):
        decode_message(data)


def test_every_cut_and_every_damaged_byte_of_a_real_message_is_handled() -> None:
    usm = UsmParams(b"\x80\x00\x1f\x88\x80engine", 3, 1234, b"netmon", bytes(12), b"saltsalt")
    scoped = asn1_scoped(b"\x80\x00\x1f\x88\x80engine", b"", 9)
    data = asn1_message(5, AUTH | PRIV | REPORTABLE, usm, bytes(encoder.encode(scoped)), True)
    for cut in range(len(data)):
        try:
            decode_message(data[:cut])
        except WireError:
            continue
        raise AssertionError(f"a message cut at {cut} of {len(data)} bytes decoded")
    for i in range(len(data)):
        for byte in (0x00, 0x7F, 0x80, 0xFF):
            with contextlib.suppress(WireError):
                decode_message(data[:i] + bytes((byte,)) + data[i + 1 :])


def test_the_field_and_byte_are_named() -> None:
    usm = UsmParams(b"e" * 5, 1, 2, b"u", b"", b"")
    data, _ = encode_message(
        1, REPORTABLE, usm, encode_scoped_pdu(b"", b"", encode_pdu(GET, 1, b"\x30\x00"))
    )
    v2 = data.replace(b"\x02\x01\x03", b"\x02\x01\x01", 1)
    with pytest.raises(WireError, match=r"^msgVersion: SNMP message version 1, expected 3$"):
        decode_message(v2)
    priv_only = asn1_message(1, PRIV, usm, b"x", encrypted=True)
    with pytest.raises(WireError, match="privacy without authentication"):
        decode_message(priv_only)


def test_reports_say_what_to_do_and_name_the_problem() -> None:
    from netmon.collectors.v3msg import report_meaning

    stats = (1, 3, 6, 1, 6, 3, 15, 1, 1)
    seen = {n: report_meaning((*stats, n, 0)) for n in range(1, 7)}
    assert {n: (m.name, m.action) for n, m in seen.items() if m} == {
        1: ("usmStatsUnsupportedSecLevels", "auth"),
        2: ("usmStatsNotInTimeWindows", "resync"),
        3: ("usmStatsUnknownUserNames", "auth"),
        4: ("usmStatsUnknownEngineIDs", "discover"),
        5: ("usmStatsWrongDigests", "auth"),
        6: ("usmStatsDecryptionErrors", "auth"),
    }
    # Not USM's, not a scalar instance, or a counter USM does not define: no meaning guessed.
    for oid in ((*stats, 7, 0), (*stats, 2), (*stats, 2, 1), (1, 3, 6, 1, 6, 3, 11, 2, 1, 3, 0)):
        assert report_meaning(oid) is None, oid
