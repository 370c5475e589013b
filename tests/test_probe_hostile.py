"""ICMP echo replies count only from the probed address, whole and unchanged (issue 15).

A fake ICMP socket, injected through `Prober(socket_factory=...)`, answers each request with
crafted replies: the checks run on the bytes and source addresses a real socket would give.
One test sends real 1,500-byte probes over a raw socket to 127.0.0.1 (root).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import struct
from collections import deque
from collections.abc import Callable
from typing import cast

import pytest

from netmon.collectors.probe import (
    ECHO_REPLY,
    ICMP_HEADER,
    IP_HEADER,
    NONCE_BYTES,
    Prober,
    checksum,
    echo_request,
)
from netmon.model import ProbeResult

from .conftest import require

TARGET = "192.0.2.10"
OTHER = "192.0.2.66"
KERNEL_ID = 0x4242  # the id an unprivileged ICMP socket's kernel puts on the wire

# What the fake sends back for one request: (ICMP message, source address, delay in seconds).
Reply = tuple[bytes, str, float]
Responder = Callable[[bytes, str], list[Reply]]


def reply_to(request: bytes, payload: bytes | None = None, ident: int | None = None) -> bytes:
    """The echo reply a host gives to `request`, optionally with another payload or id."""
    _, _, _, req_ident, seq = struct.unpack("!BBHHH", request[:ICMP_HEADER])
    body = request[ICMP_HEADER:] if payload is None else payload
    ident = req_ident if ident is None else ident
    header = struct.pack("!BBHHH", ECHO_REPLY, 0, 0, ident, seq)
    return struct.pack("!BBHHH", ECHO_REPLY, 0, checksum(header + body), ident, seq) + body


def ip_header(source: str, length: int) -> bytes:
    """An IPv4 header as a raw socket hands it over in front of the ICMP message."""
    return struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + length, 0, 0x4000, 64, socket.IPPROTO_ICMP, 0,
        socket.inet_aton(source), socket.inet_aton("192.0.2.1"),
    )  # fmt: skip


class FakeIcmpSocket:
    """Stands in for a raw (or datagram) ICMP socket. Replies wait in a queue; a real socket
    pair makes the event loop's reader fire, as the kernel would for a real one."""

    def __init__(self, respond: Responder, raw: bool = True) -> None:
        self.respond = respond
        self.raw = raw
        self.sent: list[tuple[bytes, str]] = []
        self._inbox: deque[tuple[bytes, tuple[str, int]]] = deque()
        self._wake, self._bell = socket.socketpair()
        self._wake.setblocking(False)

    def fileno(self) -> int:
        return self._wake.fileno()

    def setsockopt(self, *_args: object) -> None:
        pass

    def setblocking(self, _flag: bool) -> None:
        pass

    def sendto(self, data: bytes, address: tuple[str, int]) -> int:
        self.sent.append((data, address[0]))
        loop = asyncio.get_running_loop()
        for message, source, delay in self.respond(data, address[0]):
            loop.call_later(delay, self.deliver, message, source)
        return len(data)

    def deliver(self, icmp: bytes, source: str) -> None:
        packet = ip_header(source, len(icmp)) + icmp if self.raw else icmp
        self._inbox.append((packet, (source, 0)))
        self._bell.send(b"!")

    def recvfrom(self, _size: int) -> tuple[bytes, tuple[str, int]]:
        with contextlib.suppress(BlockingIOError):  # one wake-up byte per queued reply
            self._wake.recv(1)
        if not self._inbox:
            raise BlockingIOError
        return self._inbox.popleft()

    def close(self) -> None:
        self._wake.close()
        self._bell.close()


def run_probe(
    respond: Responder, size: int = 1500, count: int = 3, *, raw: bool = True, target: str = TARGET
) -> tuple[ProbeResult, Prober, FakeIcmpSocket]:
    fake = FakeIcmpSocket(respond, raw=raw)

    def factory(_family: int, kind: int, _proto: int) -> socket.socket:
        if kind == socket.SOCK_RAW and not raw:
            raise PermissionError(1, "Operation not permitted")
        return cast("socket.socket", fake)

    async def go() -> ProbeResult:
        prober = Prober(rate=10_000, socket_factory=factory)
        try:
            return await prober.probe(target, size, count, 0.3)
        finally:
            prober.close()
            holder.append(prober)

    holder: list[Prober] = []
    result = asyncio.run(go())
    return result, holder[0], fake


