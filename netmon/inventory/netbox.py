"""NetBox's FHRP groups -> netmon pairs (issue 19, first part): `netmon inventory from-netbox`.

Two halves: `fetch` reads NetBox's REST API through pynetbox (the only I/O here) into plain dicts,
shaped as NetBox 4.x answers them; `build` turns those dicts into an inventory YAML, and is pure,
so every rule is tested on recorded answers (tests/fixtures/netbox/).

What comes from NetBox, and where it was read (NetBox 4.6 source):

- `/api/ipam/fhrp-groups/` (ipam/api/serializers_/fhrpgroups.py, FHRPGroupSerializer): `id`,
  `name` (may be ""), `protocol` (a plain string: the serializer leaves the model's choice field
  to DRF, so no {value, label}), `group_id`, `ip_addresses` (nested IPAddressSerializer: `address`
  with its prefix length, `family` as {value: 4|6, label}). `auth_key` is a plaintext secret in
  NetBox: `fetch` drops it and nothing here reads it.
- protocol values (ipam/choices.py, FHRPGroupProtocolChoices): vrrp2, vrrp3, carp, clusterxl,
  hsrp, glbp, other.
- `/api/ipam/fhrp-group-assignments/` (FHRPGroupAssignmentSerializer): `group` (nested: `id`,
  `protocol`, `group_id`), `interface_type` ("dcim.interface" or "virtualization.vminterface",
  ContentTypeField), `interface_id`, `interface` (nested), `priority` (0..255).
- `/api/dcim/interfaces/` (dcim/api/serializers_/device_components.py): `id`, `name`, `device`
  (nested: `id`, `name`).
- `/api/dcim/devices/` (dcim/api/serializers_/devices.py): `id`, `name` (may be null),
  `primary_ip4` / `primary_ip` (nested IP: `address`), `platform`, `role` (nested: `name`,
  `slug`), `tags` (nested: `name`, `slug`), `site`.
- `/api/virtualization/virtual-machines/` (virtualization/api/serializers_/virtualmachines.py,
  NetBox 4.7): the same fields as a device's for what is read here; the same site, role and tag
  filters (VirtualMachineFilterSet). `/api/virtualization/interfaces/` (VMInterfaceSerializer):
  `id`, `name`, `virtual_machine` (nested: `id`, `name`). Assignments of VM interfaces are found
  with `?virtual_machine_id=` (FHRPGroupAssignmentFilterSet.filter_virtual_machine).

Credentials never come from NetBox: SNMP and SSH settings are the base inventory's (`--base`),
chosen per device by NetBox platform, role or tag (`netbox.match` in the base file).
"""

from __future__ import annotations

import io
import ipaddress
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pynetbox
import requests
from pydantic import Field, ValidationError, model_validator
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from netmon.errors import ConfigError, ConfigProblem
from netmon.inventory.schema import Strict
from netmon.inventory.source import load_document
from netmon.kinds.evidence import one_line
from netmon.model import Secret

# NetBox protocol value -> netmon kind. VRRP2 becomes `keepalived` where both members' platforms
# say Linux (`is_linux`); the protocols missing here have no kind and are refused.
KIND_BY_PROTOCOL = {"vrrp2": "vrrp", "vrrp3": "vrrpv3", "hsrp": "hsrp"}
PROTOCOL_NAMES = {
    "vrrp2": "VRRPv2",
    "vrrp3": "VRRPv3",
    "hsrp": "HSRP",
    "carp": "CARP",
    "glbp": "GLBP",
    "clusterxl": "ClusterXL",
    "other": "Other",
}
DEVICE_INTERFACE = "dcim.interface"  # FHRPGroupAssignment.interface_type of a device interface
VM_INTERFACE = "virtualization.vminterface"  # ... and of a virtual machine's interface
# A host of NetBox's: a device or a virtual machine, each numbered in its own table.
HostKey = tuple[str, int]
HOST_OF = {DEVICE_INTERFACE: ("device", "device"), VM_INTERFACE: ("vm", "virtual_machine")}
# Base-file sections copied to the output as they are; `netbox` is this module's own.
BASE_SECTIONS = ("version", "collectors", "state", "drills", "traps", "defaults", "groups")
_NAME_BAD = re.compile(r"[^A-Za-z0-9_.:-]+")


# -- what NetBox answered ---------------------------------------------------------------------


