"""Bring the lab up and down, tell what runs, and pull its levers.

Everything the lab starts lives in the namespaces it creates, so `down` can end exactly its own
processes (`ip netns pids`), and deleting the namespaces and the bridge leaves nothing behind but
the lab folder (configs and logs, kept for a post-mortem).
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import logging
import os
import secrets
import shutil
import signal
import stat
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from netmon.errors import NetmonError
from netmon.lab.topology import (
    BRIDGE,
    DEFAULT_DIR,
    INSTANCES,
    MONITOR_ADDRESS,
    NETMASK,
    ROUTERS,
    Paths,
    Router,
    keepalived_conf,
    snmpd_conf,
    sshd_conf,
)

log = logging.getLogger(__name__)

DAEMONS = ("keepalived", "snmpd", "sshd")
TOOLS = ("ip", "bridge", "keepalived", "snmpd", "sshd", "ssh-keygen", "unshare", "openssl")
LAB_NET = ipaddress.ip_network(f"{MONITOR_ADDRESS}/{NETMASK}", strict=False)


class LabError(NetmonError):
    pass


def _find(tool: str) -> str:
    for path in (shutil.which(tool), f"/usr/sbin/{tool}", f"/sbin/{tool}"):
        if path and Path(path).exists():
            return path
    raise LabError(
        f"{tool} not found: install the lab's Debian packages (make test does: keepalived snmpd openssh-server iproute2)"
    )


def _run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(list(args), capture_output=True, text=True, timeout=30, check=False)
    if check and result.returncode != 0:
        raise LabError(f"`{' '.join(args)}` failed ({result.returncode}): {result.stderr.strip()}")
    return result


def _alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is not alive for our purposes.
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return False
    return True


def check_folder(path: Path) -> None:
    """Refuse a lab folder that is a symlink, not a folder, not this user's (root's) own, or
    writable by group or others: anyone who can write into it can plant files the lab trusts."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        raise LabError(f"{path} does not exist: run `netmon lab up` first") from None
    if stat.S_ISLNK(st.st_mode):
        raise LabError(f"{path} is a symlink: not using it")
    if not stat.S_ISDIR(st.st_mode):
        raise LabError(f"{path} is not a folder: not using it")
    if st.st_uid != os.geteuid():
        raise LabError(f"{path} is owned by uid {st.st_uid}, not this user's own: not using it")
    if st.st_mode & 0o022:
        raise LabError(
            f"{path} is writable by group or others (mode {stat.S_IMODE(st.st_mode):04o}): not using it"
        )


MAX_SYMLINKS = 40  # as many as the kernel follows in one path lookup


def _check_parent_stat(path: Path, st: os.stat_result, holds_lab: bool, via: str = "") -> None:
    where = f"{path}, a parent of the lab folder{via},"
    if not stat.S_ISDIR(st.st_mode):
        raise LabError(f"{where} is not a folder: not using it")
    if st.st_uid != 0:
        raise LabError(f"{where} is owned by uid {st.st_uid}, not root: not using it")
    # Sticky (like /tmp): nobody else can rename or delete root's entries in it, so a folder
    # higher up may be world-writable. Not the folder holding the lab's: there anyone could
    # create the lab folder first.
    if st.st_mode & 0o022 and (holds_lab or not st.st_mode & stat.S_ISVTX):
        raise LabError(
            f"{where} is writable by group or others "
            f"(mode {stat.S_IMODE(st.st_mode):04o}): not using it"
        )


def _check_parent_dir(path: Path, holds_lab: bool, via: str = "") -> None:
    try:
        st = path.lstat()
    except OSError as exc:
        raise LabError(f"{path}, a parent of the lab folder{via}: {exc.strerror}") from None
    _check_parent_stat(path, st, holds_lab, via)


