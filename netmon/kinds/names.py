"""Units named as operators (and NetBox) know them, resolved to the index the device numbers.

NetBox knows interface names, not ifIndex; keepalived.conf and NetBox know a VRID, not the
position of the vrrp_instance. A kind whose params name a unit that way returns a `Lookup` for
it (`lookup(params)`): the table columns to walk on the member's device and a pure `find` over
the rows walked, which gives the index, or the reason it cannot (never a guessed index). The
poller walks, caches the table per device, fills the index into the params (`field`) and walks
again after the device restarts or when the index stops answering (netmon.poller, NameCache).

Nothing here does I/O: `NameCache` is handed the walk.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Protocol

from netmon.model import Oid, Value

IF_DESCR: Oid = (1, 3, 6, 1, 2, 1, 2, 2, 1, 2)  # IF-MIB ifDescr
IF_NAME: Oid = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 1)  # IF-MIB ifName (ifXTable)
SHOWN_MAX = 8  # indices listed in an "ambiguous" reason


class Lookup(Protocol):
    """A unit named in params, found in a table of the member's device."""

    @property
    def field(self) -> str:
        """The params field the index found fills (e.g. "if_index")."""
        ...

    @property
    def columns(self) -> tuple[Oid, ...]:
        """The columns to walk (their rows are indexed by the index sought)."""
        ...

    def find(self, rows: Mapping[Oid, Value], device: str) -> int | str:
        """Pure: the index, or the reason (one line, for the member) why there is none."""
        ...


def column_rows(rows: Mapping[Oid, Value], column: Oid) -> dict[int, Value]:
    """The rows of a column indexed by one positive integer (ifIndex, vrrpInstanceIndex)."""
    out: dict[int, Value] = {}
    for oid, value in rows.items():
        rest = oid[len(column) :]
        if oid[: len(column)] == column and len(rest) == 1 and rest[0] >= 1:
            out[rest[0]] = value
    return out


def text_of(value: Value | None) -> str | None:
    """A DisplayString as compared: exactly as sent, trailing NULs (some agents add one) cut."""
    return value.rstrip("\x00") if isinstance(value, str) else None


def listed(indices: Sequence[int]) -> str:
    shown = ", ".join(map(str, indices[:SHOWN_MAX]))
    return shown + (", ..." if len(indices) > SHOWN_MAX else "")


@dataclass(frozen=True)
class InterfaceLookup:
    """`interface: NAME` -> ifIndex: the one row of ifName equal to NAME, else the one of ifDescr.
    Two rows alike in the column that decides are ambiguous, never a pick."""

    name: str
    field: str = "if_index"
    columns: ClassVar[tuple[Oid, ...]] = (IF_NAME, IF_DESCR)

    def find(self, rows: Mapping[Oid, Value], device: str) -> int | str:
        for column, label in ((IF_NAME, "ifName"), (IF_DESCR, "ifDescr")):
            found = sorted(
                index
                for index, value in column_rows(rows, column).items()
                if text_of(value) == self.name
            )
            if len(found) == 1:
                return found[0]
            if found:
                return (
                    f"interface {self.name}: ambiguous, {len(found)} rows of {label} of {device} "
                    f"(ifIndex {listed(found)})"
                )
        return f"interface {self.name}: not in ifName or ifDescr of {device}"


ResolveResult = tuple[int | None, str | None, bool]  # (index, reason, walked for this call)
Walk = Callable[[str, tuple[Oid, ...]], Awaitable[tuple[Mapping[Oid, Value], Sequence[str]]]]


@dataclass
class _Table:
    """The columns walked on one device, and what has been learnt since."""

    rows: Mapping[Oid, Value]
    problems: tuple[str, ...]  # what kept the walk from reading every row
    at: float  # the clock when walked
    where: object = None  # the device's address as walked: another one is another agent
    uptime: int | None = None  # the device's sysUpTime first read after the walk
    rechecked: set[object] = field(default_factory=set)  # missing rows walked for again


