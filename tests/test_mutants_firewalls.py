"""Tests that kill mutants of netmon's firewalls code that the other tests let live (docs/mutation.md).

The firewall and supervisor kinds (cisco-asa, paloalto-ha, cisco-rf) judged on synthetic answers:
each case states the whole view an operator sees (role, reason, raw value, identity, the peer it
hears, `missing`), so a changed word, a dropped raw value or a lost flag fails. The recorded
cases (tests/fixtures/kinds/) check the roles; these check what is shown beside them.
"""

from __future__ import annotations

from typing import Any

import pytest

from netmon.evaluate import vanished
from netmon.kinds.cisco_asa import CiscoAsaKind, CiscoAsaParams
from netmon.kinds.cisco_rf import CiscoRfKind, CiscoRfParams
from netmon.kinds.paloalto import PaloAltoHaKind, PaloAltoHaParams
from netmon.model import (
    DeviceReading,
    MemberObservation,
    MemberSpec,
    MemberView,
    Missing,
    PairSpec,
    Role,
    Value,
)
from netmon.observe import observe_member

A, S, F, U = Role.ACTIVE, Role.STANDBY, Role.FAULT, Role.UNKNOWN

# ---- cisco-asa (CISCO-FIREWALL-MIB cfwHardwareStatusTable) ----------------------------------

ASA_VALUE, ASA_DETAIL = "cfwHardwareStatusValue", "cfwHardwareStatusDetail"
ASA_OTHER_VALUE, ASA_OTHER_DETAIL = "otherStatusValue", "otherStatusDetail"
LONG_DETAIL = "Standby unit " + "x" * 200
PRIMARY_ACTIVE = "the primary unit (cfwHardwareStatusValue active)"

ASA_CASES: list[tuple[str, str, dict[str, Value], MemberView]] = [
    (
        # The agent says the row is absent: unknown and missing, whatever text the detail holds.
        "own_row_absent_beside_a_detail",
        "secondary",
        {ASA_VALUE: Missing.NO_SUCH_INSTANCE, ASA_DETAIL: "Active unit"},
        MemberView(
            U, reason="cfwHardwareStatusValue: noSuchInstance", raw="noSuchInstance", missing=True
        ),
    ),
    (
        "own_value_not_returned",
        "secondary",
        {ASA_DETAIL: "Standby unit", ASA_OTHER_VALUE: 9},
        MemberView(U, reason="cfwHardwareStatusValue: notReturned", raw="notReturned"),
    ),
    (
        "standby_without_a_detail_hears_primary_active",
        "secondary",
        {ASA_VALUE: 10, ASA_OTHER_VALUE: 9},
        MemberView(S, raw="10 (standby)", peer_active=PRIMARY_ACTIVE),
    ),
    (
        "standby_with_its_detail",
        "secondary",
        {ASA_VALUE: 10, ASA_DETAIL: " Standby unit ", ASA_OTHER_VALUE: 3},
        MemberView(S, raw="10 (standby); Standby unit", identity="secondary: Standby unit"),
    ),
    (
        "standby_with_a_long_detail",
        "secondary",
        {ASA_VALUE: 10, ASA_DETAIL: LONG_DETAIL, ASA_OTHER_VALUE: 9, ASA_OTHER_DETAIL: "Active"},
        MemberView(
            S,
            raw=f"10 (standby); {LONG_DETAIL}"[:120],
            peer_active=PRIMARY_ACTIVE,
            identity="primary: Active, secondary: " + LONG_DETAIL[:59] + "…",  # 60 characters
        ),
    ),
    (
        "primary_failover_off",
        "primary",
        {ASA_VALUE: 3, ASA_DETAIL: "Failover Off", ASA_OTHER_VALUE: 3},
        MemberView(A, raw="3 (Failover Off)", identity="primary: Failover Off"),
    ),
    (
        "secondary_failover_off",
        "secondary",
        {ASA_VALUE: 3, ASA_DETAIL: "Failover Off", ASA_OTHER_DETAIL: "Failover Off"},
        MemberView(
            F,
            reason="redundancy not configured (failover off: a standalone firewall)",
            raw="3 (Failover Off)",
            identity="primary: Failover Off, secondary: Failover Off",
        ),
    ),
    (
        "value_outside_the_table",
        "secondary",
        {ASA_VALUE: 42, ASA_DETAIL: "Active unit"},
        MemberView(
            U, reason="cfwHardwareStatusValue: unrecognised value 42", raw="42; Active unit"
        ),
    ),
    (
        "value_outside_the_table_without_a_detail",
        "primary",
        {ASA_VALUE: 42},
        MemberView(U, reason="cfwHardwareStatusValue: unrecognised value 42", raw="42"),
    ),
]


