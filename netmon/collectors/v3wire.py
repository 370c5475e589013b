"""SNMPv3 requests and replies in netmon's own wire path: engine discovery, a signed (and
encrypted) GET or GETNEXT, and the reply read back: a Response, or the Report that says what
to do. Built from `v3msg` (framing), `usm` (keys, digests, ciphers) and `snmpwire` (PDUs).

State per device is the engine netmon learned (RFC 3414 4: engine ID, boots, time), kept by
the caller; keys are localised once per (user, engine ID) in `usm`'s caches. A reply whose
digest does not verify is refused (`DigestError`) before any of it is decoded: the caller drops
it and counts it, as v2c drops a reply with the wrong community.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket
import time as _time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace

from netmon.collectors import usm
from netmon.collectors.snmpwire import (
    GET,
    RESPONSE,
    Response,
    UdpEndpoint,
    WireError,
    WireTimeout,
    _peer,
    _unexpected_oids,
    decode_response,
)
from netmon.collectors.v3msg import (
    AUTH,
    PRIV,
    REPORT,
    REPORTABLE,
    Message,
    ReportMeaning,
    UsmParams,
    decode_message,
    encode_message,
    encode_pdu,
    encode_scoped_pdu,
    report_meaning,
    scoped_pdu,
)
from netmon.model import Oid


class DigestError(WireError):
    """A reply that claims authentication and fails its digest (never decoded), or a Response
    without the authentication its request had (decoded only as far as its PDU type)."""


@dataclass(frozen=True, slots=True)
class V3User:
    """A USM user as the inventory gives it; passphrases stay bytes and never reach a repr."""

    name: bytes
    auth: str | None  # usm auth protocol name, None for noAuthNoPriv
    auth_pass: bytes = b""
    priv: str | None = None  # usm privacy protocol name, None for no privacy
    priv_pass: bytes = b""

    def __repr__(self) -> str:
        return f"V3User({self.name!r}, auth={self.auth}, priv={self.priv})"


@dataclass(frozen=True, slots=True)
class Engine:
    """The authoritative engine of a device, as learned (RFC 3414 2.3): its time moves on with
    netmon's clock from when it was learned."""

    engine_id: bytes
    boots: int
    time: int
    learned_at: float

    def now(self, clock: Callable[[], float] = _time.monotonic) -> int:
        return min(self.time + int(clock() - self.learned_at), 2**31 - 1)


@dataclass(frozen=True, slots=True)
class Report:
    """The agent's Report: what it counted, what to do, and the engine it announced."""

    meaning: ReportMeaning | None  # None: a counter USM does not define
    oid: tuple[int, ...] | None
    engine: Engine
    authenticated: bool = False  # the Report's digest verified (its boots/time can be trusted)


def discovery_request(msg_id: int, request_id: int) -> bytes:
    """noAuthNoPriv, reportable, no engine and no user: the agent answers with a Report that
    carries its engine ID, boots and time (RFC 3414 4)."""
    empty = UsmParams(b"", 0, 0, b"", b"", b"")
    scoped = encode_scoped_pdu(b"", b"", encode_pdu(0xA0, request_id, b"\x30\x00"))
    return encode_message(msg_id, REPORTABLE, empty, scoped)[0]


def request(
    user: V3User,
    engine: Engine,
    msg_id: int,
    pdu_type: int,
    request_id: int,
    varbinds: bytes,
    salt: int,
    clock: Callable[[], float] = _time.monotonic,
) -> bytes:
    """A GET/GETNEXT for `user` at `engine`, signed and encrypted as the user's level asks.
    `salt`: the sender's counter, never repeated under one key (usm.encrypt)."""
    flags = REPORTABLE
    boots, now = engine.boots, engine.now(clock)
    scoped = encode_scoped_pdu(engine.engine_id, b"", encode_pdu(pdu_type, request_id, varbinds))
    priv_params = b""
    if user.auth is not None:
        flags |= AUTH
        if user.priv is not None:
            flags |= PRIV
            key = usm.priv_key(user.auth, user.priv, user.priv_pass, engine.engine_id)
            # DES's salt counter is 32 bits (the engine's boots make up the rest), AES's 64.
            counter = salt & 0xFFFFFFFF if user.priv == "des" else salt
            scoped, priv_params = usm.encrypt(user.priv, key, boots, now, counter, scoped)
    zeros = bytes(usm.digest_length(user.auth)) if user.auth is not None else b""
    params = UsmParams(engine.engine_id, boots, now, user.name, zeros, priv_params)
    data, at = encode_message(msg_id, flags, params, scoped, encrypted=bool(flags & PRIV))
    if user.auth is None:
        return data
    key = usm.localized_key(user.auth, user.auth_pass, engine.engine_id)
    digest = usm.sign(user.auth, key, data)
    return data[:at] + digest + data[at + len(digest) :]


