"""Monitored links: IF-MIB values read for each member's interfaces."""

from __future__ import annotations

from collections.abc import Mapping

from netmon.model import InterfaceReading, Link, Oid, Probe, Value

SYS_UPTIME: Oid = (1, 3, 6, 1, 2, 1, 1, 3, 0)  # read with every SNMP poll: restarts reset counters
IF_ENTRY = (1, 3, 6, 1, 2, 1, 2, 2, 1)
IF_OPER_STATUS = (
    8  # up(1), down(2), testing(3), unknown(4), dormant(5), notPresent(6), lowerLayerDown(7)
)
IF_IN_UCAST_PKTS = 11
IF_OUT_UCAST_PKTS = 17
IF_IN_DISCARDS = 13
IF_IN_ERRORS = 14
IF_OUT_DISCARDS = 19
IF_OUT_ERRORS = 20
COLUMNS = {
    "oper": IF_OPER_STATUS,
    "in_discards": IF_IN_DISCARDS,
    "in_errors": IF_IN_ERRORS,
    "out_discards": IF_OUT_DISCARDS,
    "out_errors": IF_OUT_ERRORS,
    "in_packets": IF_IN_UCAST_PKTS,
    "out_packets": IF_OUT_UCAST_PKTS,
}


def column_oid(column: int, if_index: int) -> Oid:
    return (*IF_ENTRY, column, if_index)


def link_probes(link: Link) -> tuple[Probe, ...]:
    return tuple(
        Probe(f"if.{key}.{link.if_index}", column_oid(col, link.if_index))
        for key, col in COLUMNS.items()
    )


def _counter(value: Value | None) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def read_link(link: Link, values: Mapping[Oid | str, Value]) -> InterfaceReading:
    oper = values.get(column_oid(IF_OPER_STATUS, link.if_index))
    oper_up: bool | None = None
    if isinstance(oper, int) and 1 <= oper <= 7:
        # "dormant" is up for a link that waits for traffic (e.g. a dial-on-demand backup).
        oper_up = oper in (1, 5)
    return InterfaceReading(
        if_index=link.if_index,
        name=link.name,
        oper_up=oper_up,
        in_errors=_counter(values.get(column_oid(IF_IN_ERRORS, link.if_index))),
        out_errors=_counter(values.get(column_oid(IF_OUT_ERRORS, link.if_index))),
        in_discards=_counter(values.get(column_oid(IF_IN_DISCARDS, link.if_index))),
        out_discards=_counter(values.get(column_oid(IF_OUT_DISCARDS, link.if_index))),
        in_packets=_counter(values.get(column_oid(IF_IN_UCAST_PKTS, link.if_index))),
        out_packets=_counter(values.get(column_oid(IF_OUT_UCAST_PKTS, link.if_index))),
    )