class NameCache:
    """Tables walked per (device, columns), shared by every member naming units on the device.

    A table is walked at the first poll that needs it, then kept until the device restarts
    (its sysUpTime goes backwards: `saw_uptime`) or a unit found in it stops answering
    (`saw_missing`). A name found nowhere is looked for again `retry_after` seconds later (a
    renamed interface), not on every poll: a walk of a large ifTable costs one round trip a row.
    """

    def __init__(self, walk: Walk, clock: Callable[[], float], retry_after: float = 60.0) -> None:
        self._walk = walk
        self._clock = clock
        self.retry_after = retry_after
        self._tables: dict[tuple[str, tuple[Oid, ...]], _Table] = {}
        self._walking: dict[tuple[str, tuple[Oid, ...]], asyncio.Task[_Table]] = {}

    def _current(self, device: str, columns: tuple[Oid, ...], where: object) -> _Table | None:
        table = self._tables.get((device, columns))
        if table is not None and table.where != where:  # the device was moved (a reload)
            self.forget(device)
            return None
        return table

    async def _table(
        self, device: str, columns: tuple[Oid, ...], where: object
    ) -> tuple[_Table, bool]:
        table = self._current(device, columns, where)
        if table is not None:
            return table, False
        key = (device, columns)
        task = self._walking.get(key)
        if task is None:  # members of several pairs on one device share one walk
            task = asyncio.get_running_loop().create_task(self._walk_table(device, columns, where))
            self._walking[key] = task

            def done(finished: asyncio.Task[_Table]) -> None:
                self._walking.pop(key, None)
                if not finished.cancelled():
                    finished.exception()  # retrieved: a failure nobody awaits is not "lost"

            task.add_done_callback(done)
        table = await asyncio.shield(task)
        self._tables[key] = table
        return table, True

    async def _walk_table(self, device: str, columns: tuple[Oid, ...], where: object) -> _Table:
        at = self._clock()
        rows, problems = await self._walk(device, columns)
        return _Table(dict(rows), tuple(problems), at, where)

    def _result(self, table: _Table, lookup: Lookup, device: str, walked: bool) -> ResolveResult:
        found = lookup.find(table.rows, device)
        if isinstance(found, int):
            return found, None, walked
        if table.problems:  # the name may be in the rows the agent kept back: say so
            found += f" (rows read: {'; '.join(table.problems)})"
        return None, found, walked

    def _due(self, table: _Table, lookup: Lookup, device: str) -> bool:
        """A name not found in a table walked `retry_after` ago or more: look again."""
        return (
            isinstance(lookup.find(table.rows, device), str)
            and self._clock() - table.at >= self.retry_after
        )

    def cached(self, device: str, lookup: Lookup, where: object = None) -> ResolveResult | None:
        """What `resolve` would answer without walking, or None when it would walk."""
        table = self._current(device, lookup.columns, where)
        if table is None or self._due(table, lookup, device):
            return None
        return self._result(table, lookup, device, False)

    async def resolve(self, device: str, lookup: Lookup, where: object = None) -> ResolveResult:
        """The index `lookup` names on `device` (at `where`, its address), or the reason there
        is none. Raises what the walk raises (the device did not answer: nothing is cached)."""
        table, walked = await self._table(device, lookup.columns, where)
        if not walked and self._due(table, lookup, device):
            self.forget(device, lookup.columns)
            table, walked = await self._table(device, lookup.columns, where)
        return self._result(table, lookup, device, walked)

    async def rows(
        self,
        device: str,
        columns: tuple[Oid, ...],
        where: object = None,
        max_age: float = 300.0,
        *,
        wait: bool = True,
    ) -> Mapping[Oid, Value] | None:
        """The rows of `columns` on `device` as last walked (a table read whole, e.g. the
        virtual addresses of every group: intent drift). Walked at the first call (awaited);
        once `max_age` old, walked again in the background while the last rows are used. None
        when the walk failed or kept rows back (tried again `retry_after` later): not known,
        never a partial table."""
        key = (device, columns)
        table = self._current(device, columns, where)
        if table is None and not wait:
            # Not walked yet: walk in the background; not known until it lands. A poll (a
            # page's data) never waits for what only a ticket needs.
            self._walk_behind(key, device, columns, where)
            return None
        if table is None:
            try:
                table, _ = await self._table(device, columns, where)
            except Exception:  # noqa: BLE001 - a walk that fails leaves the intent not known
                table = self._tables[key] = _Table({}, ("not walked",), self._clock(), where)
        age = max_age if not table.problems else min(max_age, self.retry_after)
        if self._clock() - table.at >= age:
            self._walk_behind(key, device, columns, where)
        return None if table.problems else table.rows

    def _walk_behind(
        self, key: tuple[str, tuple[Oid, ...]], device: str, columns: tuple[Oid, ...], where: object
    ) -> None:
        if key in self._walking:
            return
        task = asyncio.get_running_loop().create_task(self._walk_table(device, columns, where))
        self._walking[key] = task

        def done(finished: asyncio.Task[_Table]) -> None:
            self._walking.pop(key, None)
            if finished.cancelled():
                return
            if finished.exception() is None:
                self._tables[key] = finished.result()
            else:
                self._tables[key] = _Table({}, ("not walked",), self._clock(), where)

        task.add_done_callback(done)

    def forget(self, device: str, columns: tuple[Oid, ...] | None = None) -> None:
        for key in [k for k in self._tables if k[0] == device and columns in (None, k[1])]:
            del self._tables[key]

    def saw_uptime(self, device: str, uptime: int) -> bool:
        """The device's sysUpTime of a poll. True (and its tables forgotten) if it went
        backwards since the tables were walked: the agent restarted and may number anew."""
        tables = [t for k, t in self._tables.items() if k[0] == device]
        if any(t.uptime is not None and uptime < t.uptime for t in tables):
            self.forget(device)
            return True
        for table in tables:
            table.uptime = uptime
        return False

    def saw_missing(self, device: str, lookup: Lookup, *, walked: bool) -> bool:
        """The unit found by `lookup` did not answer (noSuchInstance). True when its table is
        to be walked again: once, until the unit answers again (`saw_answer`); a table walked
        for this very poll is current already."""
        table = self._tables.get((device, lookup.columns))
        if table is None:  # forgotten since it was read (another pair saw the restart)
            return True
        if walked or lookup in table.rechecked:
            table.rechecked.add(lookup)
            return False
        self.forget(device, lookup.columns)
        return True

    def saw_answer(self, device: str, lookup: Lookup) -> None:
        table = self._tables.get((device, lookup.columns))
        if table is not None:
            table.rechecked.discard(lookup)


def interface_problems(if_index: int | None, interface: str | None) -> list[tuple[str, str]]:
    """Params problems of a kind that reads per ifIndex: exactly one of the two names it."""
    if (if_index is None) == (interface is None):
        both = if_index is not None
        return [
            (
                "interface" if both else "if_index",
                "name the interface by exactly one of 'if_index: N' or 'interface: NAME' "
                "(its ifName, else its ifDescr)" + ("; got both" if both else ""),
            )
        ]
    if interface is not None and not interface.strip():
        return [("interface", "an interface name must not be empty")]
    if if_index is not None and if_index < 1:
        return [("if_index", f"ifIndex must be 1 or more, got {if_index}")]
    return []


def interface_lookup(interface: str | None) -> InterfaceLookup | None:
    return None if interface is None else InterfaceLookup(interface)


def interface_label(if_index: int | None, interface: str | None) -> str:
    """How a member's interface is shown: "ifIndex 2", or "ifIndex 2 (eth0)" once resolved."""
    return f"ifIndex {if_index}" + (f" ({interface})" if interface is not None else "")
