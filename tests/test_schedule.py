"""How the daemon spreads pair polls over time (pure: no scheduler runs here)."""

from __future__ import annotations

import time

from prometheus_client import generate_latest

from netmon.daemon import STARTS_PER_SECOND, poll_offsets
from netmon.exporter import make_registry
from netmon.kinds.keepalived import KeepalivedParams
from netmon.model import Inventory, MemberSpec, PairSpec
from netmon.store import StateStore


def pair(name: str, a: str, b: str, interval: float = 30.0) -> PairSpec:
    members = (MemberSpec("a", a, KeepalivedParams(1)), MemberSpec("b", b, KeepalivedParams(1)))
    return PairSpec(name, "keepalived", members, interval=interval)


def test_a_small_inventory_starts_at_once() -> None:
    offsets = poll_offsets([pair(f"p{i}", f"a{i}", f"b{i}") for i in range(6)])
    assert max(offsets.values()) < 0.02


def test_a_large_inventory_is_spread_evenly_without_bursts() -> None:
    pairs = [pair(f"p{i}", f"a{i:05}", f"b{i:05}") for i in range(5000)]
    offsets = sorted(poll_offsets(pairs).values())
    assert offsets[-1] < 5000 / STARTS_PER_SECOND
    # No second holds more than the start rate's worth of first polls.
    per_second: dict[int, int] = {}
    for offset in offsets:
        per_second[int(offset)] = per_second.get(int(offset), 0) + 1
    assert max(per_second.values()) <= STARTS_PER_SECOND + 1


def test_pairs_sharing_a_device_start_together_and_within_their_interval() -> None:
    pairs = [pair(f"vrrp{g}", "core-r1", "core-r2", interval=2.0) for g in range(10)]
    pairs += [pair(f"p{i}", f"a{i:05}", f"b{i:05}", interval=2.0) for i in range(3000)]
    offsets = poll_offsets(pairs)
    assert len({offsets[f"vrrp{g}"] for g in range(10)}) == 1
    assert max(offsets.values()) < 2.0


def test_poll_lag_and_missed_polls_are_exported() -> None:
    inventory = Inventory({}, (pair("p", "a", "b"),))
    store = StateStore(inventory)
    body = generate_latest(make_registry(lambda: store.snapshot(time.time()))).decode()
    assert "netmon_poll_lag_seconds" not in body  # not a daemon (e.g. `netmon check`): no lag
    for lag in (0.002, 0.003, 0.7):
        store.record_poll_lag(lag)
    store.record_missed_polls(2)
    body = generate_latest(make_registry(lambda: store.snapshot(time.time()))).decode()
    assert 'netmon_poll_lag_seconds_bucket{le="0.005"} 2.0' in body
    assert "netmon_poll_lag_seconds_count 3.0" in body
    assert "netmon_polls_missed_total 2.0" in body
