"""The daemon: inventory -> scheduler -> poller -> store -> HTTP. A composition root.

SIGHUP reloads the inventory (a bad file keeps the old one and logs why); SIGTERM/SIGINT stop
within a few seconds: the scheduler stops, in-flight polls are cancelled, the server closes.
An inventory with `source:` takes its pairs from NetBox (netmon/inventory/live.py): refreshed on
its own schedule and at SIGHUP, the last good inventory kept whenever a refresh fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from apscheduler.events import (
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    EVENT_JOB_SUBMITTED,
    JobExecutionEvent,
    JobSubmissionEvent,
)
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from netmon.collectors.probe import Prober
from netmon.collectors.snmp import SnmpCollector
from netmon.collectors.ssh import SshCollector
from netmon.collectors.traps import TrapReceiver
from netmon.drills.journal import (
    DrillRow,
    Journal,
    default_replica,
    holder_name,
    journal_path,
    latest_drills,
    open_journal,
)
from netmon.drills.runner import DrillRunner
from netmon.errors import CollectorError, ConfigError
from netmon.evaluate import needs_recheck
from netmon.exporter import MetricsServer, snapshot_source
from netmon.history import history_path, open_history
from netmon.inventory.live import LiveSource, SourceError, read_source
from netmon.inventory.loader import load_inventory_file, load_unless_source
from netmon.inventory.netbox import safe_url
from netmon.model import Inventory, PairSpec, Secret
from netmon.pager import TOKEN_ENV, Pager, PagerTls
from netmon.poller import Poller
from netmon.shard import Shard, for_shard, owns
from netmon.skipped import SkippedPolls, quiet_apscheduler
from netmon.statedb import StateConfig, StateError, mask_dsn
from netmon.store import StateStore
from netmon.webconfig import load_web_config

log = logging.getLogger(__name__)
T = TypeVar("T")

CONFIG_JOB = ":config"  # job id suffix of a pair's drift check
SOURCE_JOB = ":source"  # job id of the live inventory source's refresh (no pair has this name)
SOURCE_RETRY = 30.0  # seconds between refreshes while the source is failing
DRILL_WATCH = 5.0  # seconds between looks for drills whose process died (lease: 15 s)
STOP_GRACE = 3.0  # seconds in-flight polls get after SIGTERM before they are cancelled
# A pair-poll costs well under 1 ms of CPU (docs/performance.md): starting at most this many per
# second keeps a 5,000-pair inventory from bursting at start while a small one starts at once.
STARTS_PER_SECOND = 500.0


def poll_offsets(pairs: Sequence[PairSpec]) -> dict[str, float]:
    """Seconds from the schedule's start to each pair's first poll.

    Polls are spread evenly, not randomly: random jitter still lets many polls land in the same
    instant, and a burst of thousands of polls is what makes polls start late. Pairs that share
    a device share an offset, so their requests to it leave in the same moment."""
    groups: dict[str, list[PairSpec]] = {}
    for pair in pairs:
        key = min((m.device for m in pair.members), default=pair.name)
        groups.setdefault(key, []).append(pair)
    window = len(groups) / STARTS_PER_SECOND
    offsets: dict[str, float] = {}
    for i, key in enumerate(sorted(groups)):
        for pair in groups[key]:
            offsets[pair.name] = min(window, pair.interval) * i / len(groups)
    return offsets


async def in_thread(work: Callable[[], T]) -> T:
    """`work()` in a daemon thread of its own. Not asyncio.to_thread: the loop's default
    executor is waited for, without limit, when asyncio.run ends, so a NetBox read still
    hanging would keep a stopped daemon's process alive."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[T] = loop.create_future()

    def settle(value: T | None, error: BaseException | None) -> None:
        if done.done():
            return  # cancelled: the daemon stopped waiting
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(value)  # type: ignore[arg-type]

    def run() -> None:
        value: T | None = None
        error: BaseException | None = None
        try:
            value = work()
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting task
            error = exc
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            loop.call_soon_threadsafe(settle, value, error)

    threading.Thread(target=run, name="netmon-source", daemon=True).start()
    return await done


def parse_listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"--listen must be HOST:PORT, got {text!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


