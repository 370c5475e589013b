"""netmon's poll path against prometheus-snmp-exporter, on the same simulated devices, in one run.

    make bench                 # quick: 100 and 1,000 pairs
    .venv/bin/python -m bench.run --pairs 100 1000 5000 --cycles 3    # full

For each size: netmon's real poll path (collector + evaluate + state store, as the daemon runs
them) polls every pair `--cycles` times; CPU seconds per 1,000 pair-polls, wall time per cycle,
peak RSS and a /metrics render. Then snmp_exporter scrapes the same devices the way Prometheus
would, configured two ways: `walk` (the usual: walk the keepalived and IF tables) and `get` (only
the instances a pair needs). Its CPU is read from /proc. The agents' CPU is reported too: a run
where they were the limit says so. Results go to bench/results.json and a table on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from prometheus_client import generate_latest

from bench.fleet import COMMUNITY, KA, Agent, start_fleet, stop
from netmon.collectors.snmp import SnmpCollector
from netmon.exporter import make_registry
from netmon.kinds.keepalived import KeepalivedParams
from netmon.model import (
    Device,
    Inventory,
    Link,
    MemberSpec,
    PairSpec,
    Secret,
    SnmpSettings,
    SnmpV2c,
)
from netmon.poller import Poller
from netmon.store import StateStore

HERE = Path(__file__).resolve().parent
BASE_A, BASE_B = 30000, 40000
IF = "1.3.6.1.2.1.2.2.1"


def inventory(pairs: int) -> Inventory:
    def snmp(port: int) -> SnmpSettings:
        return SnmpSettings(SnmpV2c(Secret("bench", COMMUNITY)), port, 2.0, 1)

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
            return len(response.read())

    cpu0, agents0 = proc_cpu(pid), agents_cpu(agents)
    walls = []
    with ThreadPoolExecutor(max_workers=10) as pool:  # Prometheus scrapes many targets at once
        for _ in range(cycles):
            t = time.monotonic()
            sizes = list(pool.map(scrape, targets))
            walls.append(time.monotonic() - t)
    cpu = proc_cpu(pid) - cpu0
    return {
        "peer": f"snmp_exporter ({module})",
        "pairs": pairs,
        "cycles": cycles,
        "cpu_s_per_1k_pair_polls": 1000 * cpu / (pairs * cycles),
        "wall_s_per_cycle": sum(walls) / len(walls),
        "agents_cpu_s": agents_cpu(agents) - agents0,
        "scrape_bytes_per_device": sum(sizes) / len(sizes),
    }


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run")
    parser.add_argument("--pairs", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument("--out", type=Path, default=HERE / "results.json")
    args = parser.parse_args()
    exporter_bin = shutil.which("prometheus-snmp-exporter")
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="netmon-bench-") as tmp:
        work = Path(tmp)
        most = max(args.pairs)
        agents = start_fleet(work, "a", BASE_A, most, 2, 150) + start_fleet(
            work, "b", BASE_B, most, 1, 100
        )
        exporter = None
        port = 19116
        try:
            if exporter_bin:
                exporter_config(work / "snmp.yml")
                exporter = subprocess.Popen(
                    [exporter_bin, f"--config.file={work / 'snmp.yml'}", f"--web.listen-address=127.0.0.1:{port}"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                )  # fmt: skip
                time.sleep(1.0)
            for pairs in args.pairs:
                results.append(bench_netmon(pairs, args.cycles, agents))
                if exporter is not None:
                    for module in ("walk", "get"):
                        results.append(
                            bench_exporter(pairs, args.cycles, agents, module, port, exporter.pid)
                        )
        finally:
            if exporter is not None:
                exporter.terminate()
                exporter.wait(timeout=10)
            for agent in agents:
                stop(agent)
    print(
        f"{'peer':28} {'pairs':>6} {'CPU s/1k pair-polls':>20} {'wall s/cycle':>13} {'agents CPU s':>13} {'ratio':>7}"
    )
    for r in results:
        netmon = next(x for x in results if x["peer"] == "netmon" and x["pairs"] == r["pairs"])
        r["netmon_ratio"] = (
            netmon["cpu_s_per_1k_pair_polls"] / r["cpu_s_per_1k_pair_polls"]
            if r["cpu_s_per_1k_pair_polls"]
            else None
        )
        ratio = f"{r['netmon_ratio']:.2f}" if r["peer"] != "netmon" and r["netmon_ratio"] else ""
        print(
            f"{r['peer']:28} {r['pairs']:>6} {r['cpu_s_per_1k_pair_polls']:>20.3f} {r['wall_s_per_cycle']:>13.2f} {r['agents_cpu_s']:>13.2f} {ratio:>7}"
        )
    args.out.write_text(
        json.dumps(
            {"machine": os.uname().nodename, "cores": os.cpu_count(), "results": results}, indent=2
        )
    )
    print(
        f"ratio = netmon CPU / peer CPU per pair-poll (< 1.0: netmon is cheaper); results in {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
