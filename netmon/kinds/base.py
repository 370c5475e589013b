"""What a pair kind is, and the one explicit table of kinds.

A kind knows which values to read for one member (its probes) and how to turn the answers into a
role (its pure `interpret`). It does no I/O and imports no SNMP library: the collector reads the
probes, so every kind can be tested on recorded values alone.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from netmon.model import MemberView, Missing, Probe, Role, Value

# A problem a kind finds in its own validated params: (field path, message).
ParamProblem = tuple[str, str]


class PairKind(Protocol):
    """The contract every kind fulfils (checked by tests/test_kinds_contract.py)."""

    name: str
    mib: str  # where the values come from, for docs and `netmon check`
    transport: str  # "snmp" (SSH kinds arrive with the SSH collector)
    params_type: type[Any]  # a frozen dataclass; validated by the inventory loader

    def check(self, params: Any) -> list[ParamProblem]:
        """Semantic checks the type system cannot express (e.g. an OID's syntax)."""
        ...

    def probes(self, params: Any) -> tuple[Probe, ...]: ...

    def interpret(self, params: Any, values: Mapping[str, Value]) -> MemberView:
        """Pure: the member's view from its probe values (keyed by probe key). Never raises."""
        ...


@dataclass(frozen=True)
class RoleRow:
    role: Role
    meaning: str
    ready: bool = True


RoleTable = Mapping[int, RoleRow]


def missing_view(key: str, value: Value | None) -> MemberView | None:
    """The `unknown` view when a needed value is absent or of the wrong type, else None."""
    if value is None:
        value = Missing.NOT_RETURNED
    if isinstance(value, Missing):
        # `missing` only for what the agent says is absent: NOT_RETURNED is a reply netmon did
        # not get (a walk cut short, a value dropped), which is blindness, not evidence.
        return MemberView(
            Role.UNKNOWN,
            reason=f"{key}: {value.value}",
            raw=value.value,
            missing=value is not Missing.NOT_RETURNED,
        )
    if not isinstance(value, int) or isinstance(value, bool):
        shown = repr(value)[:40]
        return MemberView(Role.UNKNOWN, reason=f"{key}: expected an integer, got {shown}")
    return None


def view_from_table(key: str, value: Value | None, table: RoleTable) -> MemberView:
    """Look an integer state up in a kind's documented table; anything else is `unknown`."""
    bad = missing_view(key, value)
    if bad is not None:
        return bad
    assert isinstance(value, int)
    row = table.get(value)
    if row is None:
        return MemberView(Role.UNKNOWN, reason=f"{key}: unrecognised value {value}", raw=str(value))
    reason = None if row.role in (Role.ACTIVE, Role.STANDBY) and row.ready else row.meaning
    return MemberView(row.role, reason=reason, raw=f"{value} ({row.meaning})", ready=row.ready)


class UnknownKind(LookupError):
    def __init__(self, name: str, choices: Sequence[str]) -> None:
        self.name = name
        self.choices = tuple(choices)
        super().__init__(f"unknown pair kind {name!r}; choose one of: {', '.join(choices)}")


class KindRegistry:
    """An explicit table: refuses a second kind under a taken name, lists choices on a miss."""

    def __init__(self) -> None:
        self._kinds: dict[str, PairKind] = {}

    def register(self, kind: PairKind) -> None:
        if kind.name in self._kinds:
            raise ValueError(f"pair kind {kind.name!r} is already registered")
        self._kinds[kind.name] = kind

    def get(self, name: str) -> PairKind:
        try:
            return self._kinds[name]
        except KeyError:
            raise UnknownKind(name, sorted(self._kinds)) from None

    def names(self) -> list[str]:
        return sorted(self._kinds)

    def __iter__(self) -> Iterator[PairKind]:
        return iter(self._kinds[n] for n in self.names())


def in_range(field: str, value: int, low: int, high: int | None, what: str) -> list[ParamProblem]:
    """One problem when `value` is outside [low, high] (high None: no upper bound)."""
    if value < low or (high is not None and value > high):
        bounds = f"{low}..{high}" if high is not None else f"{low} or more"
        return [(field, f"{what} must be {bounds}, got {value}")]
    return []
