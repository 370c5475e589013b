"""TLS and basic auth on /metrics and /api from an exporter-toolkit web config file, checked with
a real TLS client (Python's ssl, i.e. OpenSSL) against the real HTTP server."""

from __future__ import annotations

import base64
import json
import os
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import bcrypt
import pytest

from netmon.errors import ConfigError
from netmon.exporter import MetricsServer
from netmon.model import Inventory
from netmon.store import StateStore
from netmon.webconfig import load_web_config

from .conftest import REPO
from .pki import make_pki

PASSWORD = "scrape-Pa55-9c1d"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_pki(tmp_path_factory.mktemp("pki"))


def write_config(folder: Path, text: str) -> Path:
    path = folder / "web.yml"
    path.write_text(text)
    return path


def hashed(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()


def serve(path: Path) -> MetricsServer:
    store = StateStore(Inventory({}, ()))
    server = MetricsServer(
        ("127.0.0.1", 0), lambda: store.snapshot(time.time()), web=load_web_config(path)
    )
    server.start()
    return server


@pytest.fixture
def tls_server(pki: Path, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    for name in ("server.crt", "server.key"):
        (tmp_path / name).write_bytes((pki / name).read_bytes())
    config = write_config(
        tmp_path,
        "tls_server_config: {cert_file: server.crt, key_file: server.key}\n"
        f"basic_auth_users: {{prometheus: '{hashed(PASSWORD)}'}}\n",
    )
    server = serve(config)
    try:
        yield f"127.0.0.1:{server.server_address[1]}", pki
    finally:
        server.stop()


def client(pki: Path, cert: bool = False) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(pki / "ca.crt"))
    if cert:
        context.load_cert_chain(pki / "client.crt", pki / "client.key")
    return context


def fetch(url: str, context: ssl.SSLContext | None, user: str | None = None,
          password: str = "") -> tuple[int, bytes, str]:  # fmt: skip
    request = urllib.request.Request(url)
    if user is not None:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=10, context=context) as response:
            return response.status, response.read(), ""
    except urllib.error.HTTPError as exc:
        return exc.code, b"", exc.headers.get("WWW-Authenticate", "")


def test_tls_with_basic_auth(tls_server: tuple[str, Path]) -> None:
    address, pki = tls_server
    url = f"https://{address}/metrics"
    status, body, _ = fetch(url, client(pki), "prometheus", PASSWORD)
    assert status == 200
    assert b"netmon_build_info" in body
    for _ in range(3):  # later scrapes use the cached check; still right
        assert fetch(url, client(pki), "prometheus", PASSWORD)[0] == 200
    assert fetch(f"https://{address}/api/v1/status", client(pki), "prometheus", PASSWORD)[0] == 200
    status, _, challenge = fetch(url, client(pki))
    assert (status, challenge) == (401, 'Basic realm="netmon"')
    assert fetch(url, client(pki), "prometheus", "wrong")[0] == 401
    assert fetch(url, client(pki), "nobody", PASSWORD)[0] == 401


def test_plain_http_and_untrusted_clients_get_nothing(tls_server: tuple[str, Path]) -> None:
    address, _ = tls_server
    with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
        urllib.request.urlopen(f"http://{address}/metrics", timeout=5)
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        urllib.request.urlopen(f"https://{address}/metrics", timeout=5,
                               context=ssl.create_default_context())  # fmt: skip


def test_a_stalled_tls_client_does_not_block_scrapes(tls_server: tuple[str, Path]) -> None:
    address, pki = tls_server
    host, port = address.split(":")
    with socket.create_connection((host, int(port))):  # connects, never says hello
        started = time.monotonic()
        assert fetch(f"https://{address}/metrics", client(pki), "prometheus", PASSWORD)[0] == 200
        assert time.monotonic() - started < 5


def test_many_stalled_tls_clients_are_evicted_and_timed_out(pki: Path, tmp_path: Path) -> None:
    """The handshake is part of the request head's deadline and counts against the cap: 100
    clients that connect and never say hello neither hold descriptors nor block a scrape."""
    for name in ("server.crt", "server.key"):
        (tmp_path / name).write_bytes((pki / name).read_bytes())
    server = serve(write_config(tmp_path, "tls_server_config: {cert_file: server.crt, "
                                          "key_file: server.key}\n"))  # fmt: skip
    server.head_deadline = 1.0
    port = server.server_address[1]
    stalled = [socket.create_connection(("127.0.0.1", port)) for _ in range(100)]
    try:
        assert fetch(f"https://127.0.0.1:{port}/metrics", client(pki))[0] == 200
        assert server.open_connections <= server.max_connections
        assert server.counts.dropped["evicted"] >= 100 - server.max_connections
        stalled[-1].settimeout(5)
        assert stalled[-1].recv(1) == b""  # the youngest, too, is let go at the deadline
    finally:
        for sock in stalled:
            sock.close()
        server.stop()


