"""Tests that kill mutants of netmon's fortigate code that the other tests let live (docs/mutation.md).

What a member of a FortiGate cluster reads as (role, reason, raw, readiness, the primary it
hears, the identity shown to operators, `missing`) for answers an agent can give, stated whole:
the reason and identity texts are what on-call staff read and what they copy into the inventory.
Every kind call happens inside a test body (mutmut runs only the tests that called a function).
"""

from __future__ import annotations

from typing import Any

import pytest

from netmon.kinds.fortigate import FortigateHaKind, FortigateHaParams
from netmon.model import MemberView, Missing, Role, Value

# A cluster table row: fgHaStatsSerial, fgHaStatsHostname, fgHaStatsSyncStatus,
# fgHaStatsMasterSerial (None: the agent did not return that column for the row).
Row = tuple[Value | None, Value | None, Value | None, Value | None]
COLUMNS = ("fgHaStatsSerial", "fgHaStatsHostname", "fgHaStatsSyncStatus", "fgHaStatsMasterSerial")

NS = Missing.NO_SUCH_OBJECT
NI = Missing.NO_SUCH_INSTANCE
A: Row = ("FGT-A", "fw-a", 1, "FGT-A")
B: Row = ("FGT-B", "fw-b", 1, "FGT-A")
B0: Row = ("FGT-B", "fw-b", 0, "FGT-A")
HA: Row = (None, "fw-a", 1, "FGT-A")  # rows without the serial column
HB: Row = (None, "fw-b", 1, "FGT-A")
SA: Row = ("FGT-A", None, 1, "FGT-A")  # rows without the hostname column
SB: Row = ("FGT-B", None, 1, "FGT-A")
OWN = ("FGT-A", "fw-a")  # fnSysSerial, sysName: the agent runs on the primary
OWNB = ("FGT-B", "fw-b")  # ... on the secondary
L = "h" * 50  # longer than any name is shown (36 characters)
CUT = {c: c * 35 + "…" for c in "FGHSgh"}  # a long name as shown: bounded, marked as cut


def _values(
    mode: Value | None, own: tuple[str | None, str | None], rows: tuple[Row, ...]
) -> dict[str, Value]:
    """The answers as observe_member hands them over: by probe key, absent ones left out."""
    values: dict[str, Value] = {}
    if mode is not None:
        values["fgHaSystemMode"] = mode
    for key, value in zip(("fnSysSerial", "sysName"), own, strict=True):
        if value is not None:
            values[key] = value
    for i, row in enumerate(rows, 1):
        for column, cell in zip(COLUMNS, row, strict=True):
            if cell is not None:
                values[f"{column}.{i}"] = cell
    return values


def _params(named: tuple[str, str]) -> FortigateHaParams:
    return FortigateHaParams(**{named[0]: named[1]})


