"""netmon against the real lab: keepalived VRRP pairs, snmpd and sshd in network namespaces.

Each test pulls a real lever (SIGTERM, track files, bridge port isolation, stopping snmpd) and
reads the verdict from the running daemon's /metrics, as Prometheus would. Detection delays are
measured and printed at the end of the run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from netmon.kinds.evidence import HEARS_A_VRRP_MASTER
from netmon.lab import Lab, LabError
from netmon.lab import lab as labmod
from netmon.lab.topology import BRIDGE, ROUTERS

from .conftest import REPO, free_tcp_port, require, stop_process
from .helpers import DELAYS, get, sample, states, table_rows, wait_for
from .test_dashboards import concrete, panel_queries

pytestmark = [pytest.mark.lab, pytest.mark.root]

SNMP_PAIRS = ("lab-v2", "lab-v3", "lab-ka")
PAIRS = (*SNMP_PAIRS, "lab-ssh")  # lab-ssh: the same VRRPv2 instance, judged over SSH
POLL_INTERVAL = 2.0
NETMON = [sys.executable, "-m", "netmon"]


# The `lab` fixture (one lab for the session, shared with tests/test_discover.py) is in conftest.py.


def lab_inventory(tmp: Path, *, traps: bool, interval: float) -> Path:
    """inventory/lab.yaml, with or without traps and with another poll interval."""
    text = (REPO / "inventory" / "lab.yaml").read_text()
    if not traps:
        head, _, rest = text.partition("traps:")
        text = head + rest.split("\n\n", 1)[1]
    # Every test fails over and back: with the default 10-minute window the pairs would read
    # as flapping (degraded) from the third test on.
    text = text.replace("interval: 2\n", f"interval: {interval:g}\n")
    text = text.replace("flap_window: 60", "flap_window: 5")
    text = text.replace("      interval: 60\n", "      interval: 5\n")  # drift checks, for the test
    path = tmp / f"lab-{'traps' if traps else 'poll'}-{interval:g}.yaml"
    path.write_text(text)
    return path


class Daemon:
    def __init__(self, inventory: Path, log: Path) -> None:
        self.inventory = inventory
        self.listen = f"127.0.0.1:{free_tcp_port()}"
        self.log = log
        # The daemon's drill journal (default path under XDG_STATE_HOME) in the test's folder.
        self.env = {**os.environ, "XDG_STATE_HOME": str(log.parent / "state")}
        self.start()

    def start(self) -> None:
        with self.log.open("ab") as sink:
            self.proc = subprocess.Popen([*NETMON, "run", "-i", str(self.inventory), "--listen", self.listen],
                                         stdout=sink, stderr=sink, env=self.env)  # fmt: skip

    def restart(self) -> None:
        """Stop and start again on the same address (what scrapes it keeps scraping): after a
        new `lab up` the community, client key and host keys are new, read only at start."""
        self.stop()
        self.start()

    def healthy(self) -> bool:
        if self.proc.poll() is not None:
            pytest.fail(f"netmon run exited with {self.proc.returncode}:\n{self.log.read_text()}")
        return states(self.listen) == dict.fromkeys(PAIRS, "healthy")

    def stop(self) -> None:
        stop_process(self.proc)


@pytest.fixture(scope="module")
def poller(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """The daemon polling every 2 s, without traps: what polling alone detects."""
    tmp = tmp_path_factory.mktemp("lab-daemon")
    daemon = Daemon(lab_inventory(tmp, traps=False, interval=POLL_INTERVAL), tmp / "netmon.log")
    try:
        yield daemon
    finally:
        daemon.stop()


@pytest.fixture
def baseline(lab: Lab, poller: Daemon) -> Daemon:
    """Every test starts from a healthy lab with r1 master, as the daemon sees it."""
    lab.reset()
    wait_for(poller.healthy, 30, "all lab pairs healthy")
    return poller


@pytest.fixture
def rebuilt(lab: Lab, poller: Daemon) -> Iterator[Lab]:
    """For a test that takes the session's lab down (or makes `up` fail): afterwards, pass or
    fail, the lab is up again and the module's daemon restarted on its new secrets, so every
    other test runs the same before or after it."""
    try:
        yield lab
    finally:
        if not lab.status().running:
            lab.up()
        poller.restart()
        wait_for(poller.healthy, 30, "all lab pairs healthy after the lab was rebuilt")


def on_r2(listen: str, pair: str) -> bool:
    return (
        sample(listen, "netmon_member_role", pair=pair, member="r2", role="active") == 1.0
        and sample(listen, "netmon_pair_on_preferred", pair=pair) == 0.0
    )


def pair_states(listen: str, pairs: tuple[str, ...] = PAIRS) -> set[str]:
    now = states(listen)
    return {now.get(p, "absent") for p in pairs}


def sigterm_master_and_watch(
    lab: Lab, listen: str, timeout: float, pairs: tuple[str, ...] = PAIRS
) -> tuple[float, float]:
    """SIGTERM r1's keepalived; return (seconds until r2 held both VIPs, seconds until every pair
    showed r2 active in /metrics), both counted from the signal."""
    pid = lab.status().routers[0].daemons["keepalived"]
    assert pid is not None
    t0 = time.monotonic()
    os.kill(pid, signal.SIGTERM)
    takeover: float | None = None
    shown: float | None = None
    while time.monotonic() - t0 < timeout and (takeover is None or shown is None):
        now = time.monotonic() - t0
        if takeover is None and all(m == ["r2"] for m in lab.masters().values()):
            takeover = now
        if shown is None and all(on_r2(listen, p) for p in pairs):
            shown = now
        time.sleep(0.01)
    if takeover is None or shown is None:
        pytest.fail(f"no failover seen within {timeout}s (takeover {takeover}, shown {shown})")
    # Let the old keepalived finish exiting, so the next reset starts a fresh one.
    wait_for(
        lambda: lab.status().routers[0].daemons["keepalived"] is None,
        10,
        "r1 keepalived gone",
        0.05,
    )
    return takeover, shown


def test_all_pairs_healthy_on_preferred(baseline: Daemon) -> None:
    for pair in PAIRS:
        assert states(baseline.listen)[pair] == "healthy"
        assert sample(baseline.listen, "netmon_pair_on_preferred", pair=pair) == 1.0
        assert (
            sample(baseline.listen, "netmon_member_role", pair=pair, member="r1", role="active")
            == 1.0
        )
        assert (
            sample(baseline.listen, "netmon_member_role", pair=pair, member="r2", role="standby")
            == 1.0
        )
    assert sample(baseline.listen, "netmon_interface_up", device="r1", interface="eth0") == 1.0
    # Intent (issue 19): the lab inventory's VIPs, preferred r1 (150 against 100) and groups are
    # what keepalived reports over VRRP-MIB, VRRPv3-MIB and KEEPALIVED-MIB.
    # The intent tables are walked behind the first poll (a verdict never waits for them).
    wait_for(
        lambda: all(
            sample(baseline.listen, "netmon_pair_intent_in_sync", pair=pair) == 1.0
            for pair in SNMP_PAIRS
        ),
        3 * POLL_INTERVAL + 5,
        "every SNMP lab pair's intent in sync",
        0.2,
    )


def test_master_sigterm_detected_by_polling(lab: Lab, baseline: Daemon) -> None:
    listen = baseline.listen
    before = {p: sample(listen, "netmon_pair_failovers_total", pair=p) or 0.0 for p in PAIRS}
    # The SSH kind agrees with the three SNMP kinds before the failover (baseline) and after it.
    takeover, shown = sigterm_master_and_watch(lab, listen, POLL_INTERVAL + 10)
    DELAYS.append(("master SIGTERM -> r2 holds the VIPs (keepalived's own takeover)", takeover))
    DELAYS.append(
        (f"master SIGTERM -> r2 active in /metrics, polling every {POLL_INTERVAL:g}s", shown)
    )
    assert shown - takeover <= POLL_INTERVAL + 1.0
    for pair in PAIRS:
        assert sample(listen, "netmon_pair_failovers_total", pair=pair) == before[pair] + 1
    # docs/lab.md: "r2 active, ... `degraded` (r1's rows are gone)". Once r1's keepalived has
    # exited, its rows leave r1's agent: evidence that r1 cannot serve (fault), not blindness.
    wait_for(lambda: rows_gone(listen, "r1", "r2"), 2 * POLL_INTERVAL + 1, "r1's rows gone", 0.05)
    ssh = {m["member"]: m["role"] for m in api_pairs(listen)["lab-ssh"]["members"]}
    assert (states(listen)["lab-ssh"], ssh) == ("degraded", {"r1": "fault", "r2": "active"})


def api_pairs(listen: str) -> dict[str, dict[str, Any]]:
    return {p["pair"]: p for p in json.loads(get(f"http://{listen}/api/v1/pairs"))["pairs"]}


def rows_gone(listen: str, gone: str, active: str) -> bool:
    """Every SNMP pair `degraded` on `active`, `gone` in `fault` because its row vanished."""
    now, pairs = states(listen), api_pairs(listen)
    for name in SNMP_PAIRS:
        roles = {m["member"]: m["role"] for m in pairs[name]["members"]}
        why = f"{gone}: in fault (its row vanished"
        vanished = any(r.startswith(why) for r in pairs[name]["reasons"])
        if (now[name], roles, vanished) != ("degraded", {gone: "fault", active: "active"}, True):
            return False
    return True


def test_master_sigterm_detected_by_trap_with_30s_polling(
    lab: Lab, baseline: Daemon, tmp_path: Path
) -> None:
    daemon = Daemon(lab_inventory(tmp_path, traps=True, interval=30), tmp_path / "netmon-traps.log")
    try:
        # The first poll runs at start; after that, only traps can make it see a change soon.
        wait_for(daemon.healthy, 30, "trap daemon sees the lab healthy")
        wait_for(lambda: "trap receiver listening" in daemon.log.read_text(), 5, "trap receiver up")
        time.sleep(0.5)
        takeover, shown = sigterm_master_and_watch(lab, daemon.listen, 10, SNMP_PAIRS)
        DELAYS.append(("master SIGTERM -> r2 active in /metrics, traps (polling every 30s)", shown))
        DELAYS.append(
            ("  of which after r2 took over (agent, trap, receiver, poll)", shown - takeover)
        )
        # keepalived's own takeover after SIGTERM takes ~0.6 s; netmon's share must be small.
        assert shown - takeover <= 1.0
        assert (sample(daemon.listen, "netmon_traps_received_total", device="r2") or 0) >= 1
    finally:
        daemon.stop()
    assert "trap receiver listening" in daemon.log.read_text()


def test_standby_keepalived_stopped_then_started(lab: Lab, baseline: Daemon) -> None:
    listen = baseline.listen
    t0 = time.monotonic()
    lab.stop("r2", "keepalived")
    wait_for(lambda: pair_states(listen) == {"degraded"}, 10, "degraded", step=0.05)
    DELAYS.append(("standby keepalived stopped -> degraded", time.monotonic() - t0))
    assert sample(listen, "netmon_member_role", pair="lab-v3", member="r1", role="active") == 1.0
    # r2's rows leave its agent: r2 is `fault` on that evidence, not `unknown`.
    wait_for(lambda: rows_gone(listen, "r2", "r1"), 2 * POLL_INTERVAL + 1, "r2's rows gone", 0.05)
    lab.start("r2", "keepalived")
    wait_for(baseline.healthy, 15, "healthy again after keepalived restart")


def test_standby_instance_in_fault_is_degraded(lab: Lab, baseline: Daemon) -> None:
    listen = baseline.listen
    lab.fault("r2", on=True)
    t0 = time.monotonic()
    wait_for(
        # keepalived-ssh sees VIP ownership only: a FAULT standby holds no VIP either.
        lambda: pair_states(listen, SNMP_PAIRS) == {"degraded"},
        10,
        "degraded on fault",
        step=0.05,
    )
    DELAYS.append(("standby instance in FAULT (track_file) -> degraded", time.monotonic() - t0))
    assert sample(listen, "netmon_member_role", pair="lab-ka", member="r2", role="fault") == 1.0
    assert sample(listen, "netmon_member_role", pair="lab-v2", member="r2", role="fault") == 1.0
    lab.fault("r2", on=False)
    wait_for(baseline.healthy, 15, "healthy again after the fault clears")


def test_priority_lever_fails_over_without_an_outage_and_back(lab: Lab, baseline: Daemon) -> None:
    """docs/lab.md: `netmon lab priority r1 low`: r1 drops to 50 (track_file, weight -100) and r2
    takes over without an outage: a failover, `on_preferred` 0, `healthy`. `normal`: r1 (150)
    preempts again. Pulled through the CLI, as the docs pull it; never anything but `healthy`
    in /metrics on the way (the dual-master instant of a switchover is the debounce's)."""
    listen = baseline.listen
    before = {p: sample(listen, "netmon_pair_failovers_total", pair=p) or 0.0 for p in PAIRS}
    seen: set[str] = set()
    why: list[tuple[str, str, list[str]]] = []  # the first verdicts not healthy, with reasons

    def lever(state: str) -> None:
        run = subprocess.run([*NETMON, "lab", "priority", "r1", state],
                             capture_output=True, text=True, timeout=30)  # fmt: skip
        assert run.returncode == 0, run.stdout + run.stderr

    def settled(active: str) -> bool:
        now = pair_states(listen)
        seen.update(now)
        if now != {"healthy"} and len(why) < 5:
            why.extend(
                (p["pair"], p["state"], p["reasons"])
                for p in api_pairs(listen).values()
                if p["state"] != "healthy"
            )
        preferred = 1.0 if active == "r1" else 0.0
        return pair_states(listen) == {"healthy"} and all(
            sample(listen, "netmon_member_role", pair=p, member=active, role="active") == 1.0
            and sample(listen, "netmon_pair_on_preferred", pair=p) == preferred
            for p in PAIRS
        )

    t0 = time.monotonic()
    lever("low")
    try:
        wait_for(lambda: settled("r2"), 3 * POLL_INTERVAL + 5, "r2 active, healthy", 0.05)
        DELAYS.append(("r1's priority lowered -> r2 active, healthy", time.monotonic() - t0))
        assert lab.masters() == {"VI_v2": ["r2"], "VI_v3": ["r2"]}
        r1 = next(m for m in api_pairs(listen)["lab-ka"]["members"] if m["member"] == "r1")
        assert (r1["role"], r1["ready"]) == ("standby", True)
        assert r1["raw"].endswith("priority 50/150"), r1["raw"]  # effective/base, as r1 reports
        # Tracking lowered r1's effective priority on purpose: the configured one still makes
        # it the preferred member, so this is no drift from the inventory.
        for pair in SNMP_PAIRS:
            assert sample(listen, "netmon_pair_intent_in_sync", pair=pair) == 1.0, pair
        for pair in PAIRS:
            assert sample(listen, "netmon_pair_failovers_total", pair=pair) == before[pair] + 1
    finally:
        lever("normal")
    wait_for(lambda: settled("r1"), 3 * POLL_INTERVAL + 5, "r1 active again, healthy", 0.05)
    assert seen == {"healthy"}, (seen, why)


def test_split_brain_after_debounce_then_heal(lab: Lab, baseline: Daemon) -> None:
    listen = baseline.listen
    missed = sample(listen, "netmon_polls_missed_total")
    lab.split(on=True)
    t0 = time.monotonic()
    wait_for(lambda: pair_states(listen) == {"split_brain"}, 20, "split_brain", step=0.05)
    DELAYS.append(
        ("pair cut apart -> split_brain (VRRP timeout + 2s debounce)", time.monotonic() - t0)
    )
    assert sample(listen, "netmon_pair_active_members", pair="lab-v2") == 2.0
    lab.split(on=False)
    t1 = time.monotonic()
    wait_for(baseline.healthy, 20, "healthy after healing", step=0.05)
    DELAYS.append(("pair healed -> healthy", time.monotonic() - t1))
    # Settling the dual-active window (the debounce) runs beside the schedule: the split and
    # the failover back skip none of netmon's own polls (issue 21: NetmonFallingBehind).
    assert sample(listen, "netmon_polls_missed_total") == missed


def test_both_snmpd_stopped_unknown_then_healthy(lab: Lab, baseline: Daemon) -> None:
    listen = baseline.listen
    t0 = time.monotonic()
    for router in ROUTERS:
        lab.stop(router.name, "snmpd")
    wait_for(lambda: pair_states(listen, SNMP_PAIRS) == {"unknown"}, 15, "unknown", step=0.05)
    assert states(listen)["lab-ssh"] == "healthy"  # SSH still answers: routing never stopped
    DELAYS.append(("both snmpd stopped -> unknown", time.monotonic() - t0))
    assert sample(listen, "netmon_device_up", device="r1") == 0.0
    assert (
        sample(listen, "netmon_poll_errors_total", device="r1", collector="snmp", reason="timeout")
        or 0
    ) >= 1
    for router in ROUTERS:
        lab.start(router.name, "snmpd")
    # keepalived reconnects to the new AgentX master on its own schedule.
    wait_for(baseline.healthy, 45, "healthy after snmpd restart")


@pytest.mark.parametrize(("stopped", "other"), [("r1", "r2"), ("r2", "r1")])
def test_one_snmpd_stopped_is_degraded_never_down(
    lab: Lab, baseline: Daemon, stopped: str, other: str
) -> None:
    """docs/lab.md: `lab stop rN snmpd`: the router keeps routing but stops answering, that
    member is `unreachable`. The pair is judged on the other member (design.md): with the
    active's agent gone, r2's agent says it is a backup hearing r1 as master, a serving pair;
    with the standby's gone, r1 is active and nobody vouches for r2. `degraded` either way, never
    `down`: netmon's blindness is no evidence that nothing serves."""
    listen = baseline.listen
    t0 = time.monotonic()
    lab.stop(stopped, "snmpd")
    try:
        wait_for(lambda: pair_states(listen, SNMP_PAIRS) == {"degraded"}, 15, "degraded", step=0.05)
        DELAYS.append((f"{stopped}'s snmpd stopped -> degraded", time.monotonic() - t0))
        seen: set[str] = set()
        end = time.monotonic() + 3 * POLL_INTERVAL  # a few polls: never `down` on the way
        while time.monotonic() < end:
            seen |= pair_states(listen, SNMP_PAIRS)
            time.sleep(0.1)
        assert seen == {"degraded"}, seen
        assert states(listen)["lab-ssh"] == "healthy"  # both still serve: SSH sees the VIP on r1
        assert sample(listen, "netmon_device_up", device=stopped) == 0.0
        assert sample(listen, "netmon_device_up", device=other) == 1.0
        pairs = api_pairs(listen)
        for name in SNMP_PAIRS:
            members = {m["member"]: m for m in pairs[name]["members"]}
            assert (members[stopped]["role"], members[stopped]["ready"]) == ("unreachable", None)
            reasons = pairs[name]["reasons"]
            if stopped == "r1":
                heard = "10.99.0.11" if name != "lab-ka" else HEARS_A_VRRP_MASTER
                r2 = members["r2"]
                assert (r2["role"], r2["ready"], r2["peer_active"]) == ("standby", True, heard)
                assert f"active unreachable from netmon (r1); r2 hears {heard} as active" in reasons
                assert sample(listen, "netmon_pair_active_members", pair=name) == 0.0
            else:
                assert members["r1"]["role"] == "active"
                assert "r2: unreachable (timeout)" in reasons, reasons
                assert sample(listen, "netmon_pair_active_members", pair=name) == 1.0
                assert sample(listen, "netmon_pair_on_preferred", pair=name) == 1.0
    finally:
        lab.start(stopped, "snmpd")
    # keepalived reconnects to the new AgentX master on its own schedule.
    wait_for(baseline.healthy, 45, "healthy after snmpd restart")


def test_both_vrrp_processes_stopped_is_down_on_evidence(lab: Lab, baseline: Daemon) -> None:
    """keepalived stopped on both routers: their rows leave the agents after being read, which is
    evidence (fault), so the pair is `down`: the page a person must get."""
    listen = baseline.listen
    t0 = time.monotonic()
    lab.stop("r2", "keepalived")
    wait_for(lambda: pair_states(listen) == {"degraded"}, 10, "degraded", step=0.05)
    lab.stop("r1", "keepalived")
    try:
        wait_for(lambda: pair_states(listen, SNMP_PAIRS) == {"down"}, 15, "down", step=0.05)
        DELAYS.append(("both keepalived stopped -> down", time.monotonic() - t0))
        pairs = {p["pair"]: p for p in json.loads(get(f"http://{listen}/api/v1/pairs"))["pairs"]}
        for name in SNMP_PAIRS:
            roles = {m["member"]: m["role"] for m in pairs[name]["members"]}
            assert roles == {"r1": "fault", "r2": "fault"}, (name, pairs[name]["reasons"])
            assert any("its row vanished" in r for r in pairs[name]["reasons"])
    finally:
        lab.start("r1", "keepalived")
        lab.start("r2", "keepalived")
    wait_for(baseline.healthy, 30, "healthy after keepalived restart")


def test_large_packet_loss_with_the_link_up(lab: Lab, baseline: Daemon) -> None:
    """The failure of November 2023, for real: r1's interface drops every frame over 1,400 bytes
    while its link stays up and small packets (SNMP among them) pass."""
    listen = baseline.listen
    lab.set_mtu("r1", 1400)
    t0 = time.monotonic()
    try:
        wait_for(
            lambda: pair_states(listen) == {"degraded"},
            2 * POLL_INTERVAL + 1,  # two polls, and the probe timeout
            "degraded",
            step=0.05,
        )
        DELAYS.append(
            ("r1 MTU lowered (large packets lost, link up) -> degraded", time.monotonic() - t0)
        )

        # The frames r1 cannot take also count as input errors on r1's interface, so a lossy
        # link may be the first reason; the probe's own reason follows within the same bound.
        def probe_reason_everywhere() -> bool:
            pairs = json.loads(get(f"http://{listen}/api/v1/pairs"))["pairs"]
            return all(
                any(r.startswith("r1: large_packet_loss") for r in p["reasons"]) for p in pairs
            )

        wait_for(
            probe_reason_everywhere, 2 * POLL_INTERVAL + 1, "large_packet_loss naming r1", 0.05
        )
        assert sample(listen, "netmon_interface_up", device="r1", interface="eth0") == 1.0
        assert sample(listen, "netmon_probe_loss_ratio", target="10.99.0.11", size="1500") == 1.0
        assert sample(listen, "netmon_probe_loss_ratio", target="10.99.0.11", size="64") == 0.0
        assert sample(listen, "netmon_probe_loss_ratio", target="10.99.0.12", size="1500") == 0.0
    finally:
        lab.set_mtu("r1", 1500)
    t1 = time.monotonic()
    wait_for(baseline.healthy, 2 * POLL_INTERVAL + 5, "healthy after the MTU is restored")
    DELAYS.append(("r1 MTU restored -> healthy", time.monotonic() - t1))


def config_check(listen: str, pair: str) -> dict[str, Any]:
    for p in json.loads(get(f"http://{listen}/api/v1/pairs"))["pairs"]:
        if p["pair"] == pair and p["config"]:
            found: dict[str, Any] = p["config"]
            return found
    return {}


def test_config_drift_between_members(lab: Lab, baseline: Daemon) -> None:
    listen = baseline.listen
    wait_for(lambda: config_check(listen, "lab-ka").get("in_sync") is True, 30, "configs in sync")
    assert sample(listen, "netmon_pair_config_in_sync", pair="lab-ka") == 1.0
    conf = lab.paths(lab.router("r1")).keepalived_conf
    original = conf.read_text()
    try:
        # A line that is not ignored: r1 advertises every 2 s, r2 every second.
        conf.write_text(original.replace("advert_int 1", "advert_int 2", 1))
        wait_for(
            lambda: sample(listen, "netmon_pair_config_in_sync", pair="lab-ka") == 0.0,
            30,
            "drift seen",
        )
        diff = subprocess.run([*NETMON, "diff", "lab-ka", "-i", str(baseline.inventory)],
                              capture_output=True, text=True, timeout=60)  # fmt: skip
        assert diff.returncode == 1, diff.stderr
        assert "-    advert_int 2" in diff.stdout
        assert "+    advert_int 1" in diff.stdout
        assert lab.community() not in diff.stdout + diff.stderr

        # Only lines that differ by design: priority, router id (ignored by the keepalived rules).
        conf.write_text(
            original.replace("priority 150", "priority 120").replace(
                "router_id r1", "router_id edge-1"
            )
        )
        before = config_check(listen, "lab-ka")["checked_at"]
        wait_for(
            lambda: config_check(listen, "lab-ka")["checked_at"] > before, 30, "a new drift check"
        )
        wait_for(
            lambda: sample(listen, "netmon_pair_config_in_sync", pair="lab-ka") == 1.0,
            30,
            "in sync again",
        )
        ok = subprocess.run([*NETMON, "diff", "lab-ka", "-i", str(baseline.inventory)],
                            capture_output=True, text=True, timeout=60)  # fmt: skip
        assert ok.returncode == 0, ok.stdout + ok.stderr
    finally:
        conf.write_text(original)


@pytest.fixture
def silent_tcp_server() -> Iterator[int]:
    """Accepts TCP connections on loopback and never says a word (no SSH banner)."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.2)
    port: int = server.getsockname()[1]
    held: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            held.append(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        stop.set()
        thread.join(timeout=2)
        for conn in held:
            conn.close()
        server.close()


BAD_SSH_INVENTORY = """
defaults:
  snmp: {{community: {{file: {lab}/community}}, timeout: 0.5, retries: 1}}
  pair: {{interval: 2}}
devices:
  r1: {{address: 10.99.0.11}}
  r2: {{address: 10.99.0.12}}
  silent: {{address: 127.0.0.1, ssh: {{username: root, port: {port}, key_file: {lab}/ssh/id_ed25519, known_hosts: {lab}/ssh/known_hosts, timeout: 2}}}}
  r1-wrong-pw: {{address: 10.99.0.11, ssh: {{username: root, password: {{file: {wrong}}}, known_hosts: {lab}/ssh/known_hosts, timeout: 2}}}}
  r2-changed-key: {{address: 10.99.0.12, ssh: {{username: root, key_file: {lab}/ssh/id_ed25519, known_hosts: {bad_hosts}, timeout: 2}}}}
  r1-pw: {{address: 10.99.0.11, ssh: {{username: root, password: {{file: {lab}/ssh/password}}, known_hosts: {lab}/ssh/known_hosts, timeout: 3}}}}
  r2-pw: {{address: 10.99.0.12, ssh: {{username: root, password: {{file: {lab}/ssh/password}}, known_hosts: {lab}/ssh/known_hosts, timeout: 3}}}}
pairs:
  - {{name: lab-v2, kind: vrrp, params: {{if_index: 2, vrid: 51}}, members: [r1, r2]}}
  - {{name: lab-v3, kind: vrrpv3, params: {{if_index: 2, vrid: 52}}, members: [r1, r2]}}
  - {{name: ssh-silent, kind: linux-vip, virtual_ip: 10.99.0.51, members: [silent, r2-pw]}}
  - {{name: ssh-wrong-password, kind: linux-vip, virtual_ip: 10.99.0.51, members: [r1-wrong-pw, r2-pw]}}
  - {{name: ssh-changed-host-key, kind: linux-vip, virtual_ip: 10.99.0.51, members: [r1-pw, r2-changed-key]}}
  - {{name: ssh-password-ok, kind: linux-vip, virtual_ip: 10.99.0.51, members: [r1-pw, r2-pw]}}
"""


def member_reasons(listen: str) -> dict[str, str | None]:
    pairs = json.loads(get(f"http://{listen}/api/v1/pairs"))["pairs"]
    return {m["member"]: m["reason"] for p in pairs for m in p["members"]}


def test_bad_ssh_targets_get_their_own_reasons_and_block_nothing(
    lab: Lab, baseline: Daemon, tmp_path: Path, silent_tcp_server: int
) -> None:
    wrong = tmp_path / "wrong-password"
    wrong.write_text("not-the-lab-password\n")
    bad_hosts = tmp_path / "known_hosts"
    other_key = tmp_path / "other_key"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other_key)], check=True
    )
    kind, blob = other_key.with_suffix(".pub").read_text().split()[:2]
    bad_hosts.write_text(f"10.99.0.12 {kind} {blob}\n")  # r2 "changed" its host key
    inventory = tmp_path / "bad-ssh.yaml"
    inventory.write_text(
        BAD_SSH_INVENTORY.format(
            lab=lab.root, port=silent_tcp_server, wrong=wrong, bad_hosts=bad_hosts
        )
    )
    daemon = Daemon(inventory, tmp_path / "netmon-bad-ssh.log")
    try:
        expected = {"silent": "timeout", "r1-wrong-pw": "auth", "r2-changed-key": "host_key"}
        wait_for(
            lambda: all(member_reasons(daemon.listen).get(m) == r for m, r in expected.items()),
            30, f"reasons {expected}",
        )  # fmt: skip
        # Password logins from a secret file work (a first session may lose a race with the bad
        # ones for sshd's start-up slots, so this waits rather than asserts at once).
        wait_for(
            lambda: states(daemon.listen)["ssh-password-ok"] == "healthy",
            20,
            "password pair healthy",
        )
        # While the bad targets keep failing, the SNMP pairs keep their 2 s rhythm.
        t1 = sample(
            daemon.listen,
            "netmon_device_last_success_timestamp_seconds",
            device="r1",
            collector="snmp",
        )
        time.sleep(6.5)
        t2 = sample(
            daemon.listen,
            "netmon_device_last_success_timestamp_seconds",
            device="r1",
            collector="snmp",
        )
        assert t1 is not None and t2 is not None
        assert t2 - t1 >= 4.0  # at least two more polls in 6.5 s
        assert states(daemon.listen)["lab-v2"] == "healthy"
        assert (
            sample(
                daemon.listen,
                "netmon_poll_errors_total",
                device="silent",
                collector="ssh",
                reason="timeout",
            )
            or 0
        ) >= 1
    finally:
        daemon.stop()
    log = daemon.log.read_text()
    assert "Traceback" not in log
    assert "not-the-lab-password" not in log
    assert lab.password_file.read_text().strip() not in log


def drill_cmd(tmp: Path, *args: str) -> list[str]:
    inventory = str(REPO / "inventory" / "lab.yaml")
    return [*NETMON, "drill", *args, "-i", inventory, "--journal", str(tmp / "drills.sqlite")]


def wait_for_act_step(journal: Path, timeout: float = 30) -> float:
    """The wall-clock time the drill journalled its demotion (written just before it is sent)."""

    def act_time() -> float | None:
        if not journal.exists():
            return None
        db = sqlite3.connect(journal, timeout=5)
        try:
            row = db.execute(
                "SELECT at FROM steps WHERE kind = 'act' ORDER BY drill_id DESC, seq LIMIT 1"
            ).fetchone()
        except sqlite3.OperationalError:
            return None
        finally:
            db.close()
        return float(row[0]) if row else None

    found: list[float] = []

    def seen() -> bool:
        at = act_time()
        if at is not None:
            found.append(at)
        return at is not None

    wait_for(seen, timeout, "the drill's act step", 0.02)
    return found[0]


@pytest.mark.parametrize("pair", ["lab-v2", "lab-ka"])
def test_drill_passes_restores_and_agrees_with_an_independent_clock(
    lab: Lab, baseline: Daemon, tmp_path: Path, pair: str
) -> None:
    taken_over: list[float] = []
    stop = threading.Event()

    def watch_vip() -> None:  # independent of netmon: who holds the VIP, every 20 ms
        while not stop.is_set():
            if lab.masters()["VI_v2"] == ["r2"] and not taken_over:
                taken_over.append(time.time())
            time.sleep(0.02)

    watcher = threading.Thread(target=watch_vip, daemon=True)
    watcher.start()
    try:
        run = subprocess.run([*drill_cmd(tmp_path, "run", pair), "--yes", "--json"],
                             capture_output=True, text=True, timeout=120)  # fmt: skip
    finally:
        stop.set()
        watcher.join(timeout=5)
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads(run.stdout)
    assert report["result"] == "passed"
    assert report["restored"] is True
    assert report["active_before"] == "r1"
    assert report["standby"] == "r2"
    assert lab.masters() == {"VI_v2": ["r1"], "VI_v3": ["r1"]}
    acted = wait_for_act_step(tmp_path / "drills.sqlite", 1)
    assert taken_over, "the VIP never moved to r2"
    independent = taken_over[0] - acted
    DELAYS.append((f"drill {pair}: switchover measured by netmon", report["switchover_seconds"]))
    DELAYS.append((f"drill {pair}: switchover by an independent VIP watch", independent))
    assert abs(report["switchover_seconds"] - independent) <= max(0.1, 0.1 * independent)
    history = subprocess.run(
        drill_cmd(tmp_path, "history"), capture_output=True, text=True, timeout=60
    )
    assert history.returncode == 0
    assert "passed" in history.stdout
    assert lab.community() not in run.stdout + run.stderr + history.stdout


def test_drill_refused_when_the_standby_is_stopped(
    lab: Lab, baseline: Daemon, tmp_path: Path
) -> None:
    lab.stop("r2", "keepalived")
    wait_for(lambda: states(baseline.listen)["lab-ka"] == "degraded", 15, "degraded")
    plan = subprocess.run(
        drill_cmd(tmp_path, "plan", "lab-ka"), capture_output=True, text=True, timeout=60,
        env={**os.environ, "COLUMNS": "200"},  # wide: read row by row below
    )  # fmt: skip
    assert plan.returncode == 1
    # Row by row: the standby check refuses and names r2; no other check does.
    rows = {row["PRE-CHECK"]: (row["OK"], row["SEEN"]) for row in table_rows(plan.stdout)}
    assert rows["standby ready"][0] == "NO", plan.stdout
    assert rows["standby ready"][1].startswith("r2="), plan.stdout
    assert [name for name, (ok, _) in rows.items() if ok != "yes"] == [
        "pair healthy",
        "standby ready",
    ], plan.stdout
    run = subprocess.run([*drill_cmd(tmp_path, "run", "lab-ka"), "--yes", "--json"],
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert run.returncode == 1
    report = json.loads(run.stdout)
    assert report["result"] == "refused"
    assert "standby ready" in report["reason"]
    assert report["id"] is None  # nothing journalled, nothing touched
    assert lab.masters() == {"VI_v2": ["r1"], "VI_v3": ["r1"]}


def start_drill(tmp_path: Path, pair: str) -> subprocess.Popen[str]:
    return subprocess.Popen([*drill_cmd(tmp_path, "run", pair), "--yes", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


def test_standby_fault_during_the_drill_aborts_and_restores(
    lab: Lab, baseline: Daemon, tmp_path: Path
) -> None:
    proc = start_drill(tmp_path, "lab-ka")
    wait_for_act_step(tmp_path / "drills.sqlite")
    lab.fault("r2", on=True)
    t0 = time.monotonic()
    stdout, stderr = proc.communicate(timeout=60)
    elapsed = time.monotonic() - t0
    assert proc.returncode == 1, stdout + stderr
    report = json.loads(stdout)
    assert report["result"] == "aborted"
    assert "fault" in report["reason"]
    assert report["restored"] is True
    assert elapsed <= 8 + 5  # max_switchover + 5 s
    assert lab.masters() == {"VI_v2": ["r1"], "VI_v3": ["r1"]}


def test_kill_9_mid_drill_is_restored_by_the_next_command(
    lab: Lab, baseline: Daemon, tmp_path: Path
) -> None:
    proc = start_drill(tmp_path, "lab-ka")
    wait_for_act_step(tmp_path / "drills.sqlite")
    proc.kill()  # SIGKILL: no cleanup of any kind runs
    proc.communicate(timeout=10)
    history = subprocess.run(
        drill_cmd(tmp_path, "history"), capture_output=True, text=True, timeout=120
    )
    assert history.returncode == 0, history.stderr
    assert "interrupted" in history.stderr
    assert "aborted" in history.stdout
    lab.wait_for_masters({"VI_v2": "r1", "VI_v3": "r1"}, 15)  # r1's priority was put back
    wait_for(baseline.healthy, 20, "healthy after recovery")


def test_ctrl_c_mid_drill_restores_and_exits_1(lab: Lab, baseline: Daemon, tmp_path: Path) -> None:
    proc = start_drill(tmp_path, "lab-v2")
    wait_for_act_step(tmp_path / "drills.sqlite")
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 1, stdout + stderr
    report = json.loads(stdout)
    assert report["result"] == "aborted"
    assert "interrupted" in report["reason"]
    assert report["restored"] is True
    lab.wait_for_masters({"VI_v2": "r1", "VI_v3": "r1"}, 15)


class Webhook(ThreadingHTTPServer):
    """Stands in for the pager: records every Alertmanager notification with its arrival time."""

    daemon_threads = True

    def __init__(self) -> None:
        self.received: list[tuple[float, dict[str, Any]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                outer.received.append((time.monotonic(), json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}/pager"
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def wait(self, alertname: str, status: str, since: float) -> tuple[float, dict[str, Any]]:
        """Until a notification of `alertname` with `status` arrives after `since`: (when, alert)."""
        found: list[tuple[float, dict[str, Any]]] = []

        def arrived() -> bool:
            hit = self.alert_at(alertname, status, since)
            if hit is not None:
                found.append(hit)
            return hit is not None

        wait_for(arrived, 60, f"{alertname} {status} at the webhook", 0.05)
        return found[0]

    def alert_at(
        self, alertname: str, status: str, since: float
    ) -> tuple[float, dict[str, Any]] | None:
        for at, message in self.received:
            if at < since:
                continue
            for alert in message.get("alerts", []):
                if alert["labels"].get("alertname") == alertname and alert["status"] == status:
                    return at, alert
        return None


@dataclass
class Stack:
    prometheus: str
    webhook: Webhook


def prom_query(url: str, expr: str) -> list[dict[str, Any]]:
    query = urllib.parse.urlencode({"query": expr})
    data = json.loads(get(f"{url}/api/v1/query?{query}"))
    assert data["status"] == "success", data
    result: list[dict[str, Any]] = data["data"]["result"]
    return result


@pytest.fixture(scope="module")
def stack(lab: Lab, poller: Daemon, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Real Prometheus and Alertmanager on loopback, scraping the lab daemon every second."""
    for tool in ("prometheus", "prometheus-alertmanager"):
        require(shutil.which(tool) is not None, f"{tool} is not installed (make test installs it)")
    tmp = tmp_path_factory.mktemp("stack")
    # The shipped rules, with every `for:` shortened so the test needs seconds, not minutes:
    # this test holds the path from a real failure to the pager. The real durations are held by
    # promtool (alert_rules/tests/*.yml, tests/test_alert_rules.py): each alert is
    # evaluated while its condition holds, silent before its `for:` has elapsed, firing after.
    rules = re.sub(
        r"for: \d+[smh]", "for: 2s", (REPO / "alert_rules" / "netmon.rules.yml").read_text()
    )
    (tmp / "rules.yml").write_text(rules)
    webhook = Webhook()
    am_port, prom_port = free_tcp_port(), free_tcp_port()
    (tmp / "am.yml").write_text(
        "route: {receiver: pager, group_by: [alertname, pair], group_wait: 0s, group_interval: 1s, repeat_interval: 1h}\n"
        f"receivers: [{{name: pager, webhook_configs: [{{url: '{webhook.url}', send_resolved: true}}]}}]\n"
    )
    (tmp / "prometheus.yml").write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        f"rule_files: [{tmp / 'rules.yml'}]\n"
        f"alerting: {{alertmanagers: [{{static_configs: [{{targets: ['127.0.0.1:{am_port}']}}]}}]}}\n"
        f"scrape_configs: [{{job_name: netmon, static_configs: [{{targets: ['{poller.listen}']}}]}}]\n"
    )
    procs = []
    with (tmp / "am.log").open("wb") as am_log, (tmp / "prom.log").open("wb") as prom_log:
        procs.append(subprocess.Popen(
            [str(shutil.which("prometheus-alertmanager")), f"--config.file={tmp / 'am.yml'}",
             f"--storage.path={tmp / 'am'}", f"--web.listen-address=127.0.0.1:{am_port}",
             "--cluster.listen-address="], stdout=am_log, stderr=am_log))  # fmt: skip
        procs.append(subprocess.Popen(
            [str(shutil.which("prometheus")), f"--config.file={tmp / 'prometheus.yml'}",
             f"--storage.tsdb.path={tmp / 'tsdb'}", f"--web.listen-address=127.0.0.1:{prom_port}"],
            stdout=prom_log, stderr=prom_log))  # fmt: skip
    url = f"http://127.0.0.1:{prom_port}"
    try:
        # Wait for the first real sample, not for /-/ready (it comes seconds later).
        wait_for(
            lambda: any(r["value"][1] == "1" for r in prom_query(url, 'up{job="netmon"}')),
            60,
            "first scrape",
        )
        yield Stack(url, webhook)
    finally:
        for proc in procs:
            stop_process(proc)
        webhook.shutdown()
        webhook.server_close()


