"""Pairing what devices reported, and writing it as inventory YAML. Pure.

With two addresses, the halves of a group on both routers become a pair; single-device kinds
become pairs on their device. The YAML is written line by line, so that what the devices said
stands as a comment next to each pair; every string a device sent is quoted or made a comment
line, so no answer can change the document's structure; a quoted string is written so that
loading it gives back exactly what the device said (`yaml_string`).

Names are made unique where the document needs them to be: device keys (two devices may share a
sysName, and address slugs may collide), pair names, and member names within a pair (two units
may both describe themselves "Routing Engine 0"): the later ones get -2, -3, ...
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from netmon.discover.facts import Cluster, Group, Report, slug
from netmon.kinds.evidence import one_line

GROUP_KINDS = ("vrrp", "vrrpv3", "keepalived", "hsrp")  # two routers, one group each


@dataclass(frozen=True)
class Discovery:
    text: str  # the inventory YAML
    pairs: int
    notes: tuple[str, ...]  # what could not be paired, for stderr too


IPV4 = re.compile(r"[0-9]+(\.[0-9]+){3}")
# A device's name is at most a hostname label's 63 characters: it is a YAML key, and YAML takes
# no implicit key longer than 1024 characters.
NAME_MAX = 63


def device_names(reports: Sequence[Report]) -> list[str]:
    """The devices' names: their sysName (host part) where distinct, else their addresses; each
    unique (the document's device keys)."""
    names = []
    for r in reports:
        host = (r.sys_name or "").split()[0] if r.sys_name else ""
        short = host if IPV4.fullmatch(host) else host.split(".")[0]
        names.append(_short(short) if short else "")
    if not (all(names) and len(set(names)) == len(names)):
        names = [_short(r.where.replace(":", "-")) for r in reports]
    taken: set[str] = set()
    return [_unique(name, taken) for name in names]


def _short(text: str) -> str:
    return slug(slug(text)[:NAME_MAX])


@dataclass
class _Pair:
    name: str
    kind: str
    comment: list[str]
    members: list[str | dict[str, Any]]
    params: dict[str, Any] = field(default_factory=dict)
    mode: str = "active_standby"
    preferred: str | None = None
    links: list[dict[str, Any]] = field(default_factory=list)
    vrid: int | None = None  # VRRP and keepalived: the same router read through several MIBs


def _unique(name: str, taken: set[str]) -> str:
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name}-{n}", n + 1
    taken.add(candidate)
    return candidate


def _describe(device: str, g: Group) -> str:
    extra = [f"priority {g.priority}"] if g.priority is not None else []
    extra += [g.hears] if g.hears else []
    return f"{device} {g.state}" + (f" ({', '.join(extra)})" if extra else "")


def _match(
    a: Sequence[Group], b: Sequence[Group]
) -> tuple[list[tuple[Group, Group]], list[Group], list[Group]]:
    """Groups of one kind on both routers: equal keys first, then a loose key unique on both
    (the same VRID on another ifIndex). Returns the matches and what is left on each side."""
    left, right = list(a), list(b)
    matched = []
    for g in list(left):
        twin = next((h for h in right if h.key == g.key), None)
        if twin is not None:
            matched.append((g, twin))
            left.remove(g)
            right.remove(twin)
    for g in list(left):
        if g.loose is None:
            continue
        mine = [x for x in left if x.loose == g.loose]
        theirs = [h for h in right if h.loose == g.loose]
        if len(mine) == 1 and len(theirs) == 1:
            matched.append((g, theirs[0]))
            left.remove(g)
            right.remove(theirs[0])
    return matched, left, right


def _group_pair(names: Sequence[str], g: Group, h: Group, taken: set[str]) -> _Pair:
    a, b = names
    comment = [f"{g.what}: {_describe(a, g)}; {_describe(b, h)}"]
    if h.what != g.what:
        comment.append(f"on {b}: {h.what}")
    if g.vip or h.vip:
        vip = g.vip or h.vip
        comment.append(f"virtual IP {vip} (add `virtual_ip: {vip}` to probe it from netmon)")
    # Params that differ on the second router are its own (the loader merges them over the pair's).
    own = {k: v for k, v in h.params.items() if g.params.get(k) != v}
    second: str | dict[str, Any] = {"name": b, "params": own} if own else b
    pair = _Pair(
        _unique(f"{g.kind}-{slug(g.slug)}", taken), g.kind, comment, [a, second], dict(g.params)
    )
    pair.vrid = g.vrid
    if g.priority is not None and h.priority is not None and g.priority != h.priority:
        pair.preferred = a if g.priority > h.priority else b
    if g.link is not None and h.link is not None:
        if g.link[0] == h.link[0]:
            pair.links = [_link(g.link)]
        else:  # a link per member: its own ifIndex
            pair.members = [
                {"name": a, "links": [_link(g.link)]},
                {"name": b, **({"params": own} if own else {}), "links": [_link(h.link)]},
            ]
    return pair


