"""KEEPALIVED-MIB: vrrpInstanceState of one VRRP instance, with its priorities for operators.

KEEPALIVED-MIB has no master-address column in vrrpInstanceTable (checked against the MIB that
Debian's keepalived installs), so a BACKUP instance's own state is the evidence that a master
lives: VRRP holds a backup in BACKUP only while the master's advertisements arrive, and makes it
MASTER after Master_Down_Interval (about three advertisement intervals) without them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Annotated, Any, ClassVar

from pydantic import Field

from netmon.kinds.base import ParamProblem, RoleRow, RoleTable, in_range, view_from_table
from netmon.kinds.evidence import HEARS_A_VRRP_MASTER, bounded
from netmon.kinds.intent import inet_values, priority_of
from netmon.kinds.names import column_rows, listed, text_of
from netmon.model import MemberView, Missing, Oid, Probe, Role, Value

VRRP_INSTANCE = (1, 3, 6, 1, 4, 1, 9586, 100, 5, 2, 3, 1)
NAME = (*VRRP_INSTANCE, 2)  # the vrrp_instance's name in keepalived.conf: what operators know
VIRTUAL_ROUTER_ID = (*VRRP_INSTANCE, 3)  # vrrpInstanceVirtualRouterId: the VRID (what NetBox knows)
STATE = (*VRRP_INSTANCE, 4)
WANTED_STATE = (*VRRP_INSTANCE, 6)  # master while a sync group holds the instance in BACKUP
BASE_PRIORITY = (*VRRP_INSTANCE, 7)  # read-write: a drill lever
EFFECTIVE_PRIORITY = (*VRRP_INSTANCE, 8)  # shows a track_file/track_script drop
PRIMARY_INTERFACE = (*VRRP_INSTANCE, 10)  # vrrpInstancePrimaryInterface: `interface` in the conf
# vrrpAddressTable (vrrp 6), INDEX { vrrpInstanceIndex, vrrpAddressIndex }: the instance's
# virtual addresses; vrrpAddressValue is an InetAddress (4 or 16 octets). Listed whether set on
# the interface or not (a backup holds them unset): what is configured. Walked as a table.
VRRP_ADDRESS_VALUE = (1, 3, 6, 1, 4, 1, 9586, 100, 5, 2, 6, 1, 3)

BACKUP = 1

ROLES: RoleTable = {
    0: RoleRow(Role.FAULT, "init"),
    BACKUP: RoleRow(Role.STANDBY, "backup"),
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
    # vrrpInstanceIndex: 1-based position of the vrrp_instance in keepalived.conf; or `vrid`
    # (vrrpInstanceVirtualRouterId), resolved to it at the poll, with `interface` (the instance's
    # vrrpInstancePrimaryInterface) where one VRID runs on several interfaces.
    instance: Annotated[int | None, Field(default=None)]
    vrid: int | None = None
    interface: str | None = None


@dataclass(frozen=True)
class VridLookup:
    """`vrid: N` (and `interface: NAME`) -> vrrpInstanceIndex: the one instance with that VRID
    (on that primary interface). Two alike are ambiguous, never a pick."""

    vrid: int
    interface: str | None = None
    field: str = "instance"
    columns: ClassVar[tuple[Oid, ...]] = (VIRTUAL_ROUTER_ID, PRIMARY_INTERFACE)

    def find(self, rows: Mapping[Oid, Value], device: str) -> int | str:
        ifaces = column_rows(rows, PRIMARY_INTERFACE)
        found = sorted(
            index
            for index, vrid in column_rows(rows, VIRTUAL_ROUTER_ID).items()
            if vrid == self.vrid
            and (self.interface is None or text_of(ifaces.get(index)) == self.interface)
        )
        what = f"VRID {self.vrid}" + (f" on {self.interface}" if self.interface else "")
        if len(found) == 1:
            return found[0]
        if found:
            return (
                f"{what}: ambiguous, {len(found)} instances in vrrpInstanceVirtualRouterId of "
                f"{device} (instance {listed(found)}): name the `interface` or the `instance`"
            )
        return f"{what}: not in vrrpInstanceVirtualRouterId of {device}"


class KeepalivedKind:
    name = "keepalived"
    mib = "KEEPALIVED-MIB vrrpInstanceState (1.3.6.1.4.1.9586.100.5.2.3.1.4.<instance>)"
    transport = "snmp"
    params_type = KeepalivedParams
    roles = ROLES
    # Walked as a table for the virtual addresses (intent drift): see virtual_ips.
    intent_columns: tuple[Oid, ...] = (VRRP_ADDRESS_VALUE,)

    def check(self, params: KeepalivedParams) -> list[ParamProblem]:
        if (params.instance is None) == (params.vrid is None):
            both = params.instance is not None
            return [
                (
                    "vrid" if both else "instance",
                    "name the VRRP instance by exactly one of 'instance: N' (vrrpInstanceIndex) "
                    "or 'vrid: N' (its VRID, with 'interface' where that is not unique)"
                    + ("; got both" if both else ""),
                )
            ]
        if params.vrid is not None:
            problems = in_range("vrid", params.vrid, 1, 255, "VRID")
            if params.interface is not None and not params.interface.strip():
                problems.append(("interface", "an interface name must not be empty"))
            return problems
        if params.interface is not None:
            return [("interface", "'interface' goes with 'vrid' (it tells instances apart)")]
        return in_range("instance", params.instance or 0, 1, None, "instance index")

    def lookup(self, params: KeepalivedParams) -> VridLookup | None:
        return None if params.vrid is None else VridLookup(params.vrid, params.interface)

    def probes(self, params: KeepalivedParams) -> tuple[Probe, ...]:
        n = params.instance
        if n is None:
            return ()  # a VRID not resolved yet (netmon.kinds.names): nothing to read
        return (
            Probe("vrrpInstanceState", (*STATE, n)),
            Probe("vrrpInstanceBasePriority", (*BASE_PRIORITY, n)),
            Probe("vrrpInstanceEffectivePriority", (*EFFECTIVE_PRIORITY, n)),
            Probe("vrrpInstanceName", (*NAME, n)),
            Probe("vrrpInstanceWantedState", (*WANTED_STATE, n)),
        )

    def virtual_ips(
        self, params: KeepalivedParams, rows: Mapping[Oid, Value]
    ) -> tuple[str, ...] | None:
        """The instance's virtual addresses in vrrpAddressTable; None when the column has no
        row at all."""
        if params.instance is None:
            return None
        return inet_values(rows, VRRP_ADDRESS_VALUE, params.instance)

    def interpret(self, params: KeepalivedParams, values: Mapping[str, Value]) -> MemberView:
        state = values.get("vrrpInstanceState")
        if params.vrid is not None:
            group = f"VRID {params.vrid}" + (f" on {params.interface}" if params.interface else "")
        else:
            group = f"instance {params.instance}"
        view = replace(view_from_table("vrrpInstanceState", state, ROLES), group=group)
        if state is None or isinstance(state, Missing):
            return view  # no row: the device reported nothing about this instance
        base = values.get("vrrpInstanceBasePriority")
        # The configured priority, not the effective one a track_file or script lowers on
        # purpose: a tracked drop is the failover working, not drift from the inventory.
        view = replace(view, priority=priority_of(base))
        effective = values.get("vrrpInstanceEffectivePriority")
        if isinstance(base, int) and isinstance(effective, int) and view.raw is not None:
            view = replace(view, raw=f"{view.raw}, priority {effective}/{base}")
        name = values.get("vrrpInstanceName")
        identity = f"instance {params.instance}"
        if isinstance(name, str) and name.strip():
            identity += f" ({bounded(name)})"
        if params.vrid is not None:  # named by VRID: the instance it was found as, and why
            identity += f", VRID {params.vrid}" + (
                f" on {params.interface}" if params.interface else ""
            )
        view = replace(view, identity=identity)
        if state == BACKUP and view.role is Role.STANDBY:
            # No address to name: BACKUP itself is weak evidence (see the module docstring), and
            # none when keepalived *wants* master but a sync group holds it back (its master may
            # be dead). Evaluate never lets it overrule what every member says of itself.
            if values.get("vrrpInstanceWantedState") == 2:
                return view
            return replace(view, peer_active=HEARS_A_VRRP_MASTER)
        return view
