"""netmon's SNMPv2c codec, checked against pysnmp's (pyasn1) codec both ways, and fuzzed: any
datagram is either a Response or a WireError, never another exception."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyasn1.codec.ber import decoder, encoder
from pysnmp.proto import api, rfc1902

from netmon.collectors import snmpwire
from netmon.collectors.snmp import to_value
from netmon.collectors.snmpwire import (
    GET,
    GETNEXT,
    SnmpWire,
    WireError,
    WireTimeout,
    decode_oid,
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


def _tlv(tag: int, body: bytes) -> bytes:
    return snmpwire._tlv(tag, body)


def hand_response(
    rid: int, varbinds: Sequence[tuple[bytes, int, bytes]], community: bytes = b"public"
) -> bytes:
    """A Response built by hand, byte by byte: (OID contents, value tag, value contents) each, so
    that it can say what no encoder would (a 65 KB OID, a 20-byte Counter32)."""
    body = b"".join(_tlv(0x30, _tlv(0x06, oid) + _tlv(tag, value)) for oid, tag, value in varbinds)
    pdu = _tlv(0xA2, encode_integer(rid) + b"\x02\x01\x00\x02\x01\x00" + _tlv(0x30, body))
    return _tlv(0x30, b"\x02\x01\x01" + _tlv(0x04, community) + pdu)


def arc_bytes(arc: int) -> bytes:
    chunk = [arc & 0x7F]
    arc >>= 7
    while arc:
        chunk.append(0x80 | (arc & 0x7F))
        arc >>= 7
    return bytes(reversed(chunk))


UPTIME_OID = b"\x2b\x06\x01\x02\x01\x01\x03\x00"  # 1.3.6.1.2.1.1.3.0
# OID contents that are hostile: long arcs, many arcs, arcs that never end, random bytes.
hostile_oids = st.one_of(
    st.binary(max_size=300),
    st.builds(
        lambda n, end: b"\x2b" + b"\xff" * n + end, st.integers(0, 5000), st.binary(max_size=2)
    ),
    st.builds(lambda n: b"\x2b" + b"\x01" * n, st.integers(100, 5000)),
    st.lists(st.integers(0, 2**40), max_size=200).map(lambda a: b"".join(map(arc_bytes, a))),
)
hostile_values = st.tuples(
    st.sampled_from([0x02, 0x04, 0x05, 0x06, 0x40, 0x41, 0x42, 0x43, 0x44, 0x46, 0x47, 0x80, 0x99]),
    st.binary(max_size=40),
)


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
    varbinds=st.lists(
        st.tuples(
            hostile_oids,
            st.one_of(hostile_values, hostile_oids.map(lambda o: (0x06, o))),
        ),
        min_size=1,
        max_size=4,
    ),
    rid=st.integers(-(2**40), 2**40),
)
def test_hostile_oids_and_values_raise_only_wire_error(
    varbinds: list[tuple[bytes, tuple[int, bytes]]], rid: int
) -> None:
    """Long OIDs, long arcs, oversized integers: a Response within bounds or a WireError, and
    no other exception (a 3 KB arc used to raise ValueError when turned into text)."""
    data = hand_response(rid, [(oid, tag, value) for oid, (tag, value) in varbinds])
    try:
        reply = decode_response(data)
    except WireError:
        return
    assert -(2**31) <= reply.request_id < 2**31
    for oid, value in reply.varbinds:
        assert len(oid) <= 128 and all(0 <= a < 2**32 for a in oid[1:])
        if isinstance(value, int):
            assert -(2**31) <= value < 2**64
        if isinstance(value, str) and value[:1].isdigit() and "." in value:
            assert value.count(".") < 128


def test_oid_bounds() -> None:
    assert decode_oid(b"\x2b" + b"\x01" * 126) == (1, 3, *([1] * 126))  # 128 arcs: fine
    with pytest.raises(WireError, match="more than 128"):
        decode_oid(b"\x2b" + b"\x01" * 127)
    assert decode_oid(b"\x2b" + arc_bytes(2**32 - 1)) == (1, 3, 2**32 - 1)
    with pytest.raises(WireError, match="2\\^32"):
        decode_oid(b"\x2b" + arc_bytes(2**32))
    with pytest.raises(WireError, match="longer than 5 bytes"):
        decode_oid(b"\x2b" + b"\x80" * 5 + b"\x01")  # 6 bytes, even if its value is small
    # A 3 KB arc as an OID value: it was a plain ValueError (int too long to print), not WireError.
    three_kb = hand_response(1, [(UPTIME_OID, 0x06, b"\x2b" + b"\xff" * 3000 + b"\x01")])
    with pytest.raises(WireError):
        decode_response(three_kb)


def test_a_65kb_oid_is_rejected_in_linear_time() -> None:
    """One datagram with a 65 KB arc took 0.33-0.59 s (quadratic big-int shifts) before bounds."""
    for oid in (b"\x2b" + b"\xff" * 65_000 + b"\x01", b"\x2b" + b"\x01" * 65_000):
        data = hand_response(7, [(oid, 0x05, b"")], community=b"wrong")
        started = time.perf_counter()
        for _ in range(10):
            with pytest.raises(WireError, match="OID"):
                decode_response(data)
        assert (time.perf_counter() - started) / 10 < 0.005


def test_integer_lengths_and_ranges_are_capped() -> None:
    def value(tag: int, body: bytes) -> object:
        return decode_response(hand_response(1, [(UPTIME_OID, tag, body)])).varbinds[0][1]

    assert value(0x46, b"\x00" + b"\xff" * 8) == 2**64 - 1  # Counter64 in 9 bytes
    assert value(0x41, b"\x00\xff\xff\xff\xff") == 2**32 - 1
    assert value(0x02, b"\x80\x00\x00\x00") == -(2**31)
    for tag, body in [
        (0x46, b"\x01" + b"\x00" * 8),  # 2^64
        (0x46, b"\x00" * 10),
        (0x41, b"\x01\x00\x00\x00\x00"),  # 2^32
        (0x41, b"\x01" * 200),  # the 200-byte Counter32 of issue 15
        (0x43, b"\x00" * 6),
        (0x02, b"\x00\x80\x00\x00\x00"),  # 2^31
        (0x02, b"\x00" * 6),
    ]:
        with pytest.raises(WireError):
            value(tag, body)
    with pytest.raises(WireError, match="request-id"):
        decode_response(hand_response(2**40, []))


def test_only_oids_netmon_asked_for_are_cached() -> None:
    """Decoding what a stranger sent must not grow memory (300 floods kept +145 MB)."""
    before = len(snmpwire._oid_cache)
    for n in range(50):
        oid = b"\x2b" + b"".join(arc_bytes(n * 1000 + i) for i in range(100))
        decode_response(hand_response(n, [(oid, 0x05, b"")], community=b"wrong"))
    assert len(snmpwire._oid_cache) <= before


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
            assert wire.stats.garbage >= 2
            assert wire.stats.unknown_request >= 2  # the wrong ids (the duplicate may be later)
            assert wire.stats.bad_community >= 2
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


class Agent:
    """A local UDP responder: `answer(request_bytes, rid, sender)` is called for each request;
    `spoofer` is a second socket on another port for replies the wire must not take."""

    def __init__(self, answer: Any) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.spoofer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.spoofer.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.rids: list[int] = []
        self._answer = answer
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, addr = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            message, _ = decoder.decode(data, asn1Spec=V2C.Message())
            rid = int(V2C.apiPDU.get_request_id(V2C.apiMessage.get_pdu(message)))
            self.rids.append(rid)
            self._answer(self, rid, addr)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()
        self.spoofer.close()


UPTIME = (1, 3, 6, 1, 2, 1, 1, 3, 0)


def ask(agent: Agent, oids: Sequence[Oid] = (UPTIME,), op: int = GET) -> tuple[Any, SnmpWire]:
    async def go() -> tuple[Any, SnmpWire]:
        wire = SnmpWire()
        try:
            try:
                reply: Any = await wire.request(
                    "127.0.0.1", agent.port, b"public", op, list(oids), 0.3, 1
                )
            except (WireError, WireTimeout) as exc:
                reply = exc
            await asyncio.sleep(0.05)  # let stragglers arrive and be counted
            return reply, wire
        finally:
            wire.close()

    return asyncio.run(go())


def test_replies_from_another_port_are_dropped_whatever_they_say() -> None:
    """The spoofer knows the request-id and the community (it saw the request): its reply comes
    first, from another port, and is dropped; the device's own reply is taken."""

    def answer(agent: Agent, rid: int, addr: Any) -> None:
        agent.spoofer.sendto(
            pysnmp_response(b"public", rid, [(UPTIME, rfc1902.TimeTicks(1))]), addr
        )
        time.sleep(0.01)
        agent.sock.sendto(pysnmp_response(b"public", rid, [(UPTIME, rfc1902.TimeTicks(42))]), addr)

    agent = Agent(answer)
    try:
        reply, wire = ask(agent)
    finally:
        agent.close()
    assert not isinstance(reply, Exception), reply
    assert reply.varbinds == [(UPTIME, 42)]
    assert wire.stats.wrong_sender == 1


