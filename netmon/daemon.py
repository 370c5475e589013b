"""The daemon: inventory -> scheduler -> poller -> store -> HTTP. A composition root.

SIGHUP reloads the inventory (a bad file keeps the old one and logs why); SIGTERM/SIGINT stop
within a few seconds: the scheduler stops, in-flight polls are cancelled, the server closes.
"""

from __future__ import annotations

import asyncio
import logging
import random
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from netmon.collectors.snmp import SnmpCollector
from netmon.errors import ConfigError
from netmon.exporter import MetricsServer, snapshot_source
from netmon.inventory import load_inventory
from netmon.model import Inventory
from netmon.poller import Poller
from netmon.store import StateStore

log = logging.getLogger(__name__)

STOP_GRACE = 3.0  # seconds in-flight polls get after SIGTERM before they are cancelled


def parse_listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"--listen must be HOST:PORT, got {text!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


class Daemon:
    def __init__(self, inventory_path: Path, listen: tuple[str, int]) -> None:
        self.inventory_path = inventory_path
        self.listen = listen
        self.inventory: Inventory = load_inventory(inventory_path)  # ConfigError: the CLI exits 2
        self.store = StateStore(self.inventory)
        self.snmp = SnmpCollector()
        self.poller = Poller(self.inventory, self.store, self.snmp)
        self.scheduler: AsyncIOScheduler | None = None
        self.server: MetricsServer | None = None
        self._stop = asyncio.Event()
        self.address: tuple[str, int] | None = None

    # -- jobs -----------------------------------------------------------------------------

    def _schedule(self, inventory: Inventory, *, first: bool) -> None:
        assert self.scheduler is not None
        wanted = {p.name: p for p in inventory.pairs}
        for job in self.scheduler.get_jobs():
            if job.id not in wanted:
                job.remove()
        now = datetime.now(UTC)
        for pair in inventory.pairs:
            # Spread first polls over the interval so a large inventory does not burst.
            start = now + timedelta(
                seconds=random.uniform(0, min(pair.interval, 1.0) if first else 0)  # noqa: S311
            )
            self.scheduler.add_job(
                self.poller.poll_pair,
                "interval",
                seconds=pair.interval,
                jitter=min(pair.interval * 0.1, 1.0),
                args=[pair.name],
                id=pair.name,
                name=f"poll {pair.name}",
                max_instances=1,
                coalesce=True,
                misfire_grace_time=max(int(pair.interval), 1),
                next_run_time=start,
                replace_existing=True,
            )

    def reload(self) -> bool:
        try:
            inventory = load_inventory(self.inventory_path)
        except ConfigError as exc:
            log.error(  # noqa: TRY400 - a config mistake needs no traceback
                "reload of %s failed; keeping the running inventory:\n%s", self.inventory_path, exc
            )
            return False
        self.inventory = inventory
        self.poller.inventory = inventory
        self.store.set_inventory(inventory)
        self._schedule(inventory, first=False)
        log.info(
            "reloaded %s: %d devices, %d pairs",
            self.inventory_path,
            len(inventory.devices),
            len(inventory.pairs),
        )
        return True

    # -- lifecycle ------------------------------------------------------------------------

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        self.server = MetricsServer(self.listen, snapshot_source(self.store))
        self.address = self.server.server_address[:2]  # type: ignore[assignment]
        self.server.start()
        self.scheduler = AsyncIOScheduler(event_loop=loop, timezone=UTC)
        self._schedule(self.inventory, first=True)
        self.scheduler.start()
        loop.add_signal_handler(signal.SIGHUP, self.reload)
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop)
        host, port = self.server.server_address[:2]
        log.info(
            "netmon watching %d pairs on %d devices; metrics on http://%s:%d/metrics",
            len(self.inventory.pairs), len(self.inventory.devices), host, port,
        )  # fmt: skip
        try:
            await self._stop.wait()
        finally:
            await self._shutdown()

    async def _shutdown(self) -> None:
        started = time.monotonic()
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
        current = asyncio.current_task()
        others = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
        if others:
            _, pending = await asyncio.wait(others, timeout=STOP_GRACE)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=1.0)
        if self.server is not None:
            self.server.stop()
        self.snmp.close()
        log.info("netmon stopped in %.1fs", time.monotonic() - started)
