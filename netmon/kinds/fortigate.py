"""FORTINET-FORTIGATE-MIB: a FortiGate HA cluster.

Every cluster member's agent reports the HA mode (`fgHaSystemMode`) and the cluster table
`fgHaStatsTable`, one row per member (serial, hostname, sync status, the primary's serial); the
row index is the member's position, not its serial, so netmon reads the first rows and finds the
member in them. A member of the pair is a cluster member named by its `serial` or its `hostname`
(what the device reports: fgHaStatsSerial or fgHaStatsHostname); both members may name the same
device. FORTINET-CORE-MIB `fnSysSerial` and `sysName` say which unit the agent runs on.

What real devices leave out, and what is left to judge by:
- rows without the serial column (hostnames only): the primary is named by serial
  (fgHaStatsMasterSerial) only, so a hostname is matched to it through the agent's own unit
  (sysName is its hostname, fnSysSerial its serial). Without that link netmon does not guess which
  hostname is the primary: the member is `unknown`, hearing the primary's serial as active.
- no `fgHaSystemMode` at all: rows with a primary's serial are a cluster (read active-passive).
- standalone where a pair is configured: the unit the agent runs on is `active`, any other member
  `fault` with "redundancy not configured"; when the agent does not say which unit it runs on
  (no fnSysSerial), every member is that `fault`, hearing the standalone unit as active, so the
  pair reads `degraded` (it serves, without redundancy), never `down`.

How a serial or hostname finds its row: what the device reports is read as `netmon discover`
reads it (control characters as spaces, runs of whitespace as one, the ends trimmed). An exact
match wins; a match ignoring case counts only when it is the only one. Two or more candidate rows
are ambiguous and the member is `unknown` ("hostname fw1 matches rows FW1 and fw1: ambiguous"):
two members never read one row on a guess. The same holds for the primary's serial among the
rows and for the agent's own unit (sysName) among them.

A member missing from the table (FortiOS drops a lost member from it silently) is `fault`
("peer absent"), marked `missing`: absent objects are not evidence that the member is not
active. A standalone unit's other member ("redundancy not configured") and a member that is not
synchronized are faults the device reports: not `missing`. A secondary whose configuration is
not synchronized is a standby that is not ready. Text the device reports is shown on one
bounded line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import ClassVar

from netmon.kinds.base import ParamProblem
from netmon.kinds.evidence import bounded, one_line
from netmon.model import MemberView, Missing, Probe, Role, Value

SYS_SERIAL = (1, 3, 6, 1, 4, 1, 12356, 100, 1, 1, 1, 0)  # FORTINET-CORE-MIB fnSysSerial
SYS_NAME = (1, 3, 6, 1, 2, 1, 1, 5, 0)  # SNMPv2-MIB sysName: FortiOS reports its hostname
HA_MODE = (1, 3, 6, 1, 4, 1, 12356, 101, 13, 1, 1, 0)
HA_STATS = (1, 3, 6, 1, 4, 1, 12356, 101, 13, 2, 1, 1)
SERIAL, HOSTNAME, SYNC, PRIMARY_SERIAL = 2, 11, 12, 16
COLUMNS = (
    ("fgHaStatsSerial", SERIAL),
    ("fgHaStatsHostname", HOSTNAME),
    ("fgHaStatsSyncStatus", SYNC),
    ("fgHaStatsMasterSerial", PRIMARY_SERIAL),
)
ROWS = 4  # FortiGate clusters have at most four members

MODES = {1: "standalone", 2: "activeActive", 3: "activePassive"}
SYNC_STATES = {0: "unsynchronized", 1: "synchronized"}
IDENTITY_MAX = 200
REASON_MAX = 200  # reason and raw
PEER_MAX = 100  # peer_active is bounded text
NAME_MAX = 36  # a serial or hostname as shown (FortiOS hostnames have at most 35 characters)


@dataclass(frozen=True)
class FortigateHaParams:
    __pydantic_config__: ClassVar[dict[str, object]] = {"extra": "forbid"}
    serial: str | None = None  # fgHaStatsSerial / fnSysSerial of the member
    hostname: str | None = None  # fgHaStatsHostname / sysName of the member


def _clean(text: str) -> str:
    """Reported text as `netmon discover` reads it: characters that are not printable (NUL,
    newlines, other control characters) as spaces, runs of whitespace as one, ends trimmed."""
    return one_line(text)


def _text(value: Value | None) -> str | None:
    return (_clean(value) or None) if isinstance(value, str) else None


def _same(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and a.casefold() == b.casefold()


def _shown(text: str) -> str:
    return bounded(text, NAME_MAX)


@dataclass(frozen=True)
class _Member:
    """One row of fgHaStatsTable, or the unit the agent runs on."""

    serial: str | None
    hostname: str | None
    sync: Value | None = None

    @property
    def label(self) -> str:
        return "/".join(_shown(x) for x in (self.serial, self.hostname) if x) or "?"

    def value(self, column: str) -> str | None:
        return self.serial if column == "serial" else self.hostname


def _wanted(params: FortigateHaParams) -> tuple[str, str]:
    """(column, value): how the member is named, read as the device's text is."""
    if params.serial is not None:
        return "serial", _clean(params.serial)
    return "hostname", _clean(params.hostname or "")


