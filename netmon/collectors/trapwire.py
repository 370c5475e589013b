"""Notifications on the wire: what netmon's trap receiver does with one datagram, as pure code.

One port serves every version: SNMPv1 Trap-PDUs and SNMPv2c TRAPs and INFORMs by community,
SNMPv3 TRAPs and INFORMs by USM user (RFC 3412, RFC 3414), built from netmon's own codec
(`snmpwire` for BER, `v3msg` for the v3 framing, `usm` for keys, digests and ciphers). No I/O:
`NotificationReader.read` takes the datagram and the clock and says what came (a notification),
what to send back (a Response to an INFORM, a Report) and, for everything it refuses, why: one
fixed reason token (`DROP_REASONS`), never text that came from the datagram.

Two roles, as RFC 3414 defines them (section 2.3 and 3.2 step 7):

- A TRAP's authoritative engine is its sender. Its engine ID is the user's configured
  `engine_id`, or learned: the first message from an engine ID whose digest verifies is
  accepted and that engine's boots and time are kept, per source address; later messages
  from it must be within its time window (step 7b: boots not lower, and at equal boots a time
  above the latest received or not more than 150 s behind what netmon computes for it), which
  refuses replays of old TRAPs. A replay within those 150 s is accepted as RFC 3414 accepts it;
  a trap is only a hint to poll now, and an extra poll does no harm. Two hardenings beyond
  RFC 3414 keep one key holder from locking another sender out (a learning entry's passphrase
  signs for any engine ID): clocks are kept per engine ID and source address (a message
  naming an engine is judged against, and moves, only the clock learned from its own
  address), and a clock that would lock the engine out is never kept (boots 2^31-1, or a
  time more than 150 s ahead of netmon's estimate).
- An INFORM's authoritative engine is the receiver, `LocalEngine`. It answers a sender's
  discovery (an empty engine ID) with a usmStatsUnknownEngineIDs Report carrying its engine ID,
  boots and time, an authenticated message outside its window with an authenticated
  usmStatsNotInTimeWindows Report (step 7a), and an accepted INFORM with a Response at the
  INFORM's own security level, as RFC 3416 4.2.7 asks (same request-id and varbinds).

Everything is checked before anything is believed: the user and the security level, then the
digest over the whole message, then decryption, then the PDU. The digest is verified before
any learned engine is touched, so nothing unauthenticated moves the receiver's idea of a
sender's clock, and privacy keys (costly for AES-192/256 with the Reeder extension) are derived
only for messages whose digest verified.
"""

from __future__ import annotations

import hmac
import secrets
from collections import Counter, OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from netmon.collectors import usm
from netmon.collectors.snmpwire import (
    _INTEGER,
    _OCTETS,
    _OID,
    _SEQUENCE,
    Header,
    WireError,
    _expect,
    _header,
    _int,
    _tlv,
    decode_oid,
    encode_integer,
    encode_oid,
)
from netmon.collectors.v3msg import (
    AUTH,
    PRIV,
    REPORT,
    REPORTABLE,
    USM_STATS,
    Message,
    ScopedPdu,
    UsmParams,
    decode_message,
    encode_message,
    encode_pdu,
    encode_scoped_pdu,
    scoped_pdu,
)
from netmon.model import Oid, TrapUser

TRAP_V1, RESPONSE, INFORM, TRAP_V2 = 0xA4, 0xA2, 0xA6, 0xA7
# RFC 3411 2.8 Confirmed Class: Get, GetNext, Set, GetBulk, Inform. Only these are answered;
# Response, Report and TRAPs are Unconfirmed (RFC 3412 6.4: never reported, whatever the flag).
CONFIRMED_CLASS: Final = frozenset({0xA0, 0xA1, 0xA3, 0xA5, INFORM})
SNMP_TRAP_OID: Final[Oid] = (1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0)
# RFC 3584 3.1: a v1 generic trap N (0..5) is snmpTraps.(N+1) (coldStart .. egpNeighborLoss).
SNMP_TRAPS: Final[Oid] = (1, 3, 6, 1, 6, 3, 1, 1, 5)
TIME_WINDOW: Final = 150  # seconds, RFC 3414 2.2.3
MAX_UINT31: Final = 2**31 - 1
# RFC 3412 7.1 step 3: a Report's request-id when the request's could not be read (encrypted).
UNKNOWN_REQUEST_ID: Final = 2**31 - 1
MAX_LEARNED_ENGINES: Final = 10_000  # (engine, address) clocks remembered; least recently used go

