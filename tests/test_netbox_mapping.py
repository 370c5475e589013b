"""`netmon inventory from-netbox`: NetBox FHRP groups -> pairs, on recorded NetBox 4.x answers.

tests/fixtures/netbox/*.json are list answers (`count`, `next`, `results`) shaped as NetBox 4.6's
serializers write them (ipam/api/serializers_/fhrpgroups.py, dcim/api/serializers_/devices.py,
dcim/api/serializers_/device_components.py; virtual machines and their interfaces as NetBox
4.7's virtualization/api/serializers_/virtualmachines.py writes them): 7 devices, 2 virtual
machines, 13 FHRP groups. `FakeNetbox` serves them to pynetbox itself, with the filters NetBox's
filtersets apply, so `fetch` is tested through the real client; a real NetBox is in
tests/test_netbox_real.py.
"""

from __future__ import annotations

import copy
import io
import json
import socket
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML
from typer.testing import CliRunner

from netmon.cli import app
from netmon.errors import ConfigError
from netmon.inventory import load_inventory
from netmon.inventory import netbox as nbmod
from netmon.inventory.netbox import (
    Base,
    Filters,
    NetboxData,
    NetboxError,
    build,
    fetch,
    load_base,
    map_groups,
    safe_url,
)
from netmon.model import Secret

FIXTURES = Path(__file__).parent / "fixtures" / "netbox"
WHEN = datetime(2026, 12, 4, 3, 0, tzinfo=UTC)
URL = "http://netbox.test/"
TOKEN = "0123456789abcdef0123456789abcdef01234567"  # what the tests' NetBox accepts
AUTH_KEYS = ("s3cr3t-vrrp-key", "hsrp-md5-key")  # FHRP groups' auth_key in the fixtures
ENDPOINTS = {
    "dcim/devices": "devices",
    "dcim/interfaces": "interfaces",
    "ipam/fhrp-group-assignments": "fhrp-group-assignments",
    "ipam/fhrp-groups": "fhrp-groups",
    "virtualization/virtual-machines": "virtual-machines",
    "virtualization/interfaces": "vm-interfaces",
}


def results(name: str) -> list[dict[str, Any]]:
    answer = json.loads((FIXTURES / f"{name}.json").read_text())
    assert answer["count"] == len(answer["results"]) and answer["next"] is None
    return list(answer["results"])


def recorded() -> NetboxData:
    return NetboxData(
        tuple(results("devices")),
        tuple(results("interfaces")),
        tuple(results("fhrp-group-assignments")),
        tuple(results("fhrp-groups")),
        tuple(results("virtual-machines")),
        tuple(results("vm-interfaces")),
    )


BASE_YAML = """\
defaults:
  snmp: {version: "2c", community: {env: NETMON_TEST_COMMUNITY}, timeout: 1.5}
groups:
  servers: {ssh: {username: netmon, known_hosts: /etc/netmon/known_hosts}}
  core: {snmp: {timeout: 2.0}}
netbox:
  match:
    - {platform: DEBIAN-LINUX, group: servers}   # slug or name, any case
    - {tag: core, group: core}
    - {role: server, group: core}                # lx1 is in `servers`: the first group wins
    - {role: Router, snmp: {retries: 2}}
    - {tag: core, snmp: {retries: 3}}            # later rules win, key by key
"""


