"""The demo and the daemon as a user runs them: processes, HTTP, signals, secrets."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from netmon.collectors.snmp import SnmpCollector
from netmon.drills.journal import Journal
from netmon.kinds.keepalived import BASE_PRIORITY
from netmon.model import Device, Secret, SnmpSettings, SnmpV2c

from .conftest import REPO, free_tcp_port, stop_process
from .helpers import (
    Demo,
    get,
    require_demo_ports_free,
    sample,
    start_demo,
    states,
    stop_demo_agents,
    table_rows,
    wait_for,
)

pytestmark = pytest.mark.daemon

SECRET = "dem0-S3cret-Community-7f3a"
NETMON = [sys.executable, "-m", "netmon"]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    # HOME in the test's folder: the demo community file (~/.local/state/netmon) stays there.
    home = tmp_path / "home"
    home.mkdir()
    return {
        **os.environ,
        "NETMON_DEMO_COMMUNITY": SECRET,
        "PYTHONUNBUFFERED": "1",
        # Tables printed wide: tests read them row by row (helpers.table_rows), and a pair name
        # folded over two lines would read as two rows.
        "COLUMNS": "200",
        "HOME": str(home),
    }


@pytest.fixture
def demo(
    tmp_path: Path, env: dict[str, str]
) -> Iterator[tuple[str, subprocess.Popen[bytes], Path]]:
    # `netmon demo` as an operator runs it, on the demo's own ports: a clear failure if a
    # `make run` holds them, never a verdict on another demo's agents.
    require_demo_ports_free()
    listen = f"127.0.0.1:{free_tcp_port()}"
    log = tmp_path / "demo.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [*NETMON, "demo", "--listen", listen], env=env, stdout=sink, stderr=sink
        )
    try:
        yield listen, proc, log
    finally:
        stop_process(proc)


EXPECTED = {
    "core-gw": "healthy",
    "dc-edge": "degraded",
    "campus-fw": "split_brain",
    "branch-gw": "healthy",
    "wan-hsrp": "healthy",
    "isp-uplinks": "degraded",
}


def test_demo_shows_the_four_states_and_keeps_its_secret(
    demo: tuple[str, subprocess.Popen[bytes], Path], env: dict[str, str]
) -> None:
    listen, proc, log = demo
    wait_for(lambda: states(listen) == EXPECTED, 60, f"demo states {EXPECTED}")
    # branch-gw failed over to its non-preferred member a few seconds in, for real.
    wait_for(
        lambda: sample(listen, "netmon_pair_on_preferred", pair="branch-gw") == 0.0,
        30, "branch-gw on the non-preferred member",
    )  # fmt: skip
    assert sample(listen, "netmon_pair_failovers_total", pair="branch-gw") == 1.0
    assert (
        sample(listen, "netmon_member_role", pair="dc-edge", member="dc-r2", role="unreachable")
        == 1.0
    )
    assert sample(listen, "netmon_pair_active_members", pair="campus-fw") == 2.0
    # The lossy carrier: its error ratio is exported, and it is why the uplinks are degraded.
    ratio = sample(
        listen, "netmon_interface_error_ratio", device="wan-r2", interface="eth1", direction="in"
    )
    assert ratio is not None
    assert 0.03 < ratio < 0.07
    assert sample(listen, "netmon_interface_up", device="wan-r2", interface="eth1") == 1.0
    # The scheduler keeps up: polls start on time and none is skipped.
    assert (sample(listen, "netmon_poll_lag_seconds_count") or 0) > 10
    assert sample(listen, "netmon_polls_missed_total") == 0.0

    pairs = json.loads(get(f"http://{listen}/api/v1/pairs"))
    by_name = {p["pair"]: p for p in pairs["pairs"]}
    assert by_name["dc-edge"]["reasons"] == ["dc-r2: unreachable (timeout)"]
    assert by_name["branch-gw"]["active_members"] == ["branch-r2"]
    assert by_name["isp-uplinks"]["reasons"][0].startswith("carrier-b: link eth1 lossy: ")

    status = subprocess.run([*NETMON, "status", "--listen", listen, "--json"], env=env,
                            capture_output=True, text=True, timeout=30)  # fmt: skip
    assert status.returncode == 1
    assert json.loads(status.stdout)["pairs"]

    check = subprocess.run(
        [*NETMON, "check", "--inventory", str(REPO / "inventory" / "demo.yaml")],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert check.returncode == 1, check.stderr
    rows = {row["PAIR"]: row for row in table_rows(check.stdout)}
    # One poll has no interval to compute carrier B's error rate over (a rate needs two polls:
    # docs/lossy-links.md), so `check` alone sees the uplinks healthy; every other pair as the
    # daemon does. Each row's own state, so two pairs' states swapped fail here.
    assert {pair: row["STATE"] for pair, row in rows.items()} == {
        **EXPECTED,
        "isp-uplinks": "healthy",
    }, check.stdout
    assert rows["branch-gw"]["ACTIVE"] == "branch-r2 (not preferred)"
    assert rows["dc-edge"]["MEMBERS"] == "dc-r1=active, dc-r2=unreachable"
    assert rows["campus-fw"]["ACTIVE"] == "campus-r1, campus-r2"

    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0
    assert time.monotonic() - started < 5.0

    seen = "\n".join(
        [
            log.read_text(),
            json.dumps(pairs),
            status.stdout, status.stderr, check.stdout, check.stderr,
        ]
    )  # fmt: skip
    assert "Traceback" not in seen
    assert SECRET not in seen


def test_metrics_and_api_never_carry_the_secret(
    demo: tuple[str, subprocess.Popen[bytes], Path],
) -> None:
    listen, _, log = demo
    wait_for(lambda: len(states(listen)) == len(EXPECTED), 60, "all demo pairs polled")
    bodies = [
        get(f"http://{listen}{path}")
        for path in ("/metrics", "/api/v1/pairs", "/api/v1/status", "/")
    ]
    for body in bodies:
        assert SECRET not in body
    assert SECRET not in log.read_text()


@pytest.fixture
def sim(tmp_path: Path, env: dict[str, str]) -> Iterator[Demo]:
    """The demo's simulated agents on ports of this session's own (a `make run` beside the
    tests keeps its own), with inventory/demo.yaml moved to them."""
    demo = start_demo(env, tmp_path)
    try:
        yield demo
    finally:
        stop_demo_agents(demo.agents)


def test_sighup_reload_keeps_old_inventory_on_error_and_drops_removed_pairs(
    sim: Demo, tmp_path: Path, env: dict[str, str]
) -> None:
    demo_text = sim.inventory.read_text()
    inventory = tmp_path / "inv.yaml"
    inventory.write_text(demo_text)
    listen = f"127.0.0.1:{free_tcp_port()}"
    log = tmp_path / "run.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen([*NETMON, "run", "-i", str(inventory), "--listen", listen],
                                env=env, stdout=sink, stderr=sink)  # fmt: skip
    try:
        wait_for(lambda: len(states(listen)) == len(EXPECTED), 60, "all pairs polled")

        inventory.write_text(demo_text + "\n  - {name: broken, kind: nope, members: [x]}\n")
        proc.send_signal(signal.SIGHUP)
        wait_for(
            lambda: "keeping the running inventory" in log.read_text(), 10, "reload refusal logged"
        )
        assert set(states(listen)) == set(EXPECTED)
        assert proc.poll() is None

        trimmed = demo_text.split("  # split_brain:")[0] + "\n"
        inventory.write_text(trimmed)
        proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "campus-fw" not in states(listen), 10, "campus-fw gone after reload")
        assert set(states(listen)) == {"core-gw", "dc-edge"}

        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert time.monotonic() - started < 5.0
    finally:
        stop_process(proc)
    text = log.read_text()
    assert re.search(r"pairs\[\d+\]\.kind: unknown pair kind 'nope'", text)
    assert SECRET not in text


def test_drill_plan_says_which_precheck_refuses_and_on_which_member(
    sim: Demo, tmp_path: Path, env: dict[str, str]
) -> None:
    """dc-edge's standby never answers: the plan's "standby ready" row says NO and names dc-r2,
    "pair healthy" says NO with the reason, and the rows that hold say yes. Row by row: a NO
    printed on another line (or a refusal naming the wrong member) fails."""
    inventory = tmp_path / "inv.yaml"
    inventory.write_text(
        sim.inventory.read_text().replace(
            "    virtual_ip: 127.0.20.1\n",
            "    virtual_ip: 127.0.20.1\n    drill: {actuator: vrrp-priority, min_since_failover: 0}\n",
            1,
        )
    )
    plan = subprocess.run(
        [*NETMON, "drill", "plan", "dc-edge", "-i", str(inventory), "--journal",
         str(tmp_path / "drills.sqlite"), "--listen", f"127.0.0.1:{free_tcp_port()}"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert plan.returncode == 1, plan.stdout + plan.stderr
    rows = {row["PRE-CHECK"]: (row["OK"], row["SEEN"]) for row in table_rows(plan.stdout)}
    assert rows["standby ready"] == ("NO", "dc-r2=unreachable")
    assert rows["pair healthy"] == ("NO", "degraded: dc-r2: unreachable (timeout)")
    assert rows["exactly one active member"] == ("yes", "dc-r1")
    assert [name for name, (ok, _) in rows.items() if ok != "yes"] == [
        "pair healthy",
        "standby ready",
    ]
    assert "Traceback" not in plan.stderr


def test_run_with_bad_inventory_exits_2(tmp_path: Path, env: dict[str, str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("devices: {r1: {address: 10.99.0.1, colour: red}}\n")
    result = subprocess.run([*NETMON, "run", "-i", str(bad), "--listen", f"127.0.0.1:{free_tcp_port()}"],
                            env=env, capture_output=True, text=True, timeout=30)  # fmt: skip
    assert result.returncode == 2
    assert f"{bad}:1: devices.r1.colour: unknown key 'colour'" in result.stderr
    assert "Traceback" not in result.stderr


def test_status_without_daemon_exits_2(env: dict[str, str]) -> None:
    result = subprocess.run([*NETMON, "status", "--listen", f"127.0.0.1:{free_tcp_port()}"],
                            env=env, capture_output=True, text=True, timeout=30)  # fmt: skip
    assert result.returncode == 2
    assert "no netmon daemon answers" in result.stderr


def test_snmp_set_on_priority_flips_a_pair_at_run_time(
    sim: Demo, tmp_path: Path, env: dict[str, str]
) -> None:
    """The simulator holds a real election: lowering core-r1's keepalived base priority by an
    SNMP SET (through netmon's own collector) makes core-r2 master, and the daemon counts it."""
    listen = f"127.0.0.1:{free_tcp_port()}"
    log = tmp_path / "run.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen([*NETMON, "run", "-i", str(sim.inventory),
                                 "--listen", listen], env=env, stdout=sink, stderr=sink)  # fmt: skip
    try:
        wait_for(lambda: states(listen).get("core-gw") == "healthy", 60, "core-gw healthy")
        assert sample(listen, "netmon_pair_on_preferred", pair="core-gw") == 1.0
        core_r1 = Device(
            "core-r1",
            "127.0.0.1",
            SnmpSettings(SnmpV2c(Secret("env:X", SECRET)), sim.port(16101), 1.0, 1),
        )
        collector = SnmpCollector()

        async def lower() -> None:
            try:
                await collector.set_integer(core_r1, (*BASE_PRIORITY, 1), 50)
            finally:
                collector.close()

        asyncio.run(lower())
        wait_for(
            lambda: sample(listen, "netmon_pair_on_preferred", pair="core-gw") == 0.0,
            20,
            "core-gw on core-r2",
        )
        assert sample(listen, "netmon_pair_failovers_total", pair="core-gw") == 1.0
        assert (
            sample(listen, "netmon_member_role", pair="core-gw", member="core-r2", role="active")
            == 1.0
        )
        assert states(listen)["core-gw"] == "healthy"
    finally:
        stop_process(proc)
    assert SECRET not in log.read_text()


