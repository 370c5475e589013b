"""Every auth x priv combination Debian's net-snmp 5.9.3 snmpd supports, against one real snmpd,
through netmon's own v3 path (`V3Endpoint`) and through `SnmpCollector` (every protocol its
table `snmp._V3_PRIV` maps: reads all go over the own path); the refusals a real agent gives,
read to named reasons; an agent restarted mid-run (engine boots up; a new engine ID) followed
without a failed poll.

What this snmpd supports (evidence: `snmpd -H` lists createUser's auth protocols MD5, SHA,
SHA-224 .. SHA-512; libnetsnmp carries usmAES192/256PrivProtocol (Blumenthal) and
usmAES192/256CiscoPrivProtocol (Reeder), so createUser takes AES192, AES256, AES192C and
AES256C besides DES and AES, though `snmpd -H` prints only "DES|AES"; 3DES is refused with
"Error: unknown privProtocol"): 6 auth protocols x (no privacy + DES, AES, AES128, AES192,
AES256, AES192C, AES256C), and noAuthNoPriv: every one a user of the one agent below.

One agent serves the whole module (a module fixture); each test opens its own endpoint or
collector, so a test finds whatever engine the agent has (the restart test changes it) by
discovery, as netmon does.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from netmon.collectors import snmp, usm
from netmon.collectors.snmp import SnmpCollector
from netmon.collectors.snmpwire import GET, Response, SnmpWire, WireTimeout, encode_varbinds
from netmon.collectors.v3msg import (
    AUTH,
    PRIV,
    REPORTABLE,
    UsmParams,
    encode_message,
    encode_pdu,
    encode_scoped_pdu,
)
from netmon.collectors.v3wire import (
    Engine,
    Report,
    V3AuthError,
    V3Endpoint,
    V3User,
    read_reply,
)
from netmon.model import (
    Device,
    DeviceReading,
    Probe,
    Secret,
    SnmpSettings,
    SnmpV3,
)

from .conftest import _wait_snmp, free_udp_port, require, stop_process

pytestmark = pytest.mark.snmpd

SYS_NAME = (1, 3, 6, 1, 2, 1, 1, 5, 0)
SNMP_IN_ASN_PARSE_ERRS = (1, 3, 6, 1, 2, 1, 11, 6, 0)
USM_STATS_DECRYPTION_ERRORS = (1, 3, 6, 1, 6, 3, 15, 1, 1, 6, 0)
COMMUNITY = "matrix-c-xq"
AUTH_PASS = "matrix-authkey-xq"
PRIV_PASS = "matrix-privkey-xq"
WRONG_PASS = "not-the-right-key-xq"
# netmon's protocol names and net-snmp's createUser spelling of the same protocol.
NET_SNMP_AUTH = {
    "md5": "MD5", "sha": "SHA", "sha224": "SHA-224", "sha256": "SHA-256", "sha384": "SHA-384",
    "sha512": "SHA-512",
}  # fmt: skip
NET_SNMP_PRIV = {
    "des": "DES", "aes": "AES", "aes128": "AES128", "aes192": "AES192", "aes256": "AES256",
    "aes192c": "AES192C", "aes256c": "AES256C",
}  # fmt: skip
assert set(NET_SNMP_AUTH) == set(usm.AUTH_PROTOCOLS)
assert set(NET_SNMP_PRIV) == set(usm.PRIV_PROTOCOLS)
COMBINATIONS: list[tuple[str | None, str | None]] = [
    (None, None),
    *((auth, None) for auth in usm.AUTH_PROTOCOLS),
    *((auth, priv) for auth in usm.AUTH_PROTOCOLS for priv in usm.PRIV_PROTOCOLS),
]


def user_name(auth: str | None, priv: str | None) -> str:
    return f"m-{auth or 'none'}-{priv or 'none'}"


def v3user(auth: str | None, priv: str | None, name: str | None = None) -> V3User:
    name_bytes = (name or user_name(auth, priv)).encode()
    if auth is None:
        return V3User(name_bytes, None)
    return V3User(name_bytes, auth, AUTH_PASS.encode(), priv, PRIV_PASS.encode() if priv else b"")


def conf(port: int) -> str:
    lines = [f"agentAddress udp:127.0.0.1:{port}", f"rocommunity {COMMUNITY} 127.0.0.1"]
    for auth, priv in COMBINATIONS:
        name = user_name(auth, priv)
        if auth is None:
            lines += [f"createUser {name}", f"rouser {name} noauth"]
        elif priv is None:
            lines += [f"createUser {name} {NET_SNMP_AUTH[auth]} {AUTH_PASS}", f"rouser {name} auth"]
        else:
            lines += [
                f"createUser {name} {NET_SNMP_AUTH[auth]} {AUTH_PASS} {NET_SNMP_PRIV[priv]} "
                f"{PRIV_PASS}",
                f"rouser {name} priv",
            ]
    # A user that has privacy keys but whose VACM access asks only for auth: any level from
    # authNoPriv up reads; and an authPriv user asked below its level gets no access.
    lines += [f"createUser authmin SHA {AUTH_PASS} AES {PRIV_PASS}", "rouser authmin auth"]
    lines += ["sysName netmon-matrix", ""]
    return "\n".join(lines)


@dataclass
class Agentd:
    """The module's snmpd: one process at a time, restartable on the same port."""

    binary: str
    port: int
    workdir: Path
    proc: subprocess.Popen[bytes] | None = None
    persist: int = 0  # which persistent directory: a new one is a new engine ID

    def start(self) -> None:
        (self.workdir / "snmpd.conf").write_text(conf(self.port))
        log = self.workdir / "snmpd.log"
        log.write_text("")
        persist = self.workdir / f"persist{self.persist}"
        # Not `-C -c conf` (tests/test_v3wire.py, bench/fleet.py): -C skips the persistent
        # directory's snmpd.conf too, so engineBoots and the engine ID were never read back and
        # every start was a new engine (boots 1). The search path instead: this directory's
        # snmpd.conf, then the persistent one (oldEngineID, engineBoots, the users), nothing of
        # /etc. -I -smux: no SMUX listener on the shared port 199.
        self.proc = subprocess.Popen(
            [self.binary, "-f", "-m", "", "-I", "-smux", "-Lf", str(log)],
            env={**os.environ, "SNMPCONFPATH": f"{self.workdir}:{persist}",
                 "SNMP_PERSISTENT_DIR": str(persist)},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        _wait_snmp(self.port, COMMUNITY, self.proc)
        assert "Error" not in log.read_text(), log.read_text()  # every createUser was taken

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None

    def restart(self, new_engine_id: bool = False) -> None:
        self.stop()
        if new_engine_id:
            self.persist += 1
        self.start()


@pytest.fixture(scope="module")
def agentd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agentd]:
    binary = shutil.which("snmpd") or (
        "/usr/sbin/snmpd" if Path("/usr/sbin/snmpd").exists() else None
    )
    require(binary is not None, "net-snmp snmpd is not installed (make test installs it)")
    assert binary is not None
    agent = Agentd(binary, free_udp_port(), tmp_path_factory.mktemp("snmpd-matrix"))
    agent.start()
    try:
        yield agent
    finally:
        agent.stop()


