"""Path probes: ICMP echo with small and large don't-fragment packets, from the monitor.

A link that drops large frames while small ones pass (the failure of November 2023) shows in no
up/down status and in few counters; a 1,500-byte packet that may not be fragmented shows it at
once. Raw ICMP sockets need root (CAP_NET_RAW); without it, the kernel's unprivileged ICMP
sockets work where net.ipv4.ping_group_range allows; otherwise every result says why not.
Sends are rate-limited for the whole process, so a large inventory does not flood the network.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import struct
import time
from collections.abc import Callable

from netmon.model import ProbeResult

log = logging.getLogger(__name__)

IP_HEADER = 20
ICMP_HEADER = 8
ECHO_REQUEST, ECHO_REPLY = 8, 0
# Linux: IP_MTU_DISCOVER = 10, IP_PMTUDISC_DO = 2 (set DF, never fragment locally).
IP_MTU_DISCOVER = getattr(socket, "IP_MTU_DISCOVER", 10)
IP_PMTUDISC_DO = getattr(socket, "IP_PMTUDISC_DO", 2)


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    result: int = ~total & 0xFFFF
    return result


def echo_request(ident: int, seq: int, size: int) -> bytes:
    """An ICMP echo request whose IP packet is `size` bytes long."""
    payload = bytes(i & 0xFF for i in range(max(size - IP_HEADER - ICMP_HEADER, 0)))
    header = struct.pack("!BBHHH", ECHO_REQUEST, 0, 0, ident, seq)
    return struct.pack("!BBHHH", ECHO_REQUEST, 0, checksum(header + payload), ident, seq) + payload


class Prober:
    def __init__(
        self, rate: float = 200.0, socket_factory: Callable[..., socket.socket] = socket.socket
    ) -> None:
        self._rate = rate
        self._socket = socket_factory  # injectable: tests show the no-privilege path
        self._sock: socket.socket | None = None
        self._raw = False
        self._error: str | None = None
        self._ident = os.getpid() & 0xFFFF
        self._seq = 0
        self._waiting: dict[int, tuple[asyncio.Future[float], float]] = {}
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
        for future, _ in self._waiting.values():
            future.cancel()
        self._waiting.clear()

    def _readable(self) -> None:
        sock = self._sock
        if sock is None:
            return
        while True:
            try:
                data = sock.recv(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            icmp = data[(data[0] & 0x0F) * 4 :] if self._raw and data else data
            if len(icmp) < ICMP_HEADER:
                continue
            kind, _, _, ident, seq = struct.unpack("!BBHHH", icmp[:ICMP_HEADER])
            # Raw sockets see every ICMP reply of the host: only ours count. Datagram ICMP
            # sockets get their own replies, with an id the kernel chose.
            if kind != ECHO_REPLY or (self._raw and ident != self._ident):
                continue
            waiting = self._waiting.pop(seq, None)
            if waiting is not None and not waiting[0].done():
                waiting[0].set_result(time.monotonic() - waiting[1])

    async def _pace(self) -> None:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            now = time.monotonic()
            wait = self._next_send - now
            self._next_send = max(now, self._next_send) + 1.0 / self._rate
        if wait > 0:
            await asyncio.sleep(wait)

    async def _one(self, target: str, size: int, wait_s: float) -> float | None:
        sock = self._open()
        if sock is None:
            return None
        await self._pace()
        self._seq = (self._seq + 1) & 0xFFFF
        seq = self._seq
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._waiting[seq] = (future, time.monotonic())
        try:
            sock.sendto(echo_request(self._ident, seq, size), (target, 0))
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
        rtts = await asyncio.gather(*(self._one(target, size, wait_s) for _ in range(count)))
        answered = [r for r in rtts if r is not None]
        rtt = sum(answered) / len(answered) if answered else None
        return ProbeResult(target, size, count, len(answered), rtt)