def _pick(units: Sequence[_Member], column: str, wanted: str | None) -> list[_Member]:
    """The units whose `column` names `wanted`: those that say it exactly, else those that say it
    ignoring case. More than one is ambiguous (the caller says so, never picks the first)."""
    if wanted is None:
        return []
    exact = [u for u in units if u.value(column) == wanted]
    return exact or [u for u in units if _same(u.value(column), wanted)]


def _ambiguous(what: str, wanted: str, found: list[_Member], column: str, raw: str) -> MemberView:
    """Two or more rows answer to one name: which one is the member is not guessed."""
    names = [_shown(u.value(column) or "?") for u in found]
    listed = f"{', '.join(names[:-1])} and {names[-1]}"
    return MemberView(
        Role.UNKNOWN,
        reason=f"{what} {_shown(wanted)} matches rows {listed}: ambiguous"
        + ("; name the members by serial" if column == "hostname" else ""),
        raw=raw,
    )


def _rows(values: Mapping[str, Value]) -> list[_Member]:
    rows = []
    for i in range(1, ROWS + 1):
        serial = _text(values.get(f"fgHaStatsSerial.{i}"))
        hostname = _text(values.get(f"fgHaStatsHostname.{i}"))
        if serial or hostname:
            rows.append(_Member(serial, hostname, values.get(f"fgHaStatsSyncStatus.{i}")))
    return rows


def _primary_serial(values: Mapping[str, Value]) -> str | None:
    """fgHaStatsMasterSerial: every row names the same primary; the first that answers counts."""
    for i in range(1, ROWS + 1):
        serial = _text(values.get(f"fgHaStatsMasterSerial.{i}"))
        if serial:
            return serial
    return None


def _identity(rows: list[_Member], primary: str | None, own: _Member) -> str | None:
    """What the device reports about its members, in the words an inventory can use."""
    if not rows and primary is None and not (own.serial or own.hostname):
        return None  # nothing names any unit (not a FortiGate, or a blind standalone agent)
    primaries = _pick(rows, "serial", primary)
    shown = [r.label + (" primary" if r in primaries else "") for r in rows]
    text = ", ".join(shown) or "no cluster member rows"
    if primary and not primaries:
        text += f"; primary serial {_shown(primary)}"
    if own.serial or own.hostname:
        text += f"; agent on {own.label}"
    return text  # bounded (with its "…" mark) by interpret: a cut name must show it is cut


