"""CISCO-RF-MIB: redundant supervisors/route processors of one chassis.

One agent reports both units: this unit (cRFStatusUnitId/UnitState) and its peer
(cRFStatusPeerUnitId/PeerUnitState). Each member names its unit id; the kind finds which of the
two rows describes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from netmon.kinds.base import (
    ParamProblem,
    RoleRow,
    RoleTable,
    in_range,
    missing_view,
    view_from_table,
)
from netmon.model import MemberView, Probe, Role, Value

RF_STATUS = (1, 3, 6, 1, 4, 1, 9, 9, 176, 1, 1)
UNIT_ID = (*RF_STATUS, 1, 0)
UNIT_STATE = (*RF_STATUS, 2, 0)
PEER_UNIT_ID = (*RF_STATUS, 3, 0)
PEER_UNIT_STATE = (*RF_STATUS, 4, 0)
DUPLEX_MODE = (*RF_STATUS, 6, 0)  # TruthValue: true(1) when a peer unit is present
LAST_SWACT_REASON = (*RF_STATUS, 8, 0)
FAILOVER_TIME = (*RF_STATUS, 9, 0)  # TimeStamp: sysUpTime at the last switchover
OPER_MODE = (1, 3, 6, 1, 4, 1, 9, 9, 176, 1, 2, 16, 0)  # cRFCfgRedundancyOperMode

SWACT_REASONS = {
    1: "unsupported", 2: "none", 3: "notKnown", 4: "userInitiated", 5: "userForced",
    6: "activeUnitFailed", 7: "activeUnitRemoved",
}  # fmt: skip
# RFMode values that run without a redundant peer.
NON_REDUNDANT = {
    1: "nonRedundant",
    2: "staticLoadShareNonRedundant",
    3: "dynamicLoadShareNonRedundant",
}

COLD = "standby cold: would not take over statefully"
ROLES: RoleTable = {
    1: RoleRow(Role.UNKNOWN, "notKnown"),
    2: RoleRow(Role.FAULT, "disabled"),
    3: RoleRow(Role.FAULT, "initialization"),
    4: RoleRow(Role.FAULT, "negotiation"),
    5: RoleRow(Role.STANDBY, f"standbyCold; {COLD}", ready=False),
    6: RoleRow(Role.STANDBY, f"standbyColdConfig; {COLD}", ready=False),
    7: RoleRow(Role.STANDBY, f"standbyColdFileSys; {COLD}", ready=False),
    8: RoleRow(Role.STANDBY, f"standbyColdBulk; {COLD}", ready=False),
    9: RoleRow(Role.STANDBY, "standbyHot"),
    10: RoleRow(Role.ACTIVE, "activeFast"),
    11: RoleRow(Role.ACTIVE, "activeDrain"),
    12: RoleRow(Role.ACTIVE, "activePreconfig"),
    13: RoleRow(Role.ACTIVE, "activePostconfig"),
    14: RoleRow(Role.ACTIVE, "active"),
    15: RoleRow(Role.ACTIVE, "activeExtraload"),
    16: RoleRow(Role.ACTIVE, "activeHandback"),
    17: RoleRow(Role.STANDBY, f"standbyWarm; {COLD}", ready=False),
}


@dataclass(frozen=True)
class CiscoRfParams:
    __pydantic_config__: ClassVar[dict[str, Any]] = {"extra": "forbid"}
    unit_id: int


class CiscoRfKind:
    name = "cisco-rf"
    mib = "CISCO-RF-MIB cRFStatusUnitState / cRFStatusPeerUnitState (1.3.6.1.4.1.9.9.176.1.1.{1..4}.0)"
    transport = "snmp"
    params_type = CiscoRfParams
    roles = ROLES

    def check(self, params: CiscoRfParams) -> list[ParamProblem]:
        return in_range("unit_id", params.unit_id, 1, None, "unit id")

    def probes(self, params: CiscoRfParams) -> tuple[Probe, ...]:
        return (
            Probe("cRFStatusUnitId", UNIT_ID),
            Probe("cRFStatusUnitState", UNIT_STATE),
            Probe("cRFStatusPeerUnitId", PEER_UNIT_ID),
            Probe("cRFStatusPeerUnitState", PEER_UNIT_STATE),
            Probe("cRFStatusDuplexMode", DUPLEX_MODE),
            Probe("cRFStatusLastSwactReasonCode", LAST_SWACT_REASON),
            Probe("cRFStatusFailoverTime", FAILOVER_TIME),
            Probe("cRFCfgRedundancyOperMode", OPER_MODE),
        )

    def interpret(self, params: CiscoRfParams, values: Mapping[str, Value]) -> MemberView:
        unit_id = values.get("cRFStatusUnitId")
        bad = missing_view("cRFStatusUnitId", unit_id)
        if bad is not None:
            return bad
        if unit_id == params.unit_id:
            view = view_from_table("cRFStatusUnitState", values.get("cRFStatusUnitState"), ROLES)
            return _with_last_switchover(view, values)
        oper_mode = values.get("cRFCfgRedundancyOperMode")
        if isinstance(oper_mode, int) and oper_mode in NON_REDUNDANT:
            return MemberView(
                Role.FAULT,
                reason=f"redundancy not configured (cRFCfgRedundancyOperMode {NON_REDUNDANT[oper_mode]})",
                raw=f"oper mode {oper_mode}",
            )
        if values.get("cRFStatusDuplexMode") == 2:  # false: simplex, no peer in the chassis
            return MemberView(
                Role.FAULT,
                reason="redundancy not configured: the chassis runs simplex, no peer unit (cRFStatusDuplexMode false)",
                raw="duplex false",
            )
        peer_id = values.get("cRFStatusPeerUnitId")
        if peer_id == params.unit_id:
            view = view_from_table(
                "cRFStatusPeerUnitState",
                values.get("cRFStatusPeerUnitState"),
                ROLES,
            )
            return _with_last_switchover(view, values)
        # The agent describes other units: this one is absent from the chassis (or misnamed).
        return MemberView(
            Role.FAULT,
            reason=f"unit {params.unit_id} absent: agent reports units {unit_id} and {peer_id}",
            raw=f"unit {unit_id}, peer {peer_id}",
        )


def _with_last_switchover(view: MemberView, values: Mapping[str, Value]) -> MemberView:
    """The last switchover's reason and time (sysUpTime ticks) join the raw value operators see."""
    reason = values.get("cRFStatusLastSwactReasonCode")
    if not isinstance(reason, int) or reason in (1, 2):  # unsupported, none: nothing to add
        return view
    at = values.get("cRFStatusFailoverTime")
    when = f" at uptime {at / 100:.0f}s" if isinstance(at, int) and at > 0 else ""
    text = f"last switchover: {SWACT_REASONS.get(reason, str(reason))}{when}"
    raw = f"{view.raw}; {text}" if view.raw else text
    return MemberView(view.role, view.reason, raw, view.ready)