def test_client_certificates_and_tls13(pki: Path, tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        f"tls_server_config:\n  cert_file: {pki}/server.crt\n  key_file: {pki}/server.key\n"
        f"  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {pki}/ca.crt\n"
        "  min_version: TLS13\n",
    )
    server = serve(config)
    url = f"https://127.0.0.1:{server.server_address[1]}/metrics"
    try:
        assert fetch(url, client(pki, cert=True))[0] == 200
        with pytest.raises((urllib.error.URLError, ssl.SSLError, ConnectionError)):
            fetch(url, client(pki))  # no client certificate
        old = client(pki, cert=True)
        old.maximum_version = ssl.TLSVersion.TLSv1_2
        with pytest.raises((urllib.error.URLError, ssl.SSLError, ConnectionError)):
            fetch(url, old)
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("tls_server_config: {cert_file: a.crt, key_file: a.key, ciphers: [x]}\n",
         "tls_server_config.ciphers"),
        ("basic_auth_users: {prometheus: plain-text-password}\n", "basic_auth_users.prometheus"),
        ("basic_auth_users: {prometheus: $2y$10$tooshort}\n", "basic_auth_users.prometheus"),
        ("tls_server_config: {cert_file: missing.crt, key_file: missing.key}\n",
         "tls_server_config: cannot load"),
        ("tls_config: {}\n", "tls_config"),
        ("basic_auth_users: [\n", "not YAML"),
    ],
)  # fmt: skip
def test_bad_web_configs_name_the_key_and_never_the_password(
    tmp_path: Path, text: str, where: str
) -> None:
    path = write_config(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_web_config(path)
    message = str(caught.value)
    assert str(path) in message
    assert where in message
    assert "plain-text-password" not in message


def test_netmon_run_with_a_bad_web_config_exits_2(tmp_path: Path) -> None:
    path = write_config(tmp_path, "basic_auth_users: {prometheus: nope}\n")
    run = subprocess.run(
        [sys.executable, "-m", "netmon", "run", "-i", str(REPO / "inventory" / "example.yaml"),
         "--web-config", str(path), "--listen", "127.0.0.1:0"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert run.returncode == 2, run.stderr
    assert "basic_auth_users.prometheus" in run.stderr


def test_metrics_and_api_listen_on_loopback_unless_told() -> None:
    from netmon.cli import DEFAULT_LISTEN

    assert DEFAULT_LISTEN.startswith("127.0.0.1:")


def test_netmon_status_reaches_a_protected_daemon(tls_server: tuple[str, Path]) -> None:
    """The CLI reads a TLS + password daemon with NETMON_WEB_CA / _USER / _PASSWORD (the
    password from the environment, never argv); without them it says what is missing."""
    address, pki = tls_server
    env = {**os.environ, "NETMON_WEB_CA": str(pki / "ca.crt"), "NETMON_WEB_USER": "prometheus"}
    command = [sys.executable, "-m", "netmon", "status", "--listen", address, "--json"]
    refused = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60,
                             check=False)  # fmt: skip
    assert refused.returncode == 2
    assert "set NETMON_WEB_USER and NETMON_WEB_PASSWORD" in refused.stderr
    env["NETMON_WEB_PASSWORD"] = PASSWORD
    shown = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60,
                           check=False)  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["pairs"] == []
    assert PASSWORD not in shown.stdout + shown.stderr + refused.stderr


def test_status_never_sends_a_password_over_plain_http(tmp_path: Path) -> None:
    """Without NETMON_WEB_CA a configured password is refused before any connection: whatever
    listens on --listen (anyone may bind it while the daemon is down) never sees it."""
    import http.server
    import threading

    from netmon.cli.status import fetch_status
    from netmon.errors import DaemonUnavailable

    seen: list[str | None] = []

    class Recorder(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.headers.get("Authorization"))
            body = b'{"pairs": [], "pending": []}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    listener = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=listener.serve_forever, daemon=True).start()
    address = f"127.0.0.1:{listener.server_address[1]}"
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("NETMON_WEB_")}
        env |= {"NETMON_WEB_USER": "prometheus", "NETMON_WEB_PASSWORD": PASSWORD}
        command = [sys.executable, "-m", "netmon", "status", "--listen", address, "--json"]
        run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60,
                             check=False)  # fmt: skip
        assert run.returncode == 2, run.stdout + run.stderr
        assert "NETMON_WEB_CA" in run.stderr
        assert PASSWORD not in run.stdout + run.stderr
        # the drills' pre-check reads the daemon through fetch_status and treats
        # DaemonUnavailable as "daemon not reachable" (it falls back to the pair history)
        with pytest.MonkeyPatch.context() as patch:
            for name in ("NETMON_WEB_CA", "NETMON_WEB_USER", "NETMON_WEB_PASSWORD"):
                patch.delenv(name, raising=False)
            patch.setenv("NETMON_WEB_USER", "prometheus")
            patch.setenv("NETMON_WEB_PASSWORD", PASSWORD)
            with pytest.raises(DaemonUnavailable, match="NETMON_WEB_CA"):
                fetch_status(address, timeout=1.0)
            patch.delenv("NETMON_WEB_PASSWORD")  # no password: plain http is fine
            assert fetch_status(address, timeout=1.0)["pairs"] == []
        assert seen == [None]  # one request, from the password-less read; no header ever
    finally:
        listener.shutdown()
        listener.server_close()