def test_the_header_is_checked_before_any_value() -> None:
    """A wrong community with undecodable values is a bad community, not garbage: the values
    were never looked at; the real reply after it is taken."""

    def answer(agent: Agent, rid: int, addr: Any) -> None:
        long_oid = b"\x2b" + b"\xff" * 60_000 + b"\x01"
        agent.sock.sendto(hand_response(rid, [(long_oid, 0x05, b"")], community=b"nope"), addr)
        agent.sock.sendto(hand_response(rid + 1, [(long_oid, 0x05, b"")]), addr)
        agent.sock.sendto(pysnmp_response(b"public", rid, [(UPTIME, rfc1902.TimeTicks(42))]), addr)

    agent = Agent(answer)
    try:
        reply, wire = ask(agent)
    finally:
        agent.close()
    assert not isinstance(reply, Exception), reply
    assert reply.varbinds == [(UPTIME, 42)]
    assert (wire.stats.bad_community, wire.stats.unknown_request, wire.stats.garbage) == (1, 1, 0)


def test_a_reply_naming_other_oids_is_an_error_not_values() -> None:
    other = (1, 3, 6, 1, 2, 1, 1, 5, 0)

    def answer(agent: Agent, rid: int, addr: Any) -> None:
        agent.sock.sendto(pysnmp_response(b"public", rid, [(other, rfc1902.TimeTicks(7))]), addr)

    agent = Agent(answer)
    try:
        reply, wire = ask(agent)
        assert isinstance(reply, WireError) and "does not answer" in str(reply)
        assert wire.stats.wrong_oids == 1
        # GETNEXT names other OIDs by design: the walkers judge them (repeats, going backwards).
        reply, _ = ask(agent, [(1, 3, 6, 1, 2, 1, 1, 4)], GETNEXT)
        assert not isinstance(reply, Exception) and reply.varbinds == [(other, 7)]
    finally:
        agent.close()