async def _resolve(host: str, port: int) -> tuple[int, tuple[str, int]]:
    return socket.AF_INET, (host, port)


async def get(
    endpoint: V3Endpoint, agent: Agentd, who: V3User, per_try: float = 0.5, retries: int = 1
) -> Response:
    return await endpoint.request("127.0.0.1", agent.port, who, GET, [SYS_NAME], per_try, retries)


def endpoint_get(agent: Agentd, who: V3User, per_try: float = 0.5, retries: int = 1) -> Response:
    async def go() -> Response:
        endpoint = V3Endpoint(_resolve)
        try:
            return await get(endpoint, agent, who, per_try, retries)
        finally:
            endpoint.close()

    return asyncio.run(go())


# -- the matrix --------------------------------------------------------------------------------


@pytest.mark.parametrize(("auth", "priv"), COMBINATIONS, ids=[user_name(*c) for c in COMBINATIONS])
def test_every_combination_reads_through_the_endpoint(
    agentd: Agentd, auth: str | None, priv: str | None
) -> None:
    reply = endpoint_get(agentd, v3user(auth, priv))
    assert (reply.error_status, reply.varbinds) == (0, [(SYS_NAME, "netmon-matrix")])


# The collector's own names for netmon's protocols, from its own table (snmp._V3_AUTH and
# _V3_PRIV): whatever it maps, it reads over the own path; "aes128" is only usm's alias of "aes".
COLLECTOR_AUTH = {name: proto for proto, name in snmp._V3_AUTH.items()}
COLLECTOR_PRIV = {name: proto for proto, name in snmp._V3_PRIV.items()}
THROUGH_COLLECTOR = [c for c in COMBINATIONS if c[1] is None or c[1] in COLLECTOR_PRIV]


