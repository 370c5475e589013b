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

A member missing from the table (FortiOS drops a lost member from it silently) is `fault`
("peer absent"). A secondary whose configuration is not synchronized is a standby that is not
ready.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import ClassVar

from netmon.kinds.base import ParamProblem
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
PEER_MAX = 100  # peer_active is bounded text


@dataclass(frozen=True)
class FortigateHaParams:
    __pydantic_config__: ClassVar[dict[str, object]] = {"extra": "forbid"}
    serial: str | None = None  # fgHaStatsSerial / fnSysSerial of the member
    hostname: str | None = None  # fgHaStatsHostname / sysName of the member


def _text(value: Value | None) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _same(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and a.casefold() == b.casefold()


@dataclass(frozen=True)
class _Member:
    """One row of fgHaStatsTable, or the unit the agent runs on."""

    serial: str | None
    hostname: str | None
    sync: Value | None = None

    @property
    def label(self) -> str:
        return "/".join(x for x in (self.serial, self.hostname) if x) or "?"

    def matches(self, params: FortigateHaParams) -> bool:
        if params.serial is not None:
            return _same(self.serial, params.serial.strip())
        return _same(self.hostname, (params.hostname or "").strip())


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
    shown = [r.label + (" primary" if _same(r.serial, primary) else "") for r in rows]
    text = ", ".join(shown) or "no cluster member rows"
    if primary and not any(_same(r.serial, primary) for r in rows):
        text += f"; primary serial {primary}"
    if own.serial or own.hostname:
        text += f"; agent on {own.label}"
    return text[:IDENTITY_MAX]


class FortigateHaKind:
    name = "fortigate-ha"
    mib = "FORTINET-FORTIGATE-MIB fgHaSystemMode, fgHaStatsTable (1.3.6.1.4.1.12356.101.13); FORTINET-CORE-MIB fnSysSerial; sysName"
    transport = "snmp"
    params_type = FortigateHaParams

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
        elif view.peer_active is not None:
            view = replace(view, peer_active=view.peer_active[:PEER_MAX])
        return replace(view, identity=identity)

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
    known = own.serial if params.serial is not None else own.hostname
    if own.matches(params):
        return MemberView(Role.ACTIVE, raw=raw)
    if known is not None:
        return MemberView(
            Role.FAULT, reason=reason, raw=raw, peer_active=f"{own.label} (runs standalone)"
        )
    # The agent does not say which unit it runs on: neither member can be named active, but
    # that unit serves alone, which is what each member hears.
    what = "fnSysSerial" if params.serial is not None else "sysName"
    return MemberView(
        Role.FAULT,
        reason=f"{reason}; the agent does not say which unit it runs on ({what} not returned)",
        raw=raw,
        peer_active="the unit this agent runs on (runs standalone)",
    )


def _clustered(
    params: FortigateHaParams,
    mode_name: str,
    mode_raw: str,
    rows: list[_Member],
    primary: str,
    own: _Member,
) -> MemberView:
    raw = f"{mode_raw} ({mode_name}), primary {primary}"
    primary_row = next((r for r in rows if _same(r.serial, primary)), None)
    if primary_row is None and _same(own.serial, primary):
        primary_row = own  # rows without serials: the agent's own unit is the primary
    hears = f"{primary_row.label if primary_row else primary} primary (fgHaStatsMasterSerial)"
    wanted = params.serial if params.serial is not None else params.hostname
    column = "serial" if params.serial is not None else "hostname"
    if params.serial is not None and _same(params.serial.strip(), primary):
        # The device names this serial as the primary: that holds whatever the rows carry.
        return MemberView(Role.ACTIVE, raw=raw)
    row = next((r for r in rows if r.matches(params)), None)
    reported = any(getattr(r, column) for r in rows)
    if row is None and not reported and own.matches(params):
        # The rows lack the member's identifier, but the member is the agent's own unit: its
        # row is the one carrying the agent's other identifier (sysName or fnSysSerial).
        row = next(
            (r for r in rows if _same(r.hostname, own.hostname) or _same(r.serial, own.serial)),
            None,
        )
    if row is None:
        if not reported:
            other = "hostname" if column == "serial" else "serial"
            return MemberView(
                Role.UNKNOWN,
                reason=f"fgHaStats{column.capitalize()} not returned: the rows cannot be matched to "
                f"{column} {wanted}; name the member by {other}",
                raw=raw,
                missing=True,
                peer_active=hears,
            )
        return MemberView(
            Role.FAULT,
            reason=f"peer absent: {column} {wanted} is not in the cluster table",
            raw=f"members {', '.join(r.label for r in rows)}"[:120],
            peer_active=hears,
        )
    is_primary = _is_primary(row, rows, primary, own)
    if is_primary is None:
        # Rows without serials, and no link from the agent's own unit to a hostname: the
        # primary is named by serial only. netmon does not guess which hostname it is.
        return MemberView(
            Role.UNKNOWN,
            reason=f"cannot tell whether {row.label} is the primary {primary}: the rows carry no "
            "serials (fgHaStatsSerial) and the agent's own unit is not named (fnSysSerial, "
            "sysName); name the members by serial",
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


def _is_primary(row: _Member, rows: list[_Member], primary: str, own: _Member) -> bool | None:
    """Whether the member's row is the primary's, on evidence only (None: cannot tell).

    The primary is named by serial. A row with a serial says it directly. A row without one is
    linked to a serial through the agent's own unit: sysName is its hostname and fnSysSerial its
    serial. When the agent's unit is the primary, every other row is not; when it is not and
    the table has two rows, the other row is the primary.
    """
    if row.serial is not None:
        return _same(row.serial, primary)
    own_row = next((r for r in rows if _same(r.hostname, own.hostname)), None)
    if own_row is None or own.serial is None:
        return None
    own_is_primary = _same(own.serial, primary)
    if row is own_row:
        return own_is_primary
    if own_is_primary:
        return False
    return True if len(rows) == 2 else None
