"""Path probes: ICMP echo with small and large don't-fragment packets, from the monitor.

A link that drops large frames while small ones pass (the failure of November 2023) shows in no
up/down status and in few counters; a 1,500-byte packet that may not be fragmented shows it at
once. Raw ICMP sockets need root (CAP_NET_RAW); without it, the kernel's unprivileged ICMP
sockets work where net.ipv4.ping_group_range allows; otherwise every result says why not.
Sends are rate-limited for the whole process, so a large inventory does not flood the network.

A reply counts only when it comes from the address the request went to and carries the
request's payload back whole: any host (or a forged packet) could otherwise answer a 1,500-byte
probe with a small echo reply and make a link that drops large packets look clean. Every
request's payload starts with a fresh random nonce and sequence numbers start at a random point,
so a host that can spoof the target's address but does not see the request cannot build a reply
that passes: it would have to guess the nonce (16 random bytes). A host on the path sees the
request and can echo it back, which is what an echo is. Replies that fail a check are dropped,
counted by reason in `Prober.dropped`, and leave the request waiting for its real reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import secrets
import socket
import struct
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from netmon.model import ProbeResult

log = logging.getLogger(__name__)

IP_HEADER = 20
ICMP_HEADER = 8
ECHO_REQUEST, ECHO_REPLY = 8, 0
# Linux: IP_MTU_DISCOVER = 10, IP_PMTUDISC_DO = 2 (set DF, never fragment locally).
IP_MTU_DISCOVER = getattr(socket, "IP_MTU_DISCOVER", 10)
IP_PMTUDISC_DO = getattr(socket, "IP_PMTUDISC_DO", 2)
# Random bytes at the start of every request's payload: the part of a reply that an off-path
# forger cannot know. 16 bytes fit in the smallest probe worth sending (a 64-byte packet holds
# 36); a smaller request carries what fits.
NONCE_BYTES = 16


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    result: int = ~total & 0xFFFF
    return result


def echo_request(ident: int, seq: int, size: int) -> bytes:
    """An ICMP echo request whose IP packet is `size` bytes long: a fresh random nonce, then
    the usual counting pattern (the nonce alone makes the reply unguessable; the pattern keeps
    the rest recognisable in a capture)."""
    length = max(size - IP_HEADER - ICMP_HEADER, 0)
    nonce = secrets.token_bytes(min(NONCE_BYTES, length))
    payload = nonce + bytes(i & 0xFF for i in range(len(nonce), length))
    header = struct.pack("!BBHHH", ECHO_REQUEST, 0, 0, ident, seq)
    return struct.pack("!BBHHH", ECHO_REQUEST, 0, checksum(header + payload), ident, seq) + payload


@dataclass(frozen=True)
class _Waiting:
    """A request waiting for its reply, with what the reply must match."""

    future: asyncio.Future[float]
    sent_at: float
    address: str  # where the request went, as recvfrom names a reply's source
    payload: bytes  # the request's ICMP payload: an echo reply carries it back unchanged


class Prober:
    def __init__(
        self, rate: float = 200.0, socket_factory: Callable[..., socket.socket] = socket.socket
    ) -> None:
        self._rate = rate
        self._socket = socket_factory  # injectable: tests show the no-privilege path
        self._sock: socket.socket | None = None
        self._raw = False
        self._error: str | None = None
        # On a raw socket the id tells our replies from other processes' pings. The process id
        # is no secret (the nonce is); if another process's pings share its low 16 bits, their
        # replies fail the payload check and are counted, never taken.
        self._ident = os.getpid() & 0xFFFF
        # A random start: with a counter from 1, a forger knows which requests are waiting.
        self._seq = secrets.randbelow(0x10000)
        # By sequence number; an entry leaves only when its real reply comes or its wait ends,
        # so a forged reply cannot take the place of the real one.
        self._waiting: dict[int, _Waiting] = {}
        # Replies not taken, by reason: truncated (shorter than an ICMP header), unknown_seq (no
        # request waits for it: late, duplicate or guessed), wrong_source, wrong_size,
        # wrong_payload.
        self.dropped: Counter[str] = Counter()
        self._next_send = 0.0
        self._lock: asyncio.Lock | None = None

    @property
    def error(self) -> str | None:
        return self._error

    def _open(self) -> socket.socket | None:
        if self._sock is not None or self._error is not None:
            return self._sock
        try:
            sock = self._socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
            self._raw = True
        except PermissionError:
            try:
                sock = self._socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
            except OSError:
                self._error = (
                    "no privilege to probe: needs root (raw ICMP) or net.ipv4.ping_group_range "
                    f"covering group {os.getgid()}"
                )
                log.error("path probes disabled: %s", self._error)  # noqa: TRY400 - not a bug
                return None
        sock.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO)
        sock.setblocking(False)
        asyncio.get_running_loop().add_reader(sock.fileno(), self._readable)
        self._sock = sock
        return sock

    def close(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(RuntimeError, ValueError):
                asyncio.get_running_loop().remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None
        for waiting in self._waiting.values():
            waiting.future.cancel()
        self._waiting.clear()

    def _readable(self) -> None:
        sock = self._sock
        if sock is None:
            return
        while True:
            try:
                # For both socket kinds recvfrom names the reply's source: for a raw socket it
                # is the IP header's source address.
                data, source = sock.recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            icmp = data[(data[0] & 0x0F) * 4 :] if self._raw and data else data
            self._take(icmp, source[0] if isinstance(source, tuple) and source else None)

    def _take(self, icmp: bytes, source: object) -> None:
        """Resolve the waiting request this ICMP message answers, if it truly answers one."""
        if len(icmp) < ICMP_HEADER:
            self.dropped["truncated"] += 1
            return
        kind, _, _, ident, seq = struct.unpack("!BBHHH", icmp[:ICMP_HEADER])
        # Raw sockets see every ICMP message of the host (our own requests on loopback, other
        # pings): only replies to us are ours to judge. Datagram ICMP sockets get their own
        # replies, with an id the kernel chose.
        if kind != ECHO_REPLY or (self._raw and ident != self._ident):
            return
        waiting = self._waiting.get(seq)
        if waiting is None or waiting.future.done():
            self.dropped["unknown_seq"] += 1
            return
        payload = icmp[ICMP_HEADER:]
        if source != waiting.address:
            self.dropped["wrong_source"] += 1
        elif len(payload) != len(waiting.payload):
            # The November 2023 case: a small reply must never vouch for a large probe.
            self.dropped["wrong_size"] += 1
        elif payload != waiting.payload:
            self.dropped["wrong_payload"] += 1
        else:
            del self._waiting[seq]
            waiting.future.set_result(time.monotonic() - waiting.sent_at)

    async def _pace(self) -> None:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            now = time.monotonic()
            wait = self._next_send - now
            self._next_send = max(now, self._next_send) + 1.0 / self._rate
        if wait > 0:
            await asyncio.sleep(wait)

    async def _address(self, target: str) -> str | None:
        """The IPv4 address requests to `target` go to, and so the one replies must come from.
        Resolved once per probe (off the event loop), never left to sendto."""
        with contextlib.suppress(ValueError):
            return str(ipaddress.IPv4Address(target))
        try:
            found = await asyncio.get_running_loop().getaddrinfo(
                target, None, family=socket.AF_INET, type=socket.SOCK_RAW
            )
        except OSError:
            return None
        return str(found[0][4][0]) if found else None

    async def _one(self, address: str, size: int, wait_s: float) -> float | None:
        sock = self._open()
        if sock is None:
            return None
        await self._pace()
        self._seq = (self._seq + 1) & 0xFFFF
        seq = self._seq
        request = echo_request(self._ident, seq, size)
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._waiting[seq] = _Waiting(future, time.monotonic(), address, request[ICMP_HEADER:])
        try:
            sock.sendto(request, (address, 0))
        except OSError:
            # EMSGSIZE: larger than this host's own interface MTU with DF set: lost by definition.
            self._waiting.pop(seq, None)
            return None
        try:
            return await asyncio.wait_for(future, wait_s)
        except TimeoutError:
            return None
        finally:
            self._waiting.pop(seq, None)

    async def probe(self, target: str, size: int, count: int, wait_s: float) -> ProbeResult:
        """`count` echo requests of `size` bytes with DF set; each waits up to `wait_s`."""
        if self._open() is None:
            return ProbeResult(target, size, 0, 0, None, error=self._error)
        address = await self._address(target)
        if address is None:  # a name that does not resolve: every request lost, as before
            return ProbeResult(target, size, count, 0, None)
        rtts = await asyncio.gather(*(self._one(address, size, wait_s) for _ in range(count)))
        answered = [r for r in rtts if r is not None]
        rtt = sum(answered) / len(answered) if answered else None
        return ProbeResult(target, size, count, len(answered), rtt)
