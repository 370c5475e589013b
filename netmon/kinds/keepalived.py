"""KEEPALIVED-MIB: vrrpInstanceState of one VRRP instance, with its priorities for operators."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from netmon.kinds.base import ParamProblem, RoleRow, RoleTable, in_range, view_from_table
from netmon.model import MemberView, Probe, Role, Value

VRRP_INSTANCE = (1, 3, 6, 1, 4, 1, 9586, 100, 5, 2, 3, 1)
STATE = (*VRRP_INSTANCE, 4)
BASE_PRIORITY = (*VRRP_INSTANCE, 7)  # read-write: a drill lever
EFFECTIVE_PRIORITY = (*VRRP_INSTANCE, 8)  # shows a track_file/track_script drop

ROLES: RoleTable = {
    0: RoleRow(Role.FAULT, "init"),
    1: RoleRow(Role.STANDBY, "backup"),
    2: RoleRow(Role.ACTIVE, "master"),
    3: RoleRow(Role.FAULT, "fault"),
    # keepalived reports unknown(4) while its VRRP process stops (seen in the lab on SIGTERM).
    4: RoleRow(Role.UNKNOWN, "unknown (keepalived stopping)"),
    5: RoleRow(Role.FAULT, "shutdown"),
    6: RoleRow(Role.FAULT, "deleted"),
}


@dataclass(frozen=True)
class KeepalivedParams:
    __pydantic_config__: ClassVar[dict[str, Any]] = {"extra": "forbid"}
    instance: int  # vrrpInstanceIndex: 1-based position of the vrrp_instance in keepalived.conf


class KeepalivedKind:
    name = "keepalived"
    mib = "KEEPALIVED-MIB vrrpInstanceState (1.3.6.1.4.1.9586.100.5.2.3.1.4.<instance>)"
    transport = "snmp"
    params_type = KeepalivedParams
    roles = ROLES

    def check(self, params: KeepalivedParams) -> list[ParamProblem]:
        return in_range("instance", params.instance, 1, None, "instance index")

    def probes(self, params: KeepalivedParams) -> tuple[Probe, ...]:
        n = params.instance
        return (
            Probe("vrrpInstanceState", (*STATE, n)),
            Probe("vrrpInstanceBasePriority", (*BASE_PRIORITY, n)),
            Probe("vrrpInstanceEffectivePriority", (*EFFECTIVE_PRIORITY, n)),
        )

    def interpret(self, params: KeepalivedParams, values: Mapping[str, Value]) -> MemberView:
        view = view_from_table("vrrpInstanceState", values.get("vrrpInstanceState"), ROLES)
        base = values.get("vrrpInstanceBasePriority")
        effective = values.get("vrrpInstanceEffectivePriority")
        if isinstance(base, int) and isinstance(effective, int) and view.raw is not None:
            return replace(view, raw=f"{view.raw}, priority {effective}/{base}")
        return view
