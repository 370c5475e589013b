"""Shared test helpers: real daemons started by the tests, ports for them, the CI rule.

A test that needs a real daemon (snmpd) or root must run in CI (CI=true): there, a missing
prerequisite fails the test instead of skipping it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from .helpers import PORTS

if TYPE_CHECKING:
    from netmon.lab import FrrLab, Lab

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
REPO = Path(__file__).resolve().parent.parent


def require(condition: bool, why: str) -> None:
    """Skip locally, fail in CI: CI must never silently skip a real-daemon test."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI: {why}")
    pytest.skip(why)


def free_udp_port() -> int:
    """A loopback port for a daemon of this session's own (see `helpers.PortAllocator`)."""
    return PORTS.take()


def free_tcp_port() -> int:
    """A loopback port for a daemon of this session's own (see `helpers.PortAllocator`)."""
    return PORTS.take()


def free_udp_ports(count: int) -> int:
    """The first of `count` consecutive loopback ports of this session's own."""
    return PORTS.take(count)


def stop_process(
    proc: subprocess.Popen[bytes] | subprocess.Popen[str], timeout: float = 5.0
) -> None:
    """End a process this test started, by its PID: TERM, then KILL."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@dataclass(frozen=True)
class Snmpd:
    port: int
    community: str
    v3_user: str
    v3_auth: str
    v3_priv: str
    workdir: Path


SNMPD_CONF = """\
agentAddress udp:127.0.0.1:{port}
rocommunity {community} 127.0.0.1
createUser {user} SHA {auth} AES {priv}
rouser {user} priv
sysName netmon-test
"""


@pytest.fixture(scope="session")
def snmpd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Snmpd]:
    """A real net-snmp snmpd on a loopback high port, with a v2c community and a v3 authPriv user."""
    binary = shutil.which("snmpd") or (
        "/usr/sbin/snmpd" if Path("/usr/sbin/snmpd").exists() else None
    )
    require(binary is not None, "net-snmp snmpd is not installed (make test installs it)")
    assert binary is not None
    workdir = tmp_path_factory.mktemp("snmpd")
    port = free_udp_port()
    info = Snmpd(
        port, "t3st-Community-xq", "netmonv3", "t3st-authkey-xq", "t3st-privkey-xq", workdir
    )
    conf = workdir / "snmpd.conf"
    conf.write_text(
        SNMPD_CONF.format(
            port=port,
            community=info.community,
            user=info.v3_user,
            auth=info.v3_auth,
            priv=info.v3_priv,
        )
    )
    env = {**os.environ, "SNMP_PERSISTENT_DIR": str(workdir / "persist")}
    proc = subprocess.Popen(
        [binary, "-f", "-m", "", "-C", "-c", str(conf), "-p", str(workdir / "snmpd.pid"),
         "-Lf", str(workdir / "snmpd.log")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait_snmp(port, info.community, proc)
        yield info
    finally:
        stop_process(proc)


def _wait_snmp(
    port: int, community: str, proc: subprocess.Popen[bytes], timeout: float = 10.0
) -> None:
    """Wait until the agent answers a real GET (sysUpTime), not just until the port is bound."""
    from pyasn1.codec.ber import decoder, encoder
    from pysnmp.proto import api

    v2c = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
    pdu = v2c.GetRequestPDU()
    v2c.apiPDU.set_defaults(pdu)
    v2c.apiPDU.set_varbinds(pdu, [((1, 3, 6, 1, 2, 1, 1, 3, 0), v2c.Null(""))])
    msg = v2c.Message()
    v2c.apiMessage.set_defaults(msg)
    v2c.apiMessage.set_community(msg, community)
    v2c.apiMessage.set_pdu(msg, pdu)
    request = encoder.encode(msg)
    deadline = time.monotonic() + timeout
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.2)
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"snmpd exited with {proc.returncode}")
            s.sendto(request, ("127.0.0.1", port))
            try:
                data, _ = s.recvfrom(65535)
            except TimeoutError:
                continue
            decoder.decode(data, asn1Spec=v2c.Message())
            return
    pytest.fail(f"snmpd on port {port} did not answer within {timeout}s")


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    """The real lab (root), built once per session: tests/test_lab.py pulls its levers and
    tests/test_discover.py reads it; both restore what they change."""
    from netmon.lab import Lab

    from .helpers import DELAYS

    require(os.geteuid() == 0, "the lab needs root")
    for tool in ("keepalived", "snmpd", "sshd", "ip", "bridge"):
        require(
            shutil.which(tool) is not None or Path(f"/usr/sbin/{tool}").exists(),
            f"{tool} is not installed (make test installs it)",
        )
    lab = Lab()
    existed = lab.root.exists()  # tests leave behind only what was there before them
    try:
        # Inside the `try`: an `up` that fails half-way cleans up after itself (Lab.up), and
        # the folder it made goes too.
        started = time.monotonic()
        lab.up()
        DELAYS.append(
            (
                "lab up (namespaces, snmpd, keepalived, sshd, VRRP converged)",
                time.monotonic() - started,
            )
        )
        yield lab
    finally:
        lab.down()
        if not existed:
            shutil.rmtree(lab.root, ignore_errors=True)


@pytest.fixture(scope="session")
def frr_lab() -> Iterator[FrrLab]:
    """The FRR lab (root: vrrpd and zebra in two namespaces, beside the keepalived lab), built
    once per session for tests/test_frr_lab.py, whose tests restore what they change."""
    from netmon.lab import FrrLab
    from netmon.lab.frr import FRR_SBIN

    from .helpers import DELAYS

    require(os.geteuid() == 0, "the FRR lab needs root")
    for daemon in ("zebra", "vrrpd"):
        require(
            (FRR_SBIN / daemon).exists(),
            f"FRR's {daemon} is not installed (make test installs frr)",
        )
    for tool in ("vtysh", "sshd", "ip", "bridge"):
        require(
            shutil.which(tool) is not None or Path(f"/usr/sbin/{tool}").exists(),
            f"{tool} is not installed (make test installs it)",
        )
    lab = FrrLab()
    existed = lab.root.exists()
    try:
        started = time.monotonic()
        lab.up()
        DELAYS.append(
            ("FRR lab up (namespaces, zebra, vrrpd, sshd, f1 Master)", time.monotonic() - started)
        )
        yield lab
    finally:
        lab.down()
        if not existed:
            shutil.rmtree(lab.root, ignore_errors=True)


@pytest.fixture(scope="session")
def alertmanager(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Alertmanager on a loopback port (Debian's prometheus-alertmanager); its URL."""
    binary = shutil.which("prometheus-alertmanager")
    require(binary is not None, "prometheus-alertmanager is not installed (make test installs it)")
    assert binary is not None
    workdir = tmp_path_factory.mktemp("alertmanager")
    config = workdir / "alertmanager.yml"
    config.write_text('route: {receiver: "null"}\nreceivers: [{name: "null"}]\n')
    port = free_tcp_port()
    with (workdir / "log").open("wb") as sink:
        proc = subprocess.Popen(
            [binary, f"--config.file={config}", f"--storage.path={workdir / 'data'}",
             f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
            stdout=subprocess.DEVNULL, stderr=sink,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(
                    f"Alertmanager did not become ready: {(workdir / 'log').read_text()[-500:]}"
                )
            time.sleep(0.1)
        yield url
    finally:
        stop_process(proc)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the detection delays the lab tests measured."""
    from .helpers import DELAYS, FIGURES

    if DELAYS:
        terminalreporter.section("netmon detection delays (measured)")
        for what, seconds in DELAYS:
            terminalreporter.write_line(f"{what}: {seconds:.2f} s")
    if FIGURES:
        terminalreporter.section("netmon reliability figures (measured)")
        for what, value, unit in FIGURES:
            terminalreporter.write_line(f"{what}: {value:.2f} {unit}")
