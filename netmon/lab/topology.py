"""What the lab is made of: names, addresses and the daemons' configuration files. Pure.

Addresses live in 10.99.0.0/24, only inside namespaces the lab creates (the machine's real
uplink is elsewhere; see docs/lab.md). The monitor side is a bridge in the root namespace.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

PREFIX = "nmlab"
BRIDGE = f"{PREFIX}0"
MONITOR_ADDRESS = "10.99.0.1"
NETMASK = 24
TRAP_PORT = 16162
# Monitor replicas in namespaces of their own on the bridge (tests/test_replicas_lab.py: two netmon
# replicas each with its own path to the routers, which a test can cut). snmpd answers them and
# sends them its traps as it does the monitor side; with no replica running, their traps go
# nowhere (UDP, never waited for).
REPLICA_ADDRESSES = ("10.99.0.21", "10.99.0.22")
# In a folder only root can write: under /tmp, anyone could create the folder first while the lab
# is down (the lab then refuses it) or plant the community, key and known_hosts that
# inventory/lab.yaml reads. Not under /run: sshd gets a private tmpfs /run and must still read its
# files here. Every daemon runs as root, so the folder can be 0700. The lab refuses a folder, or a
# parent of it, that someone else could change (see Lab.check).
DEFAULT_DIR = Path("/var/lib/netmon-lab")


@dataclass(frozen=True)
class Instance:
    name: str
    version: int  # VRRP protocol version
    vrid: int
    vip: str
    index: int  # vrrpInstanceIndex in KEEPALIVED-MIB: position in keepalived.conf


INSTANCES = (
    Instance("VI_v2", 2, 51, "10.99.0.51", 1),
    Instance("VI_v3", 3, 52, "10.99.0.52", 2),
)


@dataclass(frozen=True)
class Router:
    name: str
    address: str
    priority: int

    @property
    def netns(self) -> str:
        return f"{PREFIX}-{self.name}"

    @property
    def host_port(self) -> str:
        """The veth end on the bridge (in the root namespace)."""
        return f"{PREFIX}-{self.name}h"


ROUTERS = (Router("r1", "10.99.0.11", 150), Router("r2", "10.99.0.12", 100))


def peer_of(router: Router) -> Router:
    return next(r for r in ROUTERS if r.name != router.name)


@dataclass(frozen=True)
class Paths:
    """Every file of one router, inside the lab folder."""

    root: Path
    router: str

    @property
    def dir(self) -> Path:
        return self.root / self.router

    def __getattr__(self, name: str) -> Path:
        files = {
            "keepalived_conf": "keepalived.conf",
            "keepalived_pid": "keepalived.pid",
            "vrrp_pid": "vrrp.pid",
            "checkers_pid": "checkers.pid",
            "bfd_pid": "bfd.pid",
            "keepalived_log": "keepalived.log",
            "snmpd_conf": "snmpd.conf",
            "snmpd_pid": "snmpd.pid",
            "snmpd_log": "snmpd.log",
            "agentx": "agentx.sock",
            "persist": "snmp-persist",
            "sshd_conf": "sshd_config",
            "sshd_pid": "sshd.pid",
            "sshd_log": "sshd.log",
            "host_key": "ssh_host_ed25519_key",
            "fault_file": "track-fault",
            "priority_file": "track-priority",
        }
        if name not in files:
            raise AttributeError(name)
        return self.dir / files[name]


def keepalived_conf(router: Router, paths: Paths) -> str:
    peer = peer_of(router)
    blocks = [
        f"""global_defs {{
    router_id {router.name}
    enable_snmp_vrrp
    enable_snmp_rfcv2
    enable_snmp_rfcv3
    enable_traps
    snmp_socket unix:{paths.agentx}
    script_user root
    enable_script_security
    vrrp_garp_master_delay 1
}}

# Drill and test levers: write 1 into a file to pull it, 0 to release it.
track_file lab_fault {{
    file {paths.fault_file}
    weight 0
}}
track_file lab_priority {{
    file {paths.priority_file}
    weight -100
}}
"""
    ]
    for inst in INSTANCES:
        blocks.append(
            f"""vrrp_instance {inst.name} {{
    state BACKUP
    interface eth0
    virtual_router_id {inst.vrid}
    version {inst.version}
    priority {router.priority}
    advert_int 1
    unicast_src_ip {router.address}
    unicast_peer {{
        {peer.address}
    }}
    virtual_ipaddress {{
        {inst.vip}/{NETMASK} dev eth0
    }}
    track_file {{
        lab_fault
        lab_priority
    }}
}}
"""
        )
    return "\n".join(blocks)


def snmpd_conf(router: Router, paths: Paths, community: str) -> str:
    monitors = (MONITOR_ADDRESS, *REPLICA_ADDRESSES)
    access = "".join(f"rwcommunity {community} {address}/32\n" for address in monitors)
    sinks = "".join(f"trap2sink {address}:{TRAP_PORT} {community}\n" for address in monitors)
    return f"""agentAddress udp:{router.address}:161
{access}sysName {router.name}
master agentx
agentXSocket unix:{paths.agentx}
agentXPerms 0660 0750
{sinks}"""


def sshd_conf(router: Router, paths: Paths, authorized_keys: Path) -> str:
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
"""
