"""Hostile SNMPv3 replies against netmon's reader (`v3wire.read_reply`) and the endpoint that
calls it (`V3Endpoint._deliver`, where every datagram of the socket lands).

What read_reply documents: a reply is a Response or a Report, or it raises WireError
(malformed, before or after decryption) or its subclass DigestError (the digest does not
verify, or a Response comes less authenticated than the request). Nothing else, whatever the
bytes. And the security property the digest exists for: no byte of an authenticated reply can
change, anywhere (header, USM parameters, digest, ciphertext), and still give a decoded PDU;
a Response cannot be downgraded to a plaintext or unauthenticated one either. The endpoint
never raises out of `_deliver` (it runs in the event loop's datagram callback) and never
resolves a request with a reply refused.

The valid replies damaged here are pysnmp's (tests/v3_agent.py): a real agent's USM signed and
encrypted them, with each privacy protocol and key extension, so the offsets are not netmon's
own idea of where the fields sit.
"""

from __future__ import annotations

import asyncio
import functools
import socket
from collections.abc import Callable, Iterator
from typing import cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pysnmp.proto import rfc1902, rfc1905
from pysnmp.proto.api import v2c

from netmon.collectors import usm
from netmon.collectors.snmpwire import (
    GET,
    RESPONSE,
    Response,
    WireError,
    WireTimeout,
    encode_varbinds,
)
from netmon.collectors.v3msg import (
    AUTH,
    PRIV,
    UsmParams,
    decode_message,
    encode_message,
    encode_pdu,
    encode_scoped_pdu,
)
from netmon.collectors.v3wire import (
    DigestError,
    Engine,
    Report,
    V3AuthError,
    V3Endpoint,
    V3User,
    _V3Pending,
    read_reply,
    request,
)
from netmon.model import Missing, Oid, Value

from .helpers import fuzz_examples
from .v3_agent import Incoming, shared

ENGINE_ID = b"\x80\x00\x1f\x88\x80netmon-fuzz"
PEER = ("127.0.0.1", 16100)
MSG_ID = 4711
SYS_DESCR = (1, 3, 6, 1, 2, 1, 1, 1, 0)
IF_HC_IN = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6, 1)
# One user per privacy protocol (the key extensions too) and per MAC length, and authNoPriv.
USERS = [
    V3User(b"fz-md5-des", "md5", b"authpass-fz", "des", b"privpass-fz"),
    V3User(b"fz-sha-aes", "sha", b"authpass-fz", "aes", b"privpass-fz"),
    V3User(b"fz-sha224-aes192", "sha224", b"authpass-fz", "aes192", b"privpass-fz"),
    V3User(b"fz-sha256-aes256c", "sha256", b"authpass-fz", "aes256c", b"privpass-fz"),
    V3User(b"fz-sha384-aes192c", "sha384", b"authpass-fz", "aes192c", b"privpass-fz"),
    V3User(b"fz-sha512-aes256", "sha512", b"authpass-fz", "aes256", b"privpass-fz"),
    V3User(b"fz-sha-authnopriv", "sha", b"authpass-fz"),
]
SYS_CONTACT = (1, 3, 6, 1, 2, 1, 1, 4, 0)
EXPECTED: list[tuple[Oid, Value]] = [
    (SYS_DESCR, "Linux r1 \xff"),
    (IF_HC_IN, 2**64 - 1),
    (SYS_CONTACT, Missing.NO_SUCH_OBJECT),
]


@functools.cache
def valid_reply(user: V3User) -> bytes:
    """A Response pysnmp's USM built for `user`: a string, a Counter64 and noSuchObject."""
    a = shared()
    a.set_engine(ENGINE_ID, 3, 100_000)
    a.add_user(user, ENGINE_ID)
    engine = Engine(ENGINE_ID, 3, 100_000, 0.0)
    data = request(user, engine, MSG_ID, GET, 99, encode_varbinds([SYS_DESCR]), 1, lambda: 0.0)
    incoming = a.receive(data)
    assert isinstance(incoming, Incoming)
    reply = a.respond(
        incoming,
        [
            (SYS_DESCR, rfc1902.OctetString(b"Linux r1 \xff")),
            (IF_HC_IN, rfc1902.Counter64(2**64 - 1)),
            (SYS_CONTACT, rfc1905.noSuchObject),
        ],
    )
    assert read_reply(user, reply) == (MSG_ID, Response(b"", 99, 0, 0, EXPECTED))
    return reply


