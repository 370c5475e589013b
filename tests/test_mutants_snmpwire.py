"""Tests that kill mutants of netmon's snmpwire code that the other tests let live (see docs/mutation.md).

The codec is checked byte for byte against pyasn1/pysnmp (requests netmon sends, INTEGERs at
their byte boundaries, OIDs under 2.x and at RFC 2578's bounds), every kind of bad datagram gets
the exact WireError naming what and at which byte (what ends up in a member's reason), and the
endpoint is driven in-process over loopback UDP: retries and their counts, garbage as the reason
of a timeout, a GET answered with other OIDs, close() while a request waits, reuse across event
loops, IPv6, and name resolution with a fake resolver and clock.

Datagrams here are built with this file's own BER helpers, never with snmpwire's encoder, so that
a mutant encoder cannot build the very bytes its mutant decoder expects.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import types
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from typing import Any, cast

import pytest
from pyasn1.codec.ber import decoder, encoder
from pyasn1.type import univ
from pysnmp.proto import api, rfc1902

from netmon.collectors import snmpwire
from netmon.collectors.snmpwire import (
    GET,
    GETNEXT,
    SnmpWire,
    WireError,
    WireTimeout,
    decode_oid,
    decode_response,
    encode_integer,
    encode_oid,
    encode_request,
    encode_varbinds,
)
from netmon.model import Oid

V2C = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]


# -- this file's own BER ---------------------------------------------------------------------


def tlv(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 0x80:
        head = bytes((n,))
    else:
        size = n.to_bytes((n.bit_length() + 7) // 8, "big")
        head = bytes((0x80 | len(size),)) + size
    return bytes((tag,)) + head + body


def arc(value: int) -> bytes:
    chunk = [value & 0x7F]
    value >>= 7
    while value:
        chunk.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(chunk))


def vb(oid: bytes, tag: int, value: bytes) -> bytes:
    return tlv(0x30, tlv(0x06, oid) + tlv(tag, value))


def msg(
    varbinds: bytes = b"",
    *,
    rid: bytes = b"\x02\x01\x07",
    status: bytes = b"\x02\x01\x00",
    index: bytes = b"\x02\x01\x00",
    vbseq: bytes | None = None,
) -> bytes:
    """A Response of community "public", its parts given as raw TLVs."""
    vbs = tlv(0x30, varbinds) if vbseq is None else vbseq
    pdu = tlv(0xA2, rid + status + index + vbs)
    return tlv(0x30, b"\x02\x01\x01" + tlv(0x04, b"public") + pdu)


def pysnmp_response(
    community: bytes,
    rid: int,
    varbinds: Sequence[tuple[Oid, Any]],
    error_status: int = 0,
    error_index: int = 0,
) -> bytes:
    message = V2C.Message()
    V2C.apiMessage.set_defaults(message)
    V2C.apiMessage.set_community(message, community)
    pdu = V2C.GetResponsePDU()
    V2C.apiPDU.set_defaults(pdu)
    V2C.apiPDU.set_request_id(pdu, rid)
    V2C.apiPDU.set_error_status(pdu, error_status)
    V2C.apiPDU.set_error_index(pdu, error_index)
    V2C.apiPDU.set_varbinds(pdu, varbinds)
    V2C.apiMessage.set_pdu(message, pdu)
    data: bytes = encoder.encode(message)
    return data


def pysnmp_request(community: bytes, pdu_type: int, rid: int, oids: Sequence[Oid]) -> bytes:
    message = V2C.Message()
    V2C.apiMessage.set_defaults(message)
    V2C.apiMessage.set_community(message, community)
    pdu = V2C.GetRequestPDU() if pdu_type == GET else V2C.GetNextRequestPDU()
    V2C.apiPDU.set_defaults(pdu)
    V2C.apiPDU.set_request_id(pdu, rid)
    V2C.apiPDU.set_varbinds(pdu, [(oid, univ.Null("")) for oid in oids])
    V2C.apiMessage.set_pdu(message, pdu)
    data: bytes = encoder.encode(message)
    return data


# An enterprise OID no test sends (so the decoder, not snmpwire's cache of sent OIDs, reads it).
NAME = b"\x2b\x06\x01\x04\x01\x81\x8f\x1b\x01"  # 1.3.6.1.4.1.18331.1
UPTIME = (1, 3, 6, 1, 2, 1, 1, 3, 0)
SYSNAME = (1, 3, 6, 1, 2, 1, 1, 5, 0)


# -- encoding ------------------------------------------------------------------------------


def test_requests_are_byte_for_byte_what_pysnmp_encodes() -> None:
    """Lengths in their short and long forms (community of 127, 128, 255, 256, 70 000 bytes),
    request-ids at byte boundaries and OIDs under 0, 1 and 2 with arcs up to 2^32-1: netmon's
    request is the minimal BER pyasn1 writes, byte for byte (agents with strict parsers exist)."""
    oids: list[Oid] = [
        UPTIME,
        (0, 39),
        (1, 0, 8802, 1, 1, 2),
        (2, 0),
        (2, 39),
        (2, 40),
        (2, 100, 3),
        (2, 999, 127, 128, 16383, 16384, 2**32 - 1),
    ]
    for community in (
        b"",
        b"public",
        b"c" * 127,
        b"c" * 128,
        b"c" * 255,
        b"c" * 256,
        b"c" * 70_000,
    ):
        for rid in (0, 1, 127, 128, 255, 256, 32767, 32768, 2**23, 2**31 - 1):
            for pdu_type in (GET, GETNEXT):
                ours = encode_request(community, pdu_type, rid, encode_varbinds(oids))
                assert ours == pysnmp_request(community, pdu_type, rid, oids), (len(community), rid)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "020100"),
        (1, "020101"),
        (127, "02017f"),
        (128, "02020080"),
        (255, "020200ff"),
        (256, "02020100"),
        (32767, "02027fff"),
        (32768, "0203008000"),
        (2**31 - 1, "02047fffffff"),
        (-1, "0201ff"),
        (-128, "020180"),
        (-129, "0202ff7f"),
        (-256, "0202ff00"),
        (-32768, "02028000"),
        (-32769, "0203ff7fff"),
        (-(2**31), "020480000000"),
    ],
)
def test_integers_are_minimal_at_every_byte_boundary(value: int, expected: str) -> None:
    """X.690 8.3.2: the shortest two's complement; -128 is 80, not pyasn1's ff80."""
    encoded = encode_integer(value)
    assert encoded.hex() == expected
    assert decoder.decode(encoded)[0] == value


@pytest.mark.parametrize(
    ("oid", "message"),
    [
        ((1,), "not an encodable OID: 1"),
        ((), "not an encodable OID: "),
        ((3, 1), "not an encodable OID: 3.1"),
        ((3, 1, 5), "not an encodable OID: 3.1.5"),
        ((-1, 3), "not an encodable OID: -1.3"),
        ((0, 40), "not an encodable OID: 0.40"),
        ((1, 40, 2), "not an encodable OID: 1.40.2"),
        ((1, 41), "not an encodable OID: 1.41"),
        ((1, -1), "not an encodable OID: 1.-1"),
        ((1, 3, -5), "negative arc in OID 1.3.-5"),
        ((2, 5, 1, -1), "negative arc in OID 2.5.1.-1"),
    ],
)
def test_an_unencodable_oid_is_refused_naming_it(oid: Oid, message: str) -> None:
    with pytest.raises(ValueError, match="OID") as raised:
        encode_oid(oid)
    assert str(raised.value) == message
    assert type(raised.value) is ValueError


def test_oids_under_2_take_any_second_arc() -> None:
    """X.690 8.19.4: only under 0 and 1 is the second arc below 40; 2.40 and 2.999 are valid."""
    for oid in [(2, 0), (2, 39), (2, 40), (2, 100, 1), (2, 999, 3)]:
        encoded = encode_oid(oid)
        assert encoded == encoder.encode(univ.ObjectIdentifier(oid))
        assert decode_oid(encoded[2:]) == oid


# -- decoding: exact errors ----------------------------------------------------------------

ERRORS = [
    ("truncated", "30", "message: truncated at byte 0"),
    ("indefinite", "3080020101", "message: unsupported length form 0x80 at byte 1"),
    ("5-byte length", "30850000000003020101", "message: unsupported length form 0x85 at byte 1"),
    ("length cut", "308201", "message: truncated length at byte 2"),
    ("version tag", "3003040101", "version: tag 0x04 at byte 2, expected 0x02"),
    ("version empty", "30020200", "version: empty INTEGER at byte 4"),
    ("version 6 bytes", "30080206000000000001", "version: INTEGER of 6 bytes at byte 4"),
    ("version 0", "3003020100", "version: SNMP message version 0, expected 1 (v2c)"),
    ("community tag", "30050201010200", "community: tag 0x02 at byte 5, expected 0x04"),
    ("PDU cut", "30050201010400", "PDU: truncated at byte 7"),
]
_O = NAME
HAND_ERRORS: list[tuple[str, Callable[[], bytes], str]] = [
    (
        "request-id tag",
        lambda: msg(rid=b"\x04\x01\x07"),
        "request-id: tag 0x04 at byte 15, expected 0x02",
    ),
    (
        "request-id 2^32",
        lambda: msg(rid=b"\x02\x05\x01\x00\x00\x00\x00"),
        "request-id: 4294967296 at byte 17 is not an Integer32",
    ),
    (
        "request-id 6 bytes",
        lambda: msg(rid=b"\x02\x06\x00\x00\x00\x00\x00\x07"),
        "request-id: INTEGER of 6 bytes at byte 17",
    ),
    (
        "error-status",
        lambda: msg(status=b"\x04\x00"),
        "error-status: tag 0x04 at byte 18, expected 0x02",
    ),
    (
        "error-index",
        lambda: msg(index=b"\x04\x00"),
        "error-index: tag 0x04 at byte 21, expected 0x02",
    ),
    (
        "varbinds",
        lambda: msg(vbseq=b"\x04\x00"),
        "variable-bindings: tag 0x04 at byte 24, expected 0x30",
    ),
    (
        "second name",
        lambda: msg(vb(_O, 0x05, b"") + tlv(0x30, tlv(0x04, b"x") + b"\x05\x00")),
        "variable-binding 2 name: tag 0x04 at byte 43, expected 0x06",
    ),
    (
        "no value",
        lambda: msg(tlv(0x30, tlv(0x06, _O))),
        "variable-binding 1 value: truncated at byte 39",
    ),
    (
        "stray bytes",
        lambda: msg(tlv(0x30, tlv(0x06, _O) + b"\x05\x00\x00\x00")),
        "variable-binding 1: 2 stray bytes at byte 41",
    ),
    (
        "second stray",
        lambda: msg(vb(_O, 0x05, b"") + tlv(0x30, tlv(0x06, _O) + b"\x05\x00\x00\x00\x00")),
        "variable-binding 2: 3 stray bytes at byte 56",
    ),
    ("INTEGER empty", lambda: msg(vb(_O, 0x02, b"")), "INTEGER value: empty INTEGER at byte 0"),
    (
        "INTEGER below",
        lambda: msg(vb(_O, 0x02, b"\xff\x7f\xff\xff\xff")),
        "INTEGER value: -2147483649 at byte 0 is not an Integer32",
    ),
    (
        "INTEGER above",
        lambda: msg(vb(_O, 0x02, b"\x00\x80\x00\x00\x00")),
        "INTEGER value: 2147483648 at byte 0 is not an Integer32",
    ),
    (
        "INTEGER 6 bytes",
        lambda: msg(vb(_O, 0x02, b"\x00" * 6)),
        "INTEGER value: INTEGER of 6 bytes at byte 0",
    ),
    ("Counter32 empty", lambda: msg(vb(_O, 0x41, b"")), "empty value of type 0x41"),
    ("TimeTicks 6 bytes", lambda: msg(vb(_O, 0x43, b"\x00" * 6)), "value of type 0x43 of 6 bytes"),
    (
        "Gauge32 2^32",
        lambda: msg(vb(_O, 0x42, b"\x01\x00\x00\x00\x00")),
        "value 4294967296 of type 0x42 exceeds 32 bits",
    ),
    (
        "Counter64 2^64",
        lambda: msg(vb(_O, 0x46, b"\x01" + b"\x00" * 8)),
        "value 18446744073709551616 of type 0x46 exceeds 64 bits",
    ),
    ("IpAddress 3 bytes", lambda: msg(vb(_O, 0x40, b"\x0a\x00\x01")), "IpAddress of 3 bytes"),
    ("OID empty", lambda: msg(vb(b"", 0x05, b"")), "OID is empty or ends inside an arc"),
    ("OID open", lambda: msg(vb(b"\x2b\x86", 0x05, b"")), "OID is empty or ends inside an arc"),
    (
        "OID 636 bytes",
        lambda: msg(vb(b"\x2b" + b"\x01" * 635, 0x05, b"")),
        "OID of 636 bytes: longer than 128 arcs can be",
    ),
    (
        "arc of 6 bytes",
        lambda: msg(vb(b"\x2b\x06" + b"\x81" * 5 + b"\x01", 0x05, b"")),
        "OID arc 3 longer than 5 bytes",
    ),
    (
        "first arc of 6 bytes",
        lambda: msg(vb(b"\x81" * 5 + b"\x01", 0x05, b"")),
        "OID arc 1 longer than 5 bytes",
    ),
    (
        "arc 2^32",
        lambda: msg(vb(b"\x2b\x06\x01" + arc(2**32), 0x05, b"")),
        "OID arc 4 is 2^32 or more",
    ),
    (
        "129 arcs",
        lambda: msg(vb(b"\x2b" + b"\x01" * 127, 0x05, b"")),
        "OID of 129 arcs: more than 128",
    ),
    (
        "OID value 129 arcs",
        lambda: msg(vb(_O, 0x06, b"\x2b" + b"\x01" * 127)),
        "OID of 129 arcs: more than 128",
    ),
]


def test_bad_datagrams_get_the_error_naming_what_and_where() -> None:
    """What a member's reason says about an undecodable reply: the field and the byte offset."""
    for name, data, message in ERRORS:
        with pytest.raises(WireError) as raised:
            decode_response(bytes.fromhex(data))
        assert str(raised.value) == message, name
    for name, build, message in HAND_ERRORS:
        with pytest.raises(WireError) as raised:
            decode_response(build())
        assert str(raised.value) == message, name


