"""`netmon inventory from-netbox` and the live NetBox source against a real NetBox (issue 19).

The NetBox (tests/netbox_server.py: NetBox from PyPI, PostgreSQL, Redis) is filled through its
REST API with the lab as NetBox would describe it (netmon/lab/topology.py): two Linux routers r1
(10.99.0.11, keepalived priority 150) and r2 (10.99.0.12, priority 100), their `eth0`, an FHRP
group VRRPv2 51 with VIP 10.99.0.51 and one VRRPv3 52 with VIP 10.99.0.52, assigned on both
`eth0` with the lab's priorities. The pure-API test needs NetBox only; the lab tests also judge
the pairs that come out of NetBox against the running lab (`lab`, `root`).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from ruamel.yaml import YAML

from netmon.lab.topology import INSTANCES, ROUTERS

from .conftest import REPO, free_tcp_port, stop_process
from .helpers import get, sample, wait_for
from .netbox_server import NetBox, netbox  # noqa: F401

if TYPE_CHECKING:
    from netmon.lab import Lab

# The NetBox fixture runs PostgreSQL and Redis as other users: root, as tests/pg.py.
pytestmark = [pytest.mark.netbox, pytest.mark.root]

NETMON = str(REPO / ".venv" / "bin" / "netmon")
TOKEN_ENV = "NETMON_TEST_NETBOX_TOKEN"
SITE = "netmon-lab"
COMMUNITY_FILE = "/var/lib/netmon-lab/community"  # written by `netmon lab up`
# NetBox's FHRP group name is the pair's name in netmon.
GROUP_NAMES = {2: "nb-lab-ka", 3: "nb-lab-v3"}  # by VRRP version
PROTOCOLS = {2: "vrrp2", 3: "vrrp3"}
# What from-netbox must make of them: VRRPv2 on two Linux platforms is keepalived.
EXPECTED = {
    "nb-lab-ka": {"kind": "keepalived", "params": {"vrid": 51}, "vip": "10.99.0.51"},
    "nb-lab-v3": {"kind": "vrrpv3", "params": {"vrid": 52}, "vip": "10.99.0.52"},
}
BASE = f"""\
version: 1
defaults:
  pair:
    interval: 2
    split_brain_debounce: 2
    thresholds:
      min_packets: 1
netbox:
  match:
    # The lab's SNMP settings (inventory/lab.yaml), chosen by NetBox platform
    - {{platform: debian-linux, snmp: {{version: "2c", community: {{file: {COMMUNITY_FILE}}},
                                     timeout: 0.5, retries: 1}}}}
