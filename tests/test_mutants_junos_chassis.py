"""Tests that kill mutants of netmon's junos-chassis code that the other tests let live (docs/mutation.md).

What a junos-re, entity-standby or arista-redundancy member is made of by an agent serving given
values: the role and, exactly, the reason, raw value, identity and peer an operator reads; and
what the inventory is told of wrong params (the field and the message). Inputs are synthetic,
written from the MIBs: JUNIPER-MIB jnxRedundancyTable (1.3.6.1.4.1.2636.3.1.14.1), ENTITY-STATE-MIB
(RFC 4268, 1.3.6.1.2.1.131.1.1.1), ENTITY-MIB entPhysicalName and ARISTA-REDUNDANCY-MIB
(1.3.6.1.4.1.30065.3.8.0.0). The recorded cases are tests/fixtures/kinds/<kind>/.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from netmon.kinds.chassis import (
    AristaRedundancyKind,
    AristaRedundancyParams,
    EntityStandbyKind,
    EntityStandbyParams,
)
from netmon.kinds.junos_re import JunosReKind, JunosReParams
from netmon.model import MemberView, Missing, Role, Value

Oid = tuple[int, ...]
NSI = Missing.NO_SUCH_INSTANCE
NSO = Missing.NO_SUCH_OBJECT


def read(
    kind: Any, params: object, agent: Mapping[Oid, Value], *, unlisted_nsi: bool = True
) -> MemberView:
    """The member's view when the agent serves `agent`. An OID it does not list answers
    noSuchInstance (as snmpsim answers it) or, with `unlisted_nsi=False`, is not returned at
    all (the reading lacks it: observe hands the kind no value for it)."""
    probes = kind.probes(params)
    values = {p.key: agent.get(p.oid, NSI) for p in probes if unlisted_nsi or p.oid in agent}
    view: MemberView = kind.interpret(params, values)
    return view


# --- entity-standby: ENTITY-STATE-MIB entStateStandby (.6), entStateOper (.3); entPhysicalName --

ENT = (1, 3, 6, 1, 2, 1, 131, 1, 1, 1)
NAME = (1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1, 7)


def entity(
    standby: Value | None, oper: Value | None, name: Value | None = None
) -> dict[Oid, Value]:
    """What the agent serves for entPhysicalIndex 22 (None: the reading lacks the value)."""
    served = {(*ENT, 6, 22): standby, (*ENT, 3, 22): oper, (*NAME, 22): name}
    return {oid: v for oid, v in served.items() if v is not None}


@pytest.mark.parametrize(
    ("agent", "expected"),
    [
        # No row for the entity: a fault marked missing, the raw answer shown.
        (
            entity(NSI, NSI, NSI),
            MemberView(
                Role.FAULT,
                reason="peer absent or redundancy not configured: the agent has no entity 22",
                raw="noSuchInstance",
                missing=True,
                identity="entPhysicalIndex 22",
            ),
        ),
        # Disabled: a fault whatever its standby state, which is shown as the agent sent it.
        (
            entity(4, 2),
            MemberView(
                Role.FAULT,
                reason="entStateOper disabled",
                raw="4, oper 2",
                identity="entPhysicalIndex 22",
            ),
        ),
        (
            entity(None, 2),
            MemberView(
                Role.FAULT,
                reason="entStateOper disabled",
                raw="not returned, oper 2",
                identity="entPhysicalIndex 22",
            ),
        ),
        # A string where an integer belongs: quoted, cut to 20 characters and an ellipsis.
        (
            entity("x" * 30, 2),
            MemberView(
                Role.FAULT,
                reason="entStateOper disabled",
                raw="'" + "x" * 20 + "…, oper 2",
                identity="entPhysicalIndex 22",
            ),
        ),
        (
            entity(99, 3),
            MemberView(
                Role.UNKNOWN,
                reason="entStateStandby: unrecognised value 99",
                raw="99",
                identity="entPhysicalIndex 22",
            ),
        ),
        # The name the device gives the entity: quoted, at most 60 characters of it.
        (
            entity(2, 3, "  Supervisor(slot 2) "),
            MemberView(
                Role.STANDBY,
                raw="2 (hotStandby)",
                identity="entPhysicalIndex 22 'Supervisor(slot 2)'",
            ),
        ),
        (
            entity(2, 3, "N" * 70),
            MemberView(
                Role.STANDBY,
                raw="2 (hotStandby)",
                identity="entPhysicalIndex 22 '" + "N" * 60 + "…",
            ),
        ),
        (
            entity(4, 3, "   "),
            MemberView(Role.ACTIVE, raw="4 (providingService)", identity="entPhysicalIndex 22"),
        ),
    ],
)
def test_entity_standby_member_as_an_operator_reads_it(
    agent: dict[Oid, Value], expected: MemberView
) -> None:
    assert read(EntityStandbyKind(), EntityStandbyParams(22), agent, unlisted_nsi=False) == expected


def test_entity_standby_index_is_checked_by_name() -> None:
    kind = EntityStandbyKind()
    assert kind.check(EntityStandbyParams(0)) == [
        ("physical_index", "entPhysicalIndex must be 1 or more, got 0")
    ]
    assert kind.check(EntityStandbyParams(1)) == []


# --- arista-redundancy: ARISTA-REDUNDANCY-MIB -----------------------------------------------

ARISTA = (1, 3, 6, 1, 4, 1, 30065, 3, 8, 0, 0)
PROTOCOL = (*ARISTA, 2, 0)  # aristaRedundancyProtocolOper
UNIT = (*ARISTA, 3, 1, 2)  # aristaRedundancyUnitState.<unit id>
LAST = (*ARISTA, 4, 0)  # aristaRedundancyLastSwOverReason


def arista(
    unit2: Value, protocol: Value, last: Value | None = None, unit1: Value = NSI
) -> dict[Oid, Value]:
    served = {(*UNIT, 2): unit2, (*UNIT, 1): unit1, PROTOCOL: protocol, LAST: last}
    return {oid: v for oid, v in served.items() if v is not None}


@pytest.mark.parametrize(
    ("agent", "expected"),
    [
        # No row for unit 2 and the simplex protocol: not configured, a value (not missing).
        (
            arista(NSI, 1, unit1=2),
            MemberView(
                Role.FAULT,
                reason="redundancy not configured (aristaRedundancyProtocolOper simplex)",
                raw="simplex",
                peer_active="unit 1 active (aristaRedundancyUnitState)",
                identity="unit 1 active",
            ),
        ),
        (
            arista(NSI, 3),
            MemberView(
                Role.FAULT,
                reason="peer absent or redundancy not configured: the agent has no supervisor unit 2",
                raw="noSuchInstance",
                missing=True,
            ),
        ),
        (
            arista(9, 3),
            MemberView(
                Role.UNKNOWN, reason="aristaRedundancyUnitState: unrecognised value 9", raw="9"
            ),
        ),
        # rpr: a standby that would not take over statefully.
        (
            arista(1, 2, unit1=2),
            MemberView(
                Role.STANDBY,
                reason="rpr: the standby would restart forwarding, not take over statefully",
                raw="1 (standby)",
                ready=False,
                peer_active="unit 1 active (aristaRedundancyUnitState)",
                identity="unit 1 active, unit 2 standby",
            ),
        ),
        # The last switchover as the agent says it, with the protocol in operation.
        (
            arista(1, 3, "Supervisor 1 reloaded", unit1=2),
            MemberView(
                Role.STANDBY,
                raw="1 (standby); protocol sso; last switchover: Supervisor 1 reloaded",
                peer_active="unit 1 active (aristaRedundancyUnitState)",
                identity="unit 1 active, unit 2 standby",
            ),
        ),
        (
            arista(2, 7, "forced"),
            MemberView(
                Role.ACTIVE,
                raw="2 (active); protocol ?; last switchover: forced",
                identity="unit 2 active",
            ),
        ),
        (
            arista(2, NSI, "forced"),
            MemberView(
                Role.ACTIVE,
                raw="2 (active); protocol ?; last switchover: forced",
                identity="unit 2 active",
            ),
        ),
        (
            arista(2, 3, "  "),
            MemberView(Role.ACTIVE, raw="2 (active)", identity="unit 2 active"),
        ),
    ],
)
def test_arista_supervisor_as_an_operator_reads_it(
    agent: dict[Oid, Value], expected: MemberView
) -> None:
    assert read(AristaRedundancyKind(), AristaRedundancyParams(2), agent) == expected


def test_arista_unit_id_is_checked_by_name_and_zero_is_a_unit() -> None:
    # aristaRedundancyUnitId is an Unsigned32: 0 is a unit id an agent may report.
    kind = AristaRedundancyKind()
    assert kind.check(AristaRedundancyParams(-1)) == [
        ("unit_id", "unit id must be 0 or more, got -1")
    ]
    assert kind.check(AristaRedundancyParams(0)) == []


# --- junos-re: JUNIPER-MIB jnxRedundancyTable, contents index 9 ------------------------------

JNX = (1, 3, 6, 1, 4, 1, 2636, 3, 1, 14, 1)
DESCR, CONFIG, STATE, COUNT, TIME, REASON = 5, 6, 7, 8, 9, 10
MASTER, BACKUP, DISABLED = 2, 3, 4
NEVER, USER, AUTO = 2, 3, 4  # jnxRedundancySwitchoverReason


def jnx(rows: Mapping[int, Mapping[int, Value]]) -> dict[Oid, Value]:
    """The agent's jnxRedundancyTable: {L1 index: {column: value}} under contents index 9."""
    return {(*JNX, col, 9, slot, 0, 0): v for slot, cols in rows.items() for col, v in cols.items()}