# -- decoding: what must decode ------------------------------------------------------------


def test_lengths_in_every_form_decode() -> None:
    """Long-form lengths of 1 to 4 bytes, even where a short form would do (BER allows it), and
    a long form ending exactly at its container's end."""
    body = b"\x02\x01\x01" + tlv(0x04, b"public")
    pdu = tlv(0xA2, b"\x02\x01\x07\x02\x01\x00\x02\x01\x00" + tlv(0x30, vb(_O, 0x43, b"\x2a")))
    for head in (b"\x81", b"\x82\x00", b"\x83\x00\x00", b"\x84\x00\x00\x00"):
        data = b"\x30" + head + bytes((len(body + pdu),)) + body + pdu
        reply = decode_response(data)
        assert (reply.request_id, reply.varbinds) == (7, [((1, 3, 6, 1, 4, 1, 18331, 1), 42)])
    # An empty variable-bindings in long form, the last bytes of the datagram.
    empty = tlv(0x30, body + tlv(0xA2, b"\x02\x01\x07\x02\x01\x00\x02\x01\x00\x30\x81\x00"))
    assert decode_response(empty).varbinds == []


def test_error_status_and_index_are_kept_apart() -> None:
    """noSuchName (2) at index 1, tooBig (1) at 0: the reply says which, and where."""
    for status, index in [(2, 1), (1, 0), (5, 3)]:
        data = pysnmp_response(b"public", 9, [(UPTIME, univ.Null(""))], status, index)
        reply = decode_response(data)
        assert (reply.error_status, reply.error_index) == (status, index)


