"""The live inventory source (`source: {netbox: ...}`): refreshes, the last good inventory, and
every way NetBox can fail (unreachable, refusing, garbage, hanging, emptied).

The NetBox here is a small HTTP server answering as NetBox 4.x's REST API does for the four
endpoints `fetch` reads (shapes from tests/fixtures/netbox, filters as NetBox's filtersets): it
can be made to fail in ways a real NetBox will not on request. The real NetBox is in
tests/test_netbox_real.py. Devices sit on loopback addresses where no agent answers: these tests
are about the pair list, not the pairs' states.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import parse_qs, urlsplit

import pytest
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from netmon.cli import app
from netmon.errors import ConfigError
from netmon.inventory import load_inventory
from netmon.inventory.live import LAST_GOOD_PREFIX, LiveSource, SourceError, read_source
from netmon.inventory.netbox import NetboxData, NetboxError

from .conftest import free_tcp_port, stop_process
from .helpers import get, wait_for

TOKEN = "0123456789abcdef0123456789abcdef01234567"

Group = tuple[int, str, int, str, list[tuple[str, str, int]]]  # pk, protocol, id, VIP, members


def netbox_data(groups: list[Group]) -> NetboxData:
    """NetBox's answers for `groups`: devices on 127.0.0.x (nothing answers SNMP there)."""
    names = sorted({d for g in groups for d, _, _ in g[4]})
    devices: list[dict[str, Any]] = [
        {
            "id": i, "name": name,
            "primary_ip4": {"address": f"127.0.0.{10 + i}/8", "family": {"value": 4}},
            "primary_ip": None, "platform": {"name": "Cisco IOS", "slug": "cisco-ios"},
            "role": {"name": "Router", "slug": "router"}, "tags": [],
            "site": {"name": "DC One", "slug": "dc1"},
        }
        for i, name in enumerate(names, start=1)
    ]  # fmt: skip
    dev_id = {d["name"]: d["id"] for d in devices}
    interfaces: list[dict[str, Any]] = []
    assignments: list[dict[str, Any]] = []
    fhrp: list[dict[str, Any]] = []
    for pk, protocol, group_id, vip, members in groups:
        nested = {"id": pk, "protocol": protocol, "group_id": group_id}
        fhrp.append(
            {**nested, "name": f"g{pk}", "ip_addresses": [
                {"address": vip, "family": {"value": 4, "label": "IPv4"}}
            ]}
        )  # fmt: skip
        for device, name, priority in members:
            iface_id = 1000 * pk + dev_id[device]
            device_ref = {"id": dev_id[device], "name": device}
            interfaces.append({"id": iface_id, "name": name, "device": device_ref})
            assignments.append(
                {
                    "id": 10 * iface_id, "group": nested, "interface_type": "dcim.interface",
                    "interface_id": iface_id,
                    "interface": {"id": iface_id, "name": name, "device": device_ref},
                    "priority": priority,
                }
            )  # fmt: skip
    return NetboxData(tuple(devices), tuple(interfaces), tuple(assignments), tuple(fhrp))


TWO_PAIRS: list[Group] = [
    (1, "vrrp3", 10, "10.99.10.1/24", [("r1", "eth1", 200), ("r2", "eth1", 100)]),
    (2, "hsrp", 20, "10.99.20.1/24", [("r1", "Vlan20", 150), ("r2", "Vlan20", 110)]),
]
ONE_PAIR: list[Group] = TWO_PAIRS[:1]


class FakeNetbox(ThreadingHTTPServer):
    """`mode`: ok, error (HTTP 503), forbidden, garbage (an HTML page), hang (no answer)."""

    daemon_threads = True

    def __init__(self, data: NetboxData) -> None:
        super().__init__(("127.0.0.1", free_tcp_port()), _Handler)
        self.data = data
        self.mode = "ok"
        self.requests = 0
        self.release = threading.Event()  # ends a hang

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"

    def rows(self, endpoint: str, params: dict[str, list[str]]) -> list[dict[str, Any]]:
        table: dict[str, tuple[dict[str, Any], ...]] = {
            "dcim/devices": self.data.devices,
            "dcim/interfaces": self.data.interfaces,
            "ipam/fhrp-group-assignments": self.data.assignments,
            "ipam/fhrp-groups": self.data.groups,
            "virtualization/virtual-machines": self.data.virtual_machines,
            "virtualization/interfaces": self.data.vm_interfaces,
        }
        rows = list(table[endpoint])
        for key, wanted in params.items():
            if key in ("limit", "offset"):
                continue
            want = set(wanted)
            if endpoint == "ipam/fhrp-group-assignments":
                pick = {
                    "device_id": lambda r: r["interface"].get("device", {}).get("id"),
                    "virtual_machine_id": lambda r: (
                        r["interface"].get("virtual_machine", {}).get("id")
                    ),
                    "group_id": lambda r: r["group"]["id"],
                }[key]
            elif endpoint in ("dcim/devices", "virtualization/virtual-machines"):
                pick = {"site": lambda r: r["site"]["slug"]}[key]
            else:
                pick = {"id": lambda r: r["id"]}[key]
            rows = [r for r in rows if str(pick(r)) in want]  # type: ignore[no-untyped-call]
        return rows