@dataclass(frozen=True)
class NetboxData:
    """NetBox's answers as plain dicts, exactly as its REST API returns the objects."""

    devices: tuple[dict[str, Any], ...] = ()
    interfaces: tuple[dict[str, Any], ...] = ()
    assignments: tuple[dict[str, Any], ...] = ()
    groups: tuple[dict[str, Any], ...] = ()
    virtual_machines: tuple[dict[str, Any], ...] = ()
    vm_interfaces: tuple[dict[str, Any], ...] = ()

    def hosts(self) -> dict[HostKey, dict[str, Any]]:
        """Devices and virtual machines by (table, NetBox id): both can be pair members."""
        out: dict[HostKey, dict[str, Any]] = {}
        for table, rows in (("device", self.devices), ("vm", self.virtual_machines)):
            out |= {(table, r["id"]): r for r in rows if isinstance(r.get("id"), int)}
        return out


@dataclass(frozen=True)
class Filters:
    """Which devices and virtual machines to read (NetBox's filters of both: site, tag and
    role, by slug)."""

    site: str | None = None
    tag: str | None = None
    role: str | None = None

    def params(self) -> dict[str, str]:
        return {k: v for k, v in (("site", self.site), ("tag", self.tag), ("role", self.role)) if v}

    def describe(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.params().items()) or "no filter"


@dataclass(frozen=True)
class Refused:
    """An FHRP group netmon cannot watch, and why: printed, never dropped."""

    group: str  # how NetBox names it: "VRRPv2 group 10 'gw' (NetBox id 3)"
    reason: str


@dataclass(frozen=True)
class Built:
    text: str  # the inventory YAML
    pairs: int
    refused: tuple[Refused, ...]


class NetboxError(Exception):
    """NetBox could not be read; the message names the URL without credentials."""


# -- the base file ----------------------------------------------------------------------------


class MatchRule(Strict):
    """One rule of the base file's `netbox.match`: a NetBox selector and what a device it
    selects gets. Values are compared with the slug and the name, ignoring case."""

    platform: str | None = None
    role: str | None = None
    tag: str | None = None
    group: str | None = None  # a group of the base file's `groups`
    snmp: dict[str, Any] | None = None  # merged into the device's own `snmp`, key by key
    ssh: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _shape(self) -> MatchRule:
        if sum(x is not None for x in (self.platform, self.role, self.tag)) != 1:
            raise ValueError("a match rule needs exactly one of 'platform', 'role' or 'tag'")
        if self.group is None and self.snmp is None and self.ssh is None:
            raise ValueError("a match rule gives 'group', 'snmp' or 'ssh' (or several)")
        return self

    def matches(self, device: Mapping[str, Any]) -> bool:
        if self.platform is not None:
            return _is(self.platform, _obj(device.get("platform")))
        if self.role is not None:
            return _is(self.role, _obj(device.get("role")))
        tags = device.get("tags")
        return any(_is(self.tag or "", _obj(t)) for t in (tags if isinstance(tags, list) else []))


class NetboxSection(Strict):
    match: list[MatchRule] = Field(default_factory=list)


@dataclass(frozen=True)
class Base:
    """The user's base inventory: sections copied as they are, and the match rules."""

    sections: dict[str, Any] = field(default_factory=dict)
    rules: tuple[MatchRule, ...] = ()
    file: str | None = None


