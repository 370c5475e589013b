"""Skipped scheduled polls are counted and summarised once a minute, not logged one line each
(APScheduler's own WARNING per job per run wrote ~1,000 lines in 30 s for 72 dead pairs)."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import time
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from prometheus_client import generate_latest

from netmon.daemon import Daemon
from netmon.exporter import make_registry
from netmon.skipped import SkippedPolls, quiet_apscheduler

from .conftest import free_udp_port

RUNNING = "previous poll still running"
SUMMARY = re.compile(r"^(\d+) scheduled polls? skipped in the last \d+ s \((.+)\): (.+)$")
PER_JOB = ("was missed by", "maximum number of running instances")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def summaries(caplog: pytest.LogCaptureFixture, logger: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == logger]


# -- the summariser, on a fake clock ------------------------------------------------------------


def test_nothing_skipped_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    skipped = SkippedPolls(logging.getLogger("t.none"), clock=clock)
    clock.now += 3600
    skipped.record("p0", 0, RUNNING)  # a submission with no coalesced runs: not a skip
    assert skipped.tick() is None
    assert skipped.flush() is None
    assert summaries(caplog, "t.none") == []


def test_counts_are_exact_names_bounded_and_one_summary_per_window(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    clock = Clock()
    skipped = SkippedPolls(logging.getLogger("t.window"), clock=clock)
    # 15 pairs, pair i skipped i + 1 times over the first 50 s: 120 skips.
    for i in range(15):
        for _ in range(i + 1):
            skipped.record(f"p{i:02}", 1, RUNNING)
            assert skipped.tick() is None  # within the window: quiet
        clock.now += 50 / 15
    clock.now = 1000.0 + 59.9
    assert skipped.tick() is None
    clock.now = 1000.0 + 60.0
    line = skipped.tick()
    assert line is not None
    match = SUMMARY.match(line)
    assert match, line
    assert match[1] == "120"
    assert match[2] == RUNNING
    # The ten most skipped first, then how many more: never 15 names.
    names = ", ".join(f"p{i:02}" for i in range(14, 4, -1))
    assert match[3] == f"{names} and 5 more"
    assert "in the last 60 s" in line
    assert summaries(caplog, "t.window") == [line]
    assert caplog.records[-1].levelno == logging.WARNING

    # Once per window: a skip a second later opens the next window; ticks inside it are quiet.
    clock.now += 1
    skipped.record("p00", 2, RUNNING)
    skipped.record("p01", 1, "started too late")
    for _ in range(59):
        clock.now += 1
        assert skipped.tick() is None
    clock.now += 1
    line = skipped.tick()
    assert line == (
        "3 scheduled polls skipped in the last 60 s "
        "(2 previous poll still running, 1 started too late): p00, p01"
    )
    # Then nothing more while nothing is skipped, however long.
    clock.now += 3600
    assert skipped.tick() is None
    assert skipped.flush() is None
    assert len(summaries(caplog, "t.window")) == 2


def test_flush_reports_the_unreported_remainder_at_once() -> None:
    clock = Clock()
    skipped = SkippedPolls(logging.getLogger("t.flush"), clock=clock)
    skipped.record("core-gw", 1, RUNNING)
    clock.now += 12
    assert skipped.tick() is None
    assert skipped.flush() == (
        "1 scheduled poll skipped in the last 12 s (previous poll still running): core-gw"
    )
    assert skipped.flush() is None


# -- the log filter, on APScheduler's real loggers ----------------------------------------------


def test_only_the_per_job_skip_warnings_are_dropped(caplog: pytest.LogCaptureFixture) -> None:
    """A real AsyncIOScheduler: a slow job overlapping itself (max instances) and a job that
    raises. The overlap warnings are gone; the job's exception is still logged, with its
    traceback. A misfire line is logged by hand on the executor's logger (a real one needs a
    blocked event loop)."""
    caplog.set_level(logging.INFO)

    async def slow() -> None:
        await asyncio.sleep(0.5)

    async def broken() -> None:
        raise RuntimeError("job failed on purpose")

    async def run() -> None:
        scheduler = AsyncIOScheduler(event_loop=asyncio.get_running_loop(), timezone=UTC)
        scheduler.add_job(slow, "interval", seconds=0.1, id="slow", max_instances=1)
        scheduler.add_job(broken, "interval", seconds=0.2, id="broken")
        scheduler.start()
        await asyncio.sleep(1.0)
        scheduler.shutdown(wait=False)

    quiet_apscheduler()
    try:
        asyncio.run(run())
        executor = logging.getLogger("apscheduler.executors.default")
        executor.warning('Run time of job "%s" was missed by %s', "poll p0", "0:00:02")
        executor.warning("Some other APScheduler warning")
    finally:
        quiet_apscheduler(on=False)
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("apscheduler")]
    assert not [m for m in messages if any(p in m for p in PER_JOB)], messages
    raised = [r for r in caplog.records if "raised an exception" in r.getMessage()]
    assert raised, messages
    assert raised[0].levelno == logging.ERROR
    assert raised[0].exc_info is not None
    assert "Some other APScheduler warning" in messages
    # Removed again, the filter no longer hides anything.
    caplog.clear()
    executor.warning('Run time of job "%s" was missed by %s', "poll p0", "0:00:02")
    assert [r.getMessage() for r in caplog.records] == [
        'Run time of job "poll p0" was missed by 0:00:02'
    ]


# -- the daemon, with real missed polls ----------------------------------------------------------

PAIRS = 12  # more than a summary names
INTERVAL = 0.2  # s; each poll waits TIMEOUT for devices that never answer: it overlaps itself
TIMEOUT = 1.0
RUN = 3.5  # s


@pytest.fixture
def silent_ports() -> Iterator[list[int]]:
    """Bound UDP sockets that read nothing and answer nothing: requests time out (a closed
    port would answer with ICMP port-unreachable at once)."""
    socks: list[socket.socket] = []
    try:
        for _ in range(2 * PAIRS):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind(("127.0.0.1", free_udp_port()))
            socks.append(sock)
        yield [s.getsockname()[1] for s in socks]
    finally:
        for sock in socks:
            sock.close()


@pytest.mark.daemon
def test_the_daemon_summarises_real_skips_and_still_counts_them(
    tmp_path: Path,
    silent_ports: list[int],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NETMON_TEST_COMMUNITY", "public")
    lines = [
        "version: 1",
        "drills: {journal: drills.sqlite}",
        "defaults:",
        f"  snmp: {{community: {{env: NETMON_TEST_COMMUNITY}}, timeout: {TIMEOUT}, retries: 0}}",
        f"  pair: {{interval: {INTERVAL}, probes: {{enabled: false}}}}",
        "devices:",
    ]
    for i in range(PAIRS):
        lines.append(f"  a{i}: {{address: 127.0.0.1, snmp: {{port: {silent_ports[2 * i]}}}}}")
        lines.append(f"  b{i}: {{address: 127.0.0.1, snmp: {{port: {silent_ports[2 * i + 1]}}}}}")
    lines.append("pairs:")
    lines += [
        f"  - {{name: p{i}, kind: keepalived, params: {{instance: 1}}, members: [a{i}, b{i}]}}"
        for i in range(PAIRS)
    ]
    path = tmp_path / "inventory.yaml"
    path.write_text("\n".join(lines) + "\n")
    caplog.set_level(logging.INFO)
    daemon = Daemon(path, ("127.0.0.1", 0))
    daemon.skipped.window = 1.0  # a second, not a minute: several windows in a short run

    async def run() -> None:
        async def watch() -> None:
            await asyncio.sleep(RUN)
            daemon.stop()

        watcher = asyncio.get_running_loop().create_task(watch())
        await daemon.run()
        await watcher

    asyncio.run(run())

    messages = [r.getMessage() for r in caplog.records]
    assert not [m for m in messages if any(p in m for p in PER_JOB)], messages
    summary = [SUMMARY.match(r.getMessage()) for r in caplog.records if r.name == "netmon.daemon"]
    found = [m for m in summary if m]
    # Windows of a second over 3.5 s, and the remainder at shutdown; never one line per skip.
    assert 3 <= len(found) <= 6, messages
    missed = daemon.store.snapshot(time.time()).polls_missed
    assert missed >= 3 * PAIRS  # every pair overlapped itself, several times
    assert sum(int(m[1]) for m in found) == missed  # exact: each skip in exactly one summary
    for m in found:
        assert RUNNING in m[2]
        assert m[3].count(",") <= 9  # at most ten names, then "and N more"
    assert any(m[3].endswith(f"and {PAIRS - 10} more") for m in found), messages
    body = generate_latest(make_registry(lambda: daemon.store.snapshot(time.time()))).decode()
    assert f"netmon_polls_missed_total {float(missed)}" in body
