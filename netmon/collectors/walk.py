"""Walking whole table columns with GETNEXT, for `netmon discover`.

A poll reads only the instances a pair needs; discovery cannot know them yet, so it walks the
columns that say what a device runs. GETNEXT, not GET: keepalived answers exact GETs on VRRP-MIB
rows with noSuchInstance, and a GETNEXT from a column's own OID is how every agent lists its rows.
Every column advances in the same PDU, one step per round trip; a column absent from the agent
ends on its first answer (the agent names an OID outside it).

Every request has the device's timeout x retries (the collector's), and the whole walk a deadline;
library errors arrive here already translated into netmon's CollectorError types.

What an agent does wrong costs only what it touches, and is said (`Walked.problems`), never
silently read as "the device reports nothing":
- an error status fails a whole PDU: its columns are asked again one at a time, and a column
  still refused is recorded;
- a reply with fewer varbinds than asked (agents that cap varbinds instead of answering tooBig):
  the columns left out are recorded and asked alone, and the rest of the walk goes one column
  per request;
- an agent that repeats an OID or goes backwards ends that column at once (it would loop);
- the deadline keeps what was read and records the columns it cut (nothing read at all: the
  device did not answer, DeviceTimeout).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
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
    """What a walk found: every OID under the walked columns with its value, and where the agent
    kept the walk from reading a column to its end (`problems()` says each in words)."""

    values: dict[Oid, Value] = field(default_factory=dict)
    refused: dict[Oid, str] = field(default_factory=dict)  # an error status naming them
    truncated: set[Oid] = field(default_factory=set)  # cut at max_rows
    dropped: set[Oid] = field(default_factory=set)  # left out of a reply: asked alone after
    unanswered: set[Oid] = field(default_factory=set)  # no varbind even when asked alone
    backwards: set[Oid] = field(default_factory=set)  # the agent repeated an OID or went back
    unfinished: set[Oid] = field(default_factory=set)  # still being read at the deadline
    max_rows: int = MAX_ROWS
    deadline: float = DEADLINE

    def problems(self) -> list[str]:
        """What kept columns from being read in full, one line each (for discover's notes)."""
        out = [f"could not read {dotted(c)}: {why}" for c, why in self.refused.items()]
        out += [
            f"read only the first {self.max_rows} rows of {dotted(c)}"
            for c in sorted(self.truncated)
        ]
        if self.dropped:
            out.append(
                f"the agent left {len(self.dropped)} column(s) out of its replies to requests "
                f"for several ({_listed(self.dropped)}): walked them one column per request"
            )
        if self.unanswered:
            out.append(
                f"the agent answered no varbind for {_listed(self.unanswered)} even asked alone: "
                "rows there may be missing"
            )
        if self.backwards:
            out.append(
                f"the agent repeated an OID or went backwards in {_listed(self.backwards)}: "
                "stopped there, rows after it may be missing"
            )
        if self.unfinished:
            out.append(
                f"the walk was cut at its {self.deadline:g}s deadline: kept what was read; not "
                f"read to their end: {_listed(self.unfinished)}"
            )
        return out


def dotted(oid: Oid) -> str:
    return ".".join(map(str, oid))


def _listed(columns: Iterable[Oid]) -> str:
    return ", ".join(dotted(c) for c in sorted(columns))


def _under(oid: Oid, column: Oid) -> bool:
    return oid[: len(column)] == column and len(oid) > len(column)


async def walk_columns(
    collector: SnmpCollector,
    device: Device,
    columns: Sequence[Oid],
    max_rows: int = MAX_ROWS,
    deadline: float = DEADLINE,
) -> Walked:
    """Walk each column to its end, or to the deadline (what was read is kept). Raises
    CollectorError when the device does not answer."""
    found = Walked(max_rows=max_rows, deadline=deadline)
    cursors: dict[Oid, Oid] = {column: column for column in dict.fromkeys(columns)}
    try:
        async with asyncio.timeout(deadline):
            await _walk(collector, device, cursors, found)
    except TimeoutError:
        if not found.values:
            raise DeviceTimeout(
                device.name, f"the walk of {device.address} took longer than {deadline:g}s"
            ) from None
        found.unfinished.update(cursors)
    return found


async def _walk(
    collector: SnmpCollector, device: Device, cursors: dict[Oid, Oid], found: Walked
) -> None:
    """Advance every cursor to its column's end; `cursors` keeps the columns still open."""
    rows: dict[Oid, int] = dict.fromkeys(cursors, 0)
    while cursors:
        # An agent that left varbinds out of a reply is asked one column per request after.
        batch = list(cursors)[: 1 if found.dropped else MAX_VARBINDS]
        answers = await _step(collector, device, [cursors[c] for c in batch], found, batch)
        for column, answer in zip(batch, answers, strict=True):
            if answer is None:  # refused, or no varbind for it even asked alone
                del cursors[column]
                continue
            oid, value = answer
            # The column ends where the agent names an OID outside it or runs out of MIB.
            if isinstance(value, Missing) or not _under(oid, column):
                del cursors[column]
                continue
            if oid <= cursors[column]:  # a broken agent that would otherwise loop for ever
                found.backwards.add(column)
                del cursors[column]
                continue
            found.values[oid] = value
            cursors[column] = oid
            rows[column] += 1
            if rows[column] >= found.max_rows:
                found.truncated.add(column)
                del cursors[column]


async def _step(
    collector: SnmpCollector,
    device: Device,
    asked: list[Oid],
    found: Walked,
    batch: list[Oid],
) -> list[tuple[Oid, Value] | None]:
    """One GETNEXT of every cursor: an answer (or None) for each, in order. An error status
    fails a whole PDU, and a reply may leave varbinds out: those columns are asked again one at
    a time, so a table the agent cannot serve costs only itself."""
    try:
        answers = list(await collector.get_next(device, asked))
    except DeviceReplyError as exc:
        if len(asked) == 1:
            found.refused[batch[0]] = exc.detail
            return [None]
        return [
            await _alone(collector, device, column, oid, found)
            for column, oid in zip(batch, asked, strict=True)
        ]
    if len(answers) >= len(asked):
        return [*answers[: len(asked)]]
    if len(asked) == 1:
        found.unanswered.add(batch[0])
        return [None]
    # Varbinds are answered in order: the ones left out are the last asked.
    left_out = len(answers)
    found.dropped.update(batch[left_out:])
    rest = [
        await _alone(collector, device, column, oid, found)
        for column, oid in zip(batch[left_out:], asked[left_out:], strict=True)
    ]
    return [*answers, *rest]


async def _alone(
    collector: SnmpCollector, device: Device, column: Oid, oid: Oid, found: Walked
) -> tuple[Oid, Value] | None:
    try:
        one = await collector.get_next(device, [oid])
    except DeviceReplyError as exc:
        found.refused[column] = exc.detail
        return None
    if not one:
        found.unanswered.add(column)
        return None
    return one[0]


async def get_values(
    collector: SnmpCollector, device: Device, oids: Sequence[Oid]
) -> dict[Oid, Value]:
    """A GET of exact instances (interface names of the groups found). Raises CollectorError."""
    probes = [Probe(".".join(map(str, oid)), oid) for oid in oids]
    reading = await collector.poll(device, probes)
    if not reading.ok:
        raise CollectorError(device.name, reading.detail or reading.reason or "no answer")
    return {oid: reading.values.get(oid, Missing.NOT_RETURNED) for oid in oids}
