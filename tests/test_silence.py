"""The drills' Alertmanager client against a local server that answers badly: every kind of bad
answer is a SilenceError naming the Alertmanager (the drill then refuses, or says the silence
could not be expired), never an exception the drill does not expect."""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator

import pytest

from netmon.drills.silence import SilenceError, Silences

ANSWERS = {
    "/not-json": (200, b"<html>a proxy</html>"),
    "/a-list": (200, b'["silenceID"]'),
    "/no-id": (200, b'{"silence": 3}'),
    "/not-utf8": (200, b"\xff\xfe\x00"),
}


class Bad(http.server.BaseHTTPRequestHandler):
    def _answer(self) -> None:
        prefix = self.path.split("/api/")[0]
        if prefix == "/cut-short":  # promises 100 bytes, sends 5, closes
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            self.wfile.write(b'{"sil')
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if prefix == "/garbage":  # not even a status line
            self.wfile.write(b"SSH-2.0-OpenSSH\r\n\r\n")
            return
        status, body = ANSWERS[prefix]
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = _answer  # noqa: N815 - http.server's names
    do_DELETE = _answer  # noqa: N815

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def bad_alertmanager() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Bad)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("prefix", [*ANSWERS, "/cut-short", "/garbage"])
def test_a_bad_answer_is_a_silence_error(bad_alertmanager: str, prefix: str) -> None:
    silences = Silences(bad_alertmanager + prefix, timeout=3)
    with pytest.raises(SilenceError, match=r"Alertmanager at http://127\.0\.0\.1"):
        silences.create("core-gw", 60, "netmon drill", "test")
    if prefix in ("/cut-short", "/garbage"):
        with pytest.raises(SilenceError, match="Alertmanager at"):
            silences.expire("some-id")