def re_row(
    descr: Value, state: Value, config: Value = 3, count: Value = 0, at: Value = 0, why: Value = 2
) -> dict[int, Value]:
    return {DESCR: descr, STATE: state, CONFIG: config, COUNT: count, TIME: at, REASON: why}


RE0_MASTER = re_row("Routing Engine 0", MASTER, config=MASTER)
RE0_ROW = "9.1.0.0 'Routing Engine 0'"
RE1_ROW = "9.2.0.0 'Routing Engine 1'"
HEARD_RE0 = f"{RE0_ROW} master (jnxRedundancyState)"


def ident(re1: str, re0: str = "master") -> str:
    return f"{RE0_ROW} {re0}, {RE1_ROW} {re1}"


@pytest.mark.parametrize(
    ("re0", "re1", "expected"),
    [
        (
            RE0_MASTER,
            re_row("Routing Engine 1", BACKUP),
            MemberView(
                Role.STANDBY,
                raw=f"{RE1_ROW}: 3 (backup)",
                peer_active=HEARD_RE0,
                identity=ident("backup"),
            ),
        ),
        (
            RE0_MASTER,
            re_row("Routing Engine 1", BACKUP, config=DISABLED),
            MemberView(
                Role.STANDBY,
                reason="redundancy disabled in its configuration (jnxRedundancyConfig disabled)",
                raw=f"{RE1_ROW}: 3 (backup)",
                ready=False,
                peer_active=HEARD_RE0,
                identity=ident("backup"),
            ),
        ),
        # The switchovers it went through: how many, the last one's reason, when (in seconds).
        (
            re_row("Routing Engine 0", BACKUP),
            re_row("Routing Engine 1", MASTER, config=BACKUP, count=3, at=123456, why=AUTO),
            MemberView(
                Role.ACTIVE,
                raw=f"{RE1_ROW}: 2 (master); 3 switchovers, last autoSwitched at uptime 1235s",
                identity=ident("master", "backup"),
            ),
        ),
        (
            RE0_MASTER,
            re_row("Routing Engine 1", BACKUP, count=1, at=1, why=USER),
            MemberView(
                Role.STANDBY,
                raw=f"{RE1_ROW}: 3 (backup); 1 switchover, last userSwitched at uptime 0s",
                peer_active=HEARD_RE0,
                identity=ident("backup"),
            ),
        ),
        (
            RE0_MASTER,
            re_row("Routing Engine 1", BACKUP, count=2, at=0, why=9),
            MemberView(
                Role.STANDBY,
                raw=f"{RE1_ROW}: 3 (backup); 2 switchovers, last 9",
                peer_active=HEARD_RE0,
                identity=ident("backup"),
            ),
        ),
        # A state outside the MIB's table, or not an integer: unknown, saying what came.
        (
            RE0_MASTER,
            re_row("Routing Engine 1", 7),
            MemberView(
                Role.UNKNOWN,
                reason="jnxRedundancyState: unrecognised value 7",
                raw=f"{RE1_ROW}: 7",
                identity=ident("state 7"),
            ),
        ),
        (
            RE0_MASTER,
            re_row("Routing Engine 1", "up and running"),
            MemberView(
                Role.UNKNOWN,
                reason="jnxRedundancyState: expected an integer, got 'up and running'",
                raw=RE1_ROW,
                identity=ident("state 'up and running'"),
            ),
        ),
        (
            RE0_MASTER,
            re_row("Routing Engine 1", NSI),
            MemberView(
                Role.UNKNOWN,
                reason="jnxRedundancyState: noSuchInstance",
                raw=f"{RE1_ROW}: noSuchInstance",
                missing=True,
                identity=ident("state noSuchInstance"),
            ),
        ),
        # The other routing engine disabled: a standby hears no master.
        (
            re_row("Routing Engine 0", DISABLED),
            re_row("Routing Engine 1", BACKUP),
            MemberView(
                Role.STANDBY, raw=f"{RE1_ROW}: 3 (backup)", identity=ident("backup", "disabled")
            ),
        ),
    ],
)
def test_junos_routing_engine_as_an_operator_reads_it(
    re0: dict[int, Value], re1: dict[int, Value], expected: MemberView
) -> None:
    assert read(JunosReKind(), JunosReParams(re=1), jnx({1: re0, 2: re1})) == expected


