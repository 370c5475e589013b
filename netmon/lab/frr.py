"""A second VRRP implementation in the lab: FRR 8.4's vrrpd (with zebra) in two router namespaces.

Beside the keepalived lab (its own folder, bridge, namespaces and 10.99.1.0/24): both can be up
at once. One VRRPv3 group, VRID 61, VIP 10.99.1.61: f1 (priority 150) is master, f2 (100) backup.
FRR does not create the macvlan a virtual router lives on: the lab does (`vrrp4-2-61`, the
virtual MAC, the VIP), and vrrpd keeps the VIP on *both* routers' macvlans, taking the backup's
down with protodown. Whoever reads only addresses sees two holders; `holders()` reads the link
too. netmon reads the group over SSH with plain `vtysh` (sshd's private /run/frr is the
router's FRR folder). See docs/lab.md ("FRR").
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import json
import logging
import os
import pwd
import secrets
import signal
import stat
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netmon.lab import lab as base
from netmon.lab.lab import (
    LabError,
    _alive,
    _cmdline_tokens,
    _find,
    _same_netns,
    check_folder,
    check_parents,
    read_file,
    write_file,
)

log = logging.getLogger(__name__)

PREFIX = "nmfrr"
BRIDGE = f"{PREFIX}0"
MONITOR_ADDRESS = "10.99.1.1"
NETMASK = 24
LAB_NET = ipaddress.ip_network(f"{MONITOR_ADDRESS}/{NETMASK}", strict=False)
# Root's, not under /tmp (see topology.DEFAULT_DIR); mode 0710 with group frr: the FRR daemons
# run as frr and must reach their own folder inside it, nobody else may enter.
DEFAULT_DIR = Path("/var/lib/netmon-lab-frr")
VRID = 61
VERSION = 3
VIP = "10.99.1.61"
ADVERT_MS = 1000  # FRR 8.4: `advertisement-interval` is in milliseconds
IFACE = "eth0"
MACVLAN = f"vrrp4-2-{VRID}"  # vrrpd's name for the IPv4 macvlan of VRID 61 on ifIndex 2
VMAC = f"00:00:5e:00:01:{VRID:02x}"
FRR_USER = "frr"
FRR_SBIN = Path("/usr/lib/frr")
DAEMONS = ("zebra", "vrrpd", "sshd")
TOOLS = ("ip", "bridge", "sshd", "ssh-keygen", "unshare", "openssl", "vtysh")
SHOW = f"show vrrp interface {IFACE} {VRID} json"


@dataclass(frozen=True)
class FrrRouter:
    name: str
    address: str
    priority: int

    @property
    def netns(self) -> str:
        return f"{PREFIX}-{self.name}"

    @property
    def host_port(self) -> str:
        return f"{PREFIX}-{self.name}h"


ROUTERS = (FrrRouter("f1", "10.99.1.11", 150), FrrRouter("f2", "10.99.1.12", 100))
BASELINE = {"f1": "Master", "f2": "Backup"}


@dataclass(frozen=True)
class FrrPaths:
    """One router's files. `dir` is root's (sshd's files, frr.conf); `frr` inside it is frr's own
    (the daemons' pid files, sockets and logs: they write there as frr)."""

    root: Path
    router: str

    @property
    def dir(self) -> Path:
        return self.root / self.router

    @property
    def frr(self) -> Path:
        return self.dir / "frr"

    @property
    def frr_conf(self) -> Path:
        return self.dir / "frr.conf"

    @property
    def sshd_conf(self) -> Path:
        return self.dir / "sshd_config"

    @property
    def sshd_pid(self) -> Path:
        return self.dir / "sshd.pid"

    @property
    def sshd_log(self) -> Path:
        return self.dir / "sshd.log"

    @property
    def host_key(self) -> Path:
        return self.dir / "ssh_host_ed25519_key"

    @property
    def zserv(self) -> Path:
        return self.frr / "zserv.api"

    def pid_file(self, daemon: str) -> Path:
        return self.sshd_pid if daemon == "sshd" else self.frr / f"{daemon}.pid"

    def log_file(self, daemon: str) -> Path:
        return self.sshd_log if daemon == "sshd" else self.frr / f"{daemon}.log"


def frr_conf(router: FrrRouter) -> str:
    return f"""interface {IFACE}
 vrrp {VRID} version {VERSION}
 vrrp {VRID} priority {router.priority}
 vrrp {VRID} advertisement-interval {ADVERT_MS}
 vrrp {VRID} ip {VIP}
"""


def sshd_conf(router: FrrRouter, paths: FrrPaths, authorized_keys: Path) -> str:
    # PATH: sshd's default for a session already holds /usr/bin (vtysh); said explicitly so a
    # non-login `ssh host vtysh ...` finds it whatever sshd was built with.
    return f"""ListenAddress {router.address}
Port 22
HostKey {paths.host_key}
PidFile {paths.sshd_pid}
AuthorizedKeysFile {authorized_keys}
PermitRootLogin yes
PasswordAuthentication yes
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PrintMotd no
SetEnv PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
"""


def _frr_ids() -> tuple[int, int]:
    try:
        entry = pwd.getpwnam(FRR_USER)
    except KeyError:
        raise LabError(
            "no user frr: install the Debian package frr (make deps-system does)"
        ) from None
    return entry.pw_uid, entry.pw_gid


def check_frr_folder(path: Path) -> None:
    """Refuse an FRR folder that is a symlink, not a folder, not frr's, or writable by group or
    others. It sits in a router folder only root can change, so frr cannot swap it."""
    uid, _ = _frr_ids()
    try:
        st = path.lstat()
    except FileNotFoundError:
        raise LabError(f"{path} does not exist: run `netmon lab up --vrrp frr` first") from None
    if stat.S_ISLNK(st.st_mode):
        raise LabError(f"{path} is a symlink: not using it")
    if not stat.S_ISDIR(st.st_mode):
        raise LabError(f"{path} is not a folder: not using it")
    if st.st_uid != uid:
        raise LabError(f"{path} is owned by uid {st.st_uid}, not frr's ({uid}): not using it")
    if st.st_mode & 0o022:
        raise LabError(
            f"{path} is writable by group or others (mode {stat.S_IMODE(st.st_mode):04o}): not using it"
        )


def _read_frr_pid(path: Path) -> int | None:
    """A pid file the FRR daemons wrote (frr's, in frr's folder): never through a symlink, a
    regular file of frr's or root's with one link. None when there is none."""
    if not os.path.lexists(path.parent):
        return None
    check_frr_folder(path.parent)
    uid, _ = _frr_ids()
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise LabError(f"{path} is a symlink: refusing to follow it") from None
        raise LabError(f"cannot read {path}: {exc.strerror}") from None
    with os.fdopen(fd, "r") as f:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid not in (uid, 0) or st.st_nlink != 1:
            raise LabError(f"{path} is not a regular file of frr's with one link: not using it")
        text = f.read(64).strip()
    return int(text) if text.isdigit() and 0 < int(text) < 2**22 else None


@dataclass(frozen=True)
class FrrRouterStatus:
    router: str
    netns: bool
    daemons: dict[str, int | None]  # name -> pid when running
    vrrp: str | None  # v4.status from vtysh (Master, Backup, Initialize); None: not readable
    holds_vip: bool  # the VIP on an up, non-protodown macvlan


@dataclass(frozen=True)
class FrrLabStatus:
    root: Path
    bridge: bool
    routers: tuple[FrrRouterStatus, ...]

    @property
    def running(self) -> bool:
        return self.bridge and all(r.netns and all(r.daemons.values()) for r in self.routers)


class FrrLab:
    """The FRR lab. Every method checks the folder first (root, parents, folders) as `Lab` does."""

    def __init__(self, root: Path = DEFAULT_DIR) -> None:
        self.root = root

    # -- helpers --------------------------------------------------------------------------

    def paths(self, router: FrrRouter) -> FrrPaths:
        return FrrPaths(self.root, router.name)

    @property
    def ssh_dir(self) -> Path:
        return self.root / "ssh"

    @property
    def client_key(self) -> Path:
        return self.ssh_dir / "id_ed25519"

    @property
    def authorized_keys(self) -> Path:
        return self.ssh_dir / "authorized_keys"

    @property
    def known_hosts(self) -> Path:
        return self.ssh_dir / "known_hosts"

    @property
    def password_file(self) -> Path:
        return self.ssh_dir / "password"

    @property
    def shadow_file(self) -> Path:
        return self.ssh_dir / "shadow"

    @staticmethod
    def router(name: str) -> FrrRouter:
        for router in ROUTERS:
            if router.name == name:
                return router
        raise LabError(
            f"no router {name!r} in the FRR lab (routers: {', '.join(r.name for r in ROUTERS)})"
        )

    @staticmethod
    def require_root() -> None:
        if os.geteuid() != 0:
            raise LabError("netmon lab needs root (network namespaces, a bridge, FRR daemons)")

    def check(self, missing_ok: bool = False) -> None:
        """As `Lab.check`; the router folders root's and writable by nobody else, their `frr`
        folders frr's own and writable by nobody else."""
        self.require_root()
        check_parents(self.root)
        if missing_ok and not os.path.lexists(self.root):
            return
        check_folder(self.root)
        if os.path.lexists(self.ssh_dir):
            check_folder(self.ssh_dir)
        for router in ROUTERS:
            paths = self.paths(router)
            if os.path.lexists(paths.dir):
                check_folder(paths.dir)
                if os.path.lexists(paths.frr):
                    check_frr_folder(paths.frr)

    def _netns_exists(self, router: FrrRouter) -> bool:
        return Path(f"/run/netns/{router.netns}").exists()

    def _check_address_space(self) -> None:
        out = base._run("ip", "-o", "-4", "addr", "show").stdout
        for line in out.splitlines():
            fields = line.split()
            if len(fields) < 4 or fields[1] == BRIDGE:
                continue
            iface = ipaddress.ip_interface(fields[3])
            if iface.network.overlaps(LAB_NET):
                raise LabError(
                    f"interface {fields[1]} already has {iface} inside the FRR lab's {LAB_NET}: not touching it"
                )

    def _is_lab_daemon(self, pid: int, router: FrrRouter, daemon: str) -> bool:
        """In the router's namespace, and started with this router's own files: zebra and vrrpd
        with its pid file (`-i`), sshd with its config."""
        paths = self.paths(router)
        tokens = _cmdline_tokens(pid)
        if not tokens or not _same_netns(pid, router.netns):
            return False
        if daemon == "sshd":
            return str(paths.sshd_conf) in tokens and any(
                Path(t).name.startswith("sshd") for t in tokens
            )
        return Path(tokens[0]).name == daemon and str(paths.pid_file(daemon)) in tokens

    def _pid(self, router: FrrRouter, daemon: str, strict: bool = False) -> int | None:
        paths = self.paths(router)
        pid_file = paths.pid_file(daemon)
        pid = base._read_pid(pid_file) if daemon == "sshd" else _read_frr_pid(pid_file)
        if pid is None or not _alive(pid):
            return None
        if self._is_lab_daemon(pid, router, daemon):
            return pid
        if strict:
            raise LabError(
                f"{pid_file} names pid {pid}, which is not the FRR lab's {daemon} of {router.name}: not touching it"
            )
        return None

    # -- up / down / status ---------------------------------------------------------------

    def up(self, timeout: float = 20.0) -> FrrLabStatus:
        """Build a fresh FRR lab (tearing down leftovers first); a failed `up` takes down what it
        built before it raises, leaving only the folder with the logs."""
        self.require_root()
        for tool in TOOLS:
            _find(tool)
        for daemon in ("zebra", "vrrpd"):
            if not (FRR_SBIN / daemon).exists():
                raise LabError(f"{FRR_SBIN / daemon} not found: install the Debian package frr")
        _, gid = _frr_ids()
        self.down()
        self._check_address_space()
        with contextlib.suppress(FileExistsError):
            self.root.mkdir(mode=0o700)
        st = self.root.lstat()
        if stat.S_ISLNK(st.st_mode) or st.st_uid != os.geteuid():
            raise LabError(f"{self.root} exists and is not this user's own folder: not using it")
        # Group frr may pass through (x), to reach the routers' frr folders; nobody else.
        os.chown(self.root, 0, gid, follow_symlinks=False)
        self.root.chmod(0o710)
        self.check()
        self._make_client_key()
        try:
            return self._build(timeout)
        except BaseException:
            try:
                self._teardown()
            except Exception:
                log.exception("tearing down the failed FRR lab")
            raise

    def _build(self, timeout: float) -> FrrLabStatus:
        run = base._run
        run("ip", "link", "add", BRIDGE, "type", "bridge")
        run("ip", "addr", "add", f"{MONITOR_ADDRESS}/{NETMASK}", "dev", BRIDGE)
        run("ip", "link", "set", BRIDGE, "up")
        for router in ROUTERS:
            self._make_router(router)
        for router in ROUTERS:
            for daemon in DAEMONS:
                self.start(router.name, daemon)
        self.wait_for(BASELINE, timeout)
        return self.status()

    def _make_client_key(self) -> None:
        key = self.client_key
        self.ssh_dir.mkdir(mode=0o700, exist_ok=True)
        os.chown(self.ssh_dir, 0, 0, follow_symlinks=False)
        check_folder(self.ssh_dir)
        for stale in (key, key.with_suffix(".pub")):
            stale.unlink(missing_ok=True)
        base._run(
            _find("ssh-keygen"), "-q", "-t", "ed25519", "-N", "", "-C", "netmon-lab-frr",
            "-f", str(key),
        )  # fmt: skip
        write_file(self.authorized_keys, read_file(key.with_suffix(".pub")), 0o644)
        password = secrets.token_urlsafe(12)
        write_file(self.password_file, password + "\n")
        hashed = subprocess.run(
            [_find("openssl"), "passwd", "-6", "-stdin"], input=password, capture_output=True,
            text=True, check=True, timeout=10,
        ).stdout.strip()  # fmt: skip
        write_file(self.shadow_file, f"root:{hashed}:19700:0:99999:7:::\n")
        write_file(self.known_hosts, "", 0o644)

    def _make_router(self, router: FrrRouter) -> None:
        run = base._run
        uid, gid = _frr_ids()
        paths = self.paths(router)
        paths.dir.mkdir(mode=0o710, exist_ok=True)
        os.chown(paths.dir, 0, gid, follow_symlinks=False)
        paths.dir.chmod(0o710)
        check_folder(paths.dir)
        with contextlib.suppress(FileExistsError):
            paths.frr.mkdir(mode=0o750)
        st = paths.frr.lstat()
        if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
            raise LabError(f"{paths.frr} is not a folder: not using it")
        os.chown(paths.frr, uid, gid, follow_symlinks=False)
        paths.frr.chmod(0o750)
        check_frr_folder(paths.frr)
        ns = router.netns
        run("ip", "netns", "add", ns)
        run("ip", "link", "add", router.host_port, "type", "veth", "peer", "name", IFACE,
            "netns", ns)  # fmt: skip
        run("ip", "link", "set", router.host_port, "master", BRIDGE)
        run("ip", "link", "set", router.host_port, "up")
        run("ip", "-n", ns, "link", "set", "lo", "up")
        run("ip", "-n", ns, "addr", "add", f"{router.address}/{NETMASK}", "dev", IFACE)
        run("ip", "-n", ns, "link", "set", IFACE, "up")
        # Without these the VIP is answered (ARP) with eth0's own MAC, not the virtual one.
        run("ip", "netns", "exec", ns, "sh", "-c",
            "echo 1 >/proc/sys/net/ipv4/conf/all/arp_ignore && "
            "echo 2 >/proc/sys/net/ipv4/conf/all/arp_announce")  # fmt: skip
        # vrrpd does not create its macvlan: vrrp4-<ifindex>-<vrid>, the virtual MAC, the VIP.
        # `addrgenmode` is refused by `ip link add ... type macvlan`: set right after.
        run("ip", "-n", ns, "link", "add", MACVLAN, "link", IFACE, "type", "macvlan", "mode",
            "bridge")  # fmt: skip
        run("ip", "-n", ns, "link", "set", "dev", MACVLAN, "address", VMAC)
        run("ip", "-n", ns, "link", "set", "dev", MACVLAN, "addrgenmode", "random")
        run("ip", "-n", ns, "addr", "add", f"{VIP}/{NETMASK}", "dev", MACVLAN)
        run("ip", "-n", ns, "link", "set", "dev", MACVLAN, "up")
        write_file(paths.frr_conf, frr_conf(router), 0o644)
        write_file(paths.sshd_conf, sshd_conf(router, paths, self.authorized_keys), 0o644)
        for stale in (paths.host_key, paths.host_key.with_suffix(".pub")):
            stale.unlink(missing_ok=True)
        run(_find("ssh-keygen"), "-q", "-t", "ed25519", "-N", "", "-f", str(paths.host_key))
        kind, blob = read_file(paths.host_key.with_suffix(".pub")).split()[:2]
        hosts = read_file(self.known_hosts)
        write_file(self.known_hosts, f"{hosts}{router.address} {kind} {blob}\n", 0o644)

    def down(self) -> None:
        """End every FRR lab process, delete its namespaces, bridge and ports."""
        self.check(missing_ok=True)
        self._teardown()

    def _teardown(self) -> None:
        run = base._run
        for router in ROUTERS:
            if self._netns_exists(router):
                self._end_namespace_processes(router)
                run("ip", "netns", "del", router.netns, check=False)
        run("ip", "link", "del", BRIDGE, check=False)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            left = [r.host_port for r in ROUTERS if Path(f"/sys/class/net/{r.host_port}").exists()]
            if not left:
                break
            time.sleep(0.1)
        for router in ROUTERS:
            run("ip", "link", "del", router.host_port, check=False)

    def _end_namespace_processes(self, router: FrrRouter) -> None:
        out = base._run("ip", "netns", "pids", router.netns, check=False).stdout
        pids = [int(p) for p in out.split() if p.isdigit()]
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

    def status(self) -> FrrLabStatus:
        self.check(missing_ok=True)
        routers = []
        held = self._holders() if os.path.lexists(self.root) else ()
        for router in ROUTERS:
            exists = self._netns_exists(router)
            daemons = (
                {d: self._pid(router, d) for d in DAEMONS} if exists else dict.fromkeys(DAEMONS)
            )
            vrrp = None
            if daemons["vrrpd"] is not None:
                with contextlib.suppress(LabError):
                    vrrp = str(self._vrrp_status(router)["v4"]["status"])
            routers.append(FrrRouterStatus(router.name, exists, daemons, vrrp, router.name in held))
        bridge = Path(f"/sys/class/net/{BRIDGE}").exists()
        return FrrLabStatus(self.root, bridge, tuple(routers))

    # -- reading VRRP ---------------------------------------------------------------------

    def _vtysh(self, router: FrrRouter, *commands: str) -> str:
        paths = self.paths(router)
        args = [_find("vtysh"), "--vty_socket", str(paths.frr), "-d", "vrrpd"]
        for command in commands:
            args += ["-c", command]
        result = base._run(*args, check=False)
        text = result.stdout.strip()
        if result.returncode != 0 or text.startswith("%") or "\n%" in text:
            raise LabError(
                f"vtysh on {router.name} ({'; '.join(commands)}) failed ({result.returncode}): "
                f"{(result.stderr or result.stdout).strip()}"
            )
        return result.stdout

    def _vrrp_status(self, router: FrrRouter) -> dict[str, Any]:
        text = self._vtysh(router, SHOW)
        try:
            groups = json.loads(text)
        except ValueError:
            raise LabError(f"vtysh on {router.name}: not JSON: {text[:200]!r}") from None
        for group in groups if isinstance(groups, list) else []:
            if isinstance(group, dict) and group.get("vrid") == VRID:
                return group
        raise LabError(f"vtysh on {router.name}: no VRRP group {VRID} in {text[:200]!r}")

    def vrrp_status(self, router_name: str) -> dict[str, Any]:
        """The router's VRRP group 61 as vrrpd reports it (`show vrrp ... json`), e.g.
        `["v4"]["status"]`; LabError when vrrpd does not answer."""
        self.check()
        return self._vrrp_status(self.router(router_name))

    def vrrp_state(self, router_name: str) -> str | None:
        """`v4.status` of the router's group, None when vrrpd does not answer."""
        try:
            return str(self.vrrp_status(router_name)["v4"]["status"])
        except (LabError, KeyError, TypeError):
            return None

    def _holds_vip(self, router: FrrRouter) -> bool:
        if not self._netns_exists(router):
            return False
        ns = router.netns
        link = base._run("ip", "-n", ns, "-o", "link", "show", "dev", MACVLAN, check=False)
        if link.returncode != 0 or "protodown on" in link.stdout:
            return False
        flags = link.stdout.split("<", 1)[-1].split(">", 1)[0].split(",")
        if "UP" not in flags or "LOWER_UP" not in flags:
            return False
        addrs = base._run("ip", "-n", ns, "-o", "-4", "addr", "show", "dev", MACVLAN, check=False)
        held = {f.split("/")[0] for line in addrs.stdout.splitlines() for f in line.split()[3:4]}
        return VIP in held

    def _holders(self) -> tuple[str, ...]:
        return tuple(r.name for r in ROUTERS if self._holds_vip(r))

    def holders(self) -> tuple[str, ...]:
        """The routers holding the VIP on an up, non-protodown macvlan (from `ip`, not vrrpd):
        an independent watch. A backup's macvlan keeps the VIP while protodown."""
        self.check()
        return self._holders()

    def wait_for(self, expected: dict[str, str], timeout: float = 15.0) -> float:
        """Wait until each named router's `v4.status` is the one given and the VIP is held by
        exactly the routers expected as Master. Returns the seconds it took."""
        started = time.monotonic()
        deadline = started + timeout
        masters = tuple(r.name for r in ROUTERS if expected.get(r.name) == "Master")
        seen: dict[str, str | None] = {}
        held: tuple[str, ...] = ()
        while True:
            held = self.holders()
            seen = {name: self.vrrp_state(name) for name in expected}
            if held == masters and all(seen[n] == s for n, s in expected.items()):
                return time.monotonic() - started
            if time.monotonic() > deadline:
                raise LabError(
                    f"FRR lab did not converge within {timeout}s: VRRP {seen}, VIP held by "
                    f"{list(held)}, expected {expected}"
                )
            time.sleep(0.1)

    # -- levers ---------------------------------------------------------------------------

    def start(self, router_name: str, daemon: str) -> int:
        self.check()
        router = self.router(router_name)
        if daemon not in DAEMONS:
            raise LabError(f"unknown daemon {daemon!r} (daemons: {', '.join(DAEMONS)})")
        if self._pid(router, daemon) is not None:
            raise LabError(f"{daemon} already runs on {router.name}")
        paths = self.paths(router)
        ns = ("ip", "netns", "exec", router.netns)
        paths.pid_file(daemon).unlink(missing_ok=True)
        if daemon in ("zebra", "vrrpd"):
            # As frr (they refuse -u root); -d daemonizes (stdio to /dev/null); no TCP vty (-P 0);
            # every file in the router's own frr folder: the namespaces share one process list.
            conf = "/dev/null" if daemon == "zebra" else str(paths.frr_conf)
            base._run(*ns, str(FRR_SBIN / daemon), "-d", "-u", FRR_USER, "-g", FRR_USER,
                      "-A", "127.0.0.1", "-P", "0", "-i", str(paths.pid_file(daemon)),
                      "-z", str(paths.zserv), "--vty_socket", str(paths.frr), "-f", conf,
                      "--log", f"file:{paths.log_file(daemon)}")  # fmt: skip
        else:
            # As Lab's sshd, in its own mount namespace; there the router's frr folder is
            # /run/frr, where plain `vtysh` looks for the daemons' sockets.
            script = (
                "mount -t tmpfs -o mode=0755 netmon-lab-frr /run && mkdir -p /run/sshd /run/frr && "
                'mount --bind "$4" /run/frr && '
                "mount -t tmpfs -o mode=0700 netmon-lab-home /root && "
                'mount --bind "$3" /etc/shadow && '
                f'exec {_find("sshd")} -f "$1" -E "$2"'
            )
            base._run(*ns, _find("unshare"), "--mount", "--propagation", "private", "sh", "-c",
                      script, "sshd", str(paths.sshd_conf), str(paths.sshd_log),
                      str(self.shadow_file), str(paths.frr))  # fmt: skip
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            pid = self._pid(router, daemon)
            if pid is not None:
                return pid
            time.sleep(0.05)
        raise LabError(f"{daemon} on {router.name} did not start; see {paths.log_file(daemon)}")

    def stop(self, router_name: str, daemon: str, sig: signal.Signals = signal.SIGTERM) -> None:
        """Signal the lab's daemon (a pid file naming another process is refused)."""
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

    def _configure(self, router: FrrRouter, line: str) -> None:
        self._vtysh(router, "configure terminal", f"interface {IFACE}", line)

    def shutdown(self, router_name: str, on: bool) -> None:
        """`vrrp 61 shutdown` (on: the group goes to Initialize, its macvlan protodown) or
        `no vrrp 61 shutdown`. Runtime only: a restarted vrrpd reads frr.conf again."""
        self.check()
        router = self.router(router_name)
        self._configure(router, f"{'' if on else 'no '}vrrp {VRID} shutdown")

    def priority(self, router_name: str, value: int) -> None:
        """`vrrp 61 priority N` (1..254); runtime only, like `shutdown`."""
        self.check()
        router = self.router(router_name)
        if not 1 <= value <= 254:
            raise LabError(f"VRRP priority must be 1..254, got {value}")
        self._configure(router, f"vrrp {VRID} priority {value}")

    def split(self, on: bool) -> None:
        """Cut the routers apart (bridge port isolation): the monitor still reaches both."""
        self.check()
        state = "on" if on else "off"
        for router in ROUTERS:
            base._run("bridge", "link", "set", "dev", router.host_port, "isolated", state)

    def reset(self, timeout: float = 15.0) -> float:
        """Back to the baseline: split off, every daemon running, no shutdown, priorities
        150/100, f1 Master and f2 Backup. Returns the seconds the convergence took."""
        self.check()
        self.split(False)
        for router in ROUTERS:
            for daemon in DAEMONS:  # zebra before vrrpd
                if self._pid(router, daemon) is None:
                    self.start(router.name, daemon)
        for router in ROUTERS:
            self._configure(router, f"vrrp {VRID} priority {router.priority}")
            self._configure(router, f"no vrrp {VRID} shutdown")
        return self.wait_for(BASELINE, timeout)
