"""FORTINET-FORTIGATE-MIB: a FortiGate HA cluster.

Every cluster member's agent reports the HA mode (`fgHaSystemMode`) and the cluster table
`fgHaStatsTable`, one row per member (serial, sync status, the primary's serial); the row index
is the member's position, not its serial, so netmon reads the first rows and finds the member by
its serial. FORTINET-CORE-MIB `fnSysSerial` says which unit the agent runs on. A member of the
pair is a cluster member named by its `serial`; both members may name the same device.

Standalone where a pair is configured: the unit the agent runs on is `active`, the other member
`fault` with "redundancy not configured": the pair reads `degraded`. A member missing from the
table (FortiOS drops a lost member from it silently) is `fault` ("peer absent"). A secondary
whose configuration is not synchronized is a standby that is not ready.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from netmon.kinds.base import ParamProblem, missing_view
from netmon.model import MemberView, Probe, Role, Value

SYS_SERIAL = (1, 3, 6, 1, 4, 1, 12356, 100, 1, 1, 1, 0)  # FORTINET-CORE-MIB fnSysSerial
HA_MODE = (1, 3, 6, 1, 4, 1, 12356, 101, 13, 1, 1, 0)
HA_STATS = (1, 3, 6, 1, 4, 1, 12356, 101, 13, 2, 1, 1)
SERIAL, SYNC, PRIMARY_SERIAL = (
    2,
    12,
    16,
)  # fgHaStatsSerial, fgHaStatsSyncStatus, fgHaStatsMasterSerial
ROWS = 4  # FortiGate clusters have at most four members

MODES = {1: "standalone", 2: "activeActive", 3: "activePassive"}
SYNC_STATES = {0: "unsynchronized", 1: "synchronized"}


@dataclass(frozen=True)
class FortigateHaParams:
    __pydantic_config__: ClassVar[dict[str, object]] = {"extra": "forbid"}
    serial: str


class FortigateHaKind:
    name = "fortigate-ha"
    mib = "FORTINET-FORTIGATE-MIB fgHaSystemMode, fgHaStatsTable (1.3.6.1.4.1.12356.101.13); FORTINET-CORE-MIB fnSysSerial"
    transport = "snmp"
    params_type = FortigateHaParams

    def check(self, params: FortigateHaParams) -> list[ParamProblem]:
        if not params.serial.strip():
            return [("serial", "the member's serial number must not be empty")]
        return []

    def probes(self, params: FortigateHaParams) -> tuple[Probe, ...]:
        rows = [
            Probe(f"{name}.{i}", (*HA_STATS, column, i))
            for i in range(1, ROWS + 1)
            for name, column in (
                ("fgHaStatsSerial", SERIAL),
                ("fgHaStatsSyncStatus", SYNC),
                ("fgHaStatsMasterSerial", PRIMARY_SERIAL),
            )
        ]
        return (Probe("fgHaSystemMode", HA_MODE), Probe("fnSysSerial", SYS_SERIAL), *rows)

    def interpret(self, params: FortigateHaParams, values: Mapping[str, Value]) -> MemberView:
        mode = values.get("fgHaSystemMode")
        bad = missing_view("fgHaSystemMode", mode)
        if bad is not None:
            return bad
        assert isinstance(mode, int)
        mode_name = MODES.get(mode)
        if mode_name is None:
            return MemberView(Role.UNKNOWN, reason=f"fgHaSystemMode: unrecognised value {mode}")
        wanted = params.serial.strip()
        if mode_name == "standalone":
            own = values.get("fnSysSerial")
            if isinstance(own, str) and own.strip() == wanted:
                return MemberView(Role.ACTIVE, raw=f"{mode} (standalone)")
            return MemberView(
                Role.FAULT,
                reason="redundancy not configured (fgHaSystemMode standalone)",
                raw=f"{mode} (standalone)",
            )
        rows: dict[str, tuple[Value | None, Value | None]] = {}
        for i in range(1, ROWS + 1):
            serial = values.get(f"fgHaStatsSerial.{i}")
            if isinstance(serial, str) and serial.strip():
                rows[serial.strip()] = (
                    values.get(f"fgHaStatsSyncStatus.{i}"),
                    values.get(f"fgHaStatsMasterSerial.{i}"),
                )
        if not rows:
            return MemberView(Role.UNKNOWN, reason="fgHaStatsTable: no cluster member rows")
        if wanted not in rows:
            return MemberView(
                Role.FAULT,
                reason=f"peer absent: serial {wanted} is not in the cluster table",
                raw=f"members {', '.join(sorted(rows))}"[:120],
            )
        sync, primary = rows[wanted]
        if not isinstance(primary, str) or not primary.strip():
            return MemberView(Role.UNKNOWN, reason="fgHaStatsMasterSerial: not returned")
        raw = f"{mode} ({mode_name}), primary {primary.strip()}"
        if primary.strip() == wanted:
            return MemberView(Role.ACTIVE, raw=raw)
        synced = sync == 1
        if mode_name == "activeActive":
            if synced:
                return MemberView(Role.ACTIVE, raw=raw)
            return MemberView(Role.FAULT, reason="not synchronized with the primary", raw=raw)
        if synced:
            return MemberView(Role.STANDBY, raw=raw)
        state = SYNC_STATES.get(sync, repr(sync)) if isinstance(sync, int) else "not returned"
        return MemberView(
            Role.STANDBY,
            reason=f"configuration not synchronized (fgHaStatsSyncStatus {state})",
            raw=raw,
            ready=False,
        )
