"""A link as a pair member: dual-carrier uplinks and other paths that should all carry traffic.

Two interfaces (on one device or two, through different carriers) form an `active_active` pair:
each member is active while its ifOperStatus is up, so a site whose second path is dead reads
`degraded` while traffic still flows on the first. Give each member the same interface under
`links` and its error rates count too: a lossy carrier marks its member not ready.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar

from pydantic import Field

from netmon.kinds.base import ParamProblem, RoleRow, RoleTable, view_from_table
from netmon.kinds.names import InterfaceLookup, interface_lookup, interface_problems
from netmon.links import IF_OPER_STATUS, column_oid
from netmon.model import MemberView, Probe, Role, Value

ROLES: RoleTable = {
    1: RoleRow(Role.ACTIVE, "up"),
    2: RoleRow(Role.FAULT, "down"),
    3: RoleRow(Role.FAULT, "testing"),
    4: RoleRow(Role.UNKNOWN, "unknown"),
    5: RoleRow(Role.STANDBY, "dormant"),  # a backup path waiting for traffic (dial-on-demand)
    6: RoleRow(Role.FAULT, "notPresent"),
    7: RoleRow(Role.FAULT, "lowerLayerDown"),
}


@dataclass(frozen=True)
class IfLinkParams:
    __pydantic_config__: ClassVar[dict[str, Any]] = {"extra": "forbid"}
    # Exactly one of if_index or interface (its ifName/ifDescr, resolved at the poll). The
    # default is for the inventory only (pydantic): positional construction keeps its order.
    if_index: Annotated[int | None, Field(default=None)]
    interface: str | None = None


class IfLinkKind:
    name = "if-link"
    mib = "IF-MIB ifOperStatus (1.3.6.1.2.1.2.2.1.8.<ifIndex>)"
    transport = "snmp"
    params_type = IfLinkParams
    roles = ROLES

    def check(self, params: IfLinkParams) -> list[ParamProblem]:
        return interface_problems(params.if_index, params.interface)

    def lookup(self, params: IfLinkParams) -> InterfaceLookup | None:
        return interface_lookup(params.interface)

    def probes(self, params: IfLinkParams) -> tuple[Probe, ...]:
        if params.if_index is None:
            return ()  # a name not resolved yet (netmon.kinds.names): nothing to read
        return (Probe("ifOperStatus", column_oid(IF_OPER_STATUS, params.if_index)),)

    def interpret(self, params: IfLinkParams, values: Mapping[str, Value]) -> MemberView:
        return view_from_table("ifOperStatus", values.get("ifOperStatus"), ROLES)