def test_integer32_extremes_as_pysnmp_sends_them() -> None:
    """pyasn1 writes -2^31 in 5 bytes (ff 80 00 00 00), as some agents do: still an Integer32."""
    for value in (-(2**31), -128, 2**31 - 1):
        data = pysnmp_response(
            b"public", 3, [((1, 3, 6, 1, 4, 1, 18331, 2), rfc1902.Integer32(value))]
        )
        assert decode_response(data).varbinds == [((1, 3, 6, 1, 4, 1, 18331, 2), value)]


def test_oids_at_the_edges_decode() -> None:
    """First arcs 40 (1.0), 79 (1.39), 80 (2.0) and above (2.x), as names and as values, and the
    largest OID RFC 2578 allows: 128 arcs, each of them up to 2^32-1 (5 bytes)."""
    cases: list[tuple[bytes, Oid]] = [
        (b"\x28\x86\x22\x01", (1, 0, 802, 1)),
        (b"\x4f\x01", (1, 39, 1)),
        (b"\x50\x05", (2, 0, 5)),
        (b"\x81\x34\x07", (2, 100, 7)),
        (arc(80 + 999) + b"\x01", (2, 999, 1)),
        (b"\x00", (0, 0)),
        (b"\x27\x09", (0, 39, 9)),
    ]
    biggest = arc(2**32 - 1) * 127
    cases.append((biggest, (2, 2**32 - 81, *([2**32 - 1] * 126))))
    for raw, oid in cases:
        assert decode_oid(raw) == oid
        reply = decode_response(msg(vb(raw, 0x06, raw)))
        assert reply.varbinds == [(oid, ".".join(map(str, oid)))]
    assert len(cases[-1][1]) == 128 and len(biggest) == 635