def load_base(path: Path) -> Base:
    """Read a base file; a problem is a ConfigError with file:line, as the loader's."""
    doc = load_document(path)
    data = doc.data if doc.data is not None else {}
    if not isinstance(data, dict):
        raise ConfigError([doc.problem((), "the base file must be a mapping")])
    problems: list[ConfigProblem] = []
    for key in data:
        if key in ("devices", "pairs"):
            problems.append(
                doc.problem((key,), f"'{key}' come from NetBox: the base gives settings only")
            )
        elif key not in (*BASE_SECTIONS, "netbox", "source"):  # source: netmon/inventory/live.py
            allowed = ", ".join((*BASE_SECTIONS, "netbox", "source"))
            problems.append(doc.problem((key,), f"unknown key {key!r}; allowed here: {allowed}"))
    section = NetboxSection()
    try:
        section = NetboxSection.model_validate(data.get("netbox") or {})
    except ValidationError as exc:
        for err in exc.errors():
            message = str(err["msg"]).removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                message = f"unknown key {err['loc'][-1]!r}"
            problems.append(doc.problem(("netbox", *err["loc"]), message))
    groups = data.get("groups")
    known = set(groups) if isinstance(groups, dict) else set()
    for i, rule in enumerate(section.match):
        if rule.group is not None and rule.group not in known:
            names = ", ".join(sorted(map(str, known))) or "none defined"
            problems.append(
                doc.problem(
                    ("netbox", "match", i, "group"),
                    f"unknown group {rule.group!r} (groups: {names})",
                )
            )
    if problems:
        raise ConfigError(problems)
    folder = path.resolve().parent
    sections = {k: _absolute_refs(data[k], folder) for k in BASE_SECTIONS if k in data}
    if isinstance(sections.get("drills"), dict) and "journal" in sections["drills"]:
        journal = sections["drills"]["journal"]
        if isinstance(journal, str) and not Path(journal).expanduser().is_absolute():
            sections["drills"] = {**sections["drills"], "journal": str(folder / journal)}
    rules = tuple(
        rule.model_copy(
            update={
                "snmp": _absolute_refs(rule.snmp, folder),
                "ssh": _absolute_refs(rule.ssh, folder),
            }
        )
        for rule in section.match
    )
    return Base(sections, rules, str(path))


def _absolute_refs(node: Any, folder: Path) -> Any:
    """Secret references `{file: relative}` made absolute: relative paths in an inventory start
    from its own folder, and the output is written somewhere else than the base file."""
    if isinstance(node, dict):
        if set(node) == {"file"} and isinstance(node["file"], str):
            given = node["file"]
            if not given.startswith("~") and not Path(given).is_absolute():
                return {"file": str(folder / given)}
            return dict(node)
        return {k: _absolute_refs(v, folder) for k, v in node.items()}
    if isinstance(node, list):
        return [_absolute_refs(v, folder) for v in node]
    return node


# -- reading NetBox objects -------------------------------------------------------------------


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _is(wanted: str, obj: Mapping[str, Any]) -> bool:
    wanted = wanted.casefold()
    return any(_text(obj.get(k)).casefold() == wanted for k in ("slug", "name") if obj.get(k))


def _choice(value: Any) -> Any:
    """A choice as NetBox writes it: a plain value, or {value, label} (ChoiceField)."""
    return value.get("value") if isinstance(value, dict) else value


def is_linux(device: Mapping[str, Any]) -> bool:
    """The rule for `keepalived`: the device's platform slug or name contains "linux"
    (any case): "linux", "debian-linux", "Linux (keepalived)"."""
    platform = _obj(device.get("platform"))
    return any("linux" in _text(platform.get(k)).lower() for k in ("slug", "name"))


def address_of(ip: Any) -> str | None:
    """An IPAddress object's address without its prefix length ("10.0.0.1/24" -> "10.0.0.1")."""
    text = _text(_obj(ip).get("address")).split("/")[0].strip()
    try:
        return str(ipaddress.ip_address(text)) if text else None
    except ValueError:
        return None


def management_address(device: Mapping[str, Any]) -> str | None:
    return address_of(device.get("primary_ip4")) or address_of(device.get("primary_ip"))


def virtual_ip(group: Mapping[str, Any]) -> tuple[str | None, int]:
    """(the group's first IPv4 address, else its first IPv6 one; its IP version)."""
    found = [a for a in map(address_of, group.get("ip_addresses") or []) if a is not None]
    for version in (4, 6):
        for text in found:
            if ipaddress.ip_address(text).version == version:
                return text, version
    return None, 4


def describe_group(group: Mapping[str, Any]) -> str:
    protocol = _text(_choice(group.get("protocol")))
    name = one_line(_text(group.get("name")))
    return (
        f"{PROTOCOL_NAMES.get(protocol, protocol or '?')} group {group.get('group_id')}"
        + (f" {name!r}" if name else "")
        + f" (NetBox id {group.get('id')})"
    )


def slug(text: str) -> str:
    """A name netmon takes: letters, digits, `_ . : -`; lower case; runs of others as one '-'."""
    return _NAME_BAD.sub("-", text.strip().lower()).strip("-") or "x"


# -- mapping ----------------------------------------------------------------------------------


@dataclass
class _Member:
    device: str  # the netmon device name
    device_id: HostKey
    interface: str
    priority: int