@pytest.fixture
def base(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Base:
    monkeypatch.setenv("NETMON_TEST_COMMUNITY", "community-value")
    path = tmp_path / "base.yaml"
    path.write_text(BASE_YAML)
    return load_base(path)


def built(data: NetboxData | None = None, base: Base | None = None) -> nbmod.Built:
    return build(data or recorded(), base, url=URL, filters=Filters(), when=WHEN)


def pairs_of(text: str) -> dict[str, dict[str, Any]]:
    doc = YAML(typ="safe", pure=True).load(text)
    return {p["name"]: p for p in doc["pairs"]}


def doc_of(text: str) -> dict[str, Any]:
    loaded: dict[str, Any] = YAML(typ="safe", pure=True).load(text)
    return loaded


def with_if_index(text: str) -> str:
    """The output as it will be once interface names resolve to ifIndex (issue 19, IF-MIB): each
    member's `interface` becomes an `if_index`, keepalived's VRID an instance. Everything else is
    left as `build` wrote it, so the loader judges the rest of the output."""
    yaml = YAML(typ="rt", pure=True)
    doc = yaml.load(text)
    for n, pair in enumerate(doc["pairs"]):
        for m, member in enumerate(pair["members"]):
            del member["params"]["interface"]
            if pair["kind"] == "keepalived":
                member["params"]["instance"] = m + 1
            else:
                member["params"]["if_index"] = 10 * n + m + 1
        if pair["kind"] == "keepalived":
            del pair["params"]["vrid"]
    out = io.StringIO()
    yaml.dump(doc, out)
    return out.getvalue()


# -- the mapping -------------------------------------------------------------------------------

EXPECTED = {
    # name: (kind, params, members in order, preferred, virtual_ip, interfaces)
    "gw-a": ("vrrp", {"vrid": 10}, ["r1", "r2"], "r1", "10.10.0.1", ["Vlan10", "Vlan10"]),
    "vrrp3-20-r1-r2": ("vrrpv3", {"vrid": 20}, ["r2", "r1"], "r2", "10.20.0.1", ["Vlan20"] * 2),
    "hsrp-30-r1-r2": (
        "hsrp",
        {"group": 30},
        ["r1", "r2"],
        None,
        "10.30.0.1",
        ["GigabitEthernet0/1"] * 2,
    ),
    "servers-gw": (
        "keepalived",
        {"vrid": 40},
        ["lx1", "lx2"],
        "lx1",
        "10.40.0.1",
        ["eth0", "eth0"],
    ),
    "gw-a-11": ("vrrp", {"vrid": 11}, ["r1", "r2"], "r1", "10.11.0.1", ["Vlan20", "Vlan20"]),
    "vrrp2-120-r1-r4": ("vrrp", {"vrid": 120}, ["r1", "r4"], "r1", "10.120.0.1", ["Vlan120"] * 2),
    # keepalived on two virtual machines (VM interfaces; platform Debian Linux)
    "vrrp2-130-vm1-vm2": (
        "keepalived",
        {"vrid": 130},
        ["vm1", "vm2"],
        "vm1",
        "10.130.0.1",
        ["eth0"] * 2,
    ),
}

REFUSED = {
    # NetBox id: what the reason must say
    5: "device r3 has no primary IP",
    6: "protocol CARP has no netmon kind",
    7: "one assignment",
    8: "assigned on 3 devices",
    9: "two assignments on the same device r4 (Vlan40, Vlan41)",
    10: "no virtual IP",
}


def test_every_group_is_a_pair_or_refused_with_its_reason() -> None:
    out = built()
    pairs = pairs_of(out.text)
    assert set(pairs) == set(EXPECTED)
    assert out.pairs == len(EXPECTED)
    for name, (kind, params, members, preferred, vip, ifaces) in EXPECTED.items():
        pair = pairs[name]
        assert pair["kind"] == kind, name
        assert pair["params"] == params, name
        assert [m["name"] for m in pair["members"]] == members, name
        assert [m["params"] for m in pair["members"]] == [{"interface": i} for i in ifaces], name
        assert pair.get("preferred") == preferred, name
        assert pair["virtual_ip"] == vip, name
    got = {int(r.group.rsplit("NetBox id ", 1)[1].rstrip(")")): r.reason for r in out.refused}
    assert set(got) == set(REFUSED)
    for pk, words in REFUSED.items():
        assert words in got[pk], (pk, got[pk])


@pytest.mark.parametrize(
    ("protocol", "kind"), [("vrrp2", "vrrp"), ("vrrp3", "vrrpv3"), ("hsrp", "hsrp")]
)
def test_protocol_to_kind(protocol: str, kind: str) -> None:
    data = one_group(protocol=protocol)
    (pair,) = map_groups(data)[0]
    assert pair.kind == kind
    assert pair.params == ({"group": 10} if kind == "hsrp" else {"vrid": 10})


@pytest.mark.parametrize("protocol", ["carp", "glbp", "clusterxl", "other", "", "vrrp4"])
def test_protocols_without_a_kind_are_refused(protocol: str) -> None:
    pairs, refused, _ = map_groups(one_group(protocol=protocol))
    assert pairs == []
    assert len(refused) == 1 and "has no netmon kind" in refused[0].reason


def test_protocol_as_a_choice_object_is_read_too() -> None:
    (pair,) = map_groups(one_group(protocol={"value": "vrrp3", "label": "VRRPv3"}))[0]
    assert pair.kind == "vrrpv3"


def one_group(
    protocol: Any = "vrrp2",
    priorities: tuple[int, int] = (200, 100),
    platforms: tuple[str | None, str | None] = ("cisco-ios", "cisco-ios"),
    vips: tuple[str, ...] = ("10.10.0.1/24",),
) -> NetboxData:
    """Group 1 of the fixtures (r1 and r2) alone, with what a test changes."""
    data = recorded()
    group = copy.deepcopy(next(g for g in data.groups if g["id"] == 1))
    group["protocol"] = protocol
    group["ip_addresses"] = [
        {**group["ip_addresses"][0], "address": a, "family": {"value": 6 if ":" in a else 4}}
        for a in vips
    ]
    assignments = [copy.deepcopy(a) for a in data.assignments if a["group"]["id"] == 1]
    for a in assignments:
        a["group"]["protocol"] = protocol
        a["priority"] = priorities[0 if a["interface"]["device"]["name"] == "r1" else 1]
    devices = []
    for written in data.devices:
        if written["name"] in ("r1", "r2"):
            d = copy.deepcopy(written)
            slug = platforms[0 if d["name"] == "r1" else 1]
            d["platform"] = None if slug is None else {**d["platform"], "slug": slug, "name": slug}
            devices.append(d)
    return NetboxData(tuple(devices), data.interfaces, tuple(assignments), (group,))


def test_preferred_is_the_higher_priority_whatever_the_order() -> None:
    for high, low, preferred in ((200, 100, "r1"), (100, 200, "r2"), (1, 0, "r1"), (0, 255, "r2")):
        (pair,) = map_groups(one_group(priorities=(high, low)))[0]
        assert pair.preferred == preferred
        assert pair.members[0].device == preferred  # the preferred member first


def test_equal_priorities_leave_preferred_out_and_say_why() -> None:
    text = built(one_group(priorities=(100, 100))).text
    (pair,) = pairs_of(text).values()
    assert "preferred" not in pair
    assert "no `preferred`: NetBox gives both members priority 100" in text


@pytest.mark.parametrize(
    ("platforms", "kind"),
    [
        (("debian-linux", "linux"), "keepalived"),
        (("Ubuntu-LINUX-22", "linux"), "keepalived"),
        (("linux", "cisco-ios"), "vrrp"),  # mixed: VRRP-MIB is what both can answer
        (("linux", None), "vrrp"),
        ((None, None), "vrrp"),
        (("cisco-ios", "junos"), "vrrp"),
    ],
)
def test_vrrp2_on_linux_is_keepalived(platforms: tuple[str | None, str | None], kind: str) -> None:
    (pair,) = map_groups(one_group(platforms=platforms))[0]
    assert pair.kind == kind
    # VRRPv3 stays vrrpv3 whatever the platform
    (v3,) = map_groups(one_group(protocol="vrrp3", platforms=platforms))[0]
    assert v3.kind == "vrrpv3"


def test_linux_is_read_from_the_platform_name_too() -> None:
    data = one_group()
    for d in data.devices:
        d["platform"] = {**d["platform"], "slug": "deb12", "name": "Debian 12 (Linux)"}
    (pair,) = map_groups(data)[0]
    assert pair.kind == "keepalived"


def test_virtual_ip_first_ipv4_without_prefix_else_ipv6() -> None:
    (pair,) = map_groups(one_group(vips=("2001:db8::1/64", "10.0.9.1/24", "10.0.9.2/24")))[0]
    assert pair.vip == "10.0.9.1"
    (pair,) = map_groups(one_group(protocol="vrrp3", vips=("2001:db8::1/64",)))[0]
    assert pair.vip == "2001:db8::1"
    assert pair.params == {"vrid": 10, "inet_version": 6}
    pairs, refused, _ = map_groups(one_group(vips=()))
    assert pairs == [] and "no virtual IP" in refused[0].reason


def test_management_address_from_primary_ip4_else_primary_ip() -> None:
    doc = doc_of(built().text)
    assert doc["devices"]["r1"]["address"] == "10.0.0.1"  # primary_ip4 10.0.0.1/24
    assert doc["devices"]["lx2"]["address"] == "10.0.1.2"  # primary_ip4 null, primary_ip set
    assert "r3" not in doc["devices"]  # no primary IP: its group is refused


def test_primary_ip4_wins_over_primary_ip() -> None:
    device = {
        "primary_ip": {"address": "2001:db8::1/64"},  # NetBox's PREFER_IPV4 off: v6 first
        "primary_ip4": {"address": "10.0.0.1/24"},
    }
    assert nbmod.management_address(device) == "10.0.0.1"
    assert nbmod.management_address({"primary_ip": {"address": "2001:db8::1/64"}}) == "2001:db8::1"
    assert nbmod.management_address({"primary_ip4": None, "primary_ip": None}) is None
    assert nbmod.management_address({"primary_ip4": {"address": "not-an-ip"}}) is None


def test_only_devices_of_pairs_are_written() -> None:
    doc = doc_of(built().text)
    assert set(doc["devices"]) == {"r1", "r2", "r4", "lx1", "lx2", "vm1", "vm2"}
    assert doc["devices"]["vm1"]["address"] == "10.0.3.1"  # a virtual machine's primary IP


def test_names_collide_the_oldest_group_keeps_its_name() -> None:
    pairs = pairs_of(built().text)
    assert pairs["gw-a"]["labels"] == {"netbox_fhrp_group": "1"}
    assert pairs["gw-a-11"]["labels"] == {"netbox_fhrp_group": "11"}
    # the same, whatever order NetBox answers in
    data = recorded()
    reversed_data = replace(data, assignments=data.assignments[::-1], groups=data.groups[::-1])
    assert pairs_of(built(reversed_data).text) == pairs_of(built().text)


def test_generated_names_collide_too() -> None:
    # two VRRP groups with the same VRID on the same routers (two VLANs): both unnamed
    data = recorded()
    groups = [dict(g, name="") if g["id"] in (1, 11) else g for g in data.groups]
    for g in groups:
        if g["id"] == 11:
            g["group_id"] = 10
    names = sorted(p.name for p in map_groups(NetboxData(data.devices, data.interfaces, data.assignments, tuple(groups)))[0])  # fmt: skip
    assert "vrrp2-10-r1-r2" in names and "vrrp2-10-r1-r2-11" in names


def test_names_are_valid_netmon_names() -> None:
    data = one_group()
    group = dict(data.groups[0], name="Core GW / VLAN 10 (prod)")
    devices = tuple(dict(d, name=d["name"].upper() + " #1") for d in data.devices)
    names = nbmod.device_names(NetboxData(devices).hosts())
    assert sorted(names.values()) == ["r1-1", "r2-1"]
    (pair,) = map_groups(NetboxData(devices, data.interfaces, data.assignments, (group,)))[0]
    assert pair.name == "core-gw-vlan-10-prod"


def test_device_names_that_meet_after_slugging_take_their_id() -> None:
    devices: list[dict[str, Any]] = [
        {"id": 1, "name": "Core A"},
        {"id": 2, "name": "core-a"},
        {"id": 3, "name": None},
    ]
    # the oldest keeps the name: a host added later never renames one already watched
    assert nbmod.device_names(NetboxData(tuple(devices[::-1])).hosts()) == {
        ("device", 1): "core-a",
        ("device", 2): "core-a-2",
    }
    # a device and a virtual machine may share a name (and an id: two tables); devices first
    vms = ({"id": 1, "name": "Core A"}, {"id": 4, "name": "edge"}, {"id": 5, "name": 7})
    assert nbmod.device_names(NetboxData(tuple(devices[:1]), virtual_machines=vms).hosts()) == {
        ("device", 1): "core-a",
        ("vm", 1): "core-a-vm1",
        ("vm", 4): "edge",
    }


def test_text_from_netbox_cannot_break_out_of_a_comment() -> None:
    data = one_group(priorities=(100, 100))
    group = dict(data.groups[0], name="gw\n  evil: [1]\npairs: []")
    text = built(NetboxData(data.devices, data.interfaces, data.assignments, (group,))).text
    doc = doc_of(text)
    assert "evil" not in doc and len(doc["pairs"]) == 1


def test_outside_the_filters_is_refused(base: Base) -> None:
    data = recorded()
    core = tuple(d for d in data.devices if any(t["slug"] == "core" for t in d["tags"]))
    out = built(NetboxData(core, data.interfaces, data.assignments, data.groups))
    reasons = {r.group: r.reason for r in out.refused}
    (why,) = [v for k, v in reasons.items() if "NetBox id 12" in k]
    assert why == "assigned on r4, outside the filters"


def test_a_group_seen_only_nested_in_an_assignment_is_refused_for_its_vip() -> None:
    data = one_group()
    pairs, refused, _ = map_groups(NetboxData(data.devices, data.interfaces, data.assignments, ()))
    assert pairs == [] and "no virtual IP" in refused[0].reason


def test_refused_groups_are_listed_at_the_end_of_the_yaml() -> None:
    text = built().text
    tail = text.split("# Not watched (NetBox describes them, netmon cannot pair them):\n", 1)[1]
    lines = tail.splitlines()
    assert len(lines) == len(REFUSED)
    assert all(line.startswith("# - ") for line in lines)


# -- the base file -----------------------------------------------------------------------------


def test_settings_come_from_the_base_and_its_match_rules(base: Base) -> None:
    doc = doc_of(built(base=base).text)
    assert doc["defaults"]["snmp"]["community"] == {"env": "NETMON_TEST_COMMUNITY"}
    assert "netbox" not in doc
    devices = doc["devices"]
    assert devices["lx1"] == {"address": "10.0.1.1", "group": "servers"}
    assert devices["r1"] == {"address": "10.0.0.1", "group": "core", "snmp": {"retries": 3}}
    assert devices["r4"] == {"address": "10.0.0.4", "snmp": {"retries": 2}}


def test_the_output_is_what_the_loader_takes(base: Base, tmp_path: Path) -> None:
    """Everything `build` writes loads, once members carry an ifIndex (not NetBox's to give)."""
    path = tmp_path / "site.yaml"
    path.write_text(with_if_index(built(base=base).text))
    inv = load_inventory(path)
    assert {p.name for p in inv.pairs} == set(EXPECTED)
    for name, (kind, _, members, preferred, vip, _) in EXPECTED.items():
        spec = inv.pair(name)
        assert spec is not None
        assert (spec.kind, spec.preferred, spec.virtual_ip) == (kind, preferred, vip)
        assert [m.name for m in spec.members] == members
    assert inv.devices["r1"].snmp is not None and inv.devices["r1"].snmp.timeout == 2.0
    assert inv.devices["lx1"].ssh is not None and inv.devices["lx1"].ssh.username == "netmon"


def test_the_loader_takes_the_interface_names_and_refuses_both_or_neither(
    base: Base, tmp_path: Path
) -> None:
    """What `netmon inventory validate` says of the output as written (it was: `unknown key
    'interface'`, before issue 19's names): it loads, every member keeps its `interface` name
    for the poll to resolve (keepalived: the VRID, with the instance's interface); a member
    that gives both `interface` and `if_index`, or one that gives neither, is refused at its
    line."""
    path = tmp_path / "site.yaml"
    text = built(base=base).text
    path.write_text(text)
    inv = load_inventory(path)
    for name, (kind, params, _, _, _, ifaces) in EXPECTED.items():
        spec = inv.pair(name)
        assert spec is not None
        got = [m.params for m in spec.members]
        assert [getattr(p, "interface", None) for p in got] == ifaces, name
        if kind == "keepalived":
            assert [(p.vrid, p.instance) for p in got] == [(params["vrid"], None)] * 2  # type: ignore[attr-defined]
        else:
            assert [p.if_index for p in got] == [None, None], name  # type: ignore[attr-defined]
    both = text.replace(
        "{name: r1, params: {interface: Vlan10}}",
        "{name: r1, params: {interface: Vlan10, if_index: 3}}",
    )
    neither = text.replace("{name: r2, params: {interface: Vlan10}}", "{name: r2}")
    for variant, where, marker in (
        (both, "members[0].params.interface", "if_index: 3"),
        (neither, "members[1].params.if_index", "{name: r2}"),
    ):
        assert variant != text
        path.write_text(variant)
        with pytest.raises(ConfigError) as caught:
            load_inventory(path)
        (problem,) = caught.value.problems
        assert "exactly one of 'if_index: N' or 'interface: NAME'" in problem.message, problem
        assert problem.path == f"pairs[0].{where}", problem
        lines = variant.splitlines()
        assert problem.line == next(i for i, t in enumerate(lines, 1) if marker in t), problem


def test_the_output_loads_as_written(base: Base, tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(built(base=base).text)
    inv = load_inventory(path)
    assert {p.name for p in inv.pairs} == set(EXPECTED)


def test_relative_secret_files_of_the_base_are_made_absolute(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    path = tmp_path / "etc" / "base.yaml"
    path.write_text(
        "defaults: {snmp: {community: {file: secrets/community}}}\n"
        "drills: {journal: drills.sqlite}\n"
        "netbox: {match: [{tag: core, ssh: {username: u, password: {file: pw}}}]}\n"
    )
    loaded = load_base(path)
    folder = str(tmp_path / "etc")
    assert loaded.sections["defaults"]["snmp"]["community"] == {
        "file": f"{folder}/secrets/community"
    }
    assert loaded.sections["drills"]["journal"] == f"{folder}/drills.sqlite"
    assert loaded.rules[0].ssh == {"username": "u", "password": {"file": f"{folder}/pw"}}


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("devices: {a: {address: 1.2.3.4}}\n", 1, "'devices' come from NetBox"),
        ("pairs: []\n", 1, "'pairs' come from NetBox"),
        ("defaults: {}\nnetbx: {}\n", 2, "unknown key 'netbx'"),
        ("netbox:\n  match:\n    - {platform: linux, role: x, group: g}\n", 3, "exactly one of"),
        ("netbox:\n  match:\n    - {tag: core}\n", 3, "gives 'group', 'snmp' or 'ssh'"),
        ("netbox:\n  match:\n    - {tag: core, snmpp: {}}\n", 3, "unknown key 'snmpp'"),
        (
            "groups: {a: {}}\nnetbox:\n  match:\n    - {tag: core, group: b}\n",
            4,
            "unknown group 'b'",
        ),
        ("netbox: {matches: []}\n", 1, "unknown key 'matches'"),
    ],
)
def test_base_file_problems_name_their_line(
    tmp_path: Path, text: str, line: int, words: str
) -> None:
    path = tmp_path / "base.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_base(path)
    assert any(p.line == line and words in p.message for p in caught.value.problems), [
        str(p) for p in caught.value.problems
    ]


# -- fetch, through pynetbox -------------------------------------------------------------------


class FakeResponse:
    def __init__(self, status: int, body: Any, url: str, reason: str = "OK") -> None:
        self.status_code = status
        self.ok = status < 400
        self.reason = reason
        self.url = url
        self._body = body
        self.text = body if isinstance(body, str) else json.dumps(body)
        self.headers = {"API-Version": "4.6"}
        self.request = type("Sent", (), {"body": None})()

    def json(self) -> Any:
        if isinstance(self._body, str):
            raise json.JSONDecodeError("Expecting value", self._body, 0)  # as requests does
        return self._body


class FakeNetbox:
    """Serves the fixtures as NetBox would, applying the filters NetBox's filtersets define:
    devices by site/tag/role slug; assignments by device_id (of their interface's device) and
    group_id (the FHRP group's NetBox id); groups and interfaces by id."""

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.calls: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
        self.headers: dict[str, str] = {}
        self.broken: FakeResponse | None = None

    def get(self, url: str, headers: Any = None, params: Any = None, json: Any = None) -> Any:
        self.calls.append((url, dict(headers or {}), dict(params or {})))
        if self.broken is not None:
            return self.broken
        auth = (headers or {}).get("authorization")
        if auth != f"Token {self.token}":
            return FakeResponse(403, {"detail": "Invalid token"}, url, "Forbidden")
        endpoint = url.split("/api/", 1)[1].strip("/")
        rows = results(ENDPOINTS[endpoint])
        for key, want in (params or {}).items():
            wanted = {str(v) for v in (want if isinstance(want, list) else [want])}
            rows = [r for r in rows if self.keep(endpoint, key, r, wanted)]
        return FakeResponse(200, {"count": len(rows), "next": None, "previous": None, "results": rows}, url)  # fmt: skip

    @staticmethod
    def keep(endpoint: str, key: str, row: dict[str, Any], wanted: set[str]) -> bool:
        if key in ("limit", "offset"):
            return True
        if endpoint in ("dcim/devices", "virtualization/virtual-machines"):
            values = {
                "site": [row["site"]["slug"]],
                "role": [row["role"]["slug"]],
                "tag": [t["slug"] for t in row["tags"]],
            }[key]
        elif endpoint == "ipam/fhrp-group-assignments":
            # NetBox's filter_device and filter_virtual_machine each match their own interface
            # type only: device 1 and virtual machine 1 are different hosts.
            on_vm = row["interface_type"] == "virtualization.vminterface"
            host = row["interface"].get("virtual_machine" if on_vm else "device", {}).get("id")
            values = {
                "device_id": [] if on_vm else [host],
                "virtual_machine_id": [host] if on_vm else [],
                "group_id": [row["group"]["id"]],
            }[key]
        else:
            values = {"id": [row["id"]]}[key]
        return bool({str(v) for v in values} & wanted)


def fake_fetch(fake: FakeNetbox, filters: Filters | None = None, token: str = TOKEN) -> NetboxData:
    return fetch(URL, Secret("env:T", token), filters or Filters(), session=fake)


def test_fetch_reads_what_build_needs() -> None:
    fake = FakeNetbox()
    data = fake_fetch(fake)
    out = build(data, None, url=URL, filters=Filters(), when=WHEN)
    assert set(pairs_of(out.text)) == set(EXPECTED)
    # the virtual machines' group is reached from the virtual machines
    refused = {int(r.group.rsplit("NetBox id ", 1)[1].rstrip(")")) for r in out.refused}
    assert refused == set(REFUSED)
    # the token goes in the Authorization header, never in a URL or a parameter
    for url, headers, params in fake.calls:
        assert headers["authorization"] == f"Token {TOKEN}"
        assert TOKEN not in url and TOKEN not in json.dumps(params)


def test_fetch_filters_devices_and_still_sees_third_members() -> None:
    fake = FakeNetbox()
    data = fake_fetch(fake, Filters(tag="core"))
    assert {d["name"] for d in data.devices} == {"r1", "r2"}
    device_query = fake.calls[0]
    assert device_query[0].endswith("/api/dcim/devices/") and device_query[2]["tag"] == "core"
    out = build(data, None, url=URL, filters=Filters(tag="core"), when=WHEN)
    reasons = {r.group: r.reason for r in out.refused}
    assert any("NetBox id 8" in k and "3 devices" in v for k, v in reasons.items())
    assert any("NetBox id 12" in k and "outside the filters" in v for k, v in reasons.items())


def test_fetch_drops_the_groups_auth_key() -> None:
    data = fake_fetch(FakeNetbox())
    assert data.groups and all("auth_key" not in g for g in data.groups)
    text = build(data, None, url=URL, filters=Filters(), when=WHEN).text
    assert not any(key in text for key in AUTH_KEYS)
    # and build never writes it even when handed it
    assert not any(key in built().text for key in AUTH_KEYS)


def test_refused_token_is_one_line_naming_the_url_without_it() -> None:
    with pytest.raises(NetboxError) as caught:
        fake_fetch(FakeNetbox(token="another"))
    message = str(caught.value)
    assert message == (
        "NetBox at http://netbox.test/ answered HTTP 403 Forbidden: the token is refused or may "
        "not read these objects"
    )
    assert TOKEN not in message


def test_an_error_page_that_echoes_the_token_does_not_leak_it() -> None:
    fake = FakeNetbox()
    fake.broken = FakeResponse(500, f"<html>Authorization: Token {TOKEN}</html>", URL, TOKEN)
    with pytest.raises(NetboxError) as caught:
        fake_fetch(fake)
    assert TOKEN not in str(caught.value) and "HTTP 500" in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (FakeResponse(200, "<html>a login page</html>", URL), "not JSON"),
        (FakeResponse(200, {"results": "garbage"}, URL), "something unexpected"),
        (FakeResponse(404, {"detail": "Not found."}, URL, "Not Found"), "no NetBox API"),
    ],
)
def test_garbage_answers_are_clear_errors(answer: FakeResponse, words: str) -> None:
    fake = FakeNetbox()
    fake.broken = answer
    with pytest.raises(NetboxError, match=words):
        fake_fetch(fake)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_netbox_names_the_url_without_credentials() -> None:
    port = closed_port()
    url = f"http://admin:hunter2@127.0.0.1:{port}/netbox/?token={TOKEN}"
    with pytest.raises(NetboxError) as caught:
        fetch(url, Secret("env:T", TOKEN), Filters(site="dc1"), timeout=2)
    message = str(caught.value)
    assert message == f"cannot connect to NetBox at http://127.0.0.1:{port}/netbox/"
    assert "hunter2" not in message and TOKEN not in message