@pytest.mark.parametrize(
    ("unit", "values", "expected"), [c[1:] for c in ASA_CASES], ids=[c[0] for c in ASA_CASES]
)
def test_cisco_asa_view(unit: str, values: dict[str, Value], expected: MemberView) -> None:
    params = CiscoAsaParams(unit)  # type: ignore[arg-type]
    assert CiscoAsaKind().interpret(params, values) == expected


# ---- cisco-rf (CISCO-RF-MIB) -----------------------------------------------------------------

LOCAL_ID, LOCAL_STATE = "cRFStatusUnitId", "cRFStatusUnitState"
PEER_ID, PEER_STATE = "cRFStatusPeerUnitId", "cRFStatusPeerUnitState"
DUPLEX, OPER_MODE = "cRFStatusDuplexMode", "cRFCfgRedundancyOperMode"
SWACT, FAILOVER_AT = "cRFStatusLastSwactReasonCode", "cRFStatusFailoverTime"
HOW = "address the members as unit: local and unit: peer"
NO_IDS = f"unit ids not reported (cRFStatusUnitId/PeerUnitId); {HOW}"
IDS_1_2 = "local unit 1, peer unit 2"
LOCAL_ACTIVE = "local unit active (cRFStatusUnitState active)"
RF_PAIR: dict[str, Value] = {LOCAL_ID: 1, LOCAL_STATE: 14, PEER_ID: 2, PEER_STATE: 9}
LONG_ID = "unit-" + "9" * 40
SHOWN_ID = "'unit-" + "9" * 13 + "…"  # quoted, 20 characters


def rf(given: dict[str, Value] | None = None) -> dict[str, Value]:
    """An active local unit 1 with a standbyHot peer 2, changed by `given`."""
    return {**RF_PAIR, **(given or {})}


def rf_params(unit: Any) -> CiscoRfParams:
    """`unit` a unit id (int) or `local` / `peer`."""
    return CiscoRfParams(unit_id=unit) if isinstance(unit, int) else CiscoRfParams(unit=unit)


