"""CISCO-HSRP-MIB: cHsrpGrpStandbyState per (ifIndex, group), the active router a standby hears,
and whether the active knows a standby."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Annotated, Any, ClassVar

from pydantic import Field

from netmon.kinds.base import ParamProblem, RoleRow, RoleTable, in_range, view_from_table
from netmon.kinds.evidence import heard_active, reported_ipv4
from netmon.kinds.intent import priority_of
from netmon.kinds.names import (
    InterfaceLookup,
    interface_label,
    interface_lookup,
    interface_problems,
)
from netmon.model import MemberView, Missing, Probe, Role, Value

GRP_ENTRY = (1, 3, 6, 1, 4, 1, 9, 9, 106, 1, 2, 1, 1)
# cHsrpGrpPriority (0..255): the configured priority (intent drift); cHsrpGrpVirtualIpAddr: the
# group's primary virtual address (configured or learnt; 0.0.0.0 while none is known). The
# secondary addresses live in CISCO-HSRP-EXT-MIB (indexed by address) and are not read.
PRIORITY = (*GRP_ENTRY, 3)
VIRTUAL_IP = (*GRP_ENTRY, 11)
ACTIVE_ROUTER = (*GRP_ENTRY, 13)
STANDBY_ROUTER = (*GRP_ENTRY, 14)
STANDBY_STATE = (*GRP_ENTRY, 15)

ROLES: RoleTable = {
    1: RoleRow(Role.FAULT, "initial"),
    2: RoleRow(Role.FAULT, "learn"),
    # listen: HSRP runs but this router is neither active nor the elected standby.
    3: RoleRow(Role.STANDBY, "listen: not the elected standby", ready=False),
    4: RoleRow(Role.STANDBY, "speak: standby election in progress", ready=False),
    5: RoleRow(Role.STANDBY, "standby"),
    6: RoleRow(Role.ACTIVE, "active"),
}


@dataclass(frozen=True)
class HsrpParams:
    __pydantic_config__: ClassVar[dict[str, Any]] = {"extra": "forbid"}
    # Exactly one of if_index or interface (its ifName/ifDescr, resolved at the poll). The
    # default is for the inventory only (pydantic): positional construction keeps its order.
    if_index: Annotated[int | None, Field(default=None)]
    group: int
    interface: str | None = None


class HsrpKind:
    name = "hsrp"
    mib = "CISCO-HSRP-MIB cHsrpGrpStandbyState (1.3.6.1.4.1.9.9.106.1.2.1.1.15.<ifIndex>.<group>)"
    transport = "snmp"
    params_type = HsrpParams
    roles = ROLES

    def check(self, params: HsrpParams) -> list[ParamProblem]:
        return in_range("group", params.group, 0, 4095, "HSRP group") + interface_problems(
            params.if_index, params.interface
        )

    def lookup(self, params: HsrpParams) -> InterfaceLookup | None:
        return interface_lookup(params.interface)

    def probes(self, params: HsrpParams) -> tuple[Probe, ...]:
        if params.if_index is None:
            return ()  # a name not resolved yet (netmon.kinds.names): nothing to read
        index = (params.if_index, params.group)
        return (
            Probe("cHsrpGrpStandbyState", (*STANDBY_STATE, *index)),
            Probe("cHsrpGrpStandbyRouter", (*STANDBY_ROUTER, *index)),
            Probe("cHsrpGrpActiveRouter", (*ACTIVE_ROUTER, *index)),
            Probe("cHsrpGrpPriority", (*PRIORITY, *index)),
            Probe("cHsrpGrpVirtualIpAddr", (*VIRTUAL_IP, *index)),
        )

    def interpret(self, params: HsrpParams, values: Mapping[str, Value]) -> MemberView:
        state = values.get("cHsrpGrpStandbyState")
        group = f"{interface_label(params.if_index, params.interface)} group {params.group}"
        view = replace(view_from_table("cHsrpGrpStandbyState", state, ROLES), group=group)
        if state is None or isinstance(state, Missing):
            return view  # no row: the device reported nothing about this group
        vip = reported_ipv4(values.get("cHsrpGrpVirtualIpAddr"))
        view = replace(
            view,
            priority=priority_of(values.get("cHsrpGrpPriority")),
            virtual_ips=(vip,) if vip else None,  # 0.0.0.0 or absent: not known
        )
        active_router = reported_ipv4(values.get("cHsrpGrpActiveRouter"))
        standby_router = reported_ipv4(values.get("cHsrpGrpStandbyRouter"))
        identity = group
        if active_router or standby_router:
            identity += f"; active {active_router or 'none'}, standby {standby_router or 'none'}"
        view = replace(view, identity=identity)
        # The active router names its standby; 0.0.0.0 means it knows none: redundancy is gone
        # even if the other member looks fine from here.
        if view.role is Role.ACTIVE and values.get("cHsrpGrpStandbyRouter") == "0.0.0.0":
            return replace(view, ready=False, reason="active reports no standby router (0.0.0.0)")
        if view.role is Role.STANDBY:
            # A standby, listen or speak router keeps its state only while hellos from the active
            # arrive (holdtime), and names that router: evidence it serves. On the elected
            # standby cHsrpGrpStandbyRouter is its own address: an active router equal to it is
            # the member naming itself, no evidence.
            return replace(view, peer_active=heard_active(active_router, standby_router))
        return view
