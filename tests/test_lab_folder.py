"""The lab folder and its files, checked by every lab command (issue 15, item 5).

Unit tests in tmp folders: nothing here runs `ip`, `bridge` or a lab daemon (`_run` is replaced by
a tripwire), and the only processes signalled are the ones these tests start themselves.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from netmon.cli import app
from netmon.lab import Lab, LabError
from netmon.lab import lab as labmod

pytestmark = pytest.mark.root

NOBODY = 65534
runner = CliRunner()


@pytest.fixture(autouse=True)
def _needs_root_and_no_real_lab(monkeypatch: pytest.MonkeyPatch) -> None:
    if os.geteuid() != 0:
        pytest.skip("the lab commands need root")

    def tripwire(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        raise AssertionError(f"a lab command ran {args} past its folder checks")

    monkeypatch.setattr(labmod, "_run", tripwire)
    monkeypatch.setattr(labmod, "_find", lambda tool: tool)


@pytest.fixture
def lab_root(tmp_path: Path) -> Path:
    """A well-made lab folder: root's, 0700, with a router folder and an ssh folder."""
    root = tmp_path / "lab"
    root.mkdir(mode=0o700)
    for sub in ("r1", "r2", "ssh"):
        (root / sub).mkdir(mode=0o755)
    for lever in ("track-fault", "track-priority"):
        (root / "r1" / lever).write_text("0\n")
    return root


@pytest.fixture
def precious(tmp_path: Path) -> Path:
    """A root-owned file outside the lab that a planted symlink points at."""
    target = tmp_path / "precious"
    target.write_text("do not touch\n")
    target.chmod(0o644)
    return target


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    """A process of our own that is not a lab daemon."""
    proc = subprocess.Popen(["sleep", "300"])
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()


def _alive(proc: subprocess.Popen[bytes]) -> bool:
    time.sleep(0.2)
    return proc.poll() is None


# -- planted symlinks -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lever", "pull"),
    [
        ("track-fault", lambda lab: lab.fault("r1", True)),
        ("track-priority", lambda lab: lab.low_priority("r1", True)),
    ],
)
def test_symlinked_track_file_is_refused_and_its_target_untouched(
    lab_root: Path, precious: Path, lever: str, pull: Callable[[Lab], None]
) -> None:
    track = lab_root / "r1" / lever
    track.unlink()
    track.symlink_to(precious)
    with pytest.raises(LabError, match="symlink") as info:
        pull(Lab(lab_root))
    assert str(track) in str(info.value)
    assert precious.read_text() == "do not touch\n"
    assert track.is_symlink()


def test_lab_fault_command_names_the_symlink(lab_root: Path, precious: Path) -> None:
    track = lab_root / "r1" / "track-fault"
    track.unlink()
    track.symlink_to(precious)
    result = runner.invoke(app, ["lab", "fault", "r1", "on", "--dir", str(lab_root)])
    assert result.exit_code == 2, result.output
    assert str(track) in result.output
    assert precious.read_text() == "do not touch\n"


