"""SNMPv2c on the wire: the message codec and the UDP endpoint of netmon's read path.

Why netmon does not use pysnmp here: a poll is one small GET of a dozen known instances, and
pysnmp spends ~75% of such a poll in pyasn1 (building, encoding and decoding generic ASN.1
objects) and in its per-request LCD table lookups (docs/performance.md has the profile). A
v2c GET/GETNEXT and its Response are a fixed, tiny subset of BER (RFC 3416, X.690): requests are
built from cached bytes, replies are decoded straight into netmon's values. SNMPv3 reads frame
the same PDUs in USM (v3msg, v3wire), the trap receiver reads notifications with this codec
(trapwire); pysnmp stays for SET only (drills).

Every reply that is not a well-formed v2c Response raises WireError naming what and at which
byte; the endpoint never lets one bad datagram touch another request.

Hostile senders (issue 15): the decoder bounds its work before doing it (at most 128 arcs per OID,
5 bytes per arc, 5 bytes per INTEGER and 32-bit value, 9 per Counter64), so any datagram costs
time linear in its size; the endpoint reads only the header (community, request-id) of a datagram
and checks it and the sender's address and port against the outstanding request before decoding
any value. Request-ids are random; only OIDs netmon asked for are cached.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import logging
import secrets
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from netmon.model import Missing, Oid, Value

log = logging.getLogger(__name__)

GET, GETNEXT, RESPONSE = 0xA0, 0xA1, 0xA2
_SEQUENCE, _INTEGER, _OCTETS, _NULL, _OID = 0x30, 0x02, 0x04, 0x05, 0x06
_IPADDRESS, _OPAQUE = 0x40, 0x44
_UNSIGNED = frozenset(
    (0x41, 0x42, 0x43, 0x46, 0x47)
)  # Counter32, Gauge32, TimeTicks, Counter64, UInteger32
_EXCEPTIONS = {
    0x80: Missing.NO_SUCH_OBJECT,
    0x81: Missing.NO_SUCH_INSTANCE,
    0x82: Missing.END_OF_MIB,
}
_V2C = b"\x02\x01\x01"
_NO_ERROR = b"\x02\x01\x00\x02\x01\x00"  # error-status 0, error-index 0
# Replies mostly name the OIDs netmon asked for: their decoded form is kept by their bytes.
# Only OIDs netmon sent are cached, never arcs a datagram brought.
_OID_CACHE_LIMIT = 50_000
MAX_OID_ARCS = 128  # RFC 2578 7.1.3
_MAX_ARC_BYTES = 5  # a sub-identifier is < 2^32: 5 bytes of 7 bits
_MAX_INT_BYTES = 5  # Integer32 and the 32-bit unsigned types (one leading 0x00 byte allowed)
_MAX_COUNTER64_BYTES = 9
_COUNTER64 = 0x46


class WireError(ValueError):
    """A datagram that is not a well-formed SNMPv2c Response."""


class WireTimeout(Exception):
    """No reply within timeout x tries."""


# -- encoding ------------------------------------------------------------------------------


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def _tlv(tag: int, body: bytes) -> bytes:
    return bytes((tag,)) + _length(len(body)) + body


def encode_integer(value: int) -> bytes:
    magnitude = value if value >= 0 else ~value
    return _tlv(_INTEGER, value.to_bytes(magnitude.bit_length() // 8 + 1, "big", signed=True))


def encode_oid(oid: Oid) -> bytes:
    return _tlv(_OID, _oid_body(oid))


def _oid_body(oid: Oid) -> bytes:
    if len(oid) < 2 or not 0 <= oid[0] <= 2 or (oid[0] < 2 and not 0 <= oid[1] < 40):
        raise ValueError(f"not an encodable OID: {'.'.join(map(str, oid))}")
    body = bytearray()
    for arc in (oid[0] * 40 + oid[1], *oid[2:]):
        if arc < 0:
            raise ValueError(f"negative arc in OID {'.'.join(map(str, oid))}")
        chunk = [arc & 0x7F]
        rest = arc >> 7
        while rest:
            chunk.append(0x80 | (rest & 0x7F))
            rest >>= 7
        body.extend(reversed(chunk))
    return bytes(body)


def encode_varbinds(oids: Sequence[Oid]) -> bytes:
    """The variable-bindings of a read request: each OID with a NULL value."""
    return _tlv(_SEQUENCE, b"".join(_tlv(_SEQUENCE, encode_oid(o) + b"\x05\x00") for o in oids))


def encode_request(community: bytes, pdu_type: int, request_id: int, varbinds: bytes) -> bytes:
    pdu = _tlv(pdu_type, encode_integer(request_id) + _NO_ERROR + varbinds)
    return _tlv(_SEQUENCE, _V2C + _tlv(_OCTETS, community) + pdu)


# -- decoding ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Response:
    community: bytes
    request_id: int
    error_status: int
    error_index: int
    varbinds: list[tuple[Oid, Value]]


def _header(data: bytes, pos: int, end: int, what: str) -> tuple[int, int, int]:
    """(tag, start, end) of the TLV at `pos`; its contents must fit before `end`."""
    if pos + 2 > end:
        raise WireError(f"{what}: truncated at byte {pos}")
    tag = data[pos]
    first = data[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4:  # 0x80: indefinite length, which SNMP does not use
            raise WireError(f"{what}: unsupported length form 0x{first:02x} at byte {pos - 1}")
        if pos + count > end:
            raise WireError(f"{what}: truncated length at byte {pos}")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    if pos + length > end:
        raise WireError(f"{what}: length {length} at byte {pos} runs past its container")
    return tag, pos, pos + length


def _expect(data: bytes, pos: int, end: int, tag: int, what: str) -> tuple[int, int]:
    got, start, stop = _header(data, pos, end, what)
    if got != tag:
        raise WireError(f"{what}: tag 0x{got:02x} at byte {pos}, expected 0x{tag:02x}")
    return start, stop


def _int(data: bytes, start: int, stop: int, what: str) -> int:
    if start == stop:
        raise WireError(f"{what}: empty INTEGER at byte {start}")
    if stop - start > _MAX_INT_BYTES:
        raise WireError(f"{what}: INTEGER of {stop - start} bytes at byte {start}")
    value = int.from_bytes(data[start:stop], "big", signed=True)
    if not -(1 << 31) <= value < 1 << 31:
        raise WireError(f"{what}: {value} at byte {start} is not an Integer32")
    return value


_oid_cache: dict[bytes, Oid] = {}


def remember_oids(oids: Sequence[Oid]) -> None:
    """Cache the decoded form of OIDs netmon sends: the only entries the cache ever gets."""
    for oid in oids:
        if len(_oid_cache) >= _OID_CACHE_LIMIT:
            _oid_cache.clear()  # a walk of a huge table must not grow memory without bound
        _oid_cache[_oid_body(oid)] = oid


def decode_oid(raw: bytes) -> Oid:
    """An OID's contents -> its arcs; WireError past 128 arcs or 5 bytes (2^32) in an arc.
    Time linear in len(raw), and bounded: nothing longer than 128 x 5 bytes is looked at."""
    cached = _oid_cache.get(raw)
    if cached is not None:
        return cached
    if not raw or raw[-1] & 0x80:
        raise WireError("OID is empty or ends inside an arc")
    if len(raw) > (MAX_OID_ARCS - 1) * _MAX_ARC_BYTES:
        raise WireError(f"OID of {len(raw)} bytes: longer than {MAX_OID_ARCS} arcs can be")
    arcs: list[int] = []
    value = 0
    width = 0
    for byte in raw:
        value = (value << 7) | (byte & 0x7F)
        width += 1
        if width > _MAX_ARC_BYTES:
            raise WireError(f"OID arc {len(arcs) + 1} longer than {_MAX_ARC_BYTES} bytes")
        if not byte & 0x80:
            if value >> 32:
                raise WireError(f"OID arc {len(arcs) + 1} is 2^32 or more")
            arcs.append(value)
            value = width = 0
    if len(arcs) >= MAX_OID_ARCS:
        raise WireError(f"OID of {len(arcs) + 1} arcs: more than {MAX_OID_ARCS}")
    first = arcs[0]
    head = (first // 40, first % 40) if first < 80 else (2, first - 80)
    return (*head, *arcs[1:])


def _value(tag: int, body: bytes) -> Value:
    """A reply value -> netmon's Value, the same mapping as the pysnmp path (to_value)."""
    if tag == _INTEGER:
        return _int(body, 0, len(body), "INTEGER value")
    if tag in _UNSIGNED:
        if not body:
            raise WireError(f"empty value of type 0x{tag:02x}")
        bits = 64 if tag == _COUNTER64 else 32
        if len(body) > (_MAX_COUNTER64_BYTES if bits == 64 else _MAX_INT_BYTES):
            raise WireError(f"value of type 0x{tag:02x} of {len(body)} bytes")
        number = int.from_bytes(body, "big")
        if number >> bits:
            raise WireError(f"value {number} of type 0x{tag:02x} exceeds {bits} bits")
        return number
    if tag in (_OCTETS, _OPAQUE):
        return octets_text(body)
    if tag == _IPADDRESS:
        if len(body) != 4:
            raise WireError(f"IpAddress of {len(body)} bytes")
        return ".".join(str(b) for b in body)
    if tag == _OID:
        return ".".join(map(str, decode_oid(body)))
    missing = _EXCEPTIONS.get(tag)
    if missing is not None:
        return missing
    return Missing.NOT_RETURNED  # NULL, or a type this reader does not know: no value


