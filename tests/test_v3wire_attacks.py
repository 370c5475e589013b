"""The v3 read path against someone on the management network: a fake agent on loopback
answers netmon's requests, and a second party (a spoofer who sees the plaintext msgID, or
another device of the fleet holding the same passphrases) answers too. What each test holds is
what an operator relies on: values come only from the device's own engine, a refusal anyone
could forge does not beat the device's signed answer, and a forged clock moves nothing."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bench.run import inventory_yaml
from netmon.collectors import usm
from netmon.collectors.snmp import SnmpCollector
from netmon.collectors.snmpwire import GET, Response, WireTimeout, _tlv, encode_oid
from netmon.collectors.trapwire import LocalEngine, NotificationReader
from netmon.collectors.v3msg import (
    AUTH,
    PRIV,
    REPORT,
    Message,
    UsmParams,
    decode_message,
    encode_message,
    encode_pdu,
    encode_scoped_pdu,
    scoped_pdu,
)
from netmon.collectors.v3wire import Engine, V3AuthError, V3Endpoint, V3User, request
from netmon.daemon import Daemon
from netmon.model import AuthProtocol, PrivProtocol, Secret, SnmpV3, TrapUser

SYS_UPTIME = (1, 3, 6, 1, 2, 1, 1, 3, 0)
ENGINE_X = b"\x80\x00\x1f\x88\x80" + b"device-X-000"  # the device netmon polls
ENGINE_Y = b"\x80\x00\x1f\x88\x80" + b"device-Y-000"  # another device, same user/passphrases
AUTH_PASS, PRIV_PASS = b"shared-auth-pass-1", b"shared-priv-pass-2"
USER = V3User(b"fleet", "sha256", AUTH_PASS, "aes", PRIV_PASS)
UNKNOWN_ENGINE = (1, 3, 6, 1, 6, 3, 15, 1, 1, 4, 0)
WRONG_DIGEST = (1, 3, 6, 1, 6, 3, 15, 1, 1, 5, 0)
NOT_IN_TIME = (1, 3, 6, 1, 6, 3, 15, 1, 1, 2, 0)
UPTIME = b"\x43\x02\x30\x39"  # TimeTicks 12345: the device's real answer


def sealed(
    engine_id: bytes, boots: int, etime: int, msg_id: int, pdu_type: int, rid: int, vb: bytes
) -> bytes:
    """A message signed and encrypted by a holder of USER's passphrases, for `engine_id`."""
    assert USER.auth is not None and USER.priv is not None
    scoped = encode_scoped_pdu(engine_id, b"", encode_pdu(pdu_type, rid, vb))
    key = usm.priv_key(USER.auth, USER.priv, USER.priv_pass, engine_id)
    scoped, priv_params = usm.encrypt(USER.priv, key, boots, etime, 1, scoped)
    params = UsmParams(engine_id, boots, etime, USER.name, bytes(24), priv_params)
    data, at = encode_message(msg_id, AUTH | PRIV, params, scoped, encrypted=True)
    digest = usm.sign(USER.auth, usm.localized_key(USER.auth, USER.auth_pass, engine_id), data)
    return data[:at] + digest + data[at + len(digest) :]


def report(msg_id: int, rid: int, engine_id: bytes, counter: tuple[int, ...]) -> bytes:
    """An unauthenticated Report, as agents send discovery answers and refusals."""
    vb = _tlv(0x30, _tlv(0x30, encode_oid(counter) + b"\x41\x01\x01"))
    scoped = encode_scoped_pdu(engine_id, b"", encode_pdu(REPORT, rid, vb))
    return encode_message(msg_id, 0, UsmParams(engine_id, 5, 1000, b"", b"", b""), scoped)[0]


def answer(msg_id: int, rid: int, engine_id: bytes = ENGINE_X) -> bytes:
    vb = _tlv(0x30, _tlv(0x30, encode_oid(SYS_UPTIME) + UPTIME))
    return sealed(engine_id, 5, 1000, msg_id, 0xA2, rid, vb)


