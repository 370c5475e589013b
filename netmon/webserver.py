"""The HTTP server under /metrics and /api, bounded against slow and hostile clients.

A monitor sits on networks where other hosts connect as they like. The standard library's
threading server gave every connection a thread and a per-read timeout, so about 1,000 clients
sending a byte every 20 s used up every file descriptor before any password was checked, and
every scrape timed out (issue 15). Here:

- one asyncio loop, in its own thread, holds every connection (no thread per client);
- at most `max_connections` are open. A newcomer beyond that always gets in: it evicts one
  connection, chosen so that an attacker pays first (see `_key`): one of the address holding
  the most slots; one silent or sending its head slowly; a greedy pipeliner; then the oldest
  one doing the least that would be lost. Only the few connections whose page or password
  check is running in a worker cannot be evicted;
- the TLS handshake and the whole request head must arrive within `head_deadline` of the
  connection (or of the first byte of a later keep-alive request), an idle keep-alive
  connection is closed after `idle_timeout`, and a client must take its answer (and the
  closing of the connection) within `write_deadline`;
- h11, a well-kept HTTP/1.1 parser, reads requests: at most 16 KiB of head;
- page building and password checks (bcrypt, slow by design) run in worker threads behind two
  gates, fair among addresses, so one address's many connections cannot starve another's one;
  a client whose password was already checked skips the password gate entirely;
- out of file descriptors, accepting pauses for a second instead of spinning.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import heapq
import itertools
import logging
import math
import socket
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, TypeVar

import h11

from netmon.webconfig import WebConfig

log = logging.getLogger(__name__)

MAX_HEAD = 16 * 1024
WRITE_PIECE = 256 * 1024
# A real client's first bytes (or its TLS handshake) follow its connect at once; silent longer
# than this, it is suspect.
SILENT_MOMENT = 0.05
GREED_SECONDS = 1.0
GREED_STEP = 4
MAX_BODY = 64 * 1024  # netmon serves GETs: a body is read (to keep the framing) and dropped
T = TypeVar("T")


@dataclass(frozen=True)
class Reply:
    status: int
    content_type: str = "text/plain; charset=utf-8"
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    close: bool = False  # end the connection after this reply


Handler = Callable[[str], Reply]  # the request path (no query) -> the reply; runs in a worker

# What a connection is doing. Waiting for its client: SILENT (no byte yet: just connected, or in
# its TLS handshake), HEAD (a request head under way), ANSWER (taking its answer), IDLE (kept
# alive between requests). Waiting for netmon: QUEUED for a worker, WORKING in one (a page being
# built, a password being checked: never evicted).
SILENT, HEAD, ANSWER, IDLE, QUEUED, WORKING = (
    "silent",
    "head",
    "answer",
    "idle",
    "queued",
    "working",
)


@dataclass(eq=False)
class _Conn:
    transport: asyncio.WriteTransport
    peer: str
    since: float  # when its current state began
    raw: asyncio.WriteTransport | None = None  # the TCP transport under TLS (its buffer fills)
    task: asyncio.Task[None] | None = None
    state: str = SILENT
    born: float = field(default_factory=time.monotonic)
    greed: float = 0.0  # requests, decaying by e every GREED_SECONDS
    greed_at: float = 0.0

    def enter(self, state: str) -> None:
        self.state, self.since = state, time.monotonic()

    def recent(self, now: float) -> float:
        return self.greed * math.exp(-(now - self.greed_at) / GREED_SECONDS)

    def requested(self) -> None:
        now = time.monotonic()
        self.greed, self.greed_at = self.recent(now) + 1.0, now


class _Gate:
    """At most `size` holders; waiters are let in by (priority, arrival), lowest first."""

    def __init__(self, size: int) -> None:
        self._free = size
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    async def acquire(self, priority: int) -> None:
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (priority, next(self._order), future))
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release()  # let in just as it was given up: pass the slot on
            raise

    def release(self) -> None:
        while self._waiters:
            _, _, future = heapq.heappop(self._waiters)
            if not future.done():
                future.set_result(None)
                return
        self._free += 1


@dataclass
class ServerCounts:
    """What the server dropped, by reason (tests and logs read these)."""

    dropped: Counter[str] = field(default_factory=Counter)
    served: int = 0


class WebServer:
    max_connections = 64
    head_deadline = 10.0
    idle_timeout = 30.0
    write_deadline = 30.0
    grace = 0.5  # a client still silent or sending its head after this long is a slow one
    # The kernel's queue of connections not yet accepted. A flood of connects fills it faster
    # than one Python thread accepts, and a full queue drops the SYN of every other client,
    # the scraper's too (it retries after 1 s, then 3 s: a scrape lost). 128 filled under a
    # 600-connection flood in CI; 1,024 holds such a flood (Linux caps it at somaxconn).
    backlog = 1024
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
        self._peers: Counter[str] = Counter()
        self._inflight: Counter[str] = Counter()  # requests waiting for or in a worker, by peer
        self._loop: asyncio.AbstractEventLoop | None = None
        self._serving = False
        self._retry: asyncio.TimerHandle | None = None
        self._accepts: set[asyncio.Task[None]] = set()
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._failed: BaseException | None = None
        self._closing = False
        self._pages = _Gate(self.render_workers)
        self._checks = _Gate(web.max_concurrent_checks if web is not None else 1)
        self._last_warning: dict[str, float] = {}

    # -- life cycle -----------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="netmon-http", daemon=True)
        self._thread.start()
        if not self._ready.wait(10) or not self._serving:
            raise OSError(f"the HTTP server did not start: {self._failed or 'timed out'}")

    @property
    def alive(self) -> bool:
        """False once the server's loop has ended (stopped, or died): nobody is answered."""
        return self._thread is not None and self._thread.is_alive() and self._serving

    def _run(self) -> None:
        loop: asyncio.AbstractEventLoop | None = None
        try:
            loop = asyncio.new_event_loop()
            self._loop = loop
            loop.set_exception_handler(self._loop_error)
            self._sock.setblocking(False)
            self._listen()
            self._serving = True
            self._ready.set()
            loop.run_forever()
        except BaseException as exc:  # noqa: BLE001 - the thread's end: say why, let start() know
            self._failed = exc
            log.error("http: the server stopped: %s: %s", type(exc).__name__, exc)  # noqa: TRY400
        finally:
            self._serving = False
            self._ready.set()
            if loop is not None:
                with contextlib.suppress(Exception):
                    loop.run_until_complete(self._settle())
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

    async def _close_all(self) -> None:
        self._stop_listening()
        await self._settle()

    async def _settle(self) -> None:
        """End every connection: those open are dropped; one accepted at the last moment may
        not have started yet (its transport made, its task not run), so a few more turns let
        each see `_closing` and close its socket, rather than leave it to the garbage
        collector. Run at stop, and again once the loop has stopped."""
        self._closing = True
        for _ in range(5):
            await asyncio.sleep(0)
            for conn in list(self._conns):
                self._drop(conn)
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            if not others:
                return
            await asyncio.wait(others, timeout=1)

    def _loop_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        self._warn(str(context.get("message")), context.get("exception"))

    def _warn(self, message: str, exc: object) -> None:
        # One line of each kind every 10 s tells an operator; never a line per connection.
        now = time.monotonic()
        if now - self._last_warning.get(message, -10.0) >= 10:
            self._last_warning[message] = now
            log.warning("http: %s: %s", message, exc)

    @property
    def open_connections(self) -> int:
        return len(self._conns)

    # -- accepting ------------------------------------------------------------------------
    # netmon accepts itself rather than through asyncio.start_server: on Python 3.11 a flood of
    # connections that reset at once left some transports unclosed (its accept tasks are held
    # by nobody); here every accepted socket is owned by a task netmon holds until it ends.

    def _listen(self) -> None:
        self._retry = None
        if not self._closing and self._loop is not None:
            self._loop.add_reader(self._sock.fileno(), self._accept)

    def _stop_listening(self) -> None:
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
        if self._loop is not None:
            with contextlib.suppress(Exception):  # the socket may be closed already
                self._loop.remove_reader(self._sock.fileno())

    def _accept(self) -> None:
        loop = asyncio.get_running_loop()  # called by the loop, on its thread
        for _ in range(self.backlog):  # what is waiting, in one wake-up
            try:
                conn, _ = self._sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    # Out of descriptors: pause a second (nothing can be accepted meanwhile;
                    # spinning on it cost a core), say so at most every 10 s.
                    self._warn("out of file descriptors: accepting again in 1 s", exc)
                    self._stop_listening()
                    self._retry = loop.call_later(1.0, self._listen)
                else:  # e.g. a connection reset while it waited in the backlog
                    log.debug("http: accept: %s", exc)
                return
            if self._closing:
                conn.close()
                continue
            task = loop.create_task(self._connection(conn))
            self._accepts.add(task)
            task.add_done_callback(self._accepts.discard)

    async def _connection(self, conn: socket.socket) -> None:
        """Make the accepted socket a stream, whose protocol then starts `_client`."""
        reader = asyncio.StreamReader(limit=MAX_HEAD)
        protocol = asyncio.StreamReaderProtocol(reader, self._client)
        try:
            await asyncio.get_running_loop().connect_accepted_socket(lambda: protocol, sock=conn)
        except Exception:  # asyncio closed its transport; the socket is closed here
            conn.close()
            log.debug("http: an accepted connection could not start", exc_info=True)
        except BaseException:  # cancelled: the server is stopping
            conn.close()
            raise

    # -- admission ------------------------------------------------------------------------

    def _key(self, conn: _Conn, now: float) -> tuple[int, int, int, int, int, float]:
        """How readily a connection gives up its slot to a newcomer; the highest goes. In order:
        - its address's share of the slots (on a network, an attacker's own go first);
        - slow for long: silent over `grace` (2), a request head still coming after it (1);
        - greed: requests in about the last second, in fours (a pipeliner; Prometheus
          scraping every second makes fewer than two);
        - silent for more than a moment (a real client's bytes, or its TLS hello, follow its
          connect at once);
        - what it does: silent (4), kept alive between requests (3), a head just begun (2), a
          whole request queued (1), taking its answer (0: that work would be lost);
        - then the oldest connection (the newcomer is never the next one out); queued, the one
          queued last (the one queued first is next to be served)."""
        waited = now - conn.since
        slow = 0
        if waited > self.grace and conn.state in (SILENT, HEAD):
            slow = 2 if conn.state == SILENT else 1
        greed = int(conn.recent(now) // GREED_STEP)
        moment = int(conn.state == SILENT and waited > SILENT_MOMENT)
        doing = {SILENT: 4, IDLE: 3, HEAD: 2, QUEUED: 1}.get(conn.state, 0)
        age = -waited if conn.state == QUEUED else now - conn.born
        return (self._peers[conn.peer], slow, greed, moment, doing, age)

    def _victim(self) -> _Conn | None:
        """The connection a newcomer replaces (`_key`); never one whose page or password check
        is running. None when every slot is running one."""
        now = time.monotonic()
        candidates = [c for c in self._conns if c.state != WORKING]
        return max(candidates, key=lambda c: self._key(c, now), default=None)

    def _admit(self, conn: _Conn) -> bool:
        if len(self._conns) >= self.max_connections:
            victim = self._victim()
            if victim is None:
                self.counts.dropped["busy"] += 1
                return False
            self._drop(victim)
            self.counts.dropped["evicted"] += 1
        self._conns.add(conn)
        self._peers[conn.peer] += 1
        return True

    def _drop(self, conn: _Conn) -> None:
        if conn in self._conns:
            self._conns.discard(conn)
            self._peers[conn.peer] -= 1
            if self._peers[conn.peer] <= 0:
                del self._peers[conn.peer]
        # Abort whatever is left; a transport that already closed cleanly has nothing left
        # (and asyncio raises if asked again). Between requests with nothing buffered, a close:
        # the kernel still delivers the last answer, where an abort's reset would discard it.
        with contextlib.suppress(Exception):
            if conn.state == IDLE and conn.transport.get_write_buffer_size() == 0:
                conn.transport.close()
            else:
                conn.transport.abort()
        if conn.task is not None and conn.task is not asyncio.current_task():
            conn.task.cancel()  # a queued page or password check is given up, not run

    # -- one connection -------------------------------------------------------------------

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        conn = _Conn(
            writer.transport, str(peer[0]) if peer else "?", time.monotonic(), raw=writer.transport
        )
        if self._closing or not self._admit(conn):
            writer.transport.abort()
            return
        conn.task = asyncio.current_task()
        clean = False
        try:
            clean = await self._serve(conn, reader, writer)
        except TimeoutError:
            self.counts.dropped["timeout"] += 1
        except asyncio.CancelledError:
            # Our own doing (evicted, or the server stopping). Ended here, not re-raised:
            # Python 3.11's stream callback reads a cancelled task's exception and logs an
            # error for it.
            pass
        except (ConnectionError, ssl.SSLError, OSError) as exc:
            log.debug("http: connection from %s ended: %s", conn.peer, exc)
        finally:
            if clean:
                # A normal end: what is still buffered goes out before the close (an abort
                # would cut the last answer short), within the write deadline.
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    writer.close()
                    async with asyncio.timeout(self.write_deadline):
                        await writer.wait_closed()
            self._drop(conn)

    async def _serve(
        self, conn: _Conn, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        """Answer the connection's requests; True when it ended cleanly (may close gently)."""
        deadline = asyncio.get_running_loop().time() + self.head_deadline
        if self.web is not None and self.web.tls is not None:
            await self._start_tls(conn, writer, deadline)
        http = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
        first = True
        while True:
            if not first:
                conn.enter(IDLE)
            try:
                request = await self._read_request(conn, http, reader, deadline if first else None)
            except h11.RemoteProtocolError as exc:
                self.counts.dropped["bad_request"] += 1
                if http.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
                    return False
                status = exc.error_status_hint if exc.error_status_hint >= 400 else 400
                await self._write(conn, writer, http, Reply(status, body=b"bad request\n"),
                                  head=False, close=True)  # fmt: skip
                return True
            if request is None:
                return True
            conn.requested()
            first = False
            reply = await self._answer(conn, request)
            await self._write(conn, writer, http, reply, head=request.method == b"HEAD",
                              close=reply.close)  # fmt: skip
            self.counts.served += 1
            if http.our_state is not h11.DONE or http.their_state is not h11.DONE:
                return True
            http.start_next_cycle()
            await asyncio.sleep(0)  # pipelined requests: let others (and newcomers) in between

    async def _start_tls(self, conn: _Conn, writer: asyncio.StreamWriter, deadline: float) -> None:
        assert self.web is not None
        assert self.web.tls is not None
        raw = writer.transport
        try:
            async with asyncio.timeout_at(deadline):
                await writer.start_tls(self.web.tls)
        except AttributeError:
            # Python 3.11: a connection lost just as its handshake ends fails inside start_tls
            # (the new transport is None). The client is gone: nothing to answer.
            raise ConnectionResetError("closed during the TLS handshake") from None
        finally:
            # ... and leaves the writer without a transport, whose __del__ then raises: keep the
            # raw one, which is aborted like any other.
            if getattr(writer, "_transport", None) is None:
                writer._transport = raw  # type: ignore[attr-defined]
        if writer.transport is raw:
            raise ConnectionResetError("closed during the TLS handshake")
        conn.transport = writer.transport  # the TLS transport now carries the connection

    async def _read_request(
        self,
        conn: _Conn,
        http: h11.Connection,
        reader: asyncio.StreamReader,
        deadline: float | None,
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
                if conn.state in (SILENT, IDLE):
                    conn.enter(HEAD)
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

    async def _answer(self, conn: _Conn, request: h11.Request) -> Reply:
        if request.method not in (b"GET", b"HEAD"):
            return Reply(405, body=b"method not allowed\n", headers=(("Allow", "GET, HEAD"),))
        if self.web is not None and self.web.auth_required:
            header = _header(request, b"authorization")
            allowed = self.web.remembered(header)
            if allowed is None:  # not seen before: a bcrypt check, through the fair gate
                try:
                    allowed = await self._in_worker(
                        conn, self._checks, self.web.allows, header, daemon=False
                    )
                except RuntimeError as exc:  # no thread to check it in: say so, try again later
                    self._warn("cannot check a password", exc)
                    return Reply(503, body=b"netmon: cannot check the password now\n", close=True)
                if not allowed:
                    # A checked wrong password ends the connection: a guesser pays a new
                    # connection (and a new place at the back of the gate) per guess.
                    return Reply(401, headers=(("WWW-Authenticate", 'Basic realm="netmon"'),),
                                 close=True)  # fmt: skip
            if not allowed:
                return Reply(401, headers=(("WWW-Authenticate", 'Basic realm="netmon"'),))
        path = request.target.split(b"?", 1)[0].decode("latin-1")
        try:
            return await self._in_worker(conn, self._pages, self.handler, path, daemon=True)
        except Exception as exc:  # one bad value must not cost a silent empty reply
            # Loudly: every pair's metrics are missing until it is fixed.
            log.warning("http: %s failed: %s: %s", path, type(exc).__name__, exc, exc_info=True)
            return Reply(500, body=b"netmon: internal error\n")

    async def _in_worker(
        self, conn: _Conn, gate: _Gate, work: Callable[[Any], T], arg: Any, *, daemon: bool
    ) -> T:
        """`work(arg)` in a worker thread, once `gate` lets this connection in. The gate is
        released when the work ends, even if the connection was given up meanwhile, so no more
        than the gate's size ever run at once. Page builds run as daemon threads, so one that
        never finishes cannot hold up the process's exit; password checks do not (bcrypt's
        native code, cut off at exit, aborts the process) and end within a second anyway."""
        loop = asyncio.get_running_loop()
        conn.enter(QUEUED)
        # Fair among addresses: a request goes behind as many as its address already has
        # waiting or running, so one address's many connections cannot starve another's one.
        priority = self._inflight[conn.peer]
        self._inflight[conn.peer] += 1
        try:
            await gate.acquire(priority)
        except BaseException:
            self._done_inflight(conn.peer)
            raise
        conn.enter(WORKING)
        done: asyncio.Future[T] = loop.create_future()

        def finish(result: Any, error: BaseException | None) -> None:
            gate.release()
            self._done_inflight(conn.peer)
            if done.done():
                return
            if error is not None:
                done.set_exception(error)
            else:
                done.set_result(result)

        def run() -> None:
            result: Any = None
            error: BaseException | None = None
            try:
                result = work(arg)
            except StopIteration as exc:  # a Future refuses it (TypeError): the request would hang
                error = RuntimeError(f"StopIteration: {exc}")
            except Exception as exc:  # noqa: BLE001 - handed to the waiting request as is
                error = exc
            except BaseException as exc:  # noqa: BLE001 - SystemExit in a page must not end the loop
                error = RuntimeError(f"{type(exc).__name__}: {exc}")
            with contextlib.suppress(RuntimeError):  # the loop closed: nothing waits
                loop.call_soon_threadsafe(finish, result, error)

        try:
            threading.Thread(target=run, name="netmon-http-work", daemon=daemon).start()
        except BaseException:  # no thread (a process limit): the slot is given back at once
            finish(None, None)
            raise
        return await done

    def _done_inflight(self, peer: str) -> None:
        self._inflight[peer] -= 1
        if self._inflight[peer] <= 0:
            del self._inflight[peer]

    async def _write(
        self,
        conn: _Conn,
        writer: asyncio.StreamWriter,
        http: h11.Connection,
        reply: Reply,
        *,
        head: bool,
        close: bool,
    ) -> None:
        headers = [
            ("Content-Type", reply.content_type),
            ("Content-Length", str(len(reply.body))),
            *reply.headers,
        ]
        if close:
            headers.append(("Connection", "close"))
        reason = HTTPStatus(reply.status).phrase.encode()
        response = h11.Response(status_code=reply.status, headers=headers, reason=reason)
        data = http.send(response) or b""
        if reply.body and not head:
            data += http.send(h11.Data(data=reply.body)) or b""
        data += http.send(h11.EndOfMessage()) or b""
        # A client taking its answer is evicted last (that work would be lost), and dropped
        # after write_deadline if it does not take it.
        conn.enter(ANSWER)
        async with asyncio.timeout(self.write_deadline):
            # In pieces, each taken before the next is written: under TLS, drain() returns once
            # bytes are encrypted, and they wait in the TCP transport below, which has no say;
            # a client that never reads must not hold a whole page in memory per connection.
            view = memoryview(data)
            for start in range(0, len(view), WRITE_PIECE):
                writer.write(view[start : start + WRITE_PIECE])
                await writer.drain()
                raw = conn.raw
                while (
                    raw is not None
                    and raw is not conn.transport
                    and (raw.get_write_buffer_size() > WRITE_PIECE)
                ):
                    if raw.is_closing():
                        raise ConnectionResetError("closed while taking its answer")
                    await asyncio.sleep(0.02)


def _header(request: h11.Request, name: bytes) -> str | None:
    for key, value in request.headers:
        if key == name:
            return value.decode("latin-1")
    return None
