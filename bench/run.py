"""netmon against prometheus-snmp-exporter, on the same simulated devices, in one run.

    make bench                 # quick (~6 min): 100 and 1,000 pairs, the daemon at 1,000
    .venv/bin/python -m bench.run --pairs 100 1000 5000 --daemon-pairs 1000 5000   # full

Every figure is taken over SNMPv2c and over SNMPv3 (authPriv: SHA-256 and AES-128, the fleet's
v3 user), on the same agents in the same run. For each size: netmon's real poll path (collector
+ evaluate + state store, as the daemon runs them) polls every pair `--cycles` times back to
back; CPU seconds per 1,000 pair-polls, wall time per cycle, peak RSS and a /metrics render. For
each `--daemon-pairs` size the real daemon runs in its own process at a `--interval` cycle
(scheduler, HTTP server and all) while this process scrapes its /metrics: CPU per pair-poll and
share of one core, poll lag p50/p99, missed polls, peak RSS, scrape time and size. Then
snmp_exporter scrapes the same devices the way Prometheus would, configured two ways: `walk`
(the usual: walk the keepalived and IF tables) and `get` (only the instances a pair needs), each
as a v2c and a v3 module (`walk_v3`, `get_v3`). Its CPU is read from /proc. The agents' CPU is
reported too: a run where they were the limit says so. Each netmon row's ratios are taken
against the exporter over the same SNMP version, and a v3 row's also against its v2c twin
(`ratio_v2c`). Results go to bench/results.json and a table on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from prometheus_client import generate_latest

from bench.fleet import COMMUNITY, KA, V3_AUTH_KEY, V3_PRIV_KEY, V3_USER, Agent, start_fleet, stop
from netmon.collectors.snmp import SnmpCollector
from netmon.exporter import make_registry
from netmon.kinds.keepalived import KeepalivedParams
from netmon.model import (
    AuthProtocol,
    Device,
    Inventory,
    Link,
    MemberSpec,
    PairSpec,
    PrivProtocol,
    Secret,
    SnmpSettings,
    SnmpV2c,
    SnmpV3,
)
from netmon.poller import Poller
from netmon.store import StateStore

HERE = Path(__file__).resolve().parent
# Member A's devices listen from BASE_A, member B's from BASE_B: below the ephemeral port range
# (32768-) and clear of the demo's 16101-16110.
BASE_A, BASE_B = 20000, 26000
MAX_PAIRS = BASE_B - BASE_A
IF = "1.3.6.1.2.1.2.2.1"
SNMP_VERSIONS = ("v2c", "v3")
# The daemon's goal, in pairs at its cycle: the share of one core it would take there is
# extrapolated from the measured CPU per pair-poll (the daemon's CPU per poll does not grow with
# size: it spreads its polls).
GOAL_PAIRS, GOAL_INTERVAL_S = 5000, 30.0


def netmon_peer(role: str, snmp: str, interval: float | None = None) -> str:
    """A netmon row's name: `netmon` (the poll path) or `netmon daemon (30 s cycle)`, with ` v3`
    after `netmon` for the SNMPv3 rows (`netmon v3`, `netmon v3 daemon (30 s cycle)`)."""
    name = "netmon" if snmp == "v2c" else f"netmon {snmp}"
    if role == "daemon":
        return f"{name} daemon ({interval:g} s cycle)"
    return name


def exporter_module(config: str, snmp: str) -> str:
    """The exporter's module for a config (`walk`, `get`) over an SNMP version: `walk` for v2c,
    `walk_v3` for v3. Its rows are named `snmp_exporter (<module>)`."""
    return config if snmp == "v2c" else f"{config}_{snmp}"


def credentials(v3: bool) -> SnmpV2c | SnmpV3:
    """The fleet's v2c community, or its SNMPv3 authPriv user (SHA-256, AES-128)."""
    if not v3:
        return SnmpV2c(Secret("bench", COMMUNITY))
    return SnmpV3(
        V3_USER,
        AuthProtocol.SHA256,
        Secret("bench auth", V3_AUTH_KEY),
        PrivProtocol.AES,
        Secret("bench priv", V3_PRIV_KEY),
    )