def read_get(data: bytes) -> tuple[Message, int]:
    """(the message, its request-id) of netmon's encrypted GET."""
    msg = decode_message(data)
    assert msg.encrypted is not None
    key = usm.priv_key("sha256", "aes", PRIV_PASS, msg.usm.engine_id)
    plain = usm.decrypt("aes", key, msg.usm.boots, msg.usm.time, msg.usm.priv, msg.encrypted)
    return msg, scoped_pdu(plain).header.request_id


@dataclass
class Agent:
    """The fake device: its socket, and a second socket for a party at another port."""

    sock: socket.socket
    other: socket.socket
    endpoint: V3Endpoint

    @property
    def port(self) -> int:
        port: int = self.sock.getsockname()[1]
        return port

    async def recv(self) -> tuple[bytes, tuple[str, int]]:
        data, addr = await asyncio.get_running_loop().sock_recvfrom(self.sock, 65535)
        return data, addr

    async def send(self, data: bytes, to: tuple[str, int], other: bool = False) -> None:
        await asyncio.get_running_loop().sock_sendto(self.other if other else self.sock, data, to)

    async def discovered(self) -> tuple[Message, int, tuple[str, int]]:
        """Answer netmon's discovery as engine X; return netmon's GET that follows."""
        data, addr = await self.recv()
        msg = decode_message(data)
        assert msg.scoped is not None and not msg.usm.engine_id
        rid = scoped_pdu(data, *msg.scoped).header.request_id
        await self.send(report(msg.msg_id, rid, ENGINE_X, UNKNOWN_ENGINE), addr)
        data, addr = await self.recv()
        get, rid = read_get(data)
        return get, rid, addr


def run(scenario: Callable[[Agent, asyncio.Task[Response]], Awaitable[None]]) -> object:
    """Start netmon's GET of SYS_UPTIME (0.4 s a try, 2 tries) against a fake agent, play
    `scenario`, and return what the request gave: a Response or the exception."""

    async def go() -> object:
        socks = []
        for _ in range(2):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            s.setblocking(False)
            socks.append(s)

        async def resolve(host: str, p: int) -> tuple[int, tuple[str, int]]:
            return socket.AF_INET, (host, p)

        agent = Agent(socks[0], socks[1], V3Endpoint(resolve))
        task = asyncio.create_task(
            agent.endpoint.request("127.0.0.1", agent.port, USER, GET, [SYS_UPTIME], 0.4, 1)
        )
        try:
            await scenario(agent, task)
            try:
                return await task
            except (V3AuthError, WireTimeout) as exc:
                return exc
        finally:
            task.cancel()
            agent.endpoint.close()
            for s in socks:
                s.close()

    return asyncio.run(go())


def test_the_devices_signed_answer_beats_a_forged_refusal_sent_first() -> None:
    """A spoofer who saw the msgID sends an unauthenticated wrongDigest Report before the
    device answers: the device's authenticated Response, arriving later in the same try, is
    what the poll reads. Believing the first Report would put a false `auth` on the member."""

    async def scenario(agent: Agent, _task: asyncio.Task[Response]) -> None:
        get, rid, addr = await agent.discovered()
        await agent.send(report(get.msg_id, rid, ENGINE_X, WRONG_DIGEST), addr)
        await asyncio.sleep(0.1)
        await agent.send(answer(get.msg_id, rid), addr)

    got = run(scenario)
    assert isinstance(got, Response), got
    assert got.varbinds == [(SYS_UPTIME, 12345)]


def test_a_refusal_alone_is_believed_at_the_end_of_the_try() -> None:
    """With no signed answer, the agent's refusal is the reason: a wrong key is still named,
    one try later than the Report came, never retried into a timeout."""

    async def scenario(agent: Agent, _task: asyncio.Task[Response]) -> None:
        get, rid, addr = await agent.discovered()
        await agent.send(report(get.msg_id, rid, ENGINE_X, WRONG_DIGEST), addr)

    got = run(scenario)
    assert isinstance(got, V3AuthError), got
    assert str(got).startswith("usmStatsWrongDigests")


