"""Issue 15, replayed against the running daemon on loopback: the demo network (six pairs in
different states) is watched by `netmon run` while other local sockets attack it.

- a flood of 50 long-OID datagrams a second (65 KB each, a different arc every time) to each
  of netmon's UDP sockets, with forged replies among them: the right community, random
  request-ids, and every value saying "master" from a port that is no device's;
- 1,000 slow HTTP clients that open a connection and send a request head a byte at a time.

Through both, every pair keeps its verdict, the polls keep their rhythm (none skipped, none
started late), scrapes answer, and the daemon's descriptors and CPU stay bounded."""

from __future__ import annotations

import contextlib
import os
import random
import re
import resource
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from netmon.collectors.snmpwire import _tlv, encode_integer, encode_oid

from .conftest import free_tcp_port, stop_process
from .helpers import FIGURES, get, start_demo, states, stop_demo_agents, wait_for

pytestmark = pytest.mark.daemon

COMMUNITY = "hostile-Community-7d2e"
INTERVAL = 2.0  # the demo inventory's own
FLOOD_PER_SECOND = 50
FLOOD_SECONDS = 20.0
VRRP_STATE = (1, 3, 6, 1, 2, 1, 68, 1, 3, 1, 3)
HSRP_STATE = (1, 3, 6, 1, 4, 1, 9, 9, 106, 1, 2, 1, 1, 15)


@dataclass
class Daemon:
    proc: subprocess.Popen[bytes]
    listen: str
    log: Path


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    tmp = tmp_path_factory.mktemp("hostile")
    home = tmp / "home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "NETMON_DEMO_COMMUNITY": COMMUNITY}
    demo = start_demo(env, tmp)
    proc: subprocess.Popen[bytes] | None = None
    try:
        listen = f"127.0.0.1:{free_tcp_port()}"
        log = tmp / "daemon.log"
        with log.open("wb") as sink:
            proc = subprocess.Popen(
                [sys.executable, "-m", "netmon", "run", "-i", str(demo.inventory),
                 "--listen", listen, "--log-level", "warning"],
                env=env, stdout=sink, stderr=sink,
            )  # fmt: skip
        wait_for(lambda: len(states(listen)) == 6, 30, "six pair verdicts")
        settled(listen)
        yield Daemon(proc, listen, log)
    finally:
        if proc is not None:
            stop_process(proc)
        stop_demo_agents(demo.agents)


def settled(listen: str) -> dict[str, str]:
    """The verdicts once the demo's scripted change (6 s in) and split-brain debounce are past:
    the same in three reads, one poll interval apart."""
    last: list[dict[str, str]] = []
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        last = [*last[-2:], states(listen)]
        if len(last) == 3 and last[0] == last[1] == last[2]:
            return last[0]
        time.sleep(INTERVAL)
    pytest.fail(f"the demo's verdicts never settled: {last}")