def test_peer_is_the_address_recvfrom_reports() -> None:
    """A link-local agent asked at fe80::1%eth0 answers from fe80::1 (recvfrom gives no scope in
    the text): its replies must match; addresses are compared in canonical form."""
    assert snmpwire._peer("fe80::1%eth0", 161) == ("fe80::1", 161)
    assert snmpwire._peer("FE80:0::0001%2", 1161) == ("fe80::1", 1161)
    assert snmpwire._peer("10.0.0.1", 161) == ("10.0.0.1", 161)


# -- the endpoint --------------------------------------------------------------------------


@contextlib.contextmanager
def device(family: int = socket.AF_INET) -> Iterator[tuple[socket.socket, int]]:
    """A UDP socket standing for the agent: nothing answers unless the test does."""
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.bind(("::1" if family == socket.AF_INET6 else "127.0.0.1", 0))
    sock.setblocking(False)
    try:
        yield sock, sock.getsockname()[1]
    finally:
        sock.close()


def request_id(data: bytes) -> int:
    message, _ = decoder.decode(data, asn1Spec=V2C.Message())
    return int(V2C.apiPDU.get_request_id(V2C.apiMessage.get_pdu(message)))


async def bounded(coro: Awaitable[Any], seconds: float = 3.0) -> Any:
    """A mutant that never ends a request fails here instead of hanging the run."""
    return await asyncio.wait_for(coro, seconds)


