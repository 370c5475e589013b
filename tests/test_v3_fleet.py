"""1,000 SNMPv3 authPriv pairs on a short cycle, on a clean fleet: no pair ever leaves `healthy`.

Issue 17 reported v3 pairs (200 of them, on a 2 s cycle) flipping to down/degraded with timeouts
and going stale. Here the real daemon (scheduler, poller, collector, store, HTTP server) polls
1,000 pairs -- 2,000 devices, 20 net-snmp snmpd processes of 100 ports each (bench.fleet), the
fleet's SHA-256/AES-128 user -- and the store's snapshot, what /metrics renders, is sampled
every half second: every sample of every pair, from its first poll on, is `healthy` (never
degraded, down, unknown or stale), every pair has been polled by the end of the first cycle,
and no scheduled poll was skipped or merged."""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bench.fleet import COMMUNITY, V3_AUTH_KEY, V3_PRIV_KEY, Agent, start_fleet, stop
from bench.run import inventory_yaml
from netmon.daemon import Daemon
from netmon.model import PairState, PairStatus

from .conftest import free_udp_ports, require
from .helpers import FIGURES

pytestmark = [pytest.mark.snmpd, pytest.mark.daemon]

PAIRS = 1000
# The cycle. Measured on this 2-core machine (1,000 pairs, 1 s x 2 tries, 20 agents on the same
# cores), v2c and v3 run back to back: at 1 s, v2c kept every pair healthy in 5 of 5 runs
# (0-229 of ~20,000 polls skipped in the quiet ones); v3 skipped 3,756 and 9,547 and in one run
# went stale (139 samples `unknown`, no fresh answer): one event loop polls 1,000 v3 pairs in
# 1.03-1.29 s of wall time back to back, 1,000 v2c pairs in 0.78-0.89 s (netmon's CPU per
# pair-poll 0.96-1.2 ms against 0.65-0.79 ms, the agents' 0.19-0.23 against 0.09-0.11 ms).
# At 1.5 s both kept every poll on a quiet machine, but v3 skipped a third of them while other
# engineers' benchmarks loaded it (3 of 3 runs; v2c 0 in 2 of 2). So 2 s, the cycle issue 17
# reported v3 pairs going stale at (with 200 pairs): with margin for a shared machine, every
# pair healthy throughout and no poll skipped are asserted exactly. It needs about half a core:
# with other engineers' benchmarks beside it (load average 7 on the 2 cores) the daemon got 36%
# of one and skipped polls; a failure message says how much it got.
INTERVAL = 2.0
TIMEOUT, RETRIES = 1.0, 1  # netmon's defaults: a poll's worst case fits in one cycle
RUN = 30.0  # seconds of schedule
SAMPLE_EVERY = 0.5
FIRST_CYCLE = INTERVAL + 1.0  # every pair's first poll is spread over at most one interval


@dataclass(frozen=True)
class Fleet:
    agents: list[Agent]
    base_a: int  # member a of pair i listens on base_a + i
    base_b: int


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    require(Path("/usr/sbin/snmpd").exists(), "net-snmp snmpd is not installed")
    work = tmp_path_factory.mktemp("v3fleet")
    base_a, base_b = free_udp_ports(PAIRS), free_udp_ports(PAIRS)
    agents: list[Agent] = []
    try:
        agents += start_fleet(work, "a", base_a, PAIRS, 2, 150)
        agents += start_fleet(work, "b", base_b, PAIRS, 1, 100)
        yield Fleet(agents, base_a, base_b)
    finally:
        for agent in agents:
            stop(agent)


@dataclass
class Run:
    """What the samples saw."""

    samples: int = 0
    widest_gap: float = 0.0  # seconds between two samples (or the start and the first one)
    bad: Counter[tuple[str, str]] = field(default_factory=Counter)  # (pair, state) -> samples
    first_bad: dict[str, tuple[float, str, tuple[str, ...]]] = field(default_factory=dict)
    unpolled_after_first_cycle: set[str] = field(default_factory=set)
    polls_missed: int = 0
    lag_max: float = 0.0
    cpu_share: float = 0.0  # this process (the daemon), of one core
    agents_share: float = 0.0  # the 20 agents together, of one core
    pair_polls: int = 0
    durations: list[float] = field(default_factory=list)  # of every pair poll
    wire: dict[str, int] = field(default_factory=dict)  # the read path's datagram counts

    def slow(self, over: float) -> int:
        return sum(d > over for d in self.durations)