# usmStats counters (SNMP-USER-BASED-SM-MIB) the receiver reports, by their last arc.
UNSUPPORTED_SEC_LEVELS, NOT_IN_TIME_WINDOWS, UNKNOWN_USER_NAMES = 1, 2, 3
UNKNOWN_ENGINE_IDS, WRONG_DIGESTS, DECRYPTION_ERRORS = 4, 5, 6
REPORT_NAMES: Final[dict[int, str]] = {
    UNSUPPORTED_SEC_LEVELS: "usmStatsUnsupportedSecLevels",
    NOT_IN_TIME_WINDOWS: "usmStatsNotInTimeWindows",
    UNKNOWN_USER_NAMES: "usmStatsUnknownUserNames",
    UNKNOWN_ENGINE_IDS: "usmStatsUnknownEngineIDs",
    WRONG_DIGESTS: "usmStatsWrongDigests",
    DECRYPTION_ERRORS: "usmStatsDecryptionErrors",
}

# Why a datagram was refused: fixed tokens, safe as a metric label or in a log line.
DROP_REASONS: Final[tuple[str, ...]] = (
    "malformed",  # not BER, truncated, not SNMP, or a field out of range
    "community",  # v1/v2c with a community that is not the configured one (or none is)
    "unknown_user",  # v3 user name not configured
    "unknown_engine",  # v3 engine ID not the one configured for the user, or not this receiver's
    "level",  # v3 security level other than the user's (e.g. authNoPriv for an authPriv user)
    "digest",  # v3 digest does not verify: wrong auth key or protocol, or a forgery
    "decrypt",  # v3 encryptedPDU cannot be decrypted into a PDU: wrong priv key or protocol
    "time_window",  # v3 TRAP outside its sender's time window: a replay, or a clock gone back
    "pdu",  # well-formed and authentic, but not a TRAP or an INFORM
)