def read_reply(
    user: V3User,
    data: bytes,
    clock: Callable[[], float] = _time.monotonic,
    msg: Message | None = None,
) -> tuple[int, Response | Report]:
    """(msgID, the Response or the Report) of a v3 datagram. Raises DigestError for a reply
    that fails its digest or a Response less authenticated than `user`'s requests, WireError
    for anything malformed (after decryption too) or a Response `user` expects encrypted that
    is not. `msg`:
    decode_message(data), if already read (the endpoint reads it to match the reply)."""
    if msg is None:
        msg = decode_message(data)
    params = msg.usm
    engine = Engine(params.engine_id, params.boots, params.time, clock())
    if msg.flags & AUTH:
        if user.auth is None:
            raise DigestError("reply is authenticated; this user has no auth protocol")
        if not params.engine_id:
            # No key localises to an empty engine ID (usm raises UsmError, which is no
            # WireError and escaped the endpoint's datagram callback): nothing can verify.
            raise DigestError(f"reply is authenticated without an engine ID, user {user.name!r}")
        key = usm.localized_key(user.auth, user.auth_pass, params.engine_id)
        zeroed = (
            data[: msg.auth_at] + bytes(len(params.auth)) + data[msg.auth_at + len(params.auth) :]
        )
        if not usm.verify(user.auth, key, zeroed, params.auth):
            raise DigestError(f"reply digest does not verify ({user.auth}), user {user.name!r}")
    if msg.encrypted is not None:
        if user.auth is None or user.priv is None:
            raise WireError("reply is encrypted; this user has no privacy protocol")
        key = usm.priv_key(user.auth, user.priv, user.priv_pass, params.engine_id)
        try:
            plain = usm.decrypt(
                user.priv, key, params.boots, params.time, params.priv, msg.encrypted
            )
        except usm.UsmError as exc:
            raise WireError(f"encryptedPDU: {exc}") from None
        inner, start, end = plain, 0, None
    else:
        assert msg.scoped is not None
        inner, (start, end) = data, msg.scoped
    pdu = scoped_pdu(inner, start, end)
    if pdu.pdu_type != REPORT:
        # RFC 3412 7.2 step 13: a Response comes at the security level of the request. Without
        # this, anyone could answer an authPriv request with a plaintext noAuthNoPriv Response
        # (no digest to fail) and have its values taken (tests/test_v3_fuzz.py). Reports alone
        # may come lower: discovery and the agent's refusals are unauthenticated (RFC 3414 3.2).
        if user.auth is not None and not msg.flags & AUTH:
            raise DigestError(f"reply is not authenticated ({user.auth}), user {user.name!r}")
        if user.priv is not None and msg.encrypted is None:
            raise WireError(f"reply is not encrypted ({user.priv}), user {user.name!r}")
    decoded = decode_response(inner, pdu.header)
    if pdu.pdu_type == REPORT:
        oid = decoded.varbinds[0][0] if decoded.varbinds else None
        meaning = report_meaning(oid) if oid else None
        return msg.msg_id, Report(meaning, oid, engine, bool(msg.flags & AUTH))
    if pdu.pdu_type != RESPONSE:
        raise WireError(f"PDU: type 0x{pdu.pdu_type:02x}, expected a Response or a Report")
    return msg.msg_id, decoded


# -- the endpoint --------------------------------------------------------------------------


_ANSWERED_LIMIT = 100_000  # (device, user) pairs remembered as having answered: far above a fleet


class V3AuthError(Exception):
    """The agent refused the user (a Report USM defines as an authentication problem), or
    its replies fail their digests: the member's `auth` reason, naming the problem."""


@dataclass
class V3Stats:
    sent: int = 0
    received: int = 0
    bad_digest: int = 0  # replies refused before decoding: digest did not verify
    garbage: int = 0
    unknown_request: int = 0
    wrong_sender: int = 0
    wrong_engine: int = 0  # authenticated replies naming another engine than the device's
    discoveries: int = 0
    resyncs: int = 0


@dataclass
class _V3Pending:
    future: asyncio.Future[Response | Report]
    peer: tuple[str, int]
    user: V3User
    engine_id: bytes | None = None  # the device's engine; None while discovering it
    garbage: str | None = None
    digest: str | None = None
    refusal: Report | None = None  # an unauthenticated refusal, believed only if nothing better


