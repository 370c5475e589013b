"""Two netmon replicas against the real lab, each in a network namespace of its own, through the
whole alarm path an on-call person depends on: a real Prometheus scraping both (the HA example
config, 15 s scrape and evaluation, the shipped rules unchanged), two Alertmanagers clustered by
gossip on loopback with the shipped routing (receivers' URLs aside), and a webhook that counts
every notification as a pager would.

Each replica host is a namespace with two links: one on the lab's bridge (its path to the
routers, with an address snmpd answers and sends traps to) and a management link to the root
namespace, where Prometheus scrapes it and the Alertmanagers listen. Cutting the first blinds the
replica while Prometheus still sees it. The replicas share their drill journal and leases on a
PostgreSQL started by the tests (reached over its Unix socket, which namespaces share).

A third, standalone Alertmanager gets only Prometheus' alerts (netmon does not send to it), so one
incident measures both paths to the pager: netmon's direct page and the rules' backstop. A fourth
gets only netmon's: what it holds is the replicas' doing alone.
Measured times go to DELAYS (printed at the end of the run; docs/ha.md quotes them).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from ruamel.yaml import YAML

from netmon.lab import Lab
from netmon.lab.topology import BRIDGE, REPLICA_ADDRESSES, TRAP_PORT
from netmon.pager import LIFETIME, RESEND

from .conftest import REPO, free_tcp_port, require, stop_process
from .helpers import DELAYS, get, sample, states, wait_for
from .pg import Postgres, postgres  # noqa: F401 - the fixture
from .test_alertmanager_routing import SHIPPED, Webhook, local_copy
from .test_lab import PAIRS

pytestmark = [pytest.mark.lab, pytest.mark.root, pytest.mark.daemon]

NETMON = [sys.executable, "-m", "netmon"]
METRICS_PORT = 9580
SPLIT = "NetmonPairSplitBrain"
RECOVERY_BOUND = 30.0  # seconds from a drill's death to its pair restored (issue 18)
# Alertmanager's default --cluster.peer-timeout: the second of two clustered Alertmanagers waits
# this long for the first's notification log before it sends. A duplicate page would come then.
PEER_TIMEOUT = 15.0
# Alertmanager drops an aggregation group whose alerts all resolved at its next clean-up, every
# 30 s. A new alert with the same labels before then joins the old group and waits for its next
# group_interval tick (1 m in the shipped routing): measured 42 s from fault to page when
# incidents followed each other. Each incident here starts after the clean-up, as a real one
# that follows its predecessor by more than 30 s does.
GROUP_CLEANUP = 30.0


@dataclass(frozen=True)
class ReplicaHost:
    """A replica's host: a namespace with a lab address and a management link to the root."""

    name: str
    address: str  # on the lab bridge: its path to the routers
    mgmt: str  # its end of the management link (Prometheus scrapes it here)
    gateway: str  # the root namespace's end of that link

    @property
    def netns(self) -> str:
        return f"nmrep-{self.name}"

    @property
    def lab_port(self) -> str:  # the veth end on the lab bridge, in the root namespace
        return f"nmrep-{self.name}-l"

    @property
    def mgmt_port(self) -> str:
        return f"nmrep-{self.name}-m"

    @property
    def listen(self) -> str:
        return f"{self.mgmt}:{METRICS_PORT}"


HOSTS = (
    ReplicaHost("a", REPLICA_ADDRESSES[0], "10.99.3.2", "10.99.3.1"),
    ReplicaHost("b", REPLICA_ADDRESSES[1], "10.99.3.6", "10.99.3.5"),
)
AM_HOST = HOSTS[0].gateway  # the Alertmanagers listen on a root address both hosts route to


def ip(*args: str, check: bool = True) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30, check=False)
    if check and done.returncode != 0:
        pytest.fail(f"ip {' '.join(args)}: {done.stderr.strip()}")


def remove_host(host: ReplicaHost) -> None:
    ip("netns", "del", host.netns, check=False)  # its veth ends go with it
    for port in (host.lab_port, host.mgmt_port):
        ip("link", "del", port, check=False)