def octets_text(body: bytes) -> str:
    """An OCTET STRING as text: UTF-8 where it is valid, else Latin-1 (one character per byte).

    Device strings are mostly ASCII/UTF-8, but binary OCTET STRINGs (a VRRPv3 master's
    InetAddress: 192.168.1.1 is c0 a8 01 01) are not: decoding them with replacement would
    lose the bytes, Latin-1 keeps every byte recoverable (`text.encode("latin-1")`)."""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return body.decode("latin-1")


@dataclass(frozen=True, slots=True)
class Header:
    """What a Response says before its values: enough to match it to a request."""

    community: bytes
    request_id: int
    rest: int  # where error-status starts
    end: int  # where the PDU ends


def decode_header(data: bytes) -> Header:
    """Version, community, PDU type and request-id only: constant work whatever the size."""
    end = len(data)
    pos, end = _expect(data, 0, end, _SEQUENCE, "message")
    start, stop = _expect(data, pos, end, _INTEGER, "version")
    version = _int(data, start, stop, "version")
    if version != 1:
        raise WireError(f"version: SNMP message version {version}, expected 1 (v2c)")
    start, pos = _expect(data, stop, end, _OCTETS, "community")
    community = data[start:pos]
    tag, pos, end = _header(data, pos, end, "PDU")
    if tag != RESPONSE:
        raise WireError(f"PDU: type 0x{tag:02x}, expected a Response (0xa2)")
    start, pos = _expect(data, pos, end, _INTEGER, "request-id")
    return Header(community, _int(data, start, pos, "request-id"), pos, end)


