"""Single-device kinds: one agent reports every unit (RF supervisors, Junos routing engines, ASA
units, FortiGate cluster members, a Palo Alto firewall and its peer), so a pair lives on one
device. A device that reports redundancy not configured gets a note instead of a pair."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from netmon.discover.facts import (
    ASA_HW,
    ASA_STATES,
    FG_HA_MODE,
    FG_HA_STATS,
    FN_SYS_SERIAL,
    JNX_REDUNDANCY,
    JNX_STATES,
    PAN_SYS,
    RE_DESCR,
    RF_STATES,
    RF_STATUS,
    Cluster,
    Unit,
    as_int,
    as_text,
    rows,
    slug,
    state_name,
)
from netmon.kinds.junos_re import SLOTS as JUNOS_SLOTS
from netmon.kinds.junos_re import clean_descr, normalise_descr
from netmon.model import Oid, Value

# Each reader of a single-device kind: (the cluster, or None; a note when it makes no pair).
Found = tuple[Cluster | None, str | None]


def rf(values: Mapping[Oid, Value]) -> Found:
    status = rows(values, RF_STATUS)
    local, peer = as_int(status.get((2, 0))), as_int(status.get((4, 0)))
    if local is None:
        return None, None
    ids = (as_int(status.get((1, 0))), as_int(status.get((3, 0))))
    if status.get((6, 0)) == 2:
        return None, "CISCO-RF-MIB: the chassis runs simplex (no peer unit): nothing to pair"
    if peer is None:
        return None, "CISCO-RF-MIB: no peer unit state (cRFStatusPeerUnitState): nothing to pair"
    states = (state_name(RF_STATES, local), state_name(RF_STATES, peer))
    # Unit ids follow the hardware across switchovers (local/peer follow the agent, which runs on
    # the active unit): use them where the agent numbers its units.
    numbered = all(i is not None and i > 0 for i in ids) and ids[0] != ids[1]
    units = tuple(
        Unit(f"unit{unit_id}", {"unit_id": unit_id}, state)
        if numbered
        else Unit(which, {"unit": which}, state)
        for which, unit_id, state in zip(("local", "peer"), ids, states, strict=True)
    )
    identity = f"local unit {ids[0]}, peer unit {ids[1]}" if numbered else "unit ids not reported"
    return Cluster("cisco-rf", "CISCO-RF-MIB cRFStatus", "rf", units, identity=identity), None


def junos(values: Mapping[Oid, Value]) -> Found:
    descr = rows(values, (*JNX_REDUNDANCY, 5))
    config = rows(values, (*JNX_REDUNDANCY, 6))
    states = rows(values, (*JNX_REDUNDANCY, 7))
    # Contents index 9: the routing engines (other contents, if any, are not REs); the kind reads
    # the rows 9.<slot>.0.0.
    engines = sorted(i for i in states if len(i) == 4 and i[0] == 9 and i[2:] == (0, 0))
    if not engines:
        return None, None
    # A description is written as the kind reads it (junos_re.clean_descr: a trailing NUL or a
    # control character is a space), and names the RE only where no other row reads the same
    # (junos_re.normalise_descr: what the kind compares) and the kind reads its row by
    # description (slots 1-10); else every RE is named by its slot.
    texts = {i: clean_descr(raw) if isinstance(raw := descr.get(i), str) else "" for i in engines}
    keys = {normalise_descr(t) for t in texts.values()}
    unique = (
        all(texts.values())
        and len(keys) == len(engines)
        and all(i[1] in JUNOS_SLOTS for i in engines)
    )
    units = []
    for index in engines:
        text = texts[index]
        # What the device says identifies an RE; the row's position does not (an EX virtual
        # chassis reports "Routing Engine 1" at row 9.1.0.0).
        match = RE_DESCR.search(text)
        name = f"re{match.group(1)}" if match and unique else f"slot{index[1]}"
        params: dict[str, Any] = {"descr": text} if unique else {"slot": index[1]}
        state = state_name(JNX_STATES, states[index])
        row = ".".join(map(str, index))
        shown = f"{row} {text!r} {state}" if text else f"{row} {state}"
        units.append(Unit(name, params, shown, preferred=as_int(config.get(index)) == 2))
    if len(units) < 2:
        return None, f"JUNIPER-MIB: one routing engine ({units[0].state}): nothing to pair"
    if sum(u.preferred for u in units) != 1:  # configured master: exactly one, or none known
        units = [Unit(u.member, u.params, u.state) for u in units]
    return Cluster("junos-re", "JUNIPER-MIB jnxRedundancyTable", "re", tuple(units)), None


def asa(values: Mapping[Oid, Value]) -> Found:
    status = rows(values, (*ASA_HW, 3))
    detail = rows(values, (*ASA_HW, 4))
    if not any(as_int(status.get((i,))) is not None for i in (6, 7)):
        return None, None
    texts = [as_text(detail.get((i,))) or "" for i in (6, 7)]
    if any("failover off" in t.lower() for t in texts):
        return None, "CISCO-FIREWALL-MIB: failover off (a standalone firewall): nothing to pair"
    units = tuple(
        Unit(which, {"unit": which}, f"{state_name(ASA_STATES, status.get((i,)))} ({text or '-'})")
        for which, i, text in (("primary", 6, texts[0]), ("secondary", 7, texts[1]))
    )
    return Cluster(
        "cisco-asa", "CISCO-FIREWALL-MIB cfwHardwareStatusTable", "failover", units
    ), None


def fortigate(values: Mapping[Oid, Value]) -> Found:
    mode = as_int(rows(values, FG_HA_MODE).get((0,)))
    serial = rows(values, (*FG_HA_STATS, 2))
    host = rows(values, (*FG_HA_STATS, 11))
    primary = rows(values, (*FG_HA_STATS, 16))
    indexes = sorted(set(serial) | set(host))
    if mode is None and not indexes:
        return None, None
    if mode == 1:
        return None, "FORTINET-FORTIGATE-MIB: fgHaSystemMode standalone: no HA cluster to pair"
    # Serials and hostnames are written as the device reported them (ends trimmed) and named by
    # only where no two read alike, so each member finds its own row again.
    members = [(_exact(serial.get(i)), _exact(host.get(i))) for i in indexes]
    # Serials are unique by nature; hostnames where some firmware leaves the serials out.
    by_serial = all(s for s, _ in members) and _distinct([s for s, _ in members])
    by_host = all(h for _, h in members) and _distinct([h for _, h in members])
    if len(members) < 2 or not (by_serial or by_host):
        return None, (
            f"FORTINET-FORTIGATE-MIB: the cluster table lists {len(members)} member(s)"
            + ("" if len(members) < 2 else " without distinct serials or hostnames")
            + ": nothing to pair"
        )
    masters = sorted({t for i in indexes if (t := _exact(primary.get(i)))})
    primaries = {m.casefold() for m in masters}
    units = []
    for s, h in members:
        key, value = ("serial", s) if by_serial else ("hostname", h)
        assert value is not None
        role = " (primary)" if s is not None and s.casefold() in primaries else ""
        shown = "/".join(as_text(x) or "?" for x in (s, h) if x)
        units.append(Unit(slug(h if by_host and h else value), {key: value}, f"{shown}{role}"))
    own = as_text(rows(values, FN_SYS_SERIAL).get((0,)))
    identity = "; ".join(
        [*([f"primary serial {', '.join(masters)}"] if masters else []),
         *([f"agent on {own}"] if own else [])]
    )  # fmt: skip
    return Cluster(
        "fortigate-ha", "FORTINET-FORTIGATE-MIB fgHaStatsTable", "ha", tuple(units),
        "active_active" if mode == 2 else "active_standby", identity,
    ), None  # fmt: skip


def _exact(value: Value | None) -> str | None:
    """An identifier as fortigate-ha finds it: the text as reported, its ends trimmed (the kind
    trims it, and may read control characters as spaces too); None where nothing printable is
    left."""
    return value.strip() if isinstance(value, str) and as_text(value) else None


def _distinct(texts: list[str | None]) -> bool:
    """No two identifiers the kind could take for one another (control characters as spaces,
    case ignored)."""
    return len({(as_text(t) or "").casefold() for t in texts}) == len(texts)


def paloalto(values: Mapping[Oid, Value]) -> Found:
    pan = rows(values, PAN_SYS)
    state, peer, mode = (as_text(pan.get((c, 0))) for c in (11, 12, 13))
    if mode is None:
        return None, None
    if mode.lower() == "disabled":
        return (
            None,
            "PAN-COMMON-MIB: panSysHAMode disabled (a standalone firewall): nothing to pair",
        )
    units = (
        Unit("local", {"unit": "local"}, f"local {state or 'not reported'}"),
        Unit("peer", {"unit": "peer"}, f"peer {peer or 'not reported'}"),
    )
    pair_mode = "active_active" if mode.lower() == "active-active" else "active_standby"
    return Cluster("paloalto-ha", f"PAN-COMMON-MIB panSysHA ({mode})", "ha", units, pair_mode), None
