"""Device readings -> member observations, through each member's kind. Pure.

Readings are keyed by (device, collector): a member's role comes from its kind's collector
(SNMP or SSH), its links from the SNMP reading of the same device.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from netmon.kinds import KINDS
from netmon.links import SYS_UPTIME, link_probes, read_link
from netmon.model import (
    DeviceReading,
    MemberObservation,
    MemberSpec,
    MemberView,
    Oid,
    PairSpec,
    Probe,
    ProbeResult,
    Role,
    Value,
)

ReadingKey = tuple[str, str]  # (device, collector)
# Table columns walked per device for the intent (a kind's `intent_columns`), by device name:
# absent when not walked (not known).
Tables = Mapping[str, Mapping[Oid, Value]]


def intent_columns(pair: PairSpec) -> tuple[Oid, ...]:
    """The columns a pair's kind walks for the intent, when the inventory gives a virtual IP
    (a pair with none reads no table; VRRP-MIB's priority, a column of them, is then not known)."""
    if pair.virtual_ip is None:
        return ()
    columns: tuple[Oid, ...] = getattr(KINDS.get(pair.kind), "intent_columns", ())
    return columns


def member_probes(pair: PairSpec, member: MemberSpec) -> tuple[Probe, ...]:
    kind = KINDS.get(pair.kind)
    probes = list(kind.probes(member.params))
    for link in member.links:
        probes.extend(link_probes(link))
    return tuple(probes)


def pair_probes(pair: PairSpec) -> dict[ReadingKey, list[Probe]]:
    """Everything to read for one pair, by device and collector (each read once per cycle)."""
    grouped: dict[ReadingKey, dict[Probe, None]] = {}  # a dict keeps order and drops repeats
    for member in pair.members:
        for probe in member_probes(pair, member):
            grouped.setdefault((member.device, probe.collector), {})[probe] = None
    return {key: list(probes) for key, probes in grouped.items()}


def observe_member(
    pair: PairSpec,
    member: MemberSpec,
    readings: Mapping[ReadingKey, DeviceReading],
    probes: Mapping[str, tuple[ProbeResult, ...]] | None = None,
    tables: Tables | None = None,
) -> MemberObservation:
    probes = probes or {}
    kind = KINDS.get(pair.kind)
    reading = readings.get((member.device, kind.transport))
    if reading is None:
        view = MemberView(Role.UNREACHABLE, reason="not polled")
        return MemberObservation(member.name, member.device, view, at=0.0, fresh=False)
    if not reading.ok:
        view = MemberView(Role.UNREACHABLE, reason=reading.reason or "error")
        return MemberObservation(member.name, member.device, view, at=reading.at)
    values = {p.key: reading.values.get(p.ident) for p in kind.probes(member.params)}
    view = kind.interpret(member.params, {k: v for k, v in values.items() if v is not None})
    rows = tables.get(member.device) if tables else None
    if rows is not None and view.missing:
        view = replace(view, tables_served=bool(rows))
    reader = getattr(kind, "virtual_ips", None)
    if rows is not None and callable(reader) and not view.missing:
        view = replace(view, virtual_ips=reader(member.params, rows))
    from_table = getattr(kind, "table_priority", None)
    if rows is not None and callable(from_table) and not view.missing and view.priority is None:
        view = replace(view, priority=from_table(member.params, rows))
    links_reading = readings.get((member.device, "snmp"))
    link_values = links_reading.values if links_reading and links_reading.ok else {}
    links = tuple(read_link(link, link_values) for link in member.links)
    uptime = link_values.get(SYS_UPTIME)
    return MemberObservation(
        member.name,
        member.device,
        view,
        at=reading.at,
        links=links,
        uptime=uptime if isinstance(uptime, int) else None,
        probes=probes.get(member.device, ()),
    )


def observe(
    pair: PairSpec,
    readings: Mapping[ReadingKey, DeviceReading],
    probes: Mapping[str, tuple[ProbeResult, ...]] | None = None,
    tables: Tables | None = None,
) -> list[MemberObservation]:
    """`probes`: probe results by device name (the member's address was probed); `tables`: the
    intent columns walked, by device name."""
    return [observe_member(pair, m, readings, probes, tables) for m in pair.members]
