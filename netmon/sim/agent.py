"""SNMP v2c agents for the simulated network: one UDP socket per router on loopback.

This is the device side of the demo (not part of netmon's data flow), so it uses pysnmp's
message codec directly: GET, GETNEXT, GETBULK and SET of INTEGER priorities. A garbled or
foreign datagram is dropped, as a real agent does.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import time
from typing import Any, cast

from pyasn1.codec.ber import decoder, encoder
from pyasn1.error import PyAsn1Error
from pysnmp.proto import api, rfc1902

from netmon.model import Oid
from netmon.sim.network import Scalar, SimEvent, SimNetwork

log = logging.getLogger(__name__)

V2C = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
MAX_BULK = 50


def encode_value(value: Scalar) -> Any:
    if isinstance(value, tuple):
        tag, raw = value
        if tag == "ticks":
            return rfc1902.TimeTicks(int(raw))
        if tag == "counter":
            return rfc1902.Counter32(int(raw))
        if tag == "gauge":
            return rfc1902.Gauge32(int(raw))
        if tag == "ip":
            return rfc1902.IpAddress(str(raw))
        if tag == "hex":
            return rfc1902.OctetString(hexValue=str(raw))
        return rfc1902.ObjectName(str(raw))
    if isinstance(value, int):
        return rfc1902.Integer32(value)
    return rfc1902.OctetString(value.encode())


class RouterAgent(asyncio.DatagramProtocol):
    def __init__(self, network: SimNetwork, router: str, community: bytes, started: float) -> None:
        self.network = network
        self.router = router
        self.community = community
        self.started = started
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # The selector transport is not a registered DatagramTransport subclass: cast, not assert.
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if not self.network.routers[self.router].snmp_up:
            return
        try:
            reply = self.handle(data)
        except (PyAsn1Error, ValueError, KeyError, TypeError, IndexError):
            log.debug("%s: dropped an undecodable datagram from %s", self.router, addr)
            return
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)

    def _mib(self) -> tuple[dict[Oid, Scalar], list[Oid]]:
        ticks = int((time.monotonic() - self.started) * 100)
        values = self.network.mib(self.router, ticks)
        return values, sorted(values)

    def handle(self, data: bytes) -> bytes | None:
        if int(api.decodeMessageVersion(data)) != api.SNMP_VERSION_2C:
            return None
        request, _ = decoder.decode(data, asn1Spec=V2C.Message())
        if bytes(V2C.apiMessage.get_community(request)) != self.community:
            return None  # as net-snmp does: a wrong community gets no answer at all
        pdu = V2C.apiMessage.get_pdu(request)
        response = V2C.apiMessage.get_response(request)
        rpdu = V2C.apiMessage.get_pdu(response)
        values, order = self._mib()
        asked = [(tuple(int(a) for a in oid), val) for oid, val in V2C.apiPDU.get_varbinds(pdu)]
        out: list[tuple[Any, Any]] = []
        if pdu.isSameTypeWith(V2C.GetRequestPDU()):
            for oid, _ in asked:
                value = values.get(oid)
                out.append(
                    (oid, encode_value(value) if value is not None else V2C.NoSuchInstance(""))
                )
        elif pdu.isSameTypeWith(V2C.GetNextRequestPDU()):
            out = [self._next(oid, values, order) for oid, _ in asked]
        elif pdu.isSameTypeWith(V2C.GetBulkRequestPDU()):
            non_rep = int(V2C.apiBulkPDU.get_non_repeaters(pdu))
            reps = min(int(V2C.apiBulkPDU.get_max_repetitions(pdu)), MAX_BULK)
            out = [self._next(oid, values, order) for oid, _ in asked[:non_rep]]
            cursors = [oid for oid, _ in asked[non_rep:]]
            for _ in range(reps):
                row = [self._next(oid, values, order) for oid in cursors]
                out.extend(row)
                cursors = [tuple(int(a) for a in oid) for oid, _ in row]
        elif pdu.isSameTypeWith(V2C.SetRequestPDU()):
            for index, (oid, value) in enumerate(asked, start=1):
                if (
                    not isinstance(value, rfc1902.Integer32 | rfc1902.Integer)
                    or not 1 <= int(value) <= 254
                ):
                    V2C.apiPDU.set_error_status(rpdu, 7)  # wrongType
                    V2C.apiPDU.set_error_index(rpdu, index)
                    break
                if not self.network.set_priority(self.router, oid, int(value)):
                    V2C.apiPDU.set_error_status(rpdu, 17)  # notWritable
                    V2C.apiPDU.set_error_index(rpdu, index)
                    break
                log.info(
                    "%s: priority of %s set to %s", self.router, ".".join(map(str, oid)), value
                )
            out = [(oid, value) for oid, value in asked]
        else:
            return None
        V2C.apiPDU.set_varbinds(rpdu, out)
        encoded: bytes = encoder.encode(response)
        return encoded

    @staticmethod
    def _next(oid: Oid, values: dict[Oid, Scalar], order: list[Oid]) -> tuple[Any, Any]:
        i = bisect.bisect_right(order, oid)
        if i >= len(order):
            return oid, V2C.EndOfMibView("")
        nxt = order[i]
        return nxt, encode_value(values[nxt])


async def serve(
    network: SimNetwork,
    community: str,
    events: list[SimEvent],
    ready: asyncio.Event | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Bind every router's agent, play the timeline of events, run until `stop` is set."""
    loop = asyncio.get_running_loop()
    started = time.monotonic()
    endpoints: list[asyncio.BaseTransport] = []
    try:
        for name, router in network.routers.items():
            endpoint, _ = await loop.create_datagram_endpoint(
                lambda name=name: RouterAgent(network, name, community.encode(), started),  # type: ignore[misc]
                local_addr=(router.address, router.port),
            )
            endpoints.append(endpoint)
        if ready is not None:
            ready.set()
        log.info("simulated network: %d routers on %s:%d-%d", len(network.routers),
                 "127.0.0.1", min(r.port for r in network.routers.values()),
                 max(r.port for r in network.routers.values()))  # fmt: skip
        pending = sorted(events, key=lambda e: e.after)
        waiter = stop or asyncio.Event()
        for event in pending:
            delay = event.after - (time.monotonic() - started)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter.wait(), timeout=max(delay, 0))
            if waiter.is_set():
                return
            for pair in network.pairs:
                for member in pair.members:
                    if pair.name == event.pair and member.router == event.router:
                        member.priority = event.value
            log.info(
                "simulated network: %s %s of %s -> %s",
                event.pair,
                event.what,
                event.router,
                event.value,
            )
        await waiter.wait()
    finally:
        for opened in endpoints:
            opened.close()
