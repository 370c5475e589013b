"""The real daemon (scheduler, poller, store, HTTP server) on a benchmark inventory, in its own
process so that its CPU and peak RSS are its own. Run by bench.run; prints one JSON object.

    python -m bench.daemon --inventory INV.yaml --listen 127.0.0.1:PORT --interval 30 --cycles 2

The first interval is the warm-up (every pair's first poll, spread by the scheduler); then CPU,
poll lag and missed polls are measured over `cycles` intervals.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

from netmon.daemon import Daemon, parse_listen


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def vm_rss_mb() -> float:
    """The resident set now."""
    return _status_mb("VmRSS")


def peak_rss_mb() -> float:
    """The peak resident set of this process image. Not ru_maxrss: Linux carries that over from
    the parent through fork and exec, so a child of a large bench process reported the parent's."""
    return _status_mb("VmHWM")


async def measure(daemon: Daemon, interval: float, cycles: int) -> dict[str, Any]:
    await asyncio.sleep(interval + 1.0)  # warm-up: every pair polled once
    lag_before = len(daemon.lag_samples)
    missed_before = daemon.store.snapshot(time.time()).polls_missed
    cpu0, wall0 = time.process_time(), time.monotonic()
    await asyncio.sleep(interval * cycles)
    cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    lags = sorted(list(daemon.lag_samples)[lag_before:])
    snap = daemon.store.snapshot(time.time())
    daemon.stop()  # the daemon's shutdown waits for this task: it ends right here
    states: dict[str, int] = {}
    for status in snap.pairs.values():
        states[status.state.value] = states.get(status.state.value, 0) + 1

    def pct(p: float) -> float | None:
        return lags[min(len(lags) - 1, int(p * len(lags)))] if lags else None

    return {
        "window_s": wall,
        "cpu_s": cpu,
        "core_share": cpu / wall,
        "pair_polls": len(lags),
        "expected_pair_polls": len(snap.specs) * cycles,
        "polls_missed": snap.polls_missed - missed_before,
        "lag_p50_s": pct(0.50),
        "lag_p99_s": pct(0.99),
        "lag_max_s": lags[-1] if lags else None,
        "peak_rss_mb": peak_rss_mb(),
        "rss_end_mb": vm_rss_mb(),
        "pair_states": states,
    }


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.daemon")
    parser.add_argument("--inventory", type=Path, required=True)
    parser.add_argument("--listen", required=True)
    parser.add_argument("--interval", type=float, required=True)
    parser.add_argument("--cycles", type=int, default=2)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # thousands of "(start) -> healthy" lines otherwise
    daemon = Daemon(args.inventory, parse_listen(args.listen))
    loaded = {"peak_rss_after_load_mb": peak_rss_mb(), "rss_after_load_mb": vm_rss_mb()}

    async def run() -> dict[str, Any]:
        measuring = asyncio.get_running_loop().create_task(
            measure(daemon, args.interval, args.cycles)
        )
        await daemon.run()
        return {**loaded, **measuring.result()}

    print(json.dumps(asyncio.run(run())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
