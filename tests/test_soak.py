"""A bounded soak: the daemon polls the demo network fast for a while (NETMON_SOAK_SECONDS,
60 s in `make test`, 30 minutes in `make soak`) while its memory, open file descriptors and
schedule are watched from outside: they stay flat, and no poll is skipped.

Memory is held as a rate, MB per hour: the slope of a least-squares line through every sample
after the warm-up, not the last sample against the first (one allocation step at either end
would decide that). A steady leak shows as a slope however short the run; a short run allows
more, since a freshly started process still fills its caches (docs/reliability.md)."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import free_tcp_port, stop_process
from .helpers import FIGURES, sample, start_demo, stop_demo_agents, wait_for

pytestmark = pytest.mark.daemon

SECONDS = float(os.environ.get("NETMON_SOAK_SECONDS", "60"))
INTERVAL = 1.5  # above the demo's timeout x tries (0.5 s x 2), so a dead member never overruns
WARM_UP = 15.0
STEP = 1.0 if SECONDS <= 300 else 5.0  # seconds between samples: dozens even in a short run
# Resident memory growth allowed, MB per hour. Measured on the 2-core CI machine: 5-10 MB/h in
# the first two minutes (caches still filling), under 1 MB/h over 30 minutes. What the short run
# can see: a leak of 8 KB per pair poll (~4 polls a second, 118 MB/h) measured 88 MB/h; one of
# 4 KB did not show yet, hidden in the free memory the allocator already holds. The long soak
# (`make soak`) is the one that bounds small leaks.
LIMIT_MB_PER_HOUR = 25.0 if SECONDS < 600 else 5.0


def proc_status(pid: int) -> tuple[float, int]:
    """(resident MB, open file descriptors) of a process."""
    rss = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) / 1024
    return rss, len(os.listdir(f"/proc/{pid}/fd"))


def test_soak_memory_fds_and_schedule_stay_flat(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "NETMON_DEMO_COMMUNITY": "soak-Community-55e1"}
    demo = start_demo(env, tmp_path)
    daemon: subprocess.Popen[bytes] | None = None
    try:
        inventory = tmp_path / "soak.yaml"
        text = demo.inventory.read_text()
        inventory.write_text(text.replace("interval: 2 ", f"interval: {INTERVAL} ", 1))
        listen = f"127.0.0.1:{free_tcp_port()}"
        with (tmp_path / "daemon.log").open("wb") as sink:
            daemon = subprocess.Popen(
                [sys.executable, "-m", "netmon", "run", "-i", str(inventory), "--listen", listen,
                 "--log-level", "warning"],
                env=env, stdout=sink, stderr=sink,
            )  # fmt: skip
        wait_for(lambda: sample(listen, "netmon_poll_lag_seconds_count") is not None, 30, "polls")
        started = time.monotonic()
        samples: list[tuple[float, float, int]] = []
        while (elapsed := time.monotonic() - started) < SECONDS:
            rss, fds = proc_status(daemon.pid)
            samples.append((elapsed, rss, fds))
            time.sleep(STEP)
        polls = sample(listen, "netmon_poll_lag_seconds_count") or 0.0
        missed = sample(listen, "netmon_polls_missed_total")
        assert daemon.poll() is None, "the daemon died during the soak"
    finally:
        if daemon is not None:
            stop_process(daemon)
        stop_demo_agents(demo.agents)
    settled = [s for s in samples if s[0] >= min(WARM_UP, SECONDS / 4)]
    assert len(settled) >= 10, samples
    growth = (
        statistics.linear_regression([t for t, _, _ in settled], [r for _, r, _ in settled]).slope
        * 3600
    )
    third = max(1, len(settled) // 3)
    early = statistics.median(r for _, r, _ in settled[:third])
    late = statistics.median(r for _, r, _ in settled[-third:])
    open_fds = [f for _, _, f in settled]
    FIGURES.append((f"soak {SECONDS:.0f} s: resident memory, early third", early, "MB"))
    FIGURES.append((f"soak {SECONDS:.0f} s: resident memory, late third", late, "MB"))
    FIGURES.append((f"soak {SECONDS:.0f} s: resident memory growth (fitted)", growth, "MB/h"))
    FIGURES.append((f"soak {SECONDS:.0f} s: open fds, fewest", min(open_fds), "fds"))
    FIGURES.append((f"soak {SECONDS:.0f} s: open fds, most", max(open_fds), "fds"))
    FIGURES.append((f"soak {SECONDS:.0f} s: scheduled pair polls", polls, "polls"))
    FIGURES.append((f"soak {SECONDS:.0f} s: skipped pair polls", missed or 0.0, "polls"))
    assert missed == 0.0
    pairs = 6
    assert polls >= 0.9 * pairs * (SECONDS + WARM_UP / 3) / INTERVAL * 0.8
    assert max(open_fds) - min(open_fds) <= 2, open_fds
    assert growth < LIMIT_MB_PER_HOUR, (growth, [(round(t), round(r, 2)) for t, r, _ in settled])
    log = (tmp_path / "daemon.log").read_text()
    assert "Traceback" not in log
