"""Devices that answer garbage, or nothing: the member reads unreachable with a reason; the
cycle goes on and the other pairs are judged."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from netmon.collectors.snmp import SnmpCollector
from netmon.kinds.keepalived import KeepalivedParams
from netmon.model import (
    Device,
    Inventory,
    MemberSpec,
    PairSpec,
    PairState,
    Role,
    Secret,
    SnmpSettings,
    SnmpV2c,
)
from netmon.poller import Poller
from netmon.store import StateStore

from .conftest import free_udp_port


@pytest.fixture
def garbage_agent() -> Iterator[int]:
    """A UDP 'agent' on loopback that answers every datagram with bytes that are not SNMP."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.1)
    port: int = sock.getsockname()[1]
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                _, addr = sock.recvfrom(65535)
            except TimeoutError:
                continue
            sock.sendto(b"\x30\x82\xff\xffnot snmp at all", addr)
            sock.sendto(b"\x00" * 40, addr)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        stop.set()
        thread.join(timeout=2)
        sock.close()


def device(name: str, port: int) -> Device:
    return Device(name, "127.0.0.1", SnmpSettings(SnmpV2c(Secret("env:X", "c")), port, 0.3, 0))


def test_garbage_and_silence_become_unreachable_with_reasons(garbage_agent: int) -> None:
    devices = {
        "garbage": device("garbage", garbage_agent),
        "silent": device("silent", free_udp_port()),
    }
    pair = PairSpec(
        "p",
        "keepalived",
        (
            MemberSpec("a", "garbage", KeepalivedParams(1)),
            MemberSpec("b", "silent", KeepalivedParams(1)),
        ),
    )
    inventory = Inventory(devices, (pair,))
    store = StateStore(inventory)

    async def once() -> None:
        snmp = SnmpCollector()
        try:
            started = time.monotonic()
            status = await Poller(inventory, store, snmp).poll_once(pair)
            # Both devices are waited on together: one timeout, not the sum of two.
            assert time.monotonic() - started < 0.9
        finally:
            snmp.close()
        assert status.state is PairState.UNKNOWN
        assert {m.view.role for m in status.members} == {Role.UNREACHABLE}
        # Garbage is not silence: the reply reason says the device answered, badly.
        reasons = {m.device: m.view.reason for m in status.members}
        assert reasons == {"garbage": "reply", "silent": "timeout"}

    asyncio.run(once())
    snap = store.snapshot(time.time())
    assert snap.devices["garbage"].errors == {("snmp", "reply"): 1}
    assert "undecodable reply from 127.0.0.1" in (snap.devices["garbage"].last_detail or "")
