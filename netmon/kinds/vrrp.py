"""VRRP-MIB (RFC 2787), VRRPv2: vrrpOperState per (ifIndex, VRID).

keepalived 2.2.7 answers an exact GET on this row with noSuchInstance, and a GETNEXT from a partial
index jumps to the next column, so the probe walks the column from its start ("walk").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from netmon.kinds.base import ParamProblem, RoleRow, RoleTable, in_range, view_from_table
from netmon.model import MemberView, Probe, Role, Value

VRRP_OPER_STATE = (1, 3, 6, 1, 2, 1, 68, 1, 3, 1, 3)

ROLES: RoleTable = {
    1: RoleRow(Role.FAULT, "initialize"),
    2: RoleRow(Role.STANDBY, "backup"),
    3: RoleRow(Role.ACTIVE, "master"),
}


@dataclass(frozen=True)
class VrrpParams:
    __pydantic_config__: ClassVar[dict[str, Any]] = {"extra": "forbid"}
    if_index: int
    vrid: int


class VrrpKind:
    name = "vrrp"
    mib = "VRRP-MIB vrrpOperState (1.3.6.1.2.1.68.1.3.1.3.<ifIndex>.<vrid>)"
    transport = "snmp"
    params_type = VrrpParams
    roles = ROLES

    def check(self, params: VrrpParams) -> list[ParamProblem]:
        return in_range("vrid", params.vrid, 1, 255, "VRID") + in_range(
            "if_index", params.if_index, 1, None, "ifIndex"
        )

    def probes(self, params: VrrpParams) -> tuple[Probe, ...]:
        oid = (*VRRP_OPER_STATE, params.if_index, params.vrid)
        return (Probe("vrrpOperState", oid, "walk", column=VRRP_OPER_STATE),)

    def interpret(self, params: VrrpParams, values: Mapping[str, Value]) -> MemberView:
        return view_from_table("vrrpOperState", values.get("vrrpOperState"), ROLES)
