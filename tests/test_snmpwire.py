"""netmon's SNMPv2c codec, checked against pysnmp's (pyasn1) codec both ways, and fuzzed: any
datagram is either a Response or a WireError, never another exception."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyasn1.codec.ber import decoder, encoder
from pysnmp.proto import api, rfc1902

from netmon.collectors.snmp import to_value
from netmon.collectors.snmpwire import (
    GET,
    GETNEXT,
    SnmpWire,
    WireError,
    WireTimeout,
    decode_response,
    encode_integer,
    encode_request,
    encode_varbinds,
)
from netmon.model import Missing, Oid

from .helpers import fuzz_examples

V2C = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]

oids = st.builds(
    lambda first, second, rest: (first, second, *rest),
    st.integers(0, 1),
    st.integers(0, 39),
    st.lists(st.integers(0, 2**32 - 1), max_size=20),
)
values = st.one_of(
    st.integers(-(2**31), 2**31 - 1).map(rfc1902.Integer32),
    st.binary(max_size=64).map(rfc1902.OctetString),
    st.text(max_size=32).map(lambda t: rfc1902.OctetString(t.encode())),
    st.binary(min_size=4, max_size=4).map(rfc1902.IpAddress),
    st.integers(0, 2**32 - 1).map(rfc1902.Counter32),
    st.integers(0, 2**32 - 1).map(rfc1902.Gauge32),
    st.integers(0, 2**32 - 1).map(rfc1902.TimeTicks),
    st.integers(0, 2**64 - 1).map(rfc1902.Counter64),
    oids.map(rfc1902.ObjectIdentifier),
    st.sampled_from([V2C.NoSuchObject(""), V2C.NoSuchInstance(""), V2C.EndOfMibView("")]),
)


def pysnmp_response(community: bytes, rid: int, varbinds: Sequence[tuple[Oid, Any]]) -> bytes:
    message = V2C.Message()
    V2C.apiMessage.set_defaults(message)
    V2C.apiMessage.set_community(message, community)
    pdu = V2C.GetResponsePDU()
    V2C.apiPDU.set_defaults(pdu)
    V2C.apiPDU.set_request_id(pdu, rid)
    V2C.apiPDU.set_varbinds(pdu, varbinds)
    V2C.apiMessage.set_pdu(message, pdu)
    data: bytes = encoder.encode(message)
    return data


@settings(max_examples=fuzz_examples(300), deadline=None)
@given(
    community=st.binary(max_size=40),
    rid=st.integers(0, 2**31 - 1),
    varbinds=st.lists(st.tuples(oids, values), max_size=12),
)
def test_decodes_what_pysnmp_encodes(
    community: bytes, rid: int, varbinds: list[tuple[Oid, Any]]
) -> None:
    reply = decode_response(pysnmp_response(community, rid, varbinds))
    assert reply.community == community
    assert reply.request_id == rid
    assert (reply.error_status, reply.error_index) == (0, 0)
    assert reply.varbinds == [(oid, to_value(value)) for oid, value in varbinds]


@settings(max_examples=fuzz_examples(300), deadline=None)
@given(
    community=st.binary(max_size=300),
    rid=st.integers(0, 2**31 - 1),
    asked=st.lists(oids, min_size=1, max_size=40),
    pdu_type=st.sampled_from([GET, GETNEXT]),
)
def test_pysnmp_decodes_what_netmon_encodes(
    community: bytes, rid: int, asked: list[Oid], pdu_type: int
) -> None:
    data = encode_request(community, pdu_type, rid, encode_varbinds(asked))
    message, rest = decoder.decode(data, asn1Spec=V2C.Message())
    assert rest == b""
    assert bytes(V2C.apiMessage.get_community(message)) == community
    pdu = V2C.apiMessage.get_pdu(message)
    kind = V2C.GetRequestPDU() if pdu_type == GET else V2C.GetNextRequestPDU()
    assert pdu.isSameTypeWith(kind)
    assert int(V2C.apiPDU.get_request_id(pdu)) == rid
    got = [tuple(int(a) for a in oid) for oid, _ in V2C.apiPDU.get_varbinds(pdu)]
    assert got == asked


@given(st.integers(-(2**70), 2**70))
def test_integers_are_minimal_twos_complement(value: int) -> None:
    """X.690 8.3.2: no leading 0x00 before a byte < 0x80, no leading 0xff before one >= 0x80.
    (pyasn1 itself is not minimal for some negatives, e.g. -128 as ff80: compared by rule.)"""
    encoded = encode_integer(value)
    assert decoder.decode(encoded)[0] == value
    content = encoded[2:]
    assert encoded[1] == len(content)
    if len(content) > 1:
        assert not (content[0] == 0x00 and content[1] < 0x80)
        assert not (content[0] == 0xFF and content[1] >= 0x80)
    if value >= 0:
        assert encoded == encoder.encode(rfc1902.univ.Integer(value))


@settings(max_examples=fuzz_examples(1000), deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_are_a_response_or_a_wire_error(data: bytes) -> None:
    try:
        decode_response(data)
    except WireError as exc:
        message = str(exc)
    else:
        return
    assert message


@settings(max_examples=fuzz_examples(500), deadline=None)
@given(
    varbinds=st.lists(st.tuples(oids, values), min_size=1, max_size=6),
    cut=st.integers(0, 400),
    flips=st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)), max_size=4),
)
def test_damaged_replies_are_a_wire_error_or_still_typed(
    varbinds: list[tuple[Oid, Any]], cut: int, flips: list[tuple[int, int]]
) -> None:
    """Truncated or bit-damaged real replies: a WireError naming the place, or values of the
    types netmon knows (a flipped byte inside a value can still decode)."""
    data = bytearray(pysnmp_response(b"public", 7, varbinds))
    for at, byte in flips:
        data[at % len(data)] = byte
    data = data[: len(data) - cut % len(data)] if cut % 3 == 0 else data
    try:
        reply = decode_response(bytes(data))
    except WireError:
        return
    for oid, value in reply.varbinds:
        assert isinstance(oid, tuple) and all(isinstance(a, int) for a in oid)
        assert isinstance(value, int | str | Missing)


def test_errors_name_what_and_where() -> None:
    good = pysnmp_response(b"c", 1, [((1, 3, 6, 1, 2, 1, 1, 3, 0), rfc1902.TimeTicks(5))])
    with pytest.raises(WireError, match=r"runs past|truncated"):
        decode_response(good[:-3])
    with pytest.raises(WireError, match="message: tag 0x00"):
        decode_response(b"\x00" * 40)
    request = encode_request(b"c", GET, 1, encode_varbinds([(1, 3, 6)]))
    with pytest.raises(WireError, match="expected a Response"):
        decode_response(request)
    v1 = bytearray(good)
    v1[4] = 0  # the version INTEGER's value
    with pytest.raises(WireError, match="expected 1"):
        decode_response(bytes(v1))


@pytest.fixture
def noisy_agent() -> Iterator[tuple[int, list[bytes]]]:
    """Answers each request with a late duplicate, a wrong request-id, a wrong community and
    garbage before the right reply: only the right one may be taken."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.1)
    seen: list[bytes] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                data, addr = sock.recvfrom(65535)
            except TimeoutError:
                continue
            seen.append(data)
            message, _ = decoder.decode(data, asn1Spec=V2C.Message())
            rid = int(V2C.apiPDU.get_request_id(V2C.apiMessage.get_pdu(message)))
            uptime = [((1, 3, 6, 1, 2, 1, 1, 3, 0), rfc1902.TimeTicks(42))]
            sock.sendto(b"\x30\x03\x02\x01", addr)
            sock.sendto(pysnmp_response(b"public", rid + 1, uptime), addr)
            sock.sendto(pysnmp_response(b"other", rid, uptime), addr)
            if len(seen) == 1:
                continue  # the first try goes unanswered: the retry must be answered
            sock.sendto(pysnmp_response(b"public", rid, uptime), addr)
            sock.sendto(pysnmp_response(b"public", rid, uptime), addr)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1], seen
    finally:
        stop.set()
        thread.join(timeout=2)
        sock.close()


