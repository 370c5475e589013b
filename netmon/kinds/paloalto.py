"""PAN-COMMON-MIB: a Palo Alto Networks firewall HA pair.

Each firewall's agent reports its own HA state (`panSysHAState`), what it knows of its peer
(`panSysHAPeerState`) and the HA mode (`panSysHAMode`), all as strings. A member is a `unit` of a
device: `local` (the firewall the agent runs on) or `peer` (its HA partner, as the agent sees
it). Both members may name the same device (one agent tells about both units) or each its own
firewall, both `local` (each speaks for itself).

HA mode `disabled` where a pair is configured: the local unit runs alone (`active`) and the peer
unit is `fault` with "redundancy not configured", so the pair reads `degraded`, never `healthy`.

Each unit reads both states: what the agent says of the *other* unit is what this member hears
about its peer. The other unit reported active (while this one is a standby or in fault) is
evidence the pair serves, even when netmon cannot reach the other firewall.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import ClassVar, Literal

from netmon.kinds.base import ParamProblem, RoleRow
from netmon.kinds.evidence import bounded
from netmon.model import MemberView, Missing, Probe, Role, Value

PAN_SYS = (1, 3, 6, 1, 4, 1, 25461, 2, 1, 2, 1)
HA_STATE = (*PAN_SYS, 11, 0)
HA_PEER_STATE = (*PAN_SYS, 12, 0)
HA_MODE = (*PAN_SYS, 13, 0)
OIDS = {"panSysHAState": HA_STATE, "panSysHAPeerState": HA_PEER_STATE}

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
HA_MODES = ("active-passive", "active-active")
MODES = (*HA_MODES, "disabled")


@dataclass(frozen=True)
class PaloAltoHaParams:
    __pydantic_config__: ClassVar[dict[str, object]] = {"extra": "forbid"}
    unit: Literal["local", "peer"] = "local"


def _text(key: str, value: Value | None) -> str | MemberView:
    """The value as lower-case text, or the `unknown` view saying why it is not usable."""
    if value is None:
        value = Missing.NOT_RETURNED
    if isinstance(value, Missing):
        # `missing` only for what the agent says is absent (as base.missing_view): NOT_RETURNED
        # is a reply netmon did not get, blindness, never a row that vanished.
        return MemberView(
            Role.UNKNOWN,
            reason=f"{key}: {value.value}",
            raw=value.value,
            missing=value is not Missing.NOT_RETURNED,
        )
    if not isinstance(value, str):
        return MemberView(Role.UNKNOWN, reason=f"{key}: expected text, got {value!r}"[:80])
    return value.strip().lower()


def _keys(params: PaloAltoHaParams) -> tuple[str, str]:
    """(the state of this member's unit, the state of the other unit), as probe keys."""
    if params.unit == "local":
        return "panSysHAState", "panSysHAPeerState"
    return "panSysHAPeerState", "panSysHAState"


class PaloAltoHaKind:
    name = "paloalto-ha"
    mib = "PAN-COMMON-MIB panSysHAState / panSysHAPeerState / panSysHAMode (1.3.6.1.4.1.25461.2.1.2.1.{11,12,13}.0)"
    transport = "snmp"
    params_type = PaloAltoHaParams
    roles = ROLES

    def check(self, params: PaloAltoHaParams) -> list[ParamProblem]:
        return []

    def probes(self, params: PaloAltoHaParams) -> tuple[Probe, ...]:
        own, other = _keys(params)
        return (
            Probe(own, OIDS[own]),
            Probe("panSysHAMode", HA_MODE),
            Probe(other, OIDS[other]),  # what this member hears about its peer
        )

    def interpret(self, params: PaloAltoHaParams, values: Mapping[str, Value]) -> MemberView:
        view = self._own_view(params, values)
        if view.role not in (Role.ACTIVE, Role.STANDBY, Role.FAULT):
            return view
        _, other = _keys(params)
        states = {k: values.get(k) for k in ("panSysHAState", "panSysHAPeerState")}
        shown = {k: v.strip().lower() for k, v in states.items() if isinstance(v, str)}
        mode = values.get("panSysHAMode")
        identity = ", ".join(
            f"{unit} {bounded(shown[key])}"
            for unit, key in (("local", "panSysHAState"), ("peer", "panSysHAPeerState"))
            if key in shown
        )
        if isinstance(mode, str):
            identity += f" ({bounded(mode.strip().lower())})"
        view = replace(view, identity=identity or None)
        heard = ROLES.get(shown.get(other, ""))
        in_ha = isinstance(mode, str) and mode.strip().lower() in HA_MODES
        vouched = in_ha and heard is not None and heard.role is Role.ACTIVE
        if view.role is not Role.ACTIVE and vouched:
            # The agent reports the other unit active: evidence the pair serves, whether or not
            # netmon reaches that firewall. Only a state of the table counts, never free text;
            # with HA disabled there is no peer to vouch for.
            unit = "peer" if params.unit == "local" else "local"
            return replace(view, peer_active=f"the {unit} firewall ({other} {shown[other]})")
        return view

    def _own_view(self, params: PaloAltoHaParams, values: Mapping[str, Value]) -> MemberView:
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