def run_daemon(
    fleet: Fleet, work: Path, version: str, interval: float = INTERVAL, seconds: float = RUN
) -> Run:
    """The daemon on the fleet over `version` for `seconds`; its pairs sampled meanwhile. The
    inventory's secrets come from NETMON_BENCH_COMMUNITY, _AUTH and _PRIV (bench.run)."""
    path = work / f"inventory-{version}.yaml"
    path.write_text(
        inventory_yaml(
            PAIRS,
            interval,
            fleet.base_a,
            fleet.base_b,
            timeout=TIMEOUT,
            retries=RETRIES,
            v3=version == "v3",
        )
    )
    daemon = Daemon(path, ("127.0.0.1", 0))
    run = Run()
    poll_pair = daemon.poller.poll_pair

    async def timed(
        name: str, *, wait_for_probes: bool = False, settle: bool = True
    ) -> PairStatus | None:
        started = time.monotonic()
        try:
            return await poll_pair(name, wait_for_probes=wait_for_probes, settle=settle)
        finally:
            run.durations.append(time.monotonic() - started)

    daemon.poller.poll_pair = timed  # type: ignore[method-assign]

    async def watch() -> None:
        began = time.monotonic()
        cpu0, agents0 = time.process_time(), sum(a.cpu_seconds() for a in fleet.agents)
        checked_first_cycle = False
        last = began
        while (elapsed := time.monotonic() - began) < seconds:
            await asyncio.sleep(SAMPLE_EVERY)
            snap = daemon.store.snapshot(time.time())
            run.samples += 1
            run.widest_gap = max(run.widest_gap, time.monotonic() - last)
            last = time.monotonic()
            for name, status in snap.pairs.items():
                if status.state is not PairState.HEALTHY:
                    run.bad[(name, status.state.value)] += 1
                    run.first_bad.setdefault(name, (elapsed, status.state.value, status.reasons))
            if not checked_first_cycle and elapsed > FIRST_CYCLE:
                checked_first_cycle = True
                run.unpolled_after_first_cycle = set(snap.specs) - set(snap.pairs)
        wall = time.monotonic() - began
        run.cpu_share = (time.process_time() - cpu0) / wall
        run.agents_share = (sum(a.cpu_seconds() for a in fleet.agents) - agents0) / wall
        snap = daemon.store.snapshot(time.time())
        run.polls_missed = snap.polls_missed
        run.lag_max = max(daemon.lag_samples, default=0.0)
        run.pair_polls = len(daemon.lag_samples)
        stats = daemon.snmp._v3.stats if version == "v3" else daemon.snmp.wire_stats
        run.wire = dict(vars(stats))
        daemon.stop()

    async def main() -> None:
        watcher = asyncio.get_running_loop().create_task(watch())
        await daemon.run()
        await watcher

    asyncio.run(main())
    return run


def test_v3_fleet_on_a_short_cycle_stays_healthy(
    fleet: Fleet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NETMON_BENCH_COMMUNITY", COMMUNITY)
    monkeypatch.setenv("NETMON_BENCH_AUTH", V3_AUTH_KEY)
    monkeypatch.setenv("NETMON_BENCH_PRIV", V3_PRIV_KEY)
    run = run_daemon(fleet, tmp_path, "v3")
    FIGURES.append(("1,000 v3 pairs, 2 s cycle: daemon CPU", 100 * run.cpu_share, "% of a core"))
    FIGURES.append(("1,000 v3 pairs, 2 s cycle: slowest poll start", run.lag_max, "s late"))
    # What a failure needs beside it: a daemon that got far less than its ~half a core (other
    # work on the machine: the load average) had no chance to keep a 2 s cycle.
    context = (
        f"daemon {run.cpu_share:.0%} of a core, agents {run.agents_share:.0%},"
        f" load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores;"
        f" {run.slow(INTERVAL)} of {len(run.durations)} polls over {INTERVAL} s,"
        f" slowest {max(run.durations, default=0.0):.2f} s; {run.polls_missed} polls skipped;"
        f" wire {run.wire}"
    )
    assert not run.unpolled_after_first_cycle, (
        sorted(run.unpolled_after_first_cycle)[:10],
        context,
    )
    first = sorted(run.first_bad.items(), key=lambda kv: kv[1][0])[:5]
    assert not run.bad, f"{len(run.first_bad)} pairs left healthy; first: {first}; {context}"
    # No scheduled poll skipped or merged (netmon_polls_missed_total stayed 0), and so every
    # pair polled once per interval from its first poll on.
    assert run.polls_missed == 0, context
    assert run.pair_polls >= PAIRS * (int(RUN / INTERVAL) - 1), (run.pair_polls, context)
    # Nothing lost or refused on the wire: every v3 request answered, each engine found once.
    assert run.wire["discoveries"] == 2 * PAIRS, context
    assert run.wire["resyncs"] == run.wire["bad_digest"] == run.wire["garbage"] == 0, context
    # Sampled throughout: the sampler shares the daemon's event loop, so a loaded machine makes
    # fewer samples than RUN / SAMPLE_EVERY (56 of 60 at 75% of a core in CI); what matters is
    # that no stretch went unlooked-at for as long as one polling interval.
    assert run.samples >= RUN / INTERVAL, (run.samples, context)
    assert run.widest_gap < INTERVAL, (run.widest_gap, context)
