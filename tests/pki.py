"""Test certificates: a CA, a server certificate for 127.0.0.1 and localhost, a client
certificate, each as NAME.crt and NAME.key (PEM) in a folder (the TLS tests of the web config and
of the pager's Alertmanagers)."""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


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


def make_pki(folder: Path) -> Path:
    """ca, server and client in `folder`; `folder`."""
    ca = _cert(folder, "ca", None, ca=True)
    _cert(folder, "server", ca, server=True)
    _cert(folder, "client", ca)
    return folder