@pytest.mark.parametrize(
    ("state", "shown"),
    [
        (MASTER, "master"),
        (7, "state 7"),
        ("abcdefghijklmnopqrstuvwxyz", "state 'abcdefghijklmnopqrs"),
        (NSI, "state noSuchInstance"),
        (None, "state not returned"),
    ],
)
def test_junos_identity_shows_each_row_state(state: Value | None, shown: str) -> None:
    """`netmon check` lists the rows the device reports, each with its state as it came."""
    rows = jnx({1: RE0_MASTER, 2: re_row("Routing Engine 1", BACKUP)})
    if state is None:
        del rows[(*JNX, STATE, 9, 1, 0, 0)]
    else:
        rows[(*JNX, STATE, 9, 1, 0, 0)] = state
    view = read(JunosReKind(), JunosReParams(re=1), rows, unlisted_nsi=False)
    assert view.identity == f"{RE0_ROW} {shown}, {RE1_ROW} backup"


NO_ROW = "jnxRedundancyTable: no routing engine row answered under contents index 9"


@pytest.mark.parametrize(
    ("column_answer", "unlisted_nsi", "expected"),
    [
        # The agent knows the table and lists no routing engine in it.
        (
            {},
            True,
            MemberView(
                Role.UNKNOWN,
                reason=f"{NO_ROW} (noSuchInstance)",
                raw="noSuchInstance",
                missing=True,
                identity="no routing engine rows reported",
            ),
        ),
        # Not a Juniper: the MIB is absent.
        (
            dict.fromkeys((DESCR, CONFIG, STATE, COUNT, TIME, REASON), NSO),
            True,
            MemberView(
                Role.UNKNOWN, reason=f"{NO_ROW} (noSuchObject)", raw="noSuchObject", missing=True
            ),
        ),
        (
            {DESCR: NSO},
            True,
            MemberView(
                Role.UNKNOWN,
                reason=f"{NO_ROW} (noSuchInstance, noSuchObject)",
                raw="noSuchInstance, noSuchObject",
                missing=True,
                identity="no routing engine rows reported",
            ),
        ),
        # Nothing returned at all.
        (
            {},
            False,
            MemberView(
                Role.UNKNOWN, reason=f"{NO_ROW} (not returned)", raw="not returned", missing=True
            ),
        ),
    ],
)
def test_junos_no_routing_engine_row_is_unknown(
    column_answer: dict[int, Value], unlisted_nsi: bool, expected: MemberView
) -> None:
    agent = jnx(dict.fromkeys(range(1, 11), column_answer))
    assert read(JunosReKind(), JunosReParams(re=1), agent, unlisted_nsi=unlisted_nsi) == expected