def inventory(pairs: int, v3: bool = False) -> Inventory:
    creds = credentials(v3)

    def snmp(port: int) -> SnmpSettings:
        return SnmpSettings(creds, port, 2.0, 1)

    devices: dict[str, Device] = {}
    specs = []
    for i in range(pairs):
        a, b = f"a{i}", f"b{i}"
        devices[a] = Device(a, "127.0.0.1", snmp(BASE_A + i))
        devices[b] = Device(b, "127.0.0.1", snmp(BASE_B + i))
        members = tuple(MemberSpec(n, n, KeepalivedParams(1), (Link(1, "lo"),)) for n in (a, b))
        specs.append(
            PairSpec(f"p{i}", "keepalived", members, preferred=a, interval=30, stale_after=300)
        )
    return Inventory(devices, tuple(specs))


def agents_cpu(agents: list[Agent]) -> float:
    return sum(a.cpu_seconds() for a in agents)


def bench_netmon(pairs: int, cycles: int, agents: list[Agent], snmp: str = "v2c") -> dict[str, Any]:
    inv = inventory(pairs, v3=snmp == "v3")
    store = StateStore(inv)

    async def run() -> tuple[list[float], list[float], float]:
        collector = SnmpCollector()
        poller = Poller(inv, store, collector)
        walls, cpus = [], []
        agents0 = agents_cpu(agents)
        for _ in range(cycles):
            t, cpu0 = time.monotonic(), time.process_time()
            await poller.poll_all()
            walls.append(time.monotonic() - t)
            cpus.append(time.process_time() - cpu0)
        collector.close()
        return walls, cpus, agents_cpu(agents) - agents0

    walls, cpus, agent_cpu = asyncio.run(run())
    cpu = sum(cpus)
    states: dict[str, int] = {}
    for status in store.snapshot(time.time()).pairs.values():
        states[status.state.value] = states.get(status.state.value, 0) + 1
    registry = make_registry(lambda: store.snapshot(time.time()))
    t = time.monotonic()
    body = generate_latest(registry)
    scrape = time.monotonic() - t
    polls = pairs * cycles
    return {
        "peer": netmon_peer("poll path", snmp),
        "role": "poll path",
        "snmp": snmp,
        "pairs": pairs,
        "cycles": cycles,
        "cpu_s_per_1k_pair_polls": 1000 * cpu / polls,
        # The first cycle is in the figure, as a daemon's first cycle is in its life; over v3 it
        # also discovers every device's engine (one extra round trip each, once).
        "cpu_s_first_cycle": cpus[0],
        "wall_s_per_cycle": sum(walls) / len(walls),
        "agents_cpu_s": agent_cpu,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "metrics_render_s": scrape,
        "metrics_bytes": len(body),
        "pair_states": states,
    }


# snmp_exporter 0.21 (Debian): modules at the top level of snmp.yml, each config once over v2c
# and once over v3. 0.21 takes SHA256 as `auth_protocol` (tried: it answers a SHA-256 user; its
# parse error still says "must be SHA or MD5") and `AES` is AES-128: the fleet's v3 user as it is.
SNMP_YML = """
walk:
  version: 2
  auth: {{community: {community}}}
  walk: &walk [{ka}.4, {ka}.7, {ka}.8, {ifx}.8, {ifx}.11, {ifx}.13, {ifx}.14, {ifx}.17, {ifx}.19, {ifx}.20]
  metrics: &metrics
{metrics}
get:
  version: 2
  auth: {{community: {community}}}
  get: &get [{ka}.4.1, {ka}.7.1, {ka}.8.1, {ifx}.8.1, {ifx}.11.1, {ifx}.13.1, {ifx}.14.1, {ifx}.17.1, {ifx}.19.1, {ifx}.20.1]
  metrics: *metrics
walk_v3:
  version: 3
  auth: &v3 {{username: {user}, security_level: authPriv, password: {auth_key}, auth_protocol: SHA256, priv_protocol: AES, priv_password: {priv_key}}}
  walk: *walk
  metrics: *metrics
get_v3:
  version: 3
  auth: *v3
  get: *get
  metrics: *metrics
"""
COLUMNS = {
    "vrrpInstanceState": f"{KA}.4", "vrrpInstanceBasePriority": f"{KA}.7",
    "vrrpInstanceEffectivePriority": f"{KA}.8", "ifOperStatus": f"{IF}.8", "ifInUcastPkts": f"{IF}.11",
    "ifInDiscards": f"{IF}.13", "ifInErrors": f"{IF}.14", "ifOutUcastPkts": f"{IF}.17",
    "ifOutDiscards": f"{IF}.19", "ifOutErrors": f"{IF}.20",
}  # fmt: skip


