"""The FRR lab: FRR 8.4's vrrpd and zebra in two router namespaces (netmon/lab/frr.py).

The lab tests pull each lever and watch the VIP move with `holders()` (from `ip`, independent of
vrrpd) and vrrpd's own JSON; the delays from lever to the new master are measured and printed at
the end of the run (docs/lab.md, "FRR"). Each restores the baseline (`reset`) before and after.
The folder tests at the end run no `ip` and start nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from netmon.cli import app
from netmon.lab import FrrLab, LabError
from netmon.lab import frr as frrmod
from netmon.lab import lab as labmod

from .conftest import stop_process
from .helpers import DELAYS

pytestmark = pytest.mark.root
runner = CliRunner()


def _link(ns: str) -> str:
    return subprocess.run(
        ["ip", "-n", ns, "-o", "link", "show", "dev", frrmod.MACVLAN],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip


def _addrs(ns: str) -> str:
    return subprocess.run(
        ["ip", "-n", ns, "-o", "-4", "addr", "show", "dev", frrmod.MACVLAN],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip


def until_holders(lab: FrrLab, expected: tuple[str, ...], timeout: float = 15.0) -> float:
    """Seconds until exactly `expected` hold the VIP on an up, non-protodown macvlan."""
    started = time.monotonic()
    held: tuple[str, ...] = ()
    while time.monotonic() - started < timeout:
        held = lab.holders()
        if held == expected:
            return time.monotonic() - started
        time.sleep(0.05)
    pytest.fail(f"VIP held by {held} after {timeout}s, expected {expected}")


@pytest.fixture
def frr(frr_lab: FrrLab) -> Iterator[FrrLab]:
    frr_lab.reset()
    yield frr_lab
    frr_lab.reset()


# -- up -------------------------------------------------------------------------------------


@pytest.mark.lab
def test_up_converges_and_the_backup_keeps_the_vip_on_a_protodown_macvlan(frr: FrrLab) -> None:
    status = frr.status()
    assert status.running and status.bridge
    by_name = {r.router: r for r in status.routers}
    assert by_name["f1"].vrrp == "Master" and by_name["f1"].holds_vip
    assert by_name["f2"].vrrp == "Backup" and not by_name["f2"].holds_vip
    assert frr.holders() == ("f1",)
    # The point of this lab: the backup's macvlan has the VIP all the same, protodown.
    f1, f2 = frrmod.ROUTERS
    assert "protodown on" not in _link(f1.netns) and "LOWER_UP" in _link(f1.netns)
    assert "protodown on" in _link(f2.netns)
    for router in (f1, f2):
        assert f" {frrmod.VIP}/24 " in _addrs(router.netns)
    group = frr.vrrp_status("f1")
    assert group["vrid"] == 61 and group["version"] == 3
    assert group["advertisementInterval"] == 1000  # milliseconds
    assert group["v4"]["effectivePriority"] == 150
    assert group["v4"]["addresses"] == [frrmod.VIP]
    assert frr.vrrp_status("f2")["v4"]["effectivePriority"] == 100


@pytest.mark.lab
def test_ssh_and_plain_vtysh_read_each_routers_own_group(frr: FrrLab) -> None:
    for router, state in (("f1", "Master"), ("f2", "Backup")):
        address = frr.router(router).address
        result = subprocess.run(
            ["ssh", "-i", str(frr.client_key), "-o", f"UserKnownHostsFile={frr.known_hosts}",
             "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", f"root@{address}",
             "vtysh -c 'show vrrp interface eth0 61 json'"],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        (group,) = json.loads(result.stdout)
        assert group["v4"]["status"] == state
        assert group["v4"]["effectivePriority"] == frr.router(router).priority


# -- levers ---------------------------------------------------------------------------------


@pytest.mark.lab
def test_stopping_the_masters_vrrpd_fails_over_and_starting_it_preempts(frr: FrrLab) -> None:
    started = time.monotonic()
    frr.stop("f1", "vrrpd")
    until_holders(frr, ("f2",))
    DELAYS.append(("FRR: vrrpd stopped on f1 -> f2 holds the VIP", time.monotonic() - started))
    assert frr.vrrp_state("f2") == "Master"
    assert frr.vrrp_state("f1") is None  # vrrpd gone: nothing answers
    assert "protodown on" in _link(frr.router("f1").netns)  # set by vrrpd on its way out
    assert frr.status().routers[0].daemons["vrrpd"] is None
    started = time.monotonic()
    frr.start("f1", "vrrpd")
    until_holders(frr, ("f1",))
    DELAYS.append(("FRR: vrrpd started on f1 -> f1 preempts", time.monotonic() - started))
    frr.wait_for(frrmod.BASELINE, 5)


@pytest.mark.lab
def test_shutdown_puts_the_group_in_initialize(frr: FrrLab) -> None:
    started = time.monotonic()
    frr.shutdown("f1", True)
    until_holders(frr, ("f2",))
    DELAYS.append(("FRR: vrrp 61 shutdown on f1 -> f2 holds the VIP", time.monotonic() - started))
    frr.wait_for({"f1": "Initialize", "f2": "Master"}, 5)
    assert frr.vrrp_status("f1")["shutdown"] is True
    started = time.monotonic()
    frr.shutdown("f1", False)
    until_holders(frr, ("f1",))
    DELAYS.append(("FRR: no vrrp 61 shutdown on f1 -> f1 preempts", time.monotonic() - started))


@pytest.mark.lab
def test_split_makes_both_master_and_healing_leaves_f1(frr: FrrLab) -> None:
    started = time.monotonic()
    frr.split(True)
    until_holders(frr, ("f1", "f2"))
    DELAYS.append(("FRR: split -> both hold the VIP", time.monotonic() - started))
    frr.wait_for({"f1": "Master", "f2": "Master"}, 5)
    started = time.monotonic()
    frr.split(False)
    until_holders(frr, ("f1",))
    DELAYS.append(("FRR: healed -> f1 alone", time.monotonic() - started))


@pytest.mark.lab
def test_a_lower_priority_hands_over_and_restoring_it_preempts(frr: FrrLab) -> None:
    started = time.monotonic()
    frr.priority("f1", 50)
    until_holders(frr, ("f2",))
    DELAYS.append(("FRR: f1 priority 150 -> 50: f2 holds the VIP", time.monotonic() - started))
    frr.wait_for({"f1": "Backup", "f2": "Master"}, 5)
    assert frr.vrrp_status("f1")["v4"]["effectivePriority"] == 50
    started = time.monotonic()
    frr.priority("f1", 150)
    until_holders(frr, ("f1",))
    DELAYS.append(("FRR: f1 priority back to 150 -> f1 preempts", time.monotonic() - started))
    with pytest.raises(LabError, match=r"1\.\.254"):
        frr.priority("f1", 255)


@pytest.mark.lab
def test_stopping_zebra_on_the_master_leaves_vrrp_as_it_was(frr: FrrLab) -> None:
    """vrrpd keeps advertising without zebra (it only needs zebra for interface events and
    protodown): nothing moves."""
    frr.stop("f1", "zebra")
    time.sleep(4)  # past the master-down interval (3.6 s)
    assert frr.holders() == ("f1",)
    assert frr.vrrp_state("f1") == "Master" and frr.vrrp_state("f2") == "Backup"
    frr.start("f1", "zebra")


@pytest.mark.lab
def test_reset_returns_to_the_baseline(frr: FrrLab) -> None:
    frr.split(True)
    frr.priority("f2", 200)
    frr.shutdown("f1", True)
    frr.stop("f2", "vrrpd")
    frr.stop("f2", "sshd")
    frr.stop("f1", "zebra")
    frr.reset()
    status = frr.status()
    assert status.running
    assert [(r.router, r.vrrp, r.holds_vip) for r in status.routers] == [
        ("f1", "Master", True),
        ("f2", "Backup", False),
    ]
    assert frr.vrrp_status("f2")["v4"]["effectivePriority"] == 100
    assert frr.vrrp_status("f1")["shutdown"] is False
    for router in frrmod.ROUTERS:
        port = subprocess.run(
            ["bridge", "-d", "link", "show", "dev", router.host_port],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        assert "isolated off" in port


@pytest.mark.lab
def test_stop_refuses_a_pid_that_is_not_the_labs(frr: FrrLab, tmp_path: Path) -> None:
    frr.stop("f2", "sshd")
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        labmod.write_file(frr.paths(frr.router("f2")).sshd_pid, f"{stranger.pid}\n", 0o644)
        with pytest.raises(LabError, match="not the FRR lab's sshd of f2"):
            frr.stop("f2", "sshd")
        assert stranger.poll() is None
        assert frr.status().routers[1].daemons["sshd"] is None  # not counted as the lab's
    finally:
        stop_process(stranger)
    frr.start("f2", "sshd")


@pytest.mark.lab
def test_cli_drives_the_frr_lab(frr: FrrLab) -> None:
    result = runner.invoke(app, ["lab", "status", "--vrrp", "frr"])
    assert result.exit_code == 0, result.output
    assert "Master" in result.output and "Backup" in result.output
    result = runner.invoke(app, ["lab", "priority", "f1", "50", "--vrrp", "frr"])
    assert result.exit_code == 0, result.output
    until_holders(frr, ("f2",))
    result = runner.invoke(app, ["lab", "shutdown", "f2", "on", "--vrrp", "frr"])
    assert result.exit_code == 0, result.output
    until_holders(frr, ("f1",))
    assert frr.vrrp_state("f2") == "Initialize"


@pytest.mark.lab
def test_down_leaves_nothing_and_up_builds_again(frr_lab: FrrLab) -> None:
    frr_lab.down()
    assert not any(Path(f"/run/netns/{r.netns}").exists() for r in frrmod.ROUTERS)
    for link in (frrmod.BRIDGE, *(r.host_port for r in frrmod.ROUTERS)):
        assert not Path(f"/sys/class/net/{link}").exists(), link
    root = str(frr_lab.root)
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            assert root not in cmdline, f"pid {proc.name} left: {cmdline!r}"
    status = frr_lab.status()
    assert not status.running and not status.bridge
    assert frr_lab.holders() == ()
    started = time.monotonic()
    frr_lab.up()
    DELAYS.append(("FRR lab up again after down", time.monotonic() - started))
    assert frr_lab.holders() == ("f1",)


# -- the folder, and no lab ----------------------------------------------------------------


@pytest.fixture
def no_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    if os.geteuid() != 0:
        pytest.skip("the lab commands need root")

    def tripwire(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        raise AssertionError(f"an FRR lab command ran {args} past its folder checks")

    monkeypatch.setattr(labmod, "_run", tripwire)
    monkeypatch.setattr(frrmod, "_find", lambda tool: tool)


@pytest.fixture
def frr_root(tmp_path: Path) -> Path:
    """A well-made FRR lab folder: root's 0710 group frr, router folders, frr's own folders."""
    uid, gid = frrmod._frr_ids()
    root = tmp_path / "frrlab"
    root.mkdir(mode=0o710)
    os.chown(root, 0, gid)
    (root / "ssh").mkdir(mode=0o700)
    for router in ("f1", "f2"):
        (root / router).mkdir(mode=0o710)
        os.chown(root / router, 0, gid)
        (root / router / "frr").mkdir(mode=0o750)
        os.chown(root / router / "frr", uid, gid)
    return root


LEVERS = {
    "status": lambda lab: lab.status(),
    "down": lambda lab: lab.down(),
    "up": lambda lab: lab.up(),
    "start": lambda lab: lab.start("f1", "vrrpd"),
    "stop": lambda lab: lab.stop("f1", "vrrpd"),
    "shutdown": lambda lab: lab.shutdown("f1", True),
    "priority": lambda lab: lab.priority("f1", 50),
    "split": lambda lab: lab.split(True),
    "reset": lambda lab: lab.reset(),
    "holders": lambda lab: lab.holders(),
    "vrrp_status": lambda lab: lab.vrrp_status("f1"),
}


@pytest.mark.usefixtures("no_commands")
@pytest.mark.parametrize("lever", sorted(LEVERS))
def test_a_folder_others_can_write_is_refused_by_every_method(frr_root: Path, lever: str) -> None:
    frr_root.chmod(0o777)
    with pytest.raises(LabError, match="writable by group or others"):
        LEVERS[lever](FrrLab(frr_root))


@pytest.mark.usefixtures("no_commands")
@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda root: (root / "f1").chmod(0o730), "writable by group or others"),
        (lambda root: (root / "f1" / "frr").chmod(0o770), "writable by group or others"),
        (lambda root: os.chown(root / "f1" / "frr", 0, 0), "not frr's"),
        (lambda root: os.chown(root / "f2", 65534, 65534), "owned by uid 65534"),
        (lambda root: os.chown(root, 65534, 65534), "owned by uid 65534"),
    ],
    ids=["router-folder-group-writable", "frr-folder-group-writable", "frr-folder-roots",
         "router-folder-nobodys", "lab-folder-nobodys"],
)  # fmt: skip
def test_a_changed_folder_is_refused(frr_root: Path, change: object, message: str) -> None:
    change(frr_root)  # type: ignore[operator]
    for lever in ("status", "stop", "priority", "up"):
        with pytest.raises(LabError, match=message):
            LEVERS[lever](FrrLab(frr_root))


@pytest.mark.usefixtures("no_commands")
def test_a_symlinked_pid_file_is_refused(frr_root: Path, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_text(f"{os.getpid()}\n")
    (frr_root / "f1" / "frr" / "vrrpd.pid").symlink_to(target)
    with pytest.raises(LabError, match="symlink"):
        FrrLab(frr_root).stop("f1", "vrrpd")


@pytest.mark.usefixtures("no_commands")
def test_the_cli_refuses_too_and_frr_only_commands_name_the_choice(frr_root: Path) -> None:
    frr_root.chmod(0o777)
    for args in (["up"], ["status"], ["down"], ["stop", "f1", "vrrpd"], ["priority", "f1", "50"],
                 ["shutdown", "f1", "on"], ["split", "on"], ["start", "f1", "zebra"]):  # fmt: skip
        result = runner.invoke(app, ["lab", *args, "--vrrp", "frr", "--dir", str(frr_root)])
        assert result.exit_code == 2, (args, result.output)
        assert str(frr_root) in result.output
    result = runner.invoke(app, ["lab", "shutdown", "r1", "on", "--dir", str(frr_root)])
    assert result.exit_code == 2
    assert "--vrrp frr" in result.output and "keepalived" in result.output
    result = runner.invoke(app, ["lab", "status", "--vrrp", "vyos"])
    assert result.exit_code == 2 and "keepalived, frr" in result.output


def test_the_frr_lab_coexists_with_the_keepalived_lab(monkeypatch: pytest.MonkeyPatch) -> None:
    """Its own folder, bridge, namespaces, ports and subnet; the keepalived lab's bridge in
    10.99.0.0/24 is no reason to refuse, an address in 10.99.1.0/24 elsewhere is."""
    from netmon.cli.lab import DEFAULT_FRR_LAB_DIR, DEFAULT_LAB_DIR
    from netmon.lab import topology

    assert DEFAULT_FRR_LAB_DIR == frrmod.DEFAULT_DIR != DEFAULT_LAB_DIR == topology.DEFAULT_DIR
    assert frrmod.BRIDGE != topology.BRIDGE
    names = {r.netns for r in frrmod.ROUTERS} | {r.host_port for r in frrmod.ROUTERS}
    assert not names & (
        {r.netns for r in topology.ROUTERS} | {r.host_port for r in topology.ROUTERS}
    )
    assert not frrmod.LAB_NET.overlaps(labmod.LAB_NET)

    def ip_addr(line: str) -> None:
        monkeypatch.setattr(
            labmod, "_run", lambda *a, check=True: subprocess.CompletedProcess(a, 0, line, "")
        )

    ip_addr("7: nmlab0    inet 10.99.0.1/24 scope global nmlab0\n9: nmfrr0 inet 10.99.1.1/24 x\n")
    FrrLab()._check_address_space()
    ip_addr("3: eth9    inet 10.99.1.200/24 scope global eth9\n")
    with pytest.raises(LabError, match=r"eth9 already has 10\.99\.1\.200/24"):
        FrrLab()._check_address_space()