def device(
    agent: Agentd, auth: str | None, priv: str | None, name: str | None = None,
    auth_pass: str = AUTH_PASS, priv_pass: str = PRIV_PASS, timeout: float = 0.5,
) -> Device:  # fmt: skip
    creds = SnmpV3(
        name or user_name(auth, priv),
        COLLECTOR_AUTH[auth] if auth else None,
        Secret("env:A", auth_pass) if auth else None,
        COLLECTOR_PRIV[priv] if priv else None,
        Secret("env:P", priv_pass) if priv else None,
    )
    return Device("matrix", "127.0.0.1", SnmpSettings(creds, agent.port, timeout, 1))


def poll(*devices: Device) -> tuple[list[DeviceReading], SnmpCollector]:
    async def go() -> tuple[list[DeviceReading], SnmpCollector]:
        collector = SnmpCollector()
        try:
            return [await collector.poll(d, [Probe("name", SYS_NAME, "get")]) for d in devices], (
                collector
            )
        finally:
            collector.close()

    return asyncio.run(go())


@pytest.mark.parametrize(
    ("auth", "priv"), THROUGH_COLLECTOR, ids=[user_name(*c) for c in THROUGH_COLLECTOR]
)
def test_the_collector_reads_every_combination(
    agentd: Agentd, auth: str | None, priv: str | None
) -> None:
    (reading,), collector = poll(device(agentd, auth, priv))
    assert reading.ok, reading.detail
    assert reading.values[SYS_NAME] == "netmon-matrix"
    assert collector._engine is None  # pysnmp never started: the own path read it
    # Its names are net-snmp's: AES192 is the agent's AES192 (Blumenthal), AES192C its Reeder.
    assert priv is None or COLLECTOR_PRIV[priv].value.lower() == priv


# -- refusals, named ---------------------------------------------------------------------------


def refusal(agent: Agentd, who: V3User) -> str:
    with pytest.raises(V3AuthError) as caught:
        endpoint_get(agent, who)
    return str(caught.value)


@pytest.mark.parametrize(("auth", "priv"), [("md5", "des"), ("sha", "aes"), ("sha512", None)])
def test_a_wrong_auth_key_is_a_wrong_digest_never_the_key(
    agentd: Agentd, auth: str, priv: str | None
) -> None:
    who = v3user(auth, priv)
    wrong = V3User(who.name, auth, WRONG_PASS.encode(), priv, who.priv_pass)
    reason = refusal(agentd, wrong)
    assert reason.startswith("usmStatsWrongDigests"), reason
    (reading,), _ = poll(device(agentd, "sha", "aes", auth_pass=WRONG_PASS))
    assert not reading.ok and reading.reason == "auth"
    assert "usmStatsWrongDigests" in (reading.detail or "")
    for text in (reason, reading.detail or "", repr(reading)):
        assert WRONG_PASS not in text and AUTH_PASS not in text and PRIV_PASS not in text


def counter(agent: Agentd, oid: tuple[int, ...]) -> int:
    async def go() -> int:
        wire = SnmpWire()
        try:
            reply = await wire.request(
                "127.0.0.1", agent.port, COMMUNITY.encode(), GET, [oid], 1.0, 1
            )
        finally:
            wire.close()
        value = reply.varbinds[0][1]
        assert isinstance(value, int)
        return value

    return asyncio.run(go())


