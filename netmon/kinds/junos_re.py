"""JUNIPER-MIB jnxRedundancyTable: the routing engines of one Junos chassis or virtual chassis.

One agent reports every routing engine: one row each, indexed by contents index (9: routing
engines), L1 index (the slot as the device numbers it) and 0.0. Row position is *not* the RE
number: on a real EX virtual chassis the row 9.1.0.0 is described "Routing Engine 1" and is the
master. So a member names its routing engine by what the device says: `re: N` (the row described
"Routing Engine N"), `descr` (its description) or `slot` (the L1 index as reported); the kind
reads the candidate rows by GET and finds the member among those that answered, never by index
arithmetic. Both members name the same device.

Descriptions are compared as `normalise_descr` makes them: control characters (a trailing NUL
some agents send) and runs of whitespace read as one space, the ends trimmed, case ignored. It is
the form `netmon discover` writes descriptions in (it imports the same function), so a `descr`
that discover wrote always finds its row again. Two rows whose descriptions normalise alike are
ambiguous: the member is `unknown` and is to be named by slot.

A routing engine not among the rows that answered is `fault` ("peer absent", marked `missing`:
absent objects are not evidence the engine is not active, a renumbered chassis reads the same):
the pair is `degraded`. No row answered at all (the MIB or the table absent) is `unknown`:
netmon cannot tell, and that is never evidence that nothing serves. Text the device reports is
shown on one bounded line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import ClassVar

from netmon.kinds.base import ParamProblem, RoleRow, RoleTable, in_range, view_from_table
from netmon.kinds.evidence import bounded, one_line
from netmon.model import MemberView, Missing, Probe, Role, Value

REDUNDANCY = (1, 3, 6, 1, 4, 1, 2636, 3, 1, 14, 1)
DESCR, CONFIG, STATE, COUNT, TIME, REASON = 5, 6, 7, 8, 9, 10
COLUMNS = (
    ("jnxRedundancyDescr", DESCR),
    ("jnxRedundancyState", STATE),
    ("jnxRedundancyConfig", CONFIG),
    ("jnxRedundancySwitchoverCount", COUNT),
    ("jnxRedundancySwitchoverReason", REASON),
    ("jnxRedundancySwitchoverTime", TIME),
)
# L1 indices read: a virtual chassis has up to 10 members (FPC 0-9, L1 1-10); a `slot` outside
# them is read too. Rows that do not exist answer noSuchInstance and are left out.
SLOTS = tuple(range(1, 11))
MASTER = 2

ROLES: RoleTable = {
    1: RoleRow(Role.UNKNOWN, "unknown"),
    2: RoleRow(Role.ACTIVE, "master"),
    3: RoleRow(Role.STANDBY, "backup"),
    4: RoleRow(Role.FAULT, "disabled"),
}
REASONS = {1: "other", 2: "neverSwitched", 3: "userSwitched", 4: "autoSwitched"}
IDENTITY_MAX = 200
REASON_MAX = 200
PEER_MAX = 100  # peer_active is bounded text
DESCR_MAX = 60  # a description as shown (matching uses all of it)


@dataclass(frozen=True)
class JunosReParams:
    __pydantic_config__: ClassVar[dict[str, object]] = {"extra": "forbid"}
    re: int | None = None  # the row described "Routing Engine <re>" (not a row position)
    descr: str | None = None  # the row with this jnxRedundancyDescr (as normalise_descr reads it)
    slot: int | None = None  # the row with this jnxRedundancyL1Index, as the device reports it
    contents_index: int = 9  # jnxContentsContainerIndex of the routing engines


def clean_descr(text: str) -> str:
    """A description as the device means it: every character that is not printable (NUL, tab,
    newline, other control characters) read as a space, runs of whitespace as one space, the
    ends trimmed. Case is kept (this is what is shown and what discover writes)."""
    return one_line(text)


def normalise_descr(text: str) -> str:
    """The form in which two jnxRedundancyDescr values are compared: `clean_descr`, case
    ignored (casefolded). "Routing Engine 0\\x00" and "routing  engine 0" are the same; `netmon
    discover` uses this function too, so what it writes matches what the kind reads."""
    return clean_descr(text).casefold()


@dataclass(frozen=True)
class _Row:
    """One row of jnxRedundancyTable that answered."""

    index: str  # "9.1.0.0"
    slot: int
    descr: str | None
    values: Mapping[str, Value | None]

    @property
    def label(self) -> str:
        # A description may be 255 characters: what operators are shown is bounded.
        return f"{self.index} {bounded(self.descr, DESCR_MAX)!r}" if self.descr else self.index

    def shown(self) -> str:
        state = self.values.get("jnxRedundancyState")
        row = ROLES.get(state) if isinstance(state, int) else None
        return f"{self.label} {row.meaning if row else 'state ' + _text(state)}"


def _text(value: Value | None) -> str:
    if value is None:
        return "not returned"
    return value.value if isinstance(value, Missing) else repr(value)[:20]


class JunosReKind:
    name = "junos-re"
    mib = "JUNIPER-MIB jnxRedundancyDescr / State / Config / SwitchoverCount / Reason (1.3.6.1.4.1.2636.3.1.14.1)"
    transport = "snmp"
    params_type = JunosReParams
    roles = ROLES

    def unit_key(self, params: JunosReParams) -> object:
        """What names a member's routing engine, as the kind matches it (see fortigate-ha)."""
        if params.slot is not None:
            return (params.contents_index, "slot", params.slot)
        descr = params.descr if params.descr is not None else f"Routing Engine {params.re}"
        return (params.contents_index, "descr", normalise_descr(descr))

    def check(self, params: JunosReParams) -> list[ParamProblem]:
        given = [n for n in ("re", "descr", "slot") if getattr(params, n) is not None]
        problems: list[ParamProblem] = []
        if len(given) != 1:
            problems.append(
                (
                    given[1] if len(given) > 1 else "re",
                    "name the routing engine by exactly one of 're: N' (the row described "
                    "'Routing Engine N'), 'descr: \"...\"' (its jnxRedundancyDescr) or 'slot: N' "
                    "(its jnxRedundancyL1Index)"
                    + (f"; got {' and '.join(given)}" if given else ""),
                )
            )
        if params.re is not None:
            problems += in_range("re", params.re, 0, 1, "routing engine")
        if params.descr is not None and not params.descr.strip():
            problems.append(("descr", "the routing engine's description must not be empty"))
        if params.slot is not None:
            problems += in_range("slot", params.slot, 0, None, "slot (jnxRedundancyL1Index)")
        return problems + in_range(
            "contents_index", params.contents_index, 1, None, "contents index"
        )

    def _slots(self, params: JunosReParams) -> tuple[int, ...]:
        extra = (params.slot,) if params.slot is not None and params.slot not in SLOTS else ()
        return (*SLOTS, *extra)

    def probes(self, params: JunosReParams) -> tuple[Probe, ...]:
        return tuple(
            Probe(f"{name}.{slot}", (*REDUNDANCY, column, params.contents_index, slot, 0, 0))
            for slot in self._slots(params)
            for name, column in COLUMNS
        )

    def interpret(self, params: JunosReParams, values: Mapping[str, Value]) -> MemberView:
        rows: list[_Row] = []
        absent: set[str] = set()
        for slot in self._slots(params):
            cols = {name: values.get(f"{name}.{slot}") for name, _ in COLUMNS}
            absent.update(v.value for v in cols.values() if isinstance(v, Missing))
            if any(v is not None and not isinstance(v, Missing) for v in cols.values()):
                descr = cols["jnxRedundancyDescr"]
                text = (clean_descr(descr) or None) if isinstance(descr, str) else None
                index = f"{params.contents_index}.{slot}.0.0"
                rows.append(_Row(index, slot, text, cols))
        if not rows:
            # Nothing describes any routing engine: the agent lacks the MIB or the table is
            # empty (or contents_index is wrong). netmon cannot tell: unknown, never fault.
            why = ", ".join(sorted(absent)) or "not returned"
            # noSuchInstance: the agent knows the table and lists no routing engine in it.
            empty = Missing.NO_SUCH_INSTANCE.value in absent
            return MemberView(
                Role.UNKNOWN,
                reason=f"jnxRedundancyTable: no routing engine row answered under contents index {params.contents_index} ({why})",
                raw=why,
                missing=True,
                identity="no routing engine rows reported" if empty else None,
            )
        identity = ", ".join(r.shown() for r in rows)[:IDENTITY_MAX]
        found = self._find(params, rows)
        view = found if isinstance(found, MemberView) else _row_view(found)
        member = None if isinstance(found, MemberView) else found
        return replace(view, identity=identity, peer_active=_master_among(view, rows, member))

    def _find(self, params: JunosReParams, rows: list[_Row]) -> _Row | MemberView:
        """The member's row among those that answered, or the view saying why there is none."""
        listed = "; rows: " + ", ".join(r.shown() for r in rows)
        if params.slot is not None:
            for row in rows:
                if row.slot == params.slot:
                    return row
            wanted = f"no row at slot {params.slot} ({params.contents_index}.{params.slot}.0.0)"
            return _absent(f"peer absent: {wanted}{listed}")
        name = (
            clean_descr(params.descr) if params.descr is not None else f"Routing Engine {params.re}"
        )
        shown = repr(bounded(name, DESCR_MAX))
        if not any(r.descr for r in rows):
            return MemberView(
                Role.UNKNOWN,
                reason=f"jnxRedundancyDescr not returned: no row can be matched to {shown}; "
                f"name the routing engine by slot{listed}"[:REASON_MAX],
                raw="no descriptions",
                missing=True,
            )
        matches = [r for r in rows if r.descr and normalise_descr(r.descr) == normalise_descr(name)]
        if len(matches) > 1:
            return MemberView(
                Role.UNKNOWN,
                reason=f"rows {', '.join(r.index for r in matches)} are all described {shown}: "
                "name the routing engine by slot"[:REASON_MAX],
            )
        if not matches:
            return _absent(f"peer absent: no row described {shown}{listed}")
        return matches[0]


