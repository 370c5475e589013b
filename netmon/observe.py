"""Device readings -> member observations, through each member's kind. Pure."""

from __future__ import annotations

from collections.abc import Mapping

from netmon.kinds import KINDS
from netmon.links import link_probes, read_link
from netmon.model import (
    DeviceReading,
    MemberObservation,
    MemberSpec,
    MemberView,
    PairSpec,
    Probe,
    Role,
)


def member_probes(pair: PairSpec, member: MemberSpec) -> tuple[Probe, ...]:
    kind = KINDS.get(pair.kind)
    probes = list(kind.probes(member.params))
    for link in member.links:
        probes.extend(link_probes(link))
    return tuple(probes)


def pair_probes(pair: PairSpec) -> dict[str, list[Probe]]:
    """Everything to read for one pair, grouped by device (a device read once per cycle)."""
    by_device: dict[str, list[Probe]] = {}
    for member in pair.members:
        bucket = by_device.setdefault(member.device, [])
        for probe in member_probes(pair, member):
            if probe not in bucket:
                bucket.append(probe)
    return by_device


def observe_member(
    pair: PairSpec, member: MemberSpec, reading: DeviceReading | None
) -> MemberObservation:
    if reading is None:
        view = MemberView(Role.UNREACHABLE, reason="not polled")
        return MemberObservation(member.name, member.device, view, at=0.0, fresh=False)
    if not reading.ok:
        view = MemberView(Role.UNREACHABLE, reason=reading.reason or "error")
        return MemberObservation(member.name, member.device, view, at=reading.at)
    kind = KINDS.get(pair.kind)
    probes = kind.probes(member.params)
    values = {p.key: reading.values.get(p.oid) for p in probes}
    view = kind.interpret(member.params, {k: v for k, v in values.items() if v is not None})
    links = tuple(read_link(link, reading.values) for link in member.links)
    return MemberObservation(member.name, member.device, view, at=reading.at, links=links)


def observe(pair: PairSpec, readings: Mapping[str, DeviceReading]) -> list[MemberObservation]:
    return [observe_member(pair, m, readings.get(m.device)) for m in pair.members]
