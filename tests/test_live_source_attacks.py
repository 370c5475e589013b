"""The live inventory source attacked (issue 19): garbage of any shape, a `next` link to another
host, answers that never end, SIGTERM during a hung refresh, rotated secrets, SIGHUP storms,
another source's last answer, settings mistakes, the state folder taken. From an adversarial
review: each of these failed once."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from unittest import mock
from urllib.parse import parse_qs, urlsplit

import pytest

from netmon.errors import ConfigError
from netmon.inventory.live import LiveSource, SourceError, read_source

from .conftest import free_tcp_port, stop_process
from .helpers import wait_for
from .test_live_source import (
    TOKEN,
    TWO_PAIRS,
    FakeNetbox,
    netbox_data,
    run_daemon,
    serving,
    source_file,
    source_up,
)


@pytest.fixture
def netbox() -> Iterator[FakeNetbox]:
    with serving(FakeNetbox(netbox_data(TWO_PAIRS))) as server:
        yield server


@pytest.fixture
def secrets_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NB_TOKEN", TOKEN)
    monkeypatch.setenv("NB_COMMUNITY", "lab-community-x9")


# -- a NetBox whose answers a test rewrites ---------------------------------------------------


class Rigged(FakeNetbox):
    """FakeNetbox whose answer to an endpoint a test may replace: hook(handler, endpoint, rows)
    returns True when it answered itself."""

    def __init__(self) -> None:
        super().__init__(netbox_data(TWO_PAIRS))
        self.RequestHandlerClass = _RiggedHandler
        self.hook: Callable[[Any, str, list[dict[str, Any]]], bool] | None = None
        self.auth_seen: list[str | None] = []


class _RiggedHandler(BaseHTTPRequestHandler):
    server: Rigged

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def send_json(self, body: Any, status: int = 200) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("API-Version", "4.6")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        server = self.server
        server.requests += 1
        server.auth_seen.append(self.headers.get("Authorization"))
        parts = urlsplit(self.path)
        endpoint = parts.path.split("/api/", 1)[-1].strip("/")
        try:
            rows = server.rows(endpoint, parse_qs(parts.query))
        except KeyError:
            rows = []
        if server.hook is not None and server.hook(self, endpoint, rows):
            return
        self.send_json({"count": len(rows), "next": None, "previous": None, "results": rows})


@pytest.fixture
def rigged() -> Iterator[Rigged]:
    server = Rigged()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.hook = None
        server.release.set()
        server.shutdown()
        server.server_close()


def _serve(server: ThreadingHTTPServer) -> None:
    threading.Thread(target=server.serve_forever, daemon=True).start()


def _garbage(endpoint: str, rewrite: Callable[[list[dict[str, Any]]], Any]) -> Any:
    def hook(handler: _RiggedHandler, at: str, rows: list[dict[str, Any]]) -> bool:
        if at != endpoint:
            return False
        handler.send_json(rewrite(rows))
        return True

    return hook


def _page(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"count": len(rows), "next": None, "previous": None, "results": rows}


DEEP = b'{"count": 1, "next": null, "results": [' + b"[" * 100_000 + b"]" * 100_000 + b"]}"
GARBAGE = {
    # valid JSON, a group's id an object: map_groups hashes it (netbox.py:506)
    "group id a list": _garbage(
        "ipam/fhrp-groups", lambda rows: _page([{**r, "id": [r["id"]]} for r in rows])
    ),
    # interface_type a list: `... not in HOST_OF` hashes it (netbox.py:400)
    "interface_type a list": _garbage(
        "ipam/fhrp-group-assignments",
        lambda rows: _page([{**r, "interface_type": ["dcim.interface"]} for r in rows]),
    ),
    # JSON nested 100 000 deep: json raises RecursionError, which fetch does not catch
    "deeply nested JSON": _garbage("dcim/devices", lambda rows: DEEP),
}


# 1. A refresh raises something other than SourceError on garbage -------------------------


@pytest.mark.usefixtures("secrets_env")
@pytest.mark.parametrize("shape", sorted(GARBAGE))
def test_garbage_of_any_shape_is_a_source_error(rigged: Rigged, tmp_path: Path, shape: str) -> None:
    live = LiveSource(read_source(source_file(tmp_path, rigged.url)))
    first = live.start()
    rigged.hook = GARBAGE[shape]
    with pytest.raises(SourceError):
        live.refresh()
    assert live.current == first and not live.status.up


def _daemon(path: Path) -> Any:
    from netmon.daemon import Daemon

    daemon = Daemon(path, ("127.0.0.1", 0))
    daemon.scheduler = mock.MagicMock()
    daemon.scheduler.get_job.return_value = None
    return daemon


@pytest.mark.usefixtures("secrets_env")
def test_a_refresh_that_raises_anything_keeps_the_daemon_refreshing_and_says_down(
    rigged: Rigged, tmp_path: Path
) -> None:
    daemon = _daemon(source_file(tmp_path, rigged.url))
    assert daemon.live.status.up
    daemon.scheduler.get_job.return_value = object()  # the source job exists
    rigged.hook = GARBAGE["group id a list"]
    asyncio.run(daemon._refresh_source())  # must not raise into APScheduler / the task
    assert not daemon.live.status.up  # netmon_inventory_source_up 0, not a stale 1
    daemon.scheduler.modify_job.assert_called()  # the 30 s retry, as for any failure
    assert len(daemon.inventory.pairs) == 2


@pytest.mark.usefixtures("secrets_env")
def test_a_daemon_starts_when_netbox_answers_garbage_at_start(
    rigged: Rigged, tmp_path: Path
) -> None:
    rigged.hook = GARBAGE["interface_type a list"]
    daemon = _daemon(source_file(tmp_path, rigged.url))
    assert not daemon.live.status.up


# 2. The token follows a pagination `next` link to any host -------------------------------


class _Collector(BaseHTTPRequestHandler):
    """Another host: records the Authorization header it is sent."""

    seen: ClassVar[list[str | None]] = []

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:
        _Collector.seen.append(self.headers.get("Authorization"))
        body = json.dumps({"count": 0, "next": None, "results": []}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def elsewhere() -> Iterator[str]:
    _Collector.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", free_tcp_port()), _Collector)
    _serve(server)
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.usefixtures("secrets_env")
def test_the_token_never_follows_a_next_link_to_another_host(
    rigged: Rigged, elsewhere: str, tmp_path: Path
) -> None:
    # A NetBox behind a proxy that writes `next` for another origin (a plain-http URL behind a
    # TLS proxy, an internal name), or one that is not NetBox at all: pynetbox follows `next`
    # as given, with `Authorization: Token ...` set by hand, so requests' redirect stripping
    # never applies.
    def hook(handler: _RiggedHandler, endpoint: str, rows: list[dict[str, Any]]) -> bool:
        if endpoint != "dcim/devices":
            return False
        handler.send_json(
            {"count": 99, "next": f"{elsewhere}/api/dcim/devices/?offset=2", "results": rows}
        )
        return True

    live = LiveSource(read_source(source_file(tmp_path, rigged.url)))
    rigged.hook = hook
    with contextlib.suppress(SourceError):
        live.refresh()  # any outcome but a leak
    assert f"Token {TOKEN}" not in _Collector.seen


class _Redirect(BaseHTTPRequestHandler):
    target = ""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:
        self.send_response(302)
        self.send_header("Location", f"{_Redirect.target}{self.path}")
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.mark.usefixtures("secrets_env")
def test_an_http_redirect_is_not_followed_and_says_where_it_pointed(
    elsewhere: str, tmp_path: Path
) -> None:
    _Redirect.target = elsewhere
    server = ThreadingHTTPServer(("127.0.0.1", free_tcp_port()), _Redirect)
    _serve(server)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        live = LiveSource(read_source(source_file(tmp_path, url)))
        with pytest.raises(SourceError, match=r"a redirect to 'http://127\.0\.0\.1:.*not followed"):
            live.refresh()
    finally:
        server.shutdown()
        server.server_close()
    assert _Collector.seen == []  # the other host is never asked, with or without the token


# 3. No deadline for a whole refresh: slow drip, endless pagination ----------------------


def _drip(server: Rigged) -> Callable[[_RiggedHandler, str, list[dict[str, Any]]], bool]:
    """An answer that sends a byte every 0.5 s (under the 2 s read timeout), never ending."""

    def hook(handler: _RiggedHandler, endpoint: str, rows: list[dict[str, Any]]) -> bool:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", "100000000")
        handler.end_headers()
        try:
            handler.wfile.write(b'{"count": 0, "results": [')
            while not server.release.wait(0.5):
                handler.wfile.write(b" ")
                handler.wfile.flush()
        except OSError:
            pass
        return True

    return hook


def _endless(handler: _RiggedHandler, endpoint: str, rows: list[dict[str, Any]]) -> bool:
    """Each page says there is another (a proxy looping `next`, a NetBox bug): each answer is
    quick, the whole never ends, and every page's rows pile up in memory."""
    port = handler.server.server_address[1]
    handler.send_json(
        {"count": 10**9, "next": f"http://127.0.0.1:{port}/api/{endpoint}/?p=1", "results": rows}
    )
    return True


