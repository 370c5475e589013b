"""Monitored links: IF-MIB values read for each member's interfaces."""

from __future__ import annotations

from collections.abc import Mapping

from netmon.model import InterfaceReading, Link, Missing, Oid, Probe, Value

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
# The SNMP types (RFC 2578) whose values become numbers; a value outside its type's range can only
# come from a broken or hostile agent, and is refused where it is read (it would break float(),
# JSON consumers and rate arithmetic downstream).
COUNTER32 = (0, 2**32 - 1)
COUNTER64 = (0, 2**64 - 1)
TIME_TICKS = (0, 2**32 - 1)
# IF-MIB names of the counters read (all Counter32), for the reason an operator reads.
MIB_NAMES = {
    "in_errors": "ifInErrors",
    "out_errors": "ifOutErrors",
    "in_discards": "ifInDiscards",
    "out_discards": "ifOutDiscards",
    "in_packets": "ifInUcastPkts",
    "out_packets": "ifOutUcastPkts",
}
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


def in_range(value: object, bounds: tuple[int, int]) -> int | None:
    """`value` when it is an integer within `bounds` (an SNMP type's range), else None."""
    if isinstance(value, int) and not isinstance(value, bool) and bounds[0] <= value <= bounds[1]:
        return value
    return None


def value_problem(name: str, value: Value | None, bounds: tuple[int, int]) -> str | None:
    """Why `value` cannot be read as a number of its SNMP type; None if it can (or is absent:
    not answered is no problem of the value)."""
    if value is None or isinstance(value, Missing) or in_range(value, bounds) is not None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{name}: value out of range"
    return f"{name}: value is not a number"


def read_link(link: Link, values: Mapping[Oid | str, Value]) -> InterfaceReading:
    oper = values.get(column_oid(IF_OPER_STATUS, link.if_index))
    oper_up: bool | None = None
    if isinstance(oper, int) and 1 <= oper <= 7:
        # "dormant" is up for a link that waits for traffic (e.g. a dial-on-demand backup).
        oper_up = oper in (1, 5)
    counters: dict[str, int | None] = {}
    problems: list[str] = []
    for key, mib_name in MIB_NAMES.items():
        raw = values.get(column_oid(COLUMNS[key], link.if_index))
        counters[key] = in_range(raw, COUNTER32)
        if counters[key] is None and (problem := value_problem(mib_name, raw, COUNTER32)):
            problems.append(problem)
    return InterfaceReading(
        if_index=link.if_index,
        name=link.name,
        oper_up=oper_up,
        in_errors=counters["in_errors"],
        out_errors=counters["out_errors"],
        in_discards=counters["in_discards"],
        out_discards=counters["out_discards"],
        in_packets=counters["in_packets"],
        out_packets=counters["out_packets"],
        problems=tuple(problems),
    )
