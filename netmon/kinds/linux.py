"""Linux server pairs over SSH: who holds the virtual IP, and is the failover service alive.

`keepalived-ssh`: role from VIP ownership (`ip -o addr show`) plus a service check (keepalived
running). `linux-vip`: VIP ownership plus an optional health command of the operator's choice.
A command's exit status travels as a marker line, so a failing check is data, not an error.
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
    r"^\d+:\s+(?P<iface>\S+?)(?:@\S+)?\s+inet6?\s+(?P<addr>[0-9a-fA-F.:]+)(?:/\d+)?\s"
)


def addr_command(interface: str | None) -> str:
    return "ip -o addr show" + (f" dev {shlex.quote(interface)}" if interface else "")


def check_command(check: str) -> str:
    """Wrap a check so its outcome is a marker line whatever it prints or returns."""
    return f"( {check} ) >/dev/null 2>&1 && echo {MARK_OK} || echo {MARK_FAIL}"


def owned_addresses(output: Value | None, interface: str | None) -> set[str] | None:
    """Addresses in `ip -o addr` output, or None when the output is not that (garbage)."""
    if not isinstance(output, str):
        return None
    found: set[str] = set()
    seen_any = False
    for line in output.splitlines():
        match = ADDR_LINE.match(line.strip())
        if match is None:
            continue
        seen_any = True
        if interface is None or match["iface"] == interface:
            found.add(match["addr"])
    return found if seen_any else None


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
    owned: set[str] | None,
    service_ok: bool | None,
    service: str,
    raw_missing: Value | None,
) -> MemberView:
    if owned is None:
        shown = raw_missing.value if isinstance(raw_missing, Missing) else "unrecognised output"
        return MemberView(Role.UNKNOWN, reason=f"ip -o addr: {shown}")
    has_vip = _canonical(vip) in {_canonical(a) for a in owned}
    if service_ok is None:
        return MemberView(Role.UNKNOWN, reason=f"{service}: no result")
    raw = f"{'holds' if has_vip else 'does not hold'} {vip}; {service} {'ok' if service_ok else 'failed'}"
    if has_vip and service_ok:
        return MemberView(Role.ACTIVE, raw=raw)
    if has_vip:
        return MemberView(
            Role.ACTIVE, reason=f"holds the VIP but {service} failed", raw=raw, ready=False
        )
    if service_ok:
        return MemberView(Role.STANDBY, raw=raw)
    return MemberView(Role.FAULT, reason=f"{service} failed", raw=raw)


@dataclass(frozen=True)
class KeepalivedSshParams:
    __pydantic_config__: ClassVar[dict[str, Any]] = {"extra": "forbid"}
    vip: str  # defaults to the pair's virtual_ip
    interface: str | None = None
    # How to tell keepalived runs; a systemd host might use "systemctl is-active keepalived".
    service_check: str = "pidof keepalived"


class KeepalivedSshKind:
    name = "keepalived-ssh"
    mib = "SSH: `ip -o addr show` (VIP ownership) + a keepalived service check"
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
        owned = owned_addresses(addr, params.interface)
        return vip_view(
            params.vip, owned, check_result(values.get("service")), "keepalived check", addr
        )


@dataclass(frozen=True)
class LinuxVipParams:
    __pydantic_config__: ClassVar[dict[str, Any]] = {"extra": "forbid"}
    vip: str
    interface: str | None = None
    health_command: str = "true"  # e.g. "curl -fsS http://127.0.0.1/health"


class LinuxVipKind:
    name = "linux-vip"
    mib = "SSH: `ip -o addr show` (VIP ownership) + a health command"
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
        owned = owned_addresses(addr, params.interface)
        return vip_view(
            params.vip, owned, check_result(values.get("health")), "health command", addr
        )