@pytest.mark.usefixtures("secrets_env")
@pytest.mark.parametrize("how", ["slow drip", "endless next"])
def test_a_refresh_ends_within_a_bound_of_its_timeout(
    rigged: Rigged, tmp_path: Path, how: str
) -> None:
    live = LiveSource(read_source(source_file(tmp_path, rigged.url)))  # timeout: 2 s
    live.start()
    rigged.hook = _drip(rigged) if how == "slow drip" else _endless
    done: list[BaseException | None] = []

    def run() -> None:
        try:
            live.refresh()
            done.append(None)
        except BaseException as exc:  # the refresh's outcome, whatever it is
            done.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(20)
    rigged.release.set()
    rigged.hook = None
    assert done, (
        f"{how}: the refresh still runs after 20 s (timeout 2 s); up stays {live.status.up}"
    )
    assert isinstance(done[0], SourceError)


@pytest.mark.daemon
def test_sigterm_while_a_refresh_hangs_stops_the_daemon_within_seconds(
    rigged: Rigged, tmp_path: Path
) -> None:
    proc, listen, log = run_daemon(tmp_path, source_file(tmp_path, rigged.url))
    try:
        wait_for(lambda: source_up(listen) == 1.0, 30, "the daemon up, its source read")
        rigged.hook = _drip(rigged)
        proc.send_signal(signal.SIGHUP)  # a refresh now, into the never-ending answer
        wait_for(lambda: rigged.requests > 0 and rigged.hook is not None, 5, "hook armed")
        time.sleep(2)
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)  # STOP_GRACE 3 s + 1 s: the daemon's own promise is "a few seconds"
        except subprocess.TimeoutExpired:
            pytest.fail("SIGTERM: the daemon is still running 10 s later (a refresh thread hangs)")
    finally:
        rigged.release.set()
        stop_process(proc)
        log.close()


