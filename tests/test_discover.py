"""`netmon discover`: what devices report -> an inventory that validates and that `netmon check`
judges as the devices are.

- pure: recorded answers (OID -> value) through netmon.discover, the YAML loaded by the inventory
  loader itself;
- demo (`daemon`): two simulated agents of a demo pair, then `netmon check` on the result;
- snmpsim (`daemon`): recorded chassis and firewalls (RF, a Junos EX virtual chassis, a FortiGate
  reporting hostnames only, a Palo Alto, an ASA) and an agent with nothing to pair;
- snmpd (`snmpd`): the SNMPv3 path, against a real agent with nothing to pair;
- lab (`lab`, root): `netmon discover 10.99.0.11 10.99.0.12` judged healthy by `netmon check`.
"""

from __future__ import annotations

import asyncio
import bisect
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, cast

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter
from ruamel.yaml import YAML

from netmon.cli.discover import UsageProblem, parse_address, snmp_settings
from netmon.collectors.snmp import SnmpCollector
from netmon.collectors.walk import Walked, walk_columns
from netmon.discover import LOOKED_FOR, Report, build, device_names, read_report, units
from netmon.discover.pairing import yaml_string
from netmon.errors import DeviceReplyError, DeviceTimeout
from netmon.inventory import load_inventory
from netmon.kinds import KINDS
from netmon.lab import Lab
from netmon.model import Device, Missing, Oid, Secret, SnmpSettings, SnmpV2c, Value, parse_oid

from .conftest import free_udp_port, free_udp_ports, require, stop_process
from .helpers import fuzz_examples, start_demo_agents, stop_demo_agents

NETMON = [sys.executable, "-m", "netmon"]
COMMUNITY = "d1scover-S3cret-xq"
SNMP = {"version": "2c", "community": {"env": "DISCOVER_COMMUNITY"}, "timeout": 1.0, "retries": 1}


def answers(**columns: Value) -> dict[Oid, Value]:
    """Recorded answers, written as {"1.3.6...": value} with dots turned into underscores."""
    return {parse_oid(k.lstrip("_").replace("_", ".")): v for k, v in columns.items()}


def rec(values: Mapping[str, Value]) -> dict[Oid, Value]:
    return {parse_oid(k): v for k, v in values.items()}


def keepalived_router(name: str, state: int, priority: int, master: str) -> dict[Oid, Value]:
    """A lab router: one VRRPv2 instance (VRID 51) and one VRRPv3 instance (VRID 52) on eth0,
    each seen through VRRP-MIB or VRRPv3-MIB and through KEEPALIVED-MIB."""
    v3 = 3 if state == 3 else 2
    return rec({
        "1.3.6.1.2.1.1.5.0": name,
        "1.3.6.1.2.1.68.1.3.1.3.2.51": state, "1.3.6.1.2.1.68.1.3.1.5.2.51": priority,
        "1.3.6.1.2.1.68.1.3.1.7.2.51": master,
        "1.3.6.1.2.1.68.1.4.1.2.2.51.10.99.0.51": 1,
        "1.3.6.1.2.1.207.1.1.1.1.6.2.52.1": v3, "1.3.6.1.2.1.207.1.1.1.1.7.2.52.1": priority,
        "1.3.6.1.2.1.207.1.1.2.1.2.2.52.1.4.10.99.0.52": 1,
        "1.3.6.1.4.1.9586.100.5.2.3.1.2.1": "VI_v2", "1.3.6.1.4.1.9586.100.5.2.3.1.3.1": 51,
        "1.3.6.1.4.1.9586.100.5.2.3.1.4.1": 2 if state == 3 else 1,
        "1.3.6.1.4.1.9586.100.5.2.3.1.7.1": priority,
        "1.3.6.1.4.1.9586.100.5.2.3.1.2.2": "VI_v3", "1.3.6.1.4.1.9586.100.5.2.3.1.3.2": 52,
        "1.3.6.1.4.1.9586.100.5.2.3.1.4.2": 2 if state == 3 else 1,
        "1.3.6.1.4.1.9586.100.5.2.3.1.7.2": priority,
    })  # fmt: skip


ETH0 = rec({"1.3.6.1.2.1.31.1.1.1.1.2": "eth0"})


