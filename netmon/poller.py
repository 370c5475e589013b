"""One poll of one pair: read its members' devices, judge the pair, store the verdict.

This is the one place that catches blindly: whatever goes wrong while reading a device becomes a
reading with a reason (data), never a crashed cycle, so one broken device cannot stop the others.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from netmon.collectors.probe import Prober
from netmon.collectors.snmp import SnmpCollector
from netmon.collectors.ssh import SshCollector
from netmon.collectors.walk import walk_columns
from netmon.drift import RULE_SETS, compare
from netmon.errors import CollectorError
from netmon.evaluate import evaluate, needs_recheck
from netmon.history import History, record_change
from netmon.kinds import KINDS
from netmon.kinds.names import Lookup, NameCache
from netmon.links import SYS_UPTIME
from netmon.model import (
    ConfigStatus,
    DeviceReading,
    Inventory,
    MemberObservation,
    MemberSpec,
    MemberView,
    Oid,
    PairSpec,
    PairStatus,
    Probe,
    ProbeResult,
    Role,
    Value,
    ssh_probe,
)
from netmon.observe import Tables, intent_columns, observe, pair_probes
from netmon.store import StateStore

log = logging.getLogger(__name__)

Clock = Callable[[], float]
# Probe results of one round: by device name (members' addresses), and for the virtual IP.
ProbeOutcome = tuple[dict[str, tuple[ProbeResult, ...]], tuple[ProbeResult, ...]]
Readings = dict[tuple[str, str], DeviceReading]
# The walk of the table a unit name is looked up in (ifName/ifDescr of one device): the whole
# walk gives up after this long (what was read is kept; each request has the device's timeout).
NAME_WALK_DEADLINE = 30.0
# The tables walked whole for the intent (the groups' virtual addresses): walked again in the
# background once this old. Intent drift is a ticket: minutes are soon enough.
INTENT_TABLE_MAX_AGE = 300.0


@dataclass
class _Named:
    """A pair whose members name units (`interface: NAME`, keepalived's `vrid`), for one poll:
    `spec` with every index found filled into the params, `reads` without the members whose
    name was not found (nothing to read for them), and their views."""

    spec: PairSpec
    reads: PairSpec
    views: dict[str, MemberView] = field(default_factory=dict)
    lookups: dict[str, Lookup] = field(default_factory=dict)  # by member, the ones resolved
    walked: set[str] = field(default_factory=set)  # members whose table was walked just now


class PairLog(logging.LoggerAdapter[logging.Logger]):
    def process(self, msg: str, kwargs: object) -> tuple[str, object]:  # type: ignore[override]
        extra = self.extra or {}
        return f"[pair {extra.get('pair')}] {msg}", kwargs


class Poller:
    def __init__(
        self,
        inventory: Inventory,
        store: StateStore,
        snmp: SnmpCollector,
        clock: Clock = time.time,
        ssh: SshCollector | None = None,
        prober: Prober | None = None,
        history: History | None = None,
    ) -> None:
        self.prober = prober
        self.history = history
        self.inventory = inventory
        self.store = store
        self.snmp = snmp
        self.ssh = ssh or SshCollector()
        self.clock = clock
        # A trap-triggered poll and a scheduled one never run at once for the same pair.
        self._locks: dict[str, asyncio.Lock] = {}
        self._probe_tasks: dict[str, asyncio.Task[ProbeOutcome]] = {}
        self._probe_results: dict[str, ProbeOutcome] = {}
        # What each pair reads, worked out once per pair spec (a reload brings new specs).
        self._reads: dict[str, tuple[PairSpec, dict[tuple[str, str], list[Probe]]]] = {}
        # Units named in params, resolved per device (netmon.kinds.names), and per pair the
        # specs they resolved to: the same objects while nothing changes (reads stay cached).
        self.names = NameCache(self._walk_names, clock)
        self._named: dict[str, tuple[PairSpec, tuple[MemberSpec, ...], PairSpec, PairSpec]] = {}
        self._lookups: dict[str, tuple[PairSpec, dict[str, Lookup]]] = {}
        # Tables read whole for the intent (a kind's `intent_columns`), per device: the same
        # mechanism, kept `INTENT_TABLE_MAX_AGE` (netmon.kinds.names.NameCache.rows).
        self.tables = NameCache(self._walk_names, clock)

    async def read_device(
        self, name: str, probes: Sequence[Probe], collector: str = "snmp"
    ) -> DeviceReading:
        device = self.inventory.devices.get(name)
        if device is None:
            return DeviceReading(
                name, collector, self.clock(), ok=False, reason="config", detail="unknown device"
            )
        try:
            if collector == "ssh":
                return await self.ssh.poll(device, probes)
            return await self.snmp.poll(device, probes)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the blind catch: a bug or surprise becomes data
            log.exception("device %s: unexpected error while polling over %s", name, collector)
            return DeviceReading(
                name,
                collector,
                self.clock(),
                ok=False,
                reason="internal",
                detail=type(exc).__name__,
            )

    def _start_probes(self, pair: PairSpec) -> asyncio.Task[ProbeOutcome]:
        """Probes run beside the polls, never in their way: a lost probe waits its whole timeout,
        and a verdict (a trap-triggered one above all) must not wait for it. Each poll uses the
        latest finished round and starts the next one."""
        running = self._probe_tasks.get(pair.name)
        if running is not None and not running.done():
            return running
        task = asyncio.get_running_loop().create_task(self.probe_paths(pair))

        def keep(done: asyncio.Task[ProbeOutcome]) -> None:
            if not done.cancelled() and done.exception() is None:
                self._probe_results[pair.name] = done.result()
                self._judge_probes(pair)

        task.add_done_callback(keep)
        self._probe_tasks[pair.name] = task
        return task

    def _judge_probes(self, pair: PairSpec) -> None:
        """A finished probe round is judged at once, with the members' last answers: large-packet
        loss shows one poll sooner than waiting for the next cycle would."""
        previous = self.store.previous(pair.name)
        if previous is None or self.inventory.pair(pair.name) is not pair:
            return
        by_device, vip = self._probe_results.get(pair.name, ({}, ()))
        members = [replace(m, probes=by_device.get(m.device, ())) for m in previous.members]
        status = evaluate(pair, members, previous, self.clock(), vip)
        if status.state is not previous.state or status.reasons != previous.reasons:
            self._record(pair, status)

    def _record(self, pair: PairSpec, status: PairStatus) -> None:
        previous = self.store.previous(pair.name)
        change = self.store.record_status(status)
        record_change(self.history, previous, status, change)
        if change is not None:
            plog = PairLog(log, {"pair": pair.name})
            level = logging.INFO if change.new.value == "healthy" else logging.WARNING
            plog.log(
                level,
                "%s -> %s%s",
                change.old.value if change.old else "(start)",
                change.new.value,
                f": {'; '.join(change.reasons)}" if change.reasons else "",
            )

    def _pair_reads(self, pair: PairSpec) -> dict[tuple[str, str], list[Probe]]:
        cached = self._reads.get(pair.name)
        if cached is None or cached[0] is not pair:
            cached = self._reads[pair.name] = (pair, pair_probes(pair))
        return cached[1]

    async def _read_pair(self, pair: PairSpec) -> Readings:
        grouped = self._pair_reads(pair)
        keys = list(grouped)
        results = await asyncio.gather(*(self.read_device(d, grouped[(d, c)], c) for d, c in keys))
        return dict(zip(keys, results, strict=True))

    async def _walk_names(
        self, device_name: str, columns: tuple[Oid, ...]
    ) -> tuple[dict[Oid, Value], list[str]]:
        device = self.inventory.devices.get(device_name)
        if device is None or device.snmp is None:
            raise CollectorError(device_name, "unknown device, or no SNMP settings")
        walked = await walk_columns(self.snmp, device, columns, deadline=NAME_WALK_DEADLINE)
        return walked.values, walked.problems()

    def _where(self, device_name: str) -> object:
        device = self.inventory.devices.get(device_name)
        return (device.address, device.snmp.port if device.snmp else None) if device else None

    async def _resolve_member(
        self, member: MemberSpec, lookup: Lookup
    ) -> tuple[MemberSpec, MemberView | None, bool]:
        where = self._where(member.device)
        try:
            cached = self.names.cached(member.device, lookup, where)
            if cached is None:
                cached = await self.names.resolve(member.device, lookup, where)
            index, reason, walked = cached
        except asyncio.CancelledError:
            raise
        except CollectorError as exc:  # the device did not answer the walk: nothing cached
            return member, MemberView(Role.UNREACHABLE, reason=exc.reason), False
        except Exception as exc:  # the blind catch, as in read_device
            log.exception("device %s: unexpected error while resolving a name", member.device)
            return member, MemberView(Role.UNKNOWN, reason=f"internal: {type(exc).__name__}"), False
        if index is None:
            return member, MemberView(Role.UNKNOWN, reason=reason), walked
        params = replace(member.params, **{lookup.field: index})  # type: ignore[type-var]
        return replace(member, params=params), None, walked

    async def _resolve_names(self, pair: PairSpec) -> _Named | None:
        """`pair` with the units its members name resolved, or None when none names one."""
        known = self._lookups.get(pair.name)
        if known is None or known[0] is not pair:  # worked out once per pair spec
            lookup_of = getattr(KINDS.get(pair.kind), "lookup", None)
            found_here: dict[str, Lookup] = {}
            for member in pair.members:
                lookup = lookup_of(member.params) if callable(lookup_of) else None
                if lookup is not None:
                    found_here[member.name] = lookup
            known = self._lookups[pair.name] = (pair, found_here)
        lookups = known[1]
        if not lookups:
            return None
        named = [m for m in pair.members if m.name in lookups]
        if all(self.names.cached(m.device, lookups[m.name], self._where(m.device)) for m in named):
            # Every name known: resolved without yielding to the event loop, so the reads of
            # this pair still share a device's request with the other pairs polled with it.
            done = [await self._resolve_member(m, lookups[m.name]) for m in named]
        else:
            done = await asyncio.gather(*(self._resolve_member(m, lookups[m.name]) for m in named))
        found = {spec.name: (spec, view, walked) for spec, view, walked in done}
        members = tuple(found[m.name][0] if m.name in found else m for m in pair.members)
        views = {name: view for name, (_, view, _) in found.items() if view is not None}
        cached = self._named.get(pair.name)
        if cached is not None and cached[0] is pair and cached[1] == members:
            spec, reads = cached[2], cached[3]
        else:
            spec = replace(pair, members=members)
            reads = replace(spec, members=tuple(m for m in members if m.name not in views))
            self._named[pair.name] = (pair, members, spec, reads)
        return _Named(
            spec,
            reads,
            views,
            {n: lk for n, lk in lookups.items() if n not in views},
            {n for n, (_, _, walked) in found.items() if walked},
        )

    def _names_stale(
        self, named: _Named, readings: Readings, observations: list[MemberObservation]
    ) -> bool:
        """Whether a table a name was found in is out of date: the device restarted (sysUpTime
        went backwards) or the unit found stopped answering (noSuchInstance)."""
        stale = False
        devices = {m.device for m in named.spec.members if m.name in named.lookups}
        for device in devices:
            reading = readings.get((device, "snmp"))
            uptime = reading.values.get(SYS_UPTIME) if reading is not None and reading.ok else None
            if isinstance(uptime, int) and self.names.saw_uptime(device, uptime):
                stale = True
        for obs in observations:
            lookup = named.lookups.get(obs.member)
            if lookup is None or stale:
                continue
            if obs.view.missing:
                walked = obs.member in named.walked
                stale |= self.names.saw_missing(obs.device, lookup, walked=walked)
            else:
                self.names.saw_answer(obs.device, lookup)
        return stale

    def _tables_stale(self, pair: PairSpec, readings: Readings) -> bool:
        """A member's device restarted (sysUpTime went back) since its intent tables were
        walked: an agent may number interfaces and instances anew; the tables are forgotten."""
        stale = False
        for device in {m.device for m in pair.members}:
            reading = readings.get((device, "snmp"))
            uptime = reading.values.get(SYS_UPTIME) if reading is not None and reading.ok else None
            if isinstance(uptime, int) and self.tables.saw_uptime(device, uptime):
                stale = True
        return stale

    async def _read_tables(self, pair: PairSpec, *, wait: bool) -> dict[str, Mapping[Oid, Value]]:
        """The intent columns of the pair's kind, per member device (a failed walk: absent).
        `wait`: for the first walk (one-shot checks); the daemon's polls never wait for it."""
        columns = intent_columns(pair)
        devices = list(dict.fromkeys(m.device for m in pair.members))
        got = await asyncio.gather(
            *(
                self.tables.rows(d, columns, self._where(d), INTENT_TABLE_MAX_AGE, wait=wait)
                for d in devices
            )
        )
        return {d: rows for d, rows in zip(devices, got, strict=True) if rows is not None}

    def _observe(
        self,
        pair: PairSpec,
        named: _Named | None,
        readings: Readings,
        by_device: dict[str, tuple[ProbeResult, ...]],
        tables: Tables | None = None,
    ) -> list[MemberObservation]:
        if named is None:
            return observe(pair, readings, by_device, tables)
        now = self.clock()
        return [
            MemberObservation(o.member, o.device, named.views[o.member], at=now)
            if o.member in named.views
            else o
            for o in observe(named.spec, readings, by_device, tables)
        ]

    async def poll_once(self, pair: PairSpec, *, wait_for_probes: bool = False) -> PairStatus:
        probing = self._start_probes(pair) if self.prober and pair.probes.enabled else None
        named = await self._resolve_names(pair)
        # Started beside the reads (never before them: a device's reads of several pairs share
        # one request only when they start in the same event-loop turn).
        tabling = (
            asyncio.ensure_future(self._read_tables(pair, wait=wait_for_probes))
            if intent_columns(pair)
            else None
        )
        try:
            readings = await self._read_pair(named.reads if named else pair)
        except BaseException:
            if tabling is not None:
                tabling.cancel()
            raise
        tables = await tabling if tabling is not None else {}
        if tables and self._tables_stale(pair, readings):
            tables = {}  # walked before a restart was seen: not known this poll, walked anew
        if wait_for_probes and probing is not None:  # one-shot checks have no earlier round
            await asyncio.wait({probing})
        by_device, vip = self._probe_results.get(pair.name, ({}, ()))
        observations = self._observe(pair, named, readings, by_device, tables)
        if named is not None and self._names_stale(named, readings, observations):
            # A restart or a vanished row: walk again now, and read again if an index moved,
            # rather than judge this poll on a row that is no longer the member's.
            for device in {m.device for m in pair.members}:
                self.tables.forget(device)  # numbered anew, perhaps: walked again next poll
            tables = {}
            again = await self._resolve_names(pair)
            if again is not None and again.spec is not named.spec:
                named, readings = again, await self._read_pair(again.reads)
                observations = self._observe(pair, named, readings, by_device, tables)
        self.store.record_readings(list(readings.values()))
        now = self.clock()
        status = evaluate(pair, observations, self.store.previous(pair.name), now, vip)
        self._record(pair, status)
        return status

    async def probe_paths(self, pair: PairSpec) -> ProbeOutcome:
        """Small and large DF probes to every member's address and to the pair's virtual IP."""
        settings = pair.probes
        if self.prober is None or not settings.enabled:
            return {}, ()
        targets: dict[str, str] = {}  # address -> device name ("" for the VIP)
        for member in pair.members:
            device = self.inventory.devices.get(member.device)
            if device is not None:
                targets.setdefault(device.address, member.device)
        if pair.virtual_ip:
            targets.setdefault(pair.virtual_ip, "")
        jobs = [
            (address, self.prober.probe(address, size, settings.count, settings.timeout))
            for address in targets
            for size in (settings.small_size, settings.large_size)
        ]
        try:
            done = await asyncio.gather(*(job for _, job in jobs))
        except OSError:
            log.exception("pair %s: path probes failed", pair.name)
            return {}, ()
        by_device: dict[str, tuple[ProbeResult, ...]] = {}
        vip: tuple[ProbeResult, ...] = ()
        for (address, _), result in zip(jobs, done, strict=True):
            if address == pair.virtual_ip:
                vip = (*vip, result)
            owner = targets[address]
            if owner:
                by_device[owner] = (*by_device.get(owner, ()), result)
        return by_device, vip

    async def poll_pair(
        self, name: str, *, wait_for_probes: bool = False, settle: bool = True
    ) -> PairStatus | None:
        """The scheduled job for one pair. Re-polls once when a dual-active window needs settling.

        `settle=False` is for a watcher that polls again at once anyway (a drill timing a
        takeover): sleeping out the split-brain debounce would add it to the measured time."""
        pair = self.inventory.pair(name)
        if pair is None:
            return None
        lock = self._locks.setdefault(name, asyncio.Lock())
        try:
            async with lock:
                status = await self.poll_once(pair, wait_for_probes=wait_for_probes)
                wait = needs_recheck(status, pair) if settle else None
                if wait is not None:
                    await asyncio.sleep(wait + 0.01)
                    status = await self.poll_once(pair, wait_for_probes=wait_for_probes)
        except asyncio.CancelledError:
            return None  # shutting down: the scheduler need not log a cancelled poll as a failure
        except Exception:  # never let a pair's job die: the scheduler would log and go on anyway
            log.exception("pair %s: poll failed", name)
            return None
        return status

    async def check_config(self, name: str) -> ConfigStatus | None:
        """Fetch every member's config over SSH and compare (the drift job of one pair)."""
        pair = self.inventory.pair(name)
        if pair is None or pair.config is None:
            return None
        check = pair.config
        try:
            results = await asyncio.gather(
                *(
                    self.read_device(m.device, [ssh_probe("config", check.command)], "ssh")
                    for m in pair.members
                )
            )
            self.store.record_readings(results)
            failed = [(m, r) for m, r in zip(pair.members, results, strict=True) if not r.ok]
            now = self.clock()
            if failed:
                member, reading = failed[0]
                status = ConfigStatus(name, now, None, reason=f"{member.name}: {reading.reason}")
            else:
                configs = {
                    m.name: str(r.values.get(check.command, ""))
                    for m, r in zip(pair.members, results, strict=True)
                }
                own = {m.name: self._own_names(m.name, m.device) for m in pair.members}
                result = compare(configs, RULE_SETS[check.rules], check.ignore, own)
                status = ConfigStatus(name, now, result.in_sync, result.diff)
        except asyncio.CancelledError:
            return None
        except Exception:  # never let the drift job die; the next run tries again
            log.exception("pair %s: config check failed", name)
            return None
        old = self.store.configs().get(name)
        if old is None or old.in_sync != status.in_sync:
            PairLog(log, {"pair": name}).log(
                logging.INFO if status.in_sync else logging.WARNING,
                "configs %s%s",
                {True: "in sync", False: "differ", None: "unknown"}[status.in_sync],
                f" ({status.reason})" if status.reason else "",
            )
        self.store.record_config(status)
        return status

    def _own_names(self, member: str, device_name: str) -> list[str]:
        """What differs by design in each member's config: its own names and address."""
        device = self.inventory.devices.get(device_name)
        return [member, device_name, device.address if device else ""]

    async def poll_all(self) -> list[PairStatus]:
        """One poll of every pair, probes included (for `netmon check`)."""
        polls = (self.poll_pair(p.name, wait_for_probes=True) for p in self.inventory.pairs)
        results = await asyncio.gather(*polls)
        return [r for r in results if r is not None]
