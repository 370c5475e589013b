"""Reading a running daemon over HTTP, as Prometheus and operators do."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable

import pytest
from prometheus_client.parser import text_string_to_metric_families

# Detection delays measured by the lab tests; printed at the end of the run (conftest.py).
DELAYS: list[tuple[str, float]] = []


def fuzz_examples(default: int) -> int:
    """Hypothesis examples per property: `default` in `make test`, more under `make fuzz`."""
    return max(default, int(os.environ.get("NETMON_FUZZ_EXAMPLES", "0")))


# Other measured figures, with their unit: (what, value, unit).
FIGURES: list[tuple[str, float, str]] = []


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=3) as response:
        body: bytes = response.read()
        return body.decode()


def states(listen: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for family in text_string_to_metric_families(get(f"http://{listen}/metrics")):
        if family.name == "netmon_pair_state":
            for s in family.samples:
                if s.value == 1:
                    out[s.labels["pair"]] = s.labels["state"]
    return out


def sample(listen: str, name: str, **labels: str) -> float | None:
    for family in text_string_to_metric_families(get(f"http://{listen}/metrics")):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return None


def wait_for(check: Callable[[], bool], timeout: float, what: str, step: float = 0.3) -> float:
    """Poll `check` until true; returns the seconds it took. Fails the test on timeout."""
    started = time.monotonic()
    deadline = started + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if check():
                return time.monotonic() - started
        except OSError as exc:  # not listening yet
            last = exc
        time.sleep(step)
    pytest.fail(f"timed out after {timeout}s waiting for {what} (last error: {last})")


def start_demo_agents(env: dict[str, str], base_port: int | None = None) -> subprocess.Popen[str]:
    """The demo network's simulated agents (`python -m netmon.sim`), ready to answer. They exit
    with this process (their stdin pipe) even if a test dies without cleaning up. `base_port`:
    the first of their ten ports (default the demo's 16101)."""
    ports = ["--base-port", str(base_port)] if base_port is not None else []
    proc = subprocess.Popen(
        [sys.executable, "-m", "netmon.sim", "--exit-with-parent", *ports],
        env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "ready":
        stop_demo_agents(proc)
        pytest.fail("the demo's simulated agents did not start")
    return proc


def stop_demo_agents(proc: subprocess.Popen[str]) -> None:
    """End the agents by their PID (TERM, then KILL) and close their pipes here, not in the
    garbage collector (an unclosed pipe warns at exit and fails the run)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    for pipe in (proc.stdin, proc.stdout):
        if pipe is not None:
            pipe.close()