def test_a_response_signed_for_another_engine_is_refused() -> None:
    """Device Y (same user and passphrases, its own localised key) answers netmon's request to
    device X from X's address: refused before decoding (RFC 3412 7.2 step 12), and the
    device's own answer afterwards is read."""

    async def scenario(agent: Agent, _task: asyncio.Task[Response]) -> None:
        get, rid, addr = await agent.discovered()
        await agent.send(answer(get.msg_id, rid, ENGINE_Y), addr)
        await asyncio.sleep(0.05)
        assert agent.endpoint.stats.wrong_engine == 1
        await agent.send(answer(get.msg_id, rid), addr)

    got = run(scenario)
    assert isinstance(got, Response), got


def test_only_a_forged_engine_answering_is_an_auth_reason_not_a_value() -> None:
    async def scenario(agent: Agent, _task: asyncio.Task[Response]) -> None:
        get, rid, addr = await agent.discovered()
        await agent.send(answer(get.msg_id, rid, ENGINE_Y), addr)

    got = run(scenario)
    assert isinstance(got, V3AuthError), got
    assert "another engine" in str(got)


def test_a_reply_from_another_port_is_not_the_devices() -> None:
    """The device's perfectly signed answer, sent from another port than the one asked: not
    taken (a reply is matched by msgID and sender)."""

    async def scenario(agent: Agent, _task: asyncio.Task[Response]) -> None:
        get, rid, addr = await agent.discovered()
        await agent.send(answer(get.msg_id, rid), addr, other=True)

    got = run(scenario)
    assert isinstance(got, WireTimeout), got


def test_an_unauthenticated_time_window_report_moves_no_clock() -> None:
    """Anyone can claim the agent's clock is elsewhere; only a signed notInTimeWindow Report
    is taken (RFC 3414 3.2 step 7b). The forged one is dropped: no resync, and the device's
    answer in the same try is read."""

    async def scenario(agent: Agent, _task: asyncio.Task[Response]) -> None:
        get, rid, addr = await agent.discovered()
        await agent.send(report(get.msg_id, rid, ENGINE_X, NOT_IN_TIME), addr)
        await asyncio.sleep(0.05)
        await agent.send(answer(get.msg_id, rid), addr)

    got = run(scenario)
    assert isinstance(got, Response), got


def test_every_request_has_its_own_salt() -> None:
    """AES-CFB under one key must never see an IV twice (RFC 3826 3.1.2.1): consecutive
    requests carry different salts, from a random 64-bit start (not a small counter)."""
    engine = Engine(ENGINE_X, 5, 1000, 0.0)

    async def salts() -> list[bytes]:
        async def resolve(host: str, p: int) -> tuple[int, tuple[str, int]]:
            return socket.AF_INET, (host, p)

        endpoint = V3Endpoint(resolve)
        try:
            return [
                decode_message(
                    request(USER, engine, i + 1, GET, 7, b"\x30\x00", endpoint._next_salt())
                ).usm.priv
                for i in range(4)
            ]
        finally:
            endpoint.close()

    got = asyncio.run(salts())
    assert len(set(got)) == 4, got
    assert any(int.from_bytes(s, "big") >= 1 << 32 for s in got), got


@pytest.mark.parametrize("elapsed", [0.0, 7.0, 3600.0])
def test_a_requests_time_is_the_engines_moved_on_by_netmons_clock(elapsed: float) -> None:
    """The engine time a request claims is what was learned plus the time since (RFC 3414
    2.3): a clock that stood still would fall out of the agent's window after 150 s."""
    engine = Engine(ENGINE_X, 5, 1000, 100.0)
    data = request(USER, engine, 1, GET, 7, b"\x30\x00", 1, clock=lambda: 100.0 + elapsed)
    assert decode_message(data).usm.time == 1000 + int(elapsed)