@dataclass
class _Pair:
    base_name: str
    group_pk: int
    kind: str
    members: list[_Member]
    preferred: str | None
    vip: str
    params: dict[str, Any]
    comment: list[str]
    name: str = ""


def device_names(hosts: Mapping[HostKey, Mapping[str, Any]]) -> dict[HostKey, str]:
    """NetBox host -> netmon device name: the NetBox name made a valid netmon name (as a
    member's name is the device's). Where two names meet that way, the oldest host (devices
    before virtual machines, then the lowest NetBox id) keeps it and each later one takes
    `-<id>` (a virtual machine `-vm<id>`): a host added to NetBox never renames one watched."""
    named = sorted(
        ((key, slug(h["name"])) for key, h in hosts.items() if isinstance(h.get("name"), str)
         and h["name"].strip()),
        key=lambda item: (item[0][0] != "device", item[0][1]),
    )  # fmt: skip
    out: dict[HostKey, str] = {}
    taken: set[str] = set()
    for key, plain in named:
        name = plain if plain not in taken else f"{plain}-{'vm' if key[0] == 'vm' else ''}{key[1]}"
        n = 2
        while name in taken:
            name, n = f"{plain}-{key[1]}-{n}", n + 1
        taken.add(name)
        out[key] = name
    return out


def _unique(pairs: list[_Pair]) -> None:
    """Pair names: the oldest group (lowest NetBox id) keeps the plain name, each later one takes
    `-<its NetBox id>`, so adding a group never renames one already written."""
    taken: set[str] = set()
    for pair in sorted(pairs, key=lambda p: p.group_pk):
        name = pair.base_name
        if name in taken:
            name = f"{pair.base_name}-{pair.group_pk}"
        n = 2
        while name in taken:
            name, n = f"{pair.base_name}-{pair.group_pk}-{n}", n + 1
        taken.add(name)
        pair.name = name


def _params(kind: str, group_id: int, version: int) -> dict[str, Any]:
    # `if_index` cannot come from NetBox (it knows names, not ifIndex): each member carries
    # `interface: NAME`, which netmon resolves over IF-MIB (ifName, then ifDescr) at the poll.
    if kind == "hsrp":
        return {"group": group_id}
    if kind == "vrrpv3" and version == 6:
        return {"vrid": group_id, "inet_version": 6}
    # keepalived: the VRID is what NetBox knows; netmon resolves it to the instance over
    # KEEPALIVED-MIB (vrrpInstanceVirtualRouterId, narrowed by the member's interface).
    return {"vrid": group_id}