def test_symlinked_pid_file_is_refused_and_its_process_survives(
    lab_root: Path, tmp_path: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    target = tmp_path / "elsewhere.pid"
    target.write_text(f"{sleeper.pid}\n")
    pid_file = lab_root / "r1" / "keepalived.pid"
    pid_file.symlink_to(target)
    with pytest.raises(LabError, match="symlink") as info:
        Lab(lab_root).stop("r1", "keepalived")
    assert str(pid_file) in str(info.value)
    assert _alive(sleeper)
    assert target.read_text() == f"{sleeper.pid}\n"
    result = runner.invoke(app, ["lab", "stop", "r1", "keepalived", "--dir", str(lab_root)])
    assert result.exit_code == 2, result.output
    assert str(pid_file) in result.output
    assert _alive(sleeper)


def test_symlinked_community_file_is_refused(lab_root: Path, precious: Path) -> None:
    (lab_root / "community").symlink_to(precious)
    with pytest.raises(LabError, match="symlink"):
        Lab(lab_root).community()


# -- pid files naming someone else --------------------------------------------------------------


def test_pid_file_of_a_process_that_is_not_the_lab_daemon_is_refused(
    lab_root: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    pid_file = lab_root / "r1" / "snmpd.pid"
    pid_file.write_text(f"{sleeper.pid}\n")
    with pytest.raises(LabError, match="not the lab's snmpd") as info:
        Lab(lab_root).stop("r1", "snmpd")
    assert str(pid_file) in str(info.value)
    assert _alive(sleeper)
    result = runner.invoke(app, ["lab", "stop", "r1", "snmpd", "--dir", str(lab_root)])
    assert result.exit_code == 2, result.output
    assert _alive(sleeper)


def test_pid_file_not_owned_by_root_is_refused(
    lab_root: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    pid_file = lab_root / "r1" / "sshd.pid"
    pid_file.write_text(f"{sleeper.pid}\n")
    os.chown(pid_file, NOBODY, NOBODY)
    with pytest.raises(LabError, match="owned by uid 65534") as info:
        Lab(lab_root).stop("r1", "sshd")
    assert str(pid_file) in str(info.value)
    assert _alive(sleeper)


def _fake_daemon(conf: Path) -> subprocess.Popen[bytes]:
    """A process of ours whose command line looks like the lab's keepalived of r1."""
    code = "import time; time.sleep(300)"
    return subprocess.Popen([sys.executable, "-c", code, "keepalived", "-f", str(conf)])


def test_the_lab_daemon_itself_is_stopped(lab_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lab = Lab(lab_root)
    conf = lab.paths(lab.router("r1")).keepalived_conf
    proc = _fake_daemon(conf)
    try:
        (lab_root / "r1" / "keepalived.pid").write_text(f"{proc.pid}\n")
        # Outside the router's namespace it is not the lab's: refused.
        with pytest.raises(LabError, match="not the lab's keepalived"):
            lab.stop("r1", "keepalived")
        assert _alive(proc)
        # In the namespace (pretended here) with the router's config: this is the one to stop.
        monkeypatch.setattr(labmod, "_same_netns", lambda pid, netns: netns == "nmlab-r1")
        lab.stop("r1", "keepalived")
        assert proc.wait(timeout=5) == -signal.SIGTERM
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()


def test_a_daemon_of_the_other_router_is_not_this_routers(
    lab_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lab = Lab(lab_root)
    proc = _fake_daemon(lab.paths(lab.router("r2")).keepalived_conf)
    try:
        (lab_root / "r1" / "keepalived.pid").write_text(f"{proc.pid}\n")
        monkeypatch.setattr(labmod, "_same_netns", lambda pid, netns: True)
        with pytest.raises(LabError, match="not the lab's keepalived of r1"):
            lab.stop("r1", "keepalived")
        assert _alive(proc)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()


# -- the folder itself, for every command -------------------------------------------------------

COMMANDS: dict[str, Callable[[Lab], object]] = {
    "up": lambda lab: lab.up(),
    "down": lambda lab: lab.down(),
    "status": lambda lab: lab.status(),
    "start": lambda lab: lab.start("r1", "snmpd"),
    "stop": lambda lab: lab.stop("r1", "snmpd"),
    "fault": lambda lab: lab.fault("r1", True),
    "priority": lambda lab: lab.low_priority("r1", True),
    "mtu": lambda lab: lab.set_mtu("r1", 1400),
    "split": lambda lab: lab.split(True),
    "reset": lambda lab: lab.reset(),
    "community": lambda lab: lab.community(),
}


def _not_roots(root: Path) -> Path:
    os.chown(root, NOBODY, NOBODY)
    return root


def _group_writable(root: Path) -> Path:
    root.chmod(0o770)
    return root


def _other_writable(root: Path) -> Path:
    root.chmod(0o703)
    return root


def _symlinked(root: Path) -> Path:
    link = root.with_name("lab-link")
    link.symlink_to(root)
    return link


def _router_folder_not_roots(root: Path) -> Path:
    os.chown(root / "r1", NOBODY, NOBODY)
    return root


def _ssh_folder_writable(root: Path) -> Path:
    (root / "ssh").chmod(0o777)
    return root


SPOILERS: dict[str, Callable[[Path], Path]] = {
    "not root's": _not_roots,
    "group-writable": _group_writable,
    "other-writable": _other_writable,
    "a symlink": _symlinked,
    "router folder not root's": _router_folder_not_roots,
    "ssh folder writable": _ssh_folder_writable,
}


@pytest.mark.parametrize("spoil", SPOILERS.values(), ids=SPOILERS.keys())
@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
def test_every_command_refuses_a_bad_lab_folder(
    lab_root: Path, spoil: Callable[[Path], Path], command: Callable[[Lab], object]
) -> None:
    (lab_root / "community").write_text("secret\n")
    (lab_root / "community").chmod(0o600)
    lever = lab_root / "r1" / "track-fault"
    root = spoil(lab_root)
    with pytest.raises(LabError, match="not using it"):
        command(Lab(root))
    assert lever.read_text() == "0\n"


@pytest.mark.parametrize(
    "args",
    [
        ["status"],
        ["down"],
        ["stop", "r1", "snmpd"],
        ["start", "r1", "snmpd"],
        ["fault", "r1", "on"],
        ["priority", "r1", "low"],
        ["mtu", "r1", "1400"],
        ["split", "on"],
    ],
    ids=lambda a: a[0],
)
def test_every_cli_command_refuses_a_folder_not_roots(lab_root: Path, args: list[str]) -> None:
    os.chown(lab_root, NOBODY, NOBODY)
    result = runner.invoke(app, ["lab", *args, "--dir", str(lab_root)])
    assert result.exit_code == 2, result.output
    assert str(lab_root) in result.output
    assert "owned by uid 65534" in result.output


def test_a_missing_folder_is_refused_not_created(tmp_path: Path) -> None:
    with pytest.raises(LabError, match="does not exist"):
        Lab(tmp_path / "absent").fault("r1", True)
    assert not (tmp_path / "absent").exists()