async def pending_rid(wire: SnmpWire) -> int:
    while not wire._pending:
        await asyncio.sleep(0)
    (rid,) = wire._pending
    return rid


def test_retries_are_sent_and_counted_then_a_timeout() -> None:
    """retries=2: three datagrams leave, two of them retries, then WireTimeout; a second
    request on the same endpoint adds to the counts."""

    async def go() -> None:
        with device() as (sock, port):
            wire = SnmpWire()
            try:
                with pytest.raises(WireTimeout):
                    await bounded(
                        wire.request("127.0.0.1", port, b"public", GET, [UPTIME], 0.02, 2)
                    )
                assert (wire.stats.sent, wire.stats.retries) == (3, 2)
                with pytest.raises(WireTimeout):
                    await bounded(
                        wire.request("127.0.0.1", port, b"public", GET, [UPTIME], 0.02, 1)
                    )
                assert (wire.stats.sent, wire.stats.retries) == (5, 3)
                seen = []
                with contextlib.suppress(BlockingIOError):
                    while True:
                        seen.append(sock.recv(65535))
                assert len(seen) == 5
                assert len({request_id(d) for d in seen}) == 2  # a retry repeats its request
            finally:
                wire.close()

    asyncio.run(go())


def test_received_counts_every_datagram_read() -> None:
    """Garbage, a wrong request-id and the reply: three datagrams received, one taken."""

    async def go() -> None:
        loop = asyncio.get_running_loop()
        with device() as (sock, port):
            wire = SnmpWire()
            try:
                asked = asyncio.create_task(
                    wire.request("127.0.0.1", port, b"public", GET, [UPTIME], 2.0, 0)
                )
                data, addr = await bounded(loop.sock_recvfrom(sock, 65535))
                rid = request_id(data)
                sock.sendto(b"\x00\x01", addr)
                sock.sendto(
                    pysnmp_response(b"public", rid ^ 1, [(UPTIME, rfc1902.TimeTicks(1))]), addr
                )
                sock.sendto(
                    pysnmp_response(b"public", rid, [(UPTIME, rfc1902.TimeTicks(42))]), addr
                )
                reply = await bounded(asked)
                assert reply.varbinds == [(UPTIME, 42)]
                assert wire.stats.received == 3
                assert (wire.stats.garbage, wire.stats.unknown_request) == (1, 1)
            finally:
                wire.close()

    asyncio.run(go())