def build_host(host: ReplicaHost) -> None:
    remove_host(host)  # what a killed earlier run left
    ns = host.netns
    ip("netns", "add", ns)
    ip("-n", ns, "link", "set", "lo", "up")
    ip("link", "add", host.lab_port, "type", "veth", "peer", "name", "eth0", "netns", ns)
    ip("link", "set", host.lab_port, "master", BRIDGE)
    ip("link", "set", host.lab_port, "up")
    ip("-n", ns, "addr", "add", f"{host.address}/24", "dev", "eth0")
    ip("-n", ns, "link", "set", "eth0", "up")
    ip("link", "add", host.mgmt_port, "type", "veth", "peer", "name", "mgmt0", "netns", ns)
    ip("addr", "add", f"{host.gateway}/30", "dev", host.mgmt_port)
    ip("link", "set", host.mgmt_port, "up")
    ip("-n", ns, "addr", "add", f"{host.mgmt}/30", "dev", "mgmt0")
    ip("-n", ns, "link", "set", "mgmt0", "up")
    # The other host's management address and the Alertmanagers': through the root namespace.
    ip("-n", ns, "route", "add", "10.99.3.0/24", "via", host.gateway)


def cut(host: ReplicaHost, on: bool) -> None:
    """Take the host's port off the lab bridge (or put it back): its packets to the routers are
    dropped in silence, as on a cut path; its link stays up and its management link works."""
    if on:
        ip("link", "set", host.lab_port, "nomaster")
    else:
        ip("link", "set", host.lab_port, "master", BRIDGE)


# -- the pager ----------------------------------------------------------------------------------


class Inbox(Webhook):
    """The pager and the ticket queue of every Alertmanager path, asked per pair and time."""

    def notices(self, path: str, since: float) -> list[tuple[float, str, dict[str, str]]]:
        """(when, status, labels) of each alert in each notification to `path` after `since`."""
        with self.lock:
            return [
                (at, alert["status"], alert["labels"])
                for at, p, message in self.received
                if p == path and at >= since
                for alert in message["alerts"]
            ]

    def count(self, path: str, since: float, alertname: str, status: str) -> dict[str, int]:
        """Per pair: how many notifications carried its `alertname` alert with `status`."""
        out: dict[str, int] = {}
        for _at, st, labels in self.notices(path, since):
            if labels.get("alertname") == alertname and st == status:
                out[labels["pair"]] = out.get(labels["pair"], 0) + 1
        return out

    def last(self, path: str) -> float:
        """When the last notification reached `path` (0 for none)."""
        with self.lock:
            return max((at for at, p, _ in self.received if p == path), default=0.0)

    def first(self, path: str, since: float, alertname: str, status: str) -> dict[str, float]:
        """Per pair: when its first such notification arrived."""
        out: dict[str, float] = {}
        for at, st, labels in self.notices(path, since):
            if labels.get("alertname") == alertname and st == status:
                out.setdefault(labels["pair"], at)
        return out

    def wait_every_pair(
        self, path: str, since: float, status: str, timeout: float
    ) -> dict[str, float]:
        """Until every lab pair's split-brain alert reached `path` with `status`."""
        wait_for(
            lambda: set(self.first(path, since, SPLIT, status)) >= set(PAIRS),
            timeout,
            f"{SPLIT} {status} for every lab pair at {path}",
            0.05,
        )
        return self.first(path, since, SPLIT, status)


# -- the stack ------------------------------------------------------------------------------------


def wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, what: str) -> None:
    def ready() -> bool:
        if proc.poll() is not None:
            pytest.fail(f"{what} exited: {log.read_text(errors='replace')[-800:]}")
        with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as response:
            return bool(response.status == 200)

    wait_for(ready, 30, f"{what} ready", 0.1)


