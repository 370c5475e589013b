"""The HTTP server under /metrics and /api, bounded against slow and hostile clients.

A monitor sits on networks where other hosts connect as they like. The standard library's
threading server gave every connection a thread and a per-read timeout, so about 1,000 clients
sending a byte every 20 s used up every file descriptor before any password was checked, and
every scrape timed out (issue 15). Here:

- one asyncio loop, in its own thread, holds every connection (no thread per client);
- at most `max_connections` are open. A new one beyond that evicts the connection that has
  waited longest without a whole request (a slow client, or an idle keep-alive one). When every
  slot is busy answering, the newcomer is closed instead;
- the TLS handshake and the whole request head must arrive within `head_deadline` of the
  connection (or of the first byte of a later keep-alive request), an idle keep-alive
  connection is closed after `idle_timeout`, and a client must take its answer within
  `write_deadline`;
- h11 (a well-kept HTTP/1.1 parser) reads requests, at most 16 KiB of head;
- password checks (bcrypt, slow by design) and page building run in separate worker threads.
  Password checks wait in a short queue of their own, and a client whose credentials were
  already checked skips that queue, so a flood of wrong passwords never delays a scrape;
- out of file descriptors, asyncio's accept loop pauses for a second instead of spinning.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import h11

from netmon.webconfig import WebConfig

log = logging.getLogger(__name__)

MAX_HEAD = 16 * 1024
MAX_BODY = 64 * 1024  # netmon serves GETs: a body is read (to keep the framing) and dropped


@dataclass(frozen=True)
class Reply:
    status: int
    content_type: str = "text/plain; charset=utf-8"
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()


Handler = Callable[[str], Reply]  # the request path (no query) -> the reply; runs in a worker


@dataclass(eq=False)
class _Conn:
    transport: asyncio.WriteTransport
    since: float  # when its current wait for the client began (the eviction order)
    waiting: bool = True  # waiting for the client (evictable), not building its answer


@dataclass
class ServerCounts:
    """What the server refused, by reason (tests and logs read these)."""

    dropped: Counter[str] = field(default_factory=Counter)
    served: int = 0


class WebServer:
    max_connections = 64
    head_deadline = 10.0
    idle_timeout = 30.0
    write_deadline = 30.0
    backlog = 128
    render_workers = 2

    def __init__(
        self,
        address: tuple[str, int],
        handler: Handler,
        web: WebConfig | None = None,
    ) -> None:
        self.handler = handler
        self.web = web
        self.counts = ServerCounts()
        # Bound here, at once, so a port in use is an error of the caller, as before.
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self._sock = socket.create_server(address, family=family, backlog=self.backlog)
        self.server_address: tuple[Any, ...] = self._sock.getsockname()
        self._conns: set[_Conn] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._render = ThreadPoolExecutor(self.render_workers, "netmon-http-page")
        checks = web.max_concurrent_checks if web is not None else 1
        self._auth = ThreadPoolExecutor(checks, "netmon-http-auth")
        self._auth_queue = 2 * checks  # checks waiting or running; more are refused at once
        self._auth_pending = 0
        self._last_loop_warning = 0.0

    # -- life cycle -----------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="netmon-http", daemon=True)
        self._thread.start()
        self._ready.wait(10)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        loop.set_exception_handler(self._loop_error)
        try:
            self._server = loop.run_until_complete(
                asyncio.start_server(self._client, sock=self._sock, backlog=self.backlog)
            )
            self._ready.set()
            loop.run_forever()
        finally:
            self._ready.set()
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def stop(self) -> None:
        loop = self._loop
        if loop is not None and loop.is_running():
            done = asyncio.run_coroutine_threadsafe(self._close_all(), loop)
            with contextlib.suppress(Exception):
                done.result(5)
            loop.call_soon_threadsafe(loop.stop)
            if self._thread is not None:
                self._thread.join(5)
        self._sock.close()
        self._render.shutdown(wait=False, cancel_futures=True)
        self._auth.shutdown(wait=False, cancel_futures=True)

    async def _close_all(self) -> None:
        if self._server is not None:
            self._server.close()
        for conn in list(self._conns):
            conn.transport.abort()
        tasks = [t for t in self._tasks if not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=2)

    def _loop_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        # Out of descriptors, asyncio logs through here and retries accept a second later; one
        # line every 10 s is enough to tell an operator, and never a traceback per attempt.
        now = time.monotonic()
        if now - self._last_loop_warning >= 10:
            self._last_loop_warning = now
            log.warning("http: %s: %s", context.get("message"), context.get("exception"))

    @property
    def open_connections(self) -> int:
        return len(self._conns)

    # -- one connection -------------------------------------------------------------------

    def _admit(self, conn: _Conn) -> bool:
        if len(self._conns) >= self.max_connections:
            waiting = [c for c in self._conns if c.waiting]
            if not waiting:
                self.counts.dropped["busy"] += 1
                return False
            oldest = min(waiting, key=lambda c: c.since)
            oldest.transport.abort()  # its task reads EOF and ends
            self._conns.discard(oldest)
            self.counts.dropped["evicted"] += 1
        self._conns.add(conn)
        return True

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        conn = _Conn(writer.transport, loop.time())
        if not self._admit(conn):
            writer.transport.abort()
            return
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        peer = writer.get_extra_info("peername")
        try:
            await self._serve(conn, reader, writer)
        except TimeoutError:
            self.counts.dropped["timeout"] += 1
        except (ConnectionError, ssl.SSLError, OSError) as exc:
            log.debug("http: connection from %s ended: %s", peer and peer[0], exc)
        finally:
            self._conns.discard(conn)
            if task is not None:
                self._tasks.discard(task)
            writer.transport.abort()

    async def _serve(
        self, conn: _Conn, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        loop = asyncio.get_running_loop()
        deadline = conn.since + self.head_deadline
        if self.web is not None and self.web.tls is not None:
            raw = writer.transport
            try:
                async with asyncio.timeout_at(deadline):
                    await writer.start_tls(self.web.tls)
            finally:
                # CPython 3.11: a connection lost as its handshake ends leaves the writer with
                # no transport (start_tls returns None) and its __del__ raising; keep the raw
                # one, which is closed below like any other.
                if getattr(writer, "_transport", None) is None:
                    writer._transport = raw  # type: ignore[attr-defined]
            if writer.transport is raw:
                raise ConnectionResetError("closed during the TLS handshake")
            conn.transport = writer.transport  # the TLS transport now carries the connection
        http = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
        first = True
        while True:
            conn.waiting, conn.since = True, loop.time()
            try:
                request = await self._read_request(http, reader, deadline if first else None)
            except h11.RemoteProtocolError as exc:
                self.counts.dropped["bad_request"] += 1
                if http.our_state in (h11.IDLE, h11.SEND_RESPONSE):
                    status = exc.error_status_hint if exc.error_status_hint >= 400 else 400
                    reply = Reply(status, body=b"bad request\n", headers=(("Connection", "close"),))
                    await self._write(conn, writer, http, reply, head=False)
                return
            if request is None:
                return
            first = False
            conn.waiting = False
            reply = await self._answer(request)
            await self._write(conn, writer, http, reply, head=request.method == b"HEAD")
            self.counts.served += 1
            if http.our_state is not h11.DONE or http.their_state is not h11.DONE:
                return
            http.start_next_cycle()

    async def _read_request(
        self, http: h11.Connection, reader: asyncio.StreamReader, deadline: float | None
    ) -> h11.Request | None:
        """The next whole request (head and any body), or None when the client closed.

        `deadline` bounds the whole request; without one (a keep-alive connection), the client
        may stay silent for `idle_timeout`, then has `head_deadline` from its first byte."""
        loop = asyncio.get_running_loop()
        request: h11.Request | None = None
        body = 0
        while True:
            event = http.next_event()
            if event is h11.NEED_DATA:
                if deadline is None:
                    async with asyncio.timeout(self.idle_timeout):
                        data = await reader.read(8192)
                    deadline = loop.time() + self.head_deadline
                else:
                    async with asyncio.timeout_at(deadline):
                        data = await reader.read(8192)
                if not data and request is None and http.their_state is h11.IDLE:
                    return None  # closed between requests: nothing to answer
                http.receive_data(data)
            elif isinstance(event, h11.Request):
                request = event
            elif isinstance(event, h11.Data):
                body += len(event.data)
                if body > MAX_BODY:
                    raise h11.RemoteProtocolError("request body too large", 413)
            elif isinstance(event, h11.EndOfMessage):
                return request
            elif isinstance(event, h11.ConnectionClosed):
                return None

    async def _answer(self, request: h11.Request) -> Reply:
        if request.method not in (b"GET", b"HEAD"):
            return Reply(405, body=b"method not allowed\n", headers=(("Allow", "GET, HEAD"),))
        loop = asyncio.get_running_loop()
        if self.web is not None and self.web.auth_required:
            header = _header(request, b"authorization")
            allowed = self.web.remembered(header)
            if allowed is None:  # not seen before: a bcrypt check, in its own bounded queue
                if self._auth_pending >= self._auth_queue:
                    self.counts.dropped["auth_queue_full"] += 1
                    allowed = False
                else:
                    self._auth_pending += 1
                    try:
                        allowed = await loop.run_in_executor(self._auth, self.web.allows, header)
                    finally:
                        self._auth_pending -= 1
            if not allowed:
                return Reply(401, headers=(("WWW-Authenticate", 'Basic realm="netmon"'),))
        path = request.target.split(b"?", 1)[0].decode("latin-1")
        try:
            return await loop.run_in_executor(self._render, self.handler, path)
        except Exception as exc:  # one bad value must not cost a silent empty reply
            # Loudly: every pair's metrics are missing until it is fixed.
            log.warning("http: %s failed: %s: %s", path, type(exc).__name__, exc, exc_info=True)
            return Reply(500, body=b"netmon: internal error\n")

    async def _write(
        self,
        conn: _Conn,
        writer: asyncio.StreamWriter,
        http: h11.Connection,
        reply: Reply,
        *,
        head: bool,
    ) -> None:
        headers = [
            ("Content-Type", reply.content_type),
            ("Content-Length", str(len(reply.body))),
            *reply.headers,
        ]
        reason = HTTPStatus(reply.status).phrase.encode()
        response = h11.Response(status_code=reply.status, headers=headers, reason=reason)
        data = http.send(response) or b""
        if reply.body and not head:
            data += http.send(h11.Data(data=reply.body)) or b""
        data += http.send(h11.EndOfMessage()) or b""
        writer.write(data)
        # A client that does not read its answer waits like one that does not send: it may be
        # evicted for a newcomer, and is dropped after write_deadline.
        conn.waiting, conn.since = True, asyncio.get_running_loop().time()
        async with asyncio.timeout(self.write_deadline):
            await writer.drain()


def _header(request: h11.Request, name: bytes) -> str | None:
    for key, value in request.headers:
        if key == name:
            return value.decode("latin-1")
    return None