def test_garbage_from_the_device_is_the_reason_of_its_timeout() -> None:
    """Only undecodable replies came back: the request fails with what was wrong with them (the
    latest one), naming the address and port; each one is counted as garbage."""

    async def go() -> None:
        with device() as (_, port):
            wire = SnmpWire()
            try:
                asked = asyncio.create_task(
                    wire.request("127.0.0.1", port, b"public", GET, [UPTIME], 0.1, 0)
                )
                await pending_rid(wire)
                wire._deliver(b"\x30\x00", ("127.0.0.1", port))
                with pytest.raises(WireError) as raised:
                    await bounded(asked)
                assert str(raised.value) == (
                    f"undecodable reply from 127.0.0.1:{port}: version: truncated at byte 2"
                )
                assert wire.stats.garbage == 1

                # The header matches, a value does not decode; garbage before it from elsewhere.
                asked = asyncio.create_task(
                    wire.request("127.0.0.1", port, b"public", GET, [UPTIME], 0.1, 0)
                )
                rid = await pending_rid(wire)
                wire._deliver(b"\x30\x00", ("127.0.0.9", port))
                bad_ip = tlv(0x30, tlv(0x06, encode_oid(UPTIME)[2:]) + b"\x40\x03\x0a\x00\x01")
                data = tlv(
                    0x30,
                    b"\x02\x01\x01"
                    + tlv(0x04, b"public")
                    + tlv(
                        0xA2, encode_integer(rid) + b"\x02\x01\x00\x02\x01\x00" + tlv(0x30, bad_ip)
                    ),
                )
                wire._deliver(data, ("127.0.0.1", port))
                with pytest.raises(WireError) as raised:
                    await bounded(asked)
                assert str(raised.value) == (
                    f"undecodable reply from 127.0.0.1:{port}: IpAddress of 3 bytes"
                )
                assert wire.stats.garbage == 3
            finally:
                wire.close()

    asyncio.run(go())


