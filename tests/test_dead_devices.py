"""1,000 devices of which 30% never answer: every pair whose devices answer keeps its poll
rhythm (the daemon's real scheduler, collector and store; real snmpd agents on loopback).

The rhythm is measured, not one gap against a wall-clock bound (a loaded 2-core machine delays
one poll by a few hundred ms now and then, which is no broken rhythm): each pair's period over
every poll after the first spread, its count of polls against the span they cover (a skipped or
coalesced poll is a cycle missing), and the median gap of all answering pairs, each against the
configured interval with a relative tolerance.

It runs over SNMPv2c and over SNMPv3 authPriv (the bench fleet's SHA-256/AES-128 user), on the
same agents: over v3 a dead device never answers its engine discovery either, so every poll of
it is a discovery that times out (1 s x 2 tries, as a v2c GET's), and the answering devices
discover their engine in their first poll."""

from __future__ import annotations

import asyncio
import itertools
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.fleet import COMMUNITY, V3_AUTH_KEY, V3_PRIV_KEY, Agent, start_fleet, stop
from bench.run import inventory_yaml
from netmon.daemon import Daemon
from netmon.model import PairState, PairStatus

from .conftest import free_udp_ports, require
from .helpers import DELAYS

pytestmark = [pytest.mark.snmpd, pytest.mark.daemon]

PAIRS, LIVE_B = 500, 200  # pairs 200-499 have a member b that never answers: 300 of 1,000 devices
INTERVAL = 2.0
RUN = 18.0  # seconds of schedule; polls from WARMUP on are measured: 7 or more gaps per pair
WARMUP = 3.0  # the first poll of every pair, then the spread-out ones
PERIOD_TOLERANCE = 0.05  # a pair's mean period within 5% of the interval
MEDIAN_TOLERANCE = 0.02  # the median gap of all answering pairs within 2%


@dataclass(frozen=True)
class Fleet:
    agents: list[Agent]
    base_a: int  # member a of pair i listens on base_a + i
    base_b: int  # member b likewise; only the first LIVE_B of its ports have an agent


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    require(Path("/usr/sbin/snmpd").exists(), "net-snmp snmpd is not installed")
    work = tmp_path_factory.mktemp("fleet")
    # Ports of this session's own (tests/helpers.py), B's dead ones included: nothing else may
    # answer there.
    base_a, base_b = free_udp_ports(PAIRS), free_udp_ports(PAIRS)
    agents: list[Agent] = []
    try:
        agents += start_fleet(work, "a", base_a, PAIRS, 2, 150)
        agents += start_fleet(work, "b", base_b, LIVE_B, 1, 100)
        yield Fleet(agents, base_a, base_b)
    finally:
        for agent in agents:
            stop(agent)


@pytest.mark.parametrize("version", ["v2c", "v3"])
def test_dead_devices_do_not_slow_the_answering_pairs(
    fleet: Fleet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, version: str
) -> None:
    monkeypatch.setenv("NETMON_BENCH_COMMUNITY", COMMUNITY)
    monkeypatch.setenv("NETMON_BENCH_AUTH", V3_AUTH_KEY)
    monkeypatch.setenv("NETMON_BENCH_PRIV", V3_PRIV_KEY)
    path = tmp_path / "inventory.yaml"
    v3 = version == "v3"
    path.write_text(
        inventory_yaml(PAIRS, INTERVAL, fleet.base_a, fleet.base_b, timeout=1.0, retries=1, v3=v3)
    )
    daemon = Daemon(path, ("127.0.0.1", 0))
    starts: dict[str, list[float]] = {}
    poll_pair = daemon.poller.poll_pair

    async def timed(
        name: str, *, wait_for_probes: bool = False, settle: bool = True
    ) -> PairStatus | None:
        starts.setdefault(name, []).append(time.monotonic())
        return await poll_pair(name, wait_for_probes=wait_for_probes, settle=settle)

    daemon.poller.poll_pair = timed  # type: ignore[method-assign]

    async def run() -> dict[str, PairStatus]:
        async def watch() -> None:
            await asyncio.sleep(RUN)
            daemon.stop()

        watcher = asyncio.get_running_loop().create_task(watch())
        await daemon.run()
        await watcher
        return dict(daemon.store.snapshot(time.time()).pairs)

    began = time.monotonic()
    pairs = asyncio.run(run())
    answering = [f"p{i}" for i in range(LIVE_B)]
    half_dead = [f"p{i}" for i in range(LIVE_B, PAIRS)]
    every_gap: list[float] = []
    for name in answering:
        assert pairs[name].state is PairState.HEALTHY, (name, pairs[name].reasons)
        times = [t for t in starts[name] if t > began + WARMUP]
        assert len(times) >= 7, (name, len(times))
        gaps = [b - a for a, b in itertools.pairwise(times)]
        every_gap += gaps
        span = times[-1] - times[0]
        # One poll per interval, none skipped: as many gaps as intervals in the span (a late
        # poll shifts the span by its lag, far less than half an interval).
        assert len(gaps) == round(span / INTERVAL), (name, gaps)
        period = span / len(gaps)
        assert abs(period / INTERVAL - 1) <= PERIOD_TOLERANCE, (name, period, gaps)
    median = statistics.median(every_gap)
    assert abs(median / INTERVAL - 1) <= MEDIAN_TOLERANCE, (median, max(every_gap))
    DELAYS.append(
        (
            f"300 of 1,000 devices dead ({version}): median gap between polls of an answering pair",
            median,
        )
    )
    DELAYS.append(
        (
            f"300 of 1,000 devices dead ({version}): worst gap between polls of an answering pair",
            max(every_gap),
        )
    )
    if v3:
        # The engines learned are the answering devices', each discovered once and kept; no
        # dead device ever answered a discovery.
        engines = {port for _, port in daemon.snmp._v3._engines}
        live = {fleet.base_a + i for i in range(PAIRS)} | {fleet.base_b + i for i in range(LIVE_B)}
        assert engines == live, sorted(engines ^ live)[:10]
    for name in half_dead:
        assert pairs[name].state is PairState.DEGRADED, (name, pairs[name].state)
        assert pairs[name].reasons == (f"b{name[1:]}: unreachable (timeout)",)