def test_junos_routing_engine_not_among_the_rows_lists_them() -> None:
    agent = jnx({1: RE0_MASTER, 3: re_row("FPC3 RE", BACKUP)})
    view = read(JunosReKind(), JunosReParams(re=1), agent)
    rows = f"{RE0_ROW} master, 9.3.0.0 'FPC3 RE' backup"
    assert view == MemberView(
        Role.FAULT,
        reason=f"peer absent: no row described 'Routing Engine 1'; rows: {rows}",
        missing=True,
        peer_active=HEARD_RE0,
        identity=rows,
    )


def test_junos_rows_without_descriptions_ask_for_a_slot() -> None:
    agent = jnx({1: {STATE: MASTER}, 2: {STATE: BACKUP}})
    view = read(JunosReKind(), JunosReParams(re=1), agent)
    assert view == MemberView(
        Role.UNKNOWN,
        reason="jnxRedundancyDescr not returned: no row can be matched to 'Routing Engine 1'; "
        "name the routing engine by slot; rows: 9.1.0.0 master, 9.2.0.0 backup",
        raw="no descriptions",
        missing=True,
        identity="9.1.0.0 master, 9.2.0.0 backup",
    )


@pytest.mark.parametrize("slot", [3, 12])
def test_junos_member_named_by_slot_inside_or_beyond_the_vc_range(slot: int) -> None:
    """A slot among the ten VC members or beyond them is read once, and found."""
    agent = jnx({1: RE0_MASTER, slot: re_row("Routing Engine 1", BACKUP)})
    view = read(JunosReKind(), JunosReParams(slot=slot), agent)
    row = f"9.{slot}.0.0 'Routing Engine 1'"
    assert view == MemberView(
        Role.STANDBY,
        raw=f"{row}: 3 (backup)",
        peer_active=HEARD_RE0,
        identity=f"{RE0_ROW} master, {row} backup",
    )