class Dropped(Exception):
    """A datagram refused for `reason` (one of DROP_REASONS); `reply` is a Report to send."""

    def __init__(self, reason: str, reply: bytes | None = None, report: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.reply = reply
        self.report = report


@dataclass(frozen=True, slots=True)
class Notification:
    version: str  # "v1", "v2c" or "v3"
    pdu: str  # "trap" or "inform"
    trap_oid: Oid | None  # snmpTrapOID.0 (for v1, as RFC 3584 translates it)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one datagram gave: a notification to act on, or the reason it was dropped; and
    what to send back to its sender (a Response or a Report), if anything."""

    notification: Notification | None = None
    reply: bytes | None = None
    drop: str | None = None
    report: str | None = None  # the usmStats counter of a Report in `reply`


@dataclass(frozen=True, slots=True)
class LocalEngine:
    """The receiver's own engine, authoritative for INFORMs: engine ID, boots, and when its
    snmpEngineTime was 0 (on the caller's monotonic clock)."""

    engine_id: bytes
    boots: int
    started: float

    def time(self, now: float) -> int:
        return max(0, min(int(now - self.started), MAX_UINT31))


def random_engine_id() -> bytes:
    """An RFC 3411 SnmpEngineID in the 'octets' format (5th octet 5) with 12 random octets.
    netmon has no private enterprise number of its own, so the enterprise part is 0."""
    return b"\x80\x00\x00\x00\x05" + secrets.token_bytes(12)


@dataclass(frozen=True, slots=True)
class _User:
    """A trap user with usm's protocol names; passphrases never reach a repr."""

    name: bytes
    auth: str
    auth_pass: bytes = field(repr=False)
    priv: str | None
    priv_pass: bytes = field(repr=False)
    engine_id: bytes | None  # the TRAP sender's engine ID, when configured

    @property
    def level(self) -> int:
        return AUTH | (PRIV if self.priv else 0)


def _user(configured: TrapUser) -> _User:
    creds = configured.credentials
    if creds.auth_protocol is None or creds.auth_key is None:
        raise ValueError(f"trap user {creds.user!r} has no authentication")
    # The model's protocol names are usm's, upper-cased (SHA256 -> sha256, AES192C -> aes192c).
    auth = creds.auth_protocol.value.lower()
    priv = creds.priv_protocol.value.lower() if creds.priv_protocol else None
    if auth not in usm.AUTH_PROTOCOLS or (priv is not None and priv not in usm.PRIV_PROTOCOLS):
        raise ValueError(f"trap user {creds.user!r}: protocol unknown to usm")
    return _User(
        creds.user.encode(),
        auth,
        creds.auth_key.reveal().encode(),
        priv,
        creds.priv_key.reveal().encode() if creds.priv_key else b"",
        configured.engine_id,
    )


@dataclass(slots=True)
class _Remote:
    """A TRAP sender's engine as last authenticated from one source address: boots,
    latestReceivedEngineTime, and when that time was received (RFC 3414 2.3)."""

    boots: int
    time: int
    at: float

    def now(self, now: float) -> float:
        return self.time + (now - self.at)


class NotificationReader:
    """Reads datagrams sent to the trap port; state is the learned senders' engines and the
    usmStats counters its Reports carry. Not thread-safe (the receiver calls it on its loop)."""

    def __init__(
        self,
        community: bytes | None,
        users: Sequence[TrapUser],
        local: LocalEngine,
        *,
        max_engines: int = MAX_LEARNED_ENGINES,
    ) -> None:
        self.community = community
        self.local = local
        self._users: dict[bytes, list[_User]] = {}
        for configured in users:
            user = _user(configured)
            self._users.setdefault(user.name, []).append(user)
        # Keyed by (engine ID, source address): see _in_window for why the address.
        self._remotes: OrderedDict[tuple[bytes, str], _Remote] = OrderedDict()
        self._max_engines = max_engines
        self.usm_stats: Counter[int] = Counter()
        self._salt = secrets.randbits(64)

    # -- the entry point -------------------------------------------------------------------

    def read(self, data: bytes, now: float, *, source: str) -> Outcome:
        """One datagram from `source` (its sender's address) -> its Outcome. Never raises,
        whatever the bytes."""
        try:
            version = _version(data)
            if version == 3:
                return self._v3(data, now, source)
            return self._community(data, version)
        except Dropped as exc:
            report = REPORT_NAMES.get(exc.report) if exc.report else None
            return Outcome(reply=exc.reply, drop=exc.reason, report=report)
        except (WireError, usm.UsmError, ValueError):
            # UsmError and ValueError: a field the codec took but usm or the encoder refuse
            # (an engine ID of the wrong size, say): malformed all the same.
            return Outcome(drop="malformed")

    def learned_engines(self) -> int:
        return len(self._remotes)

    # -- v1 and v2c ------------------------------------------------------------------------

    def _community(self, data: bytes, version: int) -> Outcome:
        pos, end = _expect(data, 0, len(data), _SEQUENCE, "message")
        _, pos = _expect(data, pos, end, _INTEGER, "version")
        start, pos = _expect(data, pos, end, _OCTETS, "community")
        community = data[start:pos]
        tag, ppos, pend = _header(data, pos, end, "PDU")
        if pend != end:
            raise WireError(f"message: {end - pend} stray bytes at byte {pend}")
        # compare_digest: how long a wrong community takes tells a guesser nothing.
        if self.community is None or not hmac.compare_digest(community, self.community):
            raise Dropped("community")
        if version == 0:
            if tag != TRAP_V1:
                raise Dropped("pdu")
            return Outcome(Notification("v1", "trap", _v1_trap_oid(data, ppos, pend)))
        if tag not in (TRAP_V2, INFORM):
            raise Dropped("pdu")
        rstart, rstop = _expect(data, ppos, pend, _INTEGER, "request-id")
        header = Header(community, _int(data, rstart, rstop, "request-id"), rstop, pend)
        varbinds = _varbinds(data, header)
        oid = _trap_oid(data, varbinds)
        if tag == TRAP_V2:
            return Outcome(Notification("v2c", "trap", oid))
        response = encode_pdu(RESPONSE, header.request_id, data[varbinds[0] : varbinds[1]])
        reply = _tlv(_SEQUENCE, encode_integer(1) + _tlv(_OCTETS, community) + response)
        return Outcome(Notification("v2c", "inform", oid), reply=reply)

    # -- v3 --------------------------------------------------------------------------------

    def _v3(self, data: bytes, now: float, source: str) -> Outcome:
        msg = decode_message(data)
        engine_id = msg.usm.engine_id
        if engine_id == self.local.engine_id:
            return self._authoritative(data, msg, now)
        if not engine_id:
            # Discovery (RFC 3414 4): the sender learns this engine from the Report.
            if not self._reportable(msg, data):
                raise Dropped("unknown_engine")
            report = self._report(msg, data, UNKNOWN_ENGINE_IDS, now)
            return Outcome(reply=report, report=REPORT_NAMES[UNKNOWN_ENGINE_IDS])
        return self._from_sender(data, msg, now, source)

    def _authoritative(self, data: bytes, msg: Message, now: float) -> Outcome:
        """A message for this engine: an INFORM (RFC 3414 3.2 with the receiver authoritative)."""
        user = self._inform_user(data, msg, now)
        inner, start, end = self._plaintext(user, msg, data, self.local.engine_id, now)
        pdu = scoped_pdu(inner, start, end)
        p = msg.usm
        local_time = self.local.time(now)
        if (
            self.local.boots == MAX_UINT31
            or p.boots != self.local.boots
            or abs(p.time - local_time) > TIME_WINDOW
        ):
            if not self._reportable(msg, data, pdu):  # a TRAP sent to this engine: never
                raise Dropped("time_window")
            # Not a drop: a sender's first message after discovery (boots and time 0) lands
            # here by design, and this authenticated Report gives it the clock (step 7a).
            report = self._report(msg, data, NOT_IN_TIME_WINDOWS, now, pdu, signer=user)
            return Outcome(reply=report, report=REPORT_NAMES[NOT_IN_TIME_WINDOWS])
        if pdu.pdu_type not in (INFORM, TRAP_V2):
            raise Dropped("pdu")
        varbinds = _varbinds(inner, pdu.header)
        oid = _trap_oid(inner, varbinds)
        if pdu.pdu_type == TRAP_V2:
            if user.engine_id is not None and user.engine_id != self.local.engine_id:
                # An entry pinned to a sender's engine takes TRAPs from that engine only; one
                # signed for this receiver's engine instead would pass its pin by.
                raise Dropped("unknown_engine")
            return Outcome(Notification("v3", "trap", oid))
        answer = self._seal(
            user, msg, now, pdu, RESPONSE, inner[varbinds[0] : varbinds[1]], msg.flags
        )
        return Outcome(Notification("v3", "inform", oid), reply=answer)

    def _from_sender(self, data: bytes, msg: Message, now: float, source: str) -> Outcome:
        """A message whose authoritative engine is its sender: a TRAP (step 7b)."""
        p = msg.usm
        user = self._sender_user(p.user, p.engine_id)
        if msg.flags & (AUTH | PRIV) != user.level:
            raise Dropped("level")
        if not self._verify(user, data, msg, p.engine_id):
            raise Dropped("digest")
        inner, start, end = self._plaintext(user, msg, data, p.engine_id, now)
        pdu = scoped_pdu(inner, start, end)
        if pdu.pdu_type == INFORM:
            # An INFORM signed for an engine that is not this one (the sender remembers an
            # engine ID this receiver had before it restarted): the Report makes it discover.
            raise self._refuse(msg, data, "unknown_engine", UNKNOWN_ENGINE_IDS, now, pdu)
        if pdu.pdu_type != TRAP_V2:
            raise Dropped("pdu")
        varbinds = _varbinds(inner, pdu.header)  # malformed PDUs never reach the engine table
        oid = _trap_oid(inner, varbinds)
        if not self._in_window((p.engine_id, source), p.boots, p.time, now):
            raise Dropped("time_window")
        return Outcome(Notification("v3", "trap", oid))

    def _inform_user(self, data: bytes, msg: Message, now: float) -> _User:
        """The user an INFORM to this engine is from: of the entries with its name (several
        when TRAP engines are configured per entry), the first at its level whose key
        verifies the digest."""
        users = self._users.get(msg.usm.user)
        if not users:
            raise self._refuse(msg, data, "unknown_user", UNKNOWN_USER_NAMES, now)
        level = msg.flags & (AUTH | PRIV)
        at_level = [user for user in users if user.level == level]
        if not at_level:
            raise self._refuse(msg, data, "level", UNSUPPORTED_SEC_LEVELS, now)
        for user in at_level:
            if self._verify(user, data, msg, self.local.engine_id):
                return user
        raise self._refuse(msg, data, "digest", WRONG_DIGESTS, now)

    def _sender_user(self, name: bytes, engine_id: bytes) -> _User:
        """The user entry for a TRAP: the one configured for this engine ID, else the one that
        learns engines. A name configured only for other engines is an unknown engine."""
        users = self._users.get(name)
        if not users:
            raise Dropped("unknown_user")
        for user in users:
            if user.engine_id == engine_id:
                return user
        for user in users:
            if user.engine_id is None:
                return user
        raise Dropped("unknown_engine")

    def _in_window(self, key: tuple[bytes, str], boots: int, etime: int, now: float) -> bool:
        """RFC 3414 3.2 step 7b for an authenticated TRAP; learns an engine seen first.

        `key` is the engine ID and the source address. A learning entry's passphrase signs for
        every engine ID, so any sender holding it can name another's engine; were the clock
        kept per engine ID alone, one TRAP naming X with boots or time at 2^31-1 would move
        X's clock beyond reach and X's genuine TRAPs would be dropped until a reload (binding
        the clock to the address it was first learned from instead still loses that race when
        the forger's TRAP comes first after a start). Per address, a forger only ever moves
        the clock its own address is judged by. A key holder that also spoofs X's address can
        still do it: a per-sender entry (`engine_id`) with its own passphrase is the strict
        setting. A captured TRAP replayed from a new address is accepted once (learned there);
        the daemon acts on the source address, so that polls the spoofed address's devices.
        """
        if boots == MAX_UINT31:
            # RFC 3414 2.2: boots at its maximum is an engine locked until its keys change;
            # never accepted, and never kept (kept, it would refuse everything after it).
            return False
        known = self._remotes.get(key)
        if known is None:
            self._remotes[key] = _Remote(boots, etime, now)
            if len(self._remotes) > self._max_engines:
                self._remotes.popitem(last=False)  # the least recently heard from
            return True
        self._remotes.move_to_end(key)  # heard from now (authenticated): evicted last
        if boots < known.boots:
            return False
        if boots > known.boots:  # the sender restarted
            known.boots, known.time, known.at = boots, etime, now
            return True
        estimate = known.now(now)
        if etime > known.time:
            # Newer than the latest received: accepted, however far behind the estimate (RFC
            # 3414 7b updates latestReceivedEngineTime before it checks). Kept only when not
            # more than the window ahead of the estimate: a real clock does not run 150 s
            # fast between two TRAPs, and a time far ahead, kept, would make every genuine
            # TRAP after it "150 s behind". Accepted all the same (authenticated, and a trap
            # is a hint to poll): dropping would lose a sender whose clock did drift, or
            # TRAPs after netmon's host was suspended (its monotonic clock stood still).
            if etime <= estimate + TIME_WINDOW:
                known.time, known.at = etime, now
            return True
        return not etime < estimate - TIME_WINDOW  # a repeat: RFC 3414's 150 s of grace

    # -- USM -------------------------------------------------------------------------------

    @staticmethod
    def _verify(user: _User, data: bytes, msg: Message, engine_id: bytes) -> bool:
        key = usm.localized_key(user.auth, user.auth_pass, engine_id)
        digest = msg.usm.auth
        at = msg.auth_at
        zeroed = data[:at] + bytes(len(digest)) + data[at + len(digest) :]
        return usm.verify(user.auth, key, zeroed, digest)

    def _plaintext(
        self, user: _User, msg: Message, data: bytes, engine_id: bytes, now: float
    ) -> tuple[bytes, int, int | None]:
        """The scoped PDU's bytes and bounds, decrypted when the message is encrypted."""
        if msg.encrypted is None:
            assert msg.scoped is not None  # decode_message gives one or the other
            return data, msg.scoped[0], msg.scoped[1]
        assert user.priv is not None  # the level check passed: the user has privacy
        p = msg.usm
        key = usm.priv_key(user.auth, user.priv, user.priv_pass, engine_id)
        try:
            plain = usm.decrypt(user.priv, key, p.boots, p.time, p.priv, msg.encrypted)
            scoped_pdu(plain)  # a wrong key gives garbage: this is where it shows
        except (usm.UsmError, WireError):
            if engine_id == self.local.engine_id:
                raise self._refuse(msg, data, "decrypt", DECRYPTION_ERRORS, now) from None
            raise Dropped("decrypt") from None
        return plain, 0, None

    def _next_salt(self) -> int:
        self._salt = (self._salt + 1) % (1 << 64)
        return self._salt

    def _seal(
        self,
        user: _User | None,
        msg: Message,
        now: float,
        pdu: ScopedPdu | None,
        pdu_type: int,
        varbinds: bytes,
        flags: int,
        request_id: int | None = None,
    ) -> bytes:
        """A message from this engine to the sender of `msg` (same msgID and user name):
        signed when `flags` has AUTH, encrypted when it has PRIV, never reportable."""
        flags &= AUTH | PRIV
        boots, etime = self.local.boots, self.local.time(now)
        engine_id = self.local.engine_id
        rid = request_id if request_id is not None else (pdu.header.request_id if pdu else 0)
        # A Response names the request's context (RFC 3412 7.1 step 3 for a Report: this
        # engine and the default context).
        context = pdu.context_name if pdu and pdu_type != REPORT else b""
        context_engine = engine_id
        if pdu and pdu_type != REPORT and pdu.context_engine_id:
            context_engine = pdu.context_engine_id
        scoped = encode_scoped_pdu(context_engine, context, encode_pdu(pdu_type, rid, varbinds))
        salt = b""
        if flags & PRIV:
            assert user is not None  # only an INFORM's Response is encrypted: by its user
            assert user.priv is not None
            key = usm.priv_key(user.auth, user.priv, user.priv_pass, engine_id)
            counter = self._next_salt()
            # DES's salt counter is 32 bits (the engine's boots make up the rest), AES's 64.
            counter = counter & 0xFFFFFFFF if user.priv == "des" else counter
            scoped, salt = usm.encrypt(user.priv, key, boots, etime, counter, scoped)
        name = msg.usm.user
        zeros = bytes(usm.digest_length(user.auth)) if flags & AUTH and user else b""
        params = UsmParams(engine_id, boots, etime, name, zeros, salt)
        data, at = encode_message(msg.msg_id, flags, params, scoped, encrypted=bool(flags & PRIV))
        if not flags & AUTH or user is None:
            return data
        digest = usm.sign(user.auth, usm.localized_key(user.auth, user.auth_pass, engine_id), data)
        return data[:at] + digest + data[at + len(digest) :]

    def _report(
        self,
        msg: Message,
        data: bytes,
        counter: int,
        now: float,
        pdu: ScopedPdu | None = None,
        signer: _User | None = None,
    ) -> bytes:
        """A Report of usmStats.`counter` (RFC 3412 7.1 step 3, RFC 3414 3.2): noAuthNoPriv,
        but authNoPriv by `signer` for notInTimeWindow (RFC 3414 3.2 step 7a). The request-id
        is the request's when it could be read, else 2147483647."""
        self.usm_stats[counter] += 1
        value = self.usm_stats[counter] & 0xFFFFFFFF  # a Counter32 wraps
        oid = (*USM_STATS, counter, 0)
        varbinds = _tlv(_SEQUENCE, _tlv(_SEQUENCE, encode_oid(oid) + _counter32(value)))
        if pdu is None and msg.scoped is not None:
            try:  # a plaintext request (a discovery): its request-id and context go back
                pdu = scoped_pdu(data, *msg.scoped)
            except WireError:
                pdu = None
        rid = pdu.header.request_id if pdu else UNKNOWN_REQUEST_ID
        flags = AUTH if signer else 0
        return self._seal(signer, msg, now, pdu, REPORT, varbinds, flags, rid)

    def _refuse(
        self,
        msg: Message,
        data: bytes,
        reason: str,
        counter: int,
        now: float,
        pdu: ScopedPdu | None = None,
    ) -> Dropped:
        """A drop in the authoritative role: with a Report when the message is reportable."""
        if not self._reportable(msg, data, pdu):
            return Dropped(reason)
        return Dropped(reason, self._report(msg, data, counter, now), counter)

    @staticmethod
    def _reportable(msg: Message, data: bytes, pdu: ScopedPdu | None = None) -> bool:
        """Whether a refusal of `msg` may be answered with a Report (RFC 3412 6.4).

        Never without the reportableFlag. With it, the PDU decides when it can be read (a
        plaintext message, or `pdu` once decrypted): only a Confirmed Class PDU is answered,
        so a Report, Response or TRAP never gets a Report (no Report ping-pong, no reflection
        of unconfirmed traffic). When the PDU cannot be read (encrypted, and not decrypted:
        unknown user, level, digest, decryption error, or an encrypted discovery), 6.4 makes
        the flag "the secondary aid" that decides, and the usmStats Report of RFC 3414 3.2
        (via RFC 3412 7.2) goes back: the sender that asked for it learns why it is refused.
        The Report itself is never reportable (`_seal`), as RFC 3412 7.1 step 3 has it.
        A plaintext PDU that does not parse is not answered: there is no PDU to report on.
        """
        if not msg.flags & REPORTABLE:
            return False
        if pdu is None and msg.scoped is not None:
            try:
                pdu = scoped_pdu(data, *msg.scoped)
            except WireError:
                return False
        return pdu is None or pdu.pdu_type in CONFIRMED_CLASS


# -- BER pieces ----------------------------------------------------------------------------


def _version(data: bytes) -> int:
    """The message's version (0 v1, 1 v2c, 3 v3); WireError for anything else."""
    pos, end = _expect(data, 0, len(data), _SEQUENCE, "message")
    if end != len(data):
        raise WireError(f"message: {len(data) - end} stray bytes at byte {end}")
    start, stop = _expect(data, pos, end, _INTEGER, "version")
    version = _int(data, start, stop, "version")
    if version not in (0, 1, 3):
        raise WireError(f"version: SNMP message version {version}")
    return version


def _counter32(value: int) -> bytes:
    body = encode_integer(value)[2:]  # the minimal two's-complement body: positive, so unsigned
    return _tlv(0x41, body)


def _varbinds(data: bytes, header: Header) -> tuple[int, int]:
    """Where a PDU's variable-bindings SEQUENCE (its whole TLV) starts and ends, past the
    error-status and error-index a TRAP and an INFORM carry as 0."""
    _, pos = _expect(data, header.rest, header.end, _INTEGER, "error-status")
    _, pos = _expect(data, pos, header.end, _INTEGER, "error-index")
    start = pos
    _, stop = _expect(data, pos, header.end, _SEQUENCE, "variable-bindings")
    if stop != header.end:
        raise WireError(f"PDU: {header.end - stop} stray bytes at byte {stop}")
    return start, stop


def _trap_oid(data: bytes, varbinds: tuple[int, int]) -> Oid | None:
    """snmpTrapOID.0's value among the variable-bindings (RFC 3416: the second), or None.
    Each binding's framing is checked; values other than that one are not decoded."""
    start, stop = varbinds
    pos = _header(data, start, stop, "variable-bindings")[1]  # where its contents start
    found: Oid | None = None
    count = 0
    while pos < stop:
        count += 1
        where = f"variable-binding {count}"
        vpos, vend = _expect(data, pos, stop, _SEQUENCE, where)
        nstart, nend = _expect(data, vpos, vend, _OID, where + " name")
        tag, value_start, value_end = _header(data, nend, vend, where + " value")
        if value_end != vend:
            raise WireError(f"{where}: {vend - value_end} stray bytes at byte {value_end}")
        if found is None and tag == _OID and decode_oid(data[nstart:nend]) == SNMP_TRAP_OID:
            found = decode_oid(data[value_start:value_end])
        pos = vend
    return found


def _v1_trap_oid(data: bytes, pos: int, end: int) -> Oid:
    """A v1 Trap-PDU's notification as SNMPv2 names it (RFC 3584 3.1)."""
    start, pos = _expect(data, pos, end, _OID, "enterprise")
    enterprise = decode_oid(data[start:pos])
    _, pos = _expect(data, pos, end, 0x40, "agent-addr")
    start, pos = _expect(data, pos, end, _INTEGER, "generic-trap")
    generic = _int(data, start, pos, "generic-trap")
    start, pos = _expect(data, pos, end, _INTEGER, "specific-trap")
    specific = _int(data, start, pos, "specific-trap")
    _, pos = _expect(data, pos, end, 0x43, "time-stamp")
    _, stop = _expect(data, pos, end, _SEQUENCE, "variable-bindings")
    if stop != end:
        raise WireError(f"Trap-PDU: {end - stop} stray bytes at byte {stop}")
    _trap_oid(data, (pos, stop))  # the bindings' framing must hold, as for v2c
    if not 0 <= generic <= 6 or specific < 0:
        raise WireError(f"Trap-PDU: generic-trap {generic} or specific-trap {specific}")
    if generic == 6:  # enterpriseSpecific
        return (*enterprise, 0, specific)
    return (*SNMP_TRAPS, generic + 1)
