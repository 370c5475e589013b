"""A UDP fault relay: sits in front of a real SNMP agent on loopback and damages the traffic on
purpose (drop, delay, duplicate, reorder, truncate, replace bytes), to prove what netmon does
when the network or the agent misbehaves. Used by the reliability tests; runs in its own thread
so a test (or `python -m netmon.lab.relay`) can change the faults while netmon polls through it.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import threading
import time
from dataclasses import dataclass, field


@dataclass
class Faults:
    """Each share is a probability per datagram (0..1)."""

    drop_requests: float = 0.0  # the agent never sees the request
    drop_replies: float = 0.0  # the agent answers, the reply is lost
    delay: float = 0.0  # seconds added to every reply
    duplicate: float = 0.0  # the reply arrives twice
    reorder: float = 0.0  # the reply is held back and sent after the next one
    truncate: float = 0.0  # the reply is cut short at a random length
    replace: float = 0.0  # 1-4 random bytes of the reply are replaced
    seed: int = 0


@dataclass
class RelayStats:
    requests: int = 0
    replies: int = 0
    applied: dict[str, int] = field(default_factory=dict)

    def count(self, fault: str) -> None:
        self.applied[fault] = self.applied.get(fault, 0) + 1


class _Front(asyncio.DatagramProtocol):
    def __init__(self, relay: FaultRelay) -> None:
        self.relay = relay

    def datagram_received(self, data: bytes, addr: tuple[str | bytes, int]) -> None:
        self.relay.from_client(data, (str(addr[0]), int(addr[1])))


class _Back(asyncio.DatagramProtocol):
    def __init__(self, relay: FaultRelay, client: tuple[str, int]) -> None:
        self.relay = relay
        self.client = client

    def datagram_received(self, data: bytes, addr: tuple[str | bytes, int]) -> None:
        self.relay.from_agent(data, self.client)


class FaultRelay:
    """Listens on 127.0.0.1:`port` (0: any free port) and relays to `upstream`."""

    def __init__(self, upstream: tuple[str, int], faults: Faults | None = None, port: int = 0):
        self.upstream = upstream
        self.faults = faults or Faults()
        self.port = port
        self.stats = RelayStats()
        self._random = random.Random(self.faults.seed)  # noqa: S311 - faults, not secrets
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._front: asyncio.DatagramTransport | None = None
        self._backs: dict[tuple[str, int], asyncio.DatagramTransport] = {}
        self._held: list[tuple[bytes, tuple[str, int]]] = []
        self._ready = threading.Event()
        self._stopping: asyncio.Event | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> tuple[str, int]:
        self._thread = threading.Thread(target=self._run, name="fault-relay", daemon=True)
        self._thread.start()
        if not self._ready.wait(5):
            raise RuntimeError("the fault relay did not start")
        return "127.0.0.1", self.port

    def stop(self) -> None:
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FaultRelay:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        loop = self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Front(self), local_addr=("127.0.0.1", self.port)
        )
        self._front = transport
        self.port = int(transport.get_extra_info("sockname")[1])
        self._ready.set()
        try:
            await self._stopping.wait()
        finally:
            transport.close()
            for back in self._backs.values():
                back.close()

    # -- the faults --------------------------------------------------------------------------

    def _chance(self, share: float) -> bool:
        return share > 0 and self._random.random() < share

    def from_client(self, data: bytes, client: tuple[str, int]) -> None:
        self.stats.requests += 1
        if self._chance(self.faults.drop_requests):
            self.stats.count("drop_requests")
            return
        back = self._backs.get(client)
        if back is None:
            assert self._loop is not None
            self._loop.create_task(self._open_back(data, client))
            return
        back.sendto(data)

    async def _open_back(self, first: bytes, client: tuple[str, int]) -> None:
        assert self._loop is not None
        back, _ = await self._loop.create_datagram_endpoint(
            lambda: _Back(self, client), remote_addr=self.upstream
        )
        self._backs[client] = back
        back.sendto(first)

    def from_agent(self, data: bytes, client: tuple[str, int]) -> None:
        self.stats.replies += 1
        faults = self.faults
        if self._chance(faults.drop_replies):
            self.stats.count("drop_replies")
            return
        if self._chance(faults.truncate) and len(data) > 1:
            self.stats.count("truncate")
            data = data[: self._random.randrange(1, len(data))]
        if self._chance(faults.replace):
            self.stats.count("replace")
            damaged = bytearray(data)
            for _ in range(self._random.randint(1, 4)):
                damaged[self._random.randrange(len(damaged))] = self._random.randrange(256)
            data = bytes(damaged)
        copies = 2 if self._chance(faults.duplicate) else 1
        if copies == 2:
            self.stats.count("duplicate")
        if self._chance(faults.reorder):
            self.stats.count("reorder")
            self._held.append((data, client))
            assert self._loop is not None
            # Released by the next reply, or after half a second if none comes.
            self._loop.call_later(0.5, self._release, data, client)
            return
        held, self._held = self._held, []
        for _ in range(copies):
            self._send(data, client)
        for old, to in held:
            self._send(old, to)

    def _release(self, data: bytes, client: tuple[str, int]) -> None:
        if (data, client) in self._held:
            self._held.remove((data, client))
            self._send(data, client)

    def _send(self, data: bytes, client: tuple[str, int]) -> None:
        assert self._loop is not None
        assert self._front is not None
        front = self._front
        if self.faults.delay > 0:
            self._loop.call_later(self.faults.delay, front.sendto, data, client)
        else:
            front.sendto(data, client)


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m netmon.lab.relay", description="A UDP fault relay in front of an agent."
    )
    parser.add_argument("upstream", help="HOST:PORT of the real agent")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (127.0.0.1)")
    for name in ("drop_requests", "drop_replies", "duplicate", "reorder", "truncate", "replace"):
        parser.add_argument(f"--{name.replace('_', '-')}", type=float, default=0.0)
    parser.add_argument("--delay", type=float, default=0.0)
    args = parser.parse_args()
    host, _, port = args.upstream.rpartition(":")
    faults = Faults(
        args.drop_requests, args.drop_replies, args.delay, args.duplicate, args.reorder,
        args.truncate, args.replace,
    )  # fmt: skip
    relay = FaultRelay((host, int(port)), faults, args.port)
    address = relay.start()
    print(f"relaying {address[0]}:{address[1]} -> {args.upstream}; Ctrl-C stops", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        relay.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
