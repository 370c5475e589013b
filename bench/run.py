"""netmon against prometheus-snmp-exporter, on the same simulated devices, in one run.

    make bench                 # quick (~3 min): 100 and 1,000 pairs, the daemon at 1,000
    .venv/bin/python -m bench.run --pairs 100 1000 5000 --daemon-pairs 1000 5000   # full

For each size: netmon's real poll path (collector + evaluate + state store, as the daemon runs
them) polls every pair `--cycles` times back to back; CPU seconds per 1,000 pair-polls, wall time
per cycle, peak RSS and a /metrics render. For each `--daemon-pairs` size the real daemon runs
in its own process at a `--interval` cycle (scheduler, HTTP server and all) while this process
scrapes its /metrics: CPU per pair-poll and share of one core, poll lag p50/p99, missed polls,
peak RSS, scrape time and size. Then snmp_exporter scrapes the same devices the way Prometheus
would, configured two ways: `walk` (the usual: walk the keepalived and IF tables) and `get` (only
the instances a pair needs). Its CPU is read from /proc. The agents' CPU is reported too: a run
where they were the limit says so. Results go to bench/results.json and a table on stdout.
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


def bench_netmon(pairs: int, cycles: int, agents: list[Agent]) -> dict[str, Any]:
    inv = inventory(pairs)
    store = StateStore(inv)

    async def run() -> tuple[list[float], float, float]:
        snmp = SnmpCollector()
        poller = Poller(inv, store, snmp)
        walls = []
        cpu0 = time.process_time()
        agents0 = agents_cpu(agents)
        for _ in range(cycles):
            t = time.monotonic()
            await poller.poll_all()
            walls.append(time.monotonic() - t)
        cpu = time.process_time() - cpu0
        snmp.close()
        return walls, cpu, agents_cpu(agents) - agents0

    walls, cpu, agent_cpu = asyncio.run(run())
    states: dict[str, int] = {}
    for status in store.snapshot(time.time()).pairs.values():
        states[status.state.value] = states.get(status.state.value, 0) + 1
    registry = make_registry(lambda: store.snapshot(time.time()))
    t = time.monotonic()
    body = generate_latest(registry)
    scrape = time.monotonic() - t
    polls = pairs * cycles
    return {
        "peer": "netmon",
        "pairs": pairs,
        "cycles": cycles,
        "cpu_s_per_1k_pair_polls": 1000 * cpu / polls,
        "wall_s_per_cycle": sum(walls) / len(walls),
        "agents_cpu_s": agent_cpu,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "metrics_render_s": scrape,
        "metrics_bytes": len(body),
        "pair_states": states,
    }


# snmp_exporter 0.21 (Debian): modules at the top level of snmp.yml.
SNMP_YML = """
walk:
  version: 2
  auth: {{community: {community}}}
  walk: [{ka}.4, {ka}.7, {ka}.8, {ifx}.8, {ifx}.11, {ifx}.13, {ifx}.14, {ifx}.17, {ifx}.19, {ifx}.20]
  metrics:
{metrics}
get:
  version: 2
  auth: {{community: {community}}}
  get: [{ka}.4.1, {ka}.7.1, {ka}.8.1, {ifx}.8.1, {ifx}.11.1, {ifx}.13.1, {ifx}.14.1, {ifx}.17.1, {ifx}.19.1, {ifx}.20.1]
  metrics:
{metrics}
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
    path.write_text(SNMP_YML.format(community=COMMUNITY, ka=KA, ifx=IF, metrics=metrics))


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
        f"user: {V3_USER}, auth_protocol: SHA256, auth_key: {{env: NETMON_BENCH_AUTH}},"
        " priv_protocol: AES, priv_key: {env: NETMON_BENCH_PRIV}"
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
    pairs: int, interval: float, cycles: int, agents: list[Agent], work: Path
) -> dict[str, Any]:
    path = work / f"daemon-{pairs}.yaml"
    path.write_text(inventory_yaml(pairs, interval))
    listen = f"127.0.0.1:{free_port()}"
    env = {**os.environ, "NETMON_BENCH_COMMUNITY": COMMUNITY}
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
    return {
        "peer": f"netmon daemon ({interval:g} s cycle)",
        "pairs": pairs,
        "cycles": cycles,
        "cpu_s_per_1k_pair_polls": 1000 * result["cpu_s"] / max(result["pair_polls"], 1),
        "agents_cpu_s": agents_cpu(agents) - agents0,
        "run_s": run_s,
        "scrape_s_max": max(full) if full else None,
        "scrape_s_median": sorted(full)[len(full) // 2] if full else None,
        "scrape_bytes": max(s for _, s in scrapes) if scrapes else None,
        **result,
    }


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
    exporter's at the same size, measured in this run. Returns what could not be computed: every
    netmon row must have both ratios, or the run has compared against nothing."""

    def exporter_cpu(module: str, pairs: int) -> float | None:
        found = [
            r["cpu_s_per_1k_pair_polls"]
            for r in results
            if r["peer"] == f"snmp_exporter ({module})" and r["pairs"] == pairs
        ]
        return found[0] if found else None

    problems = []
    for row in results:
        if not row["peer"].startswith("netmon"):
            continue
        walk, get = exporter_cpu("walk", row["pairs"]), exporter_cpu("get", row["pairs"])
        if not walk or not get:
            problems.append(f"{row['peer']} at {row['pairs']} pairs: no snmp_exporter figure")
            continue
        mine = row["cpu_s_per_1k_pair_polls"]
        row["ratio_walk"], row["ratio_get"] = mine / walk, mine / get
        if not all(math.isfinite(v) and v > 0 for v in (row["ratio_walk"], row["ratio_get"])):
            problems.append(f"{row['peer']} at {row['pairs']} pairs: ratio not a positive number")
    return problems


def report(results: list[dict[str, Any]]) -> None:
    cores = os.cpu_count() or 1
    print(
        f"{'peer':30} {'pairs':>6} {'CPU s/1k pair-polls':>20} {'agents CPU s':>13}"
        f" {'agents/machine':>15}"
    )
    for r in results:
        wall = r.get("run_s") or r["wall_s_per_cycle"] * r["cycles"]
        # The agents share the machine: past ~half of it they may have set the pace, not the peer.
        r["agents_machine_share"] = share = r["agents_cpu_s"] / wall / cores if wall else 0.0
        r["agents_were_the_limit"] = share > 0.5
        print(
            f"{r['peer']:30} {r['pairs']:>6} {r['cpu_s_per_1k_pair_polls']:>20.3f}"
            f" {r['agents_cpu_s']:>13.2f} {share:>14.0%}"
            + ("  <- agents were the limit" if share > 0.5 else "")
        )
    print("\nratios: netmon CPU / snmp_exporter CPU per pair-poll (< 1.0: netmon is cheaper)")
    for r in results:
        if "ratio_walk" in r:
            print(
                f"  {r['peer']:30} {r['pairs']:>6} pairs: vs walk {r['ratio_walk']:5.2f}"
                f"   vs get {r['ratio_get']:5.2f}"
            )
    daemons = [r for r in results if r["peer"].startswith("netmon daemon")]
    if daemons:
        print(
            f"\n{'daemon':30} {'pairs':>6} {'core':>6} {'polls/expected':>15} {'missed':>7}"
            f" {'lag p50':>8} {'lag p99':>8} {'RSS MB':>7} {'scrape s':>9} {'MB':>6}"
        )
    for r in daemons:
        print(
            f"{r['peer']:30} {r['pairs']:>6} {r['core_share']:>6.1%}"
            f" {r['pair_polls']:>7}/{r['expected_pair_polls']:<7} {r['polls_missed']:>7}"
            f" {r['lag_p50_s'] or 0:>8.3f} {r['lag_p99_s'] or 0:>8.3f} {r['peak_rss_mb']:>7.0f}"
            f" {r['scrape_s_max'] or 0:>9.3f} {(r['scrape_bytes'] or 0) / 1e6:>6.1f}"
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
            for pairs in sizes:
                results.append(bench_netmon(pairs, args.cycles, agents))
                for module in ("walk", "get"):
                    results.append(
                        bench_exporter(pairs, args.cycles, agents, module, port, exporter.pid)
                    )
            for pairs in daemon_sizes:
                results.append(bench_daemon(pairs, args.interval, args.daemon_cycles, agents, work))
        finally:
            if exporter is not None:
                exporter.terminate()
                exporter.wait(timeout=10)
            for agent in agents:
                stop(agent)
    return results


if __name__ == "__main__":
    sys.exit(main())
