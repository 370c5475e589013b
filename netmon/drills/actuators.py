"""How a drill demotes the active member, and how it undoes that: one explicit table.

Every actuator turns a pair and its active member into concrete actions (an SNMP SET with its
OID and value, or SSH commands), so `netmon drill plan` can show exactly what would be done and
the journal can record each action before it is taken.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from netmon.kinds.keepalived import BASE_PRIORITY
from netmon.model import MemberSpec, Oid, PairSpec, oid_str

VRRP_OPER_PRIORITY = (1, 3, 6, 1, 2, 1, 68, 1, 3, 1, 5)
CRF_ADMIN_ACTION = (1, 3, 6, 1, 4, 1, 9, 9, 176, 1, 2, 11, 0)  # cRFCfgAdminAction
CRF_SWITCH_ACTIVITY = 3
# A VRRP priority a router can be restored to: 0 means "stop participating" (a master sends it
# to give up at once), and 255 is the address owner's; keepalived takes 1..255 as well.
PRIORITIES = range(1, 256)


@dataclass(frozen=True)
class Action:
    """One step a drill takes on a device."""

    device: str
    oid: Oid | None = None  # SNMP SET of an INTEGER
    value: int | None = None
    commands: tuple[str, ...] = ()  # or SSH commands, in order

    def describe(self) -> str:
        if self.oid is not None:
            value = self.value if self.value is not None else "<the value read just before acting>"
            return f"{self.device}: SNMP SET {oid_str(self.oid)} = INTEGER {value}"
        return f"{self.device}: SSH " + " ; ".join(self.commands)


class Actuator(Protocol):
    name: str
    params_type: type[Any]

    def original_oid(self, params: Any, member: MemberSpec) -> Oid | None:
        """The value to read before acting, so the restore puts back what was there."""
        ...

    def original_problem(self, params: Any, value: int) -> str | None:
        """Why `value` cannot be what `original_oid` read before a demotion, or None when it
        can be. Recovery takes that value from the journal, which anyone who can write the
        file may have edited: a value no real drill could have read is not restored."""
        ...

    def demote(self, params: Any, pair: PairSpec, member: MemberSpec) -> list[Action]: ...

    def restore(
        self, params: Any, pair: PairSpec, member: MemberSpec, original: int | None
    ) -> list[Action]: ...


def _param(member: MemberSpec, name: str) -> int | None:
    value = getattr(member.params, name, None)
    return value if isinstance(value, int) else None


@dataclass(frozen=True)
class PriorityParams:
    __pydantic_config__: ClassVar[dict[str, Any]] = {"extra": "forbid"}
    demote_to: int = 1  # a priority below the standby's, so it preempts
    instance: int | None = None  # keepalived-priority: default from the member's kind params


def _priority_problem(params: PriorityParams, value: int) -> str | None:
    if value not in PRIORITIES:
        return f"{value} is not a priority a router can be restored to (1..255)"
    if value == params.demote_to:
        # Putting back the demoted value would leave the pair on the standby, and call it done.
        return f"{value} is the drill's demote_to, not the priority before the demotion"
    return None


class KeepalivedPriority:
    """SET KEEPALIVED-MIB vrrpInstanceBasePriority of the active member (read-write)."""

    name = "keepalived-priority"
    params_type = PriorityParams

    def _oid(self, params: PriorityParams, member: MemberSpec) -> Oid:
        instance = params.instance or _param(member, "instance")
        if instance is None:
            # The inventory loader refuses this (a pair named by vrid, no drill instance): never
            # a guessed instance, whose SET could demote another instance's router.
            raise ValueError(f"{member.name}: keepalived-priority does not know the instance")
        return (*BASE_PRIORITY, instance)

    def original_oid(self, params: PriorityParams, member: MemberSpec) -> Oid | None:
        return self._oid(params, member)

    def original_problem(self, params: PriorityParams, value: int) -> str | None:
        return _priority_problem(params, value)

    def demote(self, params: PriorityParams, pair: PairSpec, member: MemberSpec) -> list[Action]:
        return [Action(member.device, self._oid(params, member), params.demote_to)]

    def restore(
        self, params: PriorityParams, pair: PairSpec, member: MemberSpec, original: int | None
    ) -> list[Action]:
        return (
            [Action(member.device, self._oid(params, member), original)]
            if original is not None
            else []
        )


class VrrpPriority:
    """SET VRRP-MIB vrrpOperPriority (ifIndex, VRID) of the active member."""

    name = "vrrp-priority"
    params_type = PriorityParams

    def _oid(self, member: MemberSpec) -> Oid:
        return (*VRRP_OPER_PRIORITY, _param(member, "if_index") or 0, _param(member, "vrid") or 0)

    def original_oid(self, params: PriorityParams, member: MemberSpec) -> Oid | None:
        return self._oid(member)

    def original_problem(self, params: PriorityParams, value: int) -> str | None:
        return _priority_problem(params, value)

    def demote(self, params: PriorityParams, pair: PairSpec, member: MemberSpec) -> list[Action]:
        return [Action(member.device, self._oid(member), params.demote_to)]

    def restore(
        self, params: PriorityParams, pair: PairSpec, member: MemberSpec, original: int | None
    ) -> list[Action]:
        return [Action(member.device, self._oid(member), original)]


@dataclass(frozen=True)
class NoParams:
    __pydantic_config__: ClassVar[dict[str, Any]] = {"extra": "forbid"}


class CiscoRfSwitch:
    """SET CISCO-RF-MIB cRFCfgAdminAction = switchActivity(3): the standby supervisor takes over.
    There is nothing to undo: the restore switches back the same way (failback)."""

    name = "cisco-rf-switch"
    params_type = NoParams

    def original_oid(self, params: NoParams, member: MemberSpec) -> Oid | None:
        return None

    def original_problem(self, params: NoParams, value: int) -> str | None:
        # Nothing is read before acting (original_oid is None): no value can be the original.
        return "this actuator reads no value before acting"

    def demote(self, params: NoParams, pair: PairSpec, member: MemberSpec) -> list[Action]:
        return [Action(member.device, CRF_ADMIN_ACTION, CRF_SWITCH_ACTIVITY)]

    def restore(
        self, params: NoParams, pair: PairSpec, member: MemberSpec, original: int | None
    ) -> list[Action]:
        return []  # the failback is a second switchActivity, sent to the new active by the runner


@dataclass(frozen=True)
class SshParams:
    __pydantic_config__: ClassVar[dict[str, Any]] = {"extra": "forbid"}
    demote: list[str]  # commands run on the active member, e.g. "touch /etc/keepalived/down"
    restore: list[str]  # commands run on the same member afterwards


class SshCommands:
    """Per-pair SSH command lists (a keepalived track file on Linux, `vrrp N priority X` on IOS)."""

    name = "ssh-commands"
    params_type = SshParams

    def original_oid(self, params: SshParams, member: MemberSpec) -> Oid | None:
        return None

    def original_problem(self, params: SshParams, value: int) -> str | None:
        # Nothing is read before acting (original_oid is None): no value can be the original.
        return "this actuator reads no value before acting"

    def demote(self, params: SshParams, pair: PairSpec, member: MemberSpec) -> list[Action]:
        return [Action(member.device, commands=tuple(params.demote))]

    def restore(
        self, params: SshParams, pair: PairSpec, member: MemberSpec, original: int | None
    ) -> list[Action]:
        return [Action(member.device, commands=tuple(params.restore))]


class UnknownActuator(LookupError):
    pass


ACTUATORS: Mapping[str, Actuator] = {
    a.name: a for a in (KeepalivedPriority(), VrrpPriority(), CiscoRfSwitch(), SshCommands())
}


def actuator(name: str) -> Actuator:
    try:
        return ACTUATORS[name]
    except KeyError:
        raise UnknownActuator(
            f"unknown drill actuator {name!r}; choose one of: {', '.join(ACTUATORS)}"
        ) from None