VIEWS = [
    pytest.param(
        ("serial", "FGT-B"),
        3,
        OWN,
        (A, B),
        {
            "role": "standby",
            "raw": "3 (activePassive), primary FGT-A",
            "peer_active": "FGT-A/fw-a primary (fgHaStatsMasterSerial)",
            "identity": "FGT-A/fw-a primary, FGT-B/fw-b; agent on FGT-A/fw-a",
        },
        id="secondary_synced",
    ),
    pytest.param(
        ("serial", "FGT-B"),
        3,
        OWN,
        (A, B0),
        {
            "role": "standby",
            "reason": "configuration not synchronized (fgHaStatsSyncStatus unsynchronized)",
            "raw": "3 (activePassive), primary FGT-A",
            "ready": False,
            "peer_active": "FGT-A/fw-a primary (fgHaStatsMasterSerial)",
            "identity": "FGT-A/fw-a primary, FGT-B/fw-b; agent on FGT-A/fw-a",
        },
        id="secondary_unsynced",
    ),
    pytest.param(
        ("serial", "FGT-B"),
        3,
        OWN,
        (A, ("FGT-B", "fw-b", 2, "FGT-A")),
        {
            "role": "standby",
            "reason": "configuration not synchronized (fgHaStatsSyncStatus 2)",
            "raw": "3 (activePassive), primary FGT-A",
            "ready": False,
            "peer_active": "FGT-A/fw-a primary (fgHaStatsMasterSerial)",
            "identity": "FGT-A/fw-a primary, FGT-B/fw-b; agent on FGT-A/fw-a",
        },
        id="secondary_sync_out_of_range",
    ),
    pytest.param(
        ("serial", "FGT-B"),
        3,
        OWN,
        (A, ("FGT-B", "fw-b", NI, "FGT-A")),
        {
            "role": "standby",
            "reason": "configuration not synchronized (fgHaStatsSyncStatus not returned)",
            "raw": "3 (activePassive), primary FGT-A",
            "ready": False,
            "peer_active": "FGT-A/fw-a primary (fgHaStatsMasterSerial)",
            "identity": "FGT-A/fw-a primary, FGT-B/fw-b; agent on FGT-A/fw-a",
        },
        id="secondary_sync_missing",
    ),
    pytest.param(
        ("serial", "FGT-B"),
        3,
        OWN,
        (A, ("FGT-B", "fw-b", None, "FGT-A")),
        {
            "role": "standby",
            "reason": "configuration not synchronized (fgHaStatsSyncStatus not returned)",
            "raw": "3 (activePassive), primary FGT-A",
            "ready": False,
            "peer_active": "FGT-A/fw-a primary (fgHaStatsMasterSerial)",
            "identity": "FGT-A/fw-a primary, FGT-B/fw-b; agent on FGT-A/fw-a",
        },
        id="secondary_sync_absent",
    ),
    pytest.param(
        ("serial", "FGT-A"),
        3,
        OWN,
        (A, B),
        {
            "role": "active",
            "raw": "3 (activePassive), primary FGT-A",
            "identity": "FGT-A/fw-a primary, FGT-B/fw-b; agent on FGT-A/fw-a",
        },
        id="primary",
    ),
    pytest.param(
        ("serial", "FGT-B"),
        2,
        OWN,
        (A, B),
        {
            "role": "active",
            "raw": "2 (activeActive), primary FGT-A",
            "identity": "FGT-A/fw-a primary, FGT-B/fw-b; agent on FGT-A/fw-a",
        },
        id="aa_secondary_synced",
    ),
    pytest.param(
        ("serial", "FGT-B"),
        2,
        OWN,
        (A, B0),
        {
            "role": "fault",
            "reason": "not synchronized with the primary",
            "raw": "2 (activeActive), primary FGT-A",
            "peer_active": "FGT-A/fw-a primary (fgHaStatsMasterSerial)",
            "identity": "FGT-A/fw-a primary, FGT-B/fw-b; agent on FGT-A/fw-a",
        },
        id="aa_secondary_unsynced",
    ),
    pytest.param(
        ("serial", "FGT-A"),
        2,
        OWN,
        (A, B),
        {
            "role": "active",
            "raw": "2 (activeActive), primary FGT-A",
            "identity": "FGT-A/fw-a primary, FGT-B/fw-b; agent on FGT-A/fw-a",
        },
        id="aa_primary",
    ),
    pytest.param(
        ("serial", "FGT-C"),
        3,
        OWN,
        (A, B),
        {
            "role": "fault",
            "reason": "peer absent: serial FGT-C is not in the cluster table",
            "raw": "members FGT-A/fw-a, FGT-B/fw-b",
            "peer_active": "FGT-A/fw-a primary (fgHaStatsMasterSerial)",
            "identity": "FGT-A/fw-a primary, FGT-B/fw-b; agent on FGT-A/fw-a",
            "missing": True,
        },
        id="peer_absent",
    ),
    pytest.param(
        ("hostname", "FGT-A"),
        3,
        OWN,
        (A, B),
        {
            "role": "fault",
            "reason": "peer absent: hostname FGT-A is not in the cluster table",
            "raw": "members FGT-A/fw-a, FGT-B/fw-b",
            "peer_active": "FGT-A/fw-a primary (fgHaStatsMasterSerial)",
            "identity": "FGT-A/fw-a primary, FGT-B/fw-b; agent on FGT-A/fw-a",
            "missing": True,
        },
        id="hostname_peer_absent_named_like_primary",
    ),
    pytest.param(
        ("serial", "FGT-B"),
        NS,
        (None, None),
        (),
        {
            "role": "unknown",
            "reason": "fgHaSystemMode: noSuchObject, and fgHaStatsTable names no cluster primary",
            "raw": "noSuchObject",
            "missing": True,
        },
        id="mode_no_such_object",
    ),
    pytest.param(
        ("serial", "FGT-B"),
        None,
        (None, None),
        (),
        {
            "role": "unknown",
            "reason": "fgHaSystemMode: not returned, and fgHaStatsTable names no cluster primary",
            "raw": "not returned",
            "missing": True,
        },
        id="mode_not_returned",
    ),
    pytest.param(
        ("serial", "FGT-B"),
        NI,
        OWN,
        (("FGT-A", "fw-a", 1, None),),
        {
            "role": "unknown",
            "reason": "fgHaSystemMode: noSuchInstance, and fgHaStatsTable names no cluster primary",
            "raw": "noSuchInstance",
            "identity": "FGT-A/fw-a; agent on FGT-A/fw-a",
            "missing": True,
        },
        id="mode_missing_rows_without_primary",
    ),
    pytest.param(
        ("serial", "FGT-B"),
        NS,
        OWN,
        (A, B),
        {
            "role": "standby",
            "raw": "mode not reported (activePassive), primary FGT-A",
            "peer_active": "FGT-A/fw-a primary (fgHaStatsMasterSerial)",
            "identity": "FGT-A/fw-a primary, FGT-B/fw-b; agent on FGT-A/fw-a",
        },
        id="mode_missing_cluster_secondary",
    ),
    pytest.param(
        ("serial", "FGT-A"),
        None,
        OWN,
        (A, B),
        {
            "role": "active",
            "raw": "mode not reported (activePassive), primary FGT-A",
            "identity": "FGT-A/fw-a primary, FGT-B/fw-b; agent on FGT-A/fw-a",
        },
        id="mode_missing_cluster_primary",
    ),
    pytest.param(
        ("serial", "FGT-B"),
        "x" * 70,
        (None, None),
        (),
        {
            "role": "unknown",
            "reason": "fgHaSystemMode: expected an integer, got 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        },
        id="mode_text",
    ),
    pytest.param(
        ("serial", "FGT-B"),
        7,
        OWN,
        (A, B),
        {
            "role": "unknown",
            "reason": "fgHaSystemMode: unrecognised value 7",
            "identity": "FGT-A/fw-a primary, FGT-B/fw-b; agent on FGT-A/fw-a",
        },
        id="mode_out_of_range",
    ),
    pytest.param(
        ("serial", "FGT-B"),
        3,
        ("FGT-A", None),
        (),
        {
            "role": "unknown",
            "reason": "fgHaStatsTable: no cluster member rows",
            "identity": "no cluster member rows; agent on FGT-A",
            "missing": True,
        },
        id="no_rows",
    ),
    pytest.param(
        ("serial", "FGT-B"),
        3,
        (None, "fw-a"),
        (),
        {
            "role": "unknown",
            "reason": "fgHaStatsTable: no cluster member rows",
            "identity": "no cluster member rows; agent on fw-a",
            "missing": True,
        },
        id="no_rows_own_hostname",
    ),
    pytest.param(
        ("serial", "FGT-B"),
        3,
        (None, None),
        (("FGT-A", "fw-a", 1, None), ("FGT-B", "fw-b", 1, None)),
        {
            "role": "unknown",
            "reason": "fgHaStatsMasterSerial: not returned",
            "identity": "FGT-A/fw-a, FGT-B/fw-b",
            "missing": True,
        },
        id="no_primary_serial",
    ),
    pytest.param(
        ("serial", "FGT-B"),
        3,
        OWN,
        (("FGT-A", "fw-a", 1, None), ("FGT-B", "fw-b", 1, None), ("FGT-C", "fw-c", 1, "FGT-A")),
        {
            "role": "standby",
            "raw": "3 (activePassive), primary FGT-A",
            "peer_active": "FGT-A/fw-a primary (fgHaStatsMasterSerial)",
            "identity": "FGT-A/fw-a primary, FGT-B/fw-b, FGT-C/fw-c; agent on FGT-A/fw-a",
        },
        id="primary_serial_in_third_row",
    ),
    pytest.param(
        ("serial", "FGT-A"),
        1,
        OWN,
        (A,),
        {
            "role": "active",
            "raw": "1 (standalone)",
            "identity": "FGT-A/fw-a primary; agent on FGT-A/fw-a",
        },
        id="standalone_own_unit",
    ),
    pytest.param(
        ("serial", "FGT-B"),
        1,
        OWN,
        (A,),
        {
            "role": "fault",
            "reason": "redundancy not configured (fgHaSystemMode standalone)",
            "raw": "1 (standalone)",
            "peer_active": "FGT-A/fw-a (runs standalone)",
            "identity": "FGT-A/fw-a primary; agent on FGT-A/fw-a",
        },
        id="standalone_other_member",
    ),
    pytest.param(
        ("hostname", "fw-a"),
        1,
        OWN,
        (),
        {
            "role": "active",
            "raw": "1 (standalone)",
            "identity": "no cluster member rows; agent on FGT-A/fw-a",
        },
        id="standalone_own_by_hostname",
    ),
    pytest.param(
        ("hostname", "fw-a"),
        1,
        ("FGT-A", None),
        (A,),
        {
            "role": "active",
            "raw": "1 (standalone)",
            "identity": "FGT-A/fw-a primary; agent on FGT-A",
        },
        id="standalone_own_by_hostname_row",
    ),
    pytest.param(
        ("serial", "FGT-A"),
        1,
        (None, None),
        (A,),
        {"role": "active", "raw": "1 (standalone)", "identity": "FGT-A/fw-a primary"},
        id="standalone_row_names_unit_serial",
    ),
    pytest.param(
        ("hostname", "fw-a"),
        1,
        (None, None),
        (A,),
        {"role": "active", "raw": "1 (standalone)", "identity": "FGT-A/fw-a primary"},
        id="standalone_row_names_unit_hostname",
    ),
    pytest.param(
        ("serial", "FGT-B"),
        1,
        (None, None),
        (A,),
        {
            "role": "fault",
            "reason": "redundancy not configured (fgHaSystemMode standalone)",
            "raw": "1 (standalone)",
            "peer_active": "FGT-A/fw-a (runs standalone)",
            "identity": "FGT-A/fw-a primary",
        },
        id="standalone_row_names_unit_other",
    ),
    pytest.param(
        ("hostname", "fw-b"),
        1,
        (None, None),
        (A,),
        {
            "role": "fault",
            "reason": "redundancy not configured (fgHaSystemMode standalone)",
            "raw": "1 (standalone)",
            "peer_active": "FGT-A/fw-a (runs standalone)",
            "identity": "FGT-A/fw-a primary",
        },
        id="standalone_row_names_unit_other_hostname",
    ),
    pytest.param(
        ("serial", "FGT-B"),
        1,
        (None, None),
        (),
        {
            "role": "fault",
            "reason": "redundancy not configured (fgHaSystemMode standalone); the agent does not say which unit it runs on (fnSysSerial not returned)",
            "raw": "1 (standalone)",
            "peer_active": "the unit this agent runs on (runs standalone)",
            "missing": True,
        },
        id="standalone_unnamed_by_serial",
    ),
    pytest.param(
        ("hostname", "fw-b"),
        1,
        (None, None),
        (),
        {
            "role": "fault",
            "reason": "redundancy not configured (fgHaSystemMode standalone); the agent does not say which unit it runs on (sysName not returned)",
            "raw": "1 (standalone)",
            "peer_active": "the unit this agent runs on (runs standalone)",
            "missing": True,
        },
        id="standalone_unnamed_by_hostname",
    ),
    pytest.param(
        ("serial", "FGT-A"),
        1,
        (None, None),
        (A, B),
        {
            "role": "fault",
            "reason": "redundancy not configured (fgHaSystemMode standalone); the agent does not say which unit it runs on (fnSysSerial not returned)",
            "raw": "1 (standalone)",
            "peer_active": "the unit this agent runs on (runs standalone)",
            "identity": "FGT-A/fw-a primary, FGT-B/fw-b",
            "missing": True,
        },
        id="standalone_two_rows_unnamed",
    ),
    pytest.param(
        ("hostname", "fw-b"),
        3,
        OWN,
        (HA, HB),
        {
            "role": "standby",
            "raw": "3 (activePassive), primary FGT-A",
            "peer_active": "FGT-A/fw-a primary (fgHaStatsMasterSerial)",
            "identity": "fw-a, fw-b; primary serial FGT-A; agent on FGT-A/fw-a",
        },
        id="hostnames_secondary",
    ),
    pytest.param(
        ("hostname", "fw-a"),
        3,
        OWN,
        (HA, HB),
        {
            "role": "active",
            "raw": "3 (activePassive), primary FGT-A",
            "identity": "fw-a, fw-b; primary serial FGT-A; agent on FGT-A/fw-a",
        },
        id="hostnames_primary",
    ),
    pytest.param(
        ("hostname", "fw-a"),
        3,
        OWNB,
        (HA, HB),
        {
            "role": "active",
            "raw": "3 (activePassive), primary FGT-A",
            "identity": "fw-a, fw-b; primary serial FGT-A; agent on FGT-B/fw-b",
        },
        id="hostnames_agent_on_secondary_primary",
    ),
    pytest.param(
        ("serial", "FGT-A"),
        3,
        OWN,
        (HA, HB),
        {
            "role": "active",
            "raw": "3 (activePassive), primary FGT-A",
            "identity": "fw-a, fw-b; primary serial FGT-A; agent on FGT-A/fw-a",
        },
        id="hostnames_by_primary_serial",
    ),
    pytest.param(
        ("serial", "FGT-B"),
        3,
        OWN,
        (HA, HB),
        {
            "role": "unknown",
            "reason": "fgHaStatsSerial not returned: the rows cannot be matched to serial FGT-B; name the member by hostname",
            "raw": "3 (activePassive), primary FGT-A",
            "identity": "fw-a, fw-b; primary serial FGT-A; agent on FGT-A/fw-a",
            "missing": True,
        },
        id="hostnames_by_other_serial",
    ),
    pytest.param(
        ("serial", "FGT-B"),
        3,
        OWNB,
        (HA, HB),
        {
            "role": "standby",
            "raw": "3 (activePassive), primary FGT-A",
            "peer_active": "FGT-A primary (fgHaStatsMasterSerial)",
            "identity": "fw-a, fw-b; primary serial FGT-A; agent on FGT-B/fw-b",
        },
        id="hostnames_by_own_serial",
    ),
    pytest.param(
        ("serial", "FGT-B"),
        3,
        ("FGT-B", None),
        (HA, HB),
        {
            "role": "unknown",
            "reason": "fgHaStatsSerial not returned: the rows cannot be matched to serial FGT-B; name the member by hostname",
            "raw": "3 (activePassive), primary FGT-A",
            "identity": "fw-a, fw-b; primary serial FGT-A; agent on FGT-B",
            "missing": True,
        },
        id="hostnames_by_own_serial_no_sysname",
    ),
    pytest.param(
        ("serial", "FGT-B"),
        3,
        ("FGT-B", "Fw1"),
        ((None, "FW1", 1, "FGT-A"), (None, "fw1", 1, "FGT-A")),
        {
            "role": "unknown",
            "reason": "the agent's own hostname Fw1 matches rows FW1 and fw1: ambiguous; name the members by serial",
            "raw": "3 (activePassive), primary FGT-A",
            "identity": "FW1, fw1; primary serial FGT-A; agent on FGT-B/Fw1",
        },
        id="hostnames_by_own_serial_ambiguous",
    ),
    pytest.param(
        ("hostname", "fw-b"),
        3,
        (None, None),
        (HA, HB),
        {
            "role": "unknown",
            "reason": "cannot tell whether fw-b is the primary FGT-A: rows without serials, and the agent's own unit not named or not found among them (fnSysSerial, sysName); name the members by serial",
            "raw": "3 (activePassive), primary FGT-A",
            "identity": "fw-a, fw-b; primary serial FGT-A",
            "missing": True,
        },
        id="hostnames_agent_unnamed",
    ),
    pytest.param(
        ("hostname", "fw-c"),
        3,
        OWNB,
        (HA, HB, (None, "fw-c", 1, "FGT-A")),
        {
            "role": "unknown",
            "reason": "cannot tell whether fw-c is the primary FGT-A: rows without serials, and the agent's own unit not named or not found among them (fnSysSerial, sysName); name the members by serial",
            "raw": "3 (activePassive), primary FGT-A",
            "identity": "fw-a, fw-b, fw-c; primary serial FGT-A; agent on FGT-B/fw-b",
            "missing": True,
        },
        id="hostnames_three_rows_agent_not_primary",
    ),
    pytest.param(
        ("hostname", "fw-b"),
        3,
        OWNB,
        (SA, SB),
        {
            "role": "standby",
            "raw": "3 (activePassive), primary FGT-A",
            "peer_active": "FGT-A primary (fgHaStatsMasterSerial)",
            "identity": "FGT-A primary, FGT-B; agent on FGT-B/fw-b",
        },
        id="serials_by_own_hostname",
    ),
    pytest.param(
        ("hostname", "fw-a"),
        3,
        OWNB,
        (SA, SB),
        {
            "role": "unknown",
            "reason": "fgHaStatsHostname not returned: the rows cannot be matched to hostname fw-a; name the member by serial",
            "raw": "3 (activePassive), primary FGT-A",
            "identity": "FGT-A primary, FGT-B; agent on FGT-B/fw-b",
            "missing": True,
        },
        id="serials_by_other_hostname",
    ),
    pytest.param(
        ("hostname", "Fw1"),
        3,
        OWN,
        (("FGT-A", "FW1", 1, "FGT-A"), ("FGT-B", "fw1", 1, "FGT-A")),
        {
            "role": "unknown",
            "reason": "hostname Fw1 matches rows FW1 and fw1: ambiguous; name the members by serial",
            "raw": "3 (activePassive), primary FGT-A",
            "identity": "FGT-A/FW1 primary, FGT-B/fw1; agent on FGT-A/fw-a",
        },
        id="hostname_ambiguous",
    ),
    pytest.param(
        ("hostname", "fW1"),
        3,
        OWN,
        (("FGT-A", "FW1", 1, "FGT-A"), ("FGT-B", "fw1", 1, "FGT-A"), ("FGT-C", "Fw1", 1, "FGT-A")),
        {
            "role": "unknown",
            "reason": "hostname fW1 matches rows FW1, fw1 and Fw1: ambiguous; name the members by serial",
            "raw": "3 (activePassive), primary FGT-A",
            "identity": "FGT-A/FW1 primary, FGT-B/fw1, FGT-C/Fw1; agent on FGT-A/fw-a",
        },
        id="hostname_ambiguous_three",
    ),
    pytest.param(
        ("serial", "FGT-B"),
        3,
        (None, None),
        (
            ("FGT-A", "fw-a", 1, "Fgt-A"),
            ("fgt-a", "fw-x", 1, "Fgt-A"),
            ("FGT-B", "fw-b", 1, "Fgt-A"),
        ),
        {
            "role": "unknown",
            "reason": "primary serial Fgt-A matches rows FGT-A and fgt-a: ambiguous",
            "raw": "3 (activePassive), primary Fgt-A",
            "identity": "FGT-A/fw-a primary, fgt-a/fw-x primary, FGT-B/fw-b",
        },
        id="primary_serial_ambiguous",
    ),
    pytest.param(
        ("serial", "fgt-a"),
        3,
        OWNB,
        (B,),
        {
            "role": "active",
            "raw": "3 (activePassive), primary FGT-A",
            "identity": "FGT-B/fw-b; primary serial FGT-A; agent on FGT-B/fw-b",
        },
        id="serial_differs_from_primary_in_case_only",
    ),
    pytest.param(
        ("serial", "fgt-a"),
        3,
        (None, None),
        (A, ("fgt-a", "fw-x", 1, "FGT-A")),
        {
            "role": "standby",
            "raw": "3 (activePassive), primary FGT-A",
            "peer_active": "FGT-A/fw-a primary (fgHaStatsMasterSerial)",
            "identity": "FGT-A/fw-a primary, fgt-a/fw-x",
        },
        id="serial_rows_differing_in_case",
    ),
    pytest.param(
        ("hostname", L),
        3,
        ("F" * 50, "fw-a"),
        (
            ("F" * 50, "g" * 40, 1, "F" * 50),
            ("G" * 50, "x" + L, 1, "F" * 50),
            ("H" * 50, L + "x", 1, "F" * 50),
        ),
        {
            "role": "fault",
            "reason": f"peer absent: hostname {CUT['h']} is not in the cluster table",
            "raw": f"members {CUT['F']}/{CUT['g']}, {CUT['G']}/x{'h' * 34}…, {CUT['H']}/hhhh…",
            "peer_active": f"{CUT['F']}/{CUT['g']} primary (fgHaStatsMasterS…",
            "identity": f"{CUT['F']}/{CUT['g']} primary, {CUT['G']}/x{'h' * 34}…, {CUT['H']}/hhhh…",
            "missing": True,
        },
        id="long_names_peer_absent",
    ),
    pytest.param(
        ("hostname", L),
        3,
        (None, None),
        ((None, L, 1, "S" * 50), (None, "fw-b", 1, "S" * 50)),
        {
            "role": "unknown",
            "reason": f"cannot tell whether {CUT['h']} is the primary {CUT['S']}: rows without "
            "serials, and the agent's own unit not named or not found among them (fnSysSe…",
            "raw": f"3 (activePassive), primary {CUT['S']}",
            "identity": f"{CUT['h']}, fw-b; primary serial {CUT['S']}",
            "missing": True,
        },
        id="long_names_cannot_tell",
    ),
    pytest.param(
        ("serial", "FGT-B"),
        None,
        OWN,
        (("S" * 50, "fw-a", 1, "S" * 50), B),
        {
            "role": "standby",
            "raw": f"mode not reported (activePassive), primary {CUT['S']}",
            "peer_active": f"{CUT['S']}/fw-a primary (fgHaStatsMasterSerial)",
            "identity": f"{CUT['S']}/fw-a primary, FGT-B/fw-b; agent on FGT-A/fw-a",
        },
        id="long_mode_missing",
    ),
    pytest.param(
        # Four members, 16-character serials and 35-character hostnames (FortiOS's longest): the
        # identity is longer than shown, and where it is cut says so ("…"): a name cut silently
        # ("fw-datacente") would read as a whole hostname to copy into the inventory.
        ("serial", "FG200F0000000002"),
        3,
        ("FG200F0000000001", "fw-datacenter-north-cluster-node-01"),
        tuple(
            (f"FG200F000000000{i}", f"fw-datacenter-north-cluster-node-0{i}", 1, "FG200F0000000001")
            for i in range(1, 5)
        ),
        {
            "role": "standby",
            "raw": "3 (activePassive), primary FG200F0000000001",
            "peer_active": "FG200F0000000001/fw-datacenter-north-cluster-node-01 primary "
            "(fgHaStatsMasterSerial)",
            "identity": "FG200F0000000001/fw-datacenter-north-cluster-node-01 primary, "
            "FG200F0000000002/fw-datacenter-north-cluster-node-02, "
            "FG200F0000000003/fw-datacenter-north-cluster-node-03, "
            "FG200F0000000004/fw-datacente…",
        },
        id="four_members_longest_names",
    ),
]


@pytest.mark.parametrize(("named", "mode", "own", "rows", "expected"), VIEWS)
def test_member_view(
    named: tuple[str, str],
    mode: Value | None,
    own: tuple[str | None, str | None],
    rows: tuple[Row, ...],
    expected: dict[str, Any],
) -> None:
    """The whole verdict on the member, for answers a FortiGate agent can give."""
    want = dict(expected)
    want_view = MemberView(Role(want.pop("role")), **want)
    got = FortigateHaKind().interpret(_params(named), _values(mode, own, rows))
    assert got == want_view


@pytest.mark.parametrize(
    ("named", "problems"),
    [
        (
            {"serial": "FGT-A", "hostname": "fw-a"},
            [("hostname", "name the member by 'serial' or by 'hostname', not both")],
        ),
        (
            {},
            [
                (
                    "serial",
                    "name the member by 'serial' (fgHaStatsSerial) or 'hostname' "
                    "(fgHaStatsHostname), as the cluster table reports them",
                )
            ],
        ),
        ({"serial": " \t"}, [("serial", "the member's serial number must not be empty")]),
        ({"hostname": ""}, [("hostname", "the member's hostname must not be empty")]),
        ({"serial": "FGT-A"}, []),
        ({"hostname": "fw-a"}, []),
    ],
)
def test_params_problems_name_the_field_and_what_to_write(
    named: dict[str, str], problems: list[tuple[str, str]]
) -> None:
    """The inventory error points at the field (its path) and says what to write there."""
    assert FortigateHaKind().check(FortigateHaParams(**named)) == problems


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ({"serial": "FGT-A"}, {"serial": " fgt-a\n"}, True),
        ({"serial": "FGT-A"}, {"serial": "FGT-B"}, False),
        ({"hostname": "FW1"}, {"hostname": "fw1 "}, True),
        ({"hostname": "FW1"}, {"hostname": "fw2"}, False),
        ({"serial": "FW1"}, {"hostname": "FW1"}, False),
    ],
)
def test_two_members_read_one_unit_when_their_names_match_as_the_kind_matches(
    a: dict[str, str], b: dict[str, str], same: bool
) -> None:
    """The inventory refuses two members of one device with one unit key (they would read one
    row: a split-brain forever): names as the device's text is read, ignoring case; a serial
    and a hostname are different names."""
    kind = FortigateHaKind()
    assert (kind.unit_key(FortigateHaParams(**a)) == kind.unit_key(FortigateHaParams(**b))) is same


