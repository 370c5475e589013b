"""CISCO-FIREWALL-MIB: a Cisco ASA / Firepower (FTD) failover pair.

Either unit's agent reports both units in `cfwHardwareStatusTable`: the row with index
primaryUnit(6) and the row with index secondaryUnit(7), each with a status value
(`cfwHardwareStatusValue`, .3) and a text (`cfwHardwareStatusDetail`, .4, e.g. "Active unit",
"Standby unit", "Failover Off"). A member is a `unit` (`primary` or `secondary`); both members
may name the same device (one agent tells about both units), or each its own.

Failover off where a pair is configured: the primary unit runs alone (`active`) and the
secondary is `fault` with "redundancy not configured", so the pair reads `degraded`.

Each member also reads the other unit's row: the agent reporting the other unit active(9) while
this one is a standby or in fault is evidence the pair serves, even when netmon cannot reach the
other firewall.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import ClassVar, Literal

from netmon.kinds.base import ParamProblem, RoleRow, RoleTable, missing_view, view_from_table
from netmon.kinds.evidence import bounded
from netmon.model import MemberView, Probe, Role, Value

HW_STATUS = (1, 3, 6, 1, 4, 1, 9, 9, 147, 1, 2, 1, 1, 1)
STATUS_VALUE = (*HW_STATUS, 3)
STATUS_DETAIL = (*HW_STATUS, 4)
UNIT_INDEX = {"primary": 6, "secondary": 7}
OTHER_UNIT = {"primary": "secondary", "secondary": "primary"}
ACTIVE = 9

NOT_READY = "would not take over now"
ROLES: RoleTable = {
    1: RoleRow(Role.UNKNOWN, "other"),
    2: RoleRow(Role.STANDBY, f"up: in service but neither active nor standby (negotiating); {NOT_READY}", ready=False),
    3: RoleRow(Role.FAULT, "down: not in service"),
    4: RoleRow(Role.FAULT, "error"),
    5: RoleRow(Role.FAULT, "overTemp"),
    6: RoleRow(Role.STANDBY, f"busy (synchronizing); {NOT_READY}", ready=False),
    7: RoleRow(Role.FAULT, "noMedia"),
    8: RoleRow(Role.UNKNOWN, "backup: processing switched to the backup (read the other unit)"),
    9: RoleRow(Role.ACTIVE, "active"),
    10: RoleRow(Role.STANDBY, "standby"),
}  # fmt: skip


@dataclass(frozen=True)
class CiscoAsaParams:
    __pydantic_config__: ClassVar[dict[str, object]] = {"extra": "forbid"}
    unit: Literal["primary", "secondary"]


class CiscoAsaKind:
    name = "cisco-asa"
    mib = "CISCO-FIREWALL-MIB cfwHardwareStatusValue / Detail (1.3.6.1.4.1.9.9.147.1.2.1.1.1.{3,4}.{6,7})"
    transport = "snmp"
    params_type = CiscoAsaParams
    roles = ROLES

    def check(self, params: CiscoAsaParams) -> list[ParamProblem]:
        return []

    def probes(self, params: CiscoAsaParams) -> tuple[Probe, ...]:
        index = UNIT_INDEX[params.unit]
        other = UNIT_INDEX[OTHER_UNIT[params.unit]]
        return (
            Probe("cfwHardwareStatusValue", (*STATUS_VALUE, index)),
            Probe("cfwHardwareStatusDetail", (*STATUS_DETAIL, index)),
            # The other unit's row: what this member hears about its peer.
            Probe("otherStatusValue", (*STATUS_VALUE, other)),
            Probe("otherStatusDetail", (*STATUS_DETAIL, other)),
        )

    def interpret(self, params: CiscoAsaParams, values: Mapping[str, Value]) -> MemberView:
        view = self._own_view(params, values)
        if view.role not in (Role.ACTIVE, Role.STANDBY, Role.FAULT):
            return view
        other = OTHER_UNIT[params.unit]
        rows = {
            params.unit: values.get("cfwHardwareStatusDetail"),
            other: values.get("otherStatusDetail"),
        }
        identity = ", ".join(
            f"{unit}: {bounded(text)}"
            for unit in ("primary", "secondary")
            if isinstance(text := rows[unit], str) and text.strip()
        )
        view = replace(view, identity=identity or None)
        if view.role is not Role.ACTIVE and values.get("otherStatusValue") == ACTIVE:
            # The agent reports the other unit active(9): evidence the pair serves, whether or
            # not netmon reaches that unit. Only the table's value counts, never the free text.
            return replace(view, peer_active=f"the {other} unit (cfwHardwareStatusValue active)")
        return view

    def _own_view(self, params: CiscoAsaParams, values: Mapping[str, Value]) -> MemberView:
        value = values.get("cfwHardwareStatusValue")
        bad = missing_view("cfwHardwareStatusValue", value)
        if bad is not None:
            return bad
        detail = values.get("cfwHardwareStatusDetail")
        text = detail.strip() if isinstance(detail, str) else ""
        # "Failover Off" only with a HardwareStatus of the table: text never makes a value
        # outside it (an agent's junk, a future enumeration) active.
        if "failover off" in text.lower() and isinstance(value, int) and value in ROLES:
            if params.unit == "primary":
                return MemberView(Role.ACTIVE, raw=f"{value} ({text})")
            return MemberView(
                Role.FAULT,
                reason="redundancy not configured (failover off: a standalone firewall)",
                raw=f"{value} ({text})",
            )
        view = view_from_table("cfwHardwareStatusValue", value, ROLES)
        if text and view.raw:
            return MemberView(view.role, view.reason, f"{view.raw}; {text}"[:120], view.ready)
        return view
