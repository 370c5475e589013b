"""What netmon pages Alertmanager with directly (netmon/pager.py): pure logic with a fake POST,
then a real HTTPS server on loopback (TLS, basic auth, bearer token, HTTP errors, redirects),
and the daemon's metrics. No secret may reach a log line, an error or a metric label."""

from __future__ import annotations

import base64
import datetime
import json
import logging
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import Metric

from netmon.daemon import Daemon
from netmon.errors import ConfigError
from netmon.model import (
    MemberObservation,
    MemberView,
    Mode,
    PairState,
    PairStatus,
    Role,
)
from netmon.pager import TOKEN_ENV, Pager, PagerTls, Target, alert, masked, pages
from netmon.store import Snapshot

from .pki import make_pki

T0 = 1_000_000.0
USER = "netmon-pager"
PASSWORD = "am-Pa55-w0rd-7c3e"
TOKEN = "am-Bearer-Tok3n-91f0"
SECRETS = (PASSWORD, TOKEN, base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode())


def status(state: PairState, roles: tuple[Role, Role] = (Role.ACTIVE, Role.ACTIVE)) -> PairStatus:
    members = tuple(
        MemberObservation(m, m, MemberView(r), T0) for m, r in zip(("r1", "r2"), roles, strict=True)
    )
    return PairStatus("core", "vrrp", Mode.ACTIVE_STANDBY, state, (), members, (), T0, T0 - 5)


def snap(*statuses: PairStatus) -> Snapshot:
    return Snapshot(T0, {s.pair: s for s in statuses}, {}, {}, {}, ())


PAGE = [alert(status(PairState.SPLIT_BRAIN), T0)]


def exposition(pager: Pager) -> str:
    """The pager's metrics as Prometheus scrapes them."""

    class Collector:
        def collect(self) -> Iterator[Metric]:
            yield from pager.metrics()

    registry = CollectorRegistry(auto_describe=False)
    registry.register(Collector())
    return generate_latest(registry).decode()


def samples(pager: Pager) -> dict[tuple[str, str], float]:
    """(sample name, alertmanager label) -> value."""
    return {(s.name, s.labels["alertmanager"]): s.value for m in pager.metrics() for s in m.samples}


