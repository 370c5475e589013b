"""CISCO-RF-MIB: redundant supervisors/route processors of one chassis.

One agent reports both units: *this unit* (the one the agent runs on: cRFStatusUnitId/UnitState)
and *its peer* (cRFStatusPeerUnitId/PeerUnitState). A member names its unit the way the MIB
describes it, `unit: local` or `unit: peer`, or by `unit_id` where the agent reports unit ids
(not every agent answers cRFStatusUnitId/PeerUnitId, and operators rarely know the numbers).

A `unit_id` the agent does not report is `fault` ("unit absent"), marked `missing`: absent
objects are not evidence that the unit is not active (a wrong id reads the same). What the
device reports as a value keeps `missing` unset: a simplex or non-redundant chassis, a disabled
peer, a peer the active unit reports `notKnown`. Text the agent sends (an id that arrives as a
string) is shown on one bounded line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Literal

from netmon.kinds.base import (
    ParamProblem,
    RoleRow,
    RoleTable,
    in_range,
    missing_view,
    view_from_table,
)
from netmon.kinds.evidence import bounded
from netmon.model import MemberView, Missing, Probe, Role, Value

RF_STATUS = (1, 3, 6, 1, 4, 1, 9, 9, 176, 1, 1)
UNIT_ID = (*RF_STATUS, 1, 0)
UNIT_STATE = (*RF_STATUS, 2, 0)
PEER_UNIT_ID = (*RF_STATUS, 3, 0)
PEER_UNIT_STATE = (*RF_STATUS, 4, 0)
DUPLEX_MODE = (*RF_STATUS, 6, 0)  # TruthValue: true(1) when a peer unit is present
LAST_SWACT_REASON = (*RF_STATUS, 8, 0)
FAILOVER_TIME = (*RF_STATUS, 9, 0)  # TimeStamp: sysUpTime at the last switchover
OPER_MODE = (1, 3, 6, 1, 4, 1, 9, 9, 176, 1, 2, 16, 0)  # cRFCfgRedundancyOperMode

# RFSwactReasonType (CISCO-RF-MIB, REVISION 202307130000Z added 8 and 9).
SWACT_REASONS = {
    1: "unsupported", 2: "none", 3: "notKnown", 4: "userInitiated", 5: "userForced",
    6: "activeUnitFailed", 7: "activeUnitRemoved", 8: "activeGWdown", 9: "activeRMIportdown",
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
NOT_KNOWN = 1

# The two rows of the MIB: (state key, id key) for this unit and for its peer.
ROWS = {
    "local": ("cRFStatusUnitState", "cRFStatusUnitId"),
    "peer": ("cRFStatusPeerUnitState", "cRFStatusPeerUnitId"),
}
OTHER: dict[str, Literal["local", "peer"]] = {"local": "peer", "peer": "local"}
HOW = "address the members as unit: local and unit: peer"
ID_MAX = 20  # a unit id the agent sent as text, as shown


@dataclass(frozen=True)
class CiscoRfParams:
    __pydantic_config__: ClassVar[dict[str, Any]] = {"extra": "forbid"}
    unit_id: int | None = None  # the id the agent reports (cRFStatusUnitId or PeerUnitId)
    unit: Literal["local", "peer"] | None = None  # the unit the agent runs on, or its peer


class CiscoRfKind:
    name = "cisco-rf"
    mib = "CISCO-RF-MIB cRFStatusUnitState / cRFStatusPeerUnitState (1.3.6.1.4.1.9.9.176.1.1.{1..4}.0)"
    transport = "snmp"
    params_type = CiscoRfParams
    roles = ROLES

    def check(self, params: CiscoRfParams) -> list[ParamProblem]:
        if params.unit is not None and params.unit_id is not None:
            return [("unit", "give either 'unit' (local or peer) or 'unit_id', not both")]
        if params.unit is None and params.unit_id is None:
            return [
                (
                    "unit",
                    "name the member's unit: 'unit: local' (the unit the agent runs on) or "
                    "'unit: peer' (its redundant peer), or 'unit_id: N' where the agent reports "
                    "unit ids (`netmon discover` shows them)",
                )
            ]
        if params.unit_id is not None:
            return in_range("unit_id", params.unit_id, 1, None, "unit id")
        return []

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
        identity = _identity(values)
        which = _which_unit(params, values)
        if isinstance(which, MemberView):
            return replace(which, identity=identity)
        view = _with_last_switchover(_unit_view(which, values), values)
        return replace(view, identity=identity, peer_active=_heard(view, OTHER[which], values))


def _which_unit(
    params: CiscoRfParams, values: Mapping[str, Value]
) -> Literal["local", "peer"] | MemberView:
    """Which row of the MIB describes the member, or the view saying why none can."""
    if params.unit is not None:
        return params.unit
    local_id, peer_id = values.get("cRFStatusUnitId"), values.get("cRFStatusPeerUnitId")
    if isinstance(local_id, int) and local_id == params.unit_id:
        return "local"
    bad = missing_view("cRFStatusUnitId", local_id)
    if bad is not None:
        if bad.missing and isinstance(values.get("cRFStatusUnitState"), int):
            # The agent speaks RF but does not number its units: only local|peer can name them.
            return replace(bad, reason=f"{bad.reason}: the agent reports no unit ids; {HOW}")
        return bad
    if _not_redundant(values) is not None:
        # No peer to look for: which unit is meant no longer matters; judged as the peer.
        return "peer"
    if isinstance(peer_id, int) and peer_id == params.unit_id:
        return "peer"
    # The agent describes other units: this one is absent from the chassis (or misnamed).
    # Absent objects are no evidence that the unit is not active: marked missing.
    local, peer = _shown_id(local_id), _shown_id(peer_id)
    return MemberView(
        Role.FAULT,
        reason=f"unit {params.unit_id} absent: agent reports units {local} and {peer}",
        raw=f"unit {local}, peer {peer}",
        peer_active=_hears_active("local", values),
        missing=True,
    )


def _shown_id(value: Value | None) -> str:
    """A unit id as the agent reported it, for operators: one bounded line whatever it sent."""
    if value is None:
        return "not returned"
    if isinstance(value, Missing):
        return value.value
    if isinstance(value, int):
        return str(value)
    return bounded(repr(value), ID_MAX)  # quoted, control characters escaped


def _heard(
    view: MemberView, other: Literal["local", "peer"], values: Mapping[str, Value]
) -> str | None:
    """Who the member hears as active: only a standby or a member in fault hears a peer (an
    active member vouches for itself; an unknown one says nothing)."""
    if view.role not in (Role.STANDBY, Role.FAULT):
        return None
    return _hears_active(other, values)


def _not_redundant(values: Mapping[str, Value]) -> MemberView | None:
    """The peer's view when the chassis runs without redundancy (no peer to read), else None."""
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
    return None


