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


def _parent_writable(root: Path) -> Path:
    root.parent.chmod(0o777)
    return root


def _parent_like_tmp(root: Path) -> Path:
    # World-writable and sticky: nobody could swap root's folder, but anyone could have made it.
    root.parent.chmod(0o1777)
    return root


def _parent_not_roots(root: Path) -> Path:
    os.chown(root.parent, NOBODY, NOBODY)
    return root


SPOILERS: dict[str, Callable[[Path], Path]] = {
    "not root's": _not_roots,
    "group-writable": _group_writable,
    "other-writable": _other_writable,
    "a symlink": _symlinked,
    "router folder not root's": _router_folder_not_roots,
    "ssh folder writable": _ssh_folder_writable,
    "parent writable": _parent_writable,
    "parent like /tmp": _parent_like_tmp,
    "parent not root's": _parent_not_roots,
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


def _snapshot(root: Path) -> dict[str, tuple[int, int, bytes]]:
    """Every entry under `root`: owner, mode and (for files) content."""
    entries = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        content = path.read_bytes() if path.is_file() and not path.is_symlink() else b""
        entries[str(path.relative_to(root))] = (st.st_uid, st.st_mode, content)
    return entries


@pytest.mark.parametrize(
    "args",
    [
        ["up"],
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
    """As if another user had made the folder (and planted a community) while the lab was down:
    every command refuses it, naming it, and changes nothing in it."""
    (lab_root / "community").write_text("planted\n")
    os.chown(lab_root / "community", NOBODY, NOBODY)
    os.chown(lab_root, NOBODY, NOBODY)
    before = _snapshot(lab_root)
    result = runner.invoke(app, ["lab", *args, "--dir", str(lab_root)])
    assert result.exit_code == 2, result.output
    assert str(lab_root) in result.output
    assert "owned by uid 65534" in result.output
    assert _snapshot(lab_root) == before


def test_a_missing_folder_is_refused_not_created(tmp_path: Path) -> None:
    with pytest.raises(LabError, match="does not exist"):
        Lab(tmp_path / "absent").fault("r1", True)
    assert not (tmp_path / "absent").exists()


# -- the folders above it ---------------------------------------------------------------------


@pytest.mark.parametrize("mode", [0o777, 0o1777, 0o775, 0o757], ids=oct)
def test_up_refuses_a_writable_parent_before_creating_anything(tmp_path: Path, mode: int) -> None:
    """A /var/lib-like folder that others can write (0o1777 is /tmp): `up` must not create the
    lab folder in it, since anyone could have created (or could swap) it there first."""
    parent = tmp_path / "var-lib"
    parent.mkdir()
    parent.chmod(mode)
    root = parent / "netmon-lab"
    result = runner.invoke(app, ["lab", "up", "--dir", str(root)])
    assert result.exit_code == 2, result.output
    assert f"{parent}, a parent of the lab folder, is writable by group or others" in result.output
    assert list(parent.iterdir()) == []
    for command in COMMANDS.values():
        with pytest.raises(LabError, match="writable by group or others"):
            command(Lab(root))
    assert list(parent.iterdir()) == []


def test_a_parent_not_roots_is_refused(tmp_path: Path) -> None:
    parent = tmp_path / "var-lib"
    parent.mkdir(mode=0o755)
    os.chown(parent, NOBODY, NOBODY)
    with pytest.raises(LabError, match="owned by uid 65534, not root") as info:
        Lab(parent / "netmon-lab").up()
    assert str(parent) in str(info.value)
    assert list(parent.iterdir()) == []


def test_a_writable_folder_higher_up_is_refused_unless_sticky(tmp_path: Path) -> None:
    """Whoever can write a folder higher up can rename the lab's parent away and put their own
    in its place; with the sticky bit (as /tmp, where pytest's folders are) they cannot."""
    higher = tmp_path / "higher"
    parent = higher / "var-lib"
    parent.mkdir(parents=True, mode=0o755)
    root = parent / "netmon-lab"
    higher.chmod(0o777)
    with pytest.raises(LabError, match="writable by group or others") as info:
        Lab(root).status()
    assert f"{higher}, a parent" in str(info.value)
    higher.chmod(0o1777)
    Lab(root).check(missing_ok=True)
    # Sticky protects only root's entries: a parent someone else owns is theirs to swap.
    os.chown(parent, NOBODY, NOBODY)
    with pytest.raises(LabError, match="owned by uid 65534"):
        Lab(root).check(missing_ok=True)


def test_a_missing_parent_is_refused_not_created(tmp_path: Path) -> None:
    root = tmp_path / "absent" / "netmon-lab"
    result = runner.invoke(app, ["lab", "up", "--dir", str(root)])
    assert result.exit_code == 2, result.output
    assert f"{tmp_path / 'absent'} does not exist" in result.output
    assert not (tmp_path / "absent").exists()


def test_dot_dot_in_the_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    with pytest.raises(LabError, match=r"contains '\.\.'"):
        Lab(tmp_path / "a" / ".." / "lab").check(missing_ok=True)


def test_a_symlinked_parent_is_checked_where_it_leads(tmp_path: Path) -> None:
    good = tmp_path / "good"
    good.mkdir(mode=0o755)
    link = tmp_path / "link"
    link.symlink_to(good)
    Lab(link / "netmon-lab").check(missing_ok=True)  # root's link to root's folder: fine
    good.chmod(0o777)
    with pytest.raises(LabError, match="writable by group or others") as info:
        Lab(link / "netmon-lab").check(missing_ok=True)
    assert f"{good}, a parent" in str(info.value)
    good.chmod(0o755)
    # Someone else's link, even to a good folder, is theirs to point elsewhere.
    os.lchown(link, NOBODY, NOBODY)
    with pytest.raises(LabError, match="symlink owned by uid 65534") as info:
        Lab(link / "netmon-lab").check(missing_ok=True)
    assert str(link) in str(info.value)


# -- symlinks above it, one name at a time ------------------------------------------------------


def _folder(path: Path, mode: int = 0o755, uid: int = 0) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(mode)
    os.chown(path, uid, uid)
    return path


def _link(path: Path, target: Path | str, uid: int = 0) -> Path:
    path.symlink_to(target)
    os.lchown(path, uid, uid)
    return path


CHAINS = {
    # The review's case: root's link into a folder of nobody's, holding nobody's link.
    "nobody's link in nobody's folder": (0o755, NOBODY, NOBODY, "{hold}, a parent of the lab folder by way of the symlink {l1}, is owned by uid 65534"),
    "nobody's link in root's folder": (0o755, 0, NOBODY, "{l2} is a symlink owned by uid 65534, not root"),
    "root's link in a group-writable folder": (0o775, 0, 0, "{hold}, a parent of the lab folder by way of the symlink {l1}, is writable by group or others"),
    # Sticky: only a link's owner (or the folder's, root) can replace it.
    "nobody's link in a sticky folder": (0o1777, 0, NOBODY, "{l2} is a symlink owned by uid 65534, not root"),
    "root's link in a sticky folder": (0o1777, 0, 0, None),
}  # fmt: skip


@pytest.mark.parametrize(("mode", "holder", "owner", "error"), CHAINS.values(), ids=CHAINS.keys())
def test_every_symlink_of_a_chain_and_the_folder_holding_it_are_checked(
    tmp_path: Path, mode: int, holder: int, owner: int, error: str | None
) -> None:
    """top/l1 (root's) -> hold/l2 -> real: whoever can replace l2 decides where the lab goes."""
    real = _folder(tmp_path / "real")
    hold = _folder(tmp_path / "hold", mode, holder)
    l2 = _link(hold / "l2", real, owner)
    l1 = _link(_folder(tmp_path / "top") / "l1", l2)
    root = l1 / "netmon-lab"
    if error is None:
        Lab(root).check(missing_ok=True)
        return
    expected = error.format(hold=hold, l1=l1, l2=l2)
    with pytest.raises(LabError, match="not using it") as info:
        Lab(root).check(missing_ok=True)
    assert expected in str(info.value)
    result = runner.invoke(app, ["lab", "up", "--dir", str(root)])
    assert result.exit_code == 2, result.output
    assert expected in " ".join(result.output.split())
    assert list(real.iterdir()) == []


def test_a_chain_of_roots_symlinks_in_roots_folders_is_accepted_and_checked_where_it_ends(
    tmp_path: Path,
) -> None:
    real = _folder(tmp_path / "real")
    l2 = _link(_folder(tmp_path / "hold") / "l2", real)
    l1 = _link(_folder(tmp_path / "top") / "l1", l2)
    Lab(l1 / "netmon-lab").check(missing_ok=True)
    real.chmod(0o1777)  # the folder holding the lab: not even sticky will do
    with pytest.raises(LabError, match="writable by group or others") as info:
        Lab(l1 / "netmon-lab").check(missing_ok=True)
    assert f"{real}, a parent of the lab folder by way of the symlink {l2}" in str(info.value)


def test_a_relative_symlink_target_is_read_from_the_folder_holding_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`../b/real` from a/: tmp/b/real, whatever the working folder. `..` in a target goes up
    from where a symlink led (as the kernel does), not from the text: a/deep/.. is x/y here."""
    real = _folder(tmp_path / "b" / "real")
    a = _folder(tmp_path / "a")
    monkeypatch.chdir(real)
    link = _link(a / "link", "../b/real")
    Lab(link / "netmon-lab").check(missing_ok=True)
    os.chown(tmp_path / "b", NOBODY, NOBODY)
    with pytest.raises(LabError, match="owned by uid 65534") as info:
        Lab(link / "netmon-lab").check(missing_ok=True)
    assert f"{tmp_path / 'b'}, a parent of the lab folder by way of the symlink {link}" in str(
        info.value
    )
    # a/deep -> x/y/z; a/up -> deep/../../b: x/b (the kernel's), not a/b nor tmp/b (the text's).
    _link(a / "deep", _folder(tmp_path / "x" / "y" / "z"))
    up = _link(a / "up", "deep/../../b")
    x_b = _folder(tmp_path / "x" / "b", 0o777)
    assert os.path.realpath(up) == str(x_b)
    with pytest.raises(LabError, match="writable by group or others") as info:
        Lab(up / "netmon-lab").check(missing_ok=True)
    assert f"{x_b}, a parent" in str(info.value)
    x_b.chmod(0o755)
    Lab(up / "netmon-lab").check(missing_ok=True)


@pytest.mark.parametrize("chain", [1, 2], ids=["a link to itself", "two links to each other"])
def test_a_symlink_loop_is_a_clear_error(tmp_path: Path, chain: int) -> None:
    first = tmp_path / "loop0"
    _link(first, f"loop{1 % chain}")
    if chain == 2:
        _link(tmp_path / "loop1", "loop0")
    result = runner.invoke(app, ["lab", "up", "--dir", str(first / "netmon-lab")])
    assert result.exit_code == 2, result.output
    output = " ".join(result.output.split())
    assert f"{first}, a parent of the lab folder, leads through more than 40 symlinks" in output
    assert "a loop?" in output


def test_as_many_symlinks_as_the_kernel_follows_are_accepted_one_more_refused(
    tmp_path: Path,
) -> None:
    real = _folder(tmp_path / "real")
    links = [_link(tmp_path / "l1", real)]
    for n in range(2, 42):
        links.append(_link(tmp_path / f"l{n}", links[-1].name))
    os.stat(links[39])  # 40 links: the kernel follows them
    Lab(links[39] / "netmon-lab").check(missing_ok=True)
    with pytest.raises(OSError, match="Too many levels of symbolic links"):
        os.stat(links[40])
    with pytest.raises(LabError, match="more than 40 symlinks"):
        Lab(links[40] / "netmon-lab").check(missing_ok=True)


@pytest.mark.parametrize(
    ("spoil", "error"),
    [
        (lambda d: os.chown(d, NOBODY, NOBODY), "is owned by uid 65534, not root"),
        (lambda d: d.chmod(0o775), "is writable by group or others (mode 0775)"),
    ],
    ids=["not root's", "group-writable"],
)
def test_every_folder_above_where_a_symlink_leads_is_checked(
    tmp_path: Path, spoil: Callable[[Path], None], error: str
) -> None:
    """The link leads to outer/deep/real: outer, two above the folder holding the lab, can rename
    deep away and put its own in its place."""
    outer = _folder(tmp_path / "outer")
    real = _folder(outer / "deep" / "real")
    link = _link(_folder(tmp_path / "top") / "link", real)
    root = link / "netmon-lab"
    Lab(root).check(missing_ok=True)
    spoil(outer)
    with pytest.raises(LabError, match="not using it") as info:
        Lab(root).check(missing_ok=True)
    assert f"{outer}, a parent of the lab folder by way of the symlink {link}, {error}" in str(
        info.value
    )
    result = runner.invoke(app, ["lab", "up", "--dir", str(root)])
    assert result.exit_code == 2, result.output
    assert list(real.iterdir()) == []


@pytest.mark.parametrize(
    "under",
    ["file", "file/sub", "link-to-file", "link-to-file/sub"],
)
def test_a_parent_that_is_not_a_folder_is_refused(tmp_path: Path, under: str) -> None:
    """A regular file (root's, 0644) where a folder above the lab should be, also where a link
    leads: refused, naming it, never a lookup error from the kernel."""
    file = tmp_path / "file"
    file.write_text("not a folder\n")
    file.chmod(0o644)
    _link(tmp_path / "link-to-file", file)
    root = tmp_path / under / "netmon-lab"
    with pytest.raises(LabError, match="is not a folder: not using it") as info:
        Lab(root).check(missing_ok=True)
    assert f"{file}, a parent of the lab folder" in str(info.value)
    result = runner.invoke(app, ["lab", "up", "--dir", str(root)])
    assert result.exit_code == 2, result.output
    assert "is not a folder" in result.output
    assert file.read_text() == "not a folder\n"


def test_a_missing_folder_where_a_symlink_leads_is_named(tmp_path: Path) -> None:
    link = _link(tmp_path / "link", _folder(tmp_path / "real"))
    with pytest.raises(LabError, match="does not exist") as info:
        Lab(link / "absent" / "netmon-lab").check(missing_ok=True)
    assert (
        f"{tmp_path / 'real' / 'absent'}, a parent of the lab folder by way of the symlink {link}"
        in str(info.value)
    )


# -- what `up` writes -------------------------------------------------------------------------


class _NetworkReached(Exception):
    """`up` got past writing the lab folder's files to its first network command."""


@pytest.fixture
def up_until_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let `up` write the lab folder for real (ssh-keygen runs, into the test's folder) and stop it
    at its first network command; `down` and the address check touch no network either (a lab
    someone else runs on this machine is left alone)."""

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        if Path(args[0]).name != "ssh-keygen":
            raise _NetworkReached(args)
        return subprocess.run(list(args), capture_output=True, text=True, check=True, timeout=30)

    monkeypatch.setattr(labmod, "_run", run)
    monkeypatch.setattr(Lab, "down", lambda self: self.check(missing_ok=True))
    monkeypatch.setattr(Lab, "_check_address_space", lambda self: None)


@pytest.mark.usefixtures("up_until_network")
def test_up_creates_a_root_only_folder_with_secrets_0600(tmp_path: Path) -> None:
    """What `netmon check --inventory inventory/lab.yaml` reads (community, key, known_hosts) is
    root's, in a folder only root can enter."""
    lab = Lab(tmp_path / "netmon-lab")
    with pytest.raises(_NetworkReached):
        lab.up()
    modes = {
        lab.root: 0o700,
        lab.client_key.parent: 0o700,
        lab.community_file: 0o600,
        lab.client_key: 0o600,
        lab.password_file: 0o600,
        lab.shadow_file: 0o600,
        lab.known_hosts: 0o644,  # public host keys
        lab.authorized_keys: 0o644,  # a public key
    }
    for path, mode in modes.items():
        st = path.lstat()
        assert (st.st_uid, st.st_gid, oct(st.st_mode & 0o7777)) == (0, 0, oct(mode)), path
    assert len(lab.community()) >= 16


@pytest.mark.usefixtures("up_until_network")
def test_up_chowns_and_tightens_an_existing_folder_of_roots(tmp_path: Path) -> None:
    root = tmp_path / "netmon-lab"
    root.mkdir(mode=0o755)
    os.chown(root, 0, NOBODY)
    with pytest.raises(_NetworkReached):
        Lab(root).up()
    st = root.lstat()
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (0, 0, 0o700)


@pytest.mark.usefixtures("up_until_network")
@pytest.mark.parametrize(
    "name", ["community", "ssh/authorized_keys", "ssh/password", "ssh/shadow", "ssh/known_hosts"]
)
def test_up_refuses_a_planted_symlink_and_leaves_its_target_alone(
    lab_root: Path, precious: Path, name: str
) -> None:
    planted = lab_root / name
    planted.symlink_to(precious)
    with pytest.raises(LabError, match="symlink") as info:
        Lab(lab_root).up()
    assert str(planted) in str(info.value)
    assert precious.read_text() == "do not touch\n"
    assert planted.is_symlink()


@pytest.mark.usefixtures("up_until_network")
def test_up_replaces_a_symlinked_client_key_without_writing_through_it(
    lab_root: Path, precious: Path
) -> None:
    key = lab_root / "ssh" / "id_ed25519"
    key.symlink_to(precious)
    with pytest.raises(_NetworkReached):
        Lab(lab_root).up()
    assert precious.read_text() == "do not touch\n"
    assert not key.is_symlink()
    assert key.stat().st_mode & 0o777 == 0o600


# -- the default folder and the lab inventory --------------------------------------------------


def test_the_default_folder_is_root_only_and_the_inventory_reads_from_it() -> None:
    from ruamel.yaml import YAML

    from netmon.cli.lab import DEFAULT_LAB_DIR
    from netmon.lab.topology import DEFAULT_DIR

    from .conftest import REPO

    assert DEFAULT_LAB_DIR == DEFAULT_DIR == Path("/var/lib/netmon-lab")
    labmod.check_parents(DEFAULT_DIR)  # /var/lib: root's, writable by nobody else
    lab = Lab()
    doc = YAML(typ="safe").load((REPO / "inventory" / "lab.yaml").read_text())
    assert doc["defaults"]["snmp"]["community"] == {"file": str(lab.community_file)}
    assert doc["traps"]["community"] == {"file": str(lab.community_file)}
    assert doc["defaults"]["ssh"]["key_file"] == str(lab.client_key)
    assert doc["defaults"]["ssh"]["known_hosts"] == str(lab.known_hosts)


def test_a_dangling_or_looping_parent_symlink_is_a_lab_error(tmp_path: Path) -> None:
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    for link in ("dangling", "loop"):
        result = runner.invoke(app, ["lab", "up", "--dir", str(tmp_path / link / "netmon-lab")])
        assert result.exit_code == 2, result.output
        assert "a parent of the lab folder" in result.output