class Daemon:
    def __init__(
        self,
        inventory_path: Path,
        listen: tuple[str, int],
        web_config: Path | None = None,
        *,
        replica: str | None = None,
        shard: Shard | None = None,
        state_dsn: str | None = None,
        alertmanagers: Sequence[str] = (),
        alertmanager_tls: PagerTls | None = None,
    ) -> None:
        self.inventory_path = inventory_path
        # Pages straight to the Alertmanagers, seconds after the poll (netmon/pager.py); its
        # bearer token from the environment only. A bad URL or TLS file: ConfigError (exit 2).
        tls = alertmanager_tls or PagerTls()
        self.pager = (
            Pager(alertmanagers, tls=tls, token=os.environ.get(TOKEN_ENV))
            if alertmanagers or tls.given()
            else None
        )
        self.listen = listen
        self.replica = replica or default_replica()
        self.shard = shard
        # TLS and basic auth for /metrics and /api; a bad file is a ConfigError (exit 2).
        self.web = load_web_config(web_config) if web_config is not None else None
        # ConfigError: the CLI exits 2. A shard watches only its own pairs. A source file's
        # pairs come from NetBox now, else its last good inventory, else none until it answers.
        self.live: LiveSource | None = None
        loaded = load_unless_source(inventory_path)
        if loaded is None:
            self.live = LiveSource(read_source(inventory_path))
            loaded = self.live.start()
        self.inventory: Inventory = for_shard(loaded, shard)
        self._refreshing: asyncio.Task[None] | None = None
        self._again = False  # a SIGHUP came while a requested refresh ran
        # The shared state: --state-dsn (from the environment) over the inventory's `state:`;
        # neither: SQLite files beside the journal, as a single process has always used.
        dsn = Secret("--state-dsn", state_dsn) if state_dsn else self.inventory.state_dsn
        self.state = StateConfig(dsn)
        self.journal: Journal | None = None
        self._drill_cache: dict[str, DrillRow] = {}
        self.state_up = True
        self.store = StateStore(self.inventory)
        self.snmp = SnmpCollector()
        self.ssh = SshCollector(self.inventory.ssh_sessions)
        self.prober = Prober()
        self.poller = Poller(
            self.inventory, self.store, self.snmp, ssh=self.ssh, prober=self.prober
        )
        self.scheduler: AsyncIOScheduler | None = None
        self.server: MetricsServer | None = None
        self._stop = asyncio.Event()
        self.address: tuple[str, int] | None = None
        self.traps: TrapReceiver | None = None
        self._trap_pending: set[str] = set()
        # Pairs whose dual-active window a background poll will settle (see _scheduled_poll).
        self._settling: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        # When each pair's current poll was due (from the scheduler), to measure how late it ran.
        self._due: dict[str, float] = {}
        self.lag_samples: deque[float] = deque(maxlen=100_000)
        # Skipped polls, summarised once a minute instead of APScheduler's line per job per run.
        self.skipped = SkippedPolls(log)

    # -- traps ----------------------------------------------------------------------------

    def _start_traps(self) -> None:
        if self.traps is not None:
            self.traps.close()
            self.traps = None
        settings = self.inventory.traps
        if settings is None:
            return
        receiver = TrapReceiver(settings, self.on_trap, on_drop=self.store.record_trap_dropped)
        try:
            receiver.start()
        except CollectorError as exc:
            # Polling still works without traps: say so loudly and go on.
            log.error("traps disabled: %s", exc)  # noqa: TRY400 - no traceback for a bind error
            return
        self.traps = receiver

    def on_trap(self, source: str, trap: str | None) -> None:
        """A notification arrived: poll every pair of the device that sent it, at once."""
        devices = [d.name for d in self.inventory.devices.values() if d.address == source]
        self.store.record_trap(devices[0] if devices else None)
        if trap is None or not devices:
            log.debug("trap from %s ignored (%s)", source, trap or "not a state change")
            return
        for pair in self.inventory.pairs:
            if pair.name in self._trap_pending or not any(
                m.device in devices for m in pair.members
            ):
                continue
            log.info("trap %s from %s: polling %s now", trap, devices[0], pair.name)
            self._trap_pending.add(pair.name)
            task = asyncio.get_running_loop().create_task(self._trap_poll(pair.name))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _trap_poll(self, pair: str) -> None:
        # Traps come in bursts (one per instance and MIB): let the burst land, then poll once.
        await asyncio.sleep(0.05)
        self._trap_pending.discard(pair)
        await self._poll(pair)

    # -- jobs -----------------------------------------------------------------------------

    def _schedule(self, inventory: Inventory) -> None:
        assert self.scheduler is not None
        wanted = {p.name for p in inventory.pairs}
        wanted |= {f"{p.name}{CONFIG_JOB}" for p in inventory.pairs if p.config is not None}
        if self.live is not None:
            wanted.add(SOURCE_JOB)
            self._schedule_source()
        for job in self.scheduler.get_jobs():
            if job.id not in wanted:
                job.remove()
        now = datetime.now(UTC)
        offsets = poll_offsets(inventory.pairs)
        for pair in inventory.pairs:
            start = now + timedelta(seconds=offsets[pair.name])
            self.scheduler.add_job(
                self._scheduled_poll,
                "interval",
                seconds=pair.interval,
                args=[pair.name],
                id=pair.name,
                name=f"poll {pair.name}",
                max_instances=1,
                coalesce=True,
                misfire_grace_time=max(int(pair.interval), 1),
                next_run_time=start,
                replace_existing=True,
            )
            if pair.config is not None:
                # Drift is slow-moving: checked on its own, slower schedule, first a few seconds in.
                self.scheduler.add_job(
                    self.poller.check_config,
                    "interval",
                    seconds=pair.config.interval,
                    jitter=min(pair.config.interval * 0.1, 30.0),
                    args=[pair.name],
                    id=f"{pair.name}{CONFIG_JOB}",
                    name=f"config drift {pair.name}",
                    max_instances=1,
                    coalesce=True,
                    misfire_grace_time=max(int(pair.config.interval), 1),
                    next_run_time=now + timedelta(seconds=random.uniform(1, 3)),  # noqa: S311
                    replace_existing=True,
                )

    def _schedule_source(self) -> None:
        """The source's refresh job: added once, replaced only when its interval changes (a
        SIGHUP must not move it, nor any poll)."""
        assert self.scheduler is not None
        assert self.live is not None
        job = self.scheduler.get_job(SOURCE_JOB)
        interval = self.live.source.interval
        if job is not None and job.trigger.interval.total_seconds() == interval:
            return
        # Never refreshed yet (NetBox was down at start): try again sooner than a full interval.
        first = interval if self.live.status.up else min(interval, SOURCE_RETRY)
        self.scheduler.add_job(
            self._refresh_source,
            "interval",
            seconds=interval,
            id=SOURCE_JOB,
            name="refresh the inventory source",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=max(int(interval), 1),
            next_run_time=datetime.now(UTC) + timedelta(seconds=first),
            replace_existing=True,
        )

    async def _refresh_source(self, *, requested: bool = False) -> None:
        """One refresh from the source; a failure keeps the running inventory (and says so).
        `requested`: by SIGHUP, which applies what NetBox says even if it looks the same (a
        rotated secret file compares equal) and accepts a shrink."""
        live = self.live
        assert live is not None
        try:
            inventory = await in_thread(lambda: live.refresh(accept_shrink=requested))
        except Exception as exc:  # SourceError, or anything: never a dead job
            if not isinstance(exc, SourceError):
                log.exception("inventory source: the refresh failed")
                live.status = replace(live.status, up=False, last_error=type(exc).__name__)
            retry = min(live.source.interval, SOURCE_RETRY)
            log.error(  # noqa: TRY400 - an outage of NetBox needs no traceback
                "inventory source: %s; keeping the running inventory (%d pairs); next try in %g s",
                exc, len(self.inventory.pairs), retry,
            )  # fmt: skip
            if self.scheduler is not None and self.scheduler.get_job(SOURCE_JOB) is not None:
                # Sooner than the interval while the source is down; the interval after a success.
                self.scheduler.modify_job(
                    SOURCE_JOB, next_run_time=datetime.now(UTC) + timedelta(seconds=retry)
                )
            if not requested:
                return
            # A SIGHUP while NetBox is down: the source file's new settings (a rotated secret,
            # a match rule) still apply, to NetBox's last answer kept on disk.
            try:
                kept = await in_thread(live.last_good)
            except Exception:
                log.exception("inventory source: the kept answer could not be rebuilt")
                return
            if kept is None:
                return
            inventory = kept
        inventory = for_shard(inventory, self.shard)
        if inventory == self.inventory:
            if requested:
                # Equal as compared (a Secret compares by where it comes from): a secret file
                # may still have been rotated. Take the new objects, move no poll.
                self._apply(inventory, live.source.describe(), reschedule=False)
            else:
                log.debug("inventory source: unchanged (%d pairs)", len(inventory.pairs))
            return
        self._apply(inventory, live.source.describe())

    async def _requested_refreshes(self) -> None:
        while True:
            self._again = False
            await self._refresh_source(requested=True)
            if not self._again:
                return

    def _refresh_soon(self) -> None:
        if self._refreshing is not None and not self._refreshing.done():
            # The running refresh may have read the settings before this SIGHUP's: one more.
            self._again = True
            return
        task = asyncio.get_running_loop().create_task(self._requested_refreshes())
        self._refreshing = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_job_event(self, event: JobSubmissionEvent | JobExecutionEvent) -> None:
        self.skipped.tick()  # every submission passes here: the summary needs no timer
        if event.job_id.endswith(CONFIG_JOB) or event.job_id == SOURCE_JOB:
            return
        if isinstance(event, JobSubmissionEvent):
            times = event.scheduled_run_times
            if event.code == EVENT_JOB_SUBMITTED:
                self._due[event.job_id] = times[-1].timestamp()
                missed = len(times) - 1  # runs coalesced into this one
                why = "merged into a late poll"
            else:  # the previous poll of this pair was still running
                missed = len(times)
                why = "previous poll still running"
        else:
            missed = 1  # later than the grace time: skipped
            why = "started too late"
        if missed:
            self.store.record_missed_polls(missed)
            self.skipped.record(event.job_id, missed, why)

    async def _scheduled_poll(self, name: str) -> None:
        due = self._due.pop(name, None)
        if due is not None:
            lag = max(0.0, time.time() - due)
            self.store.record_poll_lag(lag)
            self.lag_samples.append(lag)
        await self._poll(name)

    async def _poll(self, name: str) -> None:
        """One poll of a pair; a dual-active window it leaves pending is settled by a poll of
        its own once the split-brain debounce has passed.

        Not settled inside the poll: sleeping out the debounce and polling again there (under
        the pair's lock) kept the scheduled job running past its next fire time, and APScheduler
        skipped that run: every split-brain or failover counted a missed poll, and two within
        10 minutes raised NetmonFallingBehind, a false ticket about netmon itself."""
        status = await self.poller.poll_pair(name, settle=False)
        pair = self.poller.inventory.pair(name)
        wait = needs_recheck(status, pair) if status is not None and pair is not None else None
        if wait is not None and name not in self._settling:
            self._settling.add(name)
            task = asyncio.get_running_loop().create_task(self._settle(name, wait))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _settle(self, name: str, wait: float) -> None:
        try:
            await asyncio.sleep(wait + 0.01)
        finally:
            self._settling.discard(name)
        # The debounce has passed: this poll's verdict is settled (split-brain, or one active).
        await self.poller.poll_pair(name, settle=False)

    def reload(self) -> bool:
        """SIGHUP. A written inventory is read again; a source file is read again (its settings)
        and the source refreshed at once, in the background."""
        try:
            if self.live is not None:
                self.live.source = read_source(self.inventory_path)
            else:
                inventory = for_shard(load_inventory_file(self.inventory_path), self.shard)
        except ConfigError as exc:
            log.error(  # noqa: TRY400 - a config mistake needs no traceback
                "reload of %s failed; keeping the running inventory:\n%s", self.inventory_path, exc
            )
            return False
        if self.live is not None:
            log.info("reload: refreshing from %s", self.live.source.describe())
            if self.scheduler is not None:
                self._schedule_source()  # a changed interval takes effect now; no poll moves
            self._refresh_soon()
            return True
        self._apply(inventory, str(self.inventory_path))
        return True

    def _apply(self, inventory: Inventory, where: str, *, reschedule: bool = True) -> None:
        if inventory.state_dsn != self.inventory.state_dsn and self.state.dsn is not None:
            # Moving the journal under running drills would hide them from recovery.
            log.warning("reload: the state database setting changed; it takes effect at restart")
        self.inventory = inventory
        self.poller.inventory = inventory
        self.snmp.forget_credentials()
        self.store.set_inventory(inventory)
        if reschedule:
            self._schedule(inventory)
        self._start_traps()
        log.info(
            "reloaded %s: %d devices, %d pairs", where, len(inventory.devices), len(inventory.pairs)
        )

    # -- lifecycle ------------------------------------------------------------------------

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        journal = journal_path(self.inventory.drill_journal)
        try:
            history = open_history(history_path(journal), self.state, self.replica)
            history.background()
            self.poller.history = history
        except StateError as exc:
            # Watching matters more than remembering: run on, and say so on every start.
            log.error("pair history disabled: %s", exc)  # noqa: TRY400
        self.server = MetricsServer(
            self.listen,
            snapshot_source(self.store),
            drills=lambda: self._drills(journal),
            web=self.web,
            extra=self._own_metrics,
            source=self._source_json if self.live is not None else None,
        )
        self.address = self.server.server_address[:2]
        self.server.start()
        self.scheduler = AsyncIOScheduler(event_loop=loop, timezone=UTC)
        quiet_apscheduler()  # its per-job skip lines: _on_job_event counts and summarises them
        self.scheduler.add_listener(
            self._on_job_event, EVENT_JOB_SUBMITTED | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES
        )
        self._schedule(self.inventory)
        self.scheduler.start()
        self._start_traps()
        watcher = loop.create_task(self._watch_drills(journal))
        self._tasks.add(watcher)
        watcher.add_done_callback(self._tasks.discard)
        if self.pager is not None:
            paging = loop.create_task(self._page())
            self._tasks.add(paging)
            paging.add_done_callback(self._tasks.discard)
        loop.add_signal_handler(signal.SIGHUP, self.reload)
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop)
        host, port = self.server.server_address[:2]
        log.info(
            "netmon replica %s%s watching %d pairs on %d devices; state in %s; metrics on http://%s:%d/metrics",
            self.replica, f" (shard {self.shard})" if self.shard else "",
            len(self.inventory.pairs), len(self.inventory.devices),
            (self.state.dsn and mask_dsn(self.state.dsn.reveal())) or journal.parent, host, port,
        )  # fmt: skip
        try:
            await self._stop.wait()
        finally:
            await self._shutdown()

    async def _page(self) -> None:
        """Each second: send what pages now (a change at once, else every RESEND). Nothing is
        sent at a stop: the other replicas keep a page up, and a lone one's ends by itself."""
        assert self.pager is not None
        failing = False
        while not self._stop.is_set():
            try:
                await asyncio.to_thread(self.pager.tick, self.store.snapshot(time.time()))
                failing = False
            except Exception:
                # Never the end of paging: the next second tries again (Pager.tick itself never
                # raises; this guards the snapshot). Logged once until it works again.
                if not failing:
                    log.exception("direct pages: the verdicts could not be read (trying again)")
                failing = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), 1.0)

    def _drills(self, path: Path) -> dict[str, DrillRow]:
        # SQLite: read at each scrape, as before (local and fast). PostgreSQL: the watcher's
        # copy, so that a scrape never waits for a database that may be away.
        return self._drill_cache if self.state.shared else latest_drills(path)

    async def _watch_drills(self, path: Path) -> None:
        """Every DRILL_WATCH seconds: find drills whose process died (kill -9, a lost host: its
        lease ended) and restore their pairs; any replica may, under the pair's lease. A database
        that is away stops only this (and drills), never polling."""
        while not self._stop.is_set():
            if self.state.shared or path.exists():  # noqa: ASYNC240 - one stat, no I/O wait
                try:
                    await self._check_drills(path)
                    if not self.state_up:
                        log.warning("drill journal %s answers again", self._journal_where(path))
                    self.state_up = True
                except StateError as exc:
                    if self.state_up:
                        log.error(  # noqa: TRY400 - the reason is in the message
                            "drill journal unusable (drills are refused, recovery waits): %s", exc
                        )
                    self.state_up = False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), DRILL_WATCH)

    def _journal_where(self, path: Path) -> str:
        return self.journal.where if self.journal is not None else str(path)

    async def _check_drills(self, path: Path) -> None:
        if self.journal is None:
            self.journal = await asyncio.to_thread(open_journal, path, self.state, self.replica)
        journal = self.journal
        orphans = await asyncio.to_thread(journal.orphaned)
        if self.state.shared:
            self._drill_cache = await asyncio.to_thread(journal.last_by_pair)
        if not orphans:
            return
        runner = DrillRunner(
            self.inventory, journal, self.snmp, self.ssh, None,
            say=lambda text: log.warning("drill recovery: %s", text),
            holder=holder_name(self.replica),
            owns=lambda pair: owns(self.shard, pair),
        )  # fmt: skip
        await runner.recover()

    def _own_metrics(self) -> Iterable[Metric]:
        info = GaugeMetricFamily(
            "netmon_replica_info", "This netmon process: its replica name and shard",
            labels=["replica", "shard"],
        )  # fmt: skip
        info.add_metric([self.replica, str(self.shard) if self.shard else "1/1"], 1)
        yield info
        up = GaugeMetricFamily(
            "netmon_state_up",
            "1 when the drill journal and pair history database answered at the last try",
            labels=["backend"],
        )
        history = self.poller.history
        failing = history is not None and history.stats.failing
        up.add_metric(
            ["postgres" if self.state.shared else "sqlite"],
            1.0 if self.state_up and not failing else 0.0,
        )
        yield up
        if history is not None:
            dropped = CounterMetricFamily(
                "netmon_history_writes_dropped",
                "Pair history rows given up on (the queue overflowed while the database was away)",
            )
            dropped.add_metric([], float(history.stats.dropped))
            yield dropped
            queued = GaugeMetricFamily(
                "netmon_history_write_queue_rows", "Pair history rows waiting to be written"
            )
            queued.add_metric([], float(history.stats.queued))
            yield queued
        if self.pager is not None:
            yield from self.pager.metrics()
        if self.live is not None:
            yield from self._source_metrics(self.live)

    def _source_json(self) -> dict[str, Any]:
        """/api/v1/source: where the pairs come from and how the last refresh went, with every
        group NetBox describes that netmon cannot watch (the metric only counts them)."""
        assert self.live is not None
        status, source = self.live.status, self.live.source
        return {
            "source": "netbox",
            "url": safe_url(source.url),
            "filters": source.filters.params(),
            "interval_seconds": source.interval,
            "up": status.up,
            "using": status.using,
            "last_success": status.last_success,
            "last_error": status.last_error,
            "pairs": status.pairs,
            "refused": [{"group": r.group, "reason": r.reason} for r in status.refused],
        }

    def _source_metrics(self, live: LiveSource) -> Iterable[Metric]:
        status = live.status
        up = GaugeMetricFamily(
            "netmon_inventory_source_up",
            "1 when the last refresh of the inventory from its source succeeded",
            labels=["source"],
        )
        up.add_metric(["netbox"], 1.0 if status.up else 0.0)
        yield up
        if status.last_success is not None:
            last = GaugeMetricFamily(
                "netmon_inventory_source_last_success_timestamp_seconds",
                "When the inventory was last refreshed from its source",
                labels=["source"],
            )
            last.add_metric(["netbox"], status.last_success)
            yield last
        refused = GaugeMetricFamily(
            "netmon_inventory_source_refused_groups",
            "Groups the source describes that netmon cannot watch (named in the log)",
            labels=["source"],
        )
        refused.add_metric(["netbox"], float(len(status.refused)))
        yield refused

    async def _shutdown(self) -> None:
        started = time.monotonic()
        # Paused, not shut down, during the grace: APScheduler's asyncio executor cancels every
        # running job when it shuts down (it cannot wait), which cut each in-flight poll off at
        # once and left only its SNMP request running, unrecorded. Paused, no new poll starts.
        if self.scheduler is not None:
            self.scheduler.pause()
        current = asyncio.current_task()
        others = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
        if others:
            _, pending = await asyncio.wait(others, timeout=STOP_GRACE)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=1.0)
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            quiet_apscheduler(on=False)
        self.skipped.flush()  # the skips since the last summary, not lost with the process
        if self.server is not None:
            self.server.stop()
        if self.traps is not None:
            self.traps.close()
        self.snmp.close()
        self.ssh.close()
        if self.poller.history is not None:
            self.poller.history.close()
        if self.journal is not None:
            self.journal.close()
        self.prober.close()
        log.info("netmon stopped in %.1fs", time.monotonic() - started)
