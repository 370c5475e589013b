"""JUNIPER-MIB jnxRedundancyTable: the two routing engines of one Junos chassis.

One agent reports both routing engines: rows indexed by contents index (9: routing engines on
Junos chassis), slot (L1: RE0 is 1, RE1 is 2) and 0.0. A member is a routing engine (`re`: 0 or
1); both members name the same device. A routing engine missing from the table is `fault`
(peer absent, or a single-RE chassis where a pair is configured): the pair is `degraded`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from netmon.kinds.base import ParamProblem, RoleRow, RoleTable, in_range, view_from_table
from netmon.model import MemberView, Missing, Probe, Role, Value

REDUNDANCY = (1, 3, 6, 1, 4, 1, 2636, 3, 1, 14, 1)
CONFIG, STATE, COUNT, TIME, REASON = 6, 7, 8, 9, 10

ROLES: RoleTable = {
    1: RoleRow(Role.UNKNOWN, "unknown"),
    2: RoleRow(Role.ACTIVE, "master"),
    3: RoleRow(Role.STANDBY, "backup"),
    4: RoleRow(Role.FAULT, "disabled"),
}
REASONS = {1: "other", 2: "neverSwitched", 3: "userSwitched", 4: "autoSwitched"}


@dataclass(frozen=True)
class JunosReParams:
    __pydantic_config__: ClassVar[dict[str, object]] = {"extra": "forbid"}
    re: int
    contents_index: int = 9  # jnxContentsContainerIndex of the routing engines


class JunosReKind:
    name = "junos-re"
    mib = "JUNIPER-MIB jnxRedundancyState / Config / SwitchoverCount / Reason (1.3.6.1.4.1.2636.3.1.14.1)"
    transport = "snmp"
    params_type = JunosReParams
    roles = ROLES

    def check(self, params: JunosReParams) -> list[ParamProblem]:
        return in_range("re", params.re, 0, 1, "routing engine") + in_range(
            "contents_index", params.contents_index, 1, None, "contents index"
        )

    def _oid(self, params: JunosReParams, column: int) -> tuple[int, ...]:
        return (*REDUNDANCY, column, params.contents_index, params.re + 1, 0, 0)

    def probes(self, params: JunosReParams) -> tuple[Probe, ...]:
        return (
            Probe("jnxRedundancyState", self._oid(params, STATE)),
            Probe("jnxRedundancyConfig", self._oid(params, CONFIG)),
            Probe("jnxRedundancySwitchoverCount", self._oid(params, COUNT)),
            Probe("jnxRedundancySwitchoverReason", self._oid(params, REASON)),
            Probe("jnxRedundancySwitchoverTime", self._oid(params, TIME)),
        )

    def interpret(self, params: JunosReParams, values: Mapping[str, Value]) -> MemberView:
        state = values.get("jnxRedundancyState")
        if state is Missing.NO_SUCH_INSTANCE:
            return MemberView(
                Role.FAULT,
                reason=f"peer absent or redundancy not configured: no re{params.re} in jnxRedundancyTable",
                raw="noSuchInstance",
            )
        view = view_from_table("jnxRedundancyState", state, ROLES)
        if view.role is Role.STANDBY and values.get("jnxRedundancyConfig") == 4:
            view = MemberView(
                Role.STANDBY,
                reason="redundancy disabled in its configuration (jnxRedundancyConfig disabled)",
                raw=view.raw,
                ready=False,
            )
        count = values.get("jnxRedundancySwitchoverCount")
        reason = values.get("jnxRedundancySwitchoverReason")
        if isinstance(count, int) and isinstance(reason, int) and reason != 2:
            at = values.get("jnxRedundancySwitchoverTime")
            when = f" at uptime {at / 100:.0f}s" if isinstance(at, int) and at > 0 else ""
            extra = f"{count} switchovers, last {REASONS.get(reason, str(reason))}{when}"
            view = MemberView(view.role, view.reason, f"{view.raw}; {extra}", view.ready)
        return view
