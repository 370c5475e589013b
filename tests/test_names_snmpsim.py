"""Interfaces by name and keepalived instances by VRID (issue 19), read through the real collector
from agents snmpsim serves: tests/fixtures/names/<case>.snmprec (the directory is snmpsim's data
directory; community `<case>`), in the style of tests/test_kinds_snmpsim.py.

The files are written in snmpsim's format after the rows real agents serve (net-snmp's IF-MIB
on Linux: ifName = ifDescr = the kernel's name; Cisco IOS: ifName "Gi0/1", ifDescr
"GigabitEthernet0/1"; keepalived 2.2.7's KEEPALIVED-MIB vrrpInstanceTable), with the kinds' rows
at the ifIndex the names resolve to:
- by_ifname: Vlan10 is ifIndex 3 in ifName, VRRPv2 and VRRPv3 VRID 10 there;
- by_ifdescr: "GigabitEthernet0/1" only in ifDescr (ifName says "Gi0/1"), HSRP group 30 on it;
- ambiguous: two ifName rows "eth0";
- before_restart / after_restart / renumbered: Vlan20 at ifIndex 3, then at 9 with sysUpTime
  back to 2 s (a restart), or at 9 with sysUpTime still growing;
- keepalived: VRID 51 on eth0 (instance 1), VRID 52 on eth1 and eth2 (instances 2, 3).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from netmon.collectors.snmp import SnmpCollector
from netmon.inventory import load_inventory
from netmon.model import Inventory, Secret, SnmpV2c
from netmon.poller import Poller
from netmon.store import StateStore

from .conftest import free_udp_port
from .test_kinds_snmpsim import snmpsim_agent

pytestmark = pytest.mark.daemon

DATA = Path(__file__).parent / "fixtures" / "names"
CASES = sorted(p.stem for p in DATA.glob("*.snmprec"))


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    work = tmp_path_factory.mktemp("snmpsim-names")
    with snmpsim_agent(DATA, work, "by_ifname", "1.3.6.1.2.1.1.3.0") as port:
        yield port, work


def devices_yaml(port: int) -> str:
    """Two devices per case (a pair's two members may not read one unit of one device)."""
    lines = ["devices:"]
    for case in CASES:
        for copy in ("a", "b"):
            lines.append(
                f"  {case}-{copy}: {{address: 127.0.0.1, snmp: {{port: {port}, "
                f"community: {{env: C_{case.upper()}}}}}}}"
            )
    return "\n".join(lines) + "\n"


def pair(name: str, kind: str, case: str, params: dict[str, Any]) -> str:
    p = json.dumps(params)
    return (
        f"  - {{name: {name}, kind: {kind}, members: [{{name: a, device: {case}-a, params: {p}}}, "
        f"{{name: b, device: {case}-b, params: {p}}}]}}"
    )


def env_for_cases() -> dict[str, str]:
    return {**os.environ, **{f"C_{case.upper()}": case for case in CASES}}


def test_names_resolved_by_netmon_check(agent: tuple[int, Path]) -> None:
    port, work = agent
    inventory = work / "names.yaml"
    dead = free_udp_port()  # nothing listens: the walk for the name is not answered
    inventory.write_text(
        "version: 1\ndefaults:\n  snmp: {timeout: 2, retries: 1}\n"
        "  pair: {probes: {enabled: false}}\n" + devices_yaml(port)
        + f"  dead: {{address: 127.0.0.1, snmp: {{port: {dead}, timeout: 0.3, retries: 0, "
        "community: {env: C_BY_IFNAME}}}\n"
        + "pairs:\n" + "\n".join([
            "  - {name: v2-dead, kind: vrrp, params: {vrid: 10, interface: Vlan10}, members: "
            "[{name: a, device: dead}, {name: b, device: by_ifname-b}]}",
            pair("v2-ifname", "vrrp", "by_ifname", {"vrid": 10, "interface": "Vlan10"}),
            pair("v3-ifname", "vrrpv3", "by_ifname", {"vrid": 10, "interface": "Vlan10"}),
            pair("link-ifname", "if-link", "by_ifname", {"interface": "eth1"}),
            pair("hsrp-ifdescr", "hsrp", "by_ifdescr", {"group": 30, "interface": "GigabitEthernet0/1"}),
            pair("hsrp-short", "hsrp", "by_ifdescr", {"group": 30, "interface": "Gi0/1"}),
            pair("v2-unknown", "vrrp", "by_ifname", {"vrid": 10, "interface": "Vlan99"}),
            pair("v2-ambiguous", "vrrp", "ambiguous", {"vrid": 10, "interface": "eth0"}),
            pair("ka-51", "keepalived", "keepalived", {"vrid": 51}),
            pair("ka-52-eth2", "keepalived", "keepalived", {"vrid": 52, "interface": "eth2"}),
            pair("ka-52", "keepalived", "keepalived", {"vrid": 52}),
            pair("ka-99", "keepalived", "keepalived", {"vrid": 99}),
            pair("v2-by-index", "vrrp", "by_ifname", {"vrid": 10, "if_index": 3}),
        ]) + "\n"
    )  # fmt: skip
    run = subprocess.run(
        [sys.executable, "-m", "netmon", "check", "-i", str(inventory), "--json"],
        env=env_for_cases(), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert run.returncode in (0, 1), run.stderr[-3000:]
    got = {p["pair"]: p["members"][0] for p in json.loads(run.stdout)["pairs"]}
    want = {
        # pair: (role, what the identity or the reason says)
        "v2-ifname": ("active", "ifIndex 3 (Vlan10) VRID 10"),
        "v3-ifname": ("active", "ifIndex 3 (Vlan10) VRID 10 IPv4"),
        "link-ifname": ("active", None),
        "hsrp-ifdescr": ("active", "ifIndex 5 (GigabitEthernet0/1) group 30"),
        "hsrp-short": ("active", "ifIndex 5 (Gi0/1) group 30"),
        "v2-unknown": ("unknown", "interface Vlan99: not in ifName or ifDescr of by_ifname-a"),
        "v2-ambiguous": (
            "unknown",
            "interface eth0: ambiguous, 2 rows of ifName of ambiguous-a (ifIndex 2, 7)",
        ),
        "ka-51": ("active", "instance 1 (VI_1), VRID 51"),
        "ka-52-eth2": ("active", "instance 3 (VI_3), VRID 52 on eth2"),
        "ka-52": ("unknown", "VRID 52: ambiguous, 2 instances in vrrpInstanceVirtualRouterId"),
        "ka-99": ("unknown", "VRID 99: not in vrrpInstanceVirtualRouterId of keepalived-a"),
        "v2-by-index": ("active", "ifIndex 3 VRID 10"),
        "v2-dead": ("unreachable", None),  # as any device that does not answer; never a guess
    }
    wrong = []
    for name, (role, words) in want.items():
        member = got[name]
        shown = member["identity"] if role not in ("unknown", "unreachable") else member["reason"]
        if member["role"] != role or (words is not None and words not in (shown or "")):
            wrong.append((name, role, words, member["role"], member["identity"], member["reason"]))
    assert not wrong, wrong
    assert got["v2-dead"]["reason"] == "timeout", got["v2-dead"]


def with_community(inv: Inventory, device: str, community: str) -> Inventory:
    """The same inventory, the device's agent now the one recorded as `community`: the device
    as netmon knows it (its name, address and port) answering differently."""
    dev = inv.devices[device]
    assert dev.snmp is not None
    snmp = replace(dev.snmp, credentials=SnmpV2c(Secret(f"test:{community}", community)))
    return replace(inv, devices={**inv.devices, device: replace(dev, snmp=snmp)})


@pytest.mark.parametrize(("then", "role"), [("after_restart", "standby"), ("renumbered", "active")])
def test_an_ifindex_renumbered_is_found_again_at_once(
    agent: tuple[int, Path], monkeypatch: pytest.MonkeyPatch, then: str, role: str
) -> None:
    """Vlan20 moves from ifIndex 3 to 9: after a restart (sysUpTime backwards), or without one
    (the cached row answers noSuchInstance). The poll that first sees it walks ifName again and
    reads the new row: the member is never judged on the vanished row (`fault`)."""
    port, work = agent
    for case in CASES:
        monkeypatch.setenv(f"C_{case.upper()}", case)
    path = work / f"restart-{then}.yaml"
    path.write_text(
        "version: 1\ndefaults:\n  snmp: {timeout: 2, retries: 1}\n"
        "  pair: {probes: {enabled: false}}\n" + devices_yaml(port) + "pairs:\n"
        + pair("v2-restart", "vrrp", "before_restart", {"vrid": 20, "interface": "Vlan20"}) + "\n"
    )  # fmt: skip
    inv = load_inventory(path)
    snmp = SnmpCollector()
    poller = Poller(inv, StateStore(inv), snmp)
    spec = inv.pairs[0]

    async def run() -> list[tuple[str, str | None]]:
        seen = []
        for step in range(4):
            if step == 2:
                poller.inventory = with_community(poller.inventory, "before_restart-a", then)
            status = await poller.poll_once(spec)
            member = status.members[0]
            seen.append((member.view.role.value, member.view.identity))
        return seen

    try:
        seen = asyncio.run(run())
    finally:
        snmp.close()
    assert seen[:2] == [("active", "ifIndex 3 (Vlan20) VRID 20; own address 10.20.0.2")] * 2
    for got_role, identity in seen[2:]:
        assert got_role == role, seen
        assert identity is not None and identity.startswith("ifIndex 9 (Vlan20) VRID 20"), seen