def no_secret_in(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, f"a secret in: {text}"


# -- pure logic -------------------------------------------------------------------------------


def test_only_evidence_pages_and_labels_are_the_rules() -> None:
    assert pages(status(PairState.SPLIT_BRAIN))
    assert pages(status(PairState.DOWN, (Role.STANDBY, Role.FAULT)))
    # The rule's `unless`: a member netmon cannot see never lets `down` page.
    assert not pages(status(PairState.DOWN, (Role.STANDBY, Role.UNREACHABLE)))
    assert not pages(status(PairState.DOWN, (Role.UNKNOWN, Role.STANDBY)))
    for state in (PairState.HEALTHY, PairState.DEGRADED, PairState.UNKNOWN):
        assert not pages(status(state))
    got = alert(status(PairState.SPLIT_BRAIN), T0, resend=10)
    assert got["labels"] == {
        "alertname": "NetmonPairSplitBrain",
        "pair": "core",
        "severity": "page",
    }
    assert got["startsAt"].endswith("Z") and got["endsAt"] > got["startsAt"]


def test_a_change_is_sent_at_once_then_every_resend_and_never_a_resolve() -> None:
    sent: list[tuple[str, bytes]] = []
    pager = Pager(
        ["http://am1", "http://am2"], resend=10, post=lambda t, b: sent.append((t.label, b))
    )
    bad = snap(status(PairState.SPLIT_BRAIN))
    assert len(pager.due(bad, T0)) == 1  # new: at once
    assert pager.due(bad, T0 + 1) == []  # unchanged: not before the resend
    assert len(pager.due(bad, T0 + 10)) == 1  # renewed
    good = snap(replace(status(PairState.HEALTHY)))
    # Repaired: nothing is sent (an empty change), the last send ends by itself 4 resends on.
    assert pager.due(good, T0 + 11) == []
    assert pager.due(good, T0 + 30) == []
    pager.send(PAGE, T0)
    assert sorted(u for u, _ in sent) == ["http://am1", "http://am2"]  # every Alertmanager


def test_an_alertmanager_that_fails_is_logged_once_and_the_others_still_get_pages(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sent: list[str] = []

    def post(target: Target, _body: bytes) -> None:
        if target.label == "http://down":
            raise OSError("connection refused")
        sent.append(target.label)

    caplog.set_level(logging.INFO, logger="netmon.pager")
    pager = Pager(["http://down", "http://up"], post=post)
    pager.send(PAGE, T0)
    pager.send(PAGE, T0 + 10)
    assert sent == ["http://up", "http://up"]
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert errors == ["pages to http://down failed (the rules still page): connection refused"]
    got = samples(pager)
    assert got[("netmon_pager_up", "http://down")] == 0
    assert got[("netmon_pager_up", "http://up")] == 1
    assert got[("netmon_pager_send_failures_total", "http://down")] == 2
    assert got[("netmon_pager_send_failures_total", "http://up")] == 0
    assert got[("netmon_pager_alerts_sent_total", "http://up")] == 2  # one alert, twice
    assert got[("netmon_pager_alerts_sent_total", "http://down")] == 0
    assert got[("netmon_pager_last_success_timestamp_seconds", "http://up")] == T0 + 10
    assert ("netmon_pager_last_success_timestamp_seconds", "http://down") not in got


def test_quiet_times_post_an_empty_list_so_up_says_whether_netmon_can_page() -> None:
    posted: list[tuple[str, bytes]] = []
    pager = Pager(["http://am"], post=lambda t, b: posted.append((t.label, b)), heartbeat=60)
    # Before any POST: counters at 0, no up and no last success (nothing was tried).
    assert samples(pager) == {
        ("netmon_pager_alerts_sent_total", "http://am"): 0,
        ("netmon_pager_send_failures_total", "http://am"): 0,
    }
    quiet = snap(status(PairState.HEALTHY))
    pager.tick(quiet, T0)  # the start: tried at once
    assert posted == [("http://am", b"[]")]
    pager.tick(quiet, T0 + 59)
    assert len(posted) == 1  # not before the heartbeat
    pager.tick(snap(status(PairState.SPLIT_BRAIN)), T0 + 70)
    assert len(posted) == 2 and json.loads(posted[1][1])[0]["labels"]["pair"] == "core"
    got = samples(pager)
    assert got[("netmon_pager_up", "http://am")] == 1
    assert got[("netmon_pager_alerts_sent_total", "http://am")] == 1  # the empty list: none
    assert got[("netmon_pager_last_success_timestamp_seconds", "http://am")] == T0 + 70


def test_names_in_logs_and_labels_carry_no_userinfo_query_or_fragment() -> None:
    url = f"https://{USER}:{PASSWORD}@am.example:9093/prefix/?token={TOKEN}#{PASSWORD}"
    assert masked(url) == "https://am.example:9093/prefix"
    assert masked(f"HTTPS://{USER}:{PASSWORD}@[2001:db8::1]:9093") == "https://[2001:db8::1]:9093"
    assert masked("http://am:9093/") == "http://am:9093"
    # A password with an '@' in it (percent-encoded or not): the last '@' ends the userinfo.
    assert masked(f"https://{USER}:a@b{PASSWORD}@am:9093") == "https://am:9093"


def test_credentials_become_the_authorization_header_never_the_name_or_the_endpoint(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="netmon.pager")
    seen: list[Target] = []
    encoded = PASSWORD.replace("-", "%2D")  # percent-encoded in the URL, decoded in the header
    urls = [f"https://{USER}:{encoded}@am1:9093", "https://am2:9093/am", "http://am3:9093"]
    pager = Pager(urls, post=lambda t, _b: seen.append(t), token=f" {TOKEN}\n")
    pager.send(PAGE, T0)
    basic, bearer, plain = seen
    assert (basic.label, basic.endpoint) == ("https://am1:9093", "https://am1:9093/api/v2/alerts")
    creds = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    assert basic.headers["Authorization"] == f"Basic {creds}"  # the URL's own, not the token
    assert bearer.endpoint == "https://am2:9093/am/api/v2/alerts"
    assert bearer.headers["Authorization"] == f"Bearer {TOKEN}"
    assert "Authorization" not in plain.headers  # no token over plain http, and it says so
    assert f"{TOKEN_ENV} is not sent to http://am3:9093: plain http (use https)" in caplog.text
    assert "https://am1:9093 (basic auth), https://am2:9093/am (bearer auth)" in caplog.text
    no_secret_in(caplog.text, repr(seen), exposition(pager))
    # Whatever an error says, the target's secrets are masked out of the log.
    caplog.clear()
    failing = Pager(urls[:2], post=lambda t, _b: (_ for _ in ()).throw(OSError(repr(t.secrets))))
    failing.send(PAGE, T0)
    assert caplog.text.count("***") >= 3
    no_secret_in(caplog.text)
    assert 'alertmanager="https://am1:9093"' in exposition(pager)


@pytest.mark.parametrize(
    ("urls", "tls", "token", "says"),
    [
        ([f"http://{USER}:{PASSWORD}@am:9093"], None, None, "over plain http"),
        ([f"https://{USER}:a/{PASSWORD}@am:9093"], None, None, "percent-encode"),
        ([f"https://{USER}:a#{PASSWORD}@am:9093"], None, None, "percent-encode"),
        ([f"https://{USER}:{PASSWORD}@am:99999"], None, None, "not a URL"),
        ([f"ftp://{USER}:{PASSWORD}@am:21"], None, None, "ftp://am:21: not an http(s)"),
        ([f"https://am:9093/?token={TOKEN}"], None, None, "https://am:9093: takes no ?query"),
        ([f"https://{USER}:{PASSWORD}@am:9093", "https://am:9093/"], None, None, "given twice"),
        (["https://am:9093"], None, f"{TOKEN}\r\nX-Evil: 1", "only letters, digits"),
        (["http://am:9093"], PagerTls(ca=Path("/nonexistent/ca.pem")), None, "no --alertmanager"),
        (["https://am:9093"], PagerTls(ca=Path("/nonexistent/ca.pem")), None, "cannot load"),
        (["https://am:9093"], PagerTls(key=Path("/nonexistent/k.pem")), None, "needs --alertm"),
    ],
)
def test_a_bad_setting_is_a_config_error_that_shows_no_secret(
    urls: list[str], tls: PagerTls | None, token: str | None, says: str
) -> None:
    with pytest.raises(ConfigError) as error:
        Pager(urls, tls=tls, token=token)
    assert says in str(error.value)
    no_secret_in(str(error.value))
    assert USER not in str(error.value)


def test_the_daemon_exports_the_pager_metrics_and_reads_the_token_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text("version: 1\ndevices: {}\npairs: []\n")
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    daemon = Daemon(inventory, ("127.0.0.1", 0), alertmanagers=["https://am:9093"])
    try:
        assert daemon.pager is not None
        assert daemon.pager.targets[0].headers["Authorization"] == f"Bearer {TOKEN}"
        names = {m.name for m in daemon._own_metrics()}
        assert {"netmon_pager_alerts_sent", "netmon_pager_send_failures"} <= names
        assert {"netmon_pager_up", "netmon_pager_last_success_timestamp_seconds"} <= names
    finally:
        daemon.prober.close()
        daemon.snmp.close()
        daemon.ssh.close()
    with pytest.raises(ConfigError):  # a CA with nothing to use it for is a mistake, said
        Daemon(inventory, ("127.0.0.1", 0), alertmanager_tls=PagerTls(ca=tmp_path / "ca.pem"))


# -- a real HTTPS server on loopback ----------------------------------------------------------


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_pki(tmp_path_factory.mktemp("pki"))


@dataclass
class Request:
    method: str
    path: str
    headers: Message
    body: bytes


@dataclass
class FakeAlertmanager:
    """An HTTPS server standing in for Alertmanager: records each request; answers by path:
    /am -> 200; /status/N -> N; /moved -> 302 to /am (which answers a GET with 200)."""

    url: str
    wants_client_cert: bool
    requests: list[Request] = field(default_factory=list)


def _handler(am: FakeAlertmanager) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            am.requests.append(Request(self.command, self.path, self.headers, body))
            code, location = 200, None
            if self.path.startswith("/status/"):
                code = int(self.path.split("/")[2])
            elif self.path.startswith("/moved"):
                code, location = 302, "/am/api/v2/alerts"
            self.send_response(code)
            if location:
                self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST = _answer  # noqa: N815 - http.server's names

        def log_message(self, *_args: Any) -> None:
            pass

    return Handler


@pytest.fixture(params=[False, True], ids=["server-auth", "client-cert-required"])
def fake_am(request: pytest.FixtureRequest, pki: Path) -> Iterator[FakeAlertmanager]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki / "server.crt", pki / "server.key")
    if request.param:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(pki / "ca.crt")
    am = FakeAlertmanager("", request.param)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(am))
    server.handle_error = lambda *_: None  # type: ignore[method-assign]  # refused handshakes
    server.socket = context.wrap_socket(server.socket, server_side=True)
    am.url = f"https://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield am
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def client_tls(pki: Path) -> PagerTls:
    """The CA, and a client certificate (only the server that requires one looks at it)."""
    return PagerTls(pki / "ca.crt", pki / "client.crt", pki / "client.key")