def test_request_ids_are_random() -> None:
    def answer(agent: Agent, rid: int, addr: Any) -> None:
        agent.sock.sendto(pysnmp_response(b"public", rid, [(UPTIME, rfc1902.TimeTicks(1))]), addr)

    agent = Agent(answer)

    async def go() -> None:
        wire = SnmpWire()
        try:
            for _ in range(8):
                await wire.request("127.0.0.1", agent.port, b"public", GET, [UPTIME], 0.3, 1)
        finally:
            wire.close()

    try:
        asyncio.run(go())
    finally:
        agent.close()
    steps = {b - a for a, b in zip(agent.rids, agent.rids[1:], strict=False)}
    assert len(agent.rids) == 8 and len(steps) > 1 and 1 not in steps
    assert all(0 < rid < 2**31 for rid in agent.rids)


FORGERIES = st.lists(
    st.tuples(
        st.sampled_from(["request_id", "community", "address", "port", "garbage"]),
        st.binary(min_size=1, max_size=60),
        st.integers(1, 2**31 - 1),
    ),
    max_size=10,
)


@settings(max_examples=fuzz_examples(60), deadline=None)
@given(forgeries=FORGERIES)
def test_a_reply_needs_its_sender_request_id_and_community(
    forgeries: list[tuple[str, bytes, int]],
) -> None:
    """Before the device's own reply, any number of forgeries that get one of sender address,
    sender port, request-id or community wrong (or are not SNMP at all), each saying something
    else: every one is dropped and counted, and the request gets the device's own value."""

    async def go() -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as device:
            device.bind(("127.0.0.1", 0))
            port = device.getsockname()[1]
            wire = SnmpWire()
            try:
                asked = asyncio.create_task(
                    wire.request("127.0.0.1", port, b"public", GET, [UPTIME], 2.0, 0)
                )
                while not wire._pending:
                    await asyncio.sleep(0)
                (rid,) = wire._pending
                lie = [(UPTIME, rfc1902.TimeTicks(1))]
                for kind, noise, number in forgeries:
                    other_rid = number if number != rid else rid % (2**31 - 1) + 1
                    data, sender = pysnmp_response(b"public", rid, lie), ("127.0.0.1", port)
                    if kind == "request_id":
                        data = pysnmp_response(b"public", other_rid, lie)
                    elif kind == "community":
                        data = pysnmp_response(noise if noise != b"public" else b"x", rid, lie)
                    elif kind == "address":
                        sender = ("127.0.0.2", port)
                    elif kind == "port":
                        sender = ("127.0.0.1", port % 65535 + 1)
                    else:
                        data = noise
                    wire._deliver(data, sender)
                dropped = wire.stats.dropped
                wire._deliver(
                    pysnmp_response(b"public", rid, [(UPTIME, rfc1902.TimeTicks(42))]),
                    ("127.0.0.1", port),
                )
                reply = await asked
            finally:
                wire.close()
        assert reply.varbinds == [(UPTIME, 42)]
        assert dropped == len(forgeries)
        assert wire.stats.wrong_oids == 0

    asyncio.run(go())
