"""What `netmon discover` reads, and what it makes of one device's answers. Pure.

The OIDs walked (`COLUMNS`), the MIBs' enumeration names for comments, and the shapes of what a
device reported: groups (one router's half of a pair), units and clusters (one agent reporting
every unit of a chassis or firewall cluster), and the report of one device.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from netmon.kinds.evidence import one_line
from netmon.model import Oid, Value

SYS_NAME = (1, 3, 6, 1, 2, 1, 1, 5)
IF_DESCR = (1, 3, 6, 1, 2, 1, 2, 2, 1, 2)
IF_NAME = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 1)

VRRP_OPER = (1, 3, 6, 1, 2, 1, 68, 1, 3, 1)  # index ifIndex.vrid: .3 state .5 priority .7 master
VRRP_ASSO = (1, 3, 6, 1, 2, 1, 68, 1, 4, 1, 2)  # vrrpAssoIpAddrRowStatus: ifIndex.vrid.a.b.c.d
VRRPV3_OPER = (1, 3, 6, 1, 2, 1, 207, 1, 1, 1, 1)  # ifIndex.vrid.inetType: .6 status .7 priority
VRRPV3_ASSO = (1, 3, 6, 1, 2, 1, 207, 1, 1, 2, 1, 2)  # RowStatus: ifIndex.vrid.type.len.addr
KA_INSTANCE = (1, 3, 6, 1, 4, 1, 9586, 100, 5, 2, 3, 1)  # .2 name .3 vrid .4 state .7 priority
HSRP_GRP = (1, 3, 6, 1, 4, 1, 9, 9, 106, 1, 2, 1, 1)  # ifIndex.group: .3 prio .11 vip .13 .14 .15
RF_STATUS = (1, 3, 6, 1, 4, 1, 9, 9, 176, 1, 1)  # scalars: .1 id .2 state .3 peer id .4 .6 duplex
JNX_REDUNDANCY = (1, 3, 6, 1, 4, 1, 2636, 3, 1, 14, 1)  # contents.L1.L2.L3: .5 descr .6 .7
ASA_HW = (1, 3, 6, 1, 4, 1, 9, 9, 147, 1, 2, 1, 1, 1)  # rows 6 primary, 7 secondary: .3 .4
FG_HA_MODE = (1, 3, 6, 1, 4, 1, 12356, 101, 13, 1, 1)  # fgHaSystemMode.0
FG_HA_STATS = (1, 3, 6, 1, 4, 1, 12356, 101, 13, 2, 1, 1)  # row: .2 serial .11 host .12 .16
FN_SYS_SERIAL = (1, 3, 6, 1, 4, 1, 12356, 100, 1, 1, 1)  # the unit the agent runs on
PAN_SYS = (1, 3, 6, 1, 4, 1, 25461, 2, 1, 2, 1)  # .11 HA state .12 peer state .13 mode (.0)

# Every column discovery walks; absent ones cost one answer each, in the same PDU as the rest.
COLUMNS: tuple[Oid, ...] = (
    SYS_NAME,
    *((*VRRP_OPER, c) for c in (3, 5, 7)),
    VRRP_ASSO,
    *((*VRRPV3_OPER, c) for c in (6, 7)),
    VRRPV3_ASSO,
    *((*KA_INSTANCE, c) for c in (2, 3, 4, 7)),
    *((*HSRP_GRP, c) for c in (3, 11, 13, 14, 15)),
    RF_STATUS,
    *((*JNX_REDUNDANCY, c) for c in (5, 6, 7)),
    *((*ASA_HW, c) for c in (3, 4)),
    FG_HA_MODE,
    *((*FG_HA_STATS, c) for c in (2, 11, 12, 16)),
    FN_SYS_SERIAL,
    *((*PAN_SYS, c) for c in (11, 12, 13)),
)
LOOKED_FOR = (
    "VRRP-MIB vrrpOperTable, VRRPv3-MIB vrrpv3OperationsTable, KEEPALIVED-MIB vrrpInstanceTable, "
    "CISCO-HSRP-MIB cHsrpGrpTable, CISCO-RF-MIB cRFStatus, JUNIPER-MIB jnxRedundancyTable, "
    "CISCO-FIREWALL-MIB cfwHardwareStatusTable, FORTINET-FORTIGATE-MIB fgHaSystemMode/fgHaStatsTable, "
    "PAN-COMMON-MIB panSysHAState/PeerState/Mode"
)

# The MIBs' enumeration names, for the comments an operator reads next to each pair.
VRRP_STATES = {1: "initialize", 2: "backup", 3: "master"}
KA_STATES = {0: "init", 1: "backup", 2: "master", 3: "fault", 4: "unknown", 5: "shutdown",
             6: "deleted"}  # fmt: skip
HSRP_STATES = {1: "initial", 2: "learn", 3: "listen", 4: "speak", 5: "standby", 6: "active"}
RF_STATES = {
    1: "notKnown", 2: "disabled", 3: "initialization", 4: "negotiation", 5: "standbyCold",
    6: "standbyColdConfig", 7: "standbyColdFileSys", 8: "standbyColdBulk", 9: "standbyHot",
    10: "activeFast", 11: "activeDrain", 12: "activePreconfig", 13: "activePostconfig",
    14: "active", 15: "activeExtraload", 16: "activeHandback", 17: "standbyWarm",
}  # fmt: skip
JNX_STATES = {1: "unknown", 2: "master", 3: "backup", 4: "disabled"}
ASA_STATES = {1: "other", 2: "up", 3: "down", 4: "error", 5: "overTemp", 6: "busy",
              7: "noMedia", 8: "backup", 9: "active", 10: "standby"}  # fmt: skip
FG_MODES = {1: "standalone", 2: "activeActive", 3: "activePassive"}
RE_DESCR = re.compile(r"routing\s+engine\s+([0-9]+)", re.IGNORECASE | re.ASCII)


# -- what one device reported ----------------------------------------------------------------


@dataclass(frozen=True)
class Group:
    """One device's half of a two-router pair: a VRRP/VRRPv3/HSRP group or keepalived instance."""

    kind: str
    key: tuple[Any, ...]  # what must be equal on both routers
    loose: tuple[Any, ...] | None  # a second chance: unique on both routers (ifIndex differs)
    params: dict[str, Any]
    what: str  # "VRRP-MIB ifIndex 2 (eth0), VRID 51", for comments
    slug: str  # "eth0-51": the pair's name is built from it
    state: str
    priority: int | None = None
    hears: str | None = None  # "hears master 10.99.0.11"
    vip: str | None = None
    vrid: int | None = None
    link: tuple[int, str | None] | None = None  # the group's interface: watched as a link


