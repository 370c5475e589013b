"""The shipped Alertmanager config (alert_rules/alertmanager.example.yml) in the real Alertmanager:
its inhibit rules keep a pair's member and staleness alerts quiet while the pair's own alert
pages, and one failure reaches the pager once.

amtool's `config routes test` walks the routing tree only (tests/test_alert_rules.py does that
for every label set the rules emit); inhibition happens in the running Alertmanager, so this test
starts one with the shipped file. The only change to the copy is the receivers' URLs, pointed at
a webhook on loopback that stands in for the pager and the ticket queue; the route (group_wait
included) and the inhibit rules are the shipped bytes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from .conftest import REPO, free_tcp_port, require, stop_process
from .helpers import wait_for

pytestmark = pytest.mark.daemon

SHIPPED = REPO / "alert_rules" / "alertmanager.example.yml"
SHIPPED_URL = "http://127.0.0.1:9095/"  # the receivers' placeholder bridge in the shipped file


class Webhook(ThreadingHTTPServer):
    """The pager and the ticket queue: records every notification with the path it came to
    and when (monotonic)."""

    daemon_threads = True

    def __init__(self) -> None:
        self.received: list[tuple[float, str, dict[str, Any]]] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with outer.lock:
                    outer.received.append((time.monotonic(), self.path, json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}/"
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def alerts_at(self, path: str) -> list[list[str]]:
        """For each notification to `path`, the alertnames of its firing alerts."""
        with self.lock:
            return [
                [a["labels"]["alertname"] for a in message["alerts"] if a["status"] == "firing"]
                for _at, p, message in self.received
                if p == path
            ]

    def names_at(self, path: str) -> set[str]:
        return {name for names in self.alerts_at(path) for name in names}


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    try:
        yield hook
    finally:
        hook.shutdown()
        hook.server_close()


def local_copy(shipped: str, webhook_url: str) -> str:
    """`shipped` with its receivers pointed at the test's webhook, nothing else changed."""
    assert shipped.count(SHIPPED_URL) == 2, "the shipped receivers' URLs changed: update the test"
    copy = shipped.replace(SHIPPED_URL, webhook_url)
    head = shipped[: shipped.index("\nreceivers:")]
    assert copy.startswith(head), "only the receivers may differ from the shipped config"
    return copy


