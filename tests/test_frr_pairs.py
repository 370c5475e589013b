"""netmon against FRR's vrrpd: one VRRP group watched three ways (inventory/lab-frr.yaml).

`lab-frr` reads FRR's own JSON (frr-vrrp), `lab-frr-vip` who holds the VIP on a link that is up
(linux-vip: FRR keeps the address on the backup's protodown macvlan), `lab-frr-cmd` the same JSON
through the generic `command` kind. Each test pulls a real lever of the FRR lab (vrrpd stopped,
`vrrp 61 shutdown`, bridge port isolation, a priority) and reads the verdict from the running
daemon's /metrics, as Prometheus would. Delays are printed at the end of the run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from netmon.lab import FrrLab

from .conftest import REPO, free_tcp_port, stop_process
from .helpers import DELAYS, get, sample, states, wait_for

pytestmark = [pytest.mark.lab, pytest.mark.root]

PAIRS = ("lab-frr", "lab-frr-vip", "lab-frr-cmd")
NETMON = [sys.executable, "-m", "netmon"]
HEALTHY = dict.fromkeys(PAIRS, "healthy")


def frr_inventory(lab: FrrLab, tmp: Path) -> Path:
    """inventory/lab-frr.yaml for this lab's folder, with a short flap window (every test fails
    over and back: with 60 s the pairs would read as flapping from the third test on)."""
    text = (REPO / "inventory" / "lab-frr.yaml").read_text()
    text = text.replace("/var/lib/netmon-lab-frr", str(lab.root))
    text = text.replace("flap_window: 60", "flap_window: 5")
    path = tmp / "lab-frr.yaml"
    path.write_text(text)
    return path


class Daemon:
    def __init__(self, inventory: Path, log: Path) -> None:
        self.inventory = inventory
        self.listen = f"127.0.0.1:{free_tcp_port()}"
        self.log = log
        env = {**os.environ, "XDG_STATE_HOME": str(log.parent / "state")}
        with log.open("ab") as sink:
            self.proc = subprocess.Popen([*NETMON, "run", "-i", str(inventory), "--listen", self.listen],
                                         stdout=sink, stderr=sink, env=env)  # fmt: skip

    def states(self) -> dict[str, str]:
        if self.proc.poll() is not None:
            pytest.fail(f"netmon run exited with {self.proc.returncode}:\n{self.log.read_text()}")
        return states(self.listen)

    def role(self, pair: str, member: str) -> str | None:
        for role in ("active", "standby", "fault", "unknown", "unreachable"):
            got = sample(self.listen, "netmon_member_role", pair=pair, member=member, role=role)
            if got == 1.0:
                return role
        return None

    def pair(self, name: str) -> dict[str, object]:
        pairs = json.loads(get(f"http://{self.listen}/api/v1/pairs"))
        found: dict[str, object] = next(p for p in pairs["pairs"] if p["pair"] == name)
        return found

    def reasons(self, name: str) -> str:
        return " | ".join(str(r) for r in self.pair(name)["reasons"])  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def watcher(frr_lab: FrrLab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    tmp = tmp_path_factory.mktemp("frr-daemon")
    daemon = Daemon(frr_inventory(frr_lab, tmp), tmp / "netmon.log")
    try:
        yield daemon
    finally:
        stop_process(daemon.proc)
        log = daemon.log.read_text()
        assert "Traceback" not in log, log[-3000:]


@pytest.fixture
def baseline(frr_lab: FrrLab, watcher: Daemon) -> Daemon:
    """Every test starts from the healthy lab, f1 Master, as the daemon sees it."""
    frr_lab.reset()
    wait_for(lambda: watcher.states() == HEALTHY, 40, "all FRR pairs healthy")
    return watcher


def wait_state(daemon: Daemon, pair: str, state: str, timeout: float = 30) -> float:
    return wait_for(lambda: daemon.states().get(pair) == state, timeout, f"{pair} {state}", 0.1)


def test_healthy_is_healthy_and_never_split_brain(frr_lab: FrrLab, baseline: Daemon) -> None:
    """The fact this lab is for: the backup keeps the VIP on its protodown macvlan, and no
    pair reads it as a second holder, over 10 s of polls (every 2 s)."""
    assert frr_lab.vrrp_state("f2") == "Backup"
    deadline = time.monotonic() + 10
    seen: set[tuple[str, str]] = set()
    while time.monotonic() < deadline:
        seen |= set(baseline.states().items())
        time.sleep(0.2)
    assert seen == set(HEALTHY.items()), seen
    for pair in PAIRS:
        assert baseline.role(pair, "f1") == "active", pair
        assert baseline.role(pair, "f2") == "standby", pair
    assert sample(baseline.listen, "netmon_pair_on_preferred", pair="lab-frr") == 1.0


def test_vrrpd_stopped_on_the_master_fails_over_and_preempts_back(
    frr_lab: FrrLab, baseline: Daemon
) -> None:
    started = time.monotonic()
    frr_lab.stop("f1", "vrrpd")
    wait_for(lambda: baseline.role("lab-frr", "f2") == "active", 20, "f2 active", 0.1)
    DELAYS.append(("FRR vrrpd stopped on f1: f2 active (lab-frr)", time.monotonic() - started))
    wait_state(baseline, "lab-frr", "degraded")
    assert baseline.role("lab-frr", "f1") == "fault"
    assert "vrrpd is not running" in baseline.reasons("lab-frr")
    assert baseline.states()["lab-frr"] != "split_brain"
    started = time.monotonic()
    frr_lab.start("f1", "vrrpd")
    wait_for(lambda: baseline.role("lab-frr", "f1") == "active", 30, "f1 active again", 0.1)
    DELAYS.append(("FRR vrrpd started on f1: preempted back (lab-frr)", time.monotonic() - started))
    wait_for(lambda: baseline.states() == HEALTHY, 30, "all FRR pairs healthy again")
    assert sample(baseline.listen, "netmon_pair_on_preferred", pair="lab-frr") == 1.0


def test_split_is_split_brain_on_every_view(frr_lab: FrrLab, baseline: Daemon) -> None:
    started = time.monotonic()
    frr_lab.split(True)
    try:
        for pair in PAIRS:
            wait_state(baseline, pair, "split_brain")
        DELAYS.append(("FRR split: split_brain on all three views", time.monotonic() - started))
        assert frr_lab.holders() == ("f1", "f2")
    finally:
        frr_lab.split(False)
    wait_for(lambda: baseline.states() == HEALTHY, 40, "all FRR pairs healthy after the heal")


def test_a_shut_group_is_degraded_with_its_reason(frr_lab: FrrLab, baseline: Daemon) -> None:
    started = time.monotonic()
    frr_lab.shutdown("f1", True)
    try:
        for pair in PAIRS:
            wait_state(baseline, pair, "degraded")
        DELAYS.append(
            ("FRR vrrp 61 shutdown on f1: degraded (all views)", time.monotonic() - started)
        )
        assert baseline.role("lab-frr", "f1") == "fault"
        assert baseline.role("lab-frr", "f2") == "active"
        assert "shutdown" in baseline.reasons("lab-frr")
        assert baseline.role("lab-frr-cmd", "f1") == "fault"
        assert baseline.role("lab-frr-vip", "f2") == "active"
        assert frr_lab.holders() == ("f2",)
    finally:
        frr_lab.shutdown("f1", False)
    wait_for(lambda: baseline.states() == HEALTHY, 40, "all FRR pairs healthy after no shutdown")


def test_a_lower_priority_moves_the_master_and_the_pair_stays_healthy(
    frr_lab: FrrLab, baseline: Daemon
) -> None:
    frr_lab.priority("f1", 50)
    try:
        wait_for(lambda: baseline.role("lab-frr", "f2") == "active", 20, "f2 active", 0.1)
        wait_for(
            lambda: sample(baseline.listen, "netmon_pair_on_preferred", pair="lab-frr") == 0.0,
            20, "lab-frr off its preferred member",
        )  # fmt: skip
        # f1 steps down only when f2's first advertisement reaches it: both are Master for
        # ~0.15 s (within the split-brain debounce), and a read round may still catch f1 so.
        wait_for(lambda: baseline.role("lab-frr", "f1") == "standby", 10, "f1 standby", 0.1)
        assert baseline.states()["lab-frr"] == "healthy"
    finally:
        frr_lab.priority("f1", 150)
    wait_for(lambda: baseline.states() == HEALTHY, 40, "all FRR pairs healthy, f1 back")


def test_drill_over_ssh_commands_agrees_with_an_independent_vip_watch(
    frr_lab: FrrLab, baseline: Daemon, tmp_path: Path
) -> None:
    inventory = frr_inventory(frr_lab, tmp_path)
    taken_over: list[float] = []
    stop = threading.Event()

    def watch_vip() -> None:  # independent of netmon: who holds the VIP on an up link
        while not stop.is_set():
            if frr_lab.holders() == ("f2",) and not taken_over:
                taken_over.append(time.time())
            time.sleep(0.02)

    thread = threading.Thread(target=watch_vip, daemon=True)
    thread.start()
    journal = tmp_path / "drills.sqlite"
    try:
        run = subprocess.run(
            [*NETMON, "drill", "run", "lab-frr", "-i", str(inventory), "--journal", str(journal),
             "--yes", "--json"],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    finally:
        stop.set()
        thread.join(timeout=5)
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads(run.stdout)
    assert report["result"] == "passed", report
    assert report["restored"] is True
    assert (report["active_before"], report["standby"]) == ("f1", "f2")
    assert frr_lab.vrrp_state("f1") == "Master" and frr_lab.holders() == ("f1",)
    assert taken_over, "the VIP never moved to f2"
    from .test_lab import wait_for_act_step

    independent = taken_over[0] - wait_for_act_step(journal, 1)
    DELAYS.append(
        ("FRR drill lab-frr: switchover measured by netmon", report["switchover_seconds"])
    )
    DELAYS.append(("FRR drill lab-frr: switchover by an independent VIP watch", independent))
    DELAYS.append(("FRR drill lab-frr: VIP outage", report["vip_outage_seconds"] or 0.0))
    # netmon never sees the takeover before it happened; it sees it one read round late at
    # most: both members read over SSH (vtysh: 0.3-0.5 s a round here) plus the 0.15 s step
    # between rounds. The watch reads `ip` in two namespaces every 20 ms.
    late = report["switchover_seconds"] - independent
    assert -0.1 <= late <= 1.0, (report["switchover_seconds"], independent)
