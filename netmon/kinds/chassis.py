"""Chassis redundancy read from standard and Arista MIBs: one agent reports every unit.

- `entity-standby`: ENTITY-STATE-MIB (RFC 4268) `entStateStandby` and `entStateOper` of the
  unit's `entPhysicalIndex` (any vendor that implements it: supervisors, route processors).
- `arista-redundancy`: ARISTA-REDUNDANCY-MIB `aristaRedundancyUnitState` of a supervisor unit,
  with the redundancy protocol in operation (simplex, rpr, sso) and the last switchover reason.

Both members of a pair name the same device; each member's `params` names its unit.

A unit the agent has no row for (noSuchInstance) is `fault`, marked `missing`: absent objects
are not evidence that the unit is not active (entPhysicalIndex values may change when a chassis
reloads, and a wrong index or unit id reads the same). What the device reports as a value
(entStateOper disabled, a unit disabled, the simplex protocol) keeps `missing` unset. Text the
device reports is shown on one bounded line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import ClassVar

from netmon.kinds.base import ParamProblem, RoleRow, RoleTable, in_range, view_from_table
from netmon.kinds.evidence import bounded
from netmon.model import MemberView, Missing, Probe, Role, Value

ENT_STATE = (1, 3, 6, 1, 2, 1, 131, 1, 1, 1)
ENT_OPER, ENT_STANDBY = 3, 6
ENT_NAME = (1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1, 7)  # ENTITY-MIB entPhysicalName
NAME_MAX = 60  # a reported name is shown to operators: bounded
RAW_MAX = 160
STANDBY_ROLES: RoleTable = {
    1: RoleRow(Role.UNKNOWN, "unknown"),
    2: RoleRow(Role.STANDBY, "hotStandby"),
    3: RoleRow(Role.STANDBY, "coldStandby: would not take over statefully", ready=False),
    4: RoleRow(Role.ACTIVE, "providingService"),
}


def _absent(what: str) -> MemberView:
    return MemberView(
        Role.FAULT,
        reason=f"peer absent or redundancy not configured: the agent has no {what}",
        raw="noSuchInstance",
        missing=True,
    )


def _shown(value: Value | None) -> str:
    """A value as the agent sent it, for operators: one bounded line whatever it sent."""
    if value is None:
        return "not returned"
    if isinstance(value, Missing):
        return value.value
    return str(value) if isinstance(value, int) else _quoted(value, 20)


def _quoted(text: str, limit: int) -> str:
    """Device text quoted, control characters escaped (repr), cut to one bounded line."""
    return bounded(repr(text), limit + 2)


@dataclass(frozen=True)
class EntityStandbyParams:
    __pydantic_config__: ClassVar[dict[str, object]] = {"extra": "forbid"}
    physical_index: int


class EntityStandbyKind:
    name = "entity-standby"
    mib = "ENTITY-STATE-MIB entStateStandby / entStateOper (1.3.6.1.2.1.131.1.1.1.{6,3}.<entPhysicalIndex>)"
    transport = "snmp"
    params_type = EntityStandbyParams
    roles = STANDBY_ROLES

    def check(self, params: EntityStandbyParams) -> list[ParamProblem]:
        return in_range("physical_index", params.physical_index, 1, None, "entPhysicalIndex")

    def probes(self, params: EntityStandbyParams) -> tuple[Probe, ...]:
        return (
            Probe("entStateStandby", (*ENT_STATE, ENT_STANDBY, params.physical_index)),
            Probe("entStateOper", (*ENT_STATE, ENT_OPER, params.physical_index)),
            Probe("entPhysicalName", (*ENT_NAME, params.physical_index)),
        )

    def interpret(self, params: EntityStandbyParams, values: Mapping[str, Value]) -> MemberView:
        # The name the device gives the entity, so an operator sees which unit the index is.
        name = values.get("entPhysicalName")
        identity = f"entPhysicalIndex {params.physical_index}" + (
            f" {_quoted(name.strip(), NAME_MAX)}" if isinstance(name, str) and name.strip() else ""
        )
        return replace(self._view(params, values), identity=identity)

    def _view(self, params: EntityStandbyParams, values: Mapping[str, Value]) -> MemberView:
        standby = values.get("entStateStandby")
        if standby is Missing.NO_SUCH_INSTANCE:
            return _absent(f"entity {params.physical_index}")
        if values.get("entStateOper") == 2:  # disabled: not operational, whatever its role
            return MemberView(
                Role.FAULT, reason="entStateOper disabled", raw=f"{_shown(standby)}, oper 2"
            )
        return view_from_table("entStateStandby", standby, STANDBY_ROLES)


ARISTA = (1, 3, 6, 1, 4, 1, 30065, 3, 8, 0, 0)
PROTOCOL_OPER = (*ARISTA, 2, 0)
UNIT_STATE = (*ARISTA, 3, 1, 2)
LAST_REASON = (*ARISTA, 4, 0)
PROTOCOLS = {0: "unknown", 1: "simplex", 2: "rpr", 3: "sso"}
# Supervisor unit ids a modular Arista switch reports: both are read, so a member hears the
# other supervisor and the identity lists both.
SUPERVISORS = (1, 2)
ARISTA_ROLES: RoleTable = {
    0: RoleRow(Role.UNKNOWN, "unknown"),
    1: RoleRow(Role.STANDBY, "standby"),
    2: RoleRow(Role.ACTIVE, "active"),
    3: RoleRow(Role.FAULT, "disabled"),
}


@dataclass(frozen=True)
class AristaRedundancyParams:
    __pydantic_config__: ClassVar[dict[str, object]] = {"extra": "forbid"}
    unit_id: int


class AristaRedundancyKind:
    name = "arista-redundancy"
    mib = (
        "ARISTA-REDUNDANCY-MIB aristaRedundancyUnitState / ProtocolOper (1.3.6.1.4.1.30065.3.8.0.0)"
    )
    transport = "snmp"
    params_type = AristaRedundancyParams
    roles = ARISTA_ROLES

    def check(self, params: AristaRedundancyParams) -> list[ParamProblem]:
        return in_range("unit_id", params.unit_id, 0, None, "unit id")

    def probes(self, params: AristaRedundancyParams) -> tuple[Probe, ...]:
        others = [u for u in SUPERVISORS if u != params.unit_id]
        return (
            Probe("aristaRedundancyUnitState", (*UNIT_STATE, params.unit_id)),
            Probe("aristaRedundancyProtocolOper", PROTOCOL_OPER),
            Probe("aristaRedundancyLastSwOverReason", LAST_REASON),
            *(Probe(f"aristaRedundancyUnitState.{u}", (*UNIT_STATE, u)) for u in others),
        )

    def interpret(self, params: AristaRedundancyParams, values: Mapping[str, Value]) -> MemberView:
        states = {params.unit_id: values.get("aristaRedundancyUnitState")}
        states |= {
            u: values.get(f"aristaRedundancyUnitState.{u}")
            for u in SUPERVISORS
            if u != params.unit_id
        }
        shown = [
            f"unit {u} {ARISTA_ROLES[v].meaning}"
            for u, v in sorted(states.items())
            if isinstance(v, int) and v in ARISTA_ROLES
        ]
        view = self._view(params, values)
        heard = None
        if view.role in (Role.STANDBY, Role.FAULT):
            # Only a standby or a unit in fault hears another supervisor as the active one.
            heard = next(
                (f"unit {u} active (aristaRedundancyUnitState)"
                 for u, v in sorted(states.items()) if u != params.unit_id and v == 2),
                None,
            )  # fmt: skip
        return replace(view, identity=", ".join(shown) or None, peer_active=heard)

    def _view(self, params: AristaRedundancyParams, values: Mapping[str, Value]) -> MemberView:
        state = values.get("aristaRedundancyUnitState")
        protocol = values.get("aristaRedundancyProtocolOper")
        if state is Missing.NO_SUCH_INSTANCE:
            if protocol == 1:
                return MemberView(
                    Role.FAULT,
                    reason="redundancy not configured (aristaRedundancyProtocolOper simplex)",
                    raw="simplex",
                )
            return _absent(f"supervisor unit {params.unit_id}")
        view = view_from_table("aristaRedundancyUnitState", state, ARISTA_ROLES)
        if view.role is Role.STANDBY and protocol == 2:
            view = MemberView(
                Role.STANDBY,
                reason="rpr: the standby would restart forwarding, not take over statefully",
                raw=view.raw,
                ready=False,
            )
        last = values.get("aristaRedundancyLastSwOverReason")
        if isinstance(last, str) and last.strip():
            raw = f"{view.raw}; protocol {PROTOCOLS.get(protocol, '?') if isinstance(protocol, int) else '?'}"
            said = bounded(last)
            view = replace(view, raw=f"{raw}; last switchover: {said}"[:RAW_MAX])
        return view