class _Handler(BaseHTTPRequestHandler):
    server: FakeNetbox

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        pass

    def _send(self, status: int, body: bytes, kind: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("API-Version", "4.6")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        server = self.server
        server.requests += 1
        if server.mode == "hang":
            server.release.wait(30)
        elif server.mode == "error":
            self._send(503, b"<html>Service Unavailable</html>", "text/html")
        elif server.mode == "garbage":
            self._send(200, b"<html><body>Welcome to nginx!</body></html>", "text/html")
        elif server.mode == "forbidden" or self.headers.get("Authorization") != f"Token {TOKEN}":
            self._send(403, json.dumps({"detail": "Invalid token"}).encode())
        else:
            self._answer()

    def _answer(self) -> None:
        server = self.server
        parts = urlsplit(self.path)
        endpoint = parts.path.split("/api/", 1)[1].strip("/")
        rows = server.rows(endpoint, parse_qs(parts.query))
        answer = {"count": len(rows), "next": None, "previous": None, "results": rows}
        self._send(200, json.dumps(answer).encode())


@contextlib.contextmanager
def serving(server: FakeNetbox) -> Iterator[FakeNetbox]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def netbox() -> Iterator[FakeNetbox]:
    with serving(FakeNetbox(netbox_data(TWO_PAIRS))) as server:
        yield server


def source_file(folder: Path, url: str, *, interval: float = 300, extra: str = "") -> Path:
    path = folder / "netmon.yaml"
    path.write_text(
        f"""\
version: 1
source:
  netbox: {{url: "{url}", token: {{env: NB_TOKEN}}, site: dc1, interval: {interval},
           timeout: 2, deadline: 10}}
drills: {{journal: {folder / "state" / "drills.sqlite"}}}
defaults:
  pair: {{interval: 5}}
  snmp: {{version: "2c", community: {{env: NB_COMMUNITY}}, timeout: 0.5, retries: 0}}
{extra}"""
    )
    return path


@pytest.fixture
def secrets_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NB_TOKEN", TOKEN)
    monkeypatch.setenv("NB_COMMUNITY", "lab-community-x9")


# -- the source, refreshed -------------------------------------------------------------------


@pytest.mark.usefixtures("secrets_env")
def test_a_source_file_loads_the_pairs_netbox_describes(netbox: FakeNetbox, tmp_path: Path) -> None:
    inventory = load_inventory(source_file(tmp_path, netbox.url))
    assert sorted(p.kind for p in inventory.pairs) == ["hsrp", "vrrpv3"]
    assert {m.device for p in inventory.pairs for m in p.members} == {"r1", "r2"}
    assert inventory.devices["r1"].address == "127.0.0.11"
    (kept,) = (tmp_path / "state").glob(f"{LAST_GOOD_PREFIX}*.json")  # for a restart
    assert TOKEN not in kept.read_text() and kept.stat().st_mode & 0o077 == 0


@pytest.mark.usefixtures("secrets_env")
@pytest.mark.parametrize("mode", ["error", "forbidden", "garbage", "hang", "closed"])
def test_a_failed_refresh_keeps_the_last_good_inventory(
    netbox: FakeNetbox, tmp_path: Path, mode: str
) -> None:
    live = LiveSource(read_source(source_file(tmp_path, netbox.url)))
    first = live.start()
    assert live.status.up and live.status.using == "netbox" and len(first.pairs) == 2
    if mode == "closed":
        netbox.shutdown()
        netbox.server_close()
    else:
        netbox.mode = mode
    with pytest.raises(SourceError) as caught:
        live.refresh()
    assert TOKEN not in str(caught.value)
    assert "127.0.0.1" in str(caught.value)  # names the NetBox it could not read
    assert not live.status.up and live.status.last_error == str(caught.value)
    assert live.current == first  # kept
    assert live.status.last_success is not None


@pytest.mark.usefixtures("secrets_env")
def test_netbox_emptied_keeps_the_pairs_a_restart_accepts_it(
    netbox: FakeNetbox, tmp_path: Path
) -> None:
    path = source_file(tmp_path, netbox.url)
    live = LiveSource(read_source(path))
    live.start()
    netbox.data = netbox_data([])
    with pytest.raises(SourceError, match="no pair to watch where 2 were watched"):
        live.refresh()
    assert live.current is not None and len(live.current.pairs) == 2
    assert live.refresh(accept_shrink=True).pairs == ()  # SIGHUP: NetBox as it is now
    again = LiveSource(read_source(path))
    assert again.start().pairs == ()  # on purpose, at a start: NetBox says there is none
    assert again.status.up


@pytest.mark.usefixtures("secrets_env")
def test_changes_in_netbox_arrive_at_the_next_refresh(netbox: FakeNetbox, tmp_path: Path) -> None:
    live = LiveSource(read_source(source_file(tmp_path, netbox.url)))
    assert len(live.start().pairs) == 2
    netbox.data = netbox_data(ONE_PAIR)
    assert [p.kind for p in live.refresh().pairs] == ["vrrpv3"]


@pytest.mark.usefixtures("secrets_env")
def test_an_answer_that_builds_an_inventory_that_does_not_load_is_refused(
    netbox: FakeNetbox, tmp_path: Path
) -> None:
    live = LiveSource(read_source(source_file(tmp_path, netbox.url)))
    live.start()
    # A VRID no VRRP router can have: the mapping passes it on, the kind's check refuses it.
    netbox.data = netbox_data([(1, "vrrp3", 300, "10.99.10.1/24", TWO_PAIRS[0][4]), TWO_PAIRS[1]])
    with pytest.raises(SourceError, match="does not load"):
        live.refresh()
    assert live.current is not None and len(live.current.pairs) == 2


@pytest.mark.usefixtures("secrets_env")
def test_a_start_while_netbox_is_down_uses_the_last_good_else_no_pair(
    netbox: FakeNetbox, tmp_path: Path
) -> None:
    path = source_file(tmp_path, netbox.url)
    netbox.mode = "error"
    empty = LiveSource(read_source(path))
    assert empty.start().pairs == ()
    assert empty.status.using == "none" and not empty.status.up
    netbox.mode = "ok"
    assert len(LiveSource(read_source(path)).start().pairs) == 2
    netbox.mode = "error"
    kept = LiveSource(read_source(path))
    assert len(kept.start().pairs) == 2
    assert kept.status.using == "last good" and not kept.status.up


@pytest.mark.usefixtures("secrets_env")
def test_one_shot_commands_use_the_last_good_then_fail_clearly(
    netbox: FakeNetbox, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = source_file(tmp_path, netbox.url)
    netbox.mode = "error"
    with pytest.raises(ConfigError) as caught:
        load_inventory(path)
    message = str(caught.value)
    assert "503" in message and "no last good answer" in message and TOKEN not in message
    netbox.mode = "ok"
    load_inventory(path)
    netbox.mode = "error"
    with caplog.at_level(logging.ERROR):  # what one-shot commands show
        assert len(load_inventory(path).pairs) == 2
    assert "using the last good answer" in caplog.text


def test_source_file_problems_name_their_line(tmp_path: Path) -> None:
    path = tmp_path / "netmon.yaml"
    path.write_text(
        "version: 1\n"
        "source:\n"
        "  netbox: {url: ftp://netbox, token: {env: NB_UNSET_TOKEN}, intervall: 5}\n"
        "devices: {}\n"
    )
    with pytest.raises(ConfigError) as caught:
        read_source(path)
    text = str(caught.value)
    assert f"{path}:3: source.netbox.intervall: unknown key 'intervall'" in text
    assert f"{path}:4: devices:" in text
    path.write_text("source:\n  netbox: {url: ftp://netbox, token: {env: NB_UNSET_TOKEN}}\n")
    with pytest.raises(ConfigError) as caught:
        read_source(path)
    text = str(caught.value)
    assert "source.netbox.token: secret: environment variable NB_UNSET_TOKEN is not set" in text
    assert "source.netbox.url: the url must be http:// or https://" in text


@pytest.mark.usefixtures("secrets_env")
def test_validate_of_a_source_file_reads_netbox(netbox: FakeNetbox, tmp_path: Path) -> None:
    path = source_file(tmp_path, netbox.url)
    done = CliRunner().invoke(app, ["inventory", "validate", str(path)])
    assert done.exit_code == 0, done.output
    assert "2 pairs" in done.output


def test_the_fetcher_contract_is_what_live_calls() -> None:
    # LiveSource calls fetch(url, token, filters, timeout=...): the real one takes exactly that.
    import inspect

    from netmon.inventory.netbox import fetch

    params = inspect.signature(fetch).parameters
    assert list(params)[:3] == ["url", "token", "filters"] and "timeout" in params
    assert issubclass(NetboxError, Exception)


# -- the daemon --------------------------------------------------------------------------------


def metrics(listen: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(get(f"http://{listen}/metrics")):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def source_up(listen: str) -> float | None:
    return metrics(listen).get(("netmon_inventory_source_up", (("source", "netbox"),)))


def pairs_shown(listen: str) -> set[str]:
    return {dict(k[1])["pair"] for k in metrics(listen) if k[0] == "netmon_pair_state"}


def run_daemon(tmp_path: Path, path: Path) -> tuple[subprocess.Popen[bytes], str, TextIO]:
    """`netmon run` on the source file, its output in tmp_path/daemon.log: (process, listen,
    the open log)."""
    listen = f"127.0.0.1:{free_tcp_port()}"
    env = {
        **os.environ, "NB_TOKEN": TOKEN, "NB_COMMUNITY": "lab-community-x9",
        "HOME": str(tmp_path), "PYTHONUNBUFFERED": "1",
    }  # fmt: skip
    log = (tmp_path / "daemon.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "netmon", "run", "--inventory", str(path), "--listen", listen],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    return proc, listen, log


@pytest.mark.daemon
def test_the_daemon_keeps_its_pairs_through_a_netbox_outage_and_garbage(
    netbox: FakeNetbox, tmp_path: Path
) -> None:
    proc, listen, log = run_daemon(tmp_path, source_file(tmp_path, netbox.url, interval=5))
    try:
        wait_for(lambda: source_up(listen) == 1.0, 30, "the daemon up, its source read")
        wait_for(lambda: len(pairs_shown(listen)) == 2, 30, "both pairs polled once")
        names = pairs_shown(listen)
        when = metrics(listen)[
            ("netmon_inventory_source_last_success_timestamp_seconds", (("source", "netbox"),))
        ]
        assert abs(when - time.time()) < 60
        for mode in ("error", "garbage"):
            netbox.mode = mode
            proc.send_signal(signal.SIGHUP)  # refresh now
            wait_for(lambda: source_up(listen) == 0.0, 20, f"source down ({mode})")
            assert pairs_shown(listen) == names  # never emptied
            netbox.mode = "ok"
            wait_for(lambda: source_up(listen) == 1.0, 20, "source up by its schedule (5 s)")
        for page in ("/metrics", "/api/v1/pairs", "/api/v1/source"):
            assert TOKEN not in get(f"http://{listen}{page}")
        source = json.loads(get(f"http://{listen}/api/v1/source"))
        assert (source["up"], source["using"], source["pairs"]) == (True, "netbox", 2)
        assert source["filters"] == {"site": "dc1"} and source["refused"] == []
        netbox.data = netbox_data(ONE_PAIR)
        proc.send_signal(signal.SIGHUP)
        wait_for(lambda: len(pairs_shown(listen)) == 1, 20, "the removed group's pair gone")
        assert proc.poll() is None
    finally:
        netbox.release.set()
        stop_process(proc)
        log.close()
    text = (tmp_path / "daemon.log").read_text()
    assert "keeping the running inventory (2 pairs)" in text
    assert TOKEN not in text


def test_the_example_source_file_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NETBOX_TOKEN", "NETMON_SNMP_AUTH", "NETMON_SNMP_PRIV"):
        monkeypatch.setenv(name, f"example-{name.lower()}-value")
    source = read_source(Path(__file__).parent.parent / "inventory" / "netbox-live.example.yaml")
    assert (source.interval, source.timeout, source.filters.site) == (300, 10, "dc1")
    assert source.last_good.parent == Path("/var/lib/netmon")
    assert source.last_good.name.startswith(LAST_GOOD_PREFIX)
    assert [rule.group for rule in source.base.rules] == ["servers", None]


@pytest.mark.usefixtures("secrets_env")
def test_a_private_ca_for_netbox_is_given_in_the_source_file(tmp_path: Path) -> None:
    path = source_file(tmp_path, "https://netbox.invalid/")
    text = path.read_text().replace("deadline: 10}", "deadline: 10, ca_file: ca.pem}")
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"source\.netbox\.ca_file: no such file"):
        read_source(path)
    (tmp_path / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    seen: dict[str, object] = {}

    def fetcher(*args: object, **kwargs: object) -> NetboxData:
        seen.update(kwargs)
        return netbox_data(TWO_PAIRS)

    live = LiveSource(read_source(path), fetcher=fetcher)
    assert len(live.refresh().pairs) == 2
    assert seen["ca_file"] == str(tmp_path / "ca.pem")  # relative to the source file
