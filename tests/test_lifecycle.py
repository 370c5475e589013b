"""SIGTERM while every poll is waiting on a device that will not answer for half a minute: the
daemon still stops within 5 s, cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import free_tcp_port, free_udp_port, stop_process
from .helpers import DELAYS, sample, wait_for

pytestmark = pytest.mark.daemon


def test_sigterm_mid_cycle_stops_within_5_seconds(tmp_path: Path) -> None:
    devices = "\n".join(
        f"  d{i}: {{address: 127.0.0.1, snmp: {{port: {free_udp_port()}}}}}" for i in range(20)
    )
    pairs = "\n".join(
        f"  - {{name: p{i}, kind: keepalived, params: {{instance: 1}}, members: [d{2 * i}, d{2 * i + 1}]}}"
        for i in range(10)
    )
    inventory = tmp_path / "silent.yaml"
    inventory.write_text(
        "version: 1\ndefaults:\n"
        "  snmp: {community: {env: LIFECYCLE_COMMUNITY}, timeout: 10, retries: 2}\n"
        "  pair: {interval: 60, probes: {enabled: false}}\n"
        f"devices:\n{devices}\npairs:\n{pairs}\n"
    )
    listen = f"127.0.0.1:{free_tcp_port()}"
    env = {**os.environ, "LIFECYCLE_COMMUNITY": "lifecycle-c"}
    log = tmp_path / "daemon.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "netmon", "run", "-i", str(inventory), "--listen", listen],
            env=env, stdout=sink, stderr=sink,
        )  # fmt: skip
    try:
        # Every pair's first poll has started (and waits up to 30 s on silent devices).
        wait_for(lambda: (sample(listen, "netmon_poll_lag_seconds_count") or 0) >= 10, 30,
                 "every first poll started")  # fmt: skip
        time.sleep(0.5)
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        took = time.monotonic() - started
        DELAYS.append(("SIGTERM with every poll waiting on a silent device -> exited", took))
        assert took < 5.0
    finally:
        stop_process(proc)
    text = log.read_text()
    assert "Traceback" not in text
    assert "netmon stopped in" in text