def _resolve_parents(parent: Path) -> tuple[Path, str]:
    """Where `parent` (absolute) leads, resolved as the kernel does: one name at a time from /
    down, a symlink met on the way (also one inside where a symlink leads) replaced by its target,
    a relative one read from the folder holding it. Every folder reached is checked on the way
    down, so the folder holding a symlink is one only root can change (writable by others only
    with the sticky bit, where nobody else can replace root's entries), and each symlink must be
    root's: nobody else can point it elsewhere. Returns the real folder and, when a symlink led
    there, a note naming the last one for messages."""
    pending = list(reversed(str(parent).split("/")))  # a stack: the next name last
    current = Path("/")
    _check_parent_dir(current, holds_lab=False)
    followed = 0
    via = ""
    while pending:
        name = pending.pop()
        if name in ("", "."):
            continue
        if name == "..":  # only from a symlink's target (check_parents refuses it in the folder)
            current = current.parent  # checked on the way down already
            continue
        path = current / name
        try:
            st = path.lstat()
        except FileNotFoundError:
            where = f"{path}, a parent of the lab folder{via}," if via else str(path)
            raise LabError(
                f"{where} does not exist: create it (root's, not writable by group or others) "
                "or choose another --dir"
            ) from None
        except OSError as exc:
            raise LabError(f"{path}, a parent of the lab folder{via}: {exc.strerror}") from None
        if not stat.S_ISLNK(st.st_mode):
            _check_parent_stat(path, st, holds_lab=False, via=via)
            current = path
            continue
        followed += 1
        if followed > MAX_SYMLINKS:
            raise LabError(
                f"{parent}, a parent of the lab folder, leads through more than {MAX_SYMLINKS} "
                f"symlinks (a loop? the last: {path}): not using it"
            )
        if st.st_uid != 0:
            raise LabError(f"{path} is a symlink owned by uid {st.st_uid}, not root: not using it")
        try:
            target = str(path.readlink())
        except OSError as exc:
            raise LabError(f"{path}, a symlink above the lab folder: {exc.strerror}") from None
        if target.startswith("/"):
            current = Path("/")
        pending.extend(reversed(target.split("/")))
        via = f" by way of the symlink {path}"
    return current, via


def check_parents(folder: Path) -> None:
    """Refuse a lab folder that someone other than root could create first or swap: every folder
    above it must be root's; the one holding it writable by nobody else, one higher up only
    with the sticky bit. Every symlink on the way (also one a symlink leads through) must be
    root's, in such a folder, and where it leads is checked the same way; more than
    `MAX_SYMLINKS` of them (a loop) are refused."""
    if ".." in folder.parts:
        # The kernel resolves `link/..` through the link, a check of the text would not.
        raise LabError(f"{folder} contains '..': give the lab folder without it")
    real, via = _resolve_parents(folder.absolute().parent)
    _check_parent_dir(real, holds_lab=True, via=via)


def _check_opened(path: Path, fd: int) -> None:
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        raise LabError(f"{path} is not a regular file: not using it")
    if st.st_uid != os.geteuid():
        raise LabError(f"{path} is owned by uid {st.st_uid}, not this user's own: not using it")
    if st.st_nlink != 1:
        raise LabError(f"{path} has {st.st_nlink} hard links: not using it")


def _open(path: Path, flags: int, mode: int = 0o600) -> int:
    check_folder(path.parent)
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise LabError(f"{path} is a symlink: refusing to follow it") from None
        raise
    try:
        _check_opened(path, fd)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_file(path: Path) -> str:
    """Read a lab file: never through a symlink, only a regular file of root's, in a folder of
    root's that nobody else can write."""
    fd = _open(path, os.O_RDONLY)
    with os.fdopen(fd, "r") as f:
        return f.read()


def write_file(path: Path, text: str, mode: int = 0o600) -> None:
    """Write a lab file with the checks of `read_file`; a planted symlink is refused, its target
    untouched."""
    fd = _open(path, os.O_WRONLY | os.O_CREAT, mode)
    with os.fdopen(fd, "w") as f:
        os.fchmod(fd, mode)
        f.truncate(0)
        f.write(text)


def _read_pid(path: Path) -> int | None:
    """The pid in a pid file; None when there is none. A symlink, a file not root's, or a
    folder others can write raise LabError."""
    if not os.path.lexists(path.parent):
        return None  # no lab folder: no pid file (a folder planted later is refused by read_file)
    try:
        text = read_file(path).strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise LabError(f"cannot read {path}: {exc.strerror}") from None
    return int(text) if text.isdigit() and 0 < int(text) < 2**22 else None