def test_a_real_failure_pages_and_resolves(lab: Lab, baseline: Daemon, stack: Stack) -> None:
    """Standby stopped, then the pair split: each reaches the pager with its pair label, and the
    resolved notice follows the repair. Fault-to-page times are measured."""
    wait_for(lambda: not prom_query(stack.prometheus, 'ALERTS{alertstate="firing",alertname=~"NetmonRedundancyLost|NetmonPairSplitBrain"}'),
             60, "no pair alert firing before the test")  # fmt: skip
    t0 = time.monotonic()
    lab.stop("r2", "keepalived")
    at, paged = stack.webhook.wait("NetmonRedundancyLost", "firing", t0)
    assert paged["labels"]["pair"] in PAIRS
    assert paged["labels"]["severity"] == "page"
    DELAYS.append(("standby stopped -> page at the webhook (rules' for: shortened to 2s)", at - t0))
    t1 = time.monotonic()
    lab.start("r2", "keepalived")
    at, _ = stack.webhook.wait("NetmonRedundancyLost", "resolved", t1)
    DELAYS.append(("standby started -> resolved at the webhook", at - t1))
    wait_for(baseline.healthy, 30, "healthy before the split")

    t2 = time.monotonic()
    lab.split(on=True)
    try:
        at, split = stack.webhook.wait("NetmonPairSplitBrain", "firing", t2)
        assert split["labels"]["pair"] in PAIRS
        DELAYS.append(("pair cut apart -> split-brain page at the webhook", at - t2))
    finally:
        lab.split(on=False)
    stack.webhook.wait("NetmonPairSplitBrain", "resolved", time.monotonic())