def test_a_get_answered_with_other_oids_names_them() -> None:
    async def go() -> None:
        with device() as (_, port):
            wire = SnmpWire()
            try:
                cases: list[tuple[list[Oid], list[Oid], str]] = [
                    (
                        [UPTIME],
                        [SYSNAME],
                        "variable-binding 1 names 1.3.6.1.2.1.1.5.0, not 1.3.6.1.2.1.1.3.0",
                    ),
                    (
                        [UPTIME, SYSNAME],
                        [UPTIME, UPTIME],
                        "variable-binding 2 names 1.3.6.1.2.1.1.3.0, not 1.3.6.1.2.1.1.5.0",
                    ),
                    ([UPTIME, SYSNAME], [UPTIME], "1 variable-bindings for 2 asked"),
                ]
                for asked_oids, named, why in cases:
                    asked = asyncio.create_task(
                        wire.request("127.0.0.1", port, b"public", GET, asked_oids, 2.0, 0)
                    )
                    rid = await pending_rid(wire)
                    values = [(oid, rfc1902.TimeTicks(7)) for oid in named]
                    wire._deliver(pysnmp_response(b"public", rid, values), ("127.0.0.1", port))
                    with pytest.raises(WireError) as raised:
                        await bounded(asked)
                    assert str(raised.value) == (
                        f"reply from 127.0.0.1:{port} does not answer the request: {why}"
                    )
                assert wire.stats.wrong_oids == 3
            finally:
                wire.close()

    asyncio.run(go())


def test_close_ends_a_waiting_request() -> None:
    """Nobody may wait forever on a closed endpoint: the request is cancelled at once."""

    async def go() -> None:
        with device() as (_, port):
            wire = SnmpWire()
            asked = asyncio.create_task(
                wire.request("127.0.0.1", port, b"public", GET, [UPTIME], 30.0, 0)
            )
            await pending_rid(wire)
            wire.close()
            with pytest.raises(asyncio.CancelledError):
                await bounded(asked, 1.0)
            assert asked.cancelled()

    asyncio.run(go())


def answer_once(sock: socket.socket) -> Callable[[], Coroutine[Any, Any, None]]:
    async def serve() -> None:
        data, addr = await asyncio.get_running_loop().sock_recvfrom(sock, 65535)
        sock.sendto(
            pysnmp_response(b"public", request_id(data), [(UPTIME, rfc1902.TimeTicks(42))]), addr
        )

    return serve


async def ask(wire: SnmpWire, sock: socket.socket, host: str, port: int) -> Any:
    serving = asyncio.create_task(answer_once(sock)())
    reply = await bounded(wire.request(host, port, b"public", GET, [UPTIME], 2.0, 0))
    await bounded(serving)
    return reply.varbinds


def test_an_endpoint_serves_again_after_close_and_in_a_new_event_loop() -> None:
    """CLI commands and tests each run their own event loop, and close() may come between
    requests: the endpoint answers every time."""
    wire = SnmpWire()
    with device() as (sock, port):

        async def twice() -> None:
            assert await ask(wire, sock, "127.0.0.1", port) == [(UPTIME, 42)]
            wire.close()
            assert await ask(wire, sock, "127.0.0.1", port) == [(UPTIME, 42)]

        async def once() -> None:
            assert await ask(wire, sock, "127.0.0.1", port) == [(UPTIME, 42)]

        try:
            asyncio.run(twice())
            asyncio.run(once())
            asyncio.run(once())
        finally:
            wire.close()


def test_close_after_the_event_loop_closed_mid_request() -> None:
    """A loop closed with a request outstanding (a CLI command interrupted): closing the
    endpoint, or using it from a new loop, raises nothing."""
    wire = SnmpWire()
    loop = asyncio.new_event_loop()
    with device() as (sock, port):
        task = loop.create_task(wire.request("127.0.0.1", port, b"public", GET, [UPTIME], 30.0, 0))
        loop.run_until_complete(asyncio.sleep(0.01))
        assert wire._pending
        loop.close()
        assert request_id(sock.recv(65535))  # the request sent from the closed loop
        try:
            wire.close()

            async def once() -> None:
                assert await ask(wire, sock, "127.0.0.1", port) == [(UPTIME, 42)]

            asyncio.run(once())
        finally:
            wire.close()
            task.get_coro().close()  # its loop is gone: end the coroutine here
            task._log_destroy_pending = False  # type: ignore[attr-defined]  # as asyncio does