class V3Endpoint(UdpEndpoint):
    """Every SNMPv3 read of the process, on sockets of its own (snmpwire.UdpEndpoint).

    Replies are matched by msgID (random, unique among outstanding requests) and sender, then
    their digest is verified before anything else is decoded; a GET's reply must name the OIDs
    asked. The engine of each (address, port) is learned once and kept; a Report that the time
    window was missed takes the agent's boots and time and the request is sent again once; an
    unknown engine ID is learned again once (an agent restarted with a new engine ID)."""

    def __init__(
        self, resolve: Callable[[str, int], Awaitable[tuple[int, tuple[str, int]]]]
    ) -> None:
        super().__init__()
        self._resolve = resolve
        self._pending: dict[int, _V3Pending] = {}
        self._engines: dict[tuple[str, int], Engine] = {}
        # (address, port, hash of the user with its keys) that have answered a request at least
        # once: the hash, so that no passphrase outlives the inventory it came from here.
        self._answered: set[tuple[str, int, int]] = set()
        self._salt = secrets.randbits(63)
        self.stats = V3Stats()

    def close(self) -> None:
        self._close_sockets()
        for pending in self._pending.values():
            if not pending.future.done() and not pending.future.get_loop().is_closed():
                pending.future.cancel()
        self._pending.clear()

    def _msg_id(self) -> int:
        while True:
            mid = secrets.randbits(31)
            if mid and mid not in self._pending:
                return mid

    def _next_salt(self) -> int:
        self._salt = (self._salt + 1) % (1 << 64)
        return self._salt

    def _deliver(self, data: bytes, addr: tuple[str, int]) -> None:
        self.stats.received += 1
        try:
            msg = decode_message(data)
        except WireError as exc:
            self.stats.garbage += 1
            # Kept on that address's open requests, as v2c does: if no good reply follows, it
            # is the reason (a cut reply is `reply`, not "no answer").
            peer = _peer(*addr)
            for waiting in self._pending.values():
                if waiting.peer == peer:
                    waiting.garbage = f"undecodable reply from {addr[0]}:{addr[1]}: {exc}"
            return
        pending = self._pending.get(msg.msg_id)
        if pending is None or pending.future.done():
            self.stats.unknown_request += 1
            return
        if pending.peer != _peer(*addr):
            self.stats.wrong_sender += 1
            return
        if (
            pending.engine_id is not None
            and msg.flags & AUTH
            and msg.usm.engine_id != pending.engine_id
        ):
            # RFC 3412 7.2 step 12: a reply is the device's only under the device's engine ID.
            # Verified under the engine ID it names, a reply signed by another device of the
            # fleet (the same user and passphrases, its own localised key) would pass as this
            # one's: key localisation exists to stop exactly that (RFC 3414 2.6).
            self.stats.wrong_engine += 1
            pending.digest = (
                f"reply from {addr[0]}:{addr[1]} is signed for another engine than the device's"
            )
            return
        try:
            _, reply = read_reply(pending.user, data, msg=msg)
        except DigestError as exc:
            self.stats.bad_digest += 1  # dropped: a forged or damaged reply, or a wrong key
            pending.digest = str(exc)
            return
        except WireError as exc:
            self.stats.garbage += 1
            pending.garbage = f"undecodable reply from {addr[0]}:{addr[1]}: {exc}"
            return
        if (
            isinstance(reply, Report)
            and reply.meaning is not None
            and reply.meaning.action == "resync"
            and not reply.authenticated
        ):
            # An agent sends notInTimeWindow authenticated (RFC 3414 3.2 step 7b); one that is
            # not would move netmon's idea of the agent's clock on anyone's say: dropped.
            self.stats.garbage += 1
            return
        if (
            isinstance(reply, Report)
            and not reply.authenticated
            and pending.user.auth is not None
            and reply.meaning is not None
            and reply.meaning.action == "auth"
        ):
            # Agents send these refusals unauthenticated (they cannot sign for a user they do
            # not know), so anyone who sees the msgID could send one. Kept, and believed at
            # the end of the try only if no authenticated Response came in the meantime.
            pending.refusal = reply
            return
        pending.future.set_result(reply)

    async def _exchange(
        self,
        sockaddr: tuple[str, int],
        sock: socket.socket,
        user: V3User,
        build: Callable[[int], bytes],
        per_try: float,
        retries: int,
        deadline: float,
        engine_id: bytes | None = None,
    ) -> Response | Report:
        """One request, tried `retries` more times: each try a new message (a new msgID, and
        signed with the engine's time of that moment); none after `deadline` (loop time), the
        end of the whole read."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Response | Report] = loop.create_future()
        pending = _V3Pending(future, _peer(*sockaddr), user, engine_id)
        ids: list[int] = []
        try:
            for _ in range(retries + 1):
                left = deadline - loop.time()
                if left <= 0:
                    break
                mid = self._msg_id()
                ids.append(mid)
                self._pending[mid] = pending
                with contextlib.suppress(BlockingIOError):
                    sock.sendto(build(mid), sockaddr)
                self.stats.sent += 1
                done, _ = await asyncio.wait({future}, timeout=min(per_try, left))
                if done:
                    return future.result()
                if pending.refusal is not None:
                    return pending.refusal
        finally:
            for mid in ids:
                self._pending.pop(mid, None)
        if pending.digest is not None:
            raise V3AuthError(pending.digest)
        if pending.garbage is not None:
            raise WireError(pending.garbage)
        if not ids:
            raise WireTimeout(
                "engine discovery answered late and took the read's whole time (timeout x"
                " tries): the request goes at the next poll"
            )
        raise WireTimeout()

    async def _discover(
        self, target: tuple[str, int], sockaddr: tuple[str, int], sock: socket.socket,
        user: V3User, per_try: float, retries: int, deadline: float,
    ) -> Engine:  # fmt: skip
        self.stats.discoveries += 1
        reply = await self._exchange(
            sockaddr, sock, user, lambda mid: discovery_request(mid, secrets.randbits(31) or 1),
            per_try, retries, deadline,
        )  # fmt: skip
        if not isinstance(reply, Report) or not reply.engine.engine_id:
            raise WireError("engine discovery: the agent answered without its engine ID")
        self._engines[target] = reply.engine
        return reply.engine

    async def request(
        self,
        host: str,
        port: int,
        user: V3User,
        pdu_type: int,
        oids: Sequence[Oid],
        per_try: float,
        retries: int,
    ) -> Response:
        """One GET/GETNEXT as `user`. Raises WireTimeout, WireError, V3AuthError or OSError."""
        family, sockaddr = await self._resolve(host, port)
        sock = self._socket(family)
        target = (host, port)
        _, varbinds = self._encoded(oids)
        rid = secrets.randbits(31) or 1
        engine = self._engines.get(target)
        # One budget for every exchange of this read (discovery, resync, rediscovery, the GET):
        # a device costs at most timeout x tries, as over v2c (docs/inventory.md).
        deadline = asyncio.get_running_loop().time() + per_try * (retries + 1)
        if engine is None:
            engine = await self._discover(target, sockaddr, sock, user, per_try, retries, deadline)
        again = True  # one resync or rediscovery per request, never a loop
        while True:
            current = engine

            def build(mid: int, e: Engine = current) -> bytes:
                return request(user, e, mid, pdu_type, rid, varbinds, self._next_salt())

            try:
                reply = await self._exchange(
                    sockaddr, sock, user, build, per_try, retries, deadline, current.engine_id
                )
            except WireTimeout as exc:
                if (
                    not str(exc)
                    and user.priv is not None
                    and (host, port, hash(user)) not in self._answered
                ):
                    # net-snmp decrypts a request under a wrong privacy key into garbage and
                    # drops it without a Report: the agent's engine answered, the user never
                    # did. Only the operator can tell a wrong key from an agent that died just
                    # after discovery; the reason stays a timeout, with what was seen.
                    raise WireTimeout(
                        "the agent answered engine discovery but never a request of this user:"
                        f" a wrong privacy key or protocol ({user.priv}) looks like this"
                    ) from None
                raise
            if isinstance(reply, Response):
                if len(self._answered) >= _ANSWERED_LIMIT:
                    self._answered.clear()  # only a hint's memory: never grows without bound
                self._answered.add((host, port, hash(user)))
                wrong = _unexpected_oids(tuple(oids), reply) if pdu_type == GET else None
                if wrong is not None and reply.error_status == 0:
                    raise WireError(
                        f"reply from {host}:{port} does not answer the request: {wrong}"
                    )
                return reply
            meaning = reply.meaning
            if meaning is None:
                raise WireError(f"the agent sent a Report of {'.'.join(map(str, reply.oid or ()))}")
            if meaning.action == "auth" or not again:
                raise V3AuthError(f"{meaning.name}: {meaning.reason}")
            again = False
            if meaning.action == "resync":
                self.stats.resyncs += 1
                engine = self._engines[target] = replace(
                    engine, boots=reply.engine.boots, time=reply.engine.time,
                    learned_at=reply.engine.learned_at,
                )  # fmt: skip
            else:
                engine = await self._discover(
                    target, sockaddr, sock, user, per_try, retries, deadline
                )