def test_an_unknown_user_costs_as_much_as_a_known_one(tmp_path: Path) -> None:
    """The dummy hash checked for an unknown user has the highest cost of the configured ones."""
    low = bcrypt.hashpw(b"a", bcrypt.gensalt(rounds=4)).decode()
    high = bcrypt.hashpw(b"b", bcrypt.gensalt(rounds=6)).decode()
    path = write_config(tmp_path, f"basic_auth_users: {{a: '{low}', b: '{high}'}}\n")
    web = load_web_config(path)
    assert web.dummy_hash.startswith(b"$2b$06$")
    assert not web.allows("Basic " + base64.b64encode(b"nobody:b").decode())


def test_unknown_user_and_wrong_password_do_the_same_bcrypt_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a prober can time is bcrypt: an unknown user and a known user's wrong password each
    run exactly one check, at the highest configured cost, so neither answers sooner. A spy on
    `bcrypt.checkpw` sees every call (a skipped check for an unknown user, or a cheaper dummy,
    would tell which user names exist)."""
    low = bcrypt.hashpw(b"a", bcrypt.gensalt(rounds=4)).decode()
    high = bcrypt.hashpw(b"b", bcrypt.gensalt(rounds=6)).decode()
    web = load_web_config(
        write_config(tmp_path, f"basic_auth_users: {{a: '{low}', b: '{high}'}}\n")
    )
    costs: list[bytes] = []
    real = bcrypt.checkpw

    def spy(password: bytes, hashed: bytes) -> bool:
        costs.append(hashed[:7])
        return real(password, hashed)

    monkeypatch.setattr(bcrypt, "checkpw", spy)

    def basic(user: str, password: str) -> str:
        return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    for header in (basic("nobody", "b"), basic("b", "wrong"), basic("nobody", "wrong")):
        costs.clear()
        assert not web.allows(header)
        assert costs == [b"$2b$06$"], header
    costs.clear()
    assert web.allows(basic("b", "b"))
    assert costs == [b"$2b$06$"]


def test_a_password_over_72_bytes_gets_401_not_a_dropped_connection(tmp_path: Path) -> None:
    server = serve(
        write_config(tmp_path, f"basic_auth_users: {{prometheus: '{hashed(PASSWORD)}'}}\n")
    )
    url = f"http://127.0.0.1:{server.server_address[1]}/metrics"
    try:
        for user in ("prometheus", "nobody"):
            assert fetch(url, None, user, "x" * 73)[0] == 401
            assert fetch(url, None, user, "é" * 40)[0] == 401  # 80 bytes, 40 characters
        assert fetch(url, None, "prometheus", PASSWORD)[0] == 200  # the server still answers
    finally:
        server.stop()


def test_concurrent_password_checks_are_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A flood of wrong passwords holds at most `max_concurrent_checks` threads in bcrypt; the
    rest wait `check_wait` at most and are refused; a remembered success skips the queue."""
    import threading

    web = load_web_config(
        write_config(tmp_path, f"basic_auth_users: {{p: '{hashed(PASSWORD)}'}}\n")
    )
    good = "Basic " + base64.b64encode(f"p:{PASSWORD}".encode()).decode()
    assert web.allows(good)  # remembered from now on
    web.check_wait = 0.2
    running, most, lock, release = 0, 0, threading.Lock(), threading.Event()
    real = bcrypt.checkpw

    def slow(password: bytes, hashed_password: bytes) -> bool:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        release.wait(5)
        with lock:
            running -= 1
        return real(password, hashed_password)

    monkeypatch.setattr(bcrypt, "checkpw", slow)
    answers: list[bool] = []
    wrong = "Basic " + base64.b64encode(b"p:wrong").decode()
    threads = [
        threading.Thread(target=lambda: answers.append(web.allows(wrong))) for _ in range(10)
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 10
    while len(answers) < 6 and time.monotonic() < deadline:  # the 6 beyond the limit give up
        time.sleep(0.05)
    assert answers == [False] * 6
    assert most == running == web.max_concurrent_checks == 4
    assert web.allows(good)  # every slot is taken: the remembered success needs none
    release.set()
    for thread in threads:
        thread.join(10)
    assert answers == [False] * 10


def test_users_hashed_at_different_costs_are_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A wrong password for a cost-4 user is answered faster than one for a cost-6 user (or an
    unknown one, checked at 6): the operator is told, since that tells users apart."""
    alice = bcrypt.hashpw(b"a", bcrypt.gensalt(rounds=4)).decode()
    bob = bcrypt.hashpw(b"b", bcrypt.gensalt(rounds=6)).decode()
    load_web_config(write_config(tmp_path, f"basic_auth_users: {{alice: '{alice}'}}\n"))
    assert "different bcrypt costs" not in caplog.text
    load_web_config(
        write_config(tmp_path, f"basic_auth_users: {{alice: '{alice}', bob: '{bob}'}}\n")
    )
    assert "different bcrypt costs (4, 6)" in caplog.text