def refused(user: V3User, data: bytes) -> WireError:
    """read_reply's documented refusal of `data`; any other exception fails the test."""
    try:
        got = read_reply(user, data)
    except WireError as exc:
        return exc
    raise AssertionError(f"decoded: {got}")


def outcome(user: V3User, data: bytes) -> tuple[int, Response | Report] | WireError:
    try:
        return read_reply(user, data)
    except WireError as exc:
        return exc


USER_IDS = [u.name.decode() for u in USERS]


@pytest.mark.parametrize("user", USERS, ids=USER_IDS)
def test_every_truncation_is_refused(user: V3User) -> None:
    reply = valid_reply(user)
    for cut in range(len(reply)):
        refused(user, reply[:cut])
    # And a byte more: stray bytes after the message.
    refused(user, reply + b"\x00")


def damaged(reply: bytes) -> Iterator[tuple[int, bytes]]:
    """Each byte of the reply changed: low and high bit flipped, zeroed, all ones."""
    for at, byte in enumerate(reply):
        for new in {byte ^ 0x01, byte ^ 0x80, 0x00, 0xFF} - {byte}:
            yield at, reply[:at] + bytes((new,)) + reply[at + 1 :]


@pytest.mark.parametrize("user", USERS, ids=USER_IDS)
def test_every_damaged_byte_is_refused_and_never_decoded(user: V3User) -> None:
    """The digest covers every byte: whatever one byte becomes, the reply is refused. A damage
    that leaves the framing readable (and the authFlag set) is refused for its digest."""
    reply = valid_reply(user)
    kinds = {"digest": 0, "framing": 0}
    for at, data in damaged(reply):
        exc = refused(user, data)
        try:
            msg = decode_message(data)
        except WireError:
            kinds["framing"] += 1
            continue
        if msg.flags & AUTH:
            assert isinstance(exc, DigestError), (at, exc)
            kinds["digest"] += 1
    # Both kinds happen: the digest, not a lucky framing error, refuses most of the damage.
    assert kinds["digest"] > kinds["framing"] > 0, kinds


@settings(max_examples=fuzz_examples(200), deadline=None)
@given(user=st.sampled_from(USERS), data=st.data())
def test_random_damage_is_refused(user: V3User, data: st.DataObject) -> None:
    """A few bytes changed at once, anywhere (the exhaustive test changes one)."""
    reply = bytearray(valid_reply(user))
    for _ in range(data.draw(st.integers(1, 4))):
        reply[data.draw(st.integers(0, len(reply) - 1))] = data.draw(st.integers(0, 255))
    if bytes(reply) != valid_reply(user):
        refused(user, bytes(reply))


@settings(max_examples=fuzz_examples(300), deadline=None)
@given(user=st.sampled_from(USERS), data=st.binary(max_size=400))
def test_any_bytes_are_refused_with_a_wire_error(user: V3User, data: bytes) -> None:
    outcome(user, data)  # a WireError or a decoded reply: never another exception


@settings(max_examples=fuzz_examples(200), deadline=None)
@given(
    user=st.sampled_from(USERS),
    engine_id=st.one_of(st.just(ENGINE_ID), st.binary(max_size=32)),
    boots=st.integers(0, 2**31 - 1),
    clock=st.integers(0, 2**31 - 1),
    digest=st.binary(max_size=48),
    salt=st.binary(max_size=16),
    ciphertext=st.binary(min_size=1, max_size=200),
)
def test_well_framed_forgeries_fail_their_digest(
    user: V3User,
    engine_id: bytes,
    boots: int,
    clock: int,
    digest: bytes,
    salt: bytes,
    ciphertext: bytes,
) -> None:
    """Any authenticated (and encrypted) message nobody holding the key signed: refused for its
    digest, before its ciphertext is looked at, whatever its engine ID. An empty one raised
    usm.UsmError (a ValueError, not a WireError) out of read_reply and the endpoint before
    v3wire checked for it."""
    flags = AUTH | PRIV if user.priv else AUTH
    params = UsmParams(engine_id, boots, clock, user.name, digest, salt)
    scoped = ciphertext if user.priv else encode_scoped_pdu(engine_id, b"", ciphertext)
    data, _ = encode_message(MSG_ID, flags, params, scoped, encrypted=bool(user.priv))
    assert isinstance(refused(user, data), DigestError)


# -- downgrades --------------------------------------------------------------------------------


