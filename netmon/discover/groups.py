"""Two-router kinds: each router reports its half of a VRRP, VRRPv3 or HSRP group, or a keepalived
instance; `netmon discover` pairs the halves of two routers (netmon/discover/pairing.py)."""

from __future__ import annotations

from collections.abc import Mapping

from netmon.discover.facts import (
    HSRP_GRP,
    HSRP_STATES,
    KA_INSTANCE,
    KA_STATES,
    VRRP_ASSO,
    VRRP_OPER,
    VRRP_STATES,
    VRRPV3_ASSO,
    VRRPV3_OPER,
    Group,
    as_int,
    as_text,
    ip_text,
    rows,
    state_name,
)
from netmon.model import Oid, Value


def _iface(if_index: int, ifs: Mapping[int, str]) -> tuple[str, str]:
    """('ifIndex 2 (eth0)', 'eth0'): the comment text and the name part of a pair's name."""
    name = ifs.get(if_index)
    if name is None:
        return f"ifIndex {if_index}", f"if{if_index}"
    return f"ifIndex {if_index} ({name})", name


def vrrp(values: Mapping[Oid, Value], ifs: Mapping[int, str]) -> list[Group]:
    priority = rows(values, (*VRRP_OPER, 5))
    master = rows(values, (*VRRP_OPER, 7))
    vips: dict[Oid, str] = {}
    for index in rows(values, VRRP_ASSO):
        vip = ip_text(index[2:])
        if vip is not None:
            vips.setdefault(index[:2], vip)
    out = []
    for index, state in sorted(rows(values, (*VRRP_OPER, 3)).items()):
        if len(index) != 2:
            continue
        if_index, vrid = index
        text, name = _iface(if_index, ifs)
        heard = as_text(master.get(index))
        out.append(
            Group(
                "vrrp", (if_index, vrid), (vrid,), {"if_index": if_index, "vrid": vrid},
                f"VRRP-MIB {text}, VRID {vrid}", f"{name}-{vrid}", state_name(VRRP_STATES, state),
                as_int(priority.get(index)),
                f"hears master {heard}" if heard and heard != "0.0.0.0" else None,
                vips.get(index), vrid, (if_index, ifs.get(if_index)),
            )
        )  # fmt: skip
    return out


def vrrpv3(values: Mapping[Oid, Value], ifs: Mapping[int, str]) -> list[Group]:
    priority = rows(values, (*VRRPV3_OPER, 7))
    vips: dict[Oid, str] = {}
    for index in rows(values, VRRPV3_ASSO):
        address = index[3:]
        # InetAddress in an index carries its length first (not IMPLIED); some agents omit it.
        if address and address[0] == len(address) - 1:
            address = address[1:]
        vip = ip_text(address)
        if vip is not None:
            vips.setdefault(index[:3], vip)
    out = []
    for index, state in sorted(rows(values, (*VRRPV3_OPER, 6)).items()):
        if len(index) != 3 or index[2] not in (1, 2):
            continue
        if_index, vrid, inet = index
        version = 4 if inet == 1 else 6
        text, name = _iface(if_index, ifs)
        suffix = "" if version == 4 else "-v6"
        out.append(
            Group(
                "vrrpv3", index, (vrid, inet),
                {"if_index": if_index, "vrid": vrid, "inet_version": version},
                f"VRRPv3-MIB {text}, VRID {vrid}, IPv{version}", f"{name}-{vrid}{suffix}",
                state_name(VRRP_STATES, state), as_int(priority.get(index)), None, vips.get(index),
                vrid, (if_index, ifs.get(if_index)),
            )
        )  # fmt: skip
    return out


def hsrp(values: Mapping[Oid, Value], ifs: Mapping[int, str]) -> list[Group]:
    priority = rows(values, (*HSRP_GRP, 3))
    vip = rows(values, (*HSRP_GRP, 11))
    active = rows(values, (*HSRP_GRP, 13))
    standby = rows(values, (*HSRP_GRP, 14))
    out = []
    for index, state in sorted(rows(values, (*HSRP_GRP, 15)).items()):
        if len(index) != 2:
            continue
        if_index, group = index
        text, name = _iface(if_index, ifs)
        heard = [
            f"{what} {address}"
            for what, column in (("active router", active), ("standby router", standby))
            if (address := as_text(column.get(index))) and address != "0.0.0.0"
        ]
        address = as_text(vip.get(index))
        out.append(
            Group(
                "hsrp", index, (group,), {"if_index": if_index, "group": group},
                f"CISCO-HSRP-MIB {text}, group {group}", f"{name}-{group}",
                state_name(HSRP_STATES, state), as_int(priority.get(index)),
                f"names {', '.join(heard)}" if heard else None,
                address if address != "0.0.0.0" else None, None, (if_index, ifs.get(if_index)),
            )
        )  # fmt: skip
    return out


def keepalived(values: Mapping[Oid, Value]) -> list[Group]:
    names = rows(values, (*KA_INSTANCE, 2))
    vrids = rows(values, (*KA_INSTANCE, 3))
    priority = rows(values, (*KA_INSTANCE, 7))
    out = []
    for index, state in sorted(rows(values, (*KA_INSTANCE, 4)).items()):
        if len(index) != 1:
            continue
        name, vrid = as_text(names.get(index)), as_int(vrids.get(index))
        shown = " ".join(
            [f"instance {index[0]}", *([repr(name)] if name else []),
             *([f"VRID {vrid}"] if vrid is not None else [])]
        )  # fmt: skip
        out.append(
            Group(
                "keepalived", (vrid, name), (vrid,) if vrid is not None else None,
                {"instance": index[0]}, f"KEEPALIVED-MIB {shown}",
                name or (f"vrid{vrid}" if vrid is not None else f"instance{index[0]}"),
                state_name(KA_STATES, state), as_int(priority.get(index)), vrid=vrid,
            )
        )  # fmt: skip
    return out
