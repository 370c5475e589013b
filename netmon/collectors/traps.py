"""netmon's own SNMP trap receiver: a VRRP state-change notification makes the daemon poll the
sender's pairs at once instead of waiting for the next interval.

One UDP socket serves every version (operators configure one trap port): SNMPv1 and v2c by
community, SNMPv3 TRAPs and INFORMs by USM user; what a datagram means is decided by
`trapwire.NotificationReader` (pure), this module does the I/O: the socket, read on the running
event loop, the answers to INFORMs and to v3 discovery, the counts and the log.

The socket is bound here, synchronously, so a bad listen address is a clear error at start,
not a lost future. Refused datagrams are counted by reason in `stats.dropped` and logged in a
summary (the first at once, then at most one line a minute), never one line per datagram: a
flood of forged traps must not flood the log, and no line carries anything the datagram said.

Reports (answers to discoveries and to refused v3 messages) go to whatever address a datagram
claims, unauthenticated and larger than the request, so they are rate-limited (`ReportLimit`);
Responses to accepted INFORMs are not: those senders proved they hold the keys.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Final

from netmon.collectors.snmpwire import drain
from netmon.collectors.trapwire import (
    SNMP_TRAP_OID,
    LocalEngine,
    NotificationReader,
    Outcome,
    random_engine_id,
)
from netmon.errors import CollectorError
from netmon.model import Oid, TrapSettings

log = logging.getLogger(__name__)

__all__ = [
    "SNMP_TRAP_OID",
    "VRRP_TRAPS",
    "ReportLimit",
    "TrapHandler",
    "TrapReceiver",
    "TrapStats",
]

# The notifications keepalived sends on a VRRP state change (one per MIB it serves).
VRRP_TRAPS: dict[Oid, str] = {
    (1, 3, 6, 1, 4, 1, 9586, 100, 5, 2, 10, 0, 2): "vrrpInstanceStateChange",
    (1, 3, 6, 1, 2, 1, 68, 0, 1): "vrrpTrapNewMaster",
    (1, 3, 6, 1, 2, 1, 207, 0, 1): "vrrpv3NotifyNewMaster",
    (1, 3, 6, 1, 4, 1, 9, 9, 106, 2, 0, 1): "cHsrpStateChange",
    (1, 3, 6, 1, 4, 1, 9, 9, 176, 2, 0, 1): "ciscoRFSwactNotif",
}

# (source address, trap name or None for a notification that is not a state change)
TrapHandler = Callable[[str, str | None], None]

RECEIVE_BUFFER: Final = 1 << 20  # a burst of traps (one per VRRP instance and MIB) must fit
SUMMARY_WINDOW: Final = 60.0  # seconds between two log lines about dropped datagrams
_SHOWN_SOURCES: Final = 5
_MAX_SOURCES: Final = 1000  # distinct senders tracked per summary; a spoofed flood has many
# snmpEngineBoots of the receiver: seconds from 2024-01-01 to the process start. It grows with
# every restart without any file to keep it in, as RFC 3414 2.2.2 asks of an engine that
# keeps its engine ID, and stays below 2^31 until 2092.
_BOOTS_EPOCH: Final = 1_704_067_200
# Reports sent: at most this many a second overall and per source address, after a burst.
REPORTS_PER_SECOND: Final = 50.0
REPORT_BURST: Final = 50.0
REPORTS_PER_SOURCE: Final = 5.0  # a sender needs two per discovery: ample for a real one
REPORT_SOURCE_BURST: Final = 10.0

_ENGINES: dict[bytes | None, LocalEngine] = {}


def local_engine(
    configured: bytes | None,
    wall: Callable[[], float] = time.time,
    clock: Callable[[], float] = time.monotonic,
) -> LocalEngine:
    """The receiver's engine, one per process and configured engine ID: a SIGHUP that
    restarts the receiver keeps it, so INFORM senders keep their discovered engine and clock."""
    engine = _ENGINES.get(configured)
    if engine is None:
        started = wall()
        if started < _BOOTS_EPOCH:
            # Boots would be 1 at every such start (no RTC, NTP not synced yet): with a
            # configured engine_id the keys are the same across runs, so an INFORM recorded in
            # an earlier run at boots 1 would be accepted again. Nothing keeps boots on disk.
            log.warning(
                "the wall clock reads before 2024-01-01: the trap receiver's snmpEngineBoots "
                "(derived from it) may repeat an earlier run's, letting a recorded SNMPv3 "
                "INFORM be replayed when engine_id is configured; set the clock before netmon "
                "starts"
            )
        boots = max(1, min(int(started) - _BOOTS_EPOCH, 2**31 - 2))
        engine = LocalEngine(configured or random_engine_id(), boots, clock())
        _ENGINES[configured] = engine
    return engine


@dataclass
class TrapStats:
    """Datagrams on the trap port: every one is counted once, by what came of it."""

    received: int = 0
    accepted: Counter[str] = field(default_factory=Counter)  # by "v3 inform", "v2c trap", ...
    dropped: Counter[str] = field(default_factory=Counter)  # by trapwire.DROP_REASONS
    reports: Counter[str] = field(default_factory=Counter)  # Reports sent, by usmStats counter
    replies_failed: int = 0  # a Response or Report that could not be sent
    reports_suppressed: int = 0  # Reports not sent: over ReportLimit's rate


class _Bucket:
    """A token bucket: `rate` tokens a second, holding at most `burst`."""

    __slots__ = ("at", "tokens")

    def __init__(self, burst: float, now: float) -> None:
        self.tokens = burst
        self.at = now

    def fill(self, rate: float, burst: float, now: float) -> None:
        self.tokens = min(burst, self.tokens + max(0.0, now - self.at) * rate)
        self.at = now


class ReportLimit:
    """How many Reports the receiver sends: a token bucket overall and one per source address.

    A discovery-shaped datagram needs no key and its Report is about twice its size, so
    without a limit the port reflects and amplifies spoofed traffic at any victim. The
    overall bucket caps what a spoofed flood from many addresses buys, the per-source one
    what one victim receives. Per-source buckets are kept for at most `max_sources`
    addresses (the least recently used is forgotten: it starts full again, and the overall
    bucket still holds)."""

    def __init__(
        self,
        rate: float = REPORTS_PER_SECOND,
        burst: float = REPORT_BURST,
        per_source: float = REPORTS_PER_SOURCE,
        source_burst: float = REPORT_SOURCE_BURST,
        max_sources: int = _MAX_SOURCES,
    ) -> None:
        self.rate, self.burst = rate, burst
        self.per_source, self.source_burst = per_source, source_burst
        self.max_sources = max_sources
        self._all: _Bucket | None = None
        self._sources: OrderedDict[str, _Bucket] = OrderedDict()

    def allow(self, source: str, now: float) -> bool:
        """Whether a Report to `source` may be sent now (and if so, take its tokens)."""
        if self._all is None:
            self._all = _Bucket(self.burst, now)
        self._all.fill(self.rate, self.burst, now)
        bucket = self._sources.get(source)
        if bucket is None:
            bucket = self._sources[source] = _Bucket(self.source_burst, now)
            if len(self._sources) > self.max_sources:
                self._sources.popitem(last=False)
        else:
            self._sources.move_to_end(source)
            bucket.fill(self.per_source, self.source_burst, now)
        if self._all.tokens < 1 or bucket.tokens < 1:
            return False
        self._all.tokens -= 1
        bucket.tokens -= 1
        return True


class DropSummary:
    """The log of dropped datagrams and of Reports not sent (over `ReportLimit`): the first
    after a quiet minute at once, then one summary line per window (how many, why, from
    where)."""

    def __init__(
        self,
        logger: logging.Logger,
        window: float = SUMMARY_WINDOW,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.log = logger
        self.window = window
        self.clock = clock
        self._reasons: Counter[str] = Counter()
        self._sources: Counter[str] = Counter()
        self._suppressed = 0  # Reports not sent since the last line
        self._last: float | None = None  # when the last line was written

    @property
    def pending(self) -> bool:
        return bool(self._reasons) or self._suppressed > 0

    def record(self, reason: str, source: str) -> bool:
        """Count one drop; True when a summary is now pending (the caller flushes it later)."""
        if self._at_once():
            self.log.warning(
                "dropped a notification from %s: %s (further drops are summarised every %gs)",
                source, reason, self.window,
            )  # fmt: skip
            return False
        self._reasons[reason] += 1
        self._source(source)
        return True

    def suppressed(self, source: str) -> bool:
        """Count one Report not sent to `source`; True when a summary is now pending."""
        if self._at_once():
            self.log.warning(
                "not sending a Report to %s: over the rate limit (further drops are "
                "summarised every %gs)",
                source, self.window,
            )  # fmt: skip
            return False
        self._suppressed += 1
        self._source(source)
        return True

    def _at_once(self) -> bool:
        """Whether this one is logged at once: the first after a quiet window."""
        now = self.clock()
        if self._last is None or now - self._last >= self.window:
            self._last = now
            return True
        return False

    def _source(self, source: str) -> None:
        if source in self._sources or len(self._sources) < _MAX_SOURCES:
            self._sources[source] += 1

    def flush(self) -> str | None:
        if not self.pending:
            return None
        total = sum(self._reasons.values())
        why = ", ".join(f"{n} {reason}" for reason, n in self._reasons.most_common())
        line = f"dropped {total} more notification(s) in the last {self.window:g}s: {why}"
        if not total:
            line = f"in the last {self.window:g}s"
        if self._suppressed:
            line += f"; {self._suppressed} Report(s) not sent (over the rate limit)"
        shown = [f"{src} ({n})" for src, n in self._sources.most_common(_SHOWN_SOURCES)]
        more = len(self._sources) - len(shown)
        line += f"; from {', '.join(shown)}" + (f" and {more} more senders" if more else "")
        self.log.warning("%s", line)
        self._reasons.clear()
        self._sources.clear()
        self._suppressed = 0
        self._last = self.clock()
        return line


class TrapReceiver:
    def __init__(
        self,
        settings: TrapSettings,
        handler: TrapHandler,
        clock: Callable[[], float] = time.monotonic,
        on_drop: Callable[[str], None] | None = None,
        report_limit: ReportLimit | None = None,
    ) -> None:
        self.settings = settings
        self.handler = handler
        self.on_drop = on_drop  # the daemon's counter, kept across reloads (a new receiver)
        self.clock = clock
        self.stats = TrapStats()
        self.engine = local_engine(settings.engine_id)
        community = settings.community.reveal().encode() if settings.community else None
        self.reader = NotificationReader(community, settings.users, self.engine)
        self.drops = DropSummary(log)
        self.report_limit = report_limit or ReportLimit()
        self._sock: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._flush: asyncio.TimerHandle | None = None

    @property
    def address(self) -> tuple[str, int]:
        """Where it listens (the real port when the settings asked for port 0)."""
        if self._sock is None:
            raise RuntimeError("the trap receiver is not started")
        host, port = self._sock.getsockname()[:2]
        return str(host), int(port)

    def start(self) -> None:
        """Bind and listen (inside a running event loop). Raises CollectorError on failure."""
        where = f"{self.settings.host}:{self.settings.port}"
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind((self.settings.host, self.settings.port))
        except OSError as exc:
            sock.close()
            raise CollectorError(
                "trap receiver", f"cannot listen on {where}: {exc.strerror or exc}"
            ) from None
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
        except OSError:
            log.warning("could not raise the trap socket's receive buffer")
        sock.setblocking(False)
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(sock.fileno(), self._readable)
        self._sock = sock
        versions = ["v1/v2c"] if self.settings.community else []
        if self.settings.users:
            versions.append(f"v3 ({len(self.settings.users)} users)")
        log.info(
            "trap receiver listening on udp %s (%s; engine ID %s)",
            where, ", ".join(versions), self.engine.engine_id.hex(),
        )  # fmt: skip

    def _readable(self) -> None:
        if self._sock is not None:
            drain(self._sock, self.datagram, "trap socket")

    def datagram(self, data: bytes, addr: tuple[str, int]) -> Outcome:
        """One datagram from `addr`: answer it if it asks, count it, call the handler."""
        self.stats.received += 1
        now = self.clock()
        outcome = self.reader.read(data, now, source=addr[0])
        if outcome.report is not None and not self.report_limit.allow(addr[0], now):
            # A Report over the limit is not sent (the sender retries, as for a lost one);
            # a Response (report None) always is: its INFORM was authenticated.
            outcome = replace(outcome, reply=None, report=None)
            self.stats.reports_suppressed += 1
            self._pending(self.drops.suppressed(addr[0]))
        if outcome.reply is not None:
            self._send(outcome.reply, addr)
        if outcome.report is not None:
            self.stats.reports[outcome.report] += 1
        if outcome.drop is not None:
            self._dropped(outcome.drop, addr[0])
            return outcome
        note = outcome.notification
        if note is None:  # a Report answered a discovery or a clock check: nothing to act on
            return outcome
        self.stats.accepted[f"{note.version} {note.pdu}"] += 1
        name = VRRP_TRAPS.get(note.trap_oid) if note.trap_oid else None
        self.handler(addr[0], name)
        return outcome

    def _send(self, reply: bytes, addr: tuple[str, int]) -> None:
        if self._sock is None:
            return
        try:
            self._sock.sendto(reply, addr)
        except OSError:  # full buffer or unreachable: the sender retries an INFORM
            self.stats.replies_failed += 1

    def _dropped(self, reason: str, source: str) -> None:
        self.stats.dropped[reason] += 1
        if self.on_drop is not None:
            self.on_drop(reason)
        self._pending(self.drops.record(reason, source))

    def _pending(self, summary_pending: bool) -> None:
        if summary_pending and self._flush is None and self._loop is not None:
            self._flush = self._loop.call_later(self.drops.window, self._flush_drops)

    def _flush_drops(self) -> None:
        self._flush = None
        self.drops.flush()

    def close(self) -> None:
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        self.drops.flush()
        if self._sock is not None:
            if self._loop is not None and not self._loop.is_closed():
                with contextlib.suppress(ValueError, OSError):
                    self._loop.remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None
