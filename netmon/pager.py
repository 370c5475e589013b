"""Page-level verdicts sent by netmon itself to the Alertmanagers (API v2), as Prometheus sends
its alerts: seconds after the poll that found them, instead of a scrape and an evaluation cycle
later. Each alert carries exactly the labels of the rule that pages for the same thing
(alert_rules/netmon.rules.yml), so Alertmanager merges netmon's alert, every replica's and the
rule's into one alert and one page; the rules stay as the backstop.

Only verdicts that are evidence, never netmon's own blindness, are sent: `split_brain` (two
members claim active) and `down` (members answered and none is active), the latter not while any
member is unreachable or unknown (the rule's `unless`).

netmon never sends a resolve: an alert ends when no source renews it any more. In Alertmanager an
explicit resolve (endsAt now) is the newest word and ends the merged alert at once, whatever the
other sources still say: a replica that saw the repair first would end the page that another
replica, or the rule, still holds, and their next renewal would raise it again as a second page
and a second resolve (measured with the lab: tests/test_replicas_lab.py). Left to expire, the
alert lasts until the last replica that sees the fault stops renewing it, plus its lifetime
(LIFETIME x RESEND = 20 s), or until the rule resolves it, the rule seeing every replica's view.

An Alertmanager URL may carry basic auth (`https://user:password@am:9093`); a bearer token comes
from NETMON_ALERTMANAGER_TOKEN (never argv: every local user can read it). Credentials go over
https only. An Alertmanager is named, in every log line, error and metric label, by `masked`:
scheme://host:port/path, without the userinfo, query or fragment.
"""

from __future__ import annotations

import base64
import json
import logging
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from netmon.errors import ConfigError, ConfigProblem
from netmon.model import PairState, PairStatus, Role
from netmon.store import Snapshot

log = logging.getLogger(__name__)

RESEND = 5.0  # seconds between sends of a firing alert (Prometheus' default resend delay: 1m)
# A sent alert ends by itself LIFETIME resends after its send (Prometheus: 4 x its resend delay),
# so two failed sends in a row do not end a page that still holds.
LIFETIME = 4
TIMEOUT = 3.0  # seconds per Alertmanager and send
# Seconds a send waits for every Alertmanager together. TIMEOUT bounds each socket operation,
# not a POST: a name that resolves slowly (getaddrinfo has no timeout) or an answer that trickles
# in a byte at a time would hold the pager, and the pages to every other Alertmanager, for as
# long as it likes. Each POST runs in a thread of its own; one still running at DEADLINE is a
# failure, and that Alertmanager is skipped (a failure too) until its POST is over.
DEADLINE = TIMEOUT + 1.0
REASON_MAX = 300  # characters of a failure's reason in the log (an answer's reason phrase)
# Seconds without a send after which an empty list is POSTed (Alertmanager answers 200 and
# changes nothing): netmon_pager_up then says whether netmon *can* page, before the incident
# that needs it, and a wrong URL, CA or password is in the log a second after the start.
HEARTBEAT = 60.0
TOKEN_ENV = "NETMON_ALERTMANAGER_TOKEN"  # noqa: S105 - the variable's name
RUNBOOKS = "https://github.com/netmon/netmon/blob/main/docs/runbooks.md"

# state -> (alertname, summary, description, runbook anchor), as in the rules file.
PAGES: Mapping[PairState, tuple[str, str, str, str]] = {
    PairState.SPLIT_BRAIN: (
        "NetmonPairSplitBrain",
        "Split-brain on {pair}",
        "Two or more members of {pair} claim active past the debounce: traffic may go to both.",
        "split-brain",
    ),
    PairState.DOWN: (
        "NetmonPairDown",
        "No member of {pair} is active",
        "Members of {pair} answer, but none is active: the service behind it is down.",
        "pair-down",
    ),
}
BLIND = (Role.UNREACHABLE, Role.UNKNOWN)


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat().replace("+00:00", "Z")


def pages(status: PairStatus) -> bool:
    if status.state not in PAGES:
        return False
    return status.state is not PairState.DOWN or not any(
        m.view.role in BLIND for m in status.members
    )


def alert(status: PairStatus, now: float, *, resend: float = RESEND) -> dict[str, Any]:
    """One pair's alert in Alertmanager's API v2 shape. It ends by itself (endsAt) unless sent
    again: a replica that dies or sees the repair stops renewing it, the others' keep it up."""
    name, summary, description, anchor = PAGES[status.state]
    return {
        "labels": {"alertname": name, "pair": status.pair, "severity": "page"},
        "annotations": {
            "summary": summary.format(pair=status.pair),
            "description": description.format(pair=status.pair),
            "runbook_url": f"{RUNBOOKS}#{anchor}",
        },
        # Never after endsAt (Alertmanager refuses such an alert: HTTP 400), which a state that
        # began "later" than now would give once the clock has been stepped back.
        "startsAt": _iso(min(status.since, now)),
        "endsAt": _iso(now + LIFETIME * resend),
    }