# 4. A rotated secret in the source file never takes effect through SIGHUP ---------------


@pytest.mark.usefixtures("secrets_env")
def test_a_rotated_snmp_secret_file_takes_effect_at_sighup(
    netbox: FakeNetbox, tmp_path: Path
) -> None:
    secret = tmp_path / "community"
    secret.write_text("old-community\n")
    path = source_file(tmp_path, netbox.url)
    path.write_text(path.read_text().replace("{env: NB_COMMUNITY}", f"{{file: {secret}}}"))
    daemon = _daemon(path)
    assert daemon.inventory.devices["r1"].snmp.credentials.community.reveal() == "old-community"
    secret.write_text("new-community\n")
    # what reload() does for a source file: read it again, refresh as asked
    daemon.live.source = read_source(path)
    asyncio.run(daemon._refresh_source(requested=True))
    # a Secret compares by where it comes from: the new inventory is "equal", and yet taken
    assert daemon.inventory.devices["r1"].snmp.credentials.community.reveal() == "new-community"


# 5. SIGHUP moves every poll, though the doc says an unchanged refresh moves none ---------


@pytest.mark.usefixtures("secrets_env")
def test_a_sighup_with_nothing_changed_moves_no_poll(netbox: FakeNetbox, tmp_path: Path) -> None:
    daemon = _daemon(source_file(tmp_path, netbox.url))

    async def hup() -> None:
        assert daemon.reload()
        await asyncio.sleep(0)
        if daemon._refreshing is not None:
            await daemon._refreshing

    asyncio.run(hup())
    moved = [
        c for c in daemon.scheduler.add_job.call_args_list if c.kwargs.get("id") in ("g1", "g2")
    ]
    assert moved == [], "a SIGHUP re-added pair jobs (each poll moved)"


# 6. The last good inventory is not tied to the source that wrote it ----------------------


