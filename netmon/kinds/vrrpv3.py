"""VRRPv3-MIB (RFC 6527): vrrpv3OperationsStatus per (ifIndex, VRID, inet version), and the
master a backup hears."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Annotated, Any, ClassVar

from pydantic import Field

from netmon.kinds.base import ParamProblem, RoleRow, RoleTable, in_range, view_from_table
from netmon.kinds.evidence import heard_active, reported_inet
from netmon.kinds.intent import addresses_in, priority_of
from netmon.kinds.names import (
    InterfaceLookup,
    interface_label,
    interface_lookup,
    interface_problems,
)
from netmon.model import MemberView, Missing, Oid, Probe, Role, Value

VRRPV3_OPERATIONS_ENTRY = (1, 3, 6, 1, 2, 1, 207, 1, 1, 1, 1)
# InetAddress (OCTET STRING, 4 or 16 bytes): on a backup the source of the last advertisement
# heard, its master; the master reports its own primary address here.
VRRPV3_OPERATIONS_MASTER_IP = (*VRRPV3_OPERATIONS_ENTRY, 3)
VRRPV3_OPERATIONS_PRIMARY_IP = (*VRRPV3_OPERATIONS_ENTRY, 4)  # this router's own address
VRRPV3_OPERATIONS_STATUS = (*VRRPV3_OPERATIONS_ENTRY, 6)
# vrrpv3OperationsPriority (0..255): the priority used in elections (intent drift).
VRRPV3_OPERATIONS_PRIORITY = (*VRRPV3_OPERATIONS_ENTRY, 7)
# vrrpv3AssociatedIpAddrRowStatus, INDEX { ifIndex, vrrpv3OperationsVrId,
# vrrpv3OperationsInetAddrType, vrrpv3AssociatedIpAddrAddress }: the address is an InetAddress
# in the index (a length arc, then its 4 or 16 octets). Walked whole, as a table.
VRRPV3_ASSOCIATED_IP_ROW_STATUS = (1, 3, 6, 1, 2, 1, 207, 1, 1, 2, 1, 2)
ROW_ACTIVE = 1

# keepalived reports its FAULT state as initialize (1).
ROLES: RoleTable = {
    1: RoleRow(Role.FAULT, "initialize"),
    2: RoleRow(Role.STANDBY, "backup"),
    3: RoleRow(Role.ACTIVE, "master"),
}

# InetAddressType in the table index: ipv4(1), ipv6(2).
INET_VERSION = {4: 1, 6: 2}


@dataclass(frozen=True)
class Vrrpv3Params:
    __pydantic_config__: ClassVar[dict[str, Any]] = {"extra": "forbid"}
    # Exactly one of if_index or interface (its ifName/ifDescr, resolved at the poll). The
    # default is for the inventory only (pydantic): positional construction keeps its order.
    if_index: Annotated[int | None, Field(default=None)]
    vrid: int
    inet_version: int = 4
    interface: str | None = None


class Vrrpv3Kind:
    name = "vrrpv3"
    mib = "VRRPv3-MIB vrrpv3OperationsStatus (1.3.6.1.2.1.207.1.1.1.1.6.<ifIndex>.<vrid>.<1|2>)"
    transport = "snmp"
    params_type = Vrrpv3Params
    roles = ROLES
    # Walked as a table for the virtual addresses (intent drift): see virtual_ips.
    intent_columns: tuple[Oid, ...] = (VRRPV3_ASSOCIATED_IP_ROW_STATUS,)

    def check(self, params: Vrrpv3Params) -> list[ParamProblem]:
        problems = in_range("vrid", params.vrid, 1, 255, "VRID")
        problems += interface_problems(params.if_index, params.interface)
        if params.inet_version not in INET_VERSION:
            problems.append(("inet_version", f"must be 4 or 6, got {params.inet_version}"))
        return problems

    def lookup(self, params: Vrrpv3Params) -> InterfaceLookup | None:
        return interface_lookup(params.interface)

    def probes(self, params: Vrrpv3Params) -> tuple[Probe, ...]:
        if params.if_index is None:
            return ()  # a name not resolved yet (netmon.kinds.names): nothing to read
        index = (params.if_index, params.vrid, INET_VERSION.get(params.inet_version, 1))
        return (
            Probe("vrrpv3OperationsStatus", (*VRRPV3_OPERATIONS_STATUS, *index)),
            Probe("vrrpv3OperationsMasterIpAddr", (*VRRPV3_OPERATIONS_MASTER_IP, *index)),
            Probe("vrrpv3OperationsPrimaryIpAddr", (*VRRPV3_OPERATIONS_PRIMARY_IP, *index)),
            Probe("vrrpv3OperationsPriority", (*VRRPV3_OPERATIONS_PRIORITY, *index)),
        )

    def virtual_ips(
        self, params: Vrrpv3Params, rows: Mapping[Oid, Value]
    ) -> tuple[str, ...] | None:
        """The group's virtual addresses in vrrpv3AssociatedIpAddrTable (rows active(1)); None
        when the column has no row at all."""
        if params.if_index is None or params.inet_version not in INET_VERSION:
            return None
        prefix = (params.if_index, params.vrid, INET_VERSION[params.inet_version])
        return addresses_in(
            rows, VRRPV3_ASSOCIATED_IP_ROW_STATUS, prefix, ROW_ACTIVE, params.inet_version
        )

    def interpret(self, params: Vrrpv3Params, values: Mapping[str, Value]) -> MemberView:
        status = values.get("vrrpv3OperationsStatus")
        version = params.inet_version
        group = (
            f"{interface_label(params.if_index, params.interface)} VRID {params.vrid} IPv{version}"
        )
        view = replace(view_from_table("vrrpv3OperationsStatus", status, ROLES), group=group)
        if status is None or isinstance(status, Missing):
            return view  # no row: the device reported nothing about this router
        view = replace(view, priority=priority_of(values.get("vrrpv3OperationsPriority")))
        master = reported_inet(values.get("vrrpv3OperationsMasterIpAddr"), version)
        own = reported_inet(values.get("vrrpv3OperationsPrimaryIpAddr"), version)
        identity = group
        if own:
            identity += f"; own address {own}"
        if master and master != own:
            identity += f"; master {master}"
        view = replace(view, identity=identity)
        if view.role is Role.STANDBY:
            # A backup stays backup only while its master's advertisements arrive, and names
            # that master: evidence the pair serves. A value that is absent, of the wrong
            # length, garbled in decoding, all zeros or the member's own address: no evidence.
            return replace(view, peer_active=heard_active(master, own))
        return view
