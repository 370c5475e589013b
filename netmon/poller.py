"""One poll of one pair: read its members' devices, judge the pair, store the verdict.

This is the one place that catches blindly: whatever goes wrong while reading a device becomes a
reading with a reason (data), never a crashed cycle, so one broken device cannot stop the others.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import replace

from netmon.collectors.probe import Prober
from netmon.collectors.snmp import SnmpCollector
from netmon.collectors.ssh import SshCollector
from netmon.drift import RULE_SETS, compare
from netmon.evaluate import evaluate, needs_recheck
from netmon.history import History, record_change
from netmon.model import (
    ConfigStatus,
    DeviceReading,
    Inventory,
    PairSpec,
    PairStatus,
    Probe,
    ProbeResult,
    ssh_probe,
)
from netmon.observe import observe, pair_probes
from netmon.store import StateStore

log = logging.getLogger(__name__)

Clock = Callable[[], float]
# Probe results of one round: by device name (members' addresses), and for the virtual IP.
ProbeOutcome = tuple[dict[str, tuple[ProbeResult, ...]], tuple[ProbeResult, ...]]


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

    async def poll_once(self, pair: PairSpec, *, wait_for_probes: bool = False) -> PairStatus:
        grouped = self._pair_reads(pair)
        keys = list(grouped)
        probing = self._start_probes(pair) if self.prober and pair.probes.enabled else None
        results = await asyncio.gather(*(self.read_device(d, grouped[(d, c)], c) for d, c in keys))
        if wait_for_probes and probing is not None:  # one-shot checks have no earlier round
            await asyncio.wait({probing})
        by_device, vip = self._probe_results.get(pair.name, ({}, ()))
        readings = dict(zip(keys, results, strict=True))
        self.store.record_readings(results)
        now = self.clock()
        observations = observe(pair, readings, by_device)
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