def test_a_wrong_priv_key_is_dropped_by_net_snmp_and_counted_as_a_parse_error(
    agentd: Agentd,
) -> None:
    """net-snmp sends no usmStatsDecryptionErrors for a wrong privacy key: CFB and CBC
    "decrypt" anything, the garbage fails the agent's BER parse and the agent drops it
    (snmpInASNParseErrs + 1). So the poll times out; the reason cannot name the key. A wrong
    AES-192/256 key extension (Blumenthal for Reeder) is the same wrong key to the agent."""
    before = counter(agentd, SNMP_IN_ASN_PARSE_ERRS)
    wrong_key = V3User(b"m-sha-aes", "sha", AUTH_PASS.encode(), "aes", WRONG_PASS.encode())
    wrong_extension = v3user("sha", "aes192c", name="m-sha-aes192")  # Reeder for Blumenthal
    for who in (wrong_key, wrong_extension):
        with pytest.raises(WireTimeout):
            endpoint_get(agentd, who, per_try=0.3, retries=0)
    # Through the collector: a wrong key, and a Cisco-style AES192C for net-snmp's AES192 user.
    wrong, crossed = poll(
        device(agentd, "sha", "aes", priv_pass=WRONG_PASS, timeout=0.3),
        device(agentd, "sha", "aes192c", name="m-sha-aes192", timeout=0.3),
    )[0]
    for reading in (wrong, crossed):
        assert not reading.ok and reading.reason == "timeout", reading
        assert WRONG_PASS not in repr(reading)
        # What can be said is said: the engine answered discovery, this user never did.
        assert "a wrong privacy key or protocol" in (reading.detail or ""), reading
    # Each collector request is tried twice (retries 1).
    assert counter(agentd, SNMP_IN_ASN_PARSE_ERRS) == before + 2 + 4


def test_a_key_no_usm_can_use_is_a_clear_error_not_an_exception(agentd: Agentd) -> None:
    """An empty key (the loader refuses one; a Device built in code may not) is the member's
    error naming the setting, never a library exception out of poll()."""
    (reading,), _ = poll(device(agentd, "sha", "aes", auth_pass=""))
    assert not reading.ok
    assert "SNMPv3 settings" in (reading.detail or ""), reading


def test_privacy_parameters_net_snmp_cannot_use_are_a_named_decryption_error(
    agentd: Agentd,
) -> None:
    """The decryption problem net-snmp does name (RFC 3414 3.2 step 8a): msgPrivacyParameters
    that are not 8 bytes. A correctly signed request with a 7-byte salt gets the authenticated
    usmStatsDecryptionErrors Report, which netmon reads to an `auth` action."""
    who = v3user("sha", "aes")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(2.0)
        sock.connect(("127.0.0.1", agentd.port))
        discovery = endpoint_engine(agentd)
        key = usm.priv_key("sha", "aes", who.priv_pass, discovery.engine_id)
        scoped = encode_scoped_pdu(
            discovery.engine_id, b"", encode_pdu(GET, 5, encode_varbinds([SYS_NAME]))
        )
        ciphertext, salt = usm.encrypt("aes", key, discovery.boots, discovery.time, 1, scoped)
        params = UsmParams(
            discovery.engine_id, discovery.boots, discovery.time, who.name, bytes(12), salt[:7]
        )
        data, at = encode_message(9, AUTH | PRIV | REPORTABLE, params, ciphertext, True)
        auth_key = usm.localized_key("sha", who.auth_pass, discovery.engine_id)
        data = data[:at] + usm.sign("sha", auth_key, data) + data[at + 12 :]
        before = counter(agentd, USM_STATS_DECRYPTION_ERRORS)
        sock.send(data)
        msg_id, report = read_reply(who, sock.recv(65535))
    assert msg_id == 9 and isinstance(report, Report) and report.meaning is not None
    assert (report.meaning.name, report.meaning.action) == ("usmStatsDecryptionErrors", "auth")
    assert counter(agentd, USM_STATS_DECRYPTION_ERRORS) == before + 1


def endpoint_engine(agent: Agentd) -> Engine:
    """The agent's engine as netmon's endpoint learns it (discovery), with its time as of now."""

    async def go() -> Engine:
        endpoint = V3Endpoint(_resolve)
        try:
            await get(endpoint, agent, v3user(None, None))
            engine = endpoint._engines[("127.0.0.1", agent.port)]
            return Engine(engine.engine_id, engine.boots, engine.now(), 0.0)
        finally:
            endpoint.close()

    return asyncio.run(go())


