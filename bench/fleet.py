"""A fleet of SNMP agents for benchmarks: net-snmp snmpd processes on loopback, each listening on
up to 100 UDP ports (one per simulated device; a longer agentAddress line is cut short by snmpd),
serving fixed KEEPALIVED-MIB rows with `override` (at C speed) beside the real IF-MIB of lo.
Member A's agents say master, member B's backup."""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

KA = "1.3.6.1.4.1.9586.100.5.2.3.1"
COMMUNITY = "bench"
# Every agent also serves one SNMPv3 authPriv user, the configuration regulated networks run
# (SHA-256 and AES-128, as issue 17 measures): the same agents answer v2c and v3 in one run.
V3_USER = "benchv3"
V3_AUTH_KEY = "bench-auth-pass"
V3_PRIV_KEY = "bench-priv-pass"


@dataclass
class Agent:
    proc: subprocess.Popen[bytes]
    ports: list[int]

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _raise_fd_limit() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def start_agent(
    workdir: Path, name: str, first_port: int, count: int, state: int, priority: int
) -> Agent:
    binary = shutil.which("snmpd") or "/usr/sbin/snmpd"
    ports = list(range(first_port, first_port + count))
    conf = workdir / f"{name}.conf"
    lines = [
        "agentAddress " + ",".join(f"udp:127.0.0.1:{p}" for p in ports),
        f"rocommunity {COMMUNITY} 127.0.0.1",
        f'createUser {V3_USER} SHA-256 "{V3_AUTH_KEY}" AES "{V3_PRIV_KEY}"',
        f"rouser {V3_USER} priv",
        f"override {KA}.4.1 integer {state}",
        f"override {KA}.7.1 integer {priority}",
        f"override {KA}.8.1 integer {priority}",
    ]
    conf.write_text("\n".join(lines) + "\n")
    env = {**os.environ, "SNMP_PERSISTENT_DIR": str(workdir / f"{name}-persist")}
    proc = subprocess.Popen(
        [binary, "-f", "-m", "", "-C", "-c", str(conf), "-Lf", str(workdir / f"{name}.log")],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=_raise_fd_limit,  # noqa: PLW1509
    )  # fmt: skip
    return Agent(proc, ports)


PORTS_PER_AGENT = 100


def start_fleet(
    workdir: Path, name: str, first_port: int, count: int, state: int, priority: int
) -> list[Agent]:
    agents = []
    for i, start in enumerate(range(first_port, first_port + count, PORTS_PER_AGENT)):
        n = min(PORTS_PER_AGENT, first_port + count - start)
        agents.append(start_agent(workdir, f"{name}{i}", start, n, state, priority))
    for agent in agents:
        wait_ready(agent)
    return agents


def wait_ready(agent: Agent, timeout: float = 30.0) -> None:
    """Until the last port answers a GET (snmpd binds its ports one by one)."""
    deadline = time.monotonic() + timeout
    last = agent.ports[-1]
    while time.monotonic() < deadline:
        result = subprocess.run(
            ["snmpget", "-v2c", "-c", COMMUNITY, "-On", "-t", "0.3", "-r", "0", f"127.0.0.1:{last}", f"{KA}.4.1"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if result.returncode == 0 and "INTEGER" in result.stdout:
            return
        if agent.proc.poll() is not None:
            raise RuntimeError(f"snmpd exited with {agent.proc.returncode}")
        time.sleep(0.2)
    raise RuntimeError(f"snmpd on ports {agent.ports[0]}-{last} did not answer within {timeout}s")


def stop(agent: Agent) -> None:
    if agent.proc.poll() is None:
        agent.proc.send_signal(signal.SIGTERM)
        try:
            agent.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            agent.proc.kill()
            agent.proc.wait()