def _map_group(
    group: Mapping[str, Any],
    assignments: Sequence[Mapping[str, Any]],
    interfaces: Mapping[tuple[str, int], Mapping[str, Any]],
    devices: Mapping[HostKey, Mapping[str, Any]],
    names: Mapping[HostKey, str],
) -> _Pair | Refused:
    what = describe_group(group)
    protocol = _text(_choice(group.get("protocol")))
    kind = KIND_BY_PROTOCOL.get(protocol)
    if kind is None:
        shown = PROTOCOL_NAMES.get(protocol, protocol or "none")
        return Refused(what, f"protocol {shown} has no netmon kind (VRRPv2, VRRPv3, HSRP have)")
    group_id = group.get("group_id")
    if not isinstance(group_id, int) or isinstance(group_id, bool):
        return Refused(what, "the group has no numeric group_id")
    if not assignments:
        return Refused(what, "assigned to no interface")
    other = [a for a in assignments if a.get("interface_type") not in HOST_OF]
    if other:
        kinds = ", ".join(sorted({repr(_text(a.get("interface_type"))) for a in other}))
        return Refused(what, f"assigned on an interface of a kind netmon does not know ({kinds})")
    if len(assignments) == 1:
        return Refused(what, "one assignment: a pair needs the group on two devices")
    members: list[_Member] = []
    outside: list[str] = []
    problems: list[str] = []
    by_device: dict[HostKey, list[str]] = {}
    for a in assignments:
        iface_type = _text(a.get("interface_type"))
        table, field_name = HOST_OF[iface_type]
        what_host = "virtual machine" if table == "vm" else "device"
        iface_id = a.get("interface_id")
        iface = (
            interfaces.get((iface_type, iface_id)) if isinstance(iface_id, int) else None
        ) or _obj(a.get("interface"))
        nested = _obj(iface.get(field_name))
        pk = nested.get("id")
        if not isinstance(pk, int):
            problems.append(f"interface id {iface_id} was not found with its {what_host}")
            continue
        device_id: HostKey = (table, pk)
        iface_name = one_line(_text(iface.get("name")))
        shown = one_line(_text(nested.get("name"))) or f"{what_host} id {pk}"
        by_device.setdefault(device_id, []).append(iface_name or "?")
        device = devices.get(device_id)
        if device is None:
            outside.append(shown)
            continue
        name = names.get(device_id)
        if name is None:
            problems.append(f"{what_host} id {pk} has no name in NetBox")
            continue
        if management_address(device) is None:
            problems.append(f"{what_host} {shown} has no primary IP (primary_ip4) to poll")
        if not iface_name:
            problems.append(f"the interface on {shown} has no name")
        priority = a.get("priority")
        members.append(
            _Member(name, device_id, iface_name, priority if isinstance(priority, int) else 0)
        )
    twice = {d: i for d, i in by_device.items() if len(i) > 1}
    if twice:
        device_id, ifaces = next(iter(twice.items()))
        shown = names.get(device_id) or f"id {device_id[1]}"
        return Refused(
            what,
            f"two assignments on the same device {shown} ({', '.join(ifaces)}): "
            "the two members of a pair are two devices",
        )
    if len(by_device) > 2:
        return Refused(what, f"assigned on {len(by_device)} devices: a netmon pair has two")
    if outside:
        problems.append(f"assigned on {', '.join(outside)}, outside the filters")
    vip, version = virtual_ip(group)
    if vip is None:
        problems.append("no virtual IP (the group has no IP address)")
    if problems:
        return Refused(what, "; ".join(problems))
    assert vip is not None
    if kind == "vrrp" and all(is_linux(devices[m.device_id]) for m in members):
        kind = "keepalived"
    members.sort(key=lambda m: (-m.priority, m.device))
    high, low = members
    preferred = high.device if high.priority > low.priority else None
    comment = [
        f"NetBox {what}: "
        + ", ".join(f"{m.device} {m.interface} priority {m.priority}" for m in members)
    ]
    if preferred is None:
        comment.append(
            f"no `preferred`: NetBox gives both members priority {high.priority}, so neither is "
            "the one that should be active"
        )
    if kind == "keepalived":
        comment.append("keepalived: VRRPv2 on platforms that say Linux")
    own = _text(group.get("name"))
    pair_devices = sorted(m.device for m in members)
    base_name = (
        slug(own) if own.strip() else slug(f"{protocol}-{group_id}-" + "-".join(pair_devices))
    )
    return _Pair(
        base_name,
        int(group.get("id") or 0),
        kind,
        members,
        preferred,
        vip,
        _params(kind, group_id, version),
        comment,
    )


def map_groups(data: NetboxData) -> tuple[list[_Pair], list[Refused], dict[HostKey, str]]:
    """Every FHRP group NetBox gave: a pair, or refused with a reason. Groups in NetBox id order."""
    devices = data.hosts()
    names = device_names(devices)
    interfaces = {
        (kind, i["id"]): i
        for kind, rows in ((DEVICE_INTERFACE, data.interfaces), (VM_INTERFACE, data.vm_interfaces))
        for i in rows
        if isinstance(i.get("id"), int)
    }
    by_group: dict[Any, list[dict[str, Any]]] = {}
    groups: dict[Any, Mapping[str, Any]] = {g.get("id"): g for g in data.groups}
    for a in data.assignments:
        nested = _obj(a.get("group"))
        by_group.setdefault(nested.get("id"), []).append(a)
        groups.setdefault(nested.get("id"), nested)  # a group only seen nested: no VIP known
    pairs: list[_Pair] = []
    refused: list[Refused] = []
    for pk in sorted(
        groups, key=lambda k: (not isinstance(k, int), k if isinstance(k, int) else 0)
    ):
        result = _map_group(groups[pk], by_group.get(pk, []), interfaces, devices, names)
        if isinstance(result, Refused):
            refused.append(result)
        else:
            pairs.append(result)
    _unique(pairs)
    return pairs, refused, names


