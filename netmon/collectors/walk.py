"""Walking whole table columns with GETNEXT, for `netmon discover`.

A poll reads only the instances a pair needs; discovery cannot know them yet, so it walks the
columns that say what a device runs. GETNEXT, not GET: keepalived answers exact GETs on VRRP-MIB
rows with noSuchInstance, and a GETNEXT from a column's own OID is how every agent lists its rows.
Every column advances in the same PDU, one step per round trip; a column absent from the agent
ends on its first answer (the agent names an OID outside it).

Every request has the device's timeout x retries (the collector's), and the whole walk a deadline;
library errors arrive here already translated into netmon's CollectorError types.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from netmon.collectors.snmp import MAX_VARBINDS, SnmpCollector
from netmon.errors import CollectorError, DeviceReplyError, DeviceTimeout
from netmon.model import Device, Missing, Oid, Probe, Value

# Rows read per column at most: a VRRP or HSRP table is far smaller; a column this long is not
# one discovery needs in full.
MAX_ROWS = 1000
# The whole walk of one device; each request has its own, shorter timeout.
DEADLINE = 60.0


@dataclass
class Walked:
    """What a walk found: every OID under the walked columns with its value, and the columns
    the agent refused (an error status naming them) or that were cut at MAX_ROWS."""

    values: dict[Oid, Value] = field(default_factory=dict)
    refused: dict[Oid, str] = field(default_factory=dict)
    truncated: set[Oid] = field(default_factory=set)


def _under(oid: Oid, column: Oid) -> bool:
    return oid[: len(column)] == column and len(oid) > len(column)


async def walk_columns(
    collector: SnmpCollector,
    device: Device,
    columns: Sequence[Oid],
    max_rows: int = MAX_ROWS,
    deadline: float = DEADLINE,
) -> Walked:
    """Walk each column to its end. Raises CollectorError when the device does not answer."""
    try:
        async with asyncio.timeout(deadline):
            return await _walk(collector, device, columns, max_rows)
    except TimeoutError:
        raise DeviceTimeout(
            device.name, f"the walk of {device.address} took longer than {deadline:g}s"
        ) from None


async def _walk(
    collector: SnmpCollector, device: Device, columns: Sequence[Oid], max_rows: int
) -> Walked:
    found = Walked()
    cursors: dict[Oid, Oid] = {column: column for column in dict.fromkeys(columns)}
    rows: dict[Oid, int] = dict.fromkeys(cursors, 0)
    while cursors:
        batch = list(cursors)[:MAX_VARBINDS]
        answers = await _step(collector, device, [cursors[c] for c in batch], found, batch)
        for column, answer in zip(batch, answers, strict=True):
            if answer is None:  # refused, or no varbind for it in the reply
                del cursors[column]
                continue
            oid, value = answer
            # The column ends where the agent names an OID outside it, runs out of MIB, or goes
            # backwards (a broken agent that would otherwise loop for ever).
            if isinstance(value, Missing) or not _under(oid, column) or oid <= cursors[column]:
                del cursors[column]
                continue
            found.values[oid] = value
            cursors[column] = oid
            rows[column] += 1
            if rows[column] >= max_rows:
                found.truncated.add(column)
                del cursors[column]
    return found


async def _step(
    collector: SnmpCollector,
    device: Device,
    asked: list[Oid],
    found: Walked,
    batch: list[Oid],
) -> list[tuple[Oid, Value] | None]:
    """One GETNEXT of every cursor. An error status fails a whole PDU; asked again one column at
    a time, a table the agent cannot serve costs only itself."""
    try:
        answers = await collector.get_next(device, asked)
        return [*answers, *[None] * (len(asked) - len(answers))][: len(asked)]
    except DeviceReplyError as exc:
        if len(asked) == 1:
            found.refused[batch[0]] = exc.detail
            return [None]
    out: list[tuple[Oid, Value] | None] = []
    for column, oid in zip(batch, asked, strict=True):
        try:
            one = await collector.get_next(device, [oid])
        except DeviceReplyError as exc:
            found.refused[column] = exc.detail
            out.append(None)
            continue
        out.append(one[0] if one else None)
    return out


async def get_values(
    collector: SnmpCollector, device: Device, oids: Sequence[Oid]
) -> dict[Oid, Value]:
    """A GET of exact instances (interface names of the groups found). Raises CollectorError."""
    probes = [Probe(".".join(map(str, oid)), oid) for oid in oids]
    reading = await collector.poll(device, probes)
    if not reading.ok:
        raise CollectorError(device.name, reading.detail or reading.reason or "no answer")
    return {oid: reading.values.get(oid, Missing.NOT_RETURNED) for oid in oids}