def test_a_matching_reply_counts() -> None:
    result, prober, fake = run_probe(lambda req, dst: [(reply_to(req), dst, 0.0)])
    assert (result.sent, result.received) == (3, 3)
    assert result.rtt is not None
    assert [dst for _, dst in fake.sent] == [TARGET] * 3
    assert all(len(req) == 1500 - 20 for req, _ in fake.sent)
    assert not prober.dropped


def test_a_reply_from_another_address_is_ignored() -> None:
    result, prober, _ = run_probe(lambda req, _dst: [(reply_to(req), OTHER, 0.0)])
    assert result.received == 0
    assert prober.dropped == {"wrong_source": 3}


def test_a_small_reply_to_a_large_probe_is_ignored() -> None:
    """The November 2023 failure: large packets lost, a small answer must not hide it."""

    def short(req: bytes, dst: str) -> list[Reply]:
        return [(reply_to(req, payload=req[ICMP_HEADER : ICMP_HEADER + 36]), dst, 0.0)]

    result, prober, _ = run_probe(short)
    assert result.received == 0
    assert result.loss == 1.0
    assert prober.dropped == {"wrong_size": 3}


def test_a_reply_cut_inside_its_header_is_ignored() -> None:
    result, prober, _ = run_probe(lambda req, dst: [(reply_to(req)[:6], dst, 0.0)], count=1)
    assert result.received == 0
    assert prober.dropped == {"truncated": 1}


def test_an_altered_payload_of_the_right_size_is_ignored() -> None:
    def altered(req: bytes, dst: str) -> list[Reply]:
        body = bytearray(req[ICMP_HEADER:])
        body[700] ^= 0xFF
        return [(reply_to(req, payload=bytes(body)), dst, 0.0)]

    result, prober, _ = run_probe(altered)
    assert result.received == 0
    assert prober.dropped == {"wrong_payload": 3}


def test_forged_replies_first_do_not_take_the_real_ones_place() -> None:
    """Forged replies (another source, a short payload, an altered one) arrive before the real
    reply: each is dropped and the request keeps waiting, so the real reply still counts."""

    def forged_then_real(req: bytes, dst: str) -> list[Reply]:
        body = bytearray(req[ICMP_HEADER:])
        body[0] ^= 0x01
        return [
            (reply_to(req), OTHER, 0.0),
            (reply_to(req, payload=req[ICMP_HEADER : ICMP_HEADER + 36]), dst, 0.0),
            (reply_to(req, payload=bytes(body)), dst, 0.0),
            (reply_to(req), dst, 0.05),
        ]

    result, prober, _ = run_probe(forged_then_real)
    assert (result.sent, result.received) == (3, 3)
    assert prober.dropped == {"wrong_source": 3, "wrong_size": 3, "wrong_payload": 3}


def test_a_duplicate_reply_counts_once() -> None:
    result, prober, _ = run_probe(lambda req, dst: [(reply_to(req), dst, 0.0)] * 2, count=1)
    assert result.received == 1
    assert prober.dropped == {"unknown_seq": 1}


def test_raw_socket_ignores_replies_to_other_processes() -> None:
    """A raw socket sees every echo reply of the host; another id is someone else's ping, not
    an attack: neither taken nor counted."""
    result, prober, _ = run_probe(lambda req, dst: [(reply_to(req, ident=1), dst, 0.0)], count=1)
    assert result.received == 0
    assert not prober.dropped


def test_unprivileged_icmp_socket_is_checked_the_same_way() -> None:
    """Datagram ICMP sockets: no IP header, and the kernel's own id on the wire."""

    def answers(req: bytes, dst: str) -> list[Reply]:
        real = reply_to(req, ident=KERNEL_ID)
        small = reply_to(req, payload=b"", ident=KERNEL_ID)
        return [(small, dst, 0.0), (real, OTHER, 0.0), (real, dst, 0.02)]

    result, prober, _ = run_probe(answers, raw=False)
    assert (result.sent, result.received) == (3, 3)
    assert prober.dropped == {"wrong_size": 3, "wrong_source": 3}