def test_ipv6_and_two_endpoints_side_by_side() -> None:
    """Each endpoint has its own sockets (one per family) on ephemeral ports: two of them, over
    IPv4 and IPv6 at once, all answered."""

    async def go() -> None:
        with device() as (sock4, port4), device(socket.AF_INET6) as (sock6, port6):
            first, second = SnmpWire(), SnmpWire()
            try:
                for wire in (first, second):
                    assert await ask(wire, sock6, "::1", port6) == [(UPTIME, 42)]
                    assert await ask(wire, sock4, "127.0.0.1", port4) == [(UPTIME, 42)]
            finally:
                first.close()
                second.close()

    asyncio.run(go())


class FakeResolver:
    """getaddrinfo for names: `answers[host]` is the list of addresses each look-up returns in
    turn; an unknown host fails as the resolver would."""

    def __init__(self, answers: dict[str, list[list[tuple[int, str]]]]) -> None:
        self.answers = answers
        self.calls = 0

    async def getaddrinfo(self, host: str, port: int | None, **_: Any) -> list[Any]:
        if host not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        self.calls += 1
        turn = self.answers[host]
        result = turn.pop(0) if len(turn) > 1 else turn[0]
        out: list[Any] = []
        for family, address in result:
            sockaddr: tuple[Any, ...] = (address, port or 0)
            if family == socket.AF_INET6:
                sockaddr = (address, port or 0, 0, 0)
            out.append((family, socket.SOCK_DGRAM, 17, "", sockaddr))
        return out


def test_names_are_resolved_again_every_5_minutes(monkeypatch: pytest.MonkeyPatch) -> None:
    """A name is looked up once and kept 5 minutes (polls within them go where the first look-up
    said), then looked up again: a device that moved is followed. The first answer is used."""
    now = [1000.0]
    monkeypatch.setattr(snmpwire, "time", types.SimpleNamespace(monotonic=lambda: now[0]))
    resolver = FakeResolver(
        {
            "fw1.example": [
                [(socket.AF_INET, "10.0.0.1"), (socket.AF_INET6, "2001:db8::1")],
                [(socket.AF_INET6, "2001:db8::2"), (socket.AF_INET, "10.0.0.2")],
            ],
            "gone.example": [[]],
        }
    )

    async def go() -> list[Any]:
        monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", resolver.getaddrinfo)
        wire = SnmpWire()
        seen: list[Any] = []
        for at in (1000.0, 1000.0, 1299.9):
            now[0] = at
            seen.append(await wire._resolve("fw1.example", 161))
        now[0] = 1300.0
        seen.append(await wire._resolve("fw1.example", 161))
        seen.append(await wire._resolve("fw1.example", 1161))
        seen.append(await wire._resolve("::1", 161))
        seen.append(await wire._resolve("10.9.9.9", 162))
        now[0] = 10**9
        seen.append(await wire._resolve("::1", 161))
        with pytest.raises(OSError, match="resolve") as raised:
            await wire._resolve("gone.example", 161)
        assert str(raised.value) == "gone.example does not resolve"
        return seen

    seen = asyncio.run(go())
    v4, v6 = socket.AF_INET, socket.AF_INET6
    assert seen == [
        (v4, ("10.0.0.1", 161)),
        (v4, ("10.0.0.1", 161)),
        (v4, ("10.0.0.1", 161)),
        (v6, ("2001:db8::2", 161)),
        (v6, ("2001:db8::2", 1161)),
        (v6, ("::1", 161)),
        (v4, ("10.9.9.9", 162)),
        (v6, ("::1", 161)),
    ]


def test_request_ids_are_never_0_nor_outstanding(monkeypatch: pytest.MonkeyPatch) -> None:
    """A reply is matched by request-id among outstanding requests: a new request never takes
    the id of one still waiting (nor 0)."""
    draws = iter([0, 5, 0, 5, 9])
    monkeypatch.setattr(snmpwire, "secrets", types.SimpleNamespace(randbits=lambda _: next(draws)))
    wire = SnmpWire()
    wire._pending[5] = cast(Any, None)  # outstanding
    assert wire._request_id() == 9
