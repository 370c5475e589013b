"""The bounded HTTP server (netmon/webserver.py) on loopback, with real sockets: what a slow,
silent, greedy or malformed client gets, and that a scrape still gets through."""

from __future__ import annotations

import base64
import contextlib
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import bcrypt
import pytest

from netmon.webconfig import load_web_config
from netmon.webserver import Reply, WebServer

from .helpers import FIGURES


def page(path: str) -> Reply:
    if path == "/boom":
        raise ValueError("a value no one expected")
    if path == "/big":
        return Reply(200, body=b"x" * 16_000_000)  # more than any socket buffer takes
    return Reply(200, body=f"page {path}\n".encode())


@pytest.fixture
def server() -> Iterator[WebServer]:
    srv = WebServer(("127.0.0.1", 0), page)
    srv.max_connections = 8
    srv.head_deadline = 1.0
    srv.idle_timeout = 1.0
    srv.write_deadline = 1.0
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def address(srv: WebServer) -> tuple[str, int]:
    return ("127.0.0.1", srv.server_address[1])


def get(srv: WebServer, path: str = "/metrics", headers: dict[str, str] | None = None) -> int:
    request = urllib.request.Request(f"http://127.0.0.1:{srv.server_address[1]}{path}")
    for key, value in (headers or {}).items():
        request.add_header(key, value)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def raw(srv: WebServer, data: bytes, read: bool = True) -> bytes:
    with socket.create_connection(address(srv), timeout=5) as sock:
        sock.sendall(data)
        if not read:
            return b""
        out = b""
        while chunk := sock.recv(65536):
            out += chunk
        return out


def wait_until(check: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.02)
    pytest.fail("condition not reached")


def test_serves_pages_keeps_alive_and_answers_head(server: WebServer) -> None:
    assert get(server, "/x") == 200
    two = raw(server, b"GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n"
                      b"Connection: close\r\n\r\n")  # fmt: skip
    assert two.count(b"HTTP/1.1 200") == 2
    assert b"page /a" in two and b"page /b" in two
    head = raw(server, b"HEAD /a HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK") and b"Content-Length: 8" in head
    assert not head.endswith(b"page /a\n")


def test_other_methods_malformed_and_oversized_requests(server: WebServer) -> None:
    post = raw(server, b"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nConnection: close"
                       b"\r\n\r\nabc")  # fmt: skip
    assert post.startswith(b"HTTP/1.1 405") and b"Allow: GET, HEAD" in post
    assert raw(server, b"\x16\x03\x01garbage\r\n\r\n").startswith(b"HTTP/1.1 400")
    huge = b"GET / HTTP/1.1\r\nHost: h\r\nX: " + b"a" * 40_000 + b"\r\n\r\n"
    assert raw(server, huge).startswith(b"HTTP/1.1 431")
    body = b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100000\r\n\r\n" + b"a" * 100_000
    assert raw(server, body).startswith(b"HTTP/1.1 413")
    assert server.counts.dropped["bad_request"] == 3
    assert get(server) == 200


def test_a_failing_page_is_a_500_and_a_warning(
    server: WebServer, caplog: pytest.LogCaptureFixture
) -> None:
    assert get(server, "/boom") == 500
    assert "a value no one expected" in caplog.text
    assert get(server) == 200


def test_a_silent_or_trickling_client_is_dropped_at_the_head_deadline(server: WebServer) -> None:
    with socket.create_connection(address(server)) as silent, \
         socket.create_connection(address(server)) as trickle:  # fmt: skip
        started = time.monotonic()
        trickle.settimeout(0.2)
        closed = None
        for byte in b"GET /metrics HTTP/1.1\r\nHost: h\r\n":
            try:
                trickle.send(bytes([byte]))
                if trickle.recv(1) == b"":
                    closed = time.monotonic() - started
                    break
            except TimeoutError:
                continue
            except OSError:
                closed = time.monotonic() - started
                break
        # A per-read timeout would keep it forever; the whole head has 1 s.
        assert closed is not None and closed < 3.0
        silent.settimeout(3)
        assert silent.recv(1) == b""
    wait_until(lambda: server.open_connections == 0)
    assert server.counts.dropped["timeout"] >= 2


