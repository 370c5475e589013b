"""Drill pre-checks and the journal: pure logic and SQLite, no devices."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from netmon.drills.actuators import ACTUATORS, PriorityParams, actuator
from netmon.drills.checks import in_freeze, prechecks
from netmon.drills.journal import Journal
from netmon.kinds.keepalived import KeepalivedParams
from netmon.model import (
    DrillSpec,
    MemberObservation,
    MemberSpec,
    MemberView,
    Mode,
    PairSpec,
    PairState,
    PairStatus,
    Role,
)

T0 = 1_700_000_000.0  # 22:13 UTC


def pair(**drill: object) -> PairSpec:
    spec = DrillSpec("keepalived-priority", PriorityParams(), **drill)  # type: ignore[arg-type]
    members = (
        MemberSpec("r1", "r1", KeepalivedParams(1)),
        MemberSpec("r2", "r2", KeepalivedParams(1)),
    )
    return PairSpec("p", "keepalived", members, preferred="r1", drill=spec)


def status(
    r2: Role = Role.STANDBY, ready: bool = True, state: PairState = PairState.HEALTHY
) -> PairStatus:
    members = (
        MemberObservation("r1", "r1", MemberView(Role.ACTIVE), T0),
        MemberObservation("r2", "r2", MemberView(r2, ready=ready), T0),
    )
    return PairStatus("p", "keepalived", Mode.ACTIVE_STANDBY, state, (), members, ("r1",), T0, T0)


def failed(checks: list) -> list[str]:  # type: ignore[type-arg]
    return [c.name for c in checks if not c.ok]


def test_a_healthy_pair_passes_every_check() -> None:
    checks = prechecks(pair(), status(), None, other_drill=None, last_failover_at=None, now=T0)
    assert failed(checks) == []
    assert {c.name for c in checks} >= {
        "pair healthy",
        "standby ready",
        "no other drill on this pair",
    }


def test_standby_not_ready_or_down_is_refused() -> None:
    down = prechecks(pair(), status(Role.UNREACHABLE, state=PairState.DEGRADED), None,
                     other_drill=None, last_failover_at=None, now=T0)  # fmt: skip
    assert failed(down) == ["pair healthy", "standby ready"]
    cold = prechecks(
        pair(),
        status(Role.STANDBY, ready=False),
        None,
        other_drill=None,
        last_failover_at=None,
        now=T0,
    )
    assert failed(cold) == ["standby ready"]


def test_recent_failover_and_other_drill_are_refused() -> None:
    checks = prechecks(pair(min_since_failover=600), status(), None, other_drill="drill 4 is still running",
                       last_failover_at=T0 - 60, now=T0)  # fmt: skip
    assert failed(checks) == ["no other drill on this pair", "no failover in the last 600s"]


def test_freeze_windows_including_across_midnight() -> None:
    minute = int(T0 // 60) % 1440
    assert in_freeze(((minute - 5, minute + 5),), T0) is not None
    assert in_freeze(((minute + 5, minute + 10),), T0) is None
    assert in_freeze(((22 * 60, 6 * 60),), T0) is not None  # 22:00-06:00 holds 22:13
    checks = prechecks(pair(freeze=((22 * 60, 6 * 60),)), status(), None, other_drill=None,
                       last_failover_at=None, now=T0)  # fmt: skip
    assert failed(checks) == ["outside freeze windows"]


def test_pair_without_drill_block_is_refused() -> None:
    plain = PairSpec("p", "keepalived", pair().members)
    assert "drill configured" in failed(
        prechecks(plain, status(), None, other_drill=None, last_failover_at=None)
    )


def test_units_named_local_and_peer_of_one_agent_are_refused() -> None:
    """`local` follows the agent, which moves with the active unit: after a switchover `local`
    is active again, so a drill could never see the takeover by name (it would abort and switch
    the chassis back). Units named by unit_id, or each on its own device, are fine."""
    from netmon.kinds.cisco_rf import CiscoRfParams
    from netmon.kinds.paloalto import PaloAltoHaParams

    drill = DrillSpec("cisco-rf-switch", PriorityParams())
    shared = PairSpec(
        "p", "cisco-rf",
        (MemberSpec("sup-a", "chassis", CiscoRfParams(unit="local")),
         MemberSpec("sup-b", "chassis", CiscoRfParams(unit="peer"))),
        drill=drill,
    )  # fmt: skip
    checks = prechecks(shared, status(), None, other_drill=None, last_failover_at=None, now=T0)
    assert failed(checks) == ["members keep their names across a takeover"]
    by_id = PairSpec(
        "p", "cisco-rf",
        (MemberSpec("sup-a", "chassis", CiscoRfParams(unit_id=1)),
         MemberSpec("sup-b", "chassis", CiscoRfParams(unit_id=2))),
        drill=drill,
    )  # fmt: skip
    assert (
        failed(prechecks(by_id, status(), None, other_drill=None, last_failover_at=None, now=T0))
        == []
    )
    own = PairSpec(
        "p", "paloalto-ha",
        (MemberSpec("fw-a", "fw-a", PaloAltoHaParams("local")),
         MemberSpec("fw-b", "fw-b", PaloAltoHaParams("local"))),
        drill=drill,
    )  # fmt: skip
    assert (
        failed(prechecks(own, status(), None, other_drill=None, last_failover_at=None, now=T0))
        == []
    )


def test_actuator_table_lists_choices() -> None:
    assert set(ACTUATORS) == {
        "keepalived-priority",
        "vrrp-priority",
        "cisco-rf-switch",
        "ssh-commands",
    }
    with pytest.raises(LookupError, match="choose one of: keepalived-priority"):
        actuator("reboot")
    p = pair()
    demote = actuator("keepalived-priority").demote(PriorityParams(demote_to=5), p, p.members[0])
    assert demote[0].describe() == "r1: SNMP SET 1.3.6.1.4.1.9586.100.5.2.3.1.7.1 = INTEGER 5"


def test_journal_is_append_only_and_finds_interrupted_drills(tmp_path: Path) -> None:
    path = tmp_path / "drills.sqlite"
    journal = Journal(path)
    drill = journal.start("p", "r1", "r2")
    journal.set_restore(
        drill, [{"device": "r1", "oid": [1, 3, 6, 1], "value": 150, "commands": []}]
    )
    seq = journal.step(drill, "act", "r1: SNMP SET ... = 1")
    assert [d.id for d in journal.unfinished()] == [drill]
    journal.mark(drill, seq, "done")
    assert journal.steps(drill)[0][4] == "done"
    db = sqlite3.connect(path)
    with pytest.raises(sqlite3.DatabaseError, match="cannot be edited"):
        db.execute("UPDATE steps SET text = 'nothing happened' WHERE drill_id = ?", (drill,))
    with pytest.raises(sqlite3.DatabaseError, match="cannot be deleted"):
        db.execute("DELETE FROM steps")
    db.close()
    journal.finish(drill, "passed", {"result": "passed"})
    assert journal.unfinished() == []
    assert journal.drill(drill).result == "passed"  # type: ignore[union-attr]
    assert journal.db_mode() == "wal"
    stuck = journal.start("p", "r1", "r2")
    journal.finish(stuck, "needs_attention", {})
    assert journal.blocked("p") is not None
    journal.resolve(stuck, "priority checked by hand")
    assert journal.blocked("p") is None
    assert journal.steps(stuck)[-1][3] == "resolved by hand: priority checked by hand"
    journal.close()
