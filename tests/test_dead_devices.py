"""1,000 devices of which 30% never answer: every pair whose devices answer keeps its poll
rhythm (the daemon's real scheduler, collector and store; real snmpd agents on loopback)."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.fleet import COMMUNITY, Agent, start_fleet, stop
from bench.run import inventory_yaml
from netmon.daemon import Daemon
from netmon.model import PairState, PairStatus

from .conftest import require
from .helpers import DELAYS

pytestmark = [pytest.mark.snmpd, pytest.mark.daemon]

PAIRS, LIVE_B = 500, 200  # pairs 200-499 have a member b that never answers: 300 of 1,000 devices
BASE_A, BASE_B = 22000, 28000  # clear of the benchmark's ports and of the ephemeral range
INTERVAL = 2.0


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Agent]]:
    require(Path("/usr/sbin/snmpd").exists(), "net-snmp snmpd is not installed")
    work = tmp_path_factory.mktemp("fleet")
    agents: list[Agent] = []
    try:
        agents += start_fleet(work, "a", BASE_A, PAIRS, 2, 150)
        agents += start_fleet(work, "b", BASE_B, LIVE_B, 1, 100)
        yield agents
    finally:
        for agent in agents:
            stop(agent)


def test_dead_devices_do_not_slow_the_answering_pairs(
    fleet: list[Agent], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NETMON_BENCH_COMMUNITY", COMMUNITY)
    path = tmp_path / "inventory.yaml"
    path.write_text(inventory_yaml(PAIRS, INTERVAL, BASE_A, BASE_B, timeout=1.0, retries=1))
    daemon = Daemon(path, ("127.0.0.1", 0))
    starts: dict[str, list[float]] = {}
    poll_pair = daemon.poller.poll_pair

    async def timed(name: str, *, wait_for_probes: bool = False) -> PairStatus | None:
        starts.setdefault(name, []).append(time.monotonic())
        return await poll_pair(name, wait_for_probes=wait_for_probes)

    daemon.poller.poll_pair = timed  # type: ignore[method-assign]

    async def run() -> dict[str, PairStatus]:
        async def watch() -> None:
            await asyncio.sleep(12.0)
            daemon.stop()

        watcher = asyncio.get_running_loop().create_task(watch())
        await daemon.run()
        await watcher
        return dict(daemon.store.snapshot(time.time()).pairs)

    began = time.monotonic()
    pairs = asyncio.run(run())
    answering = [f"p{i}" for i in range(LIVE_B)]
    half_dead = [f"p{i}" for i in range(LIVE_B, PAIRS)]
    worst = 0.0
    for name in answering:
        assert pairs[name].state is PairState.HEALTHY, (name, pairs[name].reasons)
        times = [t for t in starts[name] if t > began + 3.0]  # after the first, spread polls
        assert len(times) >= 4, (name, len(times))
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert max(gaps) < INTERVAL + 0.5, (name, gaps)
        worst = max(worst, *gaps)
    DELAYS.append(
        ("300 of 1,000 devices dead: worst gap between polls of an answering pair", worst)
    )
    for name in half_dead:
        assert pairs[name].state is PairState.DEGRADED, (name, pairs[name].state)
        assert pairs[name].reasons == (f"b{name[1:]}: unreachable (timeout)",)
