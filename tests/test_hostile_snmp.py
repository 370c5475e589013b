"""Issue 15, items 1 and 2: a hostile sender on the network must neither blind nor fool the SNMP
reader. A real net-snmp snmpd is the device; other local sockets (a) flood netmon's SNMP port
with 65 KB long-OID datagrams with a wrong community and (b) forge replies with the real
request-id and the right community (as if they had seen the request) from another port. The
real reads must still return the device's own values, in their usual time, and every dropped
datagram must be counted by reason."""

from __future__ import annotations

import asyncio
import random
import socket
import threading
import time

import pytest
from pyasn1.codec.ber import decoder
from pysnmp.proto import api

from netmon.collectors.snmp import SnmpCollector
from netmon.collectors.snmpwire import (
    RESPONSE,
    SnmpWire,
    WireStats,
    _tlv,
    encode_integer,
    encode_oid,
)
from netmon.links import IF_OPER_STATUS, SYS_UPTIME, column_oid
from netmon.model import Device, Oid, Probe, Secret, SnmpSettings, SnmpV2c, Value

from .conftest import Snmpd

pytestmark = pytest.mark.snmpd

V2C = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
SYS_NAME = (1, 3, 6, 1, 2, 1, 1, 5, 0)
OPER_LO = column_oid(IF_OPER_STATUS, 1)
POLLS = 30
FLOOD_PER_SECOND = 100


def message(community: bytes, rid: int, varbinds: bytes) -> bytes:
    pdu = _tlv(RESPONSE, encode_integer(rid) + b"\x02\x01\x00\x02\x01\x00" + _tlv(0x30, varbinds))
    return _tlv(0x30, b"\x02\x01\x01" + _tlv(0x04, community) + pdu)


def long_oid_datagram(rid: int) -> bytes:
    """One 65 KB OID arc (0.33-0.59 s to decode before bounds), with a wrong community; each
    one different (the OID cache made repeats of one datagram cheap, and kept them all)."""
    oid = _tlv(0x06, b"\x2b" + random.randbytes(8) + b"\xff" * 65_000 + b"\x01")
    return message(b"not-the-community", rid, _tlv(0x30, oid + b"\x05\x00"))


def forged_reply(request: bytes) -> tuple[int, bytes]:
    """A perfect forgery of the reply to `request`: its request-id, community and OIDs, every
    value INTEGER 2 (ifOperStatus down, sysName not a name)."""
    parsed, _ = decoder.decode(request, asn1Spec=V2C.Message())
    pdu = V2C.apiMessage.get_pdu(parsed)
    rid = int(V2C.apiPDU.get_request_id(pdu))
    community = bytes(V2C.apiMessage.get_community(parsed))
    oids = [tuple(int(a) for a in oid) for oid, _ in V2C.apiPDU.get_varbinds(pdu)]
    body = b"".join(_tlv(0x30, encode_oid(oid) + encode_integer(2)) for oid in oids)
    return rid, message(community, rid, body)


class Delay:
    """A UDP relay in front of snmpd that holds each reply 20 ms (a device a WAN away), so that
    a forgery sent at once always arrives before the real reply."""

    def __init__(self, port: int, delay: float = 0.02) -> None:
        self.front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.front.bind(("127.0.0.1", 0))
        self.front.settimeout(0.05)
        self.back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.back.settimeout(1.0)
        self.port = self.front.getsockname()[1]
        self._target = ("127.0.0.1", port)
        self._delay = delay
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, addr = self.front.recvfrom(65535)
                self.back.sendto(data, self._target)
                reply = self.back.recv(65535)
            except TimeoutError:
                continue
            time.sleep(self._delay)
            self.front.sendto(reply, addr)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.front.close()
        self.back.close()


def wire_of(collector: SnmpCollector) -> SnmpWire:
    wire: SnmpWire = collector._wire
    return wire


