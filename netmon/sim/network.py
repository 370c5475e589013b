"""A simulated network of duplexed routers: the state behind the demo's SNMP agents. Pure.

Each simulated pair holds a simple VRRP-like election: among the members whose VRRP is running,
the highest priority is master (ties: the lower router name). A partitioned pair cannot hear its
peers, so every running member makes itself master: split-brain. A router whose SNMP agent is
down keeps routing; it just does not answer the monitor.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from netmon.model import Oid

# OIDs served, as the real agents lay them out (see docs/kinds.md).
SYS_DESCR = (1, 3, 6, 1, 2, 1, 1, 1, 0)
SYS_UPTIME = (1, 3, 6, 1, 2, 1, 1, 3, 0)
SYS_NAME = (1, 3, 6, 1, 2, 1, 1, 5, 0)
IF_ENTRY = (1, 3, 6, 1, 2, 1, 2, 2, 1)
VRRP_OPER = (1, 3, 6, 1, 2, 1, 68, 1, 3, 1)  # .3 state, .5 priority, .7 master, .8 primary
VRRPV3_OPER = (1, 3, 6, 1, 2, 1, 207, 1, 1, 1, 1)  # .3 master, .4 primary (bytes), .6 status
KA_INSTANCE = (1, 3, 6, 1, 4, 1, 9586, 100, 5, 2, 3, 1)  # .2 name .4 state .7 base .8 effective
HSRP_GRP = (1, 3, 6, 1, 4, 1, 9, 9, 106, 1, 2, 1, 1)  # .13 active, .14 standby router, .15 state
NO_ADDRESS = "0.0.0.0"

# ("ticks"|"counter"|"gauge"|"ip"|"oid"|"hex", value); "hex": an OCTET STRING of raw bytes.
Scalar = int | str | tuple[str, int | str]


@dataclass
class SimMember:
    router: str
    priority: int
    instance: int = 1  # keepalived vrrpInstanceIndex on this router


@dataclass
class SimPair:
    name: str
    vrid: int
    members: list[SimMember]
    if_index: int = 2
    partitioned: bool = False


@dataclass
class SimRouter:
    name: str
    port: int
    address: str = "127.0.0.1"
    snmp_up: bool = True
    vrrp_running: bool = True
    # ifIndex -> (name, oper up)
    interfaces: dict[int, tuple[str, bool]] = field(
        default_factory=lambda: {1: ("lo", True), 2: ("eth0", True), 3: ("eth1", True)}
    )
    # ifIndex -> (packets per second, input errors per second): counters grow with uptime.
    traffic: dict[int, tuple[float, float]] = field(default_factory=dict)


@dataclass
class SimNetwork:
    routers: dict[str, SimRouter]
    pairs: list[SimPair]

    def masters(self, pair: SimPair) -> set[str]:
        running = [m for m in pair.members if self.routers[m.router].vrrp_running]
        if not running:
            return set()
        if pair.partitioned:
            return {m.router for m in running}
        best = max(running, key=lambda m: (m.priority, [-ord(c) for c in m.router]))
        return {best.router}

    def address(self, pair: SimPair, router: str) -> str:
        """The router's own (simulated) address on the pair's segment, as its agent reports it.
        Every byte stays below 0x80: the collectors decode an OCTET STRING (VRRPv3-MIB's
        InetAddress) as UTF-8, which keeps such bytes, so the demo's backups can name a master."""
        return f"10.99.{pair.vrid % 128}.{1 + self.routers[router].port % 126}"

    def member_of(self, router: str) -> list[tuple[SimPair, SimMember]]:
        return [(p, m) for p in self.pairs for m in p.members if m.router == router]

    def set_priority(self, router: str, oid: Oid, value: int) -> bool:
        """Apply a SET of a priority column; True if `oid` named one of this router's instances."""
        for pair, member in self.member_of(router):
            ka = (*KA_INSTANCE, 7, member.instance)
            vrrp = (*VRRP_OPER, 5, pair.if_index, pair.vrid)
            if oid in (ka, vrrp):
                member.priority = value
                return True
        return False

    def mib(self, router_name: str, uptime_ticks: int) -> dict[Oid, Scalar]:
        """Every value the router's agent serves now."""
        router = self.routers[router_name]
        values: dict[Oid, Scalar] = {
            SYS_DESCR: f"netmon simulated router {router.name}",
            SYS_UPTIME: ("ticks", uptime_ticks),
            SYS_NAME: router.name,
        }
        seconds = uptime_ticks / 100
        for index, (name, up) in router.interfaces.items():
            values[(*IF_ENTRY, 1, index)] = index
            values[(*IF_ENTRY, 2, index)] = name
            values[(*IF_ENTRY, 8, index)] = 1 if up else 2
            pps, eps = router.traffic.get(index, (0.0, 0.0))
            counters = {11: pps, 17: pps, 13: 0.0, 14: eps, 19: 0.0, 20: 0.0}
            for column, rate in counters.items():
                values[(*IF_ENTRY, column, index)] = ("counter", int(rate * seconds) % 2**32)
        for pair, member in self.member_of(router_name):
            masters = self.masters(pair)
            running = router.vrrp_running
            is_master = running and router.name in masters
            idx = (pair.if_index, pair.vrid)
            n = member.instance
            own = self.address(pair, router.name)
            # What a backup hears: the master whose advertisements reach it (none when it runs
            # no VRRP, or when the pair is partitioned and it hears nobody).
            heard = NO_ADDRESS
            if running and not is_master and len(masters) == 1 and not pair.partitioned:
                heard = self.address(pair, next(iter(masters)))
            values[(*KA_INSTANCE, 2, n)] = f"VI_{pair.name}"
            values[(*KA_INSTANCE, 4, n)] = 2 if is_master else (1 if running else 3)
            values[(*KA_INSTANCE, 7, n)] = member.priority
            values[(*KA_INSTANCE, 8, n)] = member.priority
            values[(*VRRP_OPER, 3, *idx)] = 3 if is_master else (2 if running else 1)
            values[(*VRRP_OPER, 5, *idx)] = member.priority
            # As keepalived serves VRRP-MIB: 0.0.0.0 on the master itself.
            values[(*VRRP_OPER, 7, *idx)] = ("ip", heard)
            values[(*VRRP_OPER, 8, *idx)] = ("ip", own)
            values[(*VRRPV3_OPER, 6, *idx, 1)] = 3 if is_master else (2 if running else 1)
            # VRRPv3-MIB InetAddress (raw bytes): the master reports its own primary address.
            values[(*VRRPV3_OPER, 3, *idx, 1)] = ("hex", _hex(own if is_master else heard))
            values[(*VRRPV3_OPER, 4, *idx, 1)] = ("hex", _hex(own))
            values[(*HSRP_GRP, 15, *idx)] = 6 if is_master else (5 if running else 1)
            # HSRP: the active names its standby (0.0.0.0: none); a standby names the active
            # router it hears and itself as the standby.
            standby = NO_ADDRESS
            if is_master:
                others = [
                    m.router
                    for m in pair.members
                    if m.router != router.name and self.routers[m.router].vrrp_running
                ]
                if others and not pair.partitioned:
                    standby = self.address(pair, others[0])
            elif running:
                standby = own
            values[(*HSRP_GRP, 13, *idx)] = ("ip", own if is_master else heard)
            values[(*HSRP_GRP, 14, *idx)] = ("ip", standby)
        return values