def decode_response(data: bytes, header: Header | None = None) -> Response:
    """A v2c Response datagram -> Response. Raises WireError naming what is wrong and where;
    never another exception, whatever the bytes. `header`: decode_header(data), if already read."""
    if header is None:
        header = decode_header(data)
    pos, end = header.rest, header.end
    fields = [header.request_id]
    for what in ("error-status", "error-index"):
        start, pos = _expect(data, pos, end, _INTEGER, what)
        fields.append(_int(data, start, pos, what))
    pos, end = _expect(data, pos, end, _SEQUENCE, "variable-bindings")
    varbinds: list[tuple[Oid, Value]] = []
    while pos < end:
        where = f"variable-binding {len(varbinds) + 1}"
        pos, stop = _expect(data, pos, end, _SEQUENCE, where)
        start, after = _expect(data, pos, stop, _OID, where + " name")
        oid = decode_oid(data[start:after])
        tag, start, pos = _header(data, after, stop, where + " value")
        if pos != stop:
            raise WireError(f"{where}: {stop - pos} stray bytes at byte {pos}")
        varbinds.append((oid, _value(tag, data[start:pos])))
    return Response(header.community, fields[0], fields[1], fields[2], varbinds)


# -- the endpoint --------------------------------------------------------------------------


@dataclass(slots=True)
class _Pending:
    future: asyncio.Future[Response]
    message: bytes
    sockaddr: tuple[str, int]
    sock: socket.socket
    peer: tuple[str, int]  # the address (no scope) and port a reply must come from
    community: bytes
    pdu_type: int
    oids: tuple[Oid, ...]
    tries_left: int
    timeout: float
    timer: asyncio.TimerHandle | None = None
    garbage: str | None = None


@dataclass
class WireStats:
    """Datagrams of the read path. Every received datagram that is not taken as a reply is
    counted once, by the first check it fails (header first, values last)."""

    sent: int = 0
    received: int = 0
    retries: int = 0
    garbage: int = 0  # not a v2c Response, or its values do not decode
    unknown_request: int = 0  # no outstanding request has that id: late, duplicate or guessed
    wrong_sender: int = 0  # not from the address and port the request went to
    bad_community: int = 0  # right request-id and sender, wrong community
    wrong_oids: int = 0  # a reply naming other OIDs than asked: an error for that request

    @property
    def late_or_duplicate(self) -> int:
        return self.unknown_request

    @property
    def undecodable(self) -> int:
        return self.garbage

    @property
    def dropped(self) -> int:
        return self.garbage + self.unknown_request + self.wrong_sender + self.bad_community


