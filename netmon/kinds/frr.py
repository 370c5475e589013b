"""FRRouting's vrrpd over SSH: `vtysh -c 'show vrrp interface <parent> <vrid> json'`.

FRR serves nothing of VRRP over SNMP (its AgentX modules are zebra's, BGP's, OSPF's, …), so its
CLI is the only read. The JSON is read, never `show vrrp summary`: that table prints `Backup` in
its IPv6 column where the JSON says `Initialize` for the same group.

One FRR group runs two independent state machines, IPv4 and IPv6 (`family`), each on a macvlan
of its own that the operator creates on the parent interface. What the JSON says, per family:
`status` Master, Backup or Initialize, `interface` the macvlan ("" when there is none), the
`stats` counters; at the top `shutdown` and `preemptMode`.

A backup hears its master through `stats.adverRx`: the view carries the count and the family's
`masterDownInterval`, and evaluate judges a backup whose count stopped growing for longer than
that interval as not ready (it is about to claim master, or hears none where it should).
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from netmon.kinds.base import ParamProblem, RoleRow, in_range
from netmon.kinds.evidence import HEARS_A_VRRP_MASTER, MAX_IDENTITY, bounded
from netmon.model import MemberView, Missing, Probe, Role, Value, ssh_probe

# A Linux interface name: at most 15 bytes (IFNAMSIZ - 1), no blank and no slash; vtysh would
# split anything else into words of its own.
IFNAME = re.compile(r"^[A-Za-z0-9_.:@-]{1,15}$")
MAX_OUTPUT = 1 << 20  # a group's JSON is about 1 KiB: a larger reply is not this command's
NOT_RUNNING = re.compile(r"\b(vrrpd|zebra) is not running\b")
# FRR 8.4's vrrpd/vrrp.c, vrrp_state_names[]: the `status` of each family's state machine.
ROLES: dict[str, RoleRow] = {
    "Master": RoleRow(Role.ACTIVE, "master"),
    "Backup": RoleRow(Role.STANDBY, "backup"),
    "Initialize": RoleRow(Role.FAULT, "initialize"),
}


@dataclass(frozen=True)
class FrrVrrpParams:
    __pydantic_config__: ClassVar[dict[str, Any]] = {"extra": "forbid"}
    interface: str  # the parent interface the group is configured on (`interface eth0`)
    vrid: int
    family: int = 4  # 4 or 6: FRR runs each as a state machine of its own
    # How to call vtysh on the member: "sudo vtysh", "vtysh --vty_socket /run/frr/blue", …
    vtysh: str = "vtysh"


def show_command(params: FrrVrrpParams) -> str:
    show = f"show vrrp interface {params.interface} {params.vrid} json"
    # 2>&1: "vrrpd is not running" goes to stderr, and a session may not merge it.
    return f"{params.vtysh} -c {shlex.quote(show)} 2>&1"


MAX_STARTS = 64  # lines tried as the JSON's first: a notice may come first, and may hold "["


def _json_in(output: str) -> Any:
    """The JSON array in vtysh's output: the first line starting with "[" that begins a JSON
    value, after any notice printed first (FRR's log lines hold "[EC 100663299]", sudo its
    "[sudo]"); raises ValueError when no line does."""
    decoder = json.JSONDecoder()
    at = 0
    for _ in range(MAX_STARTS):
        start = output.find("[", at)
        if start < 0:
            break
        at = start + 1
        if output[output.rfind("\n", 0, start) + 1 : start].strip():
            continue  # not the first character of its line: a notice's bracket
        try:
            value, _ = decoder.raw_decode(output[start:])
        except ValueError:
            continue
        return value
    raise ValueError("no JSON")


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _shown(text: str) -> str:
    return repr(bounded(text, 60))


class FrrVrrpKind:
    name = "frr-vrrp"
    mib = "SSH: `vtysh -c 'show vrrp interface <interface> <vrid> json'` (FRR vrrpd)"
    transport = "ssh"
    params_type = FrrVrrpParams
    roles = ROLES

    def check(self, params: FrrVrrpParams) -> list[ParamProblem]:
        problems = in_range("vrid", params.vrid, 1, 255, "VRID")
        if not IFNAME.match(params.interface):
            problems.append(
                (
                    "interface",
                    f"not a Linux interface name (1-15 of A-Z a-z 0-9 _ . : @ -): {params.interface!r}",
                )
            )
        if params.family not in (4, 6):
            problems.append(("family", f"must be 4 or 6, got {params.family}"))
        if not params.vtysh.strip() or any(c in params.vtysh for c in "\n\r\0"):
            problems.append(("vtysh", "must be one line naming the vtysh command"))
        return problems

    def probes(self, params: FrrVrrpParams) -> tuple[Probe, ...]:
        return (ssh_probe("vrrp", show_command(params)),)

    def interpret(self, params: FrrVrrpParams, values: Mapping[str, Value]) -> MemberView:
        output = values.get("vrrp")
        if not isinstance(output, str):
            shown = output.value if isinstance(output, Missing) else "no output"
            return MemberView(Role.UNKNOWN, reason=f"vtysh: {shown}")
        if len(output) > MAX_OUTPUT:
            return MemberView(Role.UNKNOWN, reason=f"vtysh: output of {len(output)} characters")
        try:
            groups = _json_in(output)
        except (ValueError, RecursionError):
            stopped = NOT_RUNNING.search(output)
            if stopped is not None:
                # vtysh itself answered: the daemon is not there. What the member says of
                # itself, so a fault, not a member netmon could not read.
                return MemberView(Role.FAULT, reason=stopped[0], raw=stopped[0])
            return MemberView(
                Role.UNKNOWN, reason=f"vtysh: output not recognised: {_shown(output)}"
            )
        if groups == []:
            # The group is not configured (or the inventory names the wrong one: the same
            # answer). Unknown on its own; a group read before and now gone is a fault.
            return MemberView(
                Role.UNKNOWN,
                reason=f"not configured: no VRRP group {params.vrid} on {params.interface}",
                missing=True,
            )
        group = groups[0] if isinstance(groups, list) and len(groups) == 1 else None
        if not isinstance(group, dict) or _int(group.get("vrid")) != params.vrid:
            return MemberView(Role.UNKNOWN, reason="vtysh: not one VRRP group of the asked VRID")
        family = group.get(f"v{params.family}")
        if not isinstance(family, dict):
            return MemberView(Role.UNKNOWN, reason=f"vtysh: no IPv{params.family} part")
        return self._family_view(params, group, family)

    def _family_view(
        self, params: FrrVrrpParams, group: Mapping[str, Any], family: Mapping[str, Any]
    ) -> MemberView:
        status = family.get("status")
        macvlan = family.get("interface")
        stats = family.get("stats")
        heard = _int(stats.get("adverRx")) if isinstance(stats, dict) else None
        down_ms = _int(family.get("masterDownInterval"))
        addresses = family.get("addresses")
        virtual = (
            tuple(str(a)[:45] for a in addresses[:16] if isinstance(a, str))
            if isinstance(addresses, list)
            else ()
        )
        primary = family.get("primaryAddress")
        # A backup's primaryAddress is "" (and "::" for an IPv6 part that never started).
        shown_primary = f"; primary {primary}" if isinstance(primary, str) and primary else ""
        identity = bounded(
            f"{group.get('interface', params.interface)} VRID {params.vrid} IPv{params.family}"
            f" on {macvlan or 'no macvlan'}{shown_primary}"
            + (f"; virtual {', '.join(virtual)}" if virtual else ""),
            MAX_IDENTITY,
        )
        row = ROLES.get(status) if isinstance(status, str) else None
        if row is None:
            shown = bounded(str(status), 30)
            return MemberView(Role.UNKNOWN, reason=f"unrecognised status {shown!r}", raw=shown)
        raw = f"{status} (IPv{params.family})"
        if row.role is Role.STANDBY:
            return MemberView(
                Role.STANDBY,
                raw=raw,
                identity=identity,
                peer_active=HEARS_A_VRRP_MASTER,
                adverts_heard=heard,
                adverts_within=down_ms / 1000 if down_ms else None,
            )
        if row.role is Role.FAULT:
            if group.get("shutdown") is True:
                why = f"shutdown (vrrp {params.vrid} shutdown)"
            elif not macvlan:
                why = (
                    f"no macvlan for IPv{params.family}: vrrpd needs one on {params.interface}"
                    " with the virtual MAC"
                )
            else:
                why = f"initialize: {macvlan} or {params.interface} is down, or has no address"
            return MemberView(Role.FAULT, reason=why, raw=raw, identity=identity)
        return MemberView(row.role, raw=raw, identity=identity)
