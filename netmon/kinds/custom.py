"""A custom OID whose raw values map to roles through a table written in the inventory."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from netmon.kinds.base import ParamProblem
from netmon.model import MemberView, Missing, Probe, Role, Value, parse_oid

ROLE_NAMES = {r.value: r for r in (Role.ACTIVE, Role.STANDBY, Role.FAULT)}


@dataclass(frozen=True)
class CustomParams:
    __pydantic_config__: ClassVar[dict[str, Any]] = {"extra": "forbid"}
    oid: str
    # raw value (as written: "3" matches the integer 3 and the string "3") -> role name
    values: dict[str, str] = field(default_factory=dict)
    method: str = "get"  # or "walk": GETNEXT through `column` (default: the OID's parent)
    column: str | None = None


class CustomKind:
    name = "custom"
    mib = "any numeric OID; value table in the inventory"
    transport = "snmp"
    params_type = CustomParams

    def check(self, params: CustomParams) -> list[ParamProblem]:
        problems: list[ParamProblem] = []
        oid: tuple[int, ...] = ()
        try:
            oid = parse_oid(params.oid)
        except ValueError as exc:
            problems.append(("oid", str(exc)))
        if params.method not in ("get", "walk"):
            problems.append(("method", f"must be 'get' or 'walk', got {params.method!r}"))
        if params.column is not None:
            try:
                column = parse_oid(params.column)
            except ValueError as exc:
                problems.append(("column", str(exc)))
            else:
                if oid and oid[: len(column)] != column:
                    problems.append(
                        ("column", f"{params.column} is not a prefix of oid {params.oid}")
                    )
        if not params.values:
            problems.append(("values", "needs at least one 'raw value: role' entry"))
        for raw, role in params.values.items():
            if role not in ROLE_NAMES:
                choices = ", ".join(ROLE_NAMES)
                problems.append(
                    (f"values.{raw}", f"unknown role {role!r}; choose one of: {choices}")
                )
        return problems

    def probes(self, params: CustomParams) -> tuple[Probe, ...]:
        column = parse_oid(params.column) if params.column else None
        return (Probe("value", parse_oid(params.oid), params.method, column),)

    def interpret(self, params: CustomParams, values: Mapping[str, Value]) -> MemberView:
        value = values.get("value", Missing.NOT_RETURNED)
        if isinstance(value, Missing):
            return MemberView(Role.UNKNOWN, reason=f"value: {value.value}", raw=value.value)
        role_name = params.values.get(str(value))
        if role_name is None:
            shown = str(value)[:40]
            return MemberView(Role.UNKNOWN, reason=f"unmapped value {shown!r}", raw=shown)
        role = ROLE_NAMES[role_name]
        reason = None if role in (Role.ACTIVE, Role.STANDBY) else f"value {value} maps to {role}"
        return MemberView(role, reason=reason, raw=str(value)[:40])