def exporter_config(path: Path) -> None:
    metrics = "\n".join(
        f"    - name: {name}\n      oid: {oid}\n      type: gauge\n"
        f"      indexes: [{{labelname: index, type: gauge}}]"
        for name, oid in COLUMNS.items()
    )
    v3 = {"user": V3_USER, "auth_key": V3_AUTH_KEY, "priv_key": V3_PRIV_KEY}
    path.write_text(SNMP_YML.format(community=COMMUNITY, ka=KA, ifx=IF, metrics=metrics, **v3))


def inventory_yaml(
    pairs: int,
    interval: float,
    base_a: int = BASE_A,
    base_b: int = BASE_B,
    timeout: float = 2.0,
    retries: int = 1,
    v3: bool = False,
) -> str:
    """The same fleet as `inventory()`, as an inventory file for the daemon. Its secrets come
    from the environment: NETMON_BENCH_COMMUNITY (v2c), NETMON_BENCH_AUTH and NETMON_BENCH_PRIV
    (v3, the fleet's V3_AUTH_KEY and V3_PRIV_KEY)."""
    creds = (
        f'version: "3", user: {V3_USER}, auth_protocol: SHA256,'
        " auth_key: {env: NETMON_BENCH_AUTH}, priv_protocol: AES, priv_key: {env: NETMON_BENCH_PRIV}"
        if v3
        else "community: {env: NETMON_BENCH_COMMUNITY}"
    )
    lines = [
        "version: 1",
        "defaults:",
        f"  snmp: {{{creds}, timeout: {timeout}, retries: {retries}}}",
        f"  pair: {{interval: {interval}, probes: {{enabled: false}}}}",
        "devices:",
    ]
    for i in range(pairs):
        lines.append(f"  a{i}: {{address: 127.0.0.1, snmp: {{port: {base_a + i}}}}}")
        lines.append(f"  b{i}: {{address: 127.0.0.1, snmp: {{port: {base_b + i}}}}}")
    lines.append("pairs:")
    for i in range(pairs):
        lines.append(
            f"  - {{name: p{i}, kind: keepalived, params: {{instance: 1}}, members: [a{i}, b{i}],"
            f" preferred: a{i}, links: [{{if_index: 1, name: lo}}]}}"
        )
    return "\n".join(lines) + "\n"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def bench_daemon(
    pairs: int, interval: float, cycles: int, agents: list[Agent], work: Path, snmp: str = "v2c"
) -> dict[str, Any]:
    path = work / f"daemon-{pairs}-{snmp}.yaml"
    path.write_text(inventory_yaml(pairs, interval, v3=snmp == "v3"))
    listen = f"127.0.0.1:{free_port()}"
    env = {
        **os.environ,
        "NETMON_BENCH_COMMUNITY": COMMUNITY,
        "NETMON_BENCH_AUTH": V3_AUTH_KEY,
        "NETMON_BENCH_PRIV": V3_PRIV_KEY,
    }
    agents0 = agents_cpu(agents)
    began = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.daemon", "--inventory", str(path), "--listen", listen,
         "--interval", str(interval), "--cycles", str(cycles)],
        stdout=subprocess.PIPE, env=env, cwd=HERE.parent,
    )  # fmt: skip
    scrapes: list[tuple[float, int]] = []
    while proc.poll() is None:
        time.sleep(
            interval
        )  # as Prometheus would scrape it: once per poll cycle, like each exporter target
        try:
            started = time.monotonic()
            with urllib.request.urlopen(f"http://{listen}/metrics", timeout=30) as response:
                size = len(response.read())
            scrapes.append((time.monotonic() - started, size))
        except OSError:
            continue  # not listening yet, or already stopped
    out, _ = proc.communicate()
    run_s = time.monotonic() - began
    if proc.returncode != 0:
        raise RuntimeError(f"bench.daemon exited with {proc.returncode}")
    result: dict[str, Any] = json.loads(out)
    full = [t for t, size in scrapes if size >= 0.9 * max(s for _, s in scrapes)] if scrapes else []
    per_poll = result["cpu_s"] / max(result["pair_polls"], 1)
    return {
        "peer": netmon_peer("daemon", snmp, interval),
        "role": "daemon",
        "snmp": snmp,
        "pairs": pairs,
        "cycles": cycles,
        "cpu_s_per_1k_pair_polls": 1000 * per_poll,
        # The goal's size at the goal's cycle, at this run's CPU per pair-poll.
        "core_share_at_goal": core_share_at_goal(per_poll),
        "agents_cpu_s": agents_cpu(agents) - agents0,
        "run_s": run_s,
        "scrape_s_max": max(full) if full else None,
        "scrape_s_median": sorted(full)[len(full) // 2] if full else None,
        "scrape_bytes": max(s for _, s in scrapes) if scrapes else None,
        **result,
    }


def core_share_at_goal(cpu_s_per_pair_poll: float) -> float:
    """The share of one core GOAL_PAIRS pairs would take at a GOAL_INTERVAL_S cycle."""
    return cpu_s_per_pair_poll * GOAL_PAIRS / GOAL_INTERVAL_S


def proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_exporter(
    pairs: int, cycles: int, agents: list[Agent], module: str, port: int, pid: int
) -> dict[str, Any]:
    targets = [f"127.0.0.1:{BASE_A + i}" for i in range(pairs)] + [
        f"127.0.0.1:{BASE_B + i}" for i in range(pairs)
    ]
    url = f"http://127.0.0.1:{port}/snmp?module={module}&target="

    def scrape(target: str) -> int:
        with urllib.request.urlopen(url + target, timeout=30) as response:  # noqa: S310 - loopback
            body = response.read()
        # A scrape that did not reach the device (an error page, an empty body) is no figure: its
        # CPU would make the exporter look cheap.
        if b"vrrpInstanceState{" not in body:
            raise PeerError(f"snmp_exporter ({module}) returned no device data for {target}")
        return len(body)

    cpu0, agents0 = proc_cpu(pid), agents_cpu(agents)
    walls = []
    with ThreadPoolExecutor(max_workers=10) as pool:  # Prometheus scrapes many targets at once
        for _ in range(cycles):
            t = time.monotonic()
            sizes = list(pool.map(scrape, targets))
            walls.append(time.monotonic() - t)
    cpu = proc_cpu(pid) - cpu0
    if cpu <= 0:
        raise PeerError(
            f"snmp_exporter ({module}) used no measurable CPU at {pairs} pairs x {cycles} cycles"
            " (/proc counts clock ticks): run more pairs or cycles"
        )
    return {
        "peer": f"snmp_exporter ({module})",
        "pairs": pairs,
        "cycles": cycles,
        "cpu_s_per_1k_pair_polls": 1000 * cpu / (pairs * cycles),
        "wall_s_per_cycle": sum(walls) / len(walls),
        "agents_cpu_s": agents_cpu(agents) - agents0,
        "scrape_bytes_per_device": sum(sizes) / len(sizes),
    }


class PeerError(RuntimeError):
    """The peer is missing or produced no figure: the run has nothing to compare netmon with."""


def find_exporter() -> str:
    """prometheus-snmp-exporter from PATH (Debian's package, in the Makefile's DEBS)."""
    found = shutil.which("prometheus-snmp-exporter")
    if found is None:
        raise PeerError(
            "prometheus-snmp-exporter is not on PATH: the bench measures netmon against it"
            " (`make deps-system` installs it)"
        )
    return found


def start_exporter(binary: str, work: Path) -> tuple[subprocess.Popen[bytes], int]:
    exporter_config(work / "snmp.yml")
    port = free_port()
    proc = subprocess.Popen(
        [binary, f"--config.file={work / 'snmp.yml'}", f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 15.0
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise PeerError(f"prometheus-snmp-exporter exited with {proc.returncode} at start")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2):
                return proc, port
        except OSError:
            time.sleep(0.1)
    proc.kill()
    proc.wait()
    raise PeerError("prometheus-snmp-exporter did not answer HTTP within 15 s")


def add_ratios(results: list[dict[str, Any]]) -> list[str]:
    """Write `ratio_walk` and `ratio_get` on each netmon row: its CPU per pair-poll over the
    exporter's at the same size and over the same SNMP version (a v3 row against `walk_v3` and
    `get_v3`), measured in this run; and on each v3 row `ratio_v2c`: its CPU per pair-poll over
    its v2c twin's (the same netmon peer at the same size). Returns what could not be computed:
    every netmon row must have its ratios, or the run has compared against nothing."""

    def cpu_of(peer: str, pairs: int) -> float | None:
        found = [
            r["cpu_s_per_1k_pair_polls"]
            for r in results
            if r["peer"] == peer and r["pairs"] == pairs
        ]
        return found[0] if found else None

    problems = []
    for row in results:
        if not row["peer"].startswith("netmon"):
            continue
        name = f"{row['peer']} at {row['pairs']} pairs"
        snmp = row.get("snmp", "v2c")
        mine = row["cpu_s_per_1k_pair_polls"]
        peers = {
            config: f"snmp_exporter ({exporter_module(config, snmp)})" for config in ("walk", "get")
        }
        if snmp != "v2c":
            peers["v2c"] = row["peer"].replace(f"netmon {snmp}", "netmon", 1)
        ratios = {}
        for key, peer in peers.items():
            theirs = cpu_of(peer, row["pairs"])
            if not theirs:
                problems.append(f"{name}: no {peer} figure")
                continue
            ratios[key] = row[f"ratio_{key}"] = mine / theirs
        if not all(math.isfinite(v) and v > 0 for v in ratios.values()):
            problems.append(f"{name}: ratio not a positive number")
    return problems


def report(results: list[dict[str, Any]]) -> None:
    cores = os.cpu_count() or 1
    print(
        f"{'peer':30} {'pairs':>6} {'CPU s/1k pair-polls':>20} {'agents CPU s':>13}"
        f" {'agents/machine':>15} {'load':>5}"
    )
    for r in results:
        wall = r.get("run_s") or r["wall_s_per_cycle"] * r["cycles"]
        # The agents share the machine: past ~half of it they may have set the pace, not the peer.
        r["agents_machine_share"] = share = r["agents_cpu_s"] / wall / cores if wall else 0.0
        r["agents_were_the_limit"] = share > 0.5
        print(
            f"{r['peer']:30} {r['pairs']:>6} {r['cpu_s_per_1k_pair_polls']:>20.3f}"
            f" {r['agents_cpu_s']:>13.2f} {share:>14.0%} {r.get('load_avg_1m') or 0:>5.1f}"
            + ("  <- agents were the limit" if share > 0.5 else "")
        )
    print(
        "\nratios: netmon CPU / snmp_exporter CPU per pair-poll over the same SNMP version"
        " (< 1.0: netmon is cheaper); v3 rows also / their v2c twin"
    )
    for r in results:
        if "ratio_walk" in r:
            print(
                f"  {r['peer']:30} {r['pairs']:>6} pairs: vs walk {r['ratio_walk']:5.2f}"
                f"   vs get {r['ratio_get']:5.2f}"
                + (f"   vs v2c {r['ratio_v2c']:5.2f}" if "ratio_v2c" in r else "")
            )
    daemons = [r for r in results if r.get("role") == "daemon"]
    if daemons:
        print(
            f"\n{'daemon':30} {'pairs':>6} {'core':>6} {'polls/expected':>15} {'missed':>7}"
            f" {'lag p50':>8} {'lag p99':>8} {'RSS MB':>7} {'scrape s':>9} {'MB':>6}"
            f" {f'core at {GOAL_PAIRS} pairs/{GOAL_INTERVAL_S:g} s':>22}"
        )
    for r in daemons:
        print(
            f"{r['peer']:30} {r['pairs']:>6} {r['core_share']:>6.1%}"
            f" {r['pair_polls']:>7}/{r['expected_pair_polls']:<7} {r['polls_missed']:>7}"
            f" {r['lag_p50_s'] or 0:>8.3f} {r['lag_p99_s'] or 0:>8.3f} {r['peak_rss_mb']:>7.0f}"
            f" {r['scrape_s_max'] or 0:>9.3f} {(r['scrape_bytes'] or 0) / 1e6:>6.1f}"
            f" {r['core_share_at_goal']:>22.1%}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run")
    parser.add_argument("--pairs", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument(
        "--daemon-pairs",
        type=int,
        nargs="*",
        default=None,
        help="sizes to run the daemon at (default: the largest --pairs)",
    )
    parser.add_argument("--interval", type=float, default=30.0, help="the daemon's poll cycle")
    parser.add_argument("--daemon-cycles", type=int, default=2)
    parser.add_argument(
        "--snmp",
        nargs="+",
        choices=SNMP_VERSIONS,
        default=list(SNMP_VERSIONS),
        help="SNMP versions to measure netmon and the exporter over (default: both, in one run)",
    )
    parser.add_argument("--out", type=Path, default=HERE / "results.json")
    args = parser.parse_args()
    daemon_sizes = args.daemon_pairs if args.daemon_pairs is not None else [max(args.pairs)]
    if max([*args.pairs, *daemon_sizes]) > MAX_PAIRS:
        parser.error(f"at most {MAX_PAIRS} pairs (one loopback port per device)")
    missing = sorted(set(daemon_sizes) - set(args.pairs))
    if missing:
        # The exporter is measured at the --pairs sizes only: a daemon size outside them would
        # have no peer figure to be compared with.
        parser.error(f"--daemon-pairs {missing} not among --pairs: no exporter figure there")
    if "v2c" not in args.snmp:
        # A v3 row's ratio_v2c is taken against its v2c twin of the same run.
        parser.error("--snmp v3 needs v2c beside it: v3 is measured against v2c")
    try:
        results = run(args.pairs, daemon_sizes, args)
    except PeerError as e:
        print(f"bench: {e}", file=sys.stderr)
        return 2
    problems = add_ratios(results)
    report(results)
    args.out.write_text(
        json.dumps(
            {
                "machine": os.uname().nodename,
                "cores": os.cpu_count(),
                "date": time.strftime("%Y-%m-%d"),
                "results": results,
            },
            indent=2,
        )
    )
    print(f"results in {args.out}")
    for problem in problems:
        print(f"bench: {problem}", file=sys.stderr)
    return 1 if problems else 0


def loaded(row: dict[str, Any]) -> dict[str, Any]:
    """`row` with the machine's 1-minute load average when it was taken: other work on the
    machine shows in every figure (the ratios cancel most of it), so the record says how much."""
    row["load_avg_1m"] = os.getloadavg()[0]
    return row


def run(
    sizes: list[int], daemon_sizes: list[int], args: argparse.Namespace
) -> list[dict[str, Any]]:
    exporter_bin = find_exporter()  # before anything starts: no peer, no run
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="netmon-bench-") as tmp:
        work = Path(tmp)
        most = max([*sizes, *daemon_sizes])
        agents: list[Agent] = []
        exporter = None
        try:
            exporter, port = start_exporter(exporter_bin, work)
            agents += start_fleet(work, "a", BASE_A, most, 2, 150)
            agents += start_fleet(work, "b", BASE_B, most, 1, 100)
            versions = [v for v in SNMP_VERSIONS if v in args.snmp]
            for pairs in sizes:
                for snmp in versions:
                    results.append(loaded(bench_netmon(pairs, args.cycles, agents, snmp)))
                for snmp in versions:
                    for config in ("walk", "get"):
                        module = exporter_module(config, snmp)
                        row = bench_exporter(pairs, args.cycles, agents, module, port, exporter.pid)
                        results.append(loaded(row))
            for pairs in daemon_sizes:
                for snmp in versions:
                    row = bench_daemon(pairs, args.interval, args.daemon_cycles, agents, work, snmp)
                    results.append(loaded(row))
        finally:
            if exporter is not None:
                exporter.terminate()
                exporter.wait(timeout=10)
            for agent in agents:
                stop(agent)
    return results


if __name__ == "__main__":
    sys.exit(main())