def _link(link: tuple[int, str | None]) -> dict[str, Any]:
    return {"if_index": link[0], **({"name": link[1]} if link[1] else {})}


def _cluster_pair(device: str, c: Cluster, taken: set[str]) -> _Pair:
    # Unique within the pair: two units may give one name ("FPC0 Routing Engine 0" and "FPC1
    # Routing Engine 0" are both re0; hostnames "fw a" and "fw/a" both fw-a).
    mine: set[str] = set()
    names = [_unique(f"{device}-{u.member}", mine) for u in c.units]
    members: list[str | dict[str, Any]] = [
        {"name": name, "device": device, "params": u.params}
        for name, u in zip(names, c.units, strict=True)
    ]
    states = "; ".join(u.state for u in c.units)
    comment = [f"{c.what} on {device}: {states}" + (f"; {c.identity}" if c.identity else "")]
    pair = _Pair(_unique(f"{device}-{c.slug}", taken), c.kind, comment, members, mode=c.mode)
    pair.preferred = next(
        (name for name, u in zip(names, c.units, strict=True) if u.preferred), None
    )
    return pair


def _pairs(reports: Sequence[Report], names: Sequence[str]) -> tuple[list[_Pair], list[str]]:
    taken: set[str] = set()
    pairs: list[_Pair] = []
    notes: list[str] = []
    for report, name in zip(reports, names, strict=True):
        notes += [f"{name} ({report.where}): {n}" for n in report.notes]
        notes += [f"{name} ({report.where}): {t}" for t in report.problems]
    if len(reports) == 2:
        leftovers: list[list[Group]] = [[], []]
        for kind in GROUP_KINDS:
            mine = [g for g in reports[0].groups if g.kind == kind]
            theirs = [g for g in reports[1].groups if g.kind == kind]
            matched, left, right = _match(mine, theirs)
            pairs += [_group_pair(names, g, h, taken) for g, h in matched]
            leftovers[0] += left
            leftovers[1] += right
        for i, rest in enumerate(leftovers):
            if rest:
                notes.append(
                    f"{names[i]} ({reports[i].where}) reports {len(rest)} group(s) that "
                    f"{names[1 - i]} does not, not paired: "
                    + "; ".join(f"{g.what} ({g.state})" for g in rest)
                )
        if all(leftovers) and not any(p.kind in GROUP_KINDS for p in pairs):
            notes.append(
                f"{names[0]} and {names[1]} share no VRRP/HSRP group: are they the two routers "
                "of one pair?"
            )
    else:
        groups = reports[0].groups
        if groups:
            hints = sorted({g.hears for g in groups if g.hears})
            notes.append(
                f"{names[0]} ({reports[0].where}) reports {len(groups)} group(s) that need the "
                f"other router too ({'; '.join(g.what for g in groups)})"
                + (f"; it {', '.join(hints)}" if hints else "")
                + f": run netmon discover {reports[0].where} OTHER-ROUTER"
            )
    _note_overlaps(pairs)
    palo = [c for r in reports for c in r.clusters if c.kind == "paloalto-ha"]
    cross = len(reports) == 2 and len(palo) == 2
    if cross:  # two firewalls, each speaking for itself
        a, b = names
        comment = [
            f"PAN-COMMON-MIB on {a}: {palo[0].units[0].state}; on {b}: {palo[1].units[0].state}"
        ]
        members: list[str | dict[str, Any]] = [
            {"name": a, "params": {"unit": "local"}},
            {"name": b, "params": {"unit": "local"}},
        ]
        pairs.append(
            _Pair(_unique(f"{a}-{b}-ha", taken), "paloalto-ha", comment, members, mode=palo[0].mode)
        )
    for report, name in zip(reports, names, strict=True):
        for c in report.clusters:
            if not (cross and c.kind == "paloalto-ha"):
                pairs.append(_cluster_pair(name, c, taken))
    if len(reports) == 2:
        kinds = [{c.kind for c in r.clusters if c.kind != "paloalto-ha"} for r in reports]
        # Either unit's agent reports the whole cluster: two pairs watch it from both sides.
        notes += [
            f"{names[0]} and {names[1]} both report {kind}: likely the same cluster seen from "
            "each agent (one pair each); keep one or both"
            for kind in sorted(kinds[0] & kinds[1])
        ]
    return pairs, notes


