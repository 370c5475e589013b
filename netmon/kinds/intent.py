"""What a device says of the inventory's intent for a pair: its configured priority and the
virtual addresses of its group (intent drift; judged in netmon.evaluate). Pure.

A value not read is None ("not known"), never a guess: an absent or malformed priority, or a
table column with no row at all (an agent without the table reads exactly like that).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

from netmon.kinds.evidence import wire_bytes
from netmon.model import Oid, Value

INET_LENGTH = {4: 4, 6: 16}  # InetAddress octets by IP version


def priority_of(value: Value | None) -> int | None:
    """A VRRP/HSRP priority (0..255), or None when absent, not an integer or out of range."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 255:
        return None
    return value


def _address(arcs: tuple[int, ...]) -> str | None:
    if len(arcs) not in (4, 16) or any(not 0 <= a <= 255 for a in arcs):
        return None
    return str(ipaddress.ip_address(bytes(arcs)))


def addresses_in(
    rows: Mapping[Oid, Value],
    column: Oid,
    prefix: tuple[int, ...],
    active: int,
    version: int | None,
) -> tuple[str, ...] | None:
    """The addresses in the index of `column`'s rows under `prefix` (e.g. ifIndex, VRID) whose
    row status is `active`, sorted. `version` None: the address is an IpAddress (four arcs, no
    length); 4 or 6: an InetAddress (a length arc, then 4 or 16 arcs; or the arcs alone, as
    keepalived 2.2.7 serves VRRPv3-MIB's index). None when the column has
    no row at all: the agent reported nothing, which says nothing about the group."""
    in_column = column_rows(rows, column)
    if in_column is None:
        return None
    found: list[str] = []
    for rest, value in in_column:
        if rest[: len(prefix)] != prefix or value != active:
            continue
        arcs = rest[len(prefix) :]
        if version is not None:
            size = INET_LENGTH.get(version, 0)
            if len(arcs) == size + 1 and arcs[0] == size:
                arcs = arcs[1:]  # RFC 6527: an InetAddress in an index has its length first
            elif len(arcs) != size:  # keepalived 2.2.7 leaves the length out (seen in the lab)
                continue
        elif len(arcs) != 4:
            continue
        address = _address(arcs)
        if address is not None:
            found.append(address)
    return tuple(sorted(set(found), key=_sort_key))


def inet_values(rows: Mapping[Oid, Value], column: Oid, first: int) -> tuple[str, ...] | None:
    """The InetAddress values (OCTET STRINGs of 4 or 16 bytes) of `column`'s rows whose index
    starts with `first` (keepalived's vrrpAddressValue by instance), sorted; None when the
    column has no row at all."""
    in_column = column_rows(rows, column)
    if in_column is None:
        return None
    found: list[str] = []
    for index, value in in_column:
        if index[0] != first or not isinstance(value, str):
            continue
        raw = wire_bytes(value)
        if raw is not None and len(raw) in (4, 16):
            found.append(str(ipaddress.ip_address(raw)))
    return tuple(sorted(set(found), key=_sort_key))


def column_rows(rows: Mapping[Oid, Value], column: Oid) -> list[tuple[Oid, Value]] | None:
    """(index, value) of every row of `column` in `rows`; None when the column has no row at
    all: the agent reported nothing, which says nothing about a group."""
    found = [
        (oid[len(column) :], value)
        for oid, value in rows.items()
        if oid[: len(column)] == column and len(oid) > len(column)
    ]
    return found or None


def _sort_key(address: str) -> tuple[int, int]:
    parsed = ipaddress.ip_address(address)
    return parsed.version, int(parsed)