RF_CASES: list[tuple[str, int | str, dict[str, Value], MemberView]] = [
    (
        "unit_id_not_in_the_chassis",
        5,
        rf(),
        MemberView(
            F,
            reason="unit 5 absent: agent reports units 1 and 2",
            raw="unit 1, peer 2",
            peer_active=LOCAL_ACTIVE,
            identity=IDS_1_2,
            missing=True,
        ),
    ),
    (
        "unit_id_absent_and_the_peer_id_not_returned",
        5,
        {LOCAL_ID: 1, LOCAL_STATE: 9, PEER_STATE: 14},
        MemberView(
            F,
            reason="unit 5 absent: agent reports units 1 and not returned",
            raw="unit 1, peer not returned",
            identity="local unit 1, peer unit not reported",
            missing=True,
        ),
    ),
    (
        "unit_id_absent_and_the_peer_id_as_text",
        5,
        rf({PEER_ID: LONG_ID}),
        MemberView(
            F,
            reason=f"unit 5 absent: agent reports units 1 and {SHOWN_ID}",
            raw=f"unit 1, peer {SHOWN_ID}",
            peer_active=LOCAL_ACTIVE,
            identity="local unit 1, peer unit not reported",
            missing=True,
        ),
    ),
    (
        "unit_id_where_the_agent_numbers_no_units",
        2,
        {LOCAL_ID: Missing.NO_SUCH_OBJECT, LOCAL_STATE: 14, PEER_STATE: 9},
        MemberView(
            U,
            reason=f"cRFStatusUnitId: noSuchObject: the agent reports no unit ids; {HOW}",
            raw="noSuchObject",
            identity=NO_IDS,
            missing=True,
        ),
    ),
    (
        # Not the agent saying it has no ids: a reply netmon did not get, or junk. No advice.
        "unit_id_not_returned",
        2,
        {LOCAL_STATE: 14, PEER_STATE: 9},
        MemberView(U, reason="cRFStatusUnitId: notReturned", raw="notReturned", identity=NO_IDS),
    ),
    (
        "unit_id_as_text",
        2,
        {LOCAL_ID: "one", LOCAL_STATE: 14, PEER_STATE: 9},
        MemberView(U, reason="cRFStatusUnitId: expected an integer, got 'one'", identity=NO_IDS),
    ),
    (
        "peer_of_a_non_redundant_chassis",
        "peer",
        rf({OPER_MODE: 1, DUPLEX: 1}),
        MemberView(
            F,
            reason="redundancy not configured (cRFCfgRedundancyOperMode nonRedundant)",
            raw="oper mode 1",
            peer_active=LOCAL_ACTIVE,
            identity=IDS_1_2,
        ),
    ),
    (
        "peer_of_a_simplex_chassis",
        "peer",
        rf({OPER_MODE: 7, DUPLEX: 2}),
        MemberView(
            F,
            reason="redundancy not configured: the chassis runs simplex, no peer unit "
            "(cRFStatusDuplexMode false)",
            raw="duplex false",
            peer_active=LOCAL_ACTIVE,
            identity=IDS_1_2,
        ),
    ),
    (
        "peer_not_known_to_the_active_unit",
        "peer",
        rf({PEER_STATE: 1}),
        MemberView(
            F,
            reason="peer absent: the active unit reports its peer's state notKnown "
            "(cRFStatusPeerUnitState 1)",
            raw="1 (notKnown)",
            peer_active=LOCAL_ACTIVE,
            identity=IDS_1_2,
        ),
    ),
    # The last switchover joins the raw value: a reason code, and when (sysUpTime ticks).
    (
        "switchover_unsupported",
        "local",
        rf({SWACT: 1, FAILOVER_AT: 500}),
        MemberView(A, raw="14 (active)", identity=IDS_1_2),
    ),
    (
        "switchover_none",
        "local",
        rf({SWACT: 2, FAILOVER_AT: 500}),
        MemberView(A, raw="14 (active)", identity=IDS_1_2),
    ),
    (
        "switchover_not_known_no_time",
        "local",
        rf({SWACT: 3}),
        MemberView(A, raw="14 (active); last switchover: notKnown", identity=IDS_1_2),
    ),
    (
        "switchover_at_time_zero",
        "local",
        rf({SWACT: 6, FAILOVER_AT: 0}),
        MemberView(A, raw="14 (active); last switchover: activeUnitFailed", identity=IDS_1_2),
    ),
    (
        "switchover_at_the_first_tick",
        "local",
        rf({SWACT: 6, FAILOVER_AT: 1}),
        MemberView(
            A, raw="14 (active); last switchover: activeUnitFailed at uptime 0s", identity=IDS_1_2
        ),
    ),
    (
        "switchover_reason_from_a_later_mib",
        "local",
        rf({SWACT: 10, FAILOVER_AT: 123456}),
        MemberView(A, raw="14 (active); last switchover: 10 at uptime 1235s", identity=IDS_1_2),
    ),
    (
        "switchover_beside_an_unreadable_state",
        "local",
        rf({LOCAL_STATE: "garbage", SWACT: 6}),
        MemberView(
            U,
            reason="cRFStatusUnitState: expected an integer, got 'garbage'",
            raw="last switchover: activeUnitFailed",
            identity=IDS_1_2,
        ),
    ),
]


