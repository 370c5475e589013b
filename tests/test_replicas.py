"""netmon replicas on one real PostgreSQL, watching the demo's simulated network: the drill lease
(one drill per pair across replicas and CLIs), a dead drill's pair restored by a surviving
replica, the merged history, and shards each run by two replicas.

The drill's process dies in two ways: kill -9 (seen at once on this host: the process is gone)
and SIGSTOP (a hung or lost host: it simply stops renewing, and its lease has to run out)."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from netmon.collectors.snmp import SnmpCollector
from netmon.kinds.keepalived import BASE_PRIORITY
from netmon.model import Device, Secret, SnmpSettings, SnmpV2c

from .conftest import free_tcp_port, stop_process
from .helpers import Demo, get, sample, states, wait_for
from .pg import Postgres, postgres  # noqa: F401 - the fixture
from .test_daemon import NETMON, SECRET, env, sim  # noqa: F401 - fixtures

pytestmark = pytest.mark.daemon

RECOVERY_BOUND = 30.0  # seconds: the bound from a drill's death to its pair restored


class Replicas:
    """Daemons started by a test, each with its --replica name and listen address."""

    def __init__(self, tmp: Path, environ: dict[str, str], inventory: Path) -> None:
        self.tmp, self.env, self.inventory = tmp, environ, inventory
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.listen: dict[str, str] = {}

    def start(self, name: str, *extra: str) -> str:
        listen = f"127.0.0.1:{free_tcp_port()}"
        with (self.tmp / f"{name}.log").open("wb") as sink:
            self.procs[name] = subprocess.Popen(
                [*NETMON, "run", "-i", str(self.inventory), "--listen", listen,
                 "--replica", name, *extra],
                env=self.env, stdout=sink, stderr=sink,
            )  # fmt: skip
        self.listen[name] = listen
        return listen

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(errors="replace")

    def stop(self) -> None:
        for proc in self.procs.values():
            stop_process(proc)


@pytest.fixture
def shared(
    postgres: Postgres,  # noqa: F811 - the fixture
    env: dict[str, str],  # noqa: F811
    tmp_path: Path,
) -> tuple[dict[str, str], str]:
    dsn = postgres.fresh_db()
    return {**env, "NETMON_STATE_DSN": dsn, "XDG_STATE_HOME": str(tmp_path / "state")}, dsn


def drill_cmd(inventory: Path, listen: str) -> list[str]:
    return [*NETMON, "drill", "run", "core-gw", "-i", str(inventory), "--yes", "--json",
            "--listen", listen]  # fmt: skip


def rows(dsn: str, sql: str, *args: object) -> list[tuple[object, ...]]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return list(conn.execute(sql, args).fetchall())


def wait_for_act(dsn: str, timeout: float = 30.0) -> int:
    """The id of the drill whose demotion was journalled (written just before it is sent)."""
    found: list[int] = []

    def acted() -> bool:
        got = rows(dsn, "SELECT drill_id FROM steps WHERE kind = 'act' ORDER BY drill_id DESC")
        found.extend(int(str(r[0])) for r in got[:1])
        return bool(got)

    wait_for(acted, timeout, "the drill's demotion in the journal", step=0.05)
    return found[0]


def both_healthy(replicas: Replicas) -> None:
    for name, listen in replicas.listen.items():
        wait_for(
            lambda listen=listen: (
                states(listen).get("core-gw") == "healthy"  # type: ignore[misc]
                and sample(listen, "netmon_pair_on_preferred", pair="core-gw") == 1.0
            ),
            40,
            f"core-gw healthy on its preferred member, seen by {name}",
        )


def restored_by_a_replica(
    dsn: str, drill_id: int, died_at: float, replicas: Replicas
) -> tuple[float, str]:
    """Wait for a replica to finish the dead drill; the seconds it took and who did it."""
    finished: list[tuple[object, ...]] = []

    def done() -> bool:
        finished[:] = rows(
            dsn, "SELECT result, report, replica FROM drills WHERE id = %s AND result IS NOT NULL",
            drill_id,
        )  # fmt: skip
        return bool(finished)

    wait_for(done, RECOVERY_BOUND + 10, "the interrupted drill finished by a replica", step=0.2)
    took = time.monotonic() - died_at
    result, report_text, ran_by = finished[0]
    report = json.loads(str(report_text))
    assert result == "aborted", report
    assert report["restored"] is True, report
    assert ran_by == "cli-1"  # the drill row names who ran it ...
    recovered_by = str(report["recovered_by"])
    assert recovered_by.split(" ", 1)[0] in replicas.listen  # ... and the report who restored it
    notes = [str(r[0]) for r in rows(dsn, "SELECT text FROM steps WHERE drill_id = %s", drill_id)]
    assert any(n.startswith(f"recovery by {recovered_by}") and "cli-1" in n for n in notes), notes
    assert took < RECOVERY_BOUND, f"restored {took:.1f}s after the drill's process died"
    return took, recovered_by


@pytest.mark.parametrize("death", ["kill -9", "hung (SIGSTOP)"])
def test_a_dead_drill_is_restored_by_a_surviving_replica(
    sim: Demo,  # noqa: F811
    shared: tuple[dict[str, str], str],
    tmp_path: Path,
    death: str,
) -> None:
    environ, dsn = shared
    replicas = Replicas(tmp_path, environ, sim.inventory)
    try:
        listen = replicas.start("a")
        replicas.start("b")
        both_healthy(replicas)
        for name, at in replicas.listen.items():
            assert f'netmon_replica_info{{replica="{name}",shard="1/1"}} 1.0' in get(
                f"http://{at}/metrics"
            )
        drill = subprocess.Popen(
            drill_cmd(sim.inventory, listen), env={**environ, "NETMON_REPLICA": "cli-1"},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            drill_id = wait_for_act(dsn)
            if death == "kill -9":
                drill.kill()
                drill.communicate(timeout=10)
            else:
                drill.send_signal(signal.SIGSTOP)
            died = time.monotonic()
            took, by = restored_by_a_replica(dsn, drill_id, died, replicas)
            print(f"\n{death}: pair restored {took:.1f}s after the drill died, by {by}")
            if death != "kill -9":
                # A lease lost to a hang must have run out first: no replica restored a pair
                # whose drill might still be acting.
                assert took >= 10.0, f"restored after {took:.1f}s: before the lease ran out"
        finally:
            if drill.poll() is None:
                drill.kill()
                drill.send_signal(signal.SIGCONT)
                drill.communicate(timeout=10)
        both_healthy(replicas)
    finally:
        replicas.stop()


def test_two_drills_at_once_one_runs_one_is_refused_naming_the_other(
    sim: Demo,  # noqa: F811
    shared: tuple[dict[str, str], str],
    tmp_path: Path,
) -> None:
    environ, dsn = shared
    replicas = Replicas(tmp_path, environ, sim.inventory)
    try:
        listen = replicas.start("a")
        both_healthy(replicas)
        drills = [
            subprocess.Popen(
                drill_cmd(sim.inventory, listen),
                env={**environ, "NETMON_REPLICA": f"cli-{i}"},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for i in (1, 2)
        ]
        reports = []
        for proc in drills:
            stdout, stderr = proc.communicate(timeout=120)
            reports.append((proc.returncode, json.loads(stdout) if stdout.strip() else {}, stderr))
        results = sorted(r[1].get("result", "?") for r in reports)
        assert results == ["passed", "refused"], reports
        refused = next(r for r in reports if r[1]["result"] == "refused")
        winner = "cli-1" if refused is reports[1] else "cli-2"
        assert "another drill holds the pair" in refused[1]["reason"], refused
        assert winner in refused[1]["reason"], refused
        assert rows(dsn, "SELECT count(*) FROM drills")[0][0] == 1  # the refused one never began
        assert rows(dsn, "SELECT count(*) FROM leases")[0][0] == 0  # and the winner released
    finally:
        replicas.stop()


def test_history_of_two_replicas_is_merged(
    sim: Demo,  # noqa: F811
    shared: tuple[dict[str, str], str],
    tmp_path: Path,
) -> None:
    environ, dsn = shared
    replicas = Replicas(tmp_path, environ, sim.inventory)
    try:
        replicas.start("a")
        replicas.start("b")
        both_healthy(replicas)
        wait_for(
            lambda: {str(r[0]) for r in rows(dsn, "SELECT replica FROM events")} == {"a", "b"},
            20,
            "both replicas' first sightings in the shared history",
        )
    finally:
        replicas.stop()
    shown = subprocess.run(
        [*NETMON, "history", "core-gw", "--json"], env=environ, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    events = json.loads(shown.stdout)["events"]
    first = [e for e in events if e["event"] == "state" and e["old"] is None]
    assert len(first) == 1, events  # one change seen by both is one row ...
    assert sorted(first[0]["seen_by"]) == ["a", "b"]  # ... naming both


def test_three_shards_by_two_replicas_poll_every_pair_exactly_twice(
    sim: Demo,  # noqa: F811
    shared: tuple[dict[str, str], str],
    tmp_path: Path,
) -> None:
    environ, _ = shared
    replicas = Replicas(tmp_path, environ, sim.inventory)
    try:
        for shard in (1, 2, 3):
            for copy in ("x", "y"):
                replicas.start(f"s{shard}{copy}", "--shard", f"{shard}/3")
        polled: dict[str, list[str]] = {}

        def all_seen() -> bool:
            polled.clear()
            for name, listen in replicas.listen.items():
                try:
                    pairs = json.loads(get(f"http://{listen}/api/v1/pairs"))
                except OSError:
                    return False
                for p in pairs["pairs"]:  # a pair appears here once this process polled it
                    polled.setdefault(p["pair"], []).append(name)
                for p in pairs["pending"]:
                    polled.setdefault(p, []).append(name)
            return len(polled) == 6

        wait_for(all_seen, 40, "every demo pair polled")
        for pair, by in polled.items():
            assert len(by) == 2, (pair, by)
            assert by[0][:2] == by[1][:2], (pair, by)  # both of one shard
        # `netmon status` reads all six as one view: every pair once, seen by its two.
        wait_for(
            lambda: all(not json.loads(get(f"http://{at}/api/v1/pairs"))["pending"]
                        for at in replicas.listen.values()),
            40, "every daemon's pairs polled",
        )  # fmt: skip
        daemons = [arg for at in replicas.listen.values() for arg in ("--daemon", at)]
        shown = subprocess.run(
            [*NETMON, "status", *daemons, "--json"], env=environ, capture_output=True,
            text=True, timeout=60,
        )  # fmt: skip
        view = json.loads(shown.stdout)
        assert all(d["answered"] for d in view["daemons"]), view["daemons"]
        assert sorted(p["pair"] for p in view["pairs"]) == sorted(polled)
        assert all(len(p["seen_by"]) == 2 for p in view["pairs"]), view["pairs"]
        table = subprocess.run(
            [*NETMON, "status", *daemons], env=environ, capture_output=True, text=True,
            timeout=60,
        )  # fmt: skip
        for pair in polled:
            assert pair in table.stdout, table.stdout
    finally:
        replicas.stop()


def set_core_r1_priority(network: Demo, value: int) -> None:
    """core-r1's keepalived base priority in the simulator (150 is the demo's own)."""
    device = Device(
        "core-r1",
        "127.0.0.1",
        SnmpSettings(SnmpV2c(Secret("env:X", SECRET)), network.port(16101), 1.0, 1),
    )

    async def put() -> None:
        collector = SnmpCollector()
        try:
            await collector.set_integer(device, (*BASE_PRIORITY, 1), value)
        finally:
            collector.close()

    asyncio.run(put())


def test_postgresql_down_polling_goes_on_drills_are_refused_history_is_kept(
    sim: Demo,  # noqa: F811
    shared: tuple[dict[str, str], str],
    postgres: Postgres,  # noqa: F811
    tmp_path: Path,
) -> None:
    """PostgreSQL stops: the replica polls and serves on (a failover seen and exported), says
    the state is down, refuses a drill naming the database (masked); PostgreSQL starts again:
    the failover seen meanwhile is in the history, nothing counted as dropped."""
    environ, dsn = shared
    replicas = Replicas(tmp_path, environ, sim.inventory)
    try:
        listen = replicas.start("a")
        both_healthy(replicas)
        assert sample(listen, "netmon_state_up", backend="postgres") == 1.0
        postgres.stop()
        try:
            set_core_r1_priority(sim, 50)  # core-r2 takes over while the database is away
            wait_for(
                lambda: sample(listen, "netmon_pair_on_preferred", pair="core-gw") == 0.0,
                30,
                "the failover to core-r2 seen with PostgreSQL down",
            )
            wait_for(
                lambda: sample(listen, "netmon_state_up", backend="postgres") == 0.0,
                20,
                "netmon_state_up 0",
            )
            assert (sample(listen, "netmon_history_write_queue_rows") or 0) >= 1
            refused = subprocess.run(
                drill_cmd(sim.inventory, listen), env=environ, capture_output=True, text=True,
                timeout=60,
            )  # fmt: skip
            assert refused.returncode != 0
            said = refused.stdout + refused.stderr
            assert "cannot use the drill journal" in said or "cannot open the drill journal" in said
            assert f"postgresql://127.0.0.1:{postgres.port}/" in said
            assert postgres.password not in said
        finally:
            postgres.start()
        wait_for(
            lambda: sample(listen, "netmon_state_up", backend="postgres") == 1.0,
            30,
            "netmon_state_up 1 again",
        )
        wait_for(
            lambda: sample(listen, "netmon_history_write_queue_rows") == 0.0, 20, "queue written"
        )
        assert sample(listen, "netmon_history_writes_dropped_total") == 0.0
        failovers = rows(
            dsn, "SELECT new FROM events WHERE pair = 'core-gw' AND event = 'failover'"
        )
        assert ("core-r2",) in failovers
        assert postgres.password not in replicas.log("a")
    finally:
        set_core_r1_priority(sim, 150)
        replicas.stop()


def test_two_replicas_page_alertmanager_directly_as_one_alert(
    sim: Demo,  # noqa: F811
    shared: tuple[dict[str, str], str],
    alertmanager: str,
    tmp_path: Path,
) -> None:
    """Both replicas send the demo's split-brain (campus-fw) straight to a real Alertmanager,
    with the rule's labels: Alertmanager holds one alert, not one per replica; killed, one
    replica leaves the alert up (the other renews it)."""
    environ, _ = shared
    replicas = Replicas(tmp_path, environ, sim.inventory)

    def split_brains() -> list[dict[str, Any]]:
        got = json.loads(get(f"{alertmanager}/api/v2/alerts?filter=pair%3D%22campus-fw%22"))
        return [a for a in got if a["labels"].get("alertname") == "NetmonPairSplitBrain"]

    try:
        started = time.monotonic()
        replicas.start("a", "--alertmanager", alertmanager)
        replicas.start("b", "--alertmanager", alertmanager)
        wait_for(lambda: len(split_brains()) == 1, 30, "the split-brain in Alertmanager")
        print(f"\ndirect page in Alertmanager {time.monotonic() - started:.1f}s after start")
        time.sleep(3)  # both replicas have sent it by now (each second on a change)
        (one,) = split_brains()
        assert one["labels"] == {
            "alertname": "NetmonPairSplitBrain",
            "pair": "campus-fw",
            "severity": "page",
        }
        assert one["status"]["state"] == "active"
        killed = replicas.procs.pop("a")
        killed.kill()  # kill -9: it sends nothing more
        killed.wait(10)
        time.sleep(12)  # past one resend of b
        (still,) = split_brains()
        assert still["status"]["state"] == "active"
    finally:
        replicas.stop()