def test_safe_url() -> None:
    assert safe_url("https://u:p@[2001:db8::1]:8443/nb/?x=1#f") == "https://[2001:db8::1]:8443/nb/"
    assert safe_url("https://netbox.example") == "https://netbox.example"


# -- the command -------------------------------------------------------------------------------


@pytest.fixture
def cli_netbox(monkeypatch: pytest.MonkeyPatch) -> FakeNetbox:
    fake = FakeNetbox()
    monkeypatch.setattr(nbmod, "_GuardedSession", lambda url, timeout, deadline, ca=None: fake)
    monkeypatch.setenv("NETBOX_TOKEN", TOKEN)
    return fake


def run(*args: str) -> Any:
    return CliRunner().invoke(app, ["inventory", "from-netbox", *args])


def test_cli_prints_the_inventory_and_exits_1_on_refusals(cli_netbox: FakeNetbox) -> None:
    result = run("--url", URL, "--token-env", "NETBOX_TOKEN")
    assert result.exit_code == 1, result.output
    assert set(pairs_of(result.stdout)) == set(EXPECTED)
    assert result.stdout.startswith("# From NetBox http://netbox.test/ (no filter) by `netmon")
    assert "not watched: CARP group 60 (NetBox id 6): protocol CARP" in result.stderr
    for text in (result.stdout, result.stderr):
        assert TOKEN not in text and not any(k in text for k in AUTH_KEYS)