@pytest.mark.usefixtures("secrets_env")
def test_the_last_good_inventory_of_another_source_is_never_used(
    netbox: FakeNetbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No drills.journal: both files keep their answers in the same folder; nor may an edited
    # `site:` fall back on the old site's answer at a restart while NetBox is down.
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    from netmon.inventory import load_inventory

    def write(name: str, site: str) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        path = folder / "netmon.yaml"
        path.write_text(
            "version: 1\nsource:\n"
            f'  netbox: {{url: "{netbox.url}", token: {{env: NB_TOKEN}}, site: {site}, timeout: 2}}\n'
            'defaults:\n  snmp: {version: "2c", community: {env: NB_COMMUNITY}}\n'
        )
        return path

    dc1, dc2 = write("a", "dc1"), write("b", "dc2")
    assert len(load_inventory(dc1).pairs) == 2  # dc1's pairs, kept as "the" last good
    netbox.mode = "error"
    with pytest.raises(ConfigError):  # dc2 was never read: nothing to fall back on
        load_inventory(dc2)


# 7. A source file's problems that are not ConfigErrors, or not found at all -------------


def test_a_malformed_url_is_a_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NB_TOKEN", TOKEN)
    path = tmp_path / "netmon.yaml"
    path.write_text('version: 1\nsource:\n  netbox: {url: "http://[::1", token: {env: NB_TOKEN}}\n')
    with pytest.raises(ConfigError, match=r"source\.netbox\.url"):
        read_source(path)


BAD_SETTINGS = {
    "match rule snmp": (
        'netbox:\n  match:\n    - {platform: cisco-ios, snmp: {version: "9"}}\n',
        None,
        "netbox.match",
    ),
    "defaults.snmp version": ("", ('version: "2c"', 'version: "7"'), "defaults.snmp"),
    "defaults.snmp secret unset": (
        "",
        ("community: {env: NB_COMMUNITY}", "community: {env: NB_UNSET_X}"),
        "defaults.snmp",
    ),
}


@pytest.mark.usefixtures("secrets_env")
@pytest.mark.parametrize("case", sorted(BAD_SETTINGS))
def test_bad_snmp_settings_are_found_when_the_source_file_is_read(
    netbox: FakeNetbox, tmp_path: Path, case: str
) -> None:
    # Found when the file is read, at the line that says it, not at every refresh.
    extra, swap, where = BAD_SETTINGS[case]
    path = source_file(tmp_path, netbox.url, extra=extra)
    if swap is not None:
        path.write_text(path.read_text().replace(*swap))
    with pytest.raises(ConfigError, match=where):
        read_source(path)


# 8. The last good path taken by something else: an OSError escapes the refresh ----------


@pytest.mark.usefixtures("secrets_env")
def test_a_last_good_path_that_cannot_be_replaced_does_not_fail_the_refresh(
    netbox: FakeNetbox, tmp_path: Path
) -> None:
    path = source_file(tmp_path, netbox.url)
    source = read_source(path)
    (source.last_good / "x").mkdir(parents=True)  # a directory in its place
    live = LiveSource(source)
    inventory = live.start()  # IsADirectoryError (as a full disk's ENOSPC): said, not fatal
    assert len(inventory.pairs) == 2 and live.status.up


# 9. The documented alert does not exist ------------------------------------------------


def test_the_documented_source_alert_exists() -> None:
    rules = (Path(__file__).parent.parent / "alert_rules" / "netmon.rules.yml").read_text()
    assert "NetmonInventorySourceDown" in rules and "netmon_inventory_source_up" in rules


# 10. A SIGHUP during a SIGHUP's refresh is dropped: the new settings wait a full interval -


@pytest.mark.usefixtures("secrets_env")
def test_a_second_sighup_with_new_settings_is_not_lost(netbox: FakeNetbox, tmp_path: Path) -> None:
    path = source_file(tmp_path, netbox.url)  # interval 300
    daemon = _daemon(path)
    real = daemon.live._fetch

    def slow(*args: Any, **kwargs: Any) -> Any:
        time.sleep(1.0)
        return real(*args, **kwargs)

    daemon.live._fetch = slow

    async def two_hups() -> None:
        assert daemon.reload()  # refresh 1 starts, with the settings as they are (interval 5)
        await asyncio.sleep(0.3)
        path.write_text(path.read_text().replace("pair: {interval: 5}", "pair: {interval: 7}"))
        assert daemon.reload()  # refresh 1 still runs: one more after it
        for _ in range(50):
            await asyncio.sleep(0.1)
            if all(t.done() for t in list(daemon._tasks)):
                break

    asyncio.run(two_hups())
    # refresh 1 read the settings before the edit: a second refresh brings them
    assert {p.interval for p in daemon.inventory.pairs} == {7.0}


# -- checked, held ----------------------------------------------------------------------


class _Refuse(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:
        body = json.dumps({"detail": f"Invalid token {self.headers.get('Authorization')}"}).encode()
        self.send_response(403, f"Forbidden {self.headers.get('Authorization')}")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.mark.usefixtures("secrets_env")
def test_held_a_token_echoed_in_the_status_line_and_body_is_never_shown(tmp_path: Path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", free_tcp_port()), _Refuse)
    _serve(server)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        live = LiveSource(read_source(source_file(tmp_path, url)))
        with pytest.raises(SourceError) as caught:
            live.refresh()
    finally:
        server.shutdown()
        server.server_close()
    assert TOKEN not in str(caught.value) and "403" in str(caught.value)


@pytest.mark.usefixtures("secrets_env")
def test_held_sighup_with_a_broken_source_file_keeps_everything(
    netbox: FakeNetbox, tmp_path: Path
) -> None:
    path = source_file(tmp_path, netbox.url)
    daemon = _daemon(path)
    before = (daemon.live.source, daemon.inventory)
    path.write_text(path.read_text().replace("interval: 300", "interval: 1"))  # below 5
    assert daemon.reload() is False
    path.write_text("source: [\n")  # not YAML
    assert daemon.reload() is False
    assert (daemon.live.source, daemon.inventory) == before


@pytest.mark.usefixtures("secrets_env")
def test_held_a_symlinked_last_good_is_replaced_not_written_through(
    netbox: FakeNetbox, tmp_path: Path
) -> None:
    path = source_file(tmp_path, netbox.url)
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    source = read_source(path)
    source.last_good.parent.mkdir(parents=True)
    source.last_good.symlink_to(victim)
    live = LiveSource(source)
    assert len(live.start().pairs) == 2
    assert victim.read_text() == "precious\n"
    assert not source.last_good.is_symlink()
    assert oct(source.last_good.stat().st_mode & 0o777) == "0o600"


@pytest.mark.usefixtures("secrets_env")
def test_held_a_corrupt_last_good_is_refused_and_the_start_watches_nothing(
    netbox: FakeNetbox, tmp_path: Path
) -> None:
    path = source_file(tmp_path, netbox.url)
    source = read_source(path)
    source.last_good.parent.mkdir(parents=True)
    source.last_good.write_bytes(b"\xff\xfe pairs: [oops\n")
    netbox.mode = "error"
    live = LiveSource(source)
    assert live.start().pairs == () and live.status.using == "none"


# 11. A new VM (or device) with a name already taken renames the existing device ---------


def test_adding_a_vm_with_a_devices_name_does_not_rename_the_device() -> None:
    from netmon.inventory.netbox import device_names

    before = device_names({("device", 1): {"id": 1, "name": "fw1"}})
    after = device_names(
        {("device", 1): {"id": 1, "name": "fw1"}, ("vm", 7): {"id": 7, "name": "FW1"}}
    )
    # the watched device keeps its name (its pairs' members must not change under the daemon)
    assert after[("device", 1)] == before[("device", 1)] == "fw1"


@pytest.mark.usefixtures("secrets_env")
def test_a_sighup_while_netbox_is_down_applies_new_settings_to_the_kept_answer(
    netbox: FakeNetbox, tmp_path: Path
) -> None:
    path = source_file(tmp_path, netbox.url)
    daemon = _daemon(path)
    assert {p.interval for p in daemon.inventory.pairs} == {5.0}
    netbox.mode = "error"
    path.write_text(path.read_text().replace("pair: {interval: 5}", "pair: {interval: 7}"))
    daemon.live.source = read_source(path)  # what reload() does, then a requested refresh
    asyncio.run(daemon._refresh_source(requested=True))
    assert {p.interval for p in daemon.inventory.pairs} == {7.0}
    assert not daemon.live.status.up and daemon.live.status.using == "last good"
