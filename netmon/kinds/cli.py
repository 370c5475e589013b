"""Vendor CLIs over SSH: VRRP and HSRP tables parsed with TextFSM.

ntc-templates supplies the template where one exists (Cisco IOS `show vrrp brief`,
`show standby brief`); netmon ships its own for the rest (NX-OS `show vrrp`, Junos
`show vrrp summary`, Arista EOS `show vrrp brief`) in netmon/kinds/templates. Output a
template cannot parse (a different OS, an error message) reads as `unknown`, never `active`.

What a standby hears about its peer: where the table has a column naming the active router or
master (IOS `show standby brief` Active, IOS `show vrrp brief` Master addr), an address there is
the evidence and nothing else is ("local", "unknown", 0.0.0.0: none). Where the table has no such
column (NX-OS, Junos, EOS), a VRRP `backup` state is the evidence by the protocol's rule: a router
stays backup only while a master's advertisements arrive.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

import ntc_templates
import textfsm

from netmon.kinds.base import ParamProblem, RoleRow, in_range
from netmon.kinds.evidence import HEARS_A_VRRP_MASTER, MAX_IDENTITY, bounded, reported_ip
from netmon.model import MemberView, Missing, Probe, Role, Value, ssh_probe

OWN_TEMPLATES = Path(__file__).parent / "templates"
NTC_TEMPLATES = Path(ntc_templates.__file__).parent / "templates"
IFACE = re.compile(r"^([A-Za-z-]*?)([\d/.:]+)$")


def same_interface(configured: str, reported: str) -> bool:
    """`Vlan10` matches `Vl10`, `GigabitEthernet0/1` matches `Gi0/1`; Junos names match exactly."""
    a, b = configured.strip().lower(), reported.strip().lower()
    if a == b:
        return True
    ma, mb = IFACE.match(a), IFACE.match(b)
    if ma is None or mb is None or ma[2] != mb[2] or not ma[1] or not mb[1]:
        return False
    return ma[1].startswith(mb[1]) or mb[1].startswith(ma[1])


def parse(template: Path, output: str) -> list[dict[str, str]]:
    with template.open() as handle:
        fsm = textfsm.TextFSM(handle)
    rows = fsm.ParseText(output)
    return [dict(zip(fsm.header, row, strict=True)) for row in rows]


def table_seen(template: Path, output: str) -> bool:
    """Whether `output` holds the table's header: a line that a rule of the template's Start
    state matches and that moves it on to the table's rows. ntc-templates' IOS templates have no
    Error rule, so any text ("% Authorization failed.", a pager prompt, nothing) parses as a
    table without rows; only a header seen makes "no row for the group" evidence."""
    with template.open() as handle:
        fsm = textfsm.TextFSM(handle)
    start = fsm.states["Start"]
    if any(rule.line_op == "Error" for rule in start):
        return True  # netmon's own templates refuse a line they do not know (TextFSMError)
    moves = [
        rule.regex_obj
        for rule in start
        if rule.new_state and rule.new_state not in ("Start", "End", "EOF")
    ]
    return any(regex.match(line) for line in output.splitlines() for regex in moves)


@dataclass(frozen=True)
class CliGroupParams:
    __pydantic_config__: ClassVar[dict[str, Any]] = {"extra": "forbid"}
    interface: str
    group: int


class CliTableKind:
    """A kind read from one CLI table: find the row of (interface, group), map its state."""

    transport = "ssh"
    params_type = CliGroupParams

    def __init__(
        self,
        name: str,
        command: str,
        template: Path,
        state_field: str,
        group_field: str,
        roles: Mapping[str, RoleRow],
        max_group: int = 255,
        active_field: str | None = None,
        address_fields: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.command = command
        self.template = template
        self.state_field = state_field
        self.group_field = group_field
        self.roles = roles
        self.max_group = max_group
        # The column naming the active router / master a standby hears (None: the table has none).
        self.active_field = active_field
        # Columns shown in the member's identity: {field: label}.
        self.address_fields = address_fields or {}
        self.mib = f"SSH: `{command}` (TextFSM: {template.name})"

    def check(self, params: CliGroupParams) -> list[ParamProblem]:
        problems = in_range("group", params.group, 0, self.max_group, "group")
        if not params.interface.strip():
            problems.append(("interface", "must name the interface"))
        return problems

    def probes(self, params: CliGroupParams) -> tuple[Probe, ...]:
        return (ssh_probe("table", self.command),)

    def row(self, params: CliGroupParams, output: str) -> dict[str, str] | None:
        for row in parse(self.template, output):
            group = row.get(self.group_field, "")
            if (
                group.isdigit()
                and int(group) == params.group
                and same_interface(params.interface, row["INTERFACE"])
            ):
                return row
        return None

    def interpret(self, params: CliGroupParams, values: Mapping[str, Value]) -> MemberView:
        output = values.get("table")
        if not isinstance(output, str):
            shown = output.value if isinstance(output, Missing) else "no output"
            return MemberView(Role.UNKNOWN, reason=f"{self.command}: {shown}")
        try:
            row = self.row(params, output)
        except textfsm.TextFSMError:
            return MemberView(Role.UNKNOWN, reason=f"{self.command}: output not recognised")
        if row is None and not table_seen(self.template, output):
            # No table header: an error message, a cut session or nothing at all. Blindness,
            # not evidence that the group is gone (read as gone, two members answering "%
            # Authorization failed." made a pair `down`).
            return MemberView(Role.UNKNOWN, reason=f"{self.command}: output not recognised")
        if row is None:
            # The table was read and lacks the group: absent, as an SNMP row is (a group that
            # was there and vanished, e.g. VRRP unconfigured or its process gone, is a fault).
            return MemberView(
                Role.UNKNOWN,
                reason=f"no row for {params.interface} group {params.group}",
                missing=True,
            )
        state = row[self.state_field]
        found = self.roles.get(state.lower())
        if found is None:
            return MemberView(
                Role.UNKNOWN, reason=f"unrecognised state {state[:30]!r}", raw=state[:30]
            )
        view = MemberView(
            found.role,
            reason=None
            if found.role in (Role.ACTIVE, Role.STANDBY) and found.ready
            else found.meaning,
            raw=state,
            ready=found.ready,
        )
        view = self.refine(view, row)
        return replace(view, identity=self.identity(row), peer_active=self.heard(view, state, row))

    def refine(self, view: MemberView, row: Mapping[str, str]) -> MemberView:
        return view

    def identity(self, row: Mapping[str, str]) -> str:
        """The interface and group as the device printed them, with its addresses."""
        parts = [f"{row.get('INTERFACE', '?')} group {row.get(self.group_field, '?')}"]
        parts += [
            f"{label} {row[field]}"
            for field, label in self.address_fields.items()
            if row.get(field)
        ]
        return bounded("; ".join(parts), MAX_IDENTITY)

    def heard(self, view: MemberView, state: str, row: Mapping[str, str]) -> str | None:
        """Who this member hears as active: evidence only for a standby (see the module doc)."""
        if view.role is not Role.STANDBY:
            return None
        if self.active_field is not None:
            return reported_ip(row.get(self.active_field))
        if state.lower() == "backup":
            return HEARS_A_VRRP_MASTER
        return None


class IosHsrpKind(CliTableKind):
    def refine(self, view: MemberView, row: Mapping[str, str]) -> MemberView:
        # The active names its standby; "unknown" means none: redundancy is gone.
        if view.role is Role.ACTIVE and row.get("STANDBY", "").lower() == "unknown":
            return MemberView(
                Role.ACTIVE, reason="active reports no standby router", raw=view.raw, ready=False
            )
        return view


VRRP_ROLES: dict[str, RoleRow] = {
    "master": RoleRow(Role.ACTIVE, "master"),
    "backup": RoleRow(Role.STANDBY, "backup"),
    "init": RoleRow(Role.FAULT, "init"),
    "initialize": RoleRow(Role.FAULT, "initialize"),
}
HSRP_ROLES: dict[str, RoleRow] = {
    "active": RoleRow(Role.ACTIVE, "active"),
    "standby": RoleRow(Role.STANDBY, "standby"),
    "listen": RoleRow(Role.STANDBY, "listen: not the elected standby", ready=False),
    "speak": RoleRow(Role.STANDBY, "speak: standby election in progress", ready=False),
    "learn": RoleRow(Role.FAULT, "learn"),
    "init": RoleRow(Role.FAULT, "init"),
}
JUNOS_ROLES: dict[str, RoleRow] = {
    "master": RoleRow(Role.ACTIVE, "master"),
    "backup": RoleRow(Role.STANDBY, "backup"),
    "transition": RoleRow(Role.STANDBY, "transition: changing state", ready=False),
    "init": RoleRow(Role.FAULT, "init"),
    "idle": RoleRow(Role.FAULT, "idle: interface or VRRP disabled"),
    "bringup": RoleRow(Role.FAULT, "bringup"),
}
EOS_ROLES: dict[str, RoleRow] = {
    "master": RoleRow(Role.ACTIVE, "master"),
    "backup": RoleRow(Role.STANDBY, "backup"),
    "init": RoleRow(Role.FAULT, "init"),
    "stopped": RoleRow(Role.FAULT, "stopped"),
}


def vendor_kinds() -> list[CliTableKind]:
    return [
        CliTableKind("cisco-ios-vrrp", "show vrrp brief", NTC_TEMPLATES / "cisco_ios_show_vrrp_brief.textfsm",
                     "STATE", "GROUP", VRRP_ROLES, active_field="MASTER_IP_ADDRESS",
                     address_fields={"VIRTUAL_IP_ADDRESS": "virtual IP", "MASTER_IP_ADDRESS": "master"}),
        IosHsrpKind("cisco-ios-hsrp", "show standby brief", NTC_TEMPLATES / "cisco_ios_show_standby_brief.textfsm",
                    "STATE", "GROUP", HSRP_ROLES, max_group=4095, active_field="ACTIVE",
                    address_fields={"VIRTUAL_IP_ADDRESS": "virtual IP", "ACTIVE": "active",
                                    "STANDBY": "standby"}),
        CliTableKind("cisco-nxos-vrrp", "show vrrp", OWN_TEMPLATES / "cisco_nxos_show_vrrp.textfsm",
                     "STATE", "GROUP", VRRP_ROLES, address_fields={"VIRTUAL_IP": "virtual IP"}),
        CliTableKind("junos-vrrp", "show vrrp summary", OWN_TEMPLATES / "juniper_junos_show_vrrp_summary.textfsm",
                     "STATE", "GROUP", JUNOS_ROLES),
        CliTableKind("arista-eos-vrrp", "show vrrp brief", OWN_TEMPLATES / "arista_eos_show_vrrp_brief.textfsm",
                     "STATE", "GROUP", EOS_ROLES, address_fields={"VIRTUAL_IP": "virtual IP"}),
    ]  # fmt: skip