def _device_entry(device: Mapping[str, Any], rules: Sequence[MatchRule]) -> dict[str, Any]:
    entry: dict[str, Any] = {"address": management_address(device)}
    snmp: dict[str, Any] = {}
    ssh: dict[str, Any] = {}
    for rule in rules:
        if not rule.matches(device):
            continue
        if rule.group is not None and "group" not in entry:
            entry["group"] = rule.group  # the first matching rule that names a group
        snmp |= rule.snmp or {}
        ssh |= rule.ssh or {}
    if snmp:
        entry["snmp"] = snmp
    if ssh:
        entry["ssh"] = ssh
    return entry


# -- writing ----------------------------------------------------------------------------------


def _flow(data: Mapping[str, Any]) -> CommentedMap:
    node = CommentedMap(data)
    node.fa.set_flow_style()
    return node


def _dump(data: Any) -> str:
    yaml = YAML(typ="rt", pure=True)
    yaml.width = 100
    yaml.indent(mapping=2, sequence=4, offset=2)
    stream = io.StringIO()
    yaml.dump(data, stream)
    return stream.getvalue()


def _comment(text: str, indent: str = "") -> str:
    return f"{indent}# {one_line(text)}".rstrip()


def safe_url(url: str) -> str:
    """The URL as messages and the header show it: no user:password@, no query or fragment."""
    try:
        parts = urlsplit(url)
    except ValueError:  # "http://[::1": nothing of it is safe to show
        return "<a URL that does not parse>"
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host + (f":{port}" if port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def build(
    data: NetboxData,
    base: Base | None,
    *,
    url: str,
    filters: Filters,
    when: datetime,
) -> Built:
    """The inventory YAML for what NetBox said: pairs, the devices they use, and every refused
    group as a comment at the end."""
    base = base or Base()
    pairs, refused, names = map_groups(data)
    devices_by_name = {names[key]: host for key, host in data.hosts().items() if key in names}
    lines = [
        _comment(
            f"From NetBox {safe_url(url)} ({filters.describe()}) by `netmon inventory "
            f"from-netbox` at {when.strftime('%Y-%m-%dT%H:%M:%SZ')}"
            + (f"; base {base.file}" if base.file else "")
            + "."
        ),
        _comment("One pair per FHRP group on two devices; `preferred` is the member with the"),
        _comment(
            "higher NetBox priority. SNMP/SSH settings come from the base file, never NetBox."
        ),
        _comment("`interface:` is NetBox's interface name: netmon resolves it to an ifIndex"),
        _comment("over IF-MIB at the first poll (ifName, then ifDescr; docs/kinds.md)."),
    ]
    top: dict[str, Any] = {"version": 1}
    top |= {k: v for k, v in base.sections.items() if k not in ("devices", "pairs")}
    text = "\n".join(lines) + "\n" + _dump(top)
    used = sorted({m.device for p in pairs for m in p.members})
    devices = CommentedMap(
        (name, _flow(_device_entry(devices_by_name[name], base.rules))) for name in used
    )
    text += _dump({"devices": devices}) if devices else "devices: {}\n"
    if pairs:
        text += "pairs:\n"
    else:
        text += "pairs: []\n"
    for pair in sorted(pairs, key=lambda p: p.group_pk):
        body = CommentedMap()
        body["name"] = pair.name
        body["kind"] = pair.kind
        body["params"] = _flow(pair.params)
        body["members"] = CommentedSeq(
            _flow({"name": m.device, "params": {"interface": m.interface}}) for m in pair.members
        )
        if pair.preferred is not None:
            body["preferred"] = pair.preferred
        body["virtual_ip"] = pair.vip
        body["labels"] = _flow({"netbox_fhrp_group": str(pair.group_pk)})
        text += "\n" + "".join(_comment(c, "  ") + "\n" for c in pair.comment)
        text += _dump([body])
    if refused:
        text += (
            "\n" + _comment("Not watched (NetBox describes them, netmon cannot pair them):") + "\n"
        )
        text += "".join(_comment(f"- {r.group}: {r.reason}") + "\n" for r in refused)
    return Built(text, len(pairs), tuple(refused))


# -- fetching ---------------------------------------------------------------------------------

_CHUNK = 50  # ids per request: ?id=1&id=2... stays well under URL length limits
DEADLINE = 120.0  # seconds for one whole reading of NetBox (the default)
MAX_BYTES = 64 * 2**20  # one answer: a page of 1,000 devices is about 5 MB
MAX_REQUESTS = 5_000  # one reading: 100,000 devices at pynetbox's 50 a page is 2,000


def _chunks(ids: Iterable[int]) -> list[list[int]]:
    unique = sorted(set(ids))
    return [unique[i : i + _CHUNK] for i in range(0, len(unique), _CHUNK)]


def _plain(record: Any) -> dict[str, Any]:
    data = dict(record)
    data.pop("auth_key", None)  # an FHRP group's key, in plaintext: never kept
    return data


def fetch(
    url: str,
    token: Secret,
    filters: Filters,
    *,
    timeout: float = 10.0,
    deadline: float = DEADLINE,
    session: Any = None,
    ca_file: str | None = None,
) -> NetboxData:
    """Read the devices and virtual machines the filters select, the FHRP assignments on their
    interfaces, every assignment of those groups (a third member elsewhere must be seen, to be
    refused), the groups and the interfaces. Raises NetboxError with a message free of the
    token; `timeout` bounds each wait for a byte, `deadline` the whole reading."""
    check_url(url)
    shown = safe_url(url)
    nb = pynetbox.api(url.rstrip("/"), token=token.reveal())
    nb.http_session = (
        session if session is not None else _GuardedSession(url, timeout, deadline, ca_file)
    )
    try:
        params = filters.params()
        found = nb.dcim.devices.filter(**params) if params else nb.dcim.devices.all()
        devices = [_plain(d) for d in found]
        vm_api = nb.virtualization.virtual_machines
        vms = [_plain(v) for v in (vm_api.filter(**params) if params else vm_api.all())]
        mine: list[dict[str, Any]] = []
        for chunk in _chunks(d["id"] for d in devices):
            mine += [_plain(a) for a in nb.ipam.fhrp_group_assignments.filter(device_id=chunk)]
        for chunk in _chunks(v["id"] for v in vms):
            mine += [
                _plain(a) for a in nb.ipam.fhrp_group_assignments.filter(virtual_machine_id=chunk)
            ]
        group_pks = [_obj(a.get("group")).get("id") for a in mine]
        pks = [pk for pk in group_pks if isinstance(pk, int)]
        assignments: list[dict[str, Any]] = []
        groups: list[dict[str, Any]] = []
        for chunk in _chunks(pks):
            # `group_id` of this endpoint is the FHRP group's NetBox id, not its protocol group id
            assignments += [
                _plain(a) for a in nb.ipam.fhrp_group_assignments.filter(group_id=chunk)
            ]
            groups += [_plain(g) for g in nb.ipam.fhrp_groups.filter(id=chunk)]

        def interface_ids(kind: str) -> list[int]:
            return [
                a["interface_id"]
                for a in assignments
                if a.get("interface_type") == kind and isinstance(a.get("interface_id"), int)
            ]

        interfaces: list[dict[str, Any]] = []
        for chunk in _chunks(interface_ids(DEVICE_INTERFACE)):
            interfaces += [_plain(i) for i in nb.dcim.interfaces.filter(id=chunk)]
        vm_interfaces: list[dict[str, Any]] = []
        for chunk in _chunks(interface_ids(VM_INTERFACE)):
            vm_interfaces += [_plain(i) for i in nb.virtualization.interfaces.filter(id=chunk)]
    except _Refused as exc:
        raise NetboxError(f"NetBox at {shown}: {exc}") from None
    except pynetbox.RequestError as exc:
        status = getattr(exc.req, "status_code", "?")
        reason = _scrub(str(getattr(exc.req, "reason", "") or ""), token)
        hint = {
            401: ": the token is refused",
            403: ": the token is refused or may not read these objects",
            404: ": no NetBox API at this URL",
        }.get(status if isinstance(status, int) else 0, "")
        raise NetboxError(f"NetBox at {shown} answered HTTP {status} {reason}{hint}") from None
    except pynetbox.ContentError:
        raise NetboxError(f"NetBox at {shown} answered something that is not JSON") from None
    except requests.Timeout:
        raise NetboxError(f"NetBox at {shown} did not answer within {timeout:g} s") from None
    except requests.exceptions.SSLError:
        raise NetboxError(f"NetBox at {shown}: TLS failed (certificate or protocol)") from None
    except requests.ConnectionError:
        raise NetboxError(f"cannot connect to NetBox at {shown}") from None
    except (
        requests.RequestException, ValueError, KeyError, TypeError, AttributeError, RecursionError,
    ) as exc:  # fmt: skip
        # garbage where NetBox's JSON should be; the type only: the text may carry the URL
        raise NetboxError(
            f"NetBox at {shown} answered something unexpected ({type(exc).__name__})"
        ) from None
    return NetboxData(
        tuple(devices), tuple(interfaces), tuple(assignments), tuple(groups),
        tuple(vms), tuple(vm_interfaces),
    )  # fmt: skip


def _scrub(text: str, token: Secret) -> str:
    value = token.reveal()
    return one_line(text.replace(value, "<secret>") if value else text)


class _Refused(requests.RequestException):
    """The session refused to go on; the message says why (no URL query, no token)."""


class _GuardedSession(requests.Session):
    """What pynetbox's requests may do, bounded.

    - Only to the NetBox it was given: pynetbox adds the token to every request itself and
      follows each answer's `next` link as written, so a `next` naming another host, port or
      scheme would carry the token there (requests strips it on redirects only). Refused.
    - Within `timeout` per wait for a byte (requests waits forever by default) and `deadline`
      for the whole reading: an answer that drips a byte at a time, or pages without end, ends.
    - At most MAX_BYTES per answer and MAX_REQUESTS per reading.
    - No proxy or certificate settings from the environment (as the pager: the daemon's
      environment is not where NetBox's address is configured); no redirect followed.
    A byte that arrives now and then keeps a read alive: the caller bounds the whole reading
    in time (netmon.inventory.live), this session stops it at its next request."""

    def __init__(
        self, url: str, timeout: float, deadline: float, ca_file: str | None = None
    ) -> None:
        super().__init__()
        self.trust_env = False
        # The CA that signed NetBox's certificate, when not a public one: the environment's
        # REQUESTS_CA_BUNDLE is not read (trust_env), so it is said here or not at all.
        self.verify = ca_file if ca_file is not None else True
        self.origin = _origin(url)
        self.timeout = timeout
        self.ends = time.monotonic() + deadline
        self.deadline = deadline
        self.requests = 0

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        text = url.decode() if isinstance(url, bytes) else url
        if _origin(text) != self.origin:
            raise _Refused(
                f"a next page at {safe_url(text)!r} is not this NetBox: not followed "
                "(the token goes to this NetBox only)"
            )
        self.requests += 1
        if self.requests > MAX_REQUESTS:
            raise _Refused(f"more than {MAX_REQUESTS} requests for one reading: stopped")
        left = self.ends - time.monotonic()
        if left <= 0:
            raise _Refused(f"the reading took longer than {self.deadline:g} s: stopped")
        kwargs["timeout"] = min(self.timeout, left)
        kwargs["stream"] = True
        kwargs["allow_redirects"] = False
        verb = method.decode() if isinstance(method, bytes) else method
        response = super().request(verb, text, *args, **kwargs)
        if response.is_redirect:
            response.close()
            where = safe_url(response.headers.get("Location") or "")
            raise _Refused(
                f"answered HTTP {response.status_code}, a redirect to {where!r}: not followed "
                "(the token goes to the configured URL only; configure the final URL)"
            )
        body = bytearray()
        try:
            for chunk in response.iter_content(65536):
                body += chunk
                if len(body) > MAX_BYTES:
                    raise _Refused(f"an answer larger than {MAX_BYTES // 2**20} MiB: stopped")
                if time.monotonic() > self.ends:
                    raise _Refused(f"the reading took longer than {self.deadline:g} s: stopped")
        finally:
            response.close()
        response._content = bytes(body)  # where requests keeps a body it has read
        return response


def _origin(url: str) -> tuple[str, str, int | None]:
    try:
        parts = urlsplit(url)
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        return ("", "", None)
    return (parts.scheme, (parts.hostname or "").lower(), port)


def check_url(url: str) -> None:
    """A NetBox URL netmon can use: http(s), a host, a port in range. NetboxError if not."""
    try:
        parts = urlsplit(url)
    except ValueError:
        raise NetboxError(f"the url does not parse ({safe_url(url)})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise NetboxError(f"the url must be http:// or https://HOST/..., got {safe_url(url)!r}")
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        raise NetboxError(f"the url's port must be 1..65535 ({safe_url(url)})")