@dataclass
class Stack:
    inbox: Inbox
    prometheus: str
    alertmanagers: tuple[str, str]  # the cluster that netmon and Prometheus send to
    direct: str  # the Alertmanager only netmon sends to
    procs: list[subprocess.Popen[bytes]]

    def active(self, alertname: str, urls: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        """The alerts the Alertmanagers (default: the cluster) hold active now, lists together."""
        query = urllib.parse.urlencode({"active": "true", "filter": f'alertname="{alertname}"'})
        out: list[dict[str, Any]] = []
        for url in urls or self.alertmanagers:
            out.extend(json.loads(get(f"{url}/api/v2/alerts?{query}")))
        return out


def alertmanager(
    tmp: Path, name: str, config: str, port: int, cluster: tuple[int, int] | None
) -> subprocess.Popen[bytes]:
    (tmp / f"{name}.yml").write_text(config)
    peers = (
        [f"--cluster.listen-address=127.0.0.1:{cluster[0]}",
         f"--cluster.advertise-address=127.0.0.1:{cluster[0]}",
         f"--cluster.peer=127.0.0.1:{cluster[1]}"]
        if cluster else ["--cluster.listen-address="]
    )  # fmt: skip
    with (tmp / f"{name}.log").open("wb") as sink:
        return subprocess.Popen(
            ["prometheus-alertmanager", f"--config.file={tmp / f'{name}.yml'}",
             f"--storage.path={tmp / name}", f"--web.listen-address={AM_HOST}:{port}", *peers],
            stdout=sink, stderr=sink,
        )  # fmt: skip


def prometheus_config(tmp: Path, cluster: list[str], rules_only: str) -> Path:
    """alert_rules/prometheus.ha.example.yml with this test's addresses: its global settings
    (15 s scrape and evaluation), external label and alert relabelling as shipped."""
    yaml = YAML(typ="safe")
    config = yaml.load((REPO / "alert_rules" / "prometheus.ha.example.yml").read_text())
    assert config["global"]["scrape_interval"] == "15s"
    assert config["global"]["evaluation_interval"] == "15s"
    config["alerting"]["alertmanagers"] = [
        {"static_configs": [{"targets": cluster}]},
        {"static_configs": [{"targets": [rules_only]}]},
    ]
    config["rule_files"] = [str(REPO / "alert_rules" / "netmon.rules.yml")]
    config["scrape_configs"] = [
        {"job_name": "netmon", "static_configs": [{"targets": [h.listen for h in HOSTS]}]}
    ]
    path = tmp / "prometheus.yml"
    with path.open("w") as out:
        yaml.dump(config, out)
    return path


@pytest.fixture(scope="module")
def stack(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    for tool in ("prometheus", "prometheus-alertmanager"):
        require(subprocess.run(["which", tool], capture_output=True, check=False).returncode == 0,
                f"{tool} is not installed (make test installs it)")  # fmt: skip
    tmp = tmp_path_factory.mktemp("ha-stack")
    inbox = Inbox()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for host in HOSTS:  # inside the `try`: a second host that fails takes the first away
            build_host(host)
        shipped = SHIPPED.read_text()
        web = [free_tcp_port() for _ in range(4)]
        gossip = [free_tcp_port() for _ in range(2)]
        procs.append(
            alertmanager(tmp, "am1", local_copy(shipped, inbox.url), web[0], (gossip[0], gossip[1]))
        )
        procs.append(
            alertmanager(tmp, "am2", local_copy(shipped, inbox.url), web[1], (gossip[1], gossip[0]))
        )
        procs.append(alertmanager(tmp, "am3", local_copy(shipped, f"{inbox.url}rules/"), web[2], None))  # fmt: skip
        procs.append(alertmanager(tmp, "am4", local_copy(shipped, f"{inbox.url}direct/"), web[3], None))  # fmt: skip
        ams = [f"{AM_HOST}:{port}" for port in web]
        for name, addr, proc in zip(("am1", "am2", "am3", "am4"), ams, procs, strict=True):
            wait_ready(f"http://{addr}", proc, tmp / f"{name}.log", f"Alertmanager {name}")
        cluster = (f"http://{ams[0]}", f"http://{ams[1]}")

        def clustered() -> bool:
            peers = [json.loads(get(f"{url}/api/v2/status"))["cluster"] for url in cluster]
            return all(p["status"] == "ready" and len(p["peers"]) == 2 for p in peers)

        wait_for(clustered, 60, "two Alertmanagers clustered by gossip", 0.2)
        prom_port = free_tcp_port()
        config = prometheus_config(tmp, ams[:2], ams[2])
        with (tmp / "prometheus.log").open("wb") as sink:
            procs.append(subprocess.Popen(
                ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={tmp / 'tsdb'}",
                 f"--web.listen-address=127.0.0.1:{prom_port}"], stdout=sink, stderr=sink))  # fmt: skip
        prometheus = f"http://127.0.0.1:{prom_port}"
        wait_ready(prometheus, procs[-1], tmp / "prometheus.log", "Prometheus")
        yield Stack(inbox, prometheus, cluster, f"http://{ams[3]}", procs)
    finally:
        for proc in procs:
            stop_process(proc)
        inbox.shutdown()
        inbox.server_close()
        for host in HOSTS:
            remove_host(host)


def prom_query(url: str, expr: str) -> list[dict[str, Any]]:
    data = json.loads(get(f"{url}/api/v1/query?{urllib.parse.urlencode({'query': expr})}"))
    assert data["status"] == "success", data
    result: list[dict[str, Any]] = data["data"]["result"]
    return result


# -- the replicas ----------------------------------------------------------------------------------


def socket_dsn(server: Postgres, tcp_dsn: str) -> str:
    """The DSN over the server's Unix socket: a namespace has its own loopback, not its own
    file system, so a replica in one reaches the root namespace's PostgreSQL this way."""
    dbname = tcp_dsn.rsplit("/", 1)[1]
    query = urllib.parse.urlencode({"host": str(server.sockets), "port": server.port})
    return f"postgresql://netmon:{server.password}@/{dbname}?{query}"


class Replicas:
    """`netmon run` on each replica host, with its own inventory (traps to its own address)."""

    def __init__(self, tmp: Path, dsn: str, alertmanagers: tuple[str, ...]) -> None:
        self.tmp, self.dsn, self.alertmanagers = tmp, dsn, alertmanagers
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        text = (REPO / "inventory" / "lab.yaml").read_text()
        assert text.count("listen: 10.99.0.1:16162") == 1
        # The lab fails over on purpose many times here: no pair may read as flapping.
        self.text = text.replace("flap_window: 60", "flap_window: 5")

    def inventory(self, host: ReplicaHost) -> Path:
        path = self.tmp / f"lab-{host.name}.yaml"
        path.write_text(
            self.text.replace("listen: 10.99.0.1:16162", f"listen: {host.address}:{TRAP_PORT}")
        )
        return path

    def env(self, host: ReplicaHost) -> dict[str, str]:
        return {**os.environ, "NETMON_STATE_DSN": self.dsn,
                "XDG_STATE_HOME": str(self.tmp / f"state-{host.name}")}  # fmt: skip

    def start(self, host: ReplicaHost) -> None:
        pages = [arg for url in self.alertmanagers for arg in ("--alertmanager", url)]
        with (self.tmp / f"{host.name}.log").open("ab") as sink:
            self.procs[host.name] = subprocess.Popen(
                ["ip", "netns", "exec", host.netns, *NETMON, "run", "-i", str(self.inventory(host)),
                 "--listen", host.listen, "--replica", host.name, *pages],
                env=self.env(host), stdout=sink, stderr=sink, cwd=REPO,
            )  # fmt: skip

    def alive(self) -> list[ReplicaHost]:
        return [h for h in HOSTS if h.name in self.procs and self.procs[h.name].poll() is None]

    def kill(self, host: ReplicaHost) -> None:
        """kill -9: nothing of the replica's own runs after it, no resolve, no goodbye."""
        proc = self.procs.pop(host.name)
        proc.kill()
        proc.wait(10)

    def log(self, host: ReplicaHost) -> str:
        return (self.tmp / f"{host.name}.log").read_text(errors="replace")

    def stop(self) -> None:
        for proc in self.procs.values():
            stop_process(proc)


@pytest.fixture(scope="module")
def replicas(
    stack: Stack,
    postgres: Postgres,  # noqa: F811 - the fixture
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Replicas]:
    tmp = tmp_path_factory.mktemp("ha-replicas")
    group = Replicas(
        tmp, socket_dsn(postgres, postgres.fresh_db()), (*stack.alertmanagers, stack.direct)
    )
    try:
        for host in HOSTS:
            group.start(host)
        yield group
    finally:
        group.stop()


def all_healthy(group: Replicas, host: ReplicaHost) -> bool:
    proc = group.procs.get(host.name)
    if proc is not None and proc.poll() is not None:
        pytest.fail(f"replica {host.name} exited {proc.returncode}:\n{group.log(host)[-2000:]}")
    return states(host.listen) == dict.fromkeys(PAIRS, "healthy")


@pytest.fixture
def calm(lab: Lab, stack: Stack, replicas: Replicas) -> float:
    """Every test starts from a healthy lab (r1 master) that every live replica and Prometheus
    see, and no page held by either Alertmanager; returns the moment it starts counting from."""
    lab.reset()
    for host in HOSTS:
        if host.name not in replicas.procs:
            replicas.start(host)
    for host in HOSTS:
        wait_for(lambda host=host: all_healthy(replicas, host), 60,  # type: ignore[misc]
                 f"every lab pair healthy, seen by replica {host.name}")  # fmt: skip
    wait_for(
        lambda: (
            len(prom_query(stack.prometheus, 'up{job="netmon"} == 1')) == len(HOSTS)
            and not prom_query(stack.prometheus, 'ALERTS{severity="page"}')
        ),
        90,
        "Prometheus scraping both replicas, no page pending or firing",
    )
    every = (*stack.alertmanagers, stack.direct)
    wait_for(lambda: not stack.active(SPLIT, every), 120, "no split-brain held by an Alertmanager")
    quiet = stack.inbox.last("/pager") + GROUP_CLEANUP + 2 - time.monotonic()
    if quiet > 0:
        time.sleep(quiet)
    return time.monotonic()


def split_and_heal(
    lab: Lab, stack: Stack, since: float, label: str, *, rules_too: bool, during: Any = None
) -> None:
    """Cut the routers apart until every pair paged (and, with `rules_too`, the rules' own
    Alertmanager paged too), run `during`, heal, and wait for every pair's resolve. Each pair
    must then have had exactly one page and one resolve, after the second Alertmanager's
    chance to duplicate either has passed."""
    inbox = stack.inbox
    t0 = time.monotonic()
    lab.split(on=True)
    try:
        paged = inbox.wait_every_pair("/pager", since, "firing", 90)
        DELAYS.append((f"split-brain -> page, netmon direct ({label})", max(paged.values()) - t0))
        if rules_too:
            ruled = inbox.wait_every_pair("/rules/pager", since, "firing", 120)
            DELAYS.append(
                (f"split-brain -> page, through the rules ({label})", max(ruled.values()) - t0)
            )
        if during is not None:
            during()
    finally:
        lab.split(on=False)
    t1 = time.monotonic()
    resolved = inbox.wait_every_pair("/pager", since, "resolved", 240)
    DELAYS.append((f"split healed -> resolved at the pager ({label})", max(resolved.values()) - t1))
    time.sleep(PEER_TIMEOUT + 3)
    for status in ("firing", "resolved"):
        counts = inbox.count("/pager", since, SPLIT, status)
        assert counts == dict.fromkeys(PAIRS, 1), f"{status} notifications per pair: {counts}"
    others = {labels["alertname"] for _at, _st, labels in inbox.notices("/pager", since)} - {SPLIT}
    assert not others, f"pages other than the split-brain: {others}"


def test_a_split_brain_seen_by_two_replicas_pages_once_and_resolves_once(
    lab: Lab, stack: Stack, replicas: Replicas, calm: float
) -> None:
    split_and_heal(lab, stack, calm, "both replicas up", rules_too=True)
    for host in HOSTS:  # traps on: r2's VRRP notifications as it claimed master reached both
        traps = sample(host.listen, "netmon_traps_received_total", device="r2")
        assert traps is not None and traps > 0, f"no trap from r2 at replica {host.name}"


def test_a_replica_killed_mid_incident_loses_no_page_and_no_resolve(
    lab: Lab, stack: Stack, replicas: Replicas, calm: float
) -> None:
    """kill -9 replica a after the page: b's renewals (and the rules) keep the page up past the
    end a's last send gave it; the repair still resolves once. Then, with a still dead, a new
    split-brain pages once from b alone: the fault-to-page time with one replica dead."""
    a = HOSTS[0]

    def kill_and_hold() -> None:
        replicas.kill(a)
        killed = time.monotonic()
        # a's alert would have ended by itself 4 resends (20 s) after its last send. The
        # netmon-only Alertmanager shows b's renewals alone keep it (the cluster also has the
        # rule's copy, which lives for minutes).
        time.sleep(LIFETIME * RESEND + 10)
        for urls in (stack.alertmanagers, (stack.direct,)):
            held = stack.active(SPLIT, urls)
            assert {x["labels"]["pair"] for x in held} == set(PAIRS), (urls, held)
        assert time.monotonic() - killed >= LIFETIME * RESEND + 10

    split_and_heal(lab, stack, calm, "a killed mid-incident", rules_too=False, during=kill_and_hold)
    assert [h.name for h in replicas.alive()] == ["b"]
    every = (*stack.alertmanagers, stack.direct)
    wait_for(lambda: not stack.active(SPLIT, every), 120, "no split-brain held by an Alertmanager")
    time.sleep(max(0.0, stack.inbox.last("/pager") + GROUP_CLEANUP + 2 - time.monotonic()))
    since = time.monotonic()
    split_and_heal(lab, stack, since, "one replica dead", rules_too=False)
    pages = {labels["alertname"] for _at, _st, labels in stack.inbox.notices("/pager", calm)}
    assert "NetmonDown" not in pages  # one replica left up: a ticket at most, never a page


def test_a_replica_cut_off_from_the_routers_is_one_ticket_naming_it_and_no_page(
    lab: Lab, stack: Stack, replicas: Replicas, calm: float
) -> None:
    a, b = HOSTS
    t0 = time.monotonic()
    cut(a, on=True)
    try:
        wait_for(lambda: sample(a.listen, "netmon_device_up", device="r1") == 0.0, 60,
                 "replica a blind to r1")  # fmt: skip
        assert all_healthy(replicas, b)

        def ticketed() -> bool:
            return any(
                labels.get("alertname") == "NetmonReplicaBlind"
                for _at, st, labels in stack.inbox.notices("/tickets", calm)
                if st == "firing"
            )

        wait_for(ticketed, 300, "NetmonReplicaBlind at the ticket queue", 0.2)
        DELAYS.append(
            ("replica cut off -> NetmonReplicaBlind ticket (for: 2m)", time.monotonic() - t0)
        )
    finally:
        cut(a, on=False)
    tickets = [
        labels for _at, st, labels in stack.inbox.notices("/tickets", calm) if st == "firing"
    ]
    blind = [t for t in tickets if t["alertname"] == "NetmonReplicaBlind"]
    assert len(blind) == 1 and blind[0]["replica"] == "a", tickets
    assert {t["alertname"] for t in tickets} == {"NetmonReplicaBlind"}, tickets
    assert not stack.inbox.notices("/pager", calm), "a page from one replica's blindness"
    wait_for(lambda: all_healthy(replicas, a), 60, "replica a sees again")


def rows(dsn: str, sql: str, *args: object) -> list[tuple[object, ...]]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return list(conn.execute(sql, args).fetchall())


def test_a_replica_host_lost_mid_drill_the_other_restores_the_pair(
    lab: Lab, stack: Stack, replicas: Replicas, calm: float
) -> None:
    """The drill runs on host a (its CLI, replica name a); host a is lost (the CLI and the
    daemon killed with kill -9) after the demotion: replica b restores r1 within 30 s, and the
    journal names both."""
    a = HOSTS[0]
    drill = subprocess.Popen(
        ["ip", "netns", "exec", a.netns, *NETMON, "drill", "run", "lab-ka",
         "-i", str(replicas.inventory(a)), "--yes", "--json"],
        env={**replicas.env(a), "NETMON_REPLICA": "a"}, cwd=REPO,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        wait_for(
            lambda: bool(rows(replicas.dsn, "SELECT 1 FROM steps s JOIN drills d ON d.id = s.drill_id"
                              " WHERE s.kind = 'act' AND d.result IS NULL")),
            60, "the drill's demotion in the journal", 0.05,
        )  # fmt: skip
        drill.send_signal(signal.SIGKILL)
        replicas.kill(a)
        died = time.monotonic()
        drill.communicate(timeout=10)
    finally:
        if drill.poll() is None:
            drill.kill()
            drill.communicate(timeout=10)
    (drill_id, replica, result, report_text), = rows(
        replicas.dsn, "SELECT id, replica, result, report FROM drills ORDER BY id DESC LIMIT 1"
    )  # fmt: skip
    assert replica == "a" and result is None

    def restored() -> bool:
        done = rows(replicas.dsn, "SELECT report FROM drills WHERE id = %s AND result IS NOT NULL",
                    drill_id)  # fmt: skip
        return bool(done) and json.loads(str(done[0][0])).get("restored") is True

    wait_for(restored, RECOVERY_BOUND + 10, "the interrupted drill restored by replica b", 0.2)
    lab.wait_for_masters({"VI_v2": "r1", "VI_v3": "r1"}, 15)
    took = time.monotonic() - died
    DELAYS.append(("drill host lost (kill -9) -> pair restored by the other replica", took))
    assert took < RECOVERY_BOUND
    ((report_text,),) = rows(replicas.dsn, "SELECT report FROM drills WHERE id = %s", drill_id)
    report = json.loads(str(report_text))
    assert str(report["recovered_by"]).split(" ", 1)[0] == "b", report
    notes = [str(r[0]) for r in rows(replicas.dsn, "SELECT text FROM steps WHERE drill_id = %s",
                                     drill_id)]  # fmt: skip
    assert any(n.startswith("recovery by b") for n in notes), notes