@pytest.mark.parametrize(
    ("unit", "values", "expected"), [c[1:] for c in RF_CASES], ids=[c[0] for c in RF_CASES]
)
def test_cisco_rf_view(unit: int | str, values: dict[str, Value], expected: MemberView) -> None:
    assert CiscoRfKind().interpret(rf_params(unit), values) == expected


def test_cisco_rf_reads_the_oper_mode_it_probes() -> None:
    """As the collector hands the answers over (by OID): a non-redundant oper mode makes the peer
    `fault` though the agent still reports a standbyHot peer row."""
    kind = CiscoRfKind()
    params = CiscoRfParams(unit="peer")
    oids: dict[tuple[int, ...], Value] = {
        (1, 3, 6, 1, 4, 1, 9, 9, 176, 1, 1, 1, 0): 1,
        (1, 3, 6, 1, 4, 1, 9, 9, 176, 1, 1, 2, 0): 14,
        (1, 3, 6, 1, 4, 1, 9, 9, 176, 1, 1, 3, 0): 2,
        (1, 3, 6, 1, 4, 1, 9, 9, 176, 1, 1, 4, 0): 9,
        (1, 3, 6, 1, 4, 1, 9, 9, 176, 1, 2, 16, 0): 1,  # cRFCfgRedundancyOperMode nonRedundant
    }
    pair = PairSpec("p", kind.name, (MemberSpec("m", "d", params),))
    values: dict[Any, Value] = {
        p.ident: oids.get(p.oid, Missing.NO_SUCH_INSTANCE) for p in kind.probes(params)
    }
    reading = DeviceReading("d", kind.transport, at=1.0, ok=True, values=values)
    obs = observe_member(pair, pair.members[0], {("d", kind.transport): reading})
    assert (obs.view.role, obs.view.reason) == (
        F,
        "redundancy not configured (cRFCfgRedundancyOperMode nonRedundant)",
    )


RF_PROBLEMS: list[tuple[dict[str, Any], list[tuple[str, str]]]] = [
    ({"unit": "local"}, []),
    ({"unit_id": 1}, []),
    (
        {"unit": "peer", "unit_id": 2},
        [("unit", "give either 'unit' (local or peer) or 'unit_id', not both")],
    ),
    (
        {},
        [
            (
                "unit",
                "name the member's unit: 'unit: local' (the unit the agent runs on) or "
                "'unit: peer' (its redundant peer), or 'unit_id: N' where the agent reports "
                "unit ids (`netmon discover` shows them)",
            )
        ],
    ),
    ({"unit_id": 0}, [("unit_id", "unit id must be 1 or more, got 0")]),
]


@pytest.mark.parametrize(("given", "problems"), RF_PROBLEMS)
def test_cisco_rf_params_problems(given: dict[str, Any], problems: list[tuple[str, str]]) -> None:
    """What `netmon check` tells an operator about a member's params: the field and the fix."""
    assert CiscoRfKind().check(CiscoRfParams(**given)) == problems


# ---- paloalto-ha (PAN-COMMON-MIB panSysHA*) ----------------------------------------------------

STATE, PEER, MODE = "panSysHAState", "panSysHAPeerState", "panSysHAMode"
LONG = "z" * 100

