"""Reading a running daemon over HTTP, as Prometheus and operators do; ports for the daemons
the tests start; the demo network's simulated agents."""

from __future__ import annotations

import atexit
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

REPO = Path(__file__).resolve().parent.parent

# Detection delays measured by the lab tests; printed at the end of the run (conftest.py).
DELAYS: list[tuple[str, float]] = []


def fuzz_examples(default: int) -> int:
    """Hypothesis examples per property: `default` in `make test`, more under `make fuzz`, fewer
    under `make mutate` (mutmut sets MUTANT_UNDER_TEST): a survivor runs every covering test, and
    a few thousand mutants times 150 examples would take hours. The deterministic cases carry
    the kills there; the properties still run, and Hypothesis replays any example that once
    failed from its database."""
    if os.environ.get("MUTANT_UNDER_TEST"):
        return min(default, 20)
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


# -- ports ------------------------------------------------------------------------------------

# Where the tests' daemons listen. Not "bind port 0, read it, close, hand it on": that port comes
# from the ephemeral range, which the kernel keeps handing out to any socket that connects or
# binds port 0 (this session's own clients among them) until the daemon binds it, and nothing
# stops the same number being handed out twice. Below the ephemeral range (32768-60999 here) the
# kernel assigns no port by itself; below the demo's 16101-16110 (a `make run` holds them) and the
# lab relay's 16161, clear of the benchmark's 20000-31999.
PORT_RANGE = range(10000, 16000)
PORT_CHUNK = 64


