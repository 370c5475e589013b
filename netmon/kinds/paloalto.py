"""PAN-COMMON-MIB: a Palo Alto Networks firewall HA pair.

Each firewall's agent reports its own HA state (`panSysHAState`), what it knows of its peer
(`panSysHAPeerState`) and the HA mode (`panSysHAMode`), all as strings. A member is a `unit` of a
device: `local` (the firewall the agent runs on) or `peer` (its HA partner, as the agent sees
it). Both members may name the same device (one agent tells about both units) or each its own
firewall, both `local` (each speaks for itself).

HA mode `disabled` where a pair is configured: the local unit runs alone (`active`) and the peer
unit is `fault` with "redundancy not configured", so the pair reads `degraded`, never `healthy`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, Literal

from netmon.kinds.base import ParamProblem, RoleRow
from netmon.model import MemberView, Missing, Probe, Role, Value

PAN_SYS = (1, 3, 6, 1, 4, 1, 25461, 2, 1, 2, 1)
HA_STATE = (*PAN_SYS, 11, 0)
HA_PEER_STATE = (*PAN_SYS, 12, 0)
HA_MODE = (*PAN_SYS, 13, 0)

NOT_READY = "would not take over now"
# The states PAN-OS reports (lower case, as the agent sends them).
ROLES: Mapping[str, RoleRow] = {
    "active": RoleRow(Role.ACTIVE, "active (active/passive)"),
    "active-primary": RoleRow(Role.ACTIVE, "active-primary (active/active)"),
    "active-secondary": RoleRow(Role.ACTIVE, "active-secondary (active/active)"),
    "passive": RoleRow(Role.STANDBY, "passive: synchronized, ready to take over"),
    "tentative": RoleRow(Role.STANDBY, f"tentative: recovering from a failure; {NOT_READY}", ready=False),
    "initial": RoleRow(Role.STANDBY, f"initial: HA starting, not yet synchronized; {NOT_READY}", ready=False),
    "suspended": RoleRow(Role.FAULT, "suspended: taken out of HA by an administrator"),
    "non-functional": RoleRow(Role.FAULT, "non-functional: a monitored link or path failed"),
    "unknown": RoleRow(Role.UNKNOWN, "unknown: the peer is not heard (HA1 down or peer gone)"),
}  # fmt: skip
MODES = ("active-passive", "active-active", "disabled")


@dataclass(frozen=True)
class PaloAltoHaParams:
    __pydantic_config__: ClassVar[dict[str, object]] = {"extra": "forbid"}
    unit: Literal["local", "peer"] = "local"


def _text(key: str, value: Value | None) -> str | MemberView:
    """The value as lower-case text, or the `unknown` view saying why it is not usable."""
    if value is None:
        value = Missing.NOT_RETURNED
    if isinstance(value, Missing):
        return MemberView(Role.UNKNOWN, reason=f"{key}: {value.value}", raw=value.value)
    if not isinstance(value, str):
        return MemberView(Role.UNKNOWN, reason=f"{key}: expected text, got {value!r}"[:80])
    return value.strip().lower()


class PaloAltoHaKind:
    name = "paloalto-ha"
    mib = "PAN-COMMON-MIB panSysHAState / panSysHAPeerState / panSysHAMode (1.3.6.1.4.1.25461.2.1.2.1.{11,12,13}.0)"
    transport = "snmp"
    params_type = PaloAltoHaParams
    roles = ROLES

    def check(self, params: PaloAltoHaParams) -> list[ParamProblem]:
        return []

    def probes(self, params: PaloAltoHaParams) -> tuple[Probe, ...]:
        state = HA_STATE if params.unit == "local" else HA_PEER_STATE
        return (
            Probe("panSysHAState" if params.unit == "local" else "panSysHAPeerState", state),
            Probe("panSysHAMode", HA_MODE),
        )

    def interpret(self, params: PaloAltoHaParams, values: Mapping[str, Value]) -> MemberView:
        key = "panSysHAState" if params.unit == "local" else "panSysHAPeerState"
        mode = _text("panSysHAMode", values.get("panSysHAMode"))
        if isinstance(mode, MemberView):
            return mode
        if mode == "disabled":
            if params.unit == "local":
                return MemberView(Role.ACTIVE, raw="mode disabled (standalone)")
            return MemberView(
                Role.FAULT,
                reason="redundancy not configured (panSysHAMode disabled: a standalone firewall)",
                raw="mode disabled",
            )
        if mode not in MODES:
            return MemberView(Role.UNKNOWN, reason=f"panSysHAMode: unrecognised {mode!r}"[:80])
        state = _text(key, values.get(key))
        if isinstance(state, MemberView):
            return state
        if state == "unknown" and params.unit == "peer":
            # The local firewall does not hear its peer: for the pair, redundancy is gone.
            return MemberView(
                Role.FAULT,
                reason="peer absent: panSysHAPeerState unknown (HA1 link down or peer gone)",
                raw=f"unknown ({mode})",
            )
        row = ROLES.get(state)
        if row is None:
            return MemberView(Role.UNKNOWN, reason=f"{key}: unrecognised {state!r}"[:80], raw=state)
        reason = None if row.role in (Role.ACTIVE, Role.STANDBY) and row.ready else row.meaning
        return MemberView(row.role, reason=reason, raw=f"{state} ({mode})", ready=row.ready)