PAN_CASES: list[tuple[str, str, dict[str, Value], MemberView]] = [
    (
        # A reply netmon did not get: blindness, not the agent saying the object is absent.
        "mode_not_returned",
        "local",
        {STATE: "active", PEER: "passive"},
        MemberView(U, reason="panSysHAMode: notReturned", raw="notReturned"),
    ),
    (
        "mode_no_such_object",
        "local",
        {STATE: "active", MODE: Missing.NO_SUCH_OBJECT},
        MemberView(U, reason="panSysHAMode: noSuchObject", raw="noSuchObject", missing=True),
    ),
    (
        "state_no_such_instance",
        "peer",
        {STATE: "active", MODE: "active-passive", PEER: Missing.NO_SUCH_INSTANCE},
        MemberView(
            U, reason="panSysHAPeerState: noSuchInstance", raw="noSuchInstance", missing=True
        ),
    ),
    (
        "state_not_returned",
        "local",
        {MODE: "active-passive", PEER: "active"},
        MemberView(U, reason="panSysHAState: notReturned", raw="notReturned"),
    ),
    (
        "mode_as_a_number",
        "local",
        {STATE: "active", MODE: 7},
        MemberView(U, reason="panSysHAMode: expected text, got 7"),
    ),
    (
        "mode_unrecognised_and_long",
        "local",
        {STATE: "active", MODE: LONG},
        MemberView(U, reason=f"panSysHAMode: unrecognised {LONG!r}"[:80]),
    ),
    (
        "local_standalone",
        "local",
        {STATE: "active", MODE: "Disabled"},
        MemberView(A, raw="mode disabled (standalone)", identity="local active (disabled)"),
    ),
    (
        "peer_of_a_standalone",
        "peer",
        {STATE: "active", MODE: "disabled", PEER: "unknown"},
        MemberView(
            F,
            reason="redundancy not configured (panSysHAMode disabled: a standalone firewall)",
            raw="mode disabled",
            identity="local active, peer unknown (disabled)",
        ),
    ),
    (
        "peer_not_heard",
        "peer",
        {STATE: "active", MODE: "active-passive", PEER: "unknown"},
        MemberView(
            F,
            reason="peer absent: panSysHAPeerState unknown (HA1 link down or peer gone)",
            raw="unknown (active-passive)",
            peer_active="the local firewall (panSysHAState active)",
            identity="local active, peer unknown (active-passive)",
        ),
    ),
    (
        "state_unrecognised_and_long",
        "local",
        {STATE: LONG.upper(), MODE: "active-passive"},
        MemberView(U, reason=f"panSysHAState: unrecognised {LONG!r}"[:80], raw=LONG),
    ),
    (
        "local_active",
        "local",
        {STATE: "Active ", MODE: "active-passive", PEER: "passive"},
        MemberView(
            A, raw="active (active-passive)", identity="local active, peer passive (active-passive)"
        ),
    ),
    (
        "peer_passive",
        "peer",
        {STATE: "active", MODE: "active-passive", PEER: "passive"},
        MemberView(
            S,
            raw="passive (active-passive)",
            peer_active="the local firewall (panSysHAState active)",
            identity="local active, peer passive (active-passive)",
        ),
    ),
]


@pytest.mark.parametrize(
    ("unit", "values", "expected"), [c[1:] for c in PAN_CASES], ids=[c[0] for c in PAN_CASES]
)
def test_paloalto_view(unit: str, values: dict[str, Value], expected: MemberView) -> None:
    params = PaloAltoHaParams(unit)  # type: ignore[arg-type]
    assert PaloAltoHaKind().interpret(params, values) == expected


def test_paloalto_state_not_returned_is_no_vanished_row() -> None:
    """A passive firewall (its own agent) whose state reply is lost once stays `unknown`: only
    the agent saying the object is absent (noSuchInstance) turns a row read before into a fault."""
    kind, params = PaloAltoHaKind(), PaloAltoHaParams("local")
    read = kind.interpret(params, {STATE: "passive", MODE: "active-passive", PEER: "active"})
    before = vanished(MemberObservation("a", "fw1", read, at=1.0), None, own_agent=True)
    for lost, role in ((Missing.NOT_RETURNED, U), (Missing.NO_SUCH_INSTANCE, F)):
        view = kind.interpret(params, {STATE: lost, MODE: "active-passive"})
        now = vanished(MemberObservation("a", "fw1", view, at=2.0), before, own_agent=True)
        assert now.view.role is role, (lost, now.view)
