"""Configuration drift between the members of a pair. Pure: text in, verdict and diff out.

A takeover only works if the standby is configured like the active. Each member's config is
normalised (comments, timestamps, and lines that legitimately differ per member: hostname,
addresses, priorities, router ids) and the results compared. The diff shown to people has every
secret masked; the comparison itself sees the real values, because a differing VRRP password is
exactly the kind of drift that breaks a failover.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

# Lines that differ by design between members, per family of configuration.
RULE_SETS: dict[str, tuple[str, ...]] = {
    "generic": (),
    "keepalived": (
        r"^\s*(priority|router_id|unicast_src_ip|mcast_src_ip|state)\b",
        r"^\s*\d{1,3}(\.\d{1,3}){3}\s*$",  # a bare address: a unicast_peer entry (VIPs carry /len)
    ),
    "cisco-ios": (
        r"^hostname\s",
        r"^\s*ip address\s",
        r"^\s*ipv6 address\s",
        r"^\s*(standby|vrrp)\s+\d+\s+priority\s",
        r"^\s*(bgp\s+)?router-id\s",
        r"^ntp clock-period\s",
    ),
    "junos": (
        r"^\s*host-name\s",
        r"^\s*address\s",
        r"^\s*priority\s",
        r"^\s*router-id\s",
    ),
}
DEFAULT_CONFIG_COMMANDS: dict[str, str] = {
    "keepalived": "cat /etc/keepalived/keepalived.conf",
    "cisco-ios": "show running-config",
    "junos": "show configuration | display set",
}
# Timestamps and banners that change without a configuration change.
VOLATILE = (
    r"^!\s*(Last configuration change|NVRAM config last updated)",
    r"^Building configuration",
    r"^Current configuration\s*:",
    r"^## Last (commit|changed):",
    r"^!\s*Time:",
    r"^\s*$",
)
COMMENT = re.compile(r"^\s*[#!]")
# Values that are secrets, in the common CLI spellings; the keyword stays, the value goes.
# An optional single-digit type (Cisco "secret 5", "password 7") stays visible too.
SECRET = re.compile(
    r"(?i)\b((?:password|passwd|auth_pass|secret|key|community|authentication-key|"
    r"pre-shared-key|auth-password|priv-password)(?:\s+\d(?=\s))?)(\s+)(\S+)"
)


@dataclass(frozen=True)
class DriftResult:
    in_sync: bool
    diff: tuple[str, ...]  # unified diff, secrets masked
    members: tuple[str, str]  # the two members compared (the first against each other one)


def rule_set_for(kind: str) -> str:
    if kind in ("keepalived", "keepalived-ssh", "linux-vip"):
        return "keepalived"
    if kind.startswith("cisco"):
        return "cisco-ios"
    if kind.startswith("junos"):
        return "junos"
    return "generic"


def normalise(
    text: str, rules: Sequence[str], ignore: Sequence[str], own_names: Iterable[str]
) -> list[str]:
    """The lines that must match between members."""
    patterns = [re.compile(p) for p in (*VOLATILE, *rules, *ignore)]
    names = sorted({n for n in own_names if n}, key=len, reverse=True)
    own = (
        re.compile(r"(?<![\w.])(" + "|".join(re.escape(n) for n in names) + r")(?![\w])")
        if names
        else None
    )
    out: list[str] = []
    for raw in text.splitlines():
        line = raw.rstrip()
        if COMMENT.match(line) or any(p.search(line) for p in patterns):
            continue
        if own is not None:
            line = own.sub("<member>", line)
        out.append(line)
    return out


def mask(line: str) -> str:
    return SECRET.sub(lambda m: f"{m.group(1)}{m.group(2)}<masked>", line)


def compare(
    configs: Mapping[str, str],
    rules: Sequence[str],
    ignore: Sequence[str],
    own_names: Mapping[str, Iterable[str]],
) -> DriftResult:
    """Compare every member's normalised config with the first member's."""
    names = list(configs)
    if len(names) < 2:
        raise ValueError("drift needs the configs of two or more members")
    first = names[0]
    base = normalise(configs[first], rules, ignore, own_names.get(first, ()))
    diff: list[str] = []
    other = names[1]
    for other in names[1:]:
        lines = normalise(configs[other], rules, ignore, own_names.get(other, ()))
        if lines != base:
            diff.extend(
                mask(d.rstrip("\n"))
                for d in difflib.unified_diff(
                    base, lines, fromfile=first, tofile=other, lineterm=""
                )
            )
    return DriftResult(not diff, tuple(diff), (first, other))


def validate_patterns(patterns: Sequence[str]) -> list[tuple[int, str]]:
    """(index, error) for every pattern that is not a valid regular expression."""
    problems = []
    for i, pattern in enumerate(patterns):
        try:
            re.compile(pattern)
        except re.error as exc:
            problems.append((i, f"not a valid regular expression: {exc}"))
    return problems