def test_an_unknown_user_is_named(agentd: Agentd) -> None:
    reason = refusal(agentd, V3User(b"nobody-here", "sha", AUTH_PASS.encode(), "aes", b"x" * 8))
    assert reason.startswith("usmStatsUnknownUserNames"), reason
    (reading,), _ = poll(device(agentd, "sha", "aes", name="nobody-here"))
    assert not reading.ok and reading.reason == "auth"
    assert "usmStatsUnknownUserNames" in (reading.detail or "")


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        # A user created without privacy, asked at authPriv; a noAuth user asked at authNoPriv:
        # USM refuses the level itself (RFC 3414 3.2 step 5).
        (v3user("sha", "aes", name="m-sha-none"), "usmStatsUnsupportedSecLevels"),
        (v3user("sha", None, name="m-none-none"), "usmStatsUnsupportedSecLevels"),
    ],
    ids=["authNoPriv-user-at-authPriv", "noAuth-user-at-authNoPriv"],
)
def test_a_level_the_user_does_not_have_is_named(
    agentd: Agentd, who: V3User, expected: str
) -> None:
    assert refusal(agentd, who).startswith(expected)


def test_a_level_below_the_users_access_is_an_authorization_error(agentd: Agentd) -> None:
    """Below the `rouser ... priv` level the user exists and USM accepts the request; VACM
    then refuses it: a Response with error-status authorizationError (16), which the collector
    names. A user whose access asks only for auth reads at authNoPriv and authPriv alike."""
    for who in (v3user(None, None, name="m-sha-aes"), v3user("sha", None, name="m-sha-aes")):
        reply = endpoint_get(agentd, who)
        assert reply.error_status == 16, reply
    (reading,), _ = poll(device(agentd, "sha", None, name="m-sha-aes"))
    assert not reading.ok and "authorizationError" in (reading.detail or ""), reading
    for who in (v3user("sha", None, name="authmin"), v3user("sha", "aes", name="authmin")):
        assert endpoint_get(agentd, who).varbinds == [(SYS_NAME, "netmon-matrix")]


# -- the agent restarted mid-run ---------------------------------------------------------------

RESTART_USERS = [
    v3user(None, None),
    v3user("sha", "aes"),
    v3user("md5", "des"),
    v3user("sha256", None),
]


def test_an_agent_restart_is_followed_without_a_failed_poll(agentd: Agentd) -> None:
    """One endpoint and one collector live through two restarts: the same persistent directory
    (the same engine ID, boots + 1, time from 0: one authenticated notInTimeWindow, one resync)
    and a fresh one (a new engine ID: usmStatsUnknownEngineIDs, one rediscovery). Every poll
    after each restart answers; nothing fails in between."""
    target = ("127.0.0.1", agentd.port)
    # The endpoint's first request after a restart is noAuth (no time window: the engine ID
    # change is what it meets), the collector's authPriv (the boots change, then the new ID).
    own = [device(agentd, a, p) for a, p in (("sha", "aes"), (None, None), ("md5", "des"))]

    async def round_of_polls(endpoint: V3Endpoint, collector: SnmpCollector) -> None:
        for who in RESTART_USERS:
            reply = await get(endpoint, agentd, who)
            assert reply.varbinds == [(SYS_NAME, "netmon-matrix")], who
        for d in own:
            reading = await collector.poll(d, [Probe("name", SYS_NAME, "get")])
            assert reading.ok, reading.detail

    async def go() -> None:
        endpoint, collector = V3Endpoint(_resolve), SnmpCollector()
        try:
            await round_of_polls(endpoint, collector)
            first = endpoint._engines[target]
            assert endpoint.stats.discoveries == 1 and endpoint.stats.resyncs == 0

            agentd.restart()
            await round_of_polls(endpoint, collector)
            second = endpoint._engines[target]
            assert second.engine_id == first.engine_id and second.boots == first.boots + 1
            # One resync: the first authenticated request after the restart; then the engine
            # is known again. The noAuth request before it needs no time window.
            assert (endpoint.stats.discoveries, endpoint.stats.resyncs) == (1, 1)

            agentd.restart(new_engine_id=True)
            await round_of_polls(endpoint, collector)
            third = endpoint._engines[target]
            assert third.engine_id != first.engine_id
            assert (endpoint.stats.discoveries, endpoint.stats.resyncs) == (2, 1)
            assert collector._engine is None
            assert collector._v3.stats.discoveries == 2 and collector._v3.stats.resyncs == 1
        finally:
            endpoint.close()
            collector.close()

    asyncio.run(go())