def test_endpoint_takes_only_the_matching_reply(noisy_agent: tuple[int, list[bytes]]) -> None:
    port, seen = noisy_agent

    async def go() -> None:
        wire = SnmpWire()
        try:
            reply = await wire.request(
                "127.0.0.1", port, b"public", GET, [(1, 3, 6, 1, 2, 1, 1, 3, 0)], 0.3, 2
            )
            assert reply.varbinds == [((1, 3, 6, 1, 2, 1, 1, 3, 0), 42)]
            assert len(seen) == 2  # one retry
            assert wire.stats.undecodable >= 2
            assert wire.stats.late_or_duplicate >= 4
            # Only garbage comes back from a port nobody answers properly: timeout, not garbage.
            with pytest.raises(WireTimeout):
                await wire.request("127.0.0.1", 9, b"public", GET, [(1, 3)], 0.1, 0)
        finally:
            wire.close()

    asyncio.run(go())


def test_binary_octet_strings_keep_every_byte() -> None:
    """A VRRPv3 master address (InetAddress, 4 raw bytes) with bytes of 0x80 or more is not UTF-8:
    both SNMP paths keep its bytes (Latin-1), so the kind reads 192.168.1.1, not U+FFFD."""
    from pysnmp.proto import rfc1902

    from netmon.collectors.snmp import to_value
    from netmon.collectors.snmpwire import octets_text
    from netmon.kinds.evidence import reported_inet

    raw = bytes([192, 168, 1, 1])
    for text in (octets_text(raw), to_value(rfc1902.OctetString(raw))):
        assert isinstance(text, str) and "\ufffd" not in text
        assert reported_inet(text, 4) == "192.168.1.1"
    assert octets_text("Routing Engine 1 é".encode()) == "Routing Engine 1 é"  # UTF-8 as before
    v6 = bytes.fromhex("fe800000000000000000000000000001")
    assert reported_inet(octets_text(v6), 6) == "fe80::1"
