"""Linux server pairs over SSH: who holds the virtual IP, and is the failover service alive.

`keepalived-ssh`: role from VIP ownership plus a service check (keepalived running).
`linux-vip`: VIP ownership plus an optional health command of the operator's choice.
A command's exit status travels as a marker line, so a failing check is data, not an error.

VIP ownership is read with one command (one SSH round trip), `ip -o link show [dev X]; ip -o addr
show [dev X]`: the link lines first, then the address lines, as iproute2 prints them. A member
holds the VIP only when the address is listed on an interface whose link line is usable:

- `UP` (IFF_UP: administratively up) and `LOWER_UP` (IFF_LOWER_UP: the kernel sets it while the
  device runs and has carrier) among the flags;
- `state UP` or `state UNKNOWN`: the operstate (RFC 2863). UNKNOWN is what drivers that do not
  track operstate report (loopback, dummy, some tunnels); the kernel's own netif_oper_up() counts
  IF_OPER_UNKNOWN as up, so does netmon. DOWN, LOWERLAYERDOWN, DORMANT, ... do not;
- not `protodown on`. FRR's vrrpd keeps the virtual address on a macvlan on both routers and sets
  the backup's macvlan protodown (the kernel then drops its carrier) instead of removing the
  address: read from `ip -o addr` alone, both routers held the VIP (a false split brain).

An address listed on an interface without a link line in the output is `unknown` (never guessed
held); an address only on down interfaces is "does not hold" with the reason in `raw`
("10.99.9.61 on vrrp4-2-61, protodown"). Output without link and address lines is `unknown`.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from netmon.kinds.base import ParamProblem
from netmon.model import MemberView, Missing, Probe, Role, Value, ssh_probe

MARK_OK = "NETMON-CHECK-OK"
MARK_FAIL = "NETMON-CHECK-FAILED"
ADDR_LINE = re.compile(
    r"^(?P<index>\d+):\s+(?P<iface>\S+?)(?:@\S+)?\s+inet6?\s+(?P<addr>[0-9a-fA-F.:]+)(?:/\d+)?\s"
)
# `ip -o link`: "3: vrrp4-2-61@eth0: <NO-CARRIER,BROADCAST,MULTICAST,UP> mtu 1500 ... state DOWN
# ... protodown on protodown_reason <7>". A line without `state` is not taken as a link line.
LINK_LINE = re.compile(
    r"^(?P<index>\d+):\s+(?P<iface>[^\s@:]+)(?:@[^\s:]+)?:\s+<(?P<flags>[A-Z0-9_,-]*)>"
    r"(?P<rest>.*?\sstate\s+(?P<state>[A-Z_]+)\b.*)$"
)
PROTODOWN = re.compile(r"\sprotodown\s+on\b")
UP_STATES = frozenset({"UP", "UNKNOWN"})
MAX_NOTE = 120  # the "where the VIP was seen" note in raw/reason


def addr_command(interface: str | None) -> str:
    """Link lines, then address lines (of the named interface only): one command."""
    dev = f" dev {shlex.quote(interface)}" if interface else ""
    return f"ip -o link show{dev}; ip -o addr show{dev}"


def check_command(check: str) -> str:
    """Wrap a check so its outcome is a marker line whatever it prints or returns."""
    return f"( {check} ) >/dev/null 2>&1 && echo {MARK_OK} || echo {MARK_FAIL}"


@dataclass(frozen=True)
class LinkState:
    name: str
    flags: frozenset[str]
    state: str
    protodown: bool

    def down_because(self) -> str | None:
        """Why the interface cannot carry the VIP (None: it can)."""
        if self.protodown:
            return "protodown"
        if "UP" not in self.flags:
            return "administratively down"
        if "LOWER_UP" not in self.flags:
            return f"no carrier (state {self.state})"
        if self.state not in UP_STATES:
            return f"state {self.state}"
        return None


@dataclass(frozen=True)
class Addresses:
    """What one `ip -o link; ip -o addr` output says: addresses by interface, links by index."""

    # (address as listed, interface index, interface name)
    addresses: tuple[tuple[str, int, str], ...]
    links: Mapping[int, LinkState | None]  # None: conflicting link lines for the index


def parse_link(line: str) -> tuple[int, LinkState] | None:
    match = LINK_LINE.match(line)
    if match is None:
        return None
    flags = frozenset(f for f in match["flags"].split(",") if f)
    state = LinkState(match["iface"], flags, match["state"], bool(PROTODOWN.search(match["rest"])))
    return int(match["index"]), state


def parse_addresses(output: Value | None, interface: str | None) -> Addresses | None:
    """The output's addresses and links, or None when it is not that (garbage: it needs at
    least one link line and one address line)."""
    if not isinstance(output, str):
        return None
    addresses: list[tuple[str, int, str]] = []
    links: dict[int, LinkState | None] = {}
    seen_addr = False
    for raw in output.splitlines():
        line = raw.strip()
        link = parse_link(line)
        if link is not None:
            index, state = link
            if index in links and links[index] != state:
                links[index] = None  # two different lines for one interface: not guessed
            else:
                links[index] = state
            continue
        match = ADDR_LINE.match(line)
        if match is None:
            continue
        seen_addr = True
        if interface is None or match["iface"] == interface:
            addresses.append((match["addr"], int(match["index"]), match["iface"]))
    if not seen_addr or not links:
        return None
    return Addresses(tuple(addresses), links)


@dataclass(frozen=True)
class Holding:
    """Whether the VIP is held: True, False, or None (not known), with where it was seen."""

    held: bool | None
    note: str | None = None  # "10.99.9.61 on vrrp4-2-61, protodown"


def vip_holding(vip: str, parsed: Addresses) -> Holding:
    wanted = _canonical(vip)
    down: list[str] = []
    blind: list[str] = []
    for address, index, name in parsed.addresses:
        if _canonical(address) != wanted:
            continue
        link = parsed.links.get(index)
        if link is None or link.name != name:
            conflicting = index in parsed.links and link is None
            what = "conflicting link lines" if conflicting else "no link line"
            blind.append(f"{vip} on {name}: {what} in `ip -o link`")
            continue
        why = link.down_because()
        if why is None:
            return Holding(True)
        down.append(f"{vip} on {name}, {why}")
    if blind:
        return Holding(None, _bounded("; ".join(blind)))
    if down:
        return Holding(False, _bounded("; ".join(down)))
    return Holding(False)


def _bounded(text: str) -> str:
    return text if len(text) <= MAX_NOTE else text[: MAX_NOTE - 3] + "..."


def check_result(output: Value | None) -> bool | None:
    if not isinstance(output, str):
        return None
    if MARK_OK in output:
        return True
    if MARK_FAIL in output:
        return False
    return None


def _canonical(address: str) -> str:
    """An address as `ip` prints it (IPv6 compressed, in lower case), so that an inventory's
    2001:DB8::10 or 2001:db8:0::10 is the 2001:db8::10 a server lists; other text as written."""
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return address


def _vip_problems(vip: str) -> list[ParamProblem]:
    try:
        ipaddress.ip_address(vip)
    except ValueError:
        return [("vip", f"not an IP address: {vip!r}")]
    return []


def vip_view(
    vip: str,
    parsed: Addresses | None,
    service_ok: bool | None,
    service: str,
    raw_missing: Value | None,
) -> MemberView:
    if parsed is None:
        shown = raw_missing.value if isinstance(raw_missing, Missing) else "unrecognised output"
        return MemberView(Role.UNKNOWN, reason=f"ip -o addr: {shown}")
    holding = vip_holding(vip, parsed)
    if holding.held is None:
        return MemberView(Role.UNKNOWN, reason=holding.note)
    if service_ok is None:
        return MemberView(Role.UNKNOWN, reason=f"{service}: no result")
    has_vip = holding.held
    where = f" ({holding.note})" if holding.note else ""
    raw = (
        f"{'holds' if has_vip else 'does not hold'} {vip}{where}; "
        f"{service} {'ok' if service_ok else 'failed'}"
    )
    if has_vip and service_ok:
        return MemberView(Role.ACTIVE, raw=raw)
    if has_vip:
        return MemberView(
            Role.ACTIVE, reason=f"holds the VIP but {service} failed", raw=raw, ready=False
        )
    if service_ok:
        return MemberView(Role.STANDBY, raw=raw)
    return MemberView(Role.FAULT, reason=f"{service} failed", raw=raw)


ADDR_MIB = "SSH: `ip -o link show; ip -o addr show` (VIP on an interface that is up)"


@dataclass(frozen=True)
class KeepalivedSshParams:
    __pydantic_config__: ClassVar[dict[str, Any]] = {"extra": "forbid"}
    vip: str  # defaults to the pair's virtual_ip
    interface: str | None = None
    # How to tell keepalived runs; a systemd host might use "systemctl is-active keepalived".
    service_check: str = "pidof keepalived"


class KeepalivedSshKind:
    name = "keepalived-ssh"
    mib = f"{ADDR_MIB} + a keepalived service check"
    transport = "ssh"
    params_type = KeepalivedSshParams

    def check(self, params: KeepalivedSshParams) -> list[ParamProblem]:
        return _vip_problems(params.vip)

    def probes(self, params: KeepalivedSshParams) -> tuple[Probe, ...]:
        return (
            ssh_probe("addr", addr_command(params.interface)),
            ssh_probe("service", check_command(params.service_check)),
        )

    def interpret(self, params: KeepalivedSshParams, values: Mapping[str, Value]) -> MemberView:
        addr = values.get("addr")
        parsed = parse_addresses(addr, params.interface)
        return vip_view(
            params.vip, parsed, check_result(values.get("service")), "keepalived check", addr
        )


@dataclass(frozen=True)
class LinuxVipParams:
    __pydantic_config__: ClassVar[dict[str, Any]] = {"extra": "forbid"}
    vip: str
    interface: str | None = None
    health_command: str = "true"  # e.g. "curl -fsS http://127.0.0.1/health"


class LinuxVipKind:
    name = "linux-vip"
    mib = f"{ADDR_MIB} + a health command"
    transport = "ssh"
    params_type = LinuxVipParams

    def check(self, params: LinuxVipParams) -> list[ParamProblem]:
        return _vip_problems(params.vip)

    def probes(self, params: LinuxVipParams) -> tuple[Probe, ...]:
        return (
            ssh_probe("addr", addr_command(params.interface)),
            ssh_probe("health", check_command(params.health_command)),
        )

    def interpret(self, params: LinuxVipParams, values: Mapping[str, Value]) -> MemberView:
        addr = values.get("addr")
        parsed = parse_addresses(addr, params.interface)
        return vip_view(
            params.vip, parsed, check_result(values.get("health")), "health command", addr
        )