def _peer(host: str, port: int) -> tuple[str, int]:
    """An address as recvfrom reports it: canonical text, without an IPv6 scope."""
    return _canonical_host(host), port


@functools.lru_cache(maxsize=65_536)
def _canonical_host(host: str) -> str:
    # Called for every request and every reply: parsing the address each time was a tenth of
    # a v3 poll's CPU (the profile in docs/performance.md). The hosts are the fleet's.
    host = host.partition("%")[0]
    with contextlib.suppress(ValueError):
        host = str(ipaddress.ip_address(host))
    return host


def _unexpected_oids(asked: tuple[Oid, ...], reply: Response) -> str | None:
    """Why a Response (error-status 0) to a GET does not name the OIDs asked, or None."""
    got = [oid for oid, _ in reply.varbinds]
    if len(got) != len(asked):
        return f"{len(got)} variable-bindings for {len(asked)} asked"
    for n, (want, oid) in enumerate(zip(asked, got, strict=True), 1):
        if oid != want:
            name = ".".join(map(str, oid))
            return f"variable-binding {n} names {name}, not {'.'.join(map(str, want))}"
    return None


class UdpEndpoint:
    """Non-blocking UDP sockets, one per address family, read on the running event loop: what
    the v2c and the v3 read paths share. Each datagram goes to `_deliver`; a new event loop (a
    CLI command, a test) gets new sockets."""

    RECEIVE_BUFFER = 4 << 20

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sockets: dict[int, socket.socket] = {}
        self._varbinds: dict[tuple[Oid, ...], bytes] = {}

    def _encoded(self, oids: Sequence[Oid]) -> tuple[tuple[Oid, ...], bytes]:
        """The var-bindings of a request for `oids`, encoded once per set of OIDs (a poll asks
        the same few sets every cycle); their decoded form is remembered for the replies."""
        key = tuple(oids)
        varbinds = self._varbinds.get(key)
        if varbinds is None:
            if len(self._varbinds) > 50_000:
                self._varbinds.clear()
            varbinds = self._varbinds[key] = encode_varbinds(key)
            remember_oids(key)
        return key, varbinds

    def _deliver(self, data: bytes, addr: tuple[str, int]) -> None:
        raise NotImplementedError

    def _close_sockets(self) -> None:
        for sock in self._sockets.values():
            if self._loop is not None and not self._loop.is_closed():
                self._loop.remove_reader(sock.fileno())
            sock.close()
        self._sockets.clear()
        self._loop = None

    def _socket(self, family: int) -> socket.socket:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a new event loop (a CLI command, a test): new sockets
            self.close()
            self._loop = loop
        sock = self._sockets.get(family)
        if sock is None:
            sock = socket.socket(family, socket.SOCK_DGRAM)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.RECEIVE_BUFFER)
            except OSError:
                log.warning("could not raise the SNMP socket's receive buffer")
            sock.setblocking(False)
            sock.bind(("::", 0) if family == socket.AF_INET6 else ("0.0.0.0", 0))
            loop.add_reader(sock.fileno(), self._readable, sock)
            self._sockets[family] = sock
        return sock

    def close(self) -> None:
        self._close_sockets()

    def _readable(self, sock: socket.socket) -> None:
        drain(sock, self._deliver, "SNMP socket")


def drain(
    sock: socket.socket, deliver: Callable[[bytes, tuple[str, int]], object], what: str
) -> None:
    """Hand every datagram waiting on a non-blocking socket to `deliver`: one wake-up for a
    burst of replies or notifications."""
    while True:
        try:
            data, addr = sock.recvfrom(65535)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:  # ICMP errors surface here on some kernels: not ours to fail
            log.debug("%s: %s", what, exc)
            return
        deliver(data, (str(addr[0]), int(addr[1])))