class FortigateHaKind:
    name = "fortigate-ha"
    mib = "FORTINET-FORTIGATE-MIB fgHaSystemMode, fgHaStatsTable (1.3.6.1.4.1.12356.101.13); FORTINET-CORE-MIB fnSysSerial; sysName"
    transport = "snmp"
    params_type = FortigateHaParams

    def unit_key(self, params: FortigateHaParams) -> object:
        """What names a member's unit, as the kind matches it: two members of one pair with the
        same key would land on one row (the inventory refuses them)."""
        if params.serial is not None:
            return ("serial", _clean(params.serial).casefold())
        return ("hostname", _clean(params.hostname or "").casefold())

    def check(self, params: FortigateHaParams) -> list[ParamProblem]:
        if params.serial is not None and params.hostname is not None:
            return [("hostname", "name the member by 'serial' or by 'hostname', not both")]
        if params.serial is None and params.hostname is None:
            return [
                (
                    "serial",
                    "name the member by 'serial' (fgHaStatsSerial) or 'hostname' "
                    "(fgHaStatsHostname), as the cluster table reports them",
                )
            ]
        if params.serial is not None and not params.serial.strip():
            return [("serial", "the member's serial number must not be empty")]
        if params.hostname is not None and not params.hostname.strip():
            return [("hostname", "the member's hostname must not be empty")]
        return []

    def probes(self, params: FortigateHaParams) -> tuple[Probe, ...]:
        rows = [
            Probe(f"{name}.{i}", (*HA_STATS, column, i))
            for i in range(1, ROWS + 1)
            for name, column in COLUMNS
        ]
        return (
            Probe("fgHaSystemMode", HA_MODE),
            Probe("fnSysSerial", SYS_SERIAL),
            Probe("sysName", SYS_NAME),
            *rows,
        )

    def interpret(self, params: FortigateHaParams, values: Mapping[str, Value]) -> MemberView:
        rows = _rows(values)
        primary = _primary_serial(values)
        own = _Member(_text(values.get("fnSysSerial")), _text(values.get("sysName")))
        identity = _identity(rows, primary, own)
        view = self._view(params, values, rows, primary, own)
        if view.role not in (Role.STANDBY, Role.FAULT):
            # Only a standby or a member in fault hears an active peer: an active member
            # vouches for itself, and an unknown one says nothing.
            view = replace(view, peer_active=None)
        # Every text is one bounded line, whatever the device sent (its parts are bounded
        # already; this holds the whole).
        return replace(
            view,
            reason=bounded(view.reason, REASON_MAX) if view.reason else None,
            raw=bounded(view.raw, REASON_MAX) if view.raw else None,
            peer_active=bounded(view.peer_active, PEER_MAX) if view.peer_active else None,
            identity=bounded(identity, IDENTITY_MAX) if identity else None,
        )

    def _view(
        self,
        params: FortigateHaParams,
        values: Mapping[str, Value],
        rows: list[_Member],
        primary: str | None,
        own: _Member,
    ) -> MemberView:
        mode = values.get("fgHaSystemMode")
        if isinstance(mode, Missing) or mode is None:
            if not rows or primary is None:
                shown = mode.value if isinstance(mode, Missing) else "not returned"
                return MemberView(
                    Role.UNKNOWN,
                    reason=f"fgHaSystemMode: {shown}, and fgHaStatsTable names no cluster primary",
                    raw=shown,
                    missing=True,
                )
            # Some firmware answers no fgHaSystemMode while the table lists the members and
            # their primary: that is a cluster. Active-passive is the reading that never
            # makes a secondary active on a guess.
            return _clustered(params, "activePassive", "mode not reported", rows, primary, own)
        if not isinstance(mode, int):
            return MemberView(
                Role.UNKNOWN, reason=f"fgHaSystemMode: expected an integer, got {mode!r}"[:80]
            )
        mode_name = MODES.get(mode)
        if mode_name is None:
            return MemberView(Role.UNKNOWN, reason=f"fgHaSystemMode: unrecognised value {mode}")
        if mode_name == "standalone":
            return _standalone(params, rows, own, mode)
        if not rows:
            return MemberView(
                Role.UNKNOWN, reason="fgHaStatsTable: no cluster member rows", missing=True
            )
        if primary is None:
            return MemberView(
                Role.UNKNOWN, reason="fgHaStatsMasterSerial: not returned", missing=True
            )
        return _clustered(params, mode_name, str(mode), rows, primary, own)


def _standalone(
    params: FortigateHaParams, rows: list[_Member], own: _Member, mode: int
) -> MemberView:
    raw = f"{mode} (standalone)"
    reason = "redundancy not configured (fgHaSystemMode standalone)"
    # The unit the agent runs on: fnSysSerial/sysName, or the table's only row (a standalone
    # unit lists nobody but itself).
    if len(rows) == 1:
        own = _Member(own.serial or rows[0].serial, own.hostname or rows[0].hostname)
    column, wanted = _wanted(params)
    if _pick([own], column, wanted):
        return MemberView(Role.ACTIVE, raw=raw)
    if own.value(column) is not None:
        return MemberView(
            Role.FAULT, reason=reason, raw=raw, peer_active=f"{own.label} (runs standalone)"
        )
    # The agent does not say which unit it runs on: neither member can be named active, but
    # that unit serves alone, which is what each member hears.
    what = "fnSysSerial" if column == "serial" else "sysName"
    # `missing`: this fault is no evidence that the member does not serve (it may be the very
    # unit that answers), so the pair is degraded, never down.
    return MemberView(
        Role.FAULT,
        reason=f"{reason}; the agent does not say which unit it runs on ({what} not returned)",
        raw=raw,
        peer_active="the unit this agent runs on (runs standalone)",
        missing=True,
    )