def test_pages_reach_an_https_alertmanager_with_basic_auth_and_a_bearer_token(
    fake_am: FakeAlertmanager, pki: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    base = fake_am.url.removeprefix("https://")
    urls = [f"https://{USER}:{PASSWORD}@{base}/am", f"{fake_am.url}/bearer/"]
    pager = Pager(urls, tls=client_tls(pki), token=TOKEN)
    pager.send(PAGE, T0)
    # Both Alertmanagers are POSTed to at once (netmon/pager.py, DEADLINE): in either order.
    by_path = {r.path: r for r in fake_am.requests}
    assert sorted(by_path) == ["/am/api/v2/alerts", "/bearer/api/v2/alerts"]
    first, second = by_path["/am/api/v2/alerts"], by_path["/bearer/api/v2/alerts"]
    assert first.method == "POST"
    assert json.loads(first.body)[0]["labels"]["alertname"] == "NetmonPairSplitBrain"
    assert first.headers["Content-Type"] == "application/json"
    user, _, password = (
        base64.b64decode(first.headers["Authorization"].split()[1]).decode().partition(":")
    )
    assert (user, password) == (USER, PASSWORD)
    assert second.headers["Authorization"] == f"Bearer {TOKEN}"
    text = exposition(pager)
    assert f'netmon_pager_up{{alertmanager="{fake_am.url}/am"}} 1.0' in text
    assert f'netmon_pager_alerts_sent_total{{alertmanager="{fake_am.url}/am"}} 1.0' in text
    assert f'netmon_pager_up{{alertmanager="{fake_am.url}/bearer"}} 1.0' in text
    no_secret_in(caplog.text, text)
    assert USER not in text + caplog.text


def test_a_proxy_in_the_environment_never_carries_the_pages(
    fake_am: FakeAlertmanager, pki: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """https_proxy set for the host's downloads (here: nothing listens there) must neither get
    the pages and their credentials nor stop them."""
    for name in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    pager = Pager([f"{fake_am.url}/am"], tls=client_tls(pki))
    pager.send(PAGE, T0)
    assert [r.path for r in fake_am.requests] == ["/am/api/v2/alerts"]
    assert samples(pager)[("netmon_pager_up", f"{fake_am.url}/am")] == 1.0


def test_without_the_ca_the_alertmanager_is_refused_counted_and_logged_once_without_secrets(
    fake_am: FakeAlertmanager, pki: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    base = fake_am.url.removeprefix("https://")
    pager = Pager([f"https://{USER}:{PASSWORD}@{base}/am"], token=TOKEN)  # the system's CAs
    pager.send(PAGE, T0)
    pager.send(PAGE, T0 + 10)
    assert fake_am.requests == []  # nothing got past the handshake
    label = f"{fake_am.url}/am"
    got = samples(pager)
    assert got[("netmon_pager_up", label)] == 0
    assert got[("netmon_pager_send_failures_total", label)] == 2
    assert got[("netmon_pager_alerts_sent_total", label)] == 0
    (error,) = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert error.startswith(f"pages to {label} failed (the rules still page): its certificate")
    assert error.endswith("--alertmanager-ca")
    no_secret_in(caplog.text, exposition(pager))


def test_a_client_certificate_is_sent_when_given(fake_am: FakeAlertmanager, pki: Path) -> None:
    label = f"{fake_am.url}/am"
    without = Pager([label], tls=PagerTls(ca=pki / "ca.crt"))
    without.send(PAGE, T0)
    # The server that asks for a client certificate refuses the pager without one...
    assert samples(without)[("netmon_pager_up", label)] == (0 if fake_am.wants_client_cert else 1)
    with_cert = Pager([label], tls=client_tls(pki))
    with_cert.send(PAGE, T0)
    assert samples(with_cert)[("netmon_pager_up", label)] == 1  # ...and takes it with one
    assert len(fake_am.requests) == (1 if fake_am.wants_client_cert else 2)


@pytest.mark.parametrize(
    ("path", "code"), [("/status/401", 401), ("/status/503", 503), ("/moved", 302)]
)
def test_an_http_error_or_a_redirect_is_a_failure_logged_once_with_its_status(
    fake_am: FakeAlertmanager, pki: Path, caplog: pytest.LogCaptureFixture, path: str, code: int
) -> None:
    caplog.set_level(logging.DEBUG)
    base = fake_am.url.removeprefix("https://")
    bad = Pager([f"https://{USER}:{PASSWORD}@{base}{path}"], tls=client_tls(pki))
    for i in range(3):
        bad.send(PAGE, T0 + 10 * i)
    label = f"{fake_am.url}{path}"
    got = samples(bad)
    assert got[("netmon_pager_up", label)] == 0
    assert got[("netmon_pager_send_failures_total", label)] == 3
    assert got[("netmon_pager_alerts_sent_total", label)] == 0
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and f"failed (the rules still page): HTTP {code} " in errors[0]
    # Not followed: a redirected POST would be a GET of the new URL (200: "sent"), with the
    # password along. Each send is one request.
    assert [r.method for r in fake_am.requests] == ["POST"] * 3
    no_secret_in(caplog.text, exposition(bad))


def test_an_alertmanager_that_answers_again_is_logged_once_and_up_again(
    fake_am: FakeAlertmanager, pki: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="netmon.pager")
    path = ["/status/500"]
    pager = Pager([f"{fake_am.url}/x"], tls=client_tls(pki))

    def post(target: Target, body: bytes) -> None:  # the real POST, to a path that changes
        pager._urlopen(replace(target, endpoint=f"{fake_am.url}{path[0]}"), body)

    pager._post = post
    pager.send(PAGE, T0)
    path[0] = "/am"
    pager.send(PAGE, T0 + 10)
    pager.send(PAGE, T0 + 20)
    label = f"{fake_am.url}/x"
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == [
        f"pages to {label} failed (the rules still page): HTTP 500 Internal Server Error",
        f"pages to {label} sent again",
    ]
    got = samples(pager)
    assert got[("netmon_pager_up", label)] == 1
    assert got[("netmon_pager_send_failures_total", label)] == 1
    assert got[("netmon_pager_alerts_sent_total", label)] == 2
    assert got[("netmon_pager_last_success_timestamp_seconds", label)] == T0 + 20


# -- with a real Alertmanager -------------------------------------------------------------------


@pytest.mark.daemon
def test_a_replica_that_sees_the_repair_first_leaves_the_page_another_still_holds(
    tmp_path: Path,
) -> None:
    """Two replicas page one Alertmanager; one sees the repair a poll before the other. An
    explicit resolve from it would end the merged alert at once (Alertmanager takes a resolve as
    the newest word), and the other's next renewal would raise it again: a second page. The
    alert must stay active until the last replica stops renewing it, then end by itself."""
    from .test_alertmanager_routing import alertmanager, current

    config = "route: {receiver: none}\nreceivers: [{name: none}]\n"
    with alertmanager(config, tmp_path) as url:
        # The replicas' clocks a few seconds back: a resolve sent "now" by them is in the past
        # for Alertmanager, as it is when it arrives in real life.
        base = datetime.datetime.now(datetime.UTC).timestamp() - 3
        split = replace(status(PairState.SPLIT_BRAIN), since=base - 5)
        healthy = replace(status(PairState.HEALTHY), since=base)
        first, second = Pager([url], resend=2.0), Pager([url], resend=2.0)
        first.tick(snap(split), base)
        second.tick(snap(split), base)
        key = "NetmonPairSplitBrain/core"
        assert current(url)[key]["status"]["state"] == "active"
        first.tick(snap(healthy), base + 1)  # repaired, as the first replica sees it
        assert key in current(url), "one replica's repair ended a page another still holds"
        second.tick(snap(split), base + 2)  # still split, as the second sees it: renewed
        second.tick(snap(healthy), base + 2.5)
        held = current(url)[key]
        assert held["status"]["state"] == "active"  # until its last send's end ...
        ends = datetime.datetime.fromisoformat(held["endsAt"].replace("Z", "+00:00")).timestamp()
        assert abs(ends - (base + 2 + 4 * 2.0)) < 0.01  # ... 4 resends after it