def _cmdline_tokens(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    # sshd and others rewrite their title into one space-separated string.
    return raw.decode(errors="replace").replace("\0", " ").split()


def _same_netns(pid: int, netns: str) -> bool:
    try:
        mine = Path(f"/proc/{pid}/ns/net").stat()
        lab = Path(f"/run/netns/{netns}").stat()
    except OSError:
        return False
    return (mine.st_dev, mine.st_ino) == (lab.st_dev, lab.st_ino)


@dataclass(frozen=True)
class RouterStatus:
    router: str
    netns: bool
    daemons: dict[str, int | None]  # name -> pid when running
    vips: tuple[str, ...]


@dataclass(frozen=True)
class LabStatus:
    root: Path
    bridge: bool
    routers: tuple[RouterStatus, ...]

    @property
    def running(self) -> bool:
        return self.bridge and all(r.netns and all(r.daemons.values()) for r in self.routers)


class Lab:
    def __init__(self, root: Path = DEFAULT_DIR) -> None:
        self.root = root

    # -- helpers --------------------------------------------------------------------------

    def paths(self, router: Router) -> Paths:
        return Paths(self.root, router.name)

    @property
    def community_file(self) -> Path:
        return self.root / "community"

    @property
    def client_key(self) -> Path:
        return self.root / "ssh" / "id_ed25519"

    @property
    def authorized_keys(self) -> Path:
        return self.root / "ssh" / "authorized_keys"

    @property
    def known_hosts(self) -> Path:
        return self.root / "ssh" / "known_hosts"

    @property
    def password_file(self) -> Path:
        return self.root / "ssh" / "password"

    @property
    def shadow_file(self) -> Path:
        """A one-line shadow file that sshd sees as /etc/shadow: root with the lab password."""
        return self.root / "ssh" / "shadow"

    def community(self) -> str:
        self.check()
        return read_file(self.community_file).strip()

    def check(self, missing_ok: bool = False) -> None:
        """Every command's first step: root, parent folders only root can change, and a lab folder
        (with its router and ssh folders) that is root's own, no symlink, and writable by nobody
        else. `missing_ok`: no folder at all is fine (status and down read nothing from it then);
        its parents are checked all the same, so `up` refuses before it creates anything."""
        self.require_root()
        check_parents(self.root)
        if missing_ok and not os.path.lexists(self.root):
            return
        check_folder(self.root)
        for sub in (self.client_key.parent, *(self.paths(r).dir for r in ROUTERS)):
            if os.path.lexists(sub):
                check_folder(sub)

    def _is_lab_daemon(self, pid: int, router: Router, daemon: str) -> bool:
        """Is `pid` the lab's `daemon` of `router`: inside the router's namespace and started
        with the router's own config file?"""
        paths = self.paths(router)
        conf = {
            "keepalived": paths.keepalived_conf,
            "snmpd": paths.snmpd_conf,
            "sshd": paths.sshd_conf,
        }[daemon]
        tokens = _cmdline_tokens(pid)
        return (
            _same_netns(pid, router.netns)
            and str(conf) in tokens
            and any(Path(t).name.startswith(daemon) for t in tokens)
        )

    @staticmethod
    def router(name: str) -> Router:
        for router in ROUTERS:
            if router.name == name:
                return router
        raise LabError(
            f"no router {name!r} in the lab (routers: {', '.join(r.name for r in ROUTERS)})"
        )

    @staticmethod
    def require_root() -> None:
        if os.geteuid() != 0:
            raise LabError(
                "netmon lab needs root (network namespaces, a bridge, daemons on port 161)"
            )

    def _netns_exists(self, router: Router) -> bool:
        return Path(f"/run/netns/{router.netns}").exists()

    def _check_address_space(self) -> None:
        """Refuse to build the lab where its addresses already belong to a real interface."""
        out = _run("ip", "-o", "-4", "addr", "show").stdout
        for line in out.splitlines():
            fields = line.split()
            if len(fields) < 4 or fields[1] == BRIDGE:
                continue
            iface = ipaddress.ip_interface(fields[3])
            if iface.network.overlaps(LAB_NET):
                raise LabError(
                    f"interface {fields[1]} already has {iface} inside the lab's {LAB_NET}: not touching it"
                )

    # -- up / down / status ---------------------------------------------------------------

    def up(self, timeout: float = 20.0) -> LabStatus:
        """Build a fresh lab (tearing down any leftovers of an earlier or failed `up` first).

        A failed `up` (a daemon that does not start, VRRP that does not converge, Ctrl-C) takes
        down what it built before it raises: no namespace, port, bridge or daemon outlives it,
        only the lab folder with the logs that say why."""
        self.require_root()
        for tool in TOOLS:
            _find(tool)
        self.down()  # checks the folder's parents (a missing parent is refused, not created)
        self._check_address_space()
        with contextlib.suppress(FileExistsError):
            self.root.mkdir(mode=0o700)
        st = self.root.lstat()
        if stat.S_ISLNK(st.st_mode) or st.st_uid != os.geteuid():
            raise LabError(f"{self.root} exists and is not this user's own folder: not using it")
        # Checked above: not a symlink, root's. Its group too, so nothing but root reaches it.
        os.chown(self.root, 0, 0, follow_symlinks=False)
        self.root.chmod(0o700)
        self.check()
        write_file(self.community_file, secrets.token_urlsafe(12) + "\n")
        self._make_client_key()
        # From here on `up` builds what lives beyond this process: the bridge first.
        try:
            return self._build(timeout)
        except BaseException:
            # Not `down()`: its folder checks could refuse (a folder changed under us) and leave
            # the namespaces standing; the teardown reads nothing from the folder. Its own
            # failure must not hide the one that made `up` fail.
            try:
                self._teardown()
            except Exception:
                log.exception("tearing down the failed lab")
            raise

    def _build(self, timeout: float) -> LabStatus:
        _run("ip", "link", "add", BRIDGE, "type", "bridge")
        _run("ip", "addr", "add", f"{MONITOR_ADDRESS}/{NETMASK}", "dev", BRIDGE)
        _run("ip", "link", "set", BRIDGE, "up")
        for router in ROUTERS:
            self._make_router(router)
        for router in ROUTERS:
            self.start(router.name, "snmpd")
            self.start(router.name, "keepalived")
            self.start(router.name, "sshd")
        self.wait_for_masters({inst.name: "r1" for inst in INSTANCES}, timeout)
        return self.status()

    def _make_client_key(self) -> None:
        key = self.client_key
        key.parent.mkdir(mode=0o700, exist_ok=True)
        check_folder(key.parent)
        for stale in (key, key.with_suffix(".pub")):
            stale.unlink(missing_ok=True)
        _run(
            _find("ssh-keygen"), "-q", "-t", "ed25519", "-N", "", "-C", "netmon-lab", "-f", str(key)
        )
        write_file(self.authorized_keys, read_file(key.with_suffix(".pub")), 0o644)
        password = secrets.token_urlsafe(12)
        write_file(self.password_file, password + "\n")
        hashed = subprocess.run(
            [_find("openssl"), "passwd", "-6", "-stdin"], input=password, capture_output=True,
            text=True, check=True, timeout=10,
        ).stdout.strip()  # fmt: skip
        write_file(self.shadow_file, f"root:{hashed}:19700:0:99999:7:::\n")
        write_file(self.known_hosts, "", 0o644)

    def _make_router(self, router: Router) -> None:
        paths = self.paths(router)
        paths.dir.mkdir(mode=0o755, exist_ok=True)
        check_folder(paths.dir)
        paths.persist.mkdir(mode=0o700, exist_ok=True)
        check_folder(paths.persist)
        ns = router.netns
        _run("ip", "netns", "add", ns)
        # Created inside the namespace, the router's end is eth0 with ifIndex 2 (inventory/lab.yaml).
        _run(
            "ip",
            "link",
            "add",
            router.host_port,
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            ns,
        )
        _run("ip", "link", "set", router.host_port, "master", BRIDGE)
        _run("ip", "link", "set", router.host_port, "up")
        _run("ip", "-n", ns, "link", "set", "lo", "up")
        _run("ip", "-n", ns, "addr", "add", f"{router.address}/{NETMASK}", "dev", "eth0")
        _run("ip", "-n", ns, "link", "set", "eth0", "up")
        write_file(paths.keepalived_conf, keepalived_conf(router, paths), 0o644)
        write_file(paths.snmpd_conf, snmpd_conf(router, paths, self.community()))
        write_file(paths.sshd_conf, sshd_conf(router, paths, self.authorized_keys), 0o644)
        for lever in (paths.fault_file, paths.priority_file):
            write_file(lever, "0\n", 0o644)
        for stale in (paths.host_key, paths.host_key.with_suffix(".pub")):
            stale.unlink(missing_ok=True)
        _run(_find("ssh-keygen"), "-q", "-t", "ed25519", "-N", "", "-f", str(paths.host_key))
        kind, blob = read_file(paths.host_key.with_suffix(".pub")).split()[:2]
        hosts = read_file(self.known_hosts)
        write_file(self.known_hosts, f"{hosts}{router.address} {kind} {blob}\n", 0o644)

    def down(self) -> None:
        """End every lab process, delete namespaces, bridge and ports. Safe to run any time."""
        self.check(missing_ok=True)
        self._teardown()

    def _teardown(self) -> None:
        """`down` without the folder checks: namespaces, their processes, the bridge, the ports."""
        for router in ROUTERS:
            if self._netns_exists(router):
                self._end_namespace_processes(router)
                _run("ip", "netns", "del", router.netns, check=False)
        _run("ip", "link", "del", BRIDGE, check=False)
        # veth ends vanish asynchronously after their namespace is gone.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            left = [r.host_port for r in ROUTERS if Path(f"/sys/class/net/{r.host_port}").exists()]
            if not left:
                break
            time.sleep(0.1)
        for router in ROUTERS:
            _run("ip", "link", "del", router.host_port, check=False)

    def _end_namespace_processes(self, router: Router) -> None:
        pids = self._namespace_pids(router)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(_alive(p) for p in pids):
            time.sleep(0.05)
        for pid in pids:
            if _alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)

    def _namespace_pids(self, router: Router) -> list[int]:
        out = _run("ip", "netns", "pids", router.netns, check=False).stdout
        return [int(p) for p in out.split() if p.isdigit()]

    def status(self) -> LabStatus:
        self.check(missing_ok=True)
        routers = []
        for router in ROUTERS:
            exists = self._netns_exists(router)
            daemons = (
                {d: self._pid(router, d) for d in DAEMONS} if exists else dict.fromkeys(DAEMONS)
            )
            routers.append(
                RouterStatus(router.name, exists, daemons, self.vips(router) if exists else ())
            )
        bridge = Path(f"/sys/class/net/{BRIDGE}").exists()
        return LabStatus(self.root, bridge, tuple(routers))

    def _pid_file(self, router: Router, daemon: str) -> Path:
        paths = self.paths(router)
        return {
            "keepalived": paths.keepalived_pid,
            "snmpd": paths.snmpd_pid,
            "sshd": paths.sshd_pid,
        }[daemon]

    def _pid(self, router: Router, daemon: str, strict: bool = False) -> int | None:
        """The pid of the lab's running `daemon` of `router`, or None. A live process that is not
        the lab's daemon counts as none, or raises LabError when `strict` (before a kill)."""
        pid_file = self._pid_file(router, daemon)
        pid = _read_pid(pid_file)
        if pid is None or not _alive(pid):
            return None
        if self._is_lab_daemon(pid, router, daemon):
            return pid
        if strict:
            raise LabError(
                f"{pid_file} names pid {pid}, which is not the lab's {daemon} of {router.name}: not touching it"
            )
        return None

    def vips(self, router: Router) -> tuple[str, ...]:
        out = _run(
            "ip", "-n", router.netns, "-o", "-4", "addr", "show", "dev", "eth0", check=False
        ).stdout
        held = {line.split()[3].split("/")[0] for line in out.splitlines() if len(line.split()) > 3}
        return tuple(inst.vip for inst in INSTANCES if inst.vip in held)

    def masters(self) -> dict[str, list[str]]:
        """Instance name -> routers holding its virtual IP now."""
        held = {r.name: self.vips(r) for r in ROUTERS}
        return {
            inst.name: [r for r, vips in held.items() if inst.vip in vips] for inst in INSTANCES
        }

    def wait_for_masters(self, expected: dict[str, str], timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        masters: dict[str, list[str]] = {}
        while time.monotonic() < deadline:
            masters = self.masters()
            if all(masters.get(inst) == [router] for inst, router in expected.items()):
                return
            time.sleep(0.1)
        raise LabError(
            f"lab did not converge within {timeout}s: masters {masters}, expected {expected}"
        )

    # -- levers ---------------------------------------------------------------------------

    def start(self, router_name: str, daemon: str) -> int:
        self.check()
        router = self.router(router_name)
        if daemon not in DAEMONS:
            raise LabError(f"unknown daemon {daemon!r} (daemons: {', '.join(DAEMONS)})")
        paths = self.paths(router)
        if self._pid(router, daemon) is not None:
            raise LabError(f"{daemon} already runs on {router.name}")
        env = f"SNMP_PERSISTENT_DIR={paths.persist}"
        ns = ("ip", "netns", "exec", router.netns)
        if daemon == "snmpd":
            paths.snmpd_pid.unlink(missing_ok=True)
            _run(*ns, "env", env, _find("snmpd"), "-m", "", "-C", "-c", str(paths.snmpd_conf),
                 "-p", str(paths.snmpd_pid), "-Lf", str(paths.snmpd_log))  # fmt: skip
        elif daemon == "keepalived":
            paths.keepalived_pid.unlink(missing_ok=True)
            # Debian's keepalived has no --log-file and there is no syslog here: run it in the
            # foreground (-n -l), detached by setsid -f, with its console going to the lab log.
            _run("setsid", "-f", "sh", "-c", 'exec "$@" >>"$0" 2>&1 </dev/null', str(paths.keepalived_log),
                 *ns, "env", env, _find("keepalived"), "--vrrp", "-n", "-l", "-D",
                 "-f", str(paths.keepalived_conf), "-p", str(paths.keepalived_pid),
                 "-r", str(paths.vrrp_pid), "-c", str(paths.checkers_pid), "-b", str(paths.bfd_pid))  # fmt: skip
        elif daemon == "sshd":
            paths.sshd_pid.unlink(missing_ok=True)
            # In sshd's own mount namespace, so the host sees none of it: a private /run for
            # /run/sshd, the lab's shadow file (root's lab password), and the router's folder as
            # /etc/keepalived, so a session sees its router's config where a server keeps it.
            # An empty home: a session's shell reads no dotfiles of the host's root (a `pyenv
            # init` there ran on every command, and a session ended by `lab down` left pyenv's
            # lock behind, stalling every later shell for a minute).
            script = (
                "mount -t tmpfs -o mode=0755 netmon-lab /run && mkdir -p /run/sshd && "
                "mount -t tmpfs -o mode=0700 netmon-lab-home /root && "
                'mount --bind "$3" /etc/shadow && mount --bind "$4" /etc/keepalived && '
                f'exec {_find("sshd")} -f "$1" -E "$2"'
            )
            _run(*ns, _find("unshare"), "--mount", "--propagation", "private", "sh", "-c", script,
                 "sshd", str(paths.sshd_conf), str(paths.sshd_log), str(self.shadow_file),
                 str(paths.dir))  # fmt: skip
        else:
            raise LabError(f"unknown daemon {daemon!r} (daemons: {', '.join(DAEMONS)})")
        return self._wait_pid(router, daemon)

    def _wait_pid(self, router: Router, daemon: str, timeout: float = 5.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid = self._pid(router, daemon)
            if pid is not None:
                return pid
            time.sleep(0.05)
        raise LabError(
            f"{daemon} on {router.name} did not start; see its log in {self.paths(router).dir}"
        )

    def stop(self, router_name: str, daemon: str, sig: signal.Signals = signal.SIGTERM) -> None:
        self.check()
        router = self.router(router_name)
        if daemon not in DAEMONS:
            raise LabError(f"unknown daemon {daemon!r} (daemons: {', '.join(DAEMONS)})")
        pid = self._pid(router, daemon, strict=True)
        if pid is None:
            return
        os.kill(pid, sig)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.02)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)

    def fault(self, router_name: str, on: bool) -> None:
        """Put both VRRP instances of a router in FAULT (track_file, weight 0) or release them."""
        self.check()
        write_file(self.paths(self.router(router_name)).fault_file, "1\n" if on else "0\n", 0o644)

    def low_priority(self, router_name: str, on: bool) -> None:
        """Lower a router's priority by 100 (track_file, weight -100) or restore it."""
        self.check()
        write_file(
            self.paths(self.router(router_name)).priority_file, "1\n" if on else "0\n", 0o644
        )

    def set_mtu(self, router_name: str, mtu: int) -> None:
        """Set the MTU of a router's eth0 inside its namespace; the bridge side stays at 1500.
        Below 1500, large don't-fragment packets to it are lost while the link stays up and
        small packets (SNMP, small pings) pass: the failure of November 2023, for real."""
        self.check()
        router = self.router(router_name)
        if not 576 <= mtu <= 9000:
            raise LabError(f"MTU must be 576..9000, got {mtu}")
        _run("ip", "-n", router.netns, "link", "set", "dev", "eth0", "mtu", str(mtu))

    def split(self, on: bool) -> None:
        """Cut the routers apart (bridge port isolation): the monitor still reaches both."""
        self.check()
        state = "on" if on else "off"
        for router in ROUTERS:
            _run("bridge", "link", "set", "dev", router.host_port, "isolated", state)

    def reset(self, timeout: float = 15.0) -> None:
        """Back to the healthy baseline: every daemon running, levers released, r1 master."""
        self.check()
        self.split(False)
        for router in ROUTERS:
            self.set_mtu(router.name, 1500)
            self.fault(router.name, False)
            self.low_priority(router.name, False)
            for daemon in DAEMONS:
                if self._pid(router, daemon) is None:
                    self.start(router.name, daemon)
        self.wait_for_masters({inst.name: "r1" for inst in INSTANCES}, timeout)