def test_cli_exit_0_when_every_group_is_a_pair(
    cli_netbox: FakeNetbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NETMON_TEST_COMMUNITY", "community-value")
    (tmp_path / "base.yaml").write_text(BASE_YAML)
    token = tmp_path / "token"
    token.write_text(TOKEN + "\n")
    token.chmod(0o600)
    out = tmp_path / "site.yaml"
    result = run(
        "--url", URL, "--token-file", str(token), "--role", "server",
        "--base", str(tmp_path / "base.yaml"), "-o", str(out),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    text = out.read_text()
    assert "(role=server)" in text.splitlines()[0]
    # lx1/lx2 are devices, vm1/vm2 virtual machines: role `server` selects both kinds of host
    assert list(pairs_of(text)) == ["servers-gw", "vrrp2-130-vm1-vm2"]
    assert TOKEN not in text
    path = tmp_path / "resolved.yaml"
    path.write_text(with_if_index(text))
    assert [p.name for p in load_inventory(path).pairs] == ["servers-gw", "vrrp2-130-vm1-vm2"]


def test_cli_nothing_to_pair_is_1(cli_netbox: FakeNetbox) -> None:
    result = run("--url", URL, "--token-env", "NETBOX_TOKEN", "--site", "nowhere")
    assert result.exit_code == 1
    assert "pairs: []" in result.stdout
    assert "no FHRP group to pair (site=nowhere)" in result.stderr


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ([], "give --token-env NAME or --token-file PATH"),
        (["--token-env", "NETBOX_TOKEN", "--token-file", "/x"], "give --token-env NAME or"),
        (["--token-env", "NETMON_NO_SUCH_VARIABLE"], "NETMON_NO_SUCH_VARIABLE is not set"),
        (["--token-file", "/nonexistent/token"], "cannot read secret file /nonexistent/token"),
    ],
)
def test_cli_usage_errors_are_2(cli_netbox: FakeNetbox, args: list[str], words: str) -> None:
    result = run("--url", URL, *args)
    assert result.exit_code == 2
    assert words in result.stderr and result.stdout == ""