def _unit_view(which: Literal["local", "peer"], values: Mapping[str, Value]) -> MemberView:
    state_key = ROWS[which][0]
    if which == "peer":
        alone = _not_redundant(values)
        if alone is not None:
            return alone
        state = values.get(state_key)
        if state == NOT_KNOWN and _hears_active("local", values):
            # The active unit does not know its peer: no unit stands ready to take over. (While
            # this unit is not active itself, notKnown says nothing: left unknown.)
            return MemberView(
                Role.FAULT,
                reason="peer absent: the active unit reports its peer's state notKnown (cRFStatusPeerUnitState 1)",
                raw="1 (notKnown)",
            )
    return view_from_table(state_key, values.get(state_key), ROLES)


def _hears_active(which: Literal["local", "peer"], values: Mapping[str, Value]) -> str | None:
    """'local unit active (cRFStatusUnitState active)' when the agent reports `which` active."""
    state_key = ROWS[which][0]
    state = values.get(state_key)
    row = ROLES.get(state) if isinstance(state, int) and not isinstance(state, bool) else None
    if row is None or row.role is not Role.ACTIVE:
        return None
    return f"{which} unit active ({state_key} {row.meaning})"


def _identity(values: Mapping[str, Value]) -> str | None:
    """The unit ids the agent reports, so an operator sees what `unit_id` could say."""
    ids = [values.get(ROWS[w][1]) for w in ("local", "peer")]
    if not any(isinstance(i, int) for i in ids):
        if not any(isinstance(values.get(ROWS[w][0]), int) for w in ("local", "peer")):
            return None  # no RF here at all: nothing to name
        return f"unit ids not reported (cRFStatusUnitId/PeerUnitId); {HOW}"
    local, peer = (str(i) if isinstance(i, int) else "not reported" for i in ids)
    return f"local unit {local}, peer unit {peer}"


def _with_last_switchover(view: MemberView, values: Mapping[str, Value]) -> MemberView:
    """The last switchover's reason and time (sysUpTime ticks) join the raw value operators see."""
    reason = values.get("cRFStatusLastSwactReasonCode")
    if not isinstance(reason, int) or reason in (1, 2):  # unsupported, none: nothing to add
        return view
    at = values.get("cRFStatusFailoverTime")
    when = f" at uptime {at / 100:.0f}s" if isinstance(at, int) and at > 0 else ""
    text = f"last switchover: {SWACT_REASONS.get(reason, str(reason))}{when}"
    return replace(view, raw=f"{view.raw}; {text}" if view.raw else text)
