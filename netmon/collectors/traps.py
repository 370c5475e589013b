"""netmon's own SNMP trap receiver (v2c): a VRRP state-change notification makes the daemon poll
the sender's pairs at once instead of waiting for the next interval.

It has its own SnmpEngine: a receiver needs a server-mode transport and its own community
table, which must not mix with the polling engine's client transports. The socket is bound
here, synchronously, so a bad listen address is a clear error at start, not a lost future.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from typing import Any

from pysnmp.carrier.asyncio.dgram import udp
from pysnmp.entity import config, engine
from pysnmp.entity.rfc3413 import ntfrcv

from netmon.errors import CollectorError
from netmon.model import Oid, TrapSettings

log = logging.getLogger(__name__)

SNMP_TRAP_OID: Oid = (1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0)
# The notifications keepalived sends on a VRRP state change (one per MIB it serves).
VRRP_TRAPS: dict[Oid, str] = {
    (1, 3, 6, 1, 4, 1, 9586, 100, 5, 2, 10, 0, 2): "vrrpInstanceStateChange",
    (1, 3, 6, 1, 2, 1, 68, 0, 1): "vrrpTrapNewMaster",
    (1, 3, 6, 1, 2, 1, 207, 0, 1): "vrrpv3NotifyNewMaster",
    (1, 3, 6, 1, 4, 1, 9, 9, 106, 2, 0, 1): "cHsrpStateChange",
    (1, 3, 6, 1, 4, 1, 9, 9, 176, 2, 0, 1): "ciscoRFSwactNotif",
}

# (source address, trap name or None for a notification that is not a state change)
TrapHandler = Callable[[str, str | None], None]


class TrapReceiver:
    def __init__(self, settings: TrapSettings, handler: TrapHandler) -> None:
        self.settings = settings
        self.handler = handler
        self._engine: Any = None
        self._receiver: Any = None

    def start(self) -> None:
        """Bind and listen (inside a running event loop). Raises CollectorError on failure."""
        where = f"{self.settings.host}:{self.settings.port}"
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind((self.settings.host, self.settings.port))
        except OSError as exc:
            sock.close()
            raise CollectorError(
                "trap receiver", f"cannot listen on {where}: {exc.strerror or exc}"
            ) from None
        sock.setblocking(False)
        snmp = engine.SnmpEngine()
        config.add_transport(snmp, udp.DOMAIN_NAME, udp.UdpTransport().open_server_mode(sock=sock))
        config.add_v1_system(snmp, "netmon-traps", self.settings.community.reveal())
        self._receiver = ntfrcv.NotificationReceiver(snmp, self._received)
        self._engine = snmp
        log.info("trap receiver listening on udp %s", where)

    def _received(
        self,
        snmp: Any,
        state_reference: Any,
        _context_engine_id: Any,
        _context_name: Any,
        var_binds: Any,
        _cb_ctx: Any,
    ) -> None:
        try:
            _, address = snmp.message_dispatcher.get_transport_info(state_reference)
            source = str(address[0])
            trap_oid: Oid | None = None
            for name, value in var_binds:
                if tuple(name) == SNMP_TRAP_OID:
                    trap_oid = tuple(int(a) for a in value)
        except (ValueError, TypeError, IndexError, KeyError, AttributeError):
            log.warning("dropped a notification that could not be read")
            return
        self.handler(source, VRRP_TRAPS.get(trap_oid) if trap_oid else None)

    def close(self) -> None:
        if self._engine is not None:
            if self._receiver is not None:
                self._receiver.close(self._engine)
            self._engine.close_dispatcher()
            self._engine = None