def plaintext_response(user: V3User, flags: int, msg_id: int = MSG_ID) -> bytes:
    """A Response (sysDescr.0 = "x") for `user` below its level, or at it: unauthenticated
    (flags 0), or signed with the right auth key but not encrypted (flags AUTH)."""
    varbinds = bytes.fromhex("300f 300d 06082b06010201010100 040178")  # sysDescr.0 = "x"
    scoped = encode_scoped_pdu(ENGINE_ID, b"", encode_pdu(RESPONSE, 99, varbinds))
    digest = bytes(usm.digest_length(user.auth)) if flags & AUTH and user.auth else b""
    params = UsmParams(ENGINE_ID, 3, 100_000, user.name, digest, b"")
    data, at = encode_message(msg_id, flags, params, scoped)
    if digest and user.auth:
        key = usm.localized_key(user.auth, user.auth_pass, ENGINE_ID)
        data = data[:at] + usm.sign(user.auth, key, data) + data[at + len(digest) :]
    return data


@pytest.mark.parametrize("user", USERS, ids=USER_IDS)
def test_a_response_below_the_users_level_is_refused(user: V3User) -> None:
    """RFC 3412 7.2 step 13. Before netmon checked it, a plaintext noAuthNoPriv Response (no
    digest to fail, forgeable by anyone who sees the msgID) was taken for an authPriv user."""
    assert isinstance(refused(user, plaintext_response(user, 0)), DigestError)
    if user.priv is not None:
        exc = refused(user, plaintext_response(user, AUTH))
        assert "not encrypted" in str(exc)
    else:  # authNoPriv: that is its level, and it reads
        assert outcome(user, plaintext_response(user, AUTH)) == (
            MSG_ID,
            Response(b"", 99, 0, 0, [(SYS_DESCR, "x")]),
        )


def test_an_unauthenticated_report_still_reads() -> None:
    """Reports may come unauthenticated (discovery, an unknown user, a wrong digest): the level
    check above is for Responses only."""
    # Report, request-id 0, no error; usmStatsUnknownUserNames.0 = Counter32 1
    report_pdu = bytes.fromhex(
        "a81c 020100 020100 020100 3011 300f 060a2b060106030f01010300 410101"
    )
    params = UsmParams(ENGINE_ID, 3, 100_000, b"fz-sha-aes", b"", b"")
    data, _ = encode_message(MSG_ID, 0, params, encode_scoped_pdu(ENGINE_ID, b"", report_pdu))
    got = outcome(USERS[1], data)
    assert not isinstance(got, WireError), got
    assert isinstance(got[1], Report) and got[1].meaning is not None
    assert got[1].meaning.name == "usmStatsUnknownUserNames"


# -- the endpoint ------------------------------------------------------------------------------


async def _unused_resolve(host: str, port: int) -> tuple[int, tuple[str, int]]:
    raise AssertionError("no request is sent: replies are delivered straight to the endpoint")


def deliver_all(user: V3User, datagrams: list[bytes], then: bytes | None) -> V3Endpoint:
    """Every datagram to an endpoint waiting for MSG_ID from PEER as `user`: none may resolve
    it, none may raise; `then` (the valid reply) resolves it after them."""

    async def go() -> V3Endpoint:
        endpoint = V3Endpoint(_unused_resolve)
        future: asyncio.Future[Response | Report] = asyncio.get_running_loop().create_future()
        endpoint._pending[MSG_ID] = _V3Pending(future, PEER, user)
        try:
            for data in datagrams:
                endpoint._deliver(data, PEER)
                assert not future.done(), data.hex()
            if then is not None:
                endpoint._deliver(then, PEER)
                assert future.result() == Response(b"", 99, 0, 0, EXPECTED)
        finally:
            endpoint.close()
        return endpoint

    return asyncio.run(go())


@pytest.mark.parametrize("user", USERS[:2] + USERS[-1:], ids=USER_IDS[:2] + USER_IDS[-1:])
def test_the_endpoint_drops_every_damaged_reply_and_then_takes_the_real_one(
    user: V3User,
) -> None:
    reply = valid_reply(user)
    bad = [reply[:cut] for cut in range(len(reply))] + [d for _, d in damaged(reply)]
    bad += [plaintext_response(user, 0)]
    # Authenticated, with no engine ID to localise a key to.
    empty = UsmParams(b"", 3, 1, user.name, bytes(usm.digest_length(user.auth or "sha")), b"")
    scoped = encode_scoped_pdu(b"", b"", encode_pdu(RESPONSE, 99, b"\x30\x00"))
    bad += [encode_message(MSG_ID, AUTH, empty, scoped)[0]]
    endpoint = deliver_all(user, bad, reply)
    stats = endpoint.stats
    assert stats.received == len(bad) + 1
    # Each refusal is counted as what it was; the damaged msgIDs match no request.
    assert stats.bad_digest + stats.garbage + stats.unknown_request == len(bad)
    assert stats.bad_digest > 0 and stats.garbage > 0