# -- Alertmanagers: names without secrets, credentials, TLS -------------------------------------


def masked(url: str) -> str:
    """scheme://host:port/path of an Alertmanager URL: what logs, errors and the `alertmanager`
    label show. Never the userinfo (user:password@), the query or the fragment."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return "(an Alertmanager URL that cannot be parsed)"
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme.lower(), host, parts.path.rstrip("/"), "", ""))


@dataclass(frozen=True)
class PagerTls:
    """--alertmanager-ca (default: the system's CAs) and an optional client certificate."""

    ca: Path | None = None
    cert: Path | None = None
    key: Path | None = None  # None: the key is in `cert`

    def options(self) -> tuple[tuple[str, Path | None], ...]:
        return (
            ("--alertmanager-ca", self.ca),
            ("--alertmanager-cert", self.cert),
            ("--alertmanager-key", self.key),
        )

    def given(self) -> bool:
        return any(f is not None for _, f in self.options())


@dataclass(frozen=True)
class Target:
    """One Alertmanager: its masked name, where alerts are POSTed, and its credentials."""

    label: str  # masked(url): in logs, errors and metrics
    endpoint: str  # label + /api/v2/alerts: what is requested (no userinfo: urllib would
    # take `user:password@host` for the host and put the password into its error)
    auth: str = ""  # "basic", "bearer" or "" (none): safe to show
    authorization: str | None = field(default=None, repr=False)  # the header's value
    secrets: tuple[str, ...] = field(default=(), repr=False)  # scrubbed from any error text

    @property
    def headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self.authorization is not None:
            headers["Authorization"] = self.authorization
        return headers

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            if secret:
                text = text.replace(secret, "***")
        return text


def _problem(option: str, where: str, message: str) -> ConfigError:
    return ConfigError([ConfigProblem(option, None, where, message)])


def target(url: str, token: str | None = None, *, index: int = 1) -> Target:
    """A configured URL as a Target; ConfigError (exit 2) naming only its masked form."""
    where = f"#{index}"  # which --alertmanager, counted from 1
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        raise _problem("--alertmanager", where, "not a URL (http[s]://host:port)") from None
    if "@" in parts.path + parts.query + parts.fragment:
        # A password with an unescaped / ? or # ends the host part early: the rest of it would
        # be in the path, and in the masked name. Say so without showing any of the URL.
        raise _problem(
            "--alertmanager",
            where,
            "an '@' after the host: percent-encode a password's / ? # and @ (%2F %3F %23 %40)",
        )
    try:
        _ = parts.port  # ValueError when not a number in range
    except ValueError:
        raise _problem("--alertmanager", where, "not a URL (http[s]://host:port)") from None
    name = masked(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise _problem("--alertmanager", where, f"{name}: not an http(s)://host URL")
    if parts.query or parts.fragment:
        raise _problem("--alertmanager", where, f"{name}: takes no ?query or #fragment")
    endpoint = f"{name}/api/v2/alerts"
    if parts.username is not None or parts.password is not None:
        if scheme != "https":
            raise _problem(
                "--alertmanager",
                where,
                f"{name}: refusing to send a password over plain http (use https)",
            )
        user, password = unquote(parts.username or ""), unquote(parts.password or "")
        creds = base64.b64encode(f"{user}:{password}".encode()).decode()
        secrets = (parts.password or "", password, creds)
        return Target(name, endpoint, "basic", f"Basic {creds}", secrets)
    if token and scheme == "https":
        return Target(name, endpoint, "bearer", f"Bearer {token}", (token,))
    return Target(name, endpoint)


def _token(raw: str | None) -> str | None:
    token = (raw or "").strip()
    if not token:
        return None
    # RFC 6750 token68 characters: anything else (a space, a line break) would be refused by
    # http.client with the header's value, the token, in its error.
    allowed = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/=")
    if not set(token) <= allowed:
        raise _problem(TOKEN_ENV, "(environment)", "only letters, digits and -._~+/= may be in it")
    return token


def _context(tls: PagerTls) -> ssl.SSLContext:
    """The client context for https: the CA file or the system's CAs, hostnames checked."""
    if tls.key is not None and tls.cert is None:
        raise _problem("--alertmanager-key", str(tls.key), "needs --alertmanager-cert")
    try:
        context = ssl.create_default_context(cafile=tls.ca)
    except (OSError, ssl.SSLError) as exc:
        raise _problem("--alertmanager-ca", str(tls.ca), f"cannot load: {exc}") from None
    if tls.cert is not None:
        try:
            context.load_cert_chain(tls.cert, tls.key)
        except (OSError, ssl.SSLError) as exc:
            raise _problem("--alertmanager-cert", str(tls.cert), f"cannot load: {exc}") from None
    return context


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is a failure (HTTPError 30x): urllib turns a redirected POST into a GET of
    the new URL (Alertmanager answers a GET of /api/v2/alerts with 200: nothing sent would look
    sent), and sends the Authorization header along to wherever it points."""

    def redirect_request(self, *_args: Any, **_kwargs: Any) -> None:
        return None


def _why(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        hint = " (redirects are not followed: give the Alertmanager's own URL)"
        return f"HTTP {exc.code} {exc.reason}{hint if 300 <= exc.code < 400 else ''}"
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, ssl.SSLCertVerificationError):
        return f"its certificate is not trusted ({reason.verify_message}): see --alertmanager-ca"
    return str(reason) or type(reason).__name__


def _shown(target: Target, text: str) -> str:
    """A failure's reason as logged: its secrets scrubbed first, then only printable characters
    (a reason phrase is the Alertmanager's, or whatever answers in its place), cut short."""
    text = "".join(c if c.isprintable() else "?" for c in target.scrub(text))
    return text if len(text) <= REASON_MAX else f"{text[:REASON_MAX]}..."


class _Post:
    """One POST in a thread of its own: its outcome, once it is over."""

    def __init__(self, post: Post, target: Target, body: bytes) -> None:
        self.error: BaseException | None = None
        self.thread = threading.Thread(
            target=self._run, args=(post, target, body), name="netmon-pager-post", daemon=True
        )
        self.thread.start()

    def _run(self, post: Post, target: Target, body: bytes) -> None:
        try:
            post(target, body)
        except Exception as exc:  # noqa: BLE001 - any failure is a failed POST, never a crash
            self.error = exc


# -- the pager ----------------------------------------------------------------------------------


@dataclass
class Stats:
    """One Alertmanager's counts, for the netmon_pager_* metrics (read by the scrape thread)."""

    sent: int = 0  # alerts it accepted
    failures: int = 0  # POSTs that failed
    up: bool | None = None  # the last POST's outcome; None before the first one
    last_success: float | None = None
    attempted_at: float = float("-inf")


Post = Callable[[Target, bytes], None]


class Pager:
    """Which pairs page, sent to every Alertmanager (they deduplicate, as with Prometheus)."""

    def __init__(
        self,
        urls: Iterable[str],
        resend: float = RESEND,
        post: Post | None = None,
        *,
        tls: PagerTls | None = None,
        token: str | None = None,
        heartbeat: float = HEARTBEAT,
    ) -> None:
        secret = _token(token)
        self.targets = tuple(target(u, secret, index=i) for i, u in enumerate(urls, 1))
        labels = [t.label for t in self.targets]
        if len(set(labels)) < len(labels):
            dup = next(x for x in labels if labels.count(x) > 1)
            raise _problem("--alertmanager", dup, "given twice")
        tls = tls or PagerTls()
        https = any(t.endpoint.startswith("https:") for t in self.targets)
        if tls.given() and not https:
            option, path = next((o, f) for o, f in tls.options() if f is not None)
            raise _problem(option, str(path), "given, but no --alertmanager is https")
        # No proxy from the environment (urllib's default reads https_proxy): a proxy set for
        # the host's downloads must not carry pages and their credentials, nor be able to drop
        # them; Prometheus' own Alertmanager client uses none unless configured.
        self._opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}),
            urllib.request.HTTPSHandler(context=_context(tls) if https else None),
            _NoRedirect(),
        )
        self.resend = resend
        self.heartbeat = heartbeat
        self._post = post or self._urlopen
        self._firing: dict[tuple[str, str], PairStatus] = {}  # (pair, state) -> last status
        self._sent_at = 0.0
        self._busy: dict[str, _Post] = {}  # a POST still running past DEADLINE, by label
        self._tick_failed = False
        self.stats = {t.label: Stats() for t in self.targets}
        for t in self.targets:
            if secret and not t.auth:
                log.warning("%s is not sent to %s: plain http (use https)", TOKEN_ENV, t.label)
        shown = (f"{t.label} ({t.auth or 'no'} auth)" for t in self.targets)
        log.info("pages go straight to %s", ", ".join(shown))

    def _urlopen(self, target: Target, body: bytes) -> None:
        request = urllib.request.Request(  # noqa: S310 - http(s) only: target() checked it
            target.endpoint, data=body, headers=target.headers, method="POST"
        )
        try:
            with self._opener.open(request, timeout=TIMEOUT):
                pass
        except urllib.error.HTTPError as exc:  # 4xx, 5xx (and 30x: _NoRedirect)
            exc.close()
            raise

    def due(self, snapshot: Snapshot, now: float) -> list[dict[str, Any]]:
        """The alerts to send now: every firing one when a change happened or `resend` passed.
        One that stopped firing is not sent again, never resolved (see the module's docstring)."""
        firing = {(s.pair, s.state.value): s for s in snapshot.pairs.values() if pages(s)}
        changed = firing.keys() != self._firing.keys()
        # 0 <=: after the clock was stepped back (NTP correcting a clock that ran ahead), the
        # alert is renewed at once, not only once the clock is back where it was.
        if not changed and 0 <= now - self._sent_at < self.resend:
            return []
        out = [alert(s, now, resend=self.resend) for s in firing.values()]
        self._firing = firing
        self._sent_at = now
        return out

    def send(self, alerts: list[dict[str, Any]], now: float | None = None) -> None:
        """POST to every Alertmanager at once (no alerts: an empty list to those not tried for
        `heartbeat`); a failure is counted, logged once per outage, never raised."""
        now = time.time() if now is None else now
        body = json.dumps(alerts).encode()
        posts: list[tuple[Target, _Post | None]] = []
        for t in self.targets:
            stats = self.stats[t.label]
            # 0 <=: a clock stepped back since the last try must not hold the heartbeat back.
            if not alerts and 0 <= now - stats.attempted_at < self.heartbeat:
                continue
            stats.attempted_at = now
            busy = self._busy.get(t.label)
            if busy is not None and busy.thread.is_alive():
                posts.append((t, None))  # its last POST is still unanswered
                continue
            self._busy.pop(t.label, None)
            posts.append((t, _Post(self._post, t, body)))
        deadline = time.monotonic() + DEADLINE
        for t, post in posts:
            stats = self.stats[t.label]
            error: BaseException | None
            if post is None:
                error = TimeoutError(f"its last POST is still unanswered after {DEADLINE:g} s")
            else:
                post.thread.join(max(0.0, deadline - time.monotonic()))
                if post.thread.is_alive():
                    self._busy[t.label] = post
                    error = TimeoutError(f"no answer within {DEADLINE:g} s")
                else:
                    error = post.error
            if error is not None:
                # Any exception: URLError, HTTPError (4xx, 5xx, 30x), ssl's, http.client's for
                # a garbled answer, or none foreseen.
                stats.failures += 1
                if stats.up is not False:
                    log.error(
                        "pages to %s failed (the rules still page): %s",
                        t.label,
                        _shown(t, _why(error)),
                    )
                stats.up = False
                continue
            if stats.up is False:
                log.warning("pages to %s sent again", t.label)
            stats.up = True
            stats.last_success = now
            stats.sent += len(alerts)

    def tick(self, snapshot: Snapshot, now: float | None = None) -> None:
        """One round; never raises: the daemon's paging task has no other guard, and a pager
        that died would stop paging while netmon_pager_up still said 1."""
        now = time.time() if now is None else now
        try:
            self.send(self.due(snapshot, now), now)
        except Exception as exc:  # noqa: BLE001 - logged (once until a round works), not raised
            if not self._tick_failed:
                text = f"{type(exc).__name__}: {exc}"
                for t in self.targets:
                    text = t.scrub(text)
                log.error("direct pages failed (the rules still page): %s", text[:REASON_MAX])  # noqa: TRY400
            self._tick_failed = True
            return
        self._tick_failed = False

    def metrics(self) -> Iterable[Metric]:
        labels = ["alertmanager"]
        sent = CounterMetricFamily(
            "netmon_pager_alerts_sent", "Alerts an Alertmanager accepted from netmon", labels=labels
        )
        failures = CounterMetricFamily(
            "netmon_pager_send_failures",
            "POSTs to an Alertmanager that failed (no answer, TLS, HTTP 3xx/4xx/5xx)",
            labels=labels,
        )
        # Absent until the first POST, which is at the start (the heartbeat): 1 before any
        # send would claim netmon can page when nothing was tried, 0 would be a failure that
        # did not happen. From then on the last POST's outcome, pages and heartbeats alike.
        up = GaugeMetricFamily(
            "netmon_pager_up", "1 when the last POST to the Alertmanager succeeded", labels=labels
        )
        success = GaugeMetricFamily(
            "netmon_pager_last_success_timestamp_seconds",
            "When a POST to the Alertmanager last succeeded",
            labels=labels,
        )
        for name, stats in self.stats.items():
            sent.add_metric([name], float(stats.sent))
            failures.add_metric([name], float(stats.failures))
            if stats.up is not None:
                up.add_metric([name], 1.0 if stats.up else 0.0)
            if stats.last_success is not None:
                success.add_metric([name], stats.last_success)
        yield from (sent, failures, up, success)
