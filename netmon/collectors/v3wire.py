"""SNMPv3 requests and replies in netmon's own wire path: engine discovery, a signed (and
encrypted) GET or GETNEXT, and the reply read back: a Response, or the Report that says what
to do. Built from `v3msg` (framing), `usm` (keys, digests, ciphers) and `snmpwire` (PDUs).

State per device is the engine netmon learned (RFC 3414 4: engine ID, boots, time), kept by
the caller; keys are localised once per (user, engine ID) in `usm`'s caches. A reply whose
digest does not verify is refused (`DigestError`) before any of it is decoded: the caller drops
it and counts it, as v2c drops a reply with the wrong community.
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable
from dataclasses import dataclass

from netmon.collectors import usm
from netmon.collectors.snmpwire import RESPONSE, Response, WireError, decode_response
from netmon.collectors.v3msg import (
    AUTH,
    PRIV,
    REPORT,
    REPORTABLE,
    ReportMeaning,
    UsmParams,
    decode_message,
    encode_message,
    encode_pdu,
    encode_scoped_pdu,
    report_meaning,
    scoped_pdu,
)


class DigestError(WireError):
    """A reply that claims authentication and fails its digest: never decoded."""


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
            scoped, priv_params = usm.encrypt(user.priv, key, boots, now, salt, scoped)
    zeros = bytes(usm.digest_length(user.auth)) if user.auth is not None else b""
    params = UsmParams(engine.engine_id, boots, now, user.name, zeros, priv_params)
    data, at = encode_message(msg_id, flags, params, scoped, encrypted=bool(flags & PRIV))
    if user.auth is None:
        return data
    key = usm.localized_key(user.auth, user.auth_pass, engine.engine_id)
    digest = usm.sign(user.auth, key, data)
    return data[:at] + digest + data[at + len(digest) :]


def read_reply(
    user: V3User, data: bytes, clock: Callable[[], float] = _time.monotonic
) -> tuple[int, Response | Report]:
    """(msgID, the Response or the Report) of a v3 datagram. Raises DigestError for a reply
    that fails its digest, WireError for anything malformed (after decryption too)."""
    msg = decode_message(data)
    params = msg.usm
    engine = Engine(params.engine_id, params.boots, params.time, clock())
    if msg.flags & AUTH:
        if user.auth is None:
            raise DigestError("reply is authenticated; this user has no auth protocol")
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
    decoded = decode_response(inner, pdu.header)
    if pdu.pdu_type == REPORT:
        oid = decoded.varbinds[0][0] if decoded.varbinds else None
        return msg.msg_id, Report(report_meaning(oid) if oid else None, oid, engine)
    if pdu.pdu_type != RESPONSE:
        raise WireError(f"PDU: type 0x{pdu.pdu_type:02x}, expected a Response or a Report")
    return msg.msg_id, decoded