def _note_overlaps(pairs: Sequence[_Pair]) -> None:
    """Say so where keepalived reports one instance through several MIBs (the same VRRP router
    read two or three ways): a comment, never a removed pair; the operator keeps what they want."""
    for p in pairs:
        if p.kind != "keepalived" or p.vrid is None:
            continue
        same = [q.name for q in pairs if q.kind != "keepalived" and q.vrid == p.vrid]
        if same:
            p.comment.append(
                f"the same VRRP instance as {', '.join(same)}, read through KEEPALIVED-MIB: "
                "keep the pairs you want"
            )


# -- YAML --------------------------------------------------------------------------------------

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*|[0-9]+(\.[0-9]+){3}")
_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}
# Escaped by name in a double-quoted scalar (YAML 1.2): the quote and the backslash, and the
# control characters devices send most (a trailing NUL, tabs, line ends) in their short form.
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\x00": "\\0"}


def yaml_string(text: str) -> str:
    """`text` as a YAML double-quoted scalar that loads back as exactly `text`: printable
    characters of the Basic Multilingual Plane as they are; every other character escaped
    (control and format characters, line and paragraph separators, lone surrogates as \\xXX or
    \\uXXXX; characters beyond the BMP as \\UXXXXXXXX, never as a JSON surrogate pair, which YAML
    reads back as two stray surrogates)."""
    out = []
    for c in text:
        code = ord(c)
        if c in _ESCAPES:
            out.append(_ESCAPES[c])
        elif code > 0xFFFF:
            out.append(f"\\U{code:08X}")
        elif c.isprintable():
            out.append(c)
        elif code <= 0xFF:
            out.append(f"\\x{code:02X}")
        else:
            out.append(f"\\u{code:04X}")
    return '"' + "".join(out) + '"'


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    text = str(value)
    if _PLAIN.fullmatch(text) and text.lower() not in _YAML_WORDS:
        return text
    return yaml_string(text)


def _flow(value: Any) -> str:
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    return _scalar(value)


def _comment(text: str, indent: str = "") -> str:
    return f"{indent}# {one_line(text)}"


def build(reports: Sequence[Report], snmp: Mapping[str, Any], command: str) -> Discovery:
    """The inventory YAML for what `reports` say, with `snmp` as every device's SNMP settings."""
    names = device_names(reports)
    pairs, notes = _pairs(reports, names)
    lines = [
        _comment(f"Started by `{command}`: what the devices reported.", ""),
        _comment("Review before use: names are made up; `preferred` is the member with the"),
        _comment("higher priority where the device reports one. Then: netmon inventory validate"),
        "version: 1",
        "",
        "defaults:",
        "  snmp:",
        *(f"    {k}: {_flow(v)}" for k, v in snmp.items()),
        "",
        "devices:",
    ]
    for report, name in zip(reports, names, strict=True):
        body: dict[str, Any] = {"address": report.address}
        if report.port != 161:
            body["snmp"] = {"port": report.port}
        shown = "  " + _comment(f"sysName {report.sys_name}") if report.sys_name else ""
        lines.append(f"  {_scalar(name)}: {_flow(body)}{shown}")
    lines += ["", "pairs:" if pairs else "pairs: []"]
    for p in pairs:
        lines += [_comment(c, "  ") for c in p.comment]
        lines.append(f"  - name: {_scalar(p.name)}")
        lines.append(f"    kind: {p.kind}")
        if p.mode != "active_standby":
            lines.append(f"    mode: {p.mode}")
        if p.params:
            lines.append(f"    params: {_flow(p.params)}")
        if all(isinstance(m, str) for m in p.members):
            lines.append(f"    members: {_flow(p.members)}")
        else:
            lines.append("    members:")
            lines += [f"      - {_flow(m)}" for m in p.members]
        if p.preferred:
            lines.append(f"    preferred: {_scalar(p.preferred)}")
        if p.links:
            lines.append(f"    links: {_flow(p.links)}")
        lines.append("")
    if notes:
        lines.append(_comment("Not paired, or not read in full:"))
        lines += [_comment(f"- {n}") for n in notes]
    return Discovery("\n".join(lines).rstrip("\n") + "\n", len(pairs), tuple(notes))