def test_the_agent_is_asked_for_the_first_four_cluster_table_rows() -> None:
    """docs/kinds.md: netmon reads rows 1-4 of fgHaStatsTable (fgHaStatsIndex starts at 1, and a
    cluster has at most four members), columns 2, 11, 12 and 16, and the agent's own unit."""
    table = (1, 3, 6, 1, 4, 1, 12356, 101, 13, 2, 1, 1)
    rows = {
        (f"{name}.{i}", (*table, column, i))
        for i in (1, 2, 3, 4)
        for name, column in (
            ("fgHaStatsSerial", 2),
            ("fgHaStatsHostname", 11),
            ("fgHaStatsSyncStatus", 12),
            ("fgHaStatsMasterSerial", 16),
        )
    }
    probes = FortigateHaKind().probes(FortigateHaParams(serial="FGT-A"))
    assert {(p.key, p.oid) for p in probes} == rows | {
        ("fgHaSystemMode", (1, 3, 6, 1, 4, 1, 12356, 101, 13, 1, 1, 0)),
        ("fnSysSerial", (1, 3, 6, 1, 4, 1, 12356, 100, 1, 1, 1, 0)),
        ("sysName", (1, 3, 6, 1, 2, 1, 1, 5, 0)),
    }
    assert len(probes) == 19