"""


@dataclass
class LabInNetbox:
    """The ids of what the fixture made in NetBox, to change and restore it."""

    devices: dict[str, int]  # r1, r2
    groups: dict[str, int]  # pair name -> FHRP group id
    assignments: dict[tuple[str, str], int]  # (pair, router) -> assignment id


@pytest.fixture(scope="module")
def lab_in_netbox(netbox: NetBox) -> LabInNetbox:  # noqa: F811
    """The lab's routers, interfaces, addresses and FHRP groups, made through NetBox's API."""
    nb = netbox.api()
    site = nb.dcim.sites.create(name="netmon lab", slug=SITE, status="active")
    maker = nb.dcim.manufacturers.create(name="netmon", slug="netmon")
    dtype = nb.dcim.device_types.create(
        manufacturer=maker.id, model="lab router", slug="lab-router"
    )
    role = nb.dcim.device_roles.create(name="Router", slug="router", color="2196f3")
    platform = nb.dcim.platforms.create(name="Debian Linux (keepalived)", slug="debian-linux")
    devices: dict[str, int] = {}
    eth0: dict[str, int] = {}
    for router in ROUTERS:
        device = nb.dcim.devices.create(
            name=router.name, device_type=dtype.id, role=role.id, site=site.id,
            platform=platform.id, status="active",
        )  # fmt: skip
        iface = nb.dcim.interfaces.create(device=device.id, name="eth0", type="virtual")
        ip = nb.ipam.ip_addresses.create(
            address=f"{router.address}/24", status="active",
            assigned_object_type="dcim.interface", assigned_object_id=iface.id,
        )  # fmt: skip
        device.primary_ip4 = ip.id
        device.save()
        devices[router.name] = device.id
        eth0[router.name] = iface.id
    groups: dict[str, int] = {}
    assignments: dict[tuple[str, str], int] = {}
    for inst in INSTANCES:
        name = GROUP_NAMES[inst.version]
        group = nb.ipam.fhrp_groups.create(
            name=name, protocol=PROTOCOLS[inst.version], group_id=inst.vrid,
            auth_type="plaintext", auth_key="not-for-netmon",
        )  # fmt: skip
        nb.ipam.ip_addresses.create(
            address=f"{inst.vip}/24", status="active", role="vip",
            assigned_object_type="ipam.fhrpgroup", assigned_object_id=group.id,
        )  # fmt: skip
        groups[name] = group.id
        for router in ROUTERS:
            assignment = nb.ipam.fhrp_group_assignments.create(
                group=group.id, interface_type="dcim.interface",
                interface_id=eth0[router.name], priority=router.priority,
            )  # fmt: skip
            assignments[(name, router.name)] = assignment.id
    return LabInNetbox(devices, groups, assignments)


def netmon(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [NETMON, *args], capture_output=True, text=True, timeout=timeout, check=False, env=env
    )


def token_env(netbox: NetBox) -> dict[str, str]:  # noqa: F811
    return {**os.environ, TOKEN_ENV: netbox.token}


def from_netbox(netbox: NetBox, tmp: Path) -> tuple[subprocess.CompletedProcess[str], Path]:  # noqa: F811
    base = tmp / "base.yaml"
    base.write_text(BASE)
    out = tmp / "from-netbox.yaml"
    done = netmon(
        "inventory", "from-netbox", "--url", netbox.url, "--token-env", TOKEN_ENV,
        "--site", SITE, "--base", str(base), "-o", str(out),
        env=token_env(netbox),
    )  # fmt: skip
    return done, out


def pairs_of(path: Path) -> dict[str, dict[str, Any]]:
    data = YAML(typ="safe").load(path.read_text())
    return {p["name"]: p for p in data["pairs"]}


# -- NetBox only -------------------------------------------------------------------------------


def test_from_netbox_reads_the_lab_from_a_real_netbox(
    netbox: NetBox,  # noqa: F811
    lab_in_netbox: LabInNetbox,
    tmp_path: Path,
) -> None:
    done, out = from_netbox(netbox, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    text = out.read_text()
    assert netbox.token not in text and "not-for-netmon" not in text  # nor the group's auth_key
    pairs = pairs_of(out)
    assert set(pairs) == set(EXPECTED)
    for name, want in EXPECTED.items():
        pair = pairs[name]
        assert pair["kind"] == want["kind"]
        assert pair["params"] == want["params"]
        assert pair["virtual_ip"] == want["vip"]
        assert pair["members"] == [
            {"name": "r1", "params": {"interface": "eth0"}},
            {"name": "r2", "params": {"interface": "eth0"}},
        ]
        assert pair["preferred"] == "r1"  # priority 150 against 100, as keepalived.conf
        assert pair["labels"] == {"netbox_fhrp_group": str(lab_in_netbox.groups[name])}
    data = YAML(typ="safe").load(text)
    community = {
        "version": "2c",
        "community": {"file": COMMUNITY_FILE},
        "timeout": 0.5,
        "retries": 1,
    }
    assert data["devices"] == {r.name: {"address": r.address, "snmp": community} for r in ROUTERS}
    checked = netmon("inventory", "validate", str(out))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "2 devices, 2 pairs" in checked.stdout


def test_from_netbox_refuses_a_token_netbox_refuses(
    netbox: NetBox,  # noqa: F811
    lab_in_netbox: LabInNetbox,
    tmp_path: Path,
) -> None:
    key = netbox.token.split(".", 1)[0]
    wrong = f"{key}.{'x' * 40}"
    done = netmon(
        "inventory", "from-netbox", "--url", netbox.url, "--token-env", TOKEN_ENV,
        env={**os.environ, TOKEN_ENV: wrong},
    )  # fmt: skip
    assert done.returncode == 2
    assert re.search(r"answered HTTP 40[13]", done.stderr), done.stderr
    assert wrong not in done.stderr + done.stdout


# -- the live source (netmon run with `source: netbox`) ---------------------------------------


def live_inventory(netbox: NetBox, tmp: Path, *, interval: float) -> Path:  # noqa: F811
    path = tmp / "live.yaml"
    path.write_text(
        BASE
        + "source:\n  netbox:\n"
        + f"    url: {netbox.url}\n    token: {{env: {TOKEN_ENV}}}\n    site: {SITE}\n"
        + f"    interval: {interval:g}\n    timeout: 3\n"
    )
    return path


class LiveDaemon:
    def __init__(self, netbox: NetBox, inventory: Path, log: Path) -> None:  # noqa: F811
        self.listen = f"127.0.0.1:{free_tcp_port()}"
        self.log = log
        env = {**token_env(netbox), "XDG_STATE_HOME": str(log.parent / "state")}
        with log.open("ab") as sink:
            self.proc = subprocess.Popen(
                [NETMON, "run", "--inventory", str(inventory), "--listen", self.listen],
                stdout=sink, stderr=sink, env=env,
            )  # fmt: skip

    def value(self, name: str, **labels: str) -> float | None:
        if self.proc.poll() is not None:
            pytest.fail(f"netmon run exited with {self.proc.returncode}:\n{self.log.read_text()}")
        return sample(self.listen, name, **labels)

    def pairs(self) -> set[str]:
        text = get(f"http://{self.listen}/metrics")
        return set(re.findall(r'^netmon_pair_state\{[^}]*pair="([^"]+)"', text, re.M))

    def hup(self) -> None:
        self.proc.send_signal(signal.SIGHUP)

    def stop(self) -> None:
        stop_process(self.proc)


@pytest.fixture
def live(netbox: NetBox, lab_in_netbox: LabInNetbox, tmp_path: Path) -> Iterator[LiveDaemon]:  # noqa: F811
    daemon = LiveDaemon(netbox, live_inventory(netbox, tmp_path, interval=5), tmp_path / "run.log")
    try:
        yield daemon
    finally:
        daemon.stop()
        if not netbox.running():
            netbox.start()


SOURCE = {"source": "netbox"}


@pytest.mark.daemon
def test_live_source_keeps_the_pairs_while_netbox_is_away(netbox: NetBox, live: LiveDaemon) -> None:  # noqa: F811
    wait_for(lambda: live.value("netmon_inventory_source_up", **SOURCE) == 1.0, 30, "source up")
    wait_for(lambda: live.pairs() == set(EXPECTED), 10, "the pairs NetBox describes")
    first = live.value("netmon_inventory_source_last_success_timestamp_seconds", **SOURCE)
    assert first is not None and abs(first - time.time()) < 60
    netbox.stop()
    wait_for(lambda: live.value("netmon_inventory_source_up", **SOURCE) == 0.0, 20, "source down")
    assert live.pairs() == set(EXPECTED)  # the last good inventory stays
    stale = live.value("netmon_inventory_source_last_success_timestamp_seconds", **SOURCE)
    time.sleep(6)  # another refresh (every 5 s) fails too: no new success
    assert live.value("netmon_inventory_source_last_success_timestamp_seconds", **SOURCE) == stale
    assert live.value("netmon_inventory_source_up", **SOURCE) == 0.0
    netbox.start()
    wait_for(lambda: live.value("netmon_inventory_source_up", **SOURCE) == 1.0, 30, "source up")
    last = live.value("netmon_inventory_source_last_success_timestamp_seconds", **SOURCE)
    assert last is not None and first is not None and last > first
    assert live.pairs() == set(EXPECTED)


@pytest.mark.daemon
def test_live_source_refreshes_at_sighup(
    netbox: NetBox,  # noqa: F811
    lab_in_netbox: LabInNetbox,
    tmp_path: Path,
) -> None:
    """A long interval: only the SIGHUP makes the daemon read NetBox again."""
    daemon = LiveDaemon(
        netbox, live_inventory(netbox, tmp_path, interval=3600), tmp_path / "run.log"
    )
    try:
        wait_for(lambda: daemon.value("netmon_inventory_source_up", **SOURCE) == 1.0, 30, "up")
        wait_for(lambda: daemon.pairs() == set(EXPECTED), 10, "the pairs NetBox describes")
        netbox.stop()
        daemon.hup()
        wait_for(lambda: daemon.value("netmon_inventory_source_up", **SOURCE) == 0.0, 20, "down")
        assert daemon.pairs() == set(EXPECTED)
        netbox.start()
        daemon.hup()
        wait_for(lambda: daemon.value("netmon_inventory_source_up", **SOURCE) == 1.0, 30, "up")
    finally:
        daemon.stop()
        if not netbox.running():
            netbox.start()


# -- against the running lab -------------------------------------------------------------------


def _lab_healthy(out: Path) -> bool:
    done = netmon("check", "--inventory", str(out), "--json", timeout=60)
    return done.returncode == 0


@pytest.mark.lab
@pytest.mark.root
def test_from_netbox_inventory_judges_the_lab_healthy(
    lab: Lab,
    netbox: NetBox,  # noqa: F811
    lab_in_netbox: LabInNetbox,
    tmp_path: Path,
) -> None:
    lab.reset()
    done, out = from_netbox(netbox, tmp_path)
    assert done.returncode == 0, done.stderr
    checked = netmon("inventory", "validate", str(out))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # After a reset VRRP converges within seconds; then one poll judges both pairs healthy.
    wait_for(lambda: _lab_healthy(out), 30, "netmon check: every NetBox pair healthy", step=1)
    final = netmon("check", "--inventory", str(out), "--json", timeout=60)
    assert final.returncode == 0, final.stdout + final.stderr
    verdicts = {p["pair"]: p["state"] for p in json.loads(final.stdout)["pairs"]}
    assert verdicts == dict.fromkeys(EXPECTED, "healthy")


@pytest.mark.lab
@pytest.mark.root
@pytest.mark.daemon
def test_intent_drift_when_netbox_prefers_the_other_router(
    lab: Lab,
    netbox: NetBox,  # noqa: F811
    lab_in_netbox: LabInNetbox,
    tmp_path: Path,
) -> None:
    """NetBox says r2 should be the master of VRRPv2 51; the lab's r1 is: out of sync."""
    lab.reset()
    nb = netbox.api()
    pair = "nb-lab-ka"
    daemon = LiveDaemon(
        netbox, live_inventory(netbox, tmp_path, interval=3600), tmp_path / "run.log"
    )

    def in_sync() -> float | None:
        return daemon.value("netmon_pair_intent_in_sync", pair=pair)

    def set_priorities(r1: int, r2: int) -> None:
        for router, priority in (("r1", r1), ("r2", r2)):
            assignment = nb.ipam.fhrp_group_assignments.get(
                lab_in_netbox.assignments[(pair, router)]
            )
            assignment.priority = priority
            assignment.save()

    try:
        wait_for(lambda: in_sync() == 1.0, 60, f"{pair} in sync with NetBox")
        set_priorities(100, 150)
        daemon.hup()
        wait_for(lambda: in_sync() == 0.0, 30, f"{pair} out of sync after NetBox prefers r2")
        assert daemon.value("netmon_pair_intent_in_sync", pair="nb-lab-v3") == 1.0
        set_priorities(150, 100)
        daemon.hup()
        wait_for(lambda: in_sync() == 1.0, 30, f"{pair} in sync again")
    finally:
        set_priorities(150, 100)
        daemon.stop()