class PortAllocator:
    """Distinct loopback ports for a session's daemons, for UDP and TCP alike.

    A port is handed out at most once per session (a counter, under a lock for fixtures that
    start daemons from threads), only from chunks of `PORT_CHUNK` this session has claimed (an
    abstract unix socket named after the chunk, held until the process exits, so concurrent
    pytest sessions on the machine never share a chunk and a crashed one leaves no claim), and
    only when nothing holds it now (bound to 127.0.0.1 over UDP and TCP for a moment: a daemon or
    a `make bench` of someone else's is skipped). What remains is a program outside the tests
    binding a fixed port in this range in the instant before the daemon does: that daemon then
    fails on EADDRINUSE, loudly, rather than two daemons sharing a port."""

    def __init__(self, ports: range = PORT_RANGE, chunk: int = PORT_CHUNK) -> None:
        self._ports, self._chunk = ports, chunk
        self._lock = threading.Lock()
        self._claims: list[socket.socket] = []
        self._claimed: set[int] = set()  # first ports of the chunks held
        self._next = self._end = ports.start

    def take(self, count: int = 1) -> int:
        """The first of `count` consecutive ports, none handed out before in this session."""
        with self._lock:
            while True:
                if self._next + count > self._end:
                    self._next, self._end = self._claim(count)
                busy = next(
                    (p for p in range(self._next, self._next + count) if not _idle(p)), None
                )
                if busy is None:
                    first, self._next = self._next, self._next + count
                    return first
                self._next = busy + 1

    def _claim(self, count: int) -> tuple[int, int]:
        """Claim consecutive chunks holding `count` ports; their first port and the end."""
        need = -(-count // self._chunk)
        starts = range(self._ports.start, self._ports.stop - need * self._chunk + 1, self._chunk)
        for first in starts:
            wanted = [first + i * self._chunk for i in range(need)]
            if any(c in self._claimed for c in wanted):
                continue
            held = []
            for chunk in wanted:
                claim = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    claim.bind(f"\0netmon-tests-ports-{chunk}")
                except OSError:  # another session holds it
                    claim.close()
                    break
                held.append(claim)
            if len(held) < need:
                for claim in held:
                    claim.close()
                continue
            self._claims += held
            self._claimed.update(wanted)
            return first, first + need * self._chunk
        pytest.fail(f"no {count} free test ports left in {self._ports} (other sessions hold them)")

    def release(self) -> None:
        """Give up this session's chunks (at exit: closed here, not by the garbage collector,
        whose ResourceWarning fails a run)."""
        with self._lock:
            for claim in self._claims:
                claim.close()
            self._claims.clear()


def _idle(port: int, kinds: tuple[int, ...] = (socket.SOCK_DGRAM, socket.SOCK_STREAM)) -> bool:
    """Nothing holds `port` on loopback now (over UDP and TCP, or only `kinds`)."""
    for kind in kinds:
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


PORTS = PortAllocator()
atexit.register(PORTS.release)


# -- the demo network's simulated agents ----------------------------------------------------

DEMO_BASE_PORT, DEMO_PORTS = 16101, 10  # inventory/demo.yaml and `make run`


def demo_inventory(dest: Path, base_port: int, source: Path | None = None) -> Path:
    """inventory/demo.yaml (or `source`) with its ten agents moved to `base_port`..+9, so a test
    runs beside a `make run` holding the demo's own ports."""
    text = (source or REPO / "inventory" / "demo.yaml").read_text()
    moved, count = re.subn(
        r"port: (\d+)}",
        lambda m: f"port: {int(m[1]) - DEMO_BASE_PORT + base_port}}}",
        text,
    )
    assert count == DEMO_PORTS, (
        f"expected {DEMO_PORTS} agent ports in the demo inventory, got {count}"
    )
    dest.write_text(moved)
    return dest


@dataclass(frozen=True)
class Demo:
    """The demo's simulated agents on ports of this session's own."""

    agents: subprocess.Popen[str]
    inventory: Path  # inventory/demo.yaml moved to `base`..+9
    base: int

    def port(self, demo_port: int) -> int:
        """Where an agent of inventory/demo.yaml (its port there) answers here."""
        return demo_port - DEMO_BASE_PORT + self.base


def start_demo(env: dict[str, str], tmp: Path, source: Path | None = None) -> Demo:
    """The demo's agents on ports of this session's own, and inventory/demo.yaml (or `source`)
    moved to them: runs beside a `make run` holding the demo's own ports."""
    base = PORTS.take(DEMO_PORTS)
    agents = start_demo_agents(env, base)
    return Demo(agents, demo_inventory(tmp / "demo.yaml", base, source), base)


def require_demo_ports_free(base: int = DEMO_BASE_PORT) -> None:
    """Fail, saying why, when the demo's agent ports are taken: a test of `netmon demo` itself
    (fixed ports) beside a `make run` would otherwise judge the other demo's agents."""
    taken = [p for p in range(base, base + DEMO_PORTS) if not _idle(p, (socket.SOCK_DGRAM,))]
    if taken:
        pytest.fail(
            f"ports {taken} of the demo's 127.0.0.1:{base}-{base + DEMO_PORTS - 1} are in use "
            "(a `make run` or `netmon demo`?): stop it, or start the agents with `start_demo`"
        )


def start_demo_agents(env: dict[str, str], base: int) -> subprocess.Popen[str]:
    """The demo network's simulated agents (`python -m netmon.sim`) on `base`..+9, ready to
    answer. They exit with this process (their stdin pipe) even if a test dies without cleaning
    up."""
    require_demo_ports_free(base)
    proc = subprocess.Popen(
        [sys.executable, "-m", "netmon.sim", "--exit-with-parent", "--base-port", str(base)],
        env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "ready":
        stop_demo_agents(proc)
        pytest.fail(
            f"the demo's simulated agents did not start on 127.0.0.1:{base}-{base + DEMO_PORTS - 1}"
            " (their stderr is above)"
        )
    return proc


def stop_demo_agents(proc: subprocess.Popen[str]) -> None:
    """End the agents by their PID (TERM, then KILL) and close their pipes here, not in the
    garbage collector (an unclosed pipe warns at exit and fails the run). They must end cleanly
    on SIGTERM: exit 0, not killed, not aborted (their stdin watcher once made the interpreter
    abort at exit)."""
    code: int | None = None
    if proc.poll() is None:
        proc.terminate()
        try:
            code = proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            code = -9
    for pipe in (proc.stdin, proc.stdout):
        if pipe is not None:
            pipe.close()
    if code not in (None, 0):
        pytest.fail(f"the demo's simulated agents did not end cleanly on SIGTERM (exit {code})")


def table_rows(text: str) -> list[dict[str, str]]:
    """The rows of a table netmon prints (`check`, `status`, a drill plan), one dict per row, by
    column name.

    A cell folded over several lines is joined again (a line whose first cell is empty continues
    the row above), so a test can hold each pair's own STATE, not only that the word is there.
    The first column itself must not fold: print the table wide (COLUMNS=200)."""
    header: list[str] = []
    rows: list[dict[str, list[str]]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("┃"):
            header = [c.strip() for c in line.strip("┃").split("┃")]
        elif line.startswith("│"):
            cells = [c.strip() for c in line.strip("│").split("│")]
            assert len(cells) == len(header), (header, line)
            if cells[0]:
                rows.append({name: [] for name in header})
            for name, cell in zip(header, cells, strict=True):
                if cell:
                    rows[-1][name].append(cell)
    return [{name: " ".join(parts) for name, parts in row.items()} for row in rows]