# -- what a long-running daemon keeps --------------------------------------------------------


def test_key_caches_do_not_thrash_for_a_reeder_fleet_larger_than_the_cache(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A Cisco fleet (AES192C/AES256C: a Reeder key per engine) larger than a small cache,
    polled round-robin: the second round redoes no 1 MiB expansion (each ~1.4 ms of CPU; at
    5,000 devices x 5 requests / 30 s a missing cache was ~1.2 cores). The per-engine keys live
    in the per-engine cache, never in the users' passphrase cache. The expansion is shortened
    here (usm._EXPANSION) so the test is cheap; the caching is what is measured."""
    monkeypatch.setattr(usm, "_EXPANSION", 64)
    usm.clear_key_cache()
    try:
        engines = [b"\x80\x00\x00\x09\x03" + i.to_bytes(4) for i in range(4200)]
        for engine in engines:
            usm.priv_key("sha", "aes256c", PRIV_PASS, engine)
        before = usm._passphrase_key.cache_info().misses
        for engine in engines:
            usm.priv_key("sha", "aes256c", PRIV_PASS, engine)
        expansions = usm._passphrase_key.cache_info().misses - before
    finally:
        usm.clear_key_cache()
    assert expansions == 0, f"{expansions} 1 MiB expansions in a second round over 4200 devices"


def test_reloads_do_not_grow_the_v3_user_table() -> None:
    """The collector's v3 users (passphrases in clear) are rebuilt after a reload, not kept
    for the daemon's lifetime beside the new ones: one entry after three reloads."""
    collector = SnmpCollector()
    for _ in range(3):  # three reloads of the same inventory
        creds = SnmpV3(
            "fleet",
            AuthProtocol.SHA256,
            Secret("env:R_AUTH", AUTH_PASS.decode()),
            PrivProtocol.AES,
            Secret("env:R_PRIV", PRIV_PASS.decode()),
        )
        collector._v3_user(creds)
        collector.forget_credentials()  # what Daemon.reload does with the new inventory
    collector._v3_user(creds)
    assert len(collector._v3_users) == 1, f"{len(collector._v3_users)} entries after 3 reloads"


def test_a_daemon_reload_forgets_the_old_v3_users(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Daemon.reload hands the collector's v3 users (passphrases included) back: the next
    request builds them from the new inventory."""
    path = tmp_path / "v3.yaml"
    path.write_text(inventory_yaml(2, 30.0, v3=True))
    monkeypatch.setenv("NETMON_BENCH_AUTH", "bench-auth-pass")
    monkeypatch.setenv("NETMON_BENCH_PRIV", "bench-priv-pass")
    daemon = Daemon(path, ("127.0.0.1", 0))
    daemon.scheduler = AsyncIOScheduler()  # never started: reload only reschedules
    creds = daemon.inventory.devices["a0"].snmp
    assert creds is not None and isinstance(creds.credentials, SnmpV3)
    daemon.snmp._v3_user(creds.credentials)
    assert daemon.reload()
    assert daemon.snmp._v3_users == {}
    daemon.snmp.close()


def test_reprs_hold_no_key_material() -> None:
    """What a log line or a traceback could print of a user holds no passphrase or key."""
    creds = SnmpV3(
        "fleet",
        AuthProtocol.SHA256,
        Secret("env:R_AUTH", AUTH_PASS.decode()),
        PrivProtocol.AES,
        Secret("env:R_PRIV", PRIV_PASS.decode()),
    )
    trap_reader = NotificationReader(
        b"public", (TrapUser(creds, None),), LocalEngine(ENGINE_Y, 7, 0.0)
    )
    text = repr(trap_reader._users) + repr(USER) + repr(creds)
    for secret in (AUTH_PASS, PRIV_PASS):
        assert secret.decode() not in text
    assert usm.localized_key("sha256", AUTH_PASS, ENGINE_X).hex() not in text