def _absent(reason: str) -> MemberView:
    """The member's routing engine is not among the rows: `fault`, marked `missing` (absent
    objects, which a wrong slot or a renumbered chassis reads alike, are not evidence that it
    is not active)."""
    return MemberView(Role.FAULT, reason=reason[:REASON_MAX], missing=True)


def _row_view(row: _Row) -> MemberView:
    view = view_from_table("jnxRedundancyState", row.values.get("jnxRedundancyState"), ROLES)
    if view.role is Role.STANDBY and row.values.get("jnxRedundancyConfig") == 4:
        view = replace(
            view,
            reason="redundancy disabled in its configuration (jnxRedundancyConfig disabled)",
            ready=False,
        )
    count = row.values.get("jnxRedundancySwitchoverCount")
    reason = row.values.get("jnxRedundancySwitchoverReason")
    if isinstance(count, int) and isinstance(reason, int) and reason != 2:
        at = row.values.get("jnxRedundancySwitchoverTime")
        when = f" at uptime {at / 100:.0f}s" if isinstance(at, int) and at > 0 else ""
        plural = "" if count == 1 else "s"
        extra = f"{count} switchover{plural}, last {REASONS.get(reason, str(reason))}{when}"
        view = replace(view, raw=f"{view.raw}; {extra}")
    shown = f"{row.label}: {view.raw}" if view.raw else row.label
    return replace(view, raw=shown[:REASON_MAX])


def _master_among(view: MemberView, rows: list[_Row], member: _Row | None) -> str | None:
    """The other routing engine the agent reports master: who this member hears as active.
    Only a standby or a member in fault hears a peer (an active one vouches for itself, an
    unknown one says nothing)."""
    if view.role not in (Role.STANDBY, Role.FAULT):
        return None
    for row in rows:
        if row is not member and row.values.get("jnxRedundancyState") == MASTER:
            return f"{row.label} master (jnxRedundancyState)"[:PEER_MAX]
    return None
