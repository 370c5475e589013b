"""VRRPv3-MIB (RFC 6527): vrrpv3OperationsStatus per (ifIndex, VRID, inet version)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from netmon.kinds.base import ParamProblem, RoleRow, RoleTable, in_range, view_from_table
from netmon.model import MemberView, Probe, Role, Value

VRRPV3_OPERATIONS_STATUS = (1, 3, 6, 1, 2, 1, 207, 1, 1, 1, 1, 6)

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
    if_index: int
    vrid: int
    inet_version: int = 4


class Vrrpv3Kind:
    name = "vrrpv3"
    mib = "VRRPv3-MIB vrrpv3OperationsStatus (1.3.6.1.2.1.207.1.1.1.1.6.<ifIndex>.<vrid>.<1|2>)"
    transport = "snmp"
    params_type = Vrrpv3Params
    roles = ROLES

    def check(self, params: Vrrpv3Params) -> list[ParamProblem]:
        problems = in_range("vrid", params.vrid, 1, 255, "VRID")
        problems += in_range("if_index", params.if_index, 1, None, "ifIndex")
        if params.inet_version not in INET_VERSION:
            problems.append(("inet_version", f"must be 4 or 6, got {params.inet_version}"))
        return problems

    def probes(self, params: Vrrpv3Params) -> tuple[Probe, ...]:
        index = (params.if_index, params.vrid, INET_VERSION.get(params.inet_version, 1))
        return (Probe("vrrpv3OperationsStatus", (*VRRPV3_OPERATIONS_STATUS, *index)),)

    def interpret(self, params: Vrrpv3Params, values: Mapping[str, Value]) -> MemberView:
        value = values.get("vrrpv3OperationsStatus")
        return view_from_table("vrrpv3OperationsStatus", value, ROLES)