@dataclass(frozen=True)
class Unit:
    """A unit of a single-device kind (a routing engine, a firewall, a supervisor)."""

    member: str  # the member's name after the device's: "re1", "local", "primary", "fw-a"
    params: dict[str, Any]
    state: str
    preferred: bool = False


@dataclass(frozen=True)
class Cluster:
    """A single-device kind: one agent reports every unit, so a pair lives on one device."""

    kind: str
    what: str
    slug: str  # the pair's name after the device's: "rf", "re", "failover", "ha"
    units: tuple[Unit, ...]
    mode: str = "active_standby"
    identity: str = ""


@dataclass(frozen=True)
class Report:
    address: str
    port: int
    sys_name: str | None
    groups: tuple[Group, ...] = ()
    clusters: tuple[Cluster, ...] = ()
    notes: tuple[str, ...] = ()  # found, but nothing to pair (standalone, one routing engine)
    problems: tuple[str, ...] = ()  # columns the agent refused (error status) or cut short

    @property
    def where(self) -> str:
        """The address as `netmon discover` takes it: with the port where it is not 161 (an
        IPv6 address then in brackets)."""
        if self.port == 161:
            return self.address
        return (
            f"[{self.address}]:{self.port}"
            if ":" in self.address
            else f"{self.address}:{self.port}"
        )

    @property
    def empty(self) -> bool:
        return not (self.groups or self.clusters or self.notes)


def rows(values: Mapping[Oid, Value], column: Oid) -> dict[Oid, Value]:
    """The rows of a column, by index (the OID after the column)."""
    n = len(column)
    return {oid[n:]: v for oid, v in values.items() if oid[:n] == column and len(oid) > n}


def as_int(value: Value | None) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def as_text(value: Value | None) -> str | None:
    if not isinstance(value, str):
        return None
    return one_line(value) or None


def state_name(table: Mapping[int, str], value: Value | None) -> str:
    number = as_int(value)
    if number is None:
        return "state not reported"
    return table.get(number, f"state {number}")


def ip_text(octets: Sequence[int]) -> str | None:
    if len(octets) == 4 and all(0 <= b <= 255 for b in octets):
        return ".".join(map(str, octets))
    if len(octets) == 16 and all(0 <= b <= 255 for b in octets):
        return str(ipaddress.IPv6Address(bytes(octets)))
    return None


NAME_CHARS = re.compile(r"[^A-Za-z0-9_.:-]+")


def slug(text: str) -> str:
    """`text` as an inventory name: letters, digits and `_ . : -` (pair names must be)."""
    return NAME_CHARS.sub("-", text).strip("-") or "x"