def metrics(listen: str) -> dict[str, float]:
    """The daemon's own rhythm: polls, skipped polls, late polls (started over 0.5 s late)."""
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(get(f"http://{listen}/metrics")):
        for s in family.samples:
            if s.name == "netmon_poll_lag_seconds_count":
                out["polls"] = s.value
            elif s.name == "netmon_polls_missed_total":
                out["missed"] = s.value
            elif s.name == "netmon_poll_lag_seconds_bucket" and s.labels["le"] == "0.5":
                out["on_time"] = s.value
    return out


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def udp_ports(pid: int) -> list[int]:
    """The local ports of every UDP socket the process holds (from /proc, no tools needed)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            with_target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:  # closed meanwhile
            continue
        if match := re.fullmatch(r"socket:\[(\d+)\]", with_target):
            inodes.add(match.group(1))
    ports = []
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            cols = line.split()
            if cols[9] in inodes:
                ports.append(int(cols[1].rsplit(":", 1)[1], 16))
    return sorted(set(ports))


def message(community: bytes, rid: int, varbinds: bytes) -> bytes:
    pdu = _tlv(0xA2, encode_integer(rid) + b"\x02\x01\x00\x02\x01\x00" + _tlv(0x30, varbinds))
    return _tlv(0x30, b"\x02\x01\x01" + _tlv(0x04, community) + pdu)


def long_oid_datagram() -> bytes:
    oid = _tlv(0x06, b"\x2b" + random.randbytes(8) + b"\xff" * 65_000 + b"\x01")
    return message(b"not-the-community", random.getrandbits(31), _tlv(0x30, oid + b"\x05\x00"))


def forged_master_reply() -> bytes:
    """The right community and every demo pair's state column saying master (2) / active (6),
    under a random request-id, as one who knows the network but saw no request would send."""
    binds = b""
    for vrid in (10, 20, 30, 40):
        binds += _tlv(0x30, encode_oid((*VRRP_STATE, 2, vrid)) + encode_integer(2))
    binds += _tlv(0x30, encode_oid((*HSRP_STATE, 2, 50)) + encode_integer(6))
    return message(COMMUNITY.encode(), random.getrandbits(31), binds)


def test_a_long_oid_flood_with_forgeries_changes_no_verdict_and_no_poll(daemon: Daemon) -> None:
    before = settled(daemon.listen)
    assert len(before) == 6 and len(set(before.values())) >= 3, before  # pairs in many states
    ports = udp_ports(daemon.proc.pid)
    assert ports, "the daemon holds no UDP socket"
    stop = threading.Event()
    sent = [0]

    def flood() -> None:
        deadline = time.monotonic() + FLOOD_SECONDS + 5  # bounded, whatever the test does
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            n = 0
            next_at = time.monotonic()
            while not stop.is_set() and time.monotonic() < deadline:
                for port in ports:
                    data = forged_master_reply() if n % 5 == 4 else long_oid_datagram()
                    try:
                        sock.sendto(data, ("127.0.0.1", port))
                        sent[0] += 1
                    except OSError:
                        pass  # a full buffer: the flood goes on
                n += 1
                next_at += 1 / FLOOD_PER_SECOND
                time.sleep(max(0.0, next_at - time.monotonic()))

    start = metrics(daemon.listen)
    cpu0, t0 = cpu_seconds(daemon.proc.pid), time.monotonic()
    flooder = threading.Thread(target=flood)
    flooder.start()
    seen: list[dict[str, str]] = []
    scrapes: list[float] = []
    try:
        while time.monotonic() - t0 < FLOOD_SECONDS:
            began = time.monotonic()
            seen.append(states(daemon.listen))
            scrapes.append(time.monotonic() - began)
            time.sleep(0.5)
    finally:
        stop.set()
        flooder.join()
    elapsed = time.monotonic() - t0
    cpu = (cpu_seconds(daemon.proc.pid) - cpu0) / elapsed
    end = metrics(daemon.listen)
    polls = end["polls"] - start["polls"]
    late = polls - (end["on_time"] - start["on_time"])
    rate = sent[0] / elapsed / len(ports)
    FIGURES.append(("flood: long-OID datagrams a second, per netmon socket", rate, "/s"))
    FIGURES.append(("flood: daemon CPU", 100 * cpu, "% of a core"))
    FIGURES.append(("flood: slowest scrape", max(scrapes), "s"))
    FIGURES.append(("flood: pair polls (late, skipped)", polls, f"({late:.0f}, "
                    f"{end['missed'] - start['missed']:.0f})"))  # fmt: skip
    assert rate >= 0.9 * FLOOD_PER_SECOND
    changed = [s for s in seen if s != before]
    assert not changed, f"verdicts changed under the flood: {before} -> {changed[0]}"
    assert end["missed"] == start["missed"], "a poll was skipped"
    assert late == 0, f"{late:.0f} of {polls:.0f} polls started over 0.5 s late"
    assert polls >= 0.9 * len(before) * elapsed / INTERVAL
    assert cpu < 0.5, f"the daemon spent {cpu:.0%} of a core under the flood"
    assert daemon.proc.poll() is None
    assert "Traceback" not in daemon.log.read_text()


def test_a_thousand_slow_http_clients_leave_scrapes_and_verdicts_alone(daemon: Daemon) -> None:
    before = settled(daemon.listen)
    host, port = daemon.listen.rsplit(":", 1)
    # 1,024 descriptors, the common default soft limit: the old server ran out at ~1,000 clients.
    resource.prlimit(daemon.proc.pid, resource.RLIMIT_NOFILE, (1024, 1024))
    fds_before = len(os.listdir(f"/proc/{daemon.proc.pid}/fd"))
    clients: list[socket.socket] = []
    head = b"GET /metrics HTTP/1.1\r\nHost: netmon\r\nX-Slow: " + b"a" * 64
    seen: list[dict[str, str]] = []
    scrapes: list[float] = []
    most_fds = 0
    try:
        for _ in range(1000):
            sock = socket.create_connection((host, int(port)), timeout=5)
            sock.setblocking(False)
            clients.append(sock)
        t0 = time.monotonic()
        # 15 s: past the 10 s deadline for a whole request head, a byte a second per client.
        for second in range(15):
            for sock in clients:
                with contextlib.suppress(OSError):  # dropped by the server: as meant
                    sock.send(head[second : second + 1])
            began = time.monotonic()
            seen.append(states(daemon.listen))
            scrapes.append(time.monotonic() - began)
            most_fds = max(most_fds, len(os.listdir(f"/proc/{daemon.proc.pid}/fd")))
            time.sleep(max(0.0, t0 + second + 1 - time.monotonic()))
    finally:
        for sock in clients:
            sock.close()
    FIGURES.append(("1,000 slow HTTP clients: slowest scrape of the daemon", max(scrapes), "s"))
    FIGURES.append(("1,000 slow HTTP clients: daemon fds, before and most", fds_before,
                    f"fds -> {most_fds}"))  # fmt: skip
    assert all(s == before for s in seen), "verdicts changed while slow clients held the server"
    # Prometheus gives up on a scrape after 10 s by default; each answered, well inside that.
    assert max(scrapes) < 5.0, scrapes
    # At most 64 connections are held open, whatever the number of clients.
    assert most_fds <= fds_before + 64 + 4, (fds_before, most_fds)
    assert daemon.proc.poll() is None