def test_an_idle_keep_alive_connection_is_closed(server: WebServer) -> None:
    with socket.create_connection(address(server), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        first = sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 200 OK")
        started = time.monotonic()
        assert sock.recv(1) == b""  # closed by the server after idle_timeout (1 s)
        assert time.monotonic() - started < 3.0


def test_at_the_cap_the_longest_waiting_client_makes_room(server: WebServer) -> None:
    server.head_deadline = 30.0  # only the cap frees slots here
    held = [socket.create_connection(address(server)) for _ in range(server.max_connections)]
    try:
        wait_until(lambda: server.open_connections == server.max_connections)
        for n in range(3):
            # Every slot is held by a client that sent nothing: a scrape still gets in, and the
            # client that has waited longest makes room for it.
            assert get(server) == 200
            assert server.counts.dropped["evicted"] == n + 1
            held[n].settimeout(2)
            assert held[n].recv(1) == b""
            held.append(socket.create_connection(address(server)))
            wait_until(lambda: server.open_connections == server.max_connections)
        assert all(s.fileno() >= 0 for s in held[3:])
        held[3].setblocking(False)
        with pytest.raises(BlockingIOError):
            held[3].recv(1)  # the younger ones are still open
    finally:
        for sock in held:
            sock.close()


def test_a_client_that_never_reads_its_answer_is_dropped(server: WebServer) -> None:
    with socket.create_connection(address(server)) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.sendall(b"GET /big HTTP/1.1\r\nHost: h\r\n\r\n")
        wait_until(lambda: server.counts.dropped["timeout"] >= 1, timeout=10)
    assert get(server) == 200


def test_a_thousand_slow_clients_leave_scrapes_and_descriptors_alone(server: WebServer) -> None:
    server.max_connections = 64
    server.head_deadline = 30.0  # only the cap frees slots here
    clients: list[socket.socket] = []
    try:
        for _ in range(1000):
            sock = socket.create_connection(address(server))
            sock.setblocking(False)
            clients.append(sock)
        for sock in clients:
            with contextlib.suppress(OSError):
                sock.send(b"GET /metrics HTTP/1.1\r\n")
        times = []
        for _ in range(10):
            started = time.monotonic()
            assert get(server) == 200
            times.append(time.monotonic() - started)
        assert server.open_connections <= server.max_connections
    finally:
        for sock in clients:
            sock.close()
    assert server.counts.dropped["evicted"] >= 1000 - server.max_connections
    FIGURES.append(("1,000 slow clients: slowest of 10 scrapes", max(times), "s"))


@pytest.fixture
def protected(tmp_path: Path) -> Iterator[tuple[WebServer, str, str]]:
    good = "prometheus:right-password"
    hashed = bcrypt.hashpw(b"right-password", bcrypt.gensalt(rounds=10)).decode()
    config = tmp_path / "web.yml"
    config.write_text(f"basic_auth_users: {{prometheus: '{hashed}'}}\n")
    srv = WebServer(("127.0.0.1", 0), page, load_web_config(config))
    srv.start()
    try:
        yield srv, "Basic " + base64.b64encode(good.encode()).decode(), hashed
    finally:
        srv.stop()


def test_a_wrong_password_flood_never_delays_a_known_scraper(
    protected: tuple[WebServer, str, str],
) -> None:
    srv, good, _ = protected
    assert get(srv, headers={"Authorization": good}) == 200  # checked once, then remembered
    stop = threading.Event()
    refused: list[int] = []

    def flood(n: int) -> None:
        wrong = "Basic " + base64.b64encode(f"prometheus:wrong-{n}".encode()).decode()
        while not stop.is_set():
            refused.append(get(srv, headers={"Authorization": wrong}))

    threads = [threading.Thread(target=flood, args=(n,)) for n in range(24)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.5)
        answers = []
        for _ in range(20):
            started = time.monotonic()
            answers.append((get(srv, headers={"Authorization": good}), time.monotonic() - started))
            time.sleep(0.05)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    FIGURES.append(("wrong-password flood: slowest known scraper", max(t for _, t in answers), "s"))
    assert all(code == 200 for code, _ in answers)
    # Twenty scrapes went through while two dozen clients kept bcrypt busy: none waited for it.
    assert max(t for _, t in answers) < 1.0, answers
    assert set(refused) == {401}
    assert srv.counts.dropped["auth_queue_full"] > 0


def test_unknown_and_malformed_credentials_are_401(protected: tuple[WebServer, str, str]) -> None:
    srv, _, _ = protected
    assert get(srv) == 401
    for header in ("Basic !!!", "Bearer x", "Basic " + base64.b64encode(b"nocolon").decode(),
                   "Basic " + base64.b64encode(b"prometheus:" + b"a" * 100).decode()):  # fmt: skip
        assert get(srv, headers={"Authorization": header}) == 401
