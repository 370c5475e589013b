"""netmon's own SNMPv3 path against a real net-snmp snmpd (SHA/AES user): engine discovery, an
authPriv GET read back, and the Reports a wrong key or an unknown user gets; a damaged reply
never decoded."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from netmon.collectors.snmp import SnmpCollector
from netmon.collectors.snmpwire import GET, Response, encode_varbinds
from netmon.collectors.v3wire import (
    DigestError,
    Engine,
    Report,
    V3User,
    discovery_request,
    read_reply,
    request,
)
from netmon.model import (
    AuthProtocol,
    Device,
    DeviceReading,
    PrivProtocol,
    Probe,
    Secret,
    SnmpSettings,
    SnmpV3,
)

from .conftest import Snmpd, _wait_snmp, free_udp_port, require, stop_process

pytestmark = pytest.mark.snmpd

SYS_NAME = (1, 3, 6, 1, 2, 1, 1, 5, 0)


@pytest.fixture
def udp(snmpd: Snmpd) -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(5.0)
    sock.connect(("127.0.0.1", snmpd.port))
    try:
        yield sock
    finally:
        sock.close()


def exchange(sock: socket.socket, data: bytes) -> bytes:
    sock.send(data)
    return sock.recv(65535)


def user(snmpd: Snmpd, auth_pass: str | None = None, name: str | None = None) -> V3User:
    return V3User(
        (name or snmpd.v3_user).encode(),
        "sha",
        (auth_pass or snmpd.v3_auth).encode(),
        "aes",
        snmpd.v3_priv.encode(),
    )


def discover(sock: socket.socket, who: V3User) -> Engine:
    msg_id, reply = read_reply(who, exchange(sock, discovery_request(101, 202)))
    assert msg_id == 101
    assert isinstance(reply, Report)
    assert reply.meaning is not None and reply.meaning.action == "discover"
    assert len(reply.engine.engine_id) >= 5 and reply.engine.boots >= 1
    return reply.engine


def test_discovery_then_an_authpriv_get(snmpd: Snmpd, udp: socket.socket) -> None:
    who = user(snmpd)
    engine = discover(udp, who)
    sent = request(who, engine, 7, GET, 4711, encode_varbinds([SYS_NAME]), salt=1)
    msg_id, reply = read_reply(who, exchange(udp, sent))
    assert msg_id == 7
    assert isinstance(reply, Response), reply
    assert (reply.request_id, reply.error_status, reply.varbinds) == (
        4711,
        0,
        [(SYS_NAME, "netmon-test")],
    )
    # The key is localised once per engine: a second request reuses it and reads the same.
    again = request(who, engine, 8, GET, 4712, encode_varbinds([SYS_NAME]), salt=2)
    assert read_reply(who, exchange(udp, again))[1] == Response(
        b"", 4712, 0, 0, [(SYS_NAME, "netmon-test")]
    )


def test_a_wrong_auth_key_and_an_unknown_user_get_named_reports(
    snmpd: Snmpd, udp: socket.socket
) -> None:
    right = user(snmpd)
    engine = discover(udp, right)
    wrong = user(snmpd, auth_pass="not-the-auth-key")
    _, reply = read_reply(
        wrong, exchange(udp, request(wrong, engine, 9, GET, 1, encode_varbinds([SYS_NAME]), 3))
    )
    assert isinstance(reply, Report)
    assert reply.meaning is not None
    assert (reply.meaning.name, reply.meaning.action) == ("usmStatsWrongDigests", "auth")
    assert "not-the-auth-key" not in repr(reply) + repr(wrong)
    nobody = user(snmpd, name="nobody-here")
    _, reply = read_reply(
        nobody, exchange(udp, request(nobody, engine, 10, GET, 2, encode_varbinds([SYS_NAME]), 4))
    )
    assert isinstance(reply, Report) and reply.meaning is not None
    assert reply.meaning.name == "usmStatsUnknownUserNames"


def test_a_reply_with_a_damaged_digest_or_body_is_refused(snmpd: Snmpd, udp: socket.socket) -> None:
    who = user(snmpd)
    engine = discover(udp, who)
    reply = exchange(udp, request(who, engine, 11, GET, 5, encode_varbinds([SYS_NAME]), 5))
    for at in (len(reply) - 1, len(reply) // 2):  # in the encrypted PDU, in the header
        damaged = reply[:at] + bytes((reply[at] ^ 0x01,)) + reply[at + 1 :]
        with pytest.raises(DigestError):
            read_reply(who, damaged)
    # A reply verified with another user's key is refused the same way.
    with pytest.raises(DigestError):
        read_reply(user(snmpd, auth_pass="another-auth-key"), reply)


# -- through the collector ---------------------------------------------------------------------

SYS_UPTIME = (1, 3, 6, 1, 2, 1, 1, 3, 0)


def v3_device(port: int, auth: str, priv: str, user: str, priv_protocol: PrivProtocol) -> Device:
    creds = SnmpV3(
        user, AuthProtocol.SHA, Secret("env:A", auth), priv_protocol, Secret("env:P", priv)
    )
    return Device("agent-v3", "127.0.0.1", SnmpSettings(creds, port, 0.5, 1))


def start_snmpd(workdir: Path, port: int) -> subprocess.Popen[bytes]:
    conf = workdir / "snmpd.conf"
    conf.write_text(
        f"agentAddress udp:127.0.0.1:{port}\nrocommunity restart-c 127.0.0.1\n"
        "createUser restarter SHA restart-authkey AES restart-privkey\n"
        "createUser desuser SHA restart-authkey DES restart-privkey\n"
        "createUser aes256user SHA restart-authkey AES-256 restart-privkey\n"
        "rouser restarter priv\nrouser desuser priv\nrouser aes256user priv\n"
        "sysName restart-test\n"
    )
    proc = subprocess.Popen(
        [shutil.which("snmpd") or "/usr/sbin/snmpd", "-f", "-m", "", "-C", "-c", str(conf),
         "-Lf", str(workdir / "snmpd.log")],
        env={**os.environ, "SNMP_PERSISTENT_DIR": str(workdir / "persist")},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    _wait_snmp(port, "restart-c", proc)
    return proc


def test_the_collector_reads_v3_over_its_own_path_and_follows_an_agent_restart(
    tmp_path: Path,
) -> None:
    """A poll over v3 (SHA/AES, SHA/DES, and SHA/AES-256 with net-snmp's key extension, the
    inventory's AES256) goes through netmon's own wire path, not pysnmp;
    the agent restarted (its engine boots go up, its time starts again) is followed: the next
    poll answers, after one resync."""
    require(Path(shutil.which("snmpd") or "/usr/sbin/snmpd").exists(), "snmpd not installed")
    port = free_udp_port()
    aes = v3_device(port, "restart-authkey", "restart-privkey", "restarter", PrivProtocol.AES)
    des = v3_device(port, "restart-authkey", "restart-privkey", "desuser", PrivProtocol.DES)
    aes256 = v3_device(
        port, "restart-authkey", "restart-privkey", "aes256user", PrivProtocol.AES256
    )
    # The same user read with Cisco's key extension: the agent cannot decrypt it (a wrong
    # choice of AES256 / AES256C is an auth or timeout reason, never a value).
    aes256c = v3_device(
        port, "restart-authkey", "restart-privkey", "aes256user", PrivProtocol.AES256C
    )
    probes = [Probe("uptime", SYS_UPTIME, "get")]

    async def go() -> tuple[list[DeviceReading], DeviceReading]:
        collector = SnmpCollector()
        readings = []
        try:
            proc = start_snmpd(tmp_path, port)
            try:
                readings.append(await collector.poll(aes, probes))
                readings.append(await collector.poll(des, probes))
                readings.append(await collector.poll(aes256, probes))
                wrong = await collector.poll(aes256c, probes)
            finally:
                stop_process(proc)
            proc = start_snmpd(tmp_path, port)  # -C: no persistent file, a new engine ID
            try:
                readings.append(await collector.poll(aes, probes))
            finally:
                stop_process(proc)
            assert collector._engine is None  # pysnmp never started: the own path read it all
            assert collector._v3.stats.discoveries >= 1
            assert collector._v3.stats.resyncs + collector._v3.stats.discoveries >= 2
        finally:
            collector.close()
        return readings, wrong

    readings, wrong = asyncio.run(go())
    for reading in readings:
        assert reading.ok, reading.detail
        assert isinstance(reading.values[SYS_UPTIME], int)
    assert not wrong.ok and SYS_UPTIME not in wrong.values, wrong
    # net-snmp decrypts with the wrong key into garbage, fails to parse it and drops it: no
    # Report, so the member's reason is a timeout (an agent that Reports it gives `auth`).
    assert wrong.reason in {"auth", "timeout"}, wrong
    assert "wrong privacy key or protocol (aes256c)" in (wrong.detail or "")
    assert "restart-privkey" not in repr(wrong)


def test_an_unauthenticated_time_window_report_is_not_believed() -> None:
    """A forged notInTimeWindow Report (no digest) must not move the agent's clock: only an
    authenticated one is taken (RFC 3414 3.2 step 7b)."""
    from netmon.collectors.v3msg import (
        REPORT,
        REPORTABLE,
        UsmParams,
        encode_message,
        encode_scoped_pdu,
    )

    stats = (1, 3, 6, 1, 6, 3, 15, 1, 1, 2, 0)
    # request-id 7, no error, one varbind: usmStatsNotInTimeWindows.0 = Counter32 1
    body = (
        b"\x02\x01\x07\x02\x01\x00\x02\x01\x00"
        + b"\x30\x11\x30\x0f\x06\x0a"
        + bytes([0x2B, 6, 1, 6, 3, 15, 1, 1, 2, 0])
        + b"\x41\x01\x01"
    )
    pdu = bytes([REPORT, len(body)]) + body
    params = UsmParams(b"\x80\x00\x1f\x88\x80forged", 99, 999, b"u", b"", b"")
    data, _ = encode_message(5, REPORTABLE, params, encode_scoped_pdu(b"", b"", pdu))
    who = V3User(b"u", None)
    _, reply = read_reply(who, data)
    assert isinstance(reply, Report) and reply.oid == stats
    assert reply.meaning is not None and reply.meaning.action == "resync"
    assert reply.authenticated is False
