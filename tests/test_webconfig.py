"""TLS and basic auth on /metrics and /api from an exporter-toolkit web config file, checked with
a real TLS client (Python's ssl, i.e. OpenSSL) against the real HTTP server."""

from __future__ import annotations

import base64
import datetime
import ipaddress
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
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from netmon.errors import ConfigError
from netmon.exporter import MetricsServer
from netmon.model import Inventory
from netmon.store import StateStore
from netmon.webconfig import load_web_config

from .conftest import REPO

PASSWORD = "scrape-Pa55-9c1d"


def _cert(
    folder: Path, name: str, issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None,
    *, ca: bool = False, server: bool = False,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:  # fmt: skip
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer[0].subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if server:
        loopback = x509.IPAddress(ipaddress.ip_address("127.0.0.1"))
        san = x509.SubjectAlternativeName([x509.DNSName("localhost"), loopback])
        builder = builder.add_extension(san, critical=False)
    cert = builder.sign(issuer[1] if issuer else key, hashes.SHA256())
    (folder / f"{name}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / f"{name}.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert, key


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pki")
    ca = _cert(folder, "ca", None, ca=True)
    _cert(folder, "server", ca, server=True)
    _cert(folder, "client", ca)
    return folder


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