class SnmpWire(UdpEndpoint):
    """Every v2c read of the process over one non-blocking UDP socket per address family.

    Replies are matched to requests by request-id (random, unique among outstanding requests),
    sender address and port, and community, all read before any value is decoded; a GET's
    reply must name the OIDs asked. Duplicates, late replies and everything else are dropped
    and counted by reason in `stats`. The receive buffer is raised so that a burst of replies
    is not dropped by the kernel (the default ~200 KiB overflowed above ~150 requests in flight).
    """

    def __init__(self) -> None:
        super().__init__()
        self._pending: dict[int, _Pending] = {}
        self._addresses: dict[tuple[str, int], tuple[int, tuple[str, int], float]] = {}
        self.stats = WireStats()

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        self._close_sockets()
        for pending in self._pending.values():
            if pending.timer is not None:
                pending.timer.cancel()
            if not pending.future.done() and not pending.future.get_loop().is_closed():
                pending.future.cancel()  # nobody may wait forever on a closed endpoint
        self._pending.clear()

    async def _resolve(self, host: str, port: int) -> tuple[int, tuple[str, int]]:
        now = time.monotonic()
        cached = self._addresses.get((host, port))
        if cached is not None and cached[2] > now:
            return cached[0], cached[1]
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_DGRAM)
            if not infos:
                raise OSError(f"{host} does not resolve") from None
            family, _, _, _, sockaddr = infos[0]
            expires = now + 300.0  # a name may move: look it up again every 5 minutes
            entry = (int(family), (str(sockaddr[0]), int(sockaddr[1])), expires)
        else:
            family = socket.AF_INET6 if literal.version == 6 else socket.AF_INET
            entry = (family, (host, port), float("inf"))
        self._addresses[(host, port)] = entry
        return entry[0], entry[1]

    # -- requests ----------------------------------------------------------------------------

    def _request_id(self) -> int:
        while True:
            rid = secrets.randbits(31)
            if rid and rid not in self._pending:
                return rid

    async def request(
        self,
        host: str,
        port: int,
        community: bytes,
        pdu_type: int,
        oids: Sequence[Oid],
        per_try: float,
        retries: int,
    ) -> Response:
        """Send one GET/GETNEXT and wait for its Response. Raises WireTimeout, WireError (only
        undecodable replies came back from that address) or OSError (the send failed)."""
        family, sockaddr = await self._resolve(host, port)
        sock = self._socket(family)
        key, varbinds = self._encoded(oids)
        rid = self._request_id()
        message = encode_request(community, pdu_type, rid, varbinds)
        loop = asyncio.get_running_loop()
        pending = _Pending(
            loop.create_future(),
            message,
            sockaddr,
            sock,
            _peer(*sockaddr),
            community,
            pdu_type,
            key,
            retries,
            per_try,
        )
        self._pending[rid] = pending
        try:
            self._send(pending)
            pending.timer = loop.call_later(per_try, self._expired, rid)
            return await pending.future
        finally:
            self._pending.pop(rid, None)
            if pending.timer is not None:
                pending.timer.cancel()

    def _send(self, pending: _Pending) -> None:
        # A full send buffer drops this try; the retry timer sends again.
        with contextlib.suppress(BlockingIOError):
            pending.sock.sendto(pending.message, pending.sockaddr)
        self.stats.sent += 1

    def _expired(self, rid: int) -> None:
        pending = self._pending.get(rid)
        if pending is None or pending.future.done():
            return
        if pending.tries_left > 0:
            pending.tries_left -= 1
            self.stats.retries += 1
            try:
                self._send(pending)
            except OSError as exc:
                pending.future.set_exception(exc)
                return
            pending.timer = asyncio.get_running_loop().call_later(
                pending.timeout, self._expired, rid
            )
            return
        if pending.garbage is not None:
            pending.future.set_exception(WireError(pending.garbage))
        else:
            pending.future.set_exception(WireTimeout())

    def _deliver(self, data: bytes, addr: tuple[str, int]) -> None:
        # Cheap checks first: the header, then sender, request-id and community; values last.
        self.stats.received += 1
        peer = _peer(*addr)
        try:
            header = decode_header(data)
        except WireError as exc:
            self.stats.garbage += 1
            # Kept on that address's open requests: if no good reply follows, it is the reason.
            for waiting in self._pending.values():
                if waiting.peer == peer:
                    waiting.garbage = f"undecodable reply from {addr[0]}:{addr[1]}: {exc}"
            return
        pending = self._pending.get(header.request_id)
        if pending is None or pending.future.done():
            self.stats.unknown_request += 1
            return
        if pending.peer != peer:
            self.stats.wrong_sender += 1
            return
        if pending.community != header.community:
            self.stats.bad_community += 1
            return
        try:
            response = decode_response(data, header)
        except WireError as exc:
            self.stats.garbage += 1
            pending.garbage = f"undecodable reply from {addr[0]}:{addr[1]}: {exc}"
            return
        # A GET's reply names the OIDs asked. A GETNEXT's names later ones: its walkers judge
        # each column (an agent that repeats or goes backwards is a per-column finding there).
        if response.error_status == 0 and pending.pdu_type == GET:
            wrong = _unexpected_oids(pending.oids, response)
            if wrong is not None:
                self.stats.wrong_oids += 1
                pending.future.set_exception(
                    WireError(
                        f"reply from {addr[0]}:{addr[1]} does not answer the request: {wrong}"
                    )
                )
                return
        pending.future.set_result(response)