@settings(max_examples=fuzz_examples(100), deadline=None)
@given(datagrams=st.lists(st.binary(max_size=300), min_size=1, max_size=10))
def test_the_endpoint_survives_any_bytes(datagrams: list[bytes]) -> None:
    deliver_all(USERS[1], datagrams, None)


# -- the endpoint over UDP, against pysnmp's agent, replies damaged in flight -------------------


class _AgentOverUdp(asyncio.DatagramProtocol):
    """pysnmp's agent on a loopback socket: it answers every OID asked with "pysnmp"; `damage`
    changes each Response (not the discovery Report) before it is sent."""

    def __init__(self, damage: Callable[[V3User, bytes], bytes] | None, user: V3User) -> None:
        self.damage, self.user = damage, user
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # The selector loop's datagram transport is no asyncio.DatagramTransport subclass.
        self.transport = cast("asyncio.DatagramTransport", transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        got = shared().receive(data)
        if isinstance(got, Incoming):
            asked = [name for name, _ in v2c.apiPDU.get_varbinds(got.pdu)]
            reply = shared().respond(got, [(o, rfc1902.OctetString(b"pysnmp")) for o in asked])
            got = self.damage(self.user, reply) if self.damage else reply
        assert self.transport is not None
        self.transport.sendto(got, addr)


def flip_last(user: V3User, reply: bytes) -> bytes:
    return reply[:-1] + bytes((reply[-1] ^ 0x01,))


def downgrade(user: V3User, reply: bytes) -> bytes:
    """The Response re-sent plaintext and unauthenticated, with the request's msgID."""
    return plaintext_response(user, 0, decode_message(reply).msg_id)


def over_udp(
    user: V3User, damage: Callable[[V3User, bytes], bytes] | None
) -> tuple[Response | BaseException, V3Endpoint]:
    valid_reply(user)  # the agent knows the user at ENGINE_ID
    shared().set_engine(ENGINE_ID, 3, 100_000)  # another test may have moved it

    async def go() -> tuple[Response | BaseException, V3Endpoint]:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _AgentOverUdp(damage, user), local_addr=("127.0.0.1", 0)
        )
        port = transport.get_extra_info("sockname")[1]

        async def resolve(host: str, p: int) -> tuple[int, tuple[str, int]]:
            return socket.AF_INET, (host, p)

        endpoint = V3Endpoint(resolve)
        try:
            return await endpoint.request("127.0.0.1", port, user, GET, [SYS_DESCR], 0.2, 1), (
                endpoint
            )
        except (V3AuthError, WireError, WireTimeout) as exc:
            return exc, endpoint
        finally:
            endpoint.close()
            transport.close()

    return asyncio.run(go())


@pytest.mark.parametrize("user", USERS, ids=USER_IDS)
def test_the_endpoint_reads_pysnmps_agent_over_udp(user: V3User) -> None:
    """Discovery, the request, the Response: the endpoint's whole exchange with pysnmp's agent."""
    got, endpoint = over_udp(user, None)
    assert isinstance(got, Response), got
    assert (got.error_status, got.varbinds) == (0, [(SYS_DESCR, "pysnmp")])
    assert endpoint.stats.discoveries == 1 and endpoint.stats.bad_digest == 0


@pytest.mark.parametrize("damage", [flip_last, downgrade], ids=["ciphertext", "downgrade"])
def test_replies_damaged_in_flight_end_in_a_named_auth_error(
    damage: Callable[[V3User, bytes], bytes],
) -> None:
    """Every try's Response damaged (its last byte, or re-sent plaintext and unauthenticated):
    none is taken; after the retries the request ends in V3AuthError naming the digest problem,
    never the key. The collector turns that into an `auth` reason."""
    user = USERS[1]
    got, endpoint = over_udp(user, damage)
    assert isinstance(got, V3AuthError), got
    text = str(got)
    assert "digest does not verify" in text or "not authenticated" in text, text
    assert user.auth_pass.decode() not in text and user.priv_pass.decode() not in text
    assert endpoint.stats.bad_digest == 2  # both tries refused, neither decoded