def _clustered(
    params: FortigateHaParams,
    mode_name: str,
    mode_raw: str,
    rows: list[_Member],
    primary: str,
    own: _Member,
) -> MemberView:
    raw = f"{mode_raw} ({mode_name}), primary {_shown(primary)}"
    primaries = _pick(rows, "serial", primary)
    if len(primaries) > 1:
        return _ambiguous("primary serial", primary, primaries, "serial", raw)
    primary_row = primaries[0] if primaries else None
    if primary_row is None and _same(own.serial, primary):
        primary_row = own  # rows without serials: the agent's own unit is the primary
    hears = (
        f"{primary_row.label if primary_row else _shown(primary)} primary (fgHaStatsMasterSerial)"
    )
    column, wanted = _wanted(params)
    if column == "serial" and wanted == primary:
        # The device names this serial as the primary: that holds whatever the rows carry.
        return MemberView(Role.ACTIVE, raw=raw)
    found = _pick(rows, column, wanted)
    if len(found) > 1:
        return _ambiguous(column, wanted, found, column, raw)
    row = found[0] if found else None
    if row is None and column == "serial" and _same(wanted, primary):
        # No row carries this serial in any case, and the primary's serial is it, but for case.
        return MemberView(Role.ACTIVE, raw=raw)
    reported = any(r.value(column) for r in rows)
    if row is None and not reported and _pick([own], column, wanted):
        # The rows lack the member's identifier, but the member is the agent's own unit: its
        # row is the one carrying the agent's other identifier (sysName or fnSysSerial).
        other = "hostname" if column == "serial" else "serial"
        linked = _pick(rows, other, own.value(other))
        if len(linked) > 1:
            return _ambiguous(
                f"the agent's own {other}", own.value(other) or "?", linked, other, raw
            )
        row = linked[0] if linked else None
    if row is None:
        if not reported:
            other = "hostname" if column == "serial" else "serial"
            return MemberView(
                Role.UNKNOWN,
                reason=f"fgHaStats{column.capitalize()} not returned: the rows cannot be matched to "
                f"{column} {_shown(wanted)}; name the member by {other}",
                raw=raw,
                missing=True,
                peer_active=hears,
            )
        # Absent objects: no evidence that the member is not active (missing).
        return MemberView(
            Role.FAULT,
            reason=f"peer absent: {column} {_shown(wanted)} is not in the cluster table",
            raw=f"members {', '.join(r.label for r in rows)}",
            peer_active=hears,
            missing=True,
        )
    is_primary = _is_primary(row, rows, primary_row, primary, own)
    if is_primary is None:
        # Rows without serials, and no link from the agent's own unit to a hostname: the
        # primary is named by serial only. netmon does not guess which hostname it is.
        return MemberView(
            Role.UNKNOWN,
            reason=f"cannot tell whether {row.label} is the primary {_shown(primary)}: rows "
            "without serials, and the agent's own unit not named or not found among them "
            "(fnSysSerial, sysName); name the members by serial",
            raw=raw,
            missing=True,
            peer_active=hears,
        )
    if is_primary:
        return MemberView(Role.ACTIVE, raw=raw)
    synced = row.sync == 1
    if mode_name == "activeActive":
        if synced:
            return MemberView(Role.ACTIVE, raw=raw, peer_active=hears)
        return MemberView(
            Role.FAULT, reason="not synchronized with the primary", raw=raw, peer_active=hears
        )
    if synced:
        return MemberView(Role.STANDBY, raw=raw, peer_active=hears)
    sync = row.sync
    state = SYNC_STATES.get(sync, repr(sync)) if isinstance(sync, int) else "not returned"
    return MemberView(
        Role.STANDBY,
        reason=f"configuration not synchronized (fgHaStatsSyncStatus {state})",
        raw=raw,
        ready=False,
        peer_active=hears,
    )


def _is_primary(
    row: _Member, rows: list[_Member], primary_row: _Member | None, primary: str, own: _Member
) -> bool | None:
    """Whether the member's row is the primary's, on evidence only (None: cannot tell).

    The primary is named by serial (`primary_row`: the one row carrying it, if any). A row with a
    serial says it directly. A row without one is linked to a serial through the agent's own
    unit: sysName is its hostname (one row only: an ambiguous hostname links nothing) and
    fnSysSerial its serial. When the agent's unit is the primary, every other row is not; when
    it is not and the table has two rows, the other row is the primary.
    """
    if row.serial is not None:
        return row is primary_row
    own_rows = _pick(rows, "hostname", own.hostname)
    if len(own_rows) != 1 or own.serial is None:
        return None
    own_row = own_rows[0]
    own_is_primary = _same(own.serial, primary)
    if row is own_row:
        return own_is_primary
    if own_is_primary:
        return False
    return True if len(rows) == 2 else None