def test_a_name_is_resolved_and_replies_must_come_from_its_address() -> None:
    result, prober, fake = run_probe(
        lambda req, dst: [(reply_to(req), dst, 0.0)], count=1, target="localhost"
    )
    assert fake.sent[0][1] == "127.0.0.1"
    assert result.target == "localhost"
    assert result.received == 1
    assert not prober.dropped


def seq_of(request: bytes) -> int:
    seq: int = struct.unpack("!H", request[6:8])[0]
    return seq


def test_two_requests_of_the_same_size_carry_different_payloads() -> None:
    _, _, fake = run_probe(lambda req, dst: [(reply_to(req), dst, 0.0)], count=2)
    (first, _), (second, _) = fake.sent
    assert len(first) == len(second) == 1500 - IP_HEADER
    assert first[ICMP_HEADER:] != second[ICMP_HEADER:]
    assert (
        first[ICMP_HEADER : ICMP_HEADER + NONCE_BYTES]
        != second[ICMP_HEADER : ICMP_HEADER + NONCE_BYTES]
    )


@pytest.mark.parametrize("size", [IP_HEADER + ICMP_HEADER, IP_HEADER + ICMP_HEADER + 5, 64])
def test_a_request_smaller_than_the_nonce_carries_what_fits(size: int) -> None:
    packets = [echo_request(0x1234, 7, size) for _ in range(3)]
    assert all(len(p) == size - IP_HEADER and checksum(p) == 0 for p in packets)
    if size > IP_HEADER + ICMP_HEADER:
        assert len({p[ICMP_HEADER:] for p in packets}) == 3


def test_a_forged_reply_with_the_old_fixed_pattern_is_dropped() -> None:
    """Before the nonce the payload was bytes(i & 0xFF): a spoofer who knew the size, id and
    sequence could send a whole, right-sized reply from the target's address. It no longer
    passes, and the real reply after it still counts."""

    def forged_then_real(req: bytes, dst: str) -> list[Reply]:
        old = bytes(i & 0xFF for i in range(len(req) - ICMP_HEADER))
        return [(reply_to(req, payload=old), dst, 0.0), (reply_to(req), dst, 0.05)]

    result, prober, _ = run_probe(forged_then_real)
    assert (result.sent, result.received) == (3, 3)
    assert prober.dropped == {"wrong_payload": 3}

    forged_only = run_probe(lambda req, dst: [forged_then_real(req, dst)[0]], count=2)
    assert forged_only[0].received == 0
    assert forged_only[1].dropped == {"wrong_payload": 2}


def test_the_first_sequence_number_is_not_predictable() -> None:
    """A counter from 1 told a forger which sequence numbers were waiting. Eight Probers
    starting at the same number by chance: odds of 1 in 2^112."""
    firsts = set()
    for _ in range(8):
        _, _, fake = run_probe(lambda req, dst: [(reply_to(req), dst, 0.0)], count=3)
        seqs = [seq_of(req) for req, _ in fake.sent]
        assert seqs == [(seqs[0] + i) & 0xFFFF for i in range(3)]  # one Prober counts on
        firsts.add(seqs[0])
    assert len(firsts) > 1


@pytest.mark.root
def test_real_raw_probes_of_1500_bytes_to_loopback_get_their_replies() -> None:
    require(os.geteuid() == 0, "raw ICMP sockets need root")

    async def go() -> tuple[ProbeResult, ProbeResult, Prober]:
        prober = Prober()
        try:
            large = await prober.probe("127.0.0.1", 1500, 5, 1.0)
            small = await prober.probe("127.0.0.1", 64, 5, 1.0)
            return large, small, prober
        finally:
            prober.close()

    large, small, prober = asyncio.run(go())
    assert large.error is None
    assert (large.sent, large.received) == (5, 5)
    assert (small.sent, small.received) == (5, 5)
    assert not {"wrong_source", "wrong_size", "wrong_payload"} & set(prober.dropped)