def test_flood_and_forgeries_neither_blind_nor_fool_the_reader(snmpd: Snmpd) -> None:
    relay = Delay(snmpd.port)
    device = Device(
        "agent",
        "127.0.0.1",
        SnmpSettings(SnmpV2c(Secret("env:TEST", snmpd.community)), relay.port, 0.5, 1),
    )
    probes = [Probe("oper", OPER_LO), Probe("name", SYS_NAME)]
    stop = threading.Event()
    flooded = [0]

    def flood(port: int, rids: list[int]) -> None:
        """(a): long-OID datagrams with a wrong community, with random and with real ids."""
        deadline = time.monotonic() + 5  # a regression fails the test rather than hang it
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            while not stop.is_set() and time.monotonic() < deadline:
                rid = random.choice(rids) if rids and flooded[0] % 2 else random.getrandbits(31)
                try:
                    sock.sendto(long_oid_datagram(rid), ("127.0.0.1", port))
                    flooded[0] += 1
                except OSError:
                    pass  # a full buffer: the flood goes on
                time.sleep(1 / FLOOD_PER_SECOND)

    async def go() -> tuple[list[float], list[dict[Oid | str, Value]], int, WireStats]:
        collector = SnmpCollector()
        spoofer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        spoofer.bind(("127.0.0.1", 0))
        spoofer.setblocking(False)
        forged = [0]
        seen_rids: list[int] = []
        flooder: threading.Thread | None = None

        async def forge() -> None:
            """(b): a forged reply to each outstanding request, from another port, at once."""
            answered: set[int] = set()
            while True:
                wire = wire_of(collector)
                for rid, pending in list(wire._pending.items()):
                    if rid in answered:
                        continue
                    answered.add(rid)
                    seen_rids.append(rid)
                    real_rid, datagram = forged_reply(pending.message)
                    assert real_rid == rid
                    spoofer.sendto(datagram, ("127.0.0.1", wire_port))
                    forged[0] += 1
                await asyncio.sleep(0)

        try:
            first = await collector.poll(device, probes)  # opens the wire's socket
            assert first.ok, first.detail
            wire_port = wire_of(collector)._sockets[socket.AF_INET].getsockname()[1]
            flooder = threading.Thread(target=flood, args=(wire_port, seen_rids), daemon=True)
            flooder.start()
            forger = asyncio.create_task(forge())
            await asyncio.sleep(0.1)  # the flood is under way before the reads
            durations, values = [], []
            try:
                for _ in range(POLLS):
                    started = time.monotonic()
                    reading = await collector.poll(device, probes)
                    durations.append(time.monotonic() - started)
                    assert reading.ok, reading.detail
                    values.append(dict(reading.values))
            finally:
                forger.cancel()
                stop.set()
                await asyncio.sleep(0.05)  # the last datagrams are counted
            return durations, values, forged[0], wire_of(collector).stats
        finally:
            stop.set()
            if flooder is not None:
                flooder.join(timeout=2)
            collector.close()
            spoofer.close()

    started = time.monotonic()
    try:
        durations, values, forged, stats = asyncio.run(go())
    finally:
        relay.close()
    elapsed = time.monotonic() - started
    print(f"flooded {flooded[0]}, forged {forged}, {elapsed:.2f} s, slowest {max(durations):.4f} s")
    print(stats)

    # The device's own values, every time: lo is up, the name is snmpd's, uptime is real.
    for got in values:
        assert got[OPER_LO] == 1
        assert got[SYS_NAME] == "netmon-test"
        assert isinstance(got[SYS_UPTIME], int) and got[SYS_UPTIME] != 2
    # In their usual time (20 ms through the relay; one dropped try would be 0.5 s).
    assert max(durations) < 0.4, durations
    assert elapsed < 10
    # Every forgery was dropped as coming from the wrong sender; the flood was counted.
    assert forged >= POLLS
    assert stats.wrong_sender >= forged
    assert stats.unknown_request > 0  # the flood's guessed ids
    assert stats.unknown_request + stats.wrong_sender >= forged + flooded[0] // 2
    assert stats.garbage == 0 and stats.wrong_oids == 0
    assert stats.received - stats.dropped <= stats.sent  # only replies to requests were taken