def test_every_dashboard_query_returns_data(
    lab: Lab, baseline: Daemon, stack: Stack, tmp_path: Path
) -> None:
    # A drill in the daemon's journal, so the drill panels have something to show.
    drill = subprocess.run(
        [*NETMON, "drill", "run", "lab-v2", "-i", str(baseline.inventory), "--yes", "--json"],
        capture_output=True, text=True, timeout=120, env=baseline.env,
    )  # fmt: skip
    assert drill.returncode == 0, drill.stdout + drill.stderr
    wait_for(baseline.healthy, 30, "healthy after the drill")
    queries = [concrete(expr) for _, _, expr in panel_queries()]
    wait_for(
        lambda: all(prom_query(stack.prometheus, q) for q in queries),
        60,
        "every dashboard query has data",
    )
    for expr in queries:
        assert prom_query(stack.prometheus, expr), expr


def test_lab_status_command(lab: Lab, baseline: Daemon) -> None:
    result = subprocess.run([*NETMON, "lab", "status"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert "10.99.0.51, 10.99.0.52" in result.stdout
    status = lab.status()
    assert status.running
    validate = subprocess.run([*NETMON, "inventory", "validate", str(REPO / "inventory" / "lab.yaml")],
                              capture_output=True, text=True, timeout=30)  # fmt: skip
    assert validate.returncode == 0, validate.stderr
    # sshd answers with the key generated at `up` (the SSH collector's target in later work).
    ssh = subprocess.run(
        ["ssh", "-i", str(lab.client_key), "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
         "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=5", "root@10.99.0.12",
         "ip -o -4 addr show dev eth0"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert ssh.returncode == 0, ssh.stderr
    assert "10.99.0.12/24" in ssh.stdout
    assert status.routers[0].vips == ("10.99.0.51", "10.99.0.52")


def test_the_lab_folder_is_root_only_and_its_daemons_run_as_root(lab: Lab) -> None:
    """The lab folder is 0700: that works only because every daemon reading it runs as root
    (snmpd is not given -u, sshd's unprivileged child reads nothing there)."""
    for path, mode in ((lab.root, 0o700), (lab.community_file, 0o600), (lab.client_key, 0o600)):
        st = path.lstat()
        assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (0, 0, mode), path
    status = lab.status()
    assert status.running
    for router in status.routers:
        for daemon, pid in router.daemons.items():
            uids = next(
                line.split()[1:]
                for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                if line.startswith("Uid:")
            )
            assert uids == ["0"] * 4, (router.router, daemon, uids)


def lab_pids(lab: Lab) -> list[int]:
    """Every process in the lab's namespaces now (the daemons and their children)."""
    pids = []
    for router in ROUTERS:
        out = subprocess.run(["ip", "netns", "pids", router.netns], capture_output=True,
                             text=True, check=False).stdout  # fmt: skip
        pids += [int(p) for p in out.split()]
    return pids


def assert_nothing_left(pids: list[int]) -> None:
    """No namespace, bridge, port, mount or process (by PID) of the lab is left."""
    netns = subprocess.run(
        ["ip", "netns", "list"], capture_output=True, text=True, check=True
    ).stdout
    assert not any(r.netns in netns for r in ROUTERS), netns
    assert not Path(f"/sys/class/net/{BRIDGE}").exists()
    assert not any(Path(f"/sys/class/net/{r.host_port}").exists() for r in ROUTERS)
    # Ended daemons are reaped by init, which may take a moment: wait for /proc to forget them.
    wait_for(
        lambda: not any(Path(f"/proc/{pid}").exists() for pid in pids),
        10,
        f"lab processes {pids} gone",
        0.1,
    )
    mounts = Path("/proc/self/mountinfo").read_text()
    assert "nmlab" not in mounts
    assert "netmon-lab" not in mounts


def test_down_leaves_nothing_and_up_is_idempotent(rebuilt: Lab) -> None:
    """Takes the session's lab down and builds it again: `rebuilt` puts it back for the others,
    whatever the order of the tests."""
    lab = rebuilt
    lab.reset()
    daemons = [p for r in lab.status().routers for p in r.daemons.values() if p]
    assert len(daemons) == 6
    pids = lab_pids(lab)
    assert set(daemons) <= set(pids)
    lab.down()
    assert_nothing_left(pids)
    assert lab.status().routers[0].netns is False
    lab.down()  # twice is fine
    # Leftovers of a failed `up`: a namespace and the bridge, nothing running. `up` copes.
    subprocess.run(["ip", "netns", "add", ROUTERS[0].netns], check=True)
    subprocess.run(["ip", "link", "add", BRIDGE, "type", "bridge"], check=True)
    lab.up()
    lab.up()  # again on a running lab: rebuilt, not doubled
    assert lab.status().running
    assert len([p for r in lab.status().routers for p in r.daemons.values() if p]) == 6


class Interrupted(KeyboardInterrupt):
    """Ctrl-C, raised by the test at a chosen step of `up`."""


@pytest.mark.parametrize("failure", ["daemon-exits", "ctrl-c-after-every-daemon-runs"])
def test_a_failed_up_leaves_nothing_behind(
    rebuilt: Lab, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    """`up` failing half-way (a daemon that exits at once; Ctrl-C with both routers' daemons
    running) ends every process it started and deletes every namespace, port and bridge it made
    before the error reaches the caller."""
    lab = rebuilt
    at_failure: list[int] = []
    if failure == "daemon-exits":
        # r2's keepalived is a program that exits 1 at once, after four daemons started.
        real_find, real_start = labmod._find, Lab.start
        current: list[str] = []

        def find(tool: str) -> str:
            if tool == "keepalived" and current == ["r2"]:
                return shutil.which("false") or "/bin/false"
            return real_find(tool)

        def start(self: Lab, router: str, daemon: str) -> int:
            current[:] = [router]
            try:
                return real_start(self, router, daemon)
            except LabError:
                at_failure.extend(lab_pids(self))
                raise

        monkeypatch.setattr(labmod, "_find", find)
        monkeypatch.setattr(Lab, "start", start)
        expected: type[BaseException] = LabError
        match: str | None = "keepalived on r2 did not start"
    else:

        def interrupt(self: Lab, *_args: object, **_kwargs: object) -> None:
            at_failure.extend(lab_pids(self))
            raise Interrupted

        monkeypatch.setattr(Lab, "wait_for_masters", interrupt)
        expected, match = Interrupted, None
    with pytest.raises(expected, match=match):
        lab.up()
    # It failed where meant to, with daemons running: r1's three and r2's snmpd, or all six.
    assert len(at_failure) >= (4 if failure == "daemon-exits" else 6), at_failure
    assert_nothing_left(at_failure)


def test_lab_needs_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(LabError, match="needs root"):
        Lab().up()