NAME_IT = (
    "name the routing engine by exactly one of 're: N' (the row described 'Routing Engine N'), "
    "'descr: \"...\"' (its jnxRedundancyDescr) or 'slot: N' (its jnxRedundancyL1Index)"
)


@pytest.mark.parametrize(
    ("params", "problems"),
    [
        ({}, [("re", NAME_IT)]),
        ({"re": 1, "slot": 2}, [("slot", f"{NAME_IT}; got re and slot")]),
        ({"re": 2}, [("re", "routing engine must be 0..1, got 2")]),
        ({"descr": " "}, [("descr", "the routing engine's description must not be empty")]),
        ({"slot": -1}, [("slot", "slot (jnxRedundancyL1Index) must be 0 or more, got -1")]),
        (
            {"re": 1, "contents_index": 0},
            [("contents_index", "contents index must be 1 or more, got 0")],
        ),
        # jnxRedundancyContentsIndex is Integer32 (1..2147483647): 1 is a contents index.
        ({"re": 1, "contents_index": 1}, []),
        ({"slot": 0}, []),
    ],
)
def test_junos_params_problems_name_the_field(
    params: dict[str, Any], problems: list[tuple[str, str]]
) -> None:
    assert JunosReKind().check(JunosReParams(**params)) == problems


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ({"re": 1}, {"descr": "routing  ENGINE 1\x00"}, True),
        ({"re": 0}, {"re": 1}, False),
        ({"descr": "Routing Engine 0"}, {"descr": "FPC3 RE"}, False),
        ({"descr": "FPC3 RE"}, {"descr": "fpc3 re"}, True),
        ({"slot": 1}, {"slot": 2}, False),
        ({"slot": 1}, {"slot": 1}, True),
        ({"re": 1}, {"re": 1, "contents_index": 8}, False),
    ],
)
def test_junos_members_reading_the_same_routing_engine(
    a: dict[str, Any], b: dict[str, Any], same: bool
) -> None:
    """The inventory refuses two members of one device naming the same routing engine: what
    names it is the row as the kind matches it (a description as discover writes it)."""
    kind = JunosReKind()
    assert (kind.unit_key(JunosReParams(**a)) == kind.unit_key(JunosReParams(**b))) is same