@contextmanager
def alertmanager(config: str, workdir: Path) -> Iterator[str]:
    """The real Alertmanager (Debian's prometheus-alertmanager) with `config`, on loopback; its URL."""
    binary = shutil.which("prometheus-alertmanager")
    require(binary is not None, "prometheus-alertmanager is not installed (make test installs it)")
    assert binary is not None
    (workdir / "alertmanager.yml").write_text(config)
    port = free_tcp_port()
    with (workdir / "log").open("wb") as sink:
        proc = subprocess.Popen(
            [binary, f"--config.file={workdir / 'alertmanager.yml'}",
             f"--storage.path={workdir / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
             "--cluster.listen-address="],
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
                pytest.fail(f"Alertmanager did not start: {(workdir / 'log').read_text()[-500:]}")
            time.sleep(0.05)
        yield url
    finally:
        stop_process(proc)


def post(url: str, alerts: list[dict[str, str]]) -> None:
    body = json.dumps([{"labels": labels} for labels in alerts]).encode()
    request = urllib.request.Request(
        f"{url}/api/v2/alerts", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200


def current(url: str) -> dict[str, dict[str, Any]]:
    """The Alertmanager's alerts, by alertname and pair (or instance)."""
    with urllib.request.urlopen(f"{url}/api/v2/alerts", timeout=5) as response:
        alerts: list[dict[str, Any]] = json.loads(response.read())
    return {key(a["labels"]): a for a in alerts}


def key(labels: dict[str, str]) -> str:
    return f"{labels['alertname']}/{labels.get('pair') or labels.get('instance')}"


# One incident per source inhibit rule, as the rules label them (alert_rules/tests/*.yml):
# the standby r2 of pair "core" dies (its pair's own page; its device's tickets), and netmon
# itself goes down (its page; the staleness and unknown tickets it causes on pair "edge").
SOURCES = [
    {"alertname": "NetmonRedundancyLost", "pair": "core", "state": "degraded", "severity": "page"},
    {"alertname": "NetmonDown", "job": "netmon", "instance": "mon:9580", "severity": "page"},
]
INHIBITED = {  # target: the source that must inhibit it
    "NetmonDeviceUnreachable/core": "NetmonRedundancyLost/core",
    "NetmonPollingStale/core": "NetmonRedundancyLost/core",
    "NetmonPollingStale/edge": "NetmonDown/mon:9580",
    "NetmonPairUnknown/edge": "NetmonDown/mon:9580",
}
TARGETS = [
    {"alertname": "NetmonDeviceUnreachable", "pair": "core", "device": "r2", "severity": "ticket"},
    {"alertname": "NetmonPollingStale", "pair": "core", "device": "r2", "severity": "ticket"},
    {"alertname": "NetmonPollingStale", "pair": "edge", "device": "e1", "severity": "ticket"},
    {"alertname": "NetmonPairUnknown", "pair": "edge", "state": "unknown", "severity": "ticket"},
]
# Not inhibited, and so ticketed: a target alertname on another pair (the rule's `equal: [pair]`)
# and a ticket of the failing pair that is no target.
CONTROLS = [
    {
        "alertname": "NetmonDeviceUnreachable",
        "pair": "branch",
        "device": "b2",
        "severity": "ticket",
    },
    {"alertname": "NetmonConfigDrift", "pair": "core", "severity": "ticket"},
]


def check_one_page_per_incident(config: str, workdir: Path, hook: Webhook, patience: float) -> None:
    """Run the incidents through an Alertmanager with `config`; fails unless each source pages
    exactly once, every target is inhibited by its source and never ticketed, and the controls
    are ticketed. `patience`: how long inhibition may take to show (it converges in ms)."""
    with alertmanager(config, workdir) as url:
        post(url, SOURCES)
        # The pager route's group_wait is 0s: the pages come at once, and the sources are in.
        wait_for(lambda: hook.names_at("/pager") >= {"NetmonRedundancyLost", "NetmonDown"},
                 20, "the two pages")  # fmt: skip
        post(url, TARGETS + CONTROLS)
        sources = {k: a["fingerprint"] for k, a in current(url).items() if k in INHIBITED.values()}

        def wrong() -> list[str]:
            """Each alert whose inhibition is not as promised, with its status."""
            alerts = current(url)
            bad = [
                f"{target}: {alerts[target]['status']} (want inhibited by {source})"
                for target, source in INHIBITED.items()
                if alerts[target]["status"]
                != {"inhibitedBy": [sources[source]], "silencedBy": [], "state": "suppressed"}
            ]
            active = {"inhibitedBy": [], "silencedBy": [], "state": "active"}
            bad += [
                f"{key(c)}: {alerts[key(c)]['status']} (want active)"
                for c in CONTROLS
                if alerts[key(c)]["status"] != active
            ]
            return bad

        deadline = time.monotonic() + patience
        while wrong() and time.monotonic() < deadline:
            time.sleep(0.05)
        bad = wrong()
        assert not bad, "\n".join(bad)
        alerts = current(url)
        for k, alert in alerts.items():
            severity = alert["labels"]["severity"]
            receivers = [r["name"] for r in alert["receivers"]]
            assert receivers == [{"page": "pager", "ticket": "tickets"}[severity]], (k, receivers)

        # The ticket route waits the shipped group_wait (10 s) per group; the controls' groups
        # and the targets' were created by the same post, so when the controls arrive the
        # targets' groups have been flushed too (or muted). The extra second only lets a
        # straggler in: under load it can miss one, never invent one.
        wait_for(lambda: hook.names_at("/tickets") >= {c["alertname"] for c in CONTROLS},
                 40, "the control tickets")  # fmt: skip
        time.sleep(1)
        tickets = [sorted(names) for names in hook.alerts_at("/tickets")]
        assert sorted(tickets) == [["NetmonConfigDrift"], ["NetmonDeviceUnreachable"]], tickets
        pages = [sorted(names) for names in hook.alerts_at("/pager")]
        assert sorted(pages) == [["NetmonDown"], ["NetmonRedundancyLost"]], pages


def test_the_shipped_config_inhibits_and_pages_once(webhook: Webhook, tmp_path: Path) -> None:
    config = local_copy(SHIPPED.read_text(), webhook.url)
    check_one_page_per_incident(config, tmp_path, webhook, patience=10)


def without_inhibit_rule(index: int) -> Callable[[dict[str, Any]], None]:
    def mutate(data: dict[str, Any]) -> None:
        del data["inhibit_rules"][index]

    return mutate


def without_equal(data: dict[str, Any]) -> None:
    del data["inhibit_rules"][0]["equal"]


# name: (the change, the first alert the check must then find wrong)
MUTANTS: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "pair-alert inhibit rule removed": (without_inhibit_rule(0), "NetmonDeviceUnreachable/core"),
    "netmon-down inhibit rule removed": (without_inhibit_rule(1), "NetmonPollingStale/edge"),
    "`equal: [pair]` removed": (without_equal, "NetmonDeviceUnreachable/branch"),
}


@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_each_mutant_of_the_config_fails_the_check(
    mutant: str, webhook: Webhook, tmp_path: Path
) -> None:
    """The guard: the check above fails on a copy of the shipped config with an inhibit rule (or
    its `equal`) gone. Less patience: the real config shows its inhibition within milliseconds,
    and a mutant never does."""
    yaml = YAML(typ="safe", pure=True)
    data = yaml.load(local_copy(SHIPPED.read_text(), webhook.url))
    mutate, wrong = MUTANTS[mutant]
    mutate(data)
    out = tmp_path / "mutant.yml"
    with out.open("w") as f:
        yaml.dump(data, f)
    with pytest.raises(AssertionError, match=wrong):
        check_one_page_per_incident(out.read_text(), tmp_path, webhook, patience=2)