def load(text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The YAML as the inventory loader accepts it (raises ConfigError otherwise), as a dict."""
    monkeypatch.setenv("DISCOVER_COMMUNITY", COMMUNITY)
    path = tmp_path / "discovered.yaml"
    path.write_text(text)
    load_inventory(path)
    doc: dict[str, Any] = YAML(typ="safe").load(text)
    return doc


def pairs_of(doc: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in doc["pairs"]}


# -- pure: recorded answers -> inventory --------------------------------------------------------


def test_two_keepalived_routers_pair_every_group_and_prefer_the_higher_priority(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    r1 = read_report("10.99.0.11", 161, keepalived_router("r1", 3, 150, "0.0.0.0"), ETH0)
    r2 = read_report("10.99.0.12", 161, keepalived_router("r2", 2, 100, "10.99.0.11"), ETH0)
    found = build([r1, r2], SNMP, "netmon discover 10.99.0.11 10.99.0.12")
    doc = load(found.text, tmp_path, monkeypatch)
    pairs = pairs_of(doc)
    assert set(pairs) == {"vrrp-eth0-51", "vrrpv3-eth0-52", "keepalived-VI_v2", "keepalived-VI_v3"}
    assert found.pairs == 4
    assert found.notes == ()
    assert doc["devices"] == {"r1": {"address": "10.99.0.11"}, "r2": {"address": "10.99.0.12"}}
    assert doc["defaults"]["snmp"]["community"] == {"env": "DISCOVER_COMMUNITY"}
    vrrp = pairs["vrrp-eth0-51"]
    assert vrrp["params"] == {"if_index": 2, "vrid": 51}
    assert vrrp["members"] == ["r1", "r2"]
    assert vrrp["preferred"] == "r1"
    assert vrrp["links"] == [{"if_index": 2, "name": "eth0"}]
    assert pairs["vrrpv3-eth0-52"]["params"] == {"if_index": 2, "vrid": 52, "inet_version": 4}
    assert pairs["keepalived-VI_v3"]["params"] == {"instance": 2}
    assert all(p["preferred"] == "r1" for p in pairs.values())
    # What the devices said stays next to each pair, for the operator who reviews it.
    assert "# VRRP-MIB ifIndex 2 (eth0), VRID 51: r1 master (priority 150); r2 backup" in found.text
    assert "hears master 10.99.0.11" in found.text
    assert "virtual IP 10.99.0.51" in found.text
    assert "virtual IP 10.99.0.52" in found.text
    assert "the same VRRP instance as vrrp-eth0-51" in found.text
    assert COMMUNITY not in found.text


def test_same_vrid_on_another_ifindex_pairs_with_the_members_own_params(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = answers(**{"1_3_6_1_2_1_68_1_3_1_3_3_20": 3, "1_3_6_1_2_1_68_1_3_1_5_3_20": 100})
    b = answers(**{"1_3_6_1_2_1_68_1_3_1_3_4_20": 2, "1_3_6_1_2_1_68_1_3_1_5_4_20": 120})
    names = rec({"1.3.6.1.2.1.31.1.1.1.1.3": "Vlan20", "1.3.6.1.2.1.31.1.1.1.1.4": "Vlan20"})
    found = build(
        [read_report("10.1.0.1", 161, a, names), read_report("10.1.0.2", 161, b, names)],
        SNMP,
        "netmon discover 10.1.0.1 10.1.0.2",
    )
    pair = pairs_of(load(found.text, tmp_path, monkeypatch))["vrrp-Vlan20-20"]
    assert pair["params"] == {"if_index": 3, "vrid": 20}
    assert pair["members"] == [
        {"name": "10.1.0.1", "links": [{"if_index": 3, "name": "Vlan20"}]},
        {
            "name": "10.1.0.2",
            "params": {"if_index": 4},
            "links": [{"if_index": 4, "name": "Vlan20"}],
        },
    ]
    assert pair["preferred"] == "10.1.0.2"  # the higher priority, though it is the backup now


def test_one_router_of_a_vrrp_pair_says_a_second_address_is_needed() -> None:
    report = read_report("10.99.0.12", 161, keepalived_router("r2", 2, 100, "10.99.0.11"), ETH0)
    found = build([report], SNMP, "netmon discover 10.99.0.12")
    assert found.pairs == 0
    assert "pairs: []" in found.text
    (note,) = found.notes
    assert "4 group(s) that need the other router too" in note
    assert "hears master 10.99.0.11" in note
    assert "netmon discover 10.99.0.12 OTHER-ROUTER" in note


def test_groups_of_two_unrelated_routers_are_not_paired() -> None:
    a = answers(**{"1_3_6_1_4_1_9_9_106_1_2_1_1_15_2_10": 6})
    b = answers(**{"1_3_6_1_4_1_9_9_106_1_2_1_1_15_2_11": 5})
    found = build(
        [read_report("10.0.0.1", 161, a, {}), read_report("10.0.0.2", 161, b, {})], SNMP, "x"
    )
    assert found.pairs == 0
    assert any("share no VRRP/HSRP group" in n for n in found.notes)
    assert any("CISCO-HSRP-MIB ifIndex 2, group 10 (active)" in n for n in found.notes)


RF = "1.3.6.1.4.1.9.9.176.1.1"


@pytest.mark.parametrize(
    ("ids", "params", "identity"),
    [
        ((1, 2), [{"unit_id": 1}, {"unit_id": 2}], "local unit 1, peer unit 2"),
        ((None, None), [{"unit": "local"}, {"unit": "peer"}], "unit ids not reported"),
        ((0, 0), [{"unit": "local"}, {"unit": "peer"}], "unit ids not reported"),
        # Equal ids do not tell the units apart: local and peer, not unit_id twice.
        ((2, 2), [{"unit": "local"}, {"unit": "peer"}], "unit ids not reported"),
    ],
)
def test_rf_units_by_id_where_numbered_else_local_and_peer(
    ids: tuple[int | None, int | None],
    params: list[dict[str, Any]],
    identity: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    values: dict[str, Value] = {f"{RF}.2.0": 14, f"{RF}.4.0": 9, f"{RF}.6.0": 1}
    values |= {f"{RF}.{c}.0": i for c, i in zip((1, 3), ids, strict=True) if i is not None}
    found = build([read_report("10.0.4.1", 161, rec(values), {})], SNMP, "x")
    (pair,) = load(found.text, tmp_path, monkeypatch)["pairs"]
    assert pair["kind"] == "cisco-rf"
    assert [m["params"] for m in pair["members"]] == params
    assert all(m["device"] == "10.0.4.1" for m in pair["members"])
    assert identity in found.text
    assert "active; standbyHot" in found.text
    # The reader itself, looked up when called (as every reader of netmon.discover.units is).
    cluster, note = units.rf(rec(values))
    assert cluster is not None and note is None
    assert [u.params for u in cluster.units] == params


def test_rf_simplex_is_no_pair_and_says_so() -> None:
    values = rec({f"{RF}.1.0": 0, f"{RF}.2.0": 14, f"{RF}.3.0": 0, f"{RF}.4.0": 2, f"{RF}.6.0": 2})
    report = read_report("10.0.4.1", 161, values, {})
    assert not report.empty
    found = build([report], SNMP, "x")
    assert found.pairs == 0
    assert "simplex" in found.notes[0]


JNX = "1.3.6.1.4.1.2636.3.1.14.1"
EX_VC: dict[str, Value] = {
    "1.3.6.1.2.1.1.5.0": "ex-vc.example.net",
    f"{JNX}.5.9.1.0.0": "Routing Engine 1", f"{JNX}.6.9.1.0.0": 2, f"{JNX}.7.9.1.0.0": 2,
    f"{JNX}.5.9.2.0.0": "Routing Engine 0", f"{JNX}.6.9.2.0.0": 3, f"{JNX}.7.9.2.0.0": 3,
}  # fmt: skip


def test_junos_routing_engines_by_what_the_device_says_not_by_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = build([read_report("10.0.6.1", 161, rec(EX_VC), {})], SNMP, "x")
    doc = load(found.text, tmp_path, monkeypatch)
    assert list(doc["devices"]) == ["ex-vc"]
    (pair,) = doc["pairs"]
    assert pair["name"] == "ex-vc-re"
    assert pair["members"] == [
        {"name": "ex-vc-re1", "device": "ex-vc", "params": {"descr": "Routing Engine 1"}},
        {"name": "ex-vc-re0", "device": "ex-vc", "params": {"descr": "Routing Engine 0"}},
    ]
    assert pair["preferred"] == "ex-vc-re1"  # jnxRedundancyConfig master
    assert "9.1.0.0 'Routing Engine 1' master" in found.text


def test_junos_without_descriptions_uses_slots_and_one_re_is_no_pair(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bare = rec({k: v for k, v in EX_VC.items() if not k.startswith(f"{JNX}.5.")})
    found = build([read_report("10.0.6.1", 161, bare, {})], SNMP, "x")
    (pair,) = load(found.text, tmp_path, monkeypatch)["pairs"]
    assert [m["params"] for m in pair["members"]] == [{"slot": 1}, {"slot": 2}]
    one = rec({k: v for k, v in EX_VC.items() if not k.endswith(".9.2.0.0")})
    found = build([read_report("10.0.6.1", 161, one, {})], SNMP, "x")
    assert found.pairs == 0
    assert "one routing engine" in found.notes[0]


FG = "1.3.6.1.4.1.12356.101.13"
FORTIGATE: dict[str, Value] = {
    "1.3.6.1.2.1.1.5.0": "fw-a", f"{FG}.1.1.0": 3, "1.3.6.1.4.1.12356.100.1.1.1.0": "FGT-A",
    f"{FG}.2.1.1.11.1": "fw-a", f"{FG}.2.1.1.12.1": 1, f"{FG}.2.1.1.16.1": "FGT-A",
    f"{FG}.2.1.1.11.2": "fw-b", f"{FG}.2.1.1.12.2": 1, f"{FG}.2.1.1.16.2": "FGT-A",
}  # fmt: skip


def test_fortigate_members_by_hostname_when_serials_are_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = build([read_report("10.0.5.1", 161, rec(FORTIGATE), {})], SNMP, "x")
    (pair,) = load(found.text, tmp_path, monkeypatch)["pairs"]
    assert pair["kind"] == "fortigate-ha"
    assert [m["params"] for m in pair["members"]] == [{"hostname": "fw-a"}, {"hostname": "fw-b"}]
    assert "primary serial FGT-A; agent on FGT-A" in found.text
    with_serials = rec({**FORTIGATE, f"{FG}.2.1.1.2.1": "FGT-A", f"{FG}.2.1.1.2.2": "FGT-B"})
    found = build([read_report("10.0.5.1", 161, with_serials, {})], SNMP, "x")
    (pair,) = load(found.text, tmp_path, monkeypatch)["pairs"]
    assert [m["params"] for m in pair["members"]] == [{"serial": "FGT-A"}, {"serial": "FGT-B"}]
    assert "FGT-A/fw-a (primary)" in found.text


def test_fortigate_modes() -> None:
    active_active = rec({**FORTIGATE, f"{FG}.1.1.0": 2})
    assert (
        "mode: active_active" in build([read_report("a", 161, active_active, {})], SNMP, "x").text
    )
    standalone = rec({f"{FG}.1.1.0": 1})
    found = build([read_report("a", 161, standalone, {})], SNMP, "x")
    assert found.pairs == 0
    assert "standalone" in found.notes[0]


PAN = "1.3.6.1.4.1.25461.2.1.2.1"


def test_paloalto_one_firewall_is_local_and_peer_two_firewalls_each_local(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pa1 = rec({f"{PAN}.11.0": "active", f"{PAN}.12.0": "passive", f"{PAN}.13.0": "Active-Passive",
               "1.3.6.1.2.1.1.5.0": "pa-1"})  # fmt: skip
    pa2 = rec({f"{PAN}.11.0": "passive", f"{PAN}.12.0": "active", f"{PAN}.13.0": "Active-Passive",
               "1.3.6.1.2.1.1.5.0": "pa-2"})  # fmt: skip
    one = build([read_report("10.0.7.1", 161, pa1, {})], SNMP, "x")
    (pair,) = load(one.text, tmp_path, monkeypatch)["pairs"]
    assert [m["params"] for m in pair["members"]] == [{"unit": "local"}, {"unit": "peer"}]
    two = build(
        [read_report("10.0.7.1", 161, pa1, {}), read_report("10.0.7.2", 161, pa2, {})], SNMP, "x"
    )
    (pair,) = load(two.text, tmp_path, monkeypatch)["pairs"]
    assert pair["name"] == "pa-1-pa-2-ha"
    assert pair["members"] == [
        {"name": "pa-1", "params": {"unit": "local"}},
        {"name": "pa-2", "params": {"unit": "local"}},
    ]
    disabled = rec({f"{PAN}.11.0": "disabled", f"{PAN}.13.0": "disabled"})
    assert "disabled" in build([read_report("a", 161, disabled, {})], SNMP, "x").notes[0]


ASA = "1.3.6.1.4.1.9.9.147.1.2.1.1.1"


def test_asa_units_primary_and_secondary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    values = rec({f"{ASA}.3.6": 9, f"{ASA}.4.6": "Active unit", f"{ASA}.3.7": 10,
                  f"{ASA}.4.7": "Standby unit"})  # fmt: skip
    found = build([read_report("10.0.8.1", 161, values, {})], SNMP, "x")
    (pair,) = load(found.text, tmp_path, monkeypatch)["pairs"]
    assert [m["params"] for m in pair["members"]] == [{"unit": "primary"}, {"unit": "secondary"}]
    off = rec({f"{ASA}.3.6": 9, f"{ASA}.4.6": "Failover Off", f"{ASA}.3.7": 3,
               f"{ASA}.4.7": "Failover Off"})  # fmt: skip
    assert "failover off" in build([read_report("a", 161, off, {})], SNMP, "x").notes[0]
    # Each unit's own address: either agent reports both units.
    both = build(
        [read_report("10.0.8.1", 161, values, {}), read_report("10.0.8.2", 161, values, {})],
        SNMP,
        "x",
    )
    assert both.pairs == 2
    assert "both report cisco-asa: likely the same cluster" in both.notes[0]


def test_nothing_reported_is_empty() -> None:
    report = read_report("10.0.0.9", 161, rec({"1.3.6.1.2.1.1.5.0": "plain"}), {})
    assert report.empty
    assert "VRRP-MIB vrrpOperTable" in LOOKED_FOR
    assert "jnxRedundancyTable" in LOOKED_FOR


def test_what_devices_say_cannot_break_the_yaml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    evil = 'x"\nversion: 2\n# : {'
    values = rec({**EX_VC, "1.3.6.1.2.1.1.5.0": evil, f"{JNX}.5.9.1.0.0": evil + " 1"})
    found = build([read_report("10.0.6.1", 161, values, {})], SNMP, "x")
    doc = load(found.text, tmp_path, monkeypatch)
    assert doc["version"] == 1
    (pair,) = doc["pairs"]
    assert pair["members"][0]["params"] == {"descr": 'x" version: 2 # : { 1'}


def test_device_names_from_sysname_else_addresses() -> None:
    def report(address: str, name: str | None, port: int = 161) -> Report:
        return Report(address, port, name)

    assert device_names(
        [report("10.0.0.1", "core-a.example.net"), report("10.0.0.2", "core-b")]
    ) == ["core-a", "core-b"]
    assert device_names([report("10.0.0.1", "fw"), report("10.0.0.2", "fw")]) == [
        "10.0.0.1",
        "10.0.0.2",
    ]
    assert device_names([report("127.0.0.1", None, 16101)]) == ["127.0.0.1-16101"]


def test_addresses_and_secret_options() -> None:
    assert parse_address("10.0.0.1", 161) == ("10.0.0.1", 161)
    assert parse_address("127.0.0.1:16101", 161) == ("127.0.0.1", 16101)
    assert parse_address("[::1]:1161", 161) == ("::1", 1161)
    assert parse_address("fe80::1", 162) == ("fe80::1", 162)
    with pytest.raises(UsageProblem, match="port"):
        parse_address("10.0.0.1:x", 161)
    with pytest.raises(UsageProblem, match="--community-env NAME or --community-file PATH"):
        snmp_settings((None, None), None, (None, None, None), (None, None, None), 1.0, 1)
    with pytest.raises(UsageProblem, match="not both"):
        snmp_settings(("A", Path("f")), None, (None, None, None), (None, None, None), 1.0, 1)
    with pytest.raises(UsageProblem, match="give --user"):
        snmp_settings(("A", None), None, (None, "K", None), (None, None, None), 1.0, 1)


def test_secret_file_is_referred_to_absolutely_and_never_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "community").write_text(COMMUNITY + "\n")
    written, settings = snmp_settings(
        (None, Path("community")), None, (None, None, None), (None, None, None), 0.5, 0
    )
    assert written == {
        "version": "2c", "community": {"file": str(tmp_path / "community")},
        "timeout": 0.5, "retries": 0,
    }  # fmt: skip
    assert COMMUNITY not in repr(settings)


# -- what devices say, exactly as the kinds will match it (YAML round trips) ------------------


def kind_roles(pair: Mapping[str, Any], values: Mapping[str, Value]) -> dict[str, str]:
    """Each member's role as the pair's kind reads `values` (probe key -> value) with the params
    discover wrote: discover named the units the way the kind finds them again."""
    kind = KINDS.get(pair["kind"])
    adapter: TypeAdapter[Any] = TypeAdapter(kind.params_type)
    return {
        m["name"]: kind.interpret(adapter.validate_python(m["params"]), values).role.value
        for m in pair["members"]
    }


def junos_values(rows: Mapping[int, tuple[Value, int]]) -> dict[str, Value]:
    """jnxRedundancyTable rows (slot -> (descr, state)) as the junos-re kind's probes read them."""
    out: dict[str, Value] = {}
    for slot, (descr, state) in rows.items():
        out[f"jnxRedundancyDescr.{slot}"] = descr
        out[f"jnxRedundancyState.{slot}"] = state
    return out


def junos_answers(rows: Mapping[int, tuple[Value, int]], name: str = "ex") -> dict[Oid, Value]:
    values: dict[str, Value] = {"1.3.6.1.2.1.1.5.0": name}
    for slot, (descr, state) in rows.items():
        values |= {f"{JNX}.5.9.{slot}.0.0": descr, f"{JNX}.7.9.{slot}.0.0": state}
    return rec(values)


def test_junos_descriptions_are_written_as_the_kind_reads_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # C agents that send the terminator: discover read "Routing Engine 0", the kind matched
    # "Routing Engine 0\x00" and found no row ("peer absent" on a healthy chassis).
    nul = {1: ("Routing Engine 0\x00", 2), 2: ("Routing Engine 1\x00", 3)}
    found = build([read_report("10.0.6.1", 161, junos_answers(nul), {})], SNMP, "x")
    (pair,) = load(found.text, tmp_path, monkeypatch)["pairs"]
    assert [m["params"] for m in pair["members"]] == [
        {"descr": "Routing Engine 0"},
        {"descr": "Routing Engine 1"},
    ]
    assert kind_roles(pair, junos_values(nul)) == {"ex-re0": "active", "ex-re1": "standby"}
    # Unique as reported, the same as the kind compares them: named by slot.
    alike = {1: ("Routing Engine 0", 2), 2: ("routing  engine 0\x00", 3)}
    found = build([read_report("10.0.6.1", 161, junos_answers(alike), {})], SNMP, "x")
    (pair,) = load(found.text, tmp_path, monkeypatch)["pairs"]
    assert [m["params"] for m in pair["members"]] == [{"slot": 1}, {"slot": 2}]
    assert kind_roles(pair, junos_values(alike)) == {"ex-slot1": "active", "ex-slot2": "standby"}
    # A row without a description (or one that is only control characters): every RE by slot.
    blank = {1: ("Routing Engine 0", 2), 2: ("\x00 ", 3)}
    cluster, _ = units.junos(junos_answers(blank))
    assert cluster is not None
    assert [u.params for u in cluster.units] == [{"slot": 1}, {"slot": 2}]
    # A row the kind does not read by description (slots 1-10): every RE by slot.
    far = {1: ("Routing Engine 0", 2), 12: ("Routing Engine 1", 3)}
    found = build([read_report("10.0.6.1", 161, junos_answers(far), {})], SNMP, "x")
    (pair,) = load(found.text, tmp_path, monkeypatch)["pairs"]
    assert [m["params"] for m in pair["members"]] == [{"slot": 1}, {"slot": 12}]
    assert kind_roles(pair, junos_values(far)) == {"ex-slot1": "active", "ex-slot12": "standby"}


def test_text_beyond_the_bmp_loads_back_as_the_device_sent_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # json.dumps wrote "\ud83d\ude00", which YAML loads as two stray surrogates.
    emoji = {1: ("RE 0 \U0001f600", 2), 2: ("RE 1 \U0001f600", 3)}
    found = build([read_report("10.0.6.1", 161, junos_answers(emoji), {})], SNMP, "x")
    assert '"RE 0 \\U0001F600"' in found.text
    (pair,) = load(found.text, tmp_path, monkeypatch)["pairs"]
    assert pair["members"][0]["params"] == {"descr": "RE 0 \U0001f600"}
    assert set(kind_roles(pair, junos_values(emoji)).values()) == {"active", "standby"}


def test_member_names_are_unique_within_a_pair(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One RE per virtual chassis member, both "Routing Engine 0": both were named vc-re0.
    vc = {1: ("FPC0 Routing Engine 0", 2), 2: ("FPC1 Routing Engine 0", 3)}
    found = build([read_report("10.0.6.1", 161, junos_answers(vc, "vc"), {})], SNMP, "x")
    (pair,) = load(found.text, tmp_path, monkeypatch)["pairs"]
    assert [m["name"] for m in pair["members"]] == ["vc-re0", "vc-re0-2"]
    assert kind_roles(pair, junos_values(vc)) == {"vc-re0": "active", "vc-re0-2": "standby"}
    # The preferred member is named as its unit is.
    preferred = rec({f"{JNX}.6.9.1.0.0": 3, f"{JNX}.6.9.2.0.0": 2})
    found = build(
        [read_report("10.0.6.1", 161, junos_answers(vc, "vc") | preferred, {})], SNMP, "x"
    )
    assert load(found.text, tmp_path, monkeypatch)["pairs"][0]["preferred"] == "vc-re0-2"
    # Hostnames that slug alike ("fw a", "fw/a").
    fg = rec({f"{FG}.1.1.0": 3, f"{FG}.2.1.1.11.1": "fw a", f"{FG}.2.1.1.11.2": "fw/a",
              f"{FG}.2.1.1.16.1": "S1", "1.3.6.1.2.1.1.5.0": "fw"})  # fmt: skip
    found = build([read_report("10.0.5.1", 161, fg, {})], SNMP, "x")
    (pair,) = load(found.text, tmp_path, monkeypatch)["pairs"]
    assert [m["name"] for m in pair["members"]] == ["fw-fw-a", "fw-fw-a-2"]
    assert [m["params"] for m in pair["members"]] == [{"hostname": "fw a"}, {"hostname": "fw/a"}]


def test_fortigate_identifiers_are_written_as_the_kind_matches_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    serials = {1: "FGT-A\x00", 2: " FGT-B\x00"}
    values: dict[str, Value] = {f"{FG}.1.1.0": 3, f"{FG}.2.1.1.16.1": "FGT-A\x00"}
    values |= {f"{FG}.2.1.1.2.{i}": s for i, s in serials.items()}
    values |= {f"{FG}.2.1.1.12.{i}": 1 for i in serials}
    found = build([read_report("10.0.5.1", 161, rec(values), {})], SNMP, "x")
    (pair,) = load(found.text, tmp_path, monkeypatch)["pairs"]
    assert [m["params"] for m in pair["members"]] == [{"serial": "FGT-A\x00"}, {"serial": "FGT-B\x00"}]  # fmt: skip
    probes: dict[str, Value] = {"fgHaSystemMode": 3, "fgHaStatsMasterSerial.1": "FGT-A\x00"}
    probes |= {f"fgHaStatsSerial.{i}": s for i, s in serials.items()}
    probes |= {f"fgHaStatsSyncStatus.{i}": 1 for i in serials}
    assert sorted(kind_roles(pair, probes).values()) == ["active", "standby"]
    # Hostnames that read alike (case, control characters): not ones to tell members apart.
    for a, b in (("FW", "fw"), ("fw a", "fw\x00a"), ("fw", "\x00")):
        alike = rec({f"{FG}.1.1.0": 3, f"{FG}.2.1.1.11.1": a, f"{FG}.2.1.1.11.2": b})
        found = build([read_report("10.0.5.1", 161, alike, {})], SNMP, "x")
        assert found.pairs == 0, (a, b)
        assert "without distinct serials or hostnames" in found.notes[0]


def test_fortigate_table_listing_one_member_is_no_pair() -> None:
    one = rec({f"{FG}.1.1.0": 3, f"{FG}.2.1.1.2.1": "FGT-A", f"{FG}.2.1.1.11.1": "fw-a",
               f"{FG}.2.1.1.16.1": "FGT-A"})  # fmt: skip
    cluster, note = units.fortigate(one)
    assert cluster is None
    assert note == "FORTINET-FORTIGATE-MIB: the cluster table lists 1 member(s): nothing to pair"
    report = read_report("10.0.5.1", 161, one, {})
    assert report.clusters == ()
    found = build([report], SNMP, "x")
    assert found.pairs == 0
    assert found.notes == (
        "10.0.5.1 (10.0.5.1): FORTINET-FORTIGATE-MIB: the cluster table lists 1 member(s): "
        "nothing to pair",
    )


def test_device_keys_are_unique_when_address_slugs_collide(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ex = junos_answers({1: ("Routing Engine 0", 2), 2: ("Routing Engine 1", 3)})
    reports = [read_report("::1", 1161, ex, {}), read_report("::1:1161", 161, ex, {})]
    assert [r.where for r in reports] == ["[::1]:1161", "::1:1161"]
    found = build(reports, SNMP, "x")
    doc = load(found.text, tmp_path, monkeypatch)
    assert doc["devices"] == {
        "1--1161": {"address": "::1", "snmp": {"port": 1161}},
        "1-1161": {"address": "::1:1161"},
    }
    assert len(doc["pairs"]) == 2
    same = [Report("10.0.0.1", 161, None), Report("10.0.0.1", 161, None)]
    assert device_names(same) == ["10.0.0.1", "10.0.0.1-2"]
    assert device_names([Report("a", 161, "x" * 2000)]) == ["x" * 63]


@settings(max_examples=fuzz_examples(300), deadline=None)
@given(st.text(st.characters(exclude_categories=())))
def test_yaml_string_loads_back_as_exactly_the_text(text: str) -> None:
    yaml = YAML(typ="rt", pure=True)  # as netmon.inventory.source loads a document
    written = yaml_string(text)
    assert written.isascii() or all(ord(c) <= 0xFFFF for c in written)
    doc = yaml.load(f"a: {written}\nb: {{k: {written}}}\nc: [{written}]\n")
    assert doc["a"] == text
    assert doc["b"]["k"] == text
    assert doc["c"] == [text]
    if len(written) < 1000:  # YAML's limit for a key (device keys are 63 characters at most)
        assert list(yaml.load(f"{written}: 1\n")) == [text]


HOSTILE = st.one_of(
    st.text(st.characters(exclude_categories=()), max_size=30),
    st.sampled_from([
        "", " ", "\x00", "Routing Engine 0", "routing engine 0\x00", "Routing Engine \u0663",
        "yes", "~", "NULL", "1e3", "-", "..", "[/x]", "# x", ": {", "a\u2028b", "\x85",
        "\U0001f600", "- d", "&x *x", "!!python/object:os.system", "'", '"', "\\", "\ufeff",
        "x" * 1100, "10.0.0.1", "::1", "\t \n",
    ]),
)  # fmt: skip


@st.composite
def hostile_device(draw: st.DrawFn) -> tuple[str, int, dict[Oid, Value], dict[Oid, Value]]:
    """(address, port, walked answers, interface names): every text the device reports drawn
    from HOSTILE, the indexes valid."""

    def text() -> str:
        drawn: str = draw(HOSTILE)
        return drawn

    values: dict[str, Value] = {"1.3.6.1.2.1.1.5.0": text()}
    names: dict[str, Value] = {}
    if draw(st.booleans()):  # VRRP (and its interface's name), HSRP, keepalived
        vrid = draw(st.integers(1, 3))
        values |= {f"1.3.6.1.2.1.68.1.3.1.3.2.{vrid}": draw(st.sampled_from([2, 3])),
                   f"1.3.6.1.2.1.68.1.3.1.7.2.{vrid}": text(),
                   "1.3.6.1.4.1.9.9.106.1.2.1.1.15.2.10": 6,
                   "1.3.6.1.4.1.9.9.106.1.2.1.1.11.2.10": text(),
                   "1.3.6.1.4.1.9586.100.5.2.3.1.2.1": text(),
                   "1.3.6.1.4.1.9586.100.5.2.3.1.3.1": vrid,
                   "1.3.6.1.4.1.9586.100.5.2.3.1.4.1": 2}  # fmt: skip
        names["1.3.6.1.2.1.31.1.1.1.1.2"] = text()
    slots = draw(st.lists(st.integers(0, 12), min_size=0, max_size=3, unique=True))
    for slot in slots:
        values |= {f"{JNX}.5.9.{slot}.0.0": text(),
                   f"{JNX}.7.9.{slot}.0.0": draw(st.sampled_from([2, 3]))}  # fmt: skip
    if draw(st.booleans()):
        values[f"{FG}.1.1.0"] = draw(st.sampled_from([1, 2, 3]))
        for i in range(1, draw(st.integers(1, 3)) + 1):
            values |= {f"{FG}.2.1.1.2.{i}": text(), f"{FG}.2.1.1.11.{i}": text(),
                       f"{FG}.2.1.1.16.{i}": text()}  # fmt: skip
        values["1.3.6.1.4.1.12356.100.1.1.1.0"] = text()
    if draw(st.booleans()):
        values |= {f"{RF}.2.0": 14, f"{RF}.4.0": 9, f"{RF}.1.0": draw(st.integers(0, 2)),
                   f"{RF}.3.0": draw(st.integers(0, 2))}  # fmt: skip
    if draw(st.booleans()):
        values |= {f"{PAN}.11.0": text(), f"{PAN}.12.0": text(), f"{PAN}.13.0": text()}
    if draw(st.booleans()):
        values |= {f"{ASA}.3.6": 9, f"{ASA}.4.6": text(), f"{ASA}.3.7": 10, f"{ASA}.4.7": text()}
    address = draw(HOSTILE.filter(bool))
    return address, draw(st.sampled_from([161, 1161])), rec(values), rec(names)


@settings(
    max_examples=fuzz_examples(150), deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)  # fmt: skip
@given(devices=st.lists(hostile_device(), min_size=1, max_size=2))
def test_whatever_devices_report_the_yaml_validates(
    devices: list[tuple[str, int, dict[Oid, Value], dict[Oid, Value]]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reports = [read_report(a, p, values, names) for a, p, values, names in devices]
    found = build(reports, SNMP, "netmon discover " + " ".join(r.where for r in reports))
    doc = load(found.text, tmp_path, monkeypatch)  # raises ConfigError if it does not validate
    assert len(doc["pairs"]) == found.pairs
    assert [d["address"] for d in doc["devices"].values()] == [a for a, *_ in devices]
    # Routing engines are named so that the kind finds each one in the same answers.
    for (_, _, values, _), name in zip(devices, doc["devices"], strict=True):
        rows = rows_of(values)
        for pair in doc["pairs"]:
            if pair["kind"] == "junos-re" and pair["members"][0]["device"] == name:
                roles = kind_roles(pair, junos_values(rows))
                expected = ["active" if state == 2 else "standby" for _, state in rows.values()]
                assert list(roles.values()) == expected, (pair, rows)


def rows_of(values: Mapping[Oid, Value]) -> dict[int, tuple[Value, int]]:
    """The routing engines' rows in walked answers: slot -> (description, state)."""
    jnx = parse_oid(JNX)
    out: dict[int, tuple[Value, int]] = {}
    for oid, state in sorted(values.items()):
        if oid[: len(jnx) + 2] == (*jnx, 7, 9) and isinstance(state, int):
            slot = oid[len(jnx) + 2]
            out[slot] = (values[(*jnx, 5, 9, slot, 0, 0)], state)
    return out


# -- the walk (netmon/collectors/walk.py), against a fake agent ---------------------------------


class FakeAgent:
    """GETNEXT over a fixed MIB; an error status for any PDU that touches a refused subtree."""

    def __init__(self, mib: Mapping[Oid, Value], refuse: Oid | None = None) -> None:
        self.order = sorted(mib)
        self.mib = dict(mib)
        self.refuse = refuse
        self.pdus = 0

    async def get_next(self, device: Device, oids: list[Oid]) -> list[tuple[Oid, Value]]:
        self.pdus += 1
        if self.refuse and any(o[: len(self.refuse)] == self.refuse for o in oids):
            raise DeviceReplyError(device.name, "SNMP error-status genErr")
        out: list[tuple[Oid, Value]] = []
        for oid in oids:
            i = bisect.bisect_right(self.order, oid)
            out.append((self.order[i], self.mib[self.order[i]]) if i < len(self.order)
                       else (oid, Missing.END_OF_MIB))  # fmt: skip
        return out


def walk(agent: FakeAgent, columns: list[Oid], **kw: int) -> Any:
    device = Device("10.0.0.1", "10.0.0.1")
    return asyncio.run(walk_columns(cast(SnmpCollector, agent), device, columns, **kw))


def test_walk_reads_every_column_in_one_pdu_per_step() -> None:
    mib = rec({"1.3.6.1.2.1.1.5.0": "r1", "1.3.6.1.2.1.68.1.3.1.3.2.51": 3,
               "1.3.6.1.2.1.68.1.3.1.3.3.52": 2, "1.3.6.1.2.1.68.1.3.1.5.2.51": 150,
               "1.3.6.1.2.1.68.1.3.1.5.3.52": 100, "1.3.6.1.4.1.9.1": 1})  # fmt: skip
    agent = FakeAgent(mib)
    columns = [parse_oid(c) for c in ("1.3.6.1.2.1.1.5", "1.3.6.1.2.1.68.1.3.1.3",
                                      "1.3.6.1.2.1.68.1.3.1.5", "1.3.6.1.4.1.9586")]  # fmt: skip
    walked = walk(agent, columns)
    assert walked.values == {k: v for k, v in mib.items() if k[6] != 9}
    assert agent.pdus == 3  # two rows, then the step that leaves each column
    assert walked.refused == {}


def test_walk_refused_column_costs_only_itself_and_long_columns_are_cut() -> None:
    mib = rec({"1.3.6.1.2.1.1.5.0": "r1", "1.3.6.1.4.1.9.9.106.1.2.1.1.15.2.10": 6})
    mib |= {(1, 3, 6, 1, 2, 1, 2, 2, 1, 2, i): f"if{i}" for i in range(1, 10)}
    hsrp = parse_oid("1.3.6.1.4.1.9.9.106.1.2.1.1.15")
    columns = [parse_oid("1.3.6.1.2.1.1.5"), hsrp, (1, 3, 6, 1, 2, 1, 2, 2, 1, 2)]
    walked = walk(FakeAgent(mib, refuse=hsrp), columns, max_rows=4)
    assert walked.values[(1, 3, 6, 1, 2, 1, 1, 5, 0)] == "r1"
    assert list(walked.refused) == [hsrp]
    assert "genErr" in walked.refused[hsrp]
    assert walked.truncated == {(1, 3, 6, 1, 2, 1, 2, 2, 1, 2)}
    assert sum(1 for k in walked.values if k[:10] == (1, 3, 6, 1, 2, 1, 2, 2, 1, 2)) == 4


class ScriptedAgent:
    """An agent whose replies a function makes from the OIDs asked; counts requests."""

    def __init__(
        self, reply: Callable[[list[Oid]], list[tuple[Oid, Value]]], delay: float = 0.0
    ) -> None:
        self.reply = reply
        self.delay = delay
        self.asked: list[list[Oid]] = []

    async def get_next(self, device: Device, oids: list[Oid]) -> list[tuple[Oid, Value]]:
        self.asked.append(list(oids))
        if self.delay:
            await asyncio.sleep(self.delay)
        return self.reply(list(oids))


def scripted(agent: ScriptedAgent, columns: list[Oid], deadline: float = 60.0) -> Walked:
    device = Device("10.0.0.1", "10.0.0.1")
    return asyncio.run(walk_columns(cast(SnmpCollector, agent), device, columns, deadline=deadline))


VRRP_STATE = parse_oid("1.3.6.1.2.1.68.1.3.1.3")
SYS_NAME = parse_oid("1.3.6.1.2.1.1.5")


def test_walk_stops_at_once_where_an_agent_repeats_or_goes_backwards() -> None:
    row = (*VRRP_STATE, 2, 51)
    repeats = ScriptedAgent(lambda oids: [(row, 3) for _ in oids])
    walked = scripted(repeats, [VRRP_STATE])
    assert len(repeats.asked) == 2  # the row, then the same row again: stop (not 1,000 rows)
    assert walked.values == {row: 3}
    assert walked.backwards == {VRRP_STATE}
    back = ScriptedAgent(lambda oids: [((*VRRP_STATE, 2, 50 - len(o)), 3) for o in oids])
    walked = scripted(back, [VRRP_STATE])
    assert len(back.asked) == 2
    assert walked.values == {(*VRRP_STATE, 2, 50 - len(VRRP_STATE)): 3}
    assert walked.backwards == {VRRP_STATE}
    assert any("went backwards in 1.3.6.1.2.1.68.1.3.1.3" in p for p in walked.problems())


MIB: dict[Oid, Value] = {
    (*SYS_NAME, 0): "r1",
    **{(*VRRP_STATE, 2, vrid): 3 for vrid in (51, 52, 53)},
    (*VRRP_STATE[:-1], 5, 2, 51): 150,
}


def next_in(mib: Mapping[Oid, Value], oid: Oid) -> tuple[Oid, Value]:
    order = sorted(mib)
    i = bisect.bisect_right(order, oid)
    return (order[i], mib[order[i]]) if i < len(order) else (oid, Missing.END_OF_MIB)


def test_walk_reads_columns_an_agent_leaves_out_of_its_replies() -> None:
    # Some agents cap the varbinds they answer instead of saying tooBig: the columns past the
    # cap were dropped, and the device "reported nothing" for them.
    columns = [SYS_NAME, VRRP_STATE, (*VRRP_STATE[:-1], 5)]
    capped = ScriptedAgent(lambda oids: [next_in(MIB, oids[0])])
    walked = scripted(capped, columns)
    assert walked.values == MIB
    assert walked.dropped == {VRRP_STATE, (*VRRP_STATE[:-1], 5)}
    (problem,) = walked.problems()
    assert "left 2 column(s) out of its replies" in problem
    assert "1.3.6.1.2.1.68.1.3.1.3, 1.3.6.1.2.1.68.1.3.1.5" in problem
    # After the short reply (and the two columns asked alone), one column per request.
    assert [len(a) for a in capped.asked[:3]] == [3, 1, 1]
    assert all(len(a) == 1 for a in capped.asked[3:])
    # An agent that answers no varbind even when asked for one column: ended, and said so.
    mute = ScriptedAgent(lambda oids: [next_in(MIB, o) for o in oids if o[:11] != VRRP_STATE])
    walked = scripted(mute, [SYS_NAME, VRRP_STATE])
    assert walked.values == {(*SYS_NAME, 0): "r1"}
    assert walked.unanswered == {VRRP_STATE}
    assert any("answered no varbind for 1.3.6.1.2.1.68.1.3.1.3" in p for p in walked.problems())


def test_walk_keeps_what_was_read_at_the_deadline() -> None:
    endless = ScriptedAgent(lambda oids: [((*o, 1), 3) for o in oids], delay=0.01)
    walked = scripted(endless, [SYS_NAME, VRRP_STATE], deadline=0.3)
    assert len(walked.values) >= 10  # was: DeviceTimeout, the whole device discarded
    assert walked.unfinished == {SYS_NAME, VRRP_STATE}
    assert any("cut at its 0.3s deadline" in p for p in walked.problems())
    # Nothing read at all by the deadline: the device did not answer.
    dead = ScriptedAgent(lambda oids: [], delay=5)
    with pytest.raises(DeviceTimeout, match=r"took longer than 0\.1s"):
        scripted(dead, [SYS_NAME], deadline=0.1)


def test_discover_says_what_the_walk_could_not_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """netmon discover's reading: a walk's problems reach the report, its notes and stderr."""
    import netmon.collectors.snmp
    import netmon.collectors.walk
    from netmon.cli.discover import read_devices

    class Capped(ScriptedAgent):
        def __init__(self) -> None:
            super().__init__(lambda oids: [next_in(MIB, oids[0])])

        def close(self) -> None:
            pass

    async def no_names(*_: Any) -> dict[Oid, Value]:
        return {}

    monkeypatch.setattr(netmon.collectors.snmp, "SnmpCollector", Capped)
    monkeypatch.setattr(netmon.collectors.walk, "get_values", no_names)
    settings = SnmpSettings(SnmpV2c(Secret("env:X", "x")))
    (report,) = asyncio.run(read_devices([Device("r1", "10.0.0.1", settings)]))
    assert isinstance(report, Report)
    assert report.groups  # the VRRP rows past the first varbind were read
    assert any("left" in p and "out of its replies" in p for p in report.problems)
    found = build([report], SNMP, "x")
    assert any("out of its replies" in n for n in found.notes)


# -- the demo's simulated agents ---------------------------------------------------------------


def discover(*args: str, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*NETMON, "discover", *args], env=dict(env), capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip


def check_json(inventory: Path, env: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    run = subprocess.run(
        [*NETMON, "check", "-i", str(inventory), "--json"], env=dict(env), capture_output=True,
        text=True, timeout=120, check=False,
    )  # fmt: skip
    assert run.returncode in (0, 1), run.stderr[-3000:]
    return {p["pair"]: p for p in json.loads(run.stdout)["pairs"]}


def validate(inventory: Path, env: Mapping[str, str]) -> None:
    run = subprocess.run(
        [*NETMON, "inventory", "validate", str(inventory)], env=dict(env), capture_output=True,
        text=True, timeout=60, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.fixture
def demo_agents(tmp_path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "NETMON_DEMO_COMMUNITY": COMMUNITY, "HOME": str(home),
           "DISCOVER_COMMUNITY": COMMUNITY}  # fmt: skip
    base = free_udp_ports(10)
    sim = start_demo_agents(env, base)
    try:
        yield base, env
    finally:
        stop_demo_agents(sim)


@pytest.mark.daemon
def test_demo_core_gw_agents_discovered_and_judged_healthy(
    demo_agents: tuple[int, dict[str, str]], tmp_path: Path
) -> None:
    base, env = demo_agents
    started = time.monotonic()
    run = discover(f"127.0.0.1:{base}", f"127.0.0.1:{base + 1}",
                   "--community-env", "DISCOVER_COMMUNITY", env=env)  # fmt: skip
    took = time.monotonic() - started
    assert run.returncode == 0, run.stderr
    assert COMMUNITY not in run.stdout + run.stderr
    inventory = tmp_path / "core.yaml"
    inventory.write_text(run.stdout)
    validate(inventory, env)
    pairs = check_json(inventory, env)
    # core-r1 and core-r2 serve core-gw (VRID 10) through every MIB the simulator speaks.
    assert set(pairs) == {"vrrp-eth0-10", "vrrpv3-eth0-10", "keepalived-VI_core-gw", "hsrp-eth0-10"}
    assert {name: p["state"] for name, p in pairs.items()} == dict.fromkeys(pairs, "healthy")
    assert all(p["active_members"] == ["core-r1"] for p in pairs.values())
    print(f"discover of two demo agents: {took:.2f}s")


@pytest.mark.daemon
def test_demo_dead_agent_is_named_and_exits_1(demo_agents: tuple[int, dict[str, str]]) -> None:
    base, env = demo_agents
    # dc-r2 (the demo's fourth router) keeps routing but its agent never answers.
    run = discover(f"127.0.0.1:{base + 2}", f"127.0.0.1:{base + 3}", "--community-env",
                   "DISCOVER_COMMUNITY", "--timeout", "0.3", "--retries", "0", env=env)  # fmt: skip
    assert run.returncode == 1
    assert run.stdout == ""
    assert f"cannot read 127.0.0.1:{base + 3}: no answer" in run.stderr


@pytest.mark.daemon
def test_usage_errors_exit_2(demo_agents: tuple[int, dict[str, str]]) -> None:
    base, env = demo_agents
    three = discover("10.0.0.1", "10.0.0.2", "10.0.0.3", "--community-env", "X", env=env)
    assert three.returncode == 2
    assert "give one address, or the two routers of a pair" in three.stderr
    unset = discover(f"127.0.0.1:{base}", "--community-env", "NOT_SET_ANYWHERE", env=env)
    assert unset.returncode == 2
    assert "NOT_SET_ANYWHERE is not set" in unset.stderr
    none = discover(f"127.0.0.1:{base}", env=env)
    assert none.returncode == 2
    assert "--community-env NAME or --community-file PATH" in none.stderr


# -- recorded chassis and firewalls, served by snmpsim -----------------------------------------

SNMPSIM = Path(sys.executable).parent / "snmpsim-command-responder"
RECORDED: dict[str, dict[str, Value]] = {
    "rf_chassis": {"1.3.6.1.2.1.1.5.0": "sup", f"{RF}.1.0": 1, f"{RF}.2.0": 14, f"{RF}.3.0": 2,
                   f"{RF}.4.0": 9, f"{RF}.6.0": 1},
    "ex_vc": dict(EX_VC),
    "fortigate": dict(FORTIGATE),
    "paloalto": {"1.3.6.1.2.1.1.5.0": "pa-1", f"{PAN}.11.0": "active", f"{PAN}.12.0": "passive",
                 f"{PAN}.13.0": "Active-Passive"},
    "asa": {"1.3.6.1.2.1.1.5.0": "asa", f"{ASA}.3.6": 9, f"{ASA}.4.6": "Active unit",
            f"{ASA}.3.7": 10, f"{ASA}.4.7": "Standby unit"},
    "empty": {"1.3.6.1.2.1.1.5.0": "plain-host"},
}  # fmt: skip


@pytest.fixture(scope="module")
def recorded_agents(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """snmpsim, one agent per community (the recording's name), on one loopback port. Without
    `--timeout`: with the pinned snmpsim it ends the responder by itself after a few seconds."""
    require(SNMPSIM.exists(), "snmpsim is not installed (make test installs it)")
    work = tmp_path_factory.mktemp("discover-snmpsim")
    data, cache = work / "data", work / "cache"
    data.mkdir()
    cache.mkdir()
    for name, values in RECORDED.items():
        lines = [
            f"{oid}|{2 if isinstance(value, int) else 4}|{value}"
            for oid, value in sorted(values.items(), key=lambda item: parse_oid(item[0]))
        ]
        lines.append("1.3.6.1.2.1.1.3.0|67|4242")  # sysUpTime: every agent has one
        lines.sort(key=lambda line: parse_oid(line.split("|")[0]))
        (data / f"{name}.snmprec").write_text("\n".join(lines) + "\n")
    port = free_udp_port()
    log = (work / "snmpsim.log").open("wb")
    proc = subprocess.Popen(
        [str(SNMPSIM), f"--data-dir={data}", f"--cache-dir={cache}",
         f"--agent-udpv4-endpoint=127.0.0.1:{port}"],
        env={**os.environ, "SNMPSIM_ALLOW_ROOT": "true"}, stdout=log, stderr=log,
    )  # fmt: skip
    try:
        probe = [shutil.which("snmpget") or "snmpget", "-v2c", "-c", "empty", "-t", "0.5", "-r",
                 "0", f"127.0.0.1:{port}", "1.3.6.1.2.1.1.5.0"]  # fmt: skip
        deadline = time.monotonic() + 60
        while subprocess.run(probe, capture_output=True, check=False).returncode != 0:
            assert proc.poll() is None, (work / "snmpsim.log").read_text()[-2000:]
            if time.monotonic() > deadline:
                pytest.fail("snmpsim did not answer within 60 s")
            time.sleep(0.3)
        yield port
    finally:
        stop_process(proc)
        log.close()


@pytest.mark.daemon
@pytest.mark.parametrize(
    ("agent", "kind", "members"),
    [
        ("rf_chassis", "cisco-rf", [{"unit_id": 1}, {"unit_id": 2}]),
        ("ex_vc", "junos-re", [{"descr": "Routing Engine 1"}, {"descr": "Routing Engine 0"}]),
        ("fortigate", "fortigate-ha", [{"hostname": "fw-a"}, {"hostname": "fw-b"}]),
        ("paloalto", "paloalto-ha", [{"unit": "local"}, {"unit": "peer"}]),
        ("asa", "cisco-asa", [{"unit": "primary"}, {"unit": "secondary"}]),
    ],
)
def test_recorded_chassis_and_firewalls_become_pairs_that_validate_and_check_healthy(
    recorded_agents: int, agent: str, kind: str, members: list[dict[str, Any]], tmp_path: Path
) -> None:
    env = {**os.environ, "DISCOVER_COMMUNITY": agent}
    run = discover(f"127.0.0.1:{recorded_agents}", "--community-env", "DISCOVER_COMMUNITY",
                   "--timeout", "3", env=env)  # fmt: skip
    assert run.returncode == 0, run.stderr
    inventory = tmp_path / f"{agent}.yaml"
    inventory.write_text(run.stdout)
    validate(inventory, env)
    (pair,) = YAML(typ="safe").load(run.stdout)["pairs"]
    assert pair["kind"] == kind
    assert [m["params"] for m in pair["members"]] == members
    (status,) = check_json(inventory, env).values()
    assert status["state"] == "healthy", status


@pytest.mark.daemon
def test_check_table_shows_what_the_chassis_calls_its_units(
    recorded_agents: int, tmp_path: Path
) -> None:
    env = {**os.environ, "DISCOVER_COMMUNITY": "rf_chassis"}
    run = discover(f"127.0.0.1:{recorded_agents}", "--community-env", "DISCOVER_COMMUNITY",
                   "--timeout", "3", env=env)  # fmt: skip
    inventory = tmp_path / "rf.yaml"
    inventory.write_text(run.stdout)
    table = subprocess.run(
        [*NETMON, "check", "-i", str(inventory)], env=env, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert table.returncode == 0, table.stdout + table.stderr
    assert "IDENTITY" in table.stdout
    assert "local unit 1, peer unit 2" in table.stdout


@pytest.mark.daemon
def test_an_agent_with_nothing_to_pair_says_what_was_looked_for(recorded_agents: int) -> None:
    env = {**os.environ, "DISCOVER_COMMUNITY": "empty"}
    run = discover(f"127.0.0.1:{recorded_agents}", "--community-env", "DISCOVER_COMMUNITY",
                   "--timeout", "3", env=env)  # fmt: skip
    assert run.returncode == 1
    assert run.stdout == ""
    assert (
        f"127.0.0.1:{recorded_agents} reports nothing to pair: looked for {LOOKED_FOR}"
        in run.stderr
    )


# -- SNMPv3, against a real snmpd ---------------------------------------------------------------


@pytest.mark.snmpd
def test_snmpv3_reads_and_refers_to_the_keys(snmpd: Any, tmp_path: Path) -> None:
    keys = tmp_path / "priv"
    keys.write_text(snmpd.v3_priv)
    env = {**os.environ, "V3_AUTH": snmpd.v3_auth}
    args = [f"127.0.0.1:{snmpd.port}", "--user", snmpd.v3_user, "--auth-protocol", "SHA",
            "--auth-key-env", "V3_AUTH", "--priv-protocol", "AES", "--priv-key-file", str(keys)]  # fmt: skip
    run = discover(*args, env=env)
    # The test agent runs no redundancy MIB: read over v3, and found empty.
    assert run.returncode == 1, run.stderr
    assert f"127.0.0.1:{snmpd.port} reports nothing to pair" in run.stderr
    wrong = discover(*args, env={**env, "V3_AUTH": "not-the-key-at-all"})
    assert wrong.returncode == 1
    assert f"cannot read 127.0.0.1:{snmpd.port}" in wrong.stderr
    for output in (run.stdout + run.stderr, wrong.stdout + wrong.stderr):
        assert snmpd.v3_auth not in output
        assert snmpd.v3_priv not in output


# -- the real lab ---------------------------------------------------------------------------------


@pytest.mark.lab
@pytest.mark.root
def test_lab_routers_discovered_and_judged_healthy(lab: Lab, tmp_path: Path) -> None:
    lab.reset()
    env = dict(os.environ)
    started = time.monotonic()
    run = discover("10.99.0.11", "10.99.0.12", "--community-file", str(lab.community_file),
                   env=env)  # fmt: skip
    took = time.monotonic() - started
    assert run.returncode == 0, run.stderr
    assert lab.community() not in run.stdout + run.stderr
    inventory = tmp_path / "lab.yaml"
    inventory.write_text(run.stdout)
    validate(inventory, env)
    doc = YAML(typ="safe").load(run.stdout)
    assert doc["devices"] == {"r1": {"address": "10.99.0.11"}, "r2": {"address": "10.99.0.12"}}
    pairs = pairs_of(doc)
    # keepalived reports its VRRPv2 instance through VRRP-MIB, its VRRPv3 instance through
    # VRRPv3-MIB, and both through KEEPALIVED-MIB.
    assert pairs["vrrp-eth0-51"]["params"] == {"if_index": 2, "vrid": 51}
    assert pairs["vrrpv3-eth0-52"]["params"] == {"if_index": 2, "vrid": 52, "inet_version": 4}
    assert {p["kind"] for p in pairs.values()} == {"vrrp", "vrrpv3", "keepalived"}
    assert all(p.get("preferred") == "r1" for p in pairs.values())
    states = {name: p["state"] for name, p in check_json(inventory, env).items()}
    assert states == dict.fromkeys(pairs, "healthy")
    print(f"discover of the lab's two routers: {took:.2f}s")
