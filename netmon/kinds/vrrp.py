"""VRRP-MIB (RFC 2787), VRRPv2: vrrpOperState per (ifIndex, VRID), and the master a backup hears.

keepalived 2.2.7 answers an exact GET on this row with noSuchInstance, and a GETNEXT from a partial
index jumps to the next column, so every probe walks its column from its start ("walk").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Annotated, Any, ClassVar

from pydantic import Field

from netmon.kinds.base import ParamProblem, RoleRow, RoleTable, in_range, view_from_table
from netmon.kinds.evidence import heard_active, reported_ipv4
from netmon.kinds.intent import addresses_in, priority_of
from netmon.kinds.names import (
    InterfaceLookup,
    interface_label,
    interface_lookup,
    interface_problems,
)
from netmon.model import MemberView, Missing, Oid, Probe, Role, Value

VRRP_OPER_ENTRY = (1, 3, 6, 1, 2, 1, 68, 1, 3, 1)
VRRP_OPER_STATE = (*VRRP_OPER_ENTRY, 3)
# The source address of the last advertisement received (a backup: its master). keepalived
# reports 0.0.0.0 on a master that never was a backup, and never clears it after a failover.
VRRP_OPER_MASTER_IP = (*VRRP_OPER_ENTRY, 7)
VRRP_OPER_PRIMARY_IP = (*VRRP_OPER_ENTRY, 8)  # this router's own address on the interface
# vrrpOperPriority (0..255): the priority the router uses in elections (intent drift). VRRP-MIB
# has no tracked/effective priority of its own; keepalived reports its configured one here.
VRRP_OPER_PRIORITY = (*VRRP_OPER_ENTRY, 5)
# vrrpAssoIpAddrRowStatus, INDEX { ifIndex, vrrpOperVrId, vrrpAssoIpAddr }: one row per virtual
# address of the router; the address is the last four arcs of the index (the column itself
# says only active(1)). Walked whole, as a table (the poller, netmon.kinds.names.NameCache).
VRRP_ASSO_IP_ROW_STATUS = (1, 3, 6, 1, 2, 1, 68, 1, 4, 1, 2)
ROW_ACTIVE = 1

ROLES: RoleTable = {
    1: RoleRow(Role.FAULT, "initialize"),
    2: RoleRow(Role.STANDBY, "backup"),
    3: RoleRow(Role.ACTIVE, "master"),
}


@dataclass(frozen=True)
class VrrpParams:
    __pydantic_config__: ClassVar[dict[str, Any]] = {"extra": "forbid"}
    # Exactly one of if_index or interface (its ifName/ifDescr, resolved at the poll). The
    # default is for the inventory only (pydantic): positional construction keeps its order.
    if_index: Annotated[int | None, Field(default=None)]
    vrid: int
    interface: str | None = None


class VrrpKind:
    name = "vrrp"
    mib = "VRRP-MIB vrrpOperState (1.3.6.1.2.1.68.1.3.1.3.<ifIndex>.<vrid>)"
    transport = "snmp"
    params_type = VrrpParams
    roles = ROLES
    # Walked as tables for the intent (drift), every few minutes, never in the poll's own walk:
    # a fourth column there cost a busy router (35 groups) the state of 4 of them within the
    # walk's budget. See virtual_ips and table_priority.
    intent_columns: tuple[Oid, ...] = (VRRP_ASSO_IP_ROW_STATUS, VRRP_OPER_PRIORITY)

    def check(self, params: VrrpParams) -> list[ParamProblem]:
        return in_range("vrid", params.vrid, 1, 255, "VRID") + interface_problems(
            params.if_index, params.interface
        )

    def lookup(self, params: VrrpParams) -> InterfaceLookup | None:
        return interface_lookup(params.interface)

    def probes(self, params: VrrpParams) -> tuple[Probe, ...]:
        if params.if_index is None:
            return ()  # a name not resolved yet (netmon.kinds.names): nothing to read
        index = (params.if_index, params.vrid)
        return tuple(
            Probe(key, (*column, *index), "walk", column=column)
            for key, column in (
                ("vrrpOperState", VRRP_OPER_STATE),
                ("vrrpOperMasterIpAddr", VRRP_OPER_MASTER_IP),
                ("vrrpOperPrimaryIpAddr", VRRP_OPER_PRIMARY_IP),
            )
        )

    def virtual_ips(self, params: VrrpParams, rows: Mapping[Oid, Value]) -> tuple[str, ...] | None:
        """The group's virtual addresses in vrrpAssoIpAddrTable (rows active(1)); None when the
        column has no row at all (an agent without the table says nothing)."""
        if params.if_index is None:
            return None
        return addresses_in(
            rows, VRRP_ASSO_IP_ROW_STATUS, (params.if_index, params.vrid), ROW_ACTIVE, None
        )

    def table_priority(self, params: VrrpParams, rows: Mapping[Oid, Value]) -> int | None:
        """vrrpOperPriority of the member's row, from the intent table; None if not there."""
        if params.if_index is None:
            return None
        return priority_of(rows.get((*VRRP_OPER_PRIORITY, params.if_index, params.vrid)))

    def interpret(self, params: VrrpParams, values: Mapping[str, Value]) -> MemberView:
        state = values.get("vrrpOperState")
        group = f"{interface_label(params.if_index, params.interface)} VRID {params.vrid}"
        view = replace(view_from_table("vrrpOperState", state, ROLES), group=group)
        if state is None or isinstance(state, Missing):
            return view  # no row: the device reported nothing about this router
        master = reported_ipv4(values.get("vrrpOperMasterIpAddr"))
        own = reported_ipv4(values.get("vrrpOperPrimaryIpAddr"))
        identity = group
        if own:
            identity += f"; own address {own}"
        if master and view.role is Role.STANDBY:
            # Only a backup's is news: the address is the source of the last advertisement
            # received, which keepalived never clears, so a new master names its dead predecessor.
            identity += f"; master {master}"
        view = replace(view, identity=identity)
        if view.role is Role.STANDBY:
            # A backup stays backup only while its master's advertisements arrive (else it takes
            # over after Master_Down_Interval), and names that master: evidence the pair serves.
            # 0.0.0.0 (none heard), a missing or malformed value, or its own address: no evidence.
            return replace(view, peer_active=heard_active(master, own))
        return view