def test_demo_drill_passes_without_devices_and_shows_in_metrics(
    sim: Demo, tmp_path: Path, env: dict[str, str]
) -> None:
    """The demo network takes drills through the same SNMP actuator; the daemon restores an
    interrupted drill at start and exports the drill metrics."""
    env = {**env, "XDG_STATE_HOME": str(tmp_path / "state")}  # the default drill journal
    inventory = str(sim.inventory)
    journal_file = tmp_path / "state" / "netmon" / "drills.sqlite"

    # An interrupted drill: core-r1 demoted (priority 1), the journal holding its restore.
    core_r1 = Device(
        "core-r1",
        "127.0.0.1",
        SnmpSettings(SnmpV2c(Secret("env:X", SECRET)), sim.port(16101), 1.0, 1),
    )

    async def demote() -> None:
        collector = SnmpCollector()
        try:
            await collector.set_integer(core_r1, (*BASE_PRIORITY, 1), 1)
        finally:
            collector.close()

    asyncio.run(demote())
    journal = Journal(journal_file)
    crashed = journal.start("core-gw", "core-r1", "core-r2")
    journal.set_restore(
        crashed, [{"device": "core-r1", "oid": [*BASE_PRIORITY, 1], "value": 150, "commands": []}]
    )
    journal.step(crashed, "act", "core-r1: SNMP SET ... = INTEGER 1")
    journal.close()

    listen = f"127.0.0.1:{free_tcp_port()}"
    log = tmp_path / "run.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen([*NETMON, "run", "-i", inventory, "--listen", listen],
                                env=env, stdout=sink, stderr=sink)  # fmt: skip
    try:
        # Recovery at start put core-r1's priority back: core-gw runs on its preferred member.
        wait_for(
            lambda: sample(listen, "netmon_pair_on_preferred", pair="core-gw") == 1.0,
            30,
            "recovered",
        )
        wait_for(lambda: states(listen).get("core-gw") == "healthy", 30, "core-gw healthy")
        assert sample(listen, "netmon_drill_last_success", pair="core-gw") == 0.0  # it was aborted

        run = subprocess.run(
            [*NETMON, "drill", "run", "core-gw", "-i", inventory, "--yes", "--json", "--listen", listen],
            env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert run.returncode == 0, run.stdout + run.stderr
        report = json.loads(run.stdout)
        assert report["result"] == "passed"
        assert report["restored"] is True
        assert report["switchover_seconds"] < 5
        wait_for(
            lambda: sample(listen, "netmon_drill_last_success", pair="core-gw") == 1.0,
            10,
            "drill metric",
        )
        assert sample(listen, "netmon_drill_running", pair="core-gw") == 0.0
        assert (sample(listen, "netmon_drill_last_switchover_seconds", pair="core-gw") or -1) >= 0

        show = subprocess.run([*NETMON, "drill", "show", str(report["id"]), "-i", inventory],
                              env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
        assert show.returncode == 0
        assert "SNMP SET 1.3.6.1.4.1.9586.100.5.2.3.1.7.1 = INTEGER 1" in show.stdout
        history = subprocess.run([*NETMON, "drill", "history", "-i", inventory],
                                 env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
        assert "aborted" in history.stdout
        assert "passed" in history.stdout
    finally:
        stop_process(proc)
    text = log.read_text() + run.stdout + run.stderr
    assert "drill recovery" in log.read_text()
    assert SECRET not in text


def test_drill_silences_the_pair_in_alertmanager(
    sim: Demo, tmp_path: Path, env: dict[str, str], alertmanager: str
) -> None:
    env = {**env, "XDG_STATE_HOME": str(tmp_path / "state")}
    inventory = str(sim.inventory)
    run = subprocess.run(
        [*NETMON, "drill", "run", "core-gw", "-i", inventory, "--yes", "--json",
         "--alertmanager", alertmanager, "--listen", f"127.0.0.1:{free_tcp_port()}"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads(run.stdout)
    assert report["result"] == "passed"
    silences = json.loads(get(f"{alertmanager}/api/v2/silences"))
    ours = [s for s in silences if s["id"] == report["silence_id"]]
    assert len(ours) == 1
    assert ours[0]["status"]["state"] == "expired"  # created for the drill, expired after it
    assert ours[0]["matchers"] == [
        {"name": "pair", "value": "core-gw", "isRegex": False, "isEqual": True}
    ]


def test_kill_9_and_restart_keep_the_pair_history(
    demo: tuple[str, subprocess.Popen[bytes], Path], env: dict[str, str], tmp_path: Path
) -> None:
    """The demo's branch-gw fails over a few seconds after every start. Killed with -9 and
    started again, netmon has the first failover in its history beside the second; the killed
    demo's simulated agents went with it (the restart could bind their ports)."""
    listen, proc, _ = demo
    wait_for(
        lambda: sample(listen, "netmon_pair_failovers_total", pair="branch-gw") == 1.0,
        60, "the first failover of branch-gw",
    )  # fmt: skip
    proc.kill()
    proc.wait(timeout=10)
    again = f"127.0.0.1:{free_tcp_port()}"
    with (tmp_path / "again.log").open("wb") as sink:
        restarted = subprocess.Popen(
            [*NETMON, "demo", "--listen", again], env=env, stdout=sink, stderr=sink
        )
    try:
        wait_for(
            lambda: sample(again, "netmon_pair_failovers_total", pair="branch-gw") == 1.0,
            60, "the failover of branch-gw after the restart",
        )  # fmt: skip
    finally:
        stop_process(restarted)
    shown = subprocess.run(
        [*NETMON, "history", "branch-gw", "--json"],
        env=env, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    events = json.loads(shown.stdout)["events"]
    failovers = [e for e in events if e["event"] == "failover"]
    assert len(failovers) == 2, events
    assert all(f["old"] == "branch-r1" and f["new"] == "branch-r2" for f in failovers)
    # Both lives began with the pair's first verdict: two "(start)" state events.
    assert sum(1 for e in events if e["event"] == "state" and e["old"] is None) == 2
    table = subprocess.run(
        [*NETMON, "history", "branch-gw"], env=env, capture_output=True, text=True,
        timeout=30, check=False,
    )  # fmt: skip
    assert table.returncode == 0
    assert "failover" in table.stdout and "branch-r2" in table.stdout
    assert SECRET not in shown.stdout + table.stdout