def _hex(address: str) -> str:
    return "".join(f"{int(part):02x}" for part in address.split("."))


@dataclass(frozen=True)
class SimEvent:
    """Something the demo changes at run time, to show netmon noticing it."""

    after: float  # seconds after start
    router: str
    what: str  # "priority"
    value: int
    pair: str


def demo_network(base_port: int = 16101) -> tuple[SimNetwork, list[SimEvent]]:
    """The embedded default network behind `netmon demo` and inventory/demo.yaml."""
    names = [
        "core-r1", "core-r2", "dc-r1", "dc-r2", "campus-r1", "campus-r2",
        "branch-r1", "branch-r2", "wan-r1", "wan-r2",
    ]  # fmt: skip
    routers = {n: SimRouter(n, base_port + i) for i, n in enumerate(names)}
    # dc-r2 keeps routing but its SNMP agent is dead: the standby cannot be vouched for.
    routers["dc-r2"].snmp_up = False
    # Two carriers on the WAN routers' eth1: A is clean, B's input errors climb (~5% of packets).
    routers["wan-r1"].traffic[3] = (1000.0, 0.0)
    routers["wan-r2"].traffic[3] = (1000.0, 50.0)
    pairs = [
        SimPair("core-gw", 10, [SimMember("core-r1", 150), SimMember("core-r2", 100)]),
        SimPair("dc-edge", 20, [SimMember("dc-r1", 150), SimMember("dc-r2", 100)]),
        SimPair(
            "campus-fw",
            30,
            [SimMember("campus-r1", 150), SimMember("campus-r2", 100)],
            partitioned=True,
        ),
        SimPair("branch-gw", 40, [SimMember("branch-r1", 150), SimMember("branch-r2", 100)]),
        SimPair("wan-hsrp", 50, [SimMember("wan-r1", 110), SimMember("wan-r2", 100)]),
    ]
    # A few seconds in, branch-r1's priority drops (as a tracked interface would make it):
    # branch-r2 takes over and the pair runs on its non-preferred member.
    events = [SimEvent(6.0, "branch-r1", "priority", 90, "branch-gw")]
    return SimNetwork(routers, pairs), events