def test_cli_bad_base_is_2_with_file_and_line(cli_netbox: FakeNetbox, tmp_path: Path) -> None:
    path = tmp_path / "base.yaml"
    path.write_text("defaults: {}\npairs: []\n")
    result = run("--url", URL, "--token-env", "NETBOX_TOKEN", "--base", str(path))
    assert result.exit_code == 2
    assert f"{path}:2: pairs: 'pairs' come from NetBox" in result.stderr
    assert cli_netbox.calls == []  # NetBox is not asked before the base file is right


def test_cli_refused_token_is_2(cli_netbox: FakeNetbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NETBOX_TOKEN", "wrong-token-value")
    result = run("--url", "https://user:pw@netbox.test/", "--token-env", "NETBOX_TOKEN")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "netmon inventory from-netbox: NetBox at https://netbox.test/ answered HTTP 403 "
        "Forbidden: the token is refused or may not read these objects"
    )
    assert "wrong-token-value" not in result.output and ":pw@" not in result.output


def test_cli_url_must_be_http(cli_netbox: FakeNetbox) -> None:
    result = run("--url", "netbox.test", "--token-env", "NETBOX_TOKEN")
    assert result.exit_code == 2 and "url must be http:// or https://" in result.stderr


def test_a_virtual_machine_is_named_as_one_in_reasons() -> None:
    data = recorded()
    vms = tuple(dict(v, primary_ip4=None, primary_ip=None) if v["name"] == "vm2" else v
                for v in data.virtual_machines)  # fmt: skip
    refused = {r.group: r.reason for r in built(replace(data, virtual_machines=vms)).refused}
    assert refused["VRRPv2 group 130 (NetBox id 13)"] == (
        "virtual machine vm2 has no primary IP (primary_ip4) to poll"
    )
    only_vm1 = tuple(v for v in data.virtual_machines if v["name"] == "vm1")
    refused = {r.group: r.reason for r in built(replace(data, virtual_machines=only_vm1)).refused}
    assert refused["VRRPv2 group 130 (NetBox id 13)"] == "assigned on vm2, outside the filters"