@pytest.mark.lab
@pytest.mark.root
@pytest.mark.daemon
def test_intent_drift_when_netbox_changes_the_vip(
    lab: Lab,
    netbox: NetBox,  # noqa: F811
    lab_in_netbox: LabInNetbox,
    tmp_path: Path,
) -> None:
    """NetBox gives VRRPv3 52 another VIP than the one keepalived serves: out of sync."""
    lab.reset()
    nb = netbox.api()
    pair = "nb-lab-v3"
    vip = next(
        ip
        for ip in nb.ipam.ip_addresses.filter(
            assigned_object_type="ipam.fhrpgroup", assigned_object_id=lab_in_netbox.groups[pair]
        )
    )
    daemon = LiveDaemon(
        netbox, live_inventory(netbox, tmp_path, interval=3600), tmp_path / "run.log"
    )

    def in_sync() -> float | None:
        return daemon.value("netmon_pair_intent_in_sync", pair=pair)

    def set_vip(address: str) -> None:
        vip.address = address
        vip.save()

    try:
        wait_for(lambda: in_sync() == 1.0, 60, f"{pair} in sync with NetBox")
        set_vip("10.99.0.53/24")
        daemon.hup()
        wait_for(lambda: in_sync() == 0.0, 30, f"{pair} out of sync after NetBox's VIP changed")
        set_vip("10.99.0.52/24")
        daemon.hup()
        wait_for(lambda: in_sync() == 1.0, 30, f"{pair} in sync again")
    finally:
        set_vip("10.99.0.52/24")
        daemon.stop()
