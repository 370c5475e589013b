"""The trap receiver's wire logic (netmon.collectors.trapwire) and its socket (traps), without
daemons: SNMPv3 TRAPs and INFORMs for every auth x priv combination, built both by pysnmp (a
different USM implementation) and by netmon's own v3msg/usm; engine-ID learning and the time
window; every kind of refusal; fuzzed bytes; the inventory's `traps:` section."""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from prometheus_client import generate_latest

from netmon.collectors import traps, usm
from netmon.collectors.snmpwire import _tlv, decode_header, decode_response, encode_oid
from netmon.collectors.traps import DropSummary, ReportLimit, TrapReceiver, local_engine
from netmon.collectors.trapwire import (
    DROP_REASONS,
    INFORM,
    MAX_UINT31,
    RESPONSE,
    SNMP_TRAP_OID,
    TRAP_V2,
    LocalEngine,
    NotificationReader,
)
from netmon.collectors.v3msg import (
    AUTH,
    PRIV,
    REPORT,
    REPORTABLE,
    UsmParams,
    decode_message,
    encode_message,
    encode_pdu,
    encode_scoped_pdu,
)
from netmon.collectors.v3wire import Report, V3User, read_reply
from netmon.errors import ConfigError
from netmon.exporter import make_registry
from netmon.inventory import load_inventory
from netmon.model import (
    AuthProtocol,
    Inventory,
    Oid,
    PrivProtocol,
    Secret,
    SnmpV3,
    TrapSettings,
    TrapUser,
)
from netmon.store import StateStore

from .helpers import fuzz_examples

NEW_MASTER: Oid = (1, 3, 6, 1, 2, 1, 68, 0, 1)  # VRRP-MIB vrrpTrapNewMaster
COLD_START: Oid = (1, 3, 6, 1, 6, 3, 1, 1, 5, 1)
SENDER = b"\x80\x00\x1f\x88\x80" + bytes(range(12))  # a TRAP sender's engine ID
LOCAL = b"\x80\x00\x00\x00\x05" + b"netmon-test!"  # the receiver's, for INFORMs
SOURCE = "192.0.2.1"  # the address the reader's datagrams come from
AUTH_KEY, PRIV_KEY = "auth-Passphrase-4711", "priv-Passphrase-0815"
AUTHS = list(AuthProtocol)
PRIVS: list[PrivProtocol | None] = [None, *PrivProtocol]
COMBOS = list(itertools.product(AUTHS, PRIVS))


def combo_id(auth: AuthProtocol, priv: PrivProtocol | None) -> str:
    return f"{auth.value}-{priv.value if priv else 'nopriv'}"


def trap_user(
    auth: AuthProtocol = AuthProtocol.SHA256,
    priv: PrivProtocol | None = PrivProtocol.AES,
    name: str = "trapper",
    engine_id: bytes | None = None,
    auth_key: str = AUTH_KEY,
    priv_key: str = PRIV_KEY,
) -> TrapUser:
    creds = SnmpV3(
        name,
        auth,
        Secret("env:T_AUTH", auth_key),
        priv,
        Secret("env:T_PRIV", priv_key) if priv else None,
    )
    return TrapUser(creds, engine_id)


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def reader(
    *users: TrapUser, community: bytes | None = b"public", boots: int = 7, started: float = 0.0
) -> NotificationReader:
    return NotificationReader(
        community, users or (trap_user(),), LocalEngine(LOCAL, boots, started)
    )


# -- messages built with netmon's own v3msg/usm --------------------------------------------


def trap_varbinds(oid: Oid = NEW_MASTER) -> bytes:
    uptime = _tlv(0x30, encode_oid((1, 3, 6, 1, 2, 1, 1, 3, 0)) + b"\x43\x02\x30\x39")
    trap = _tlv(0x30, encode_oid(SNMP_TRAP_OID) + encode_oid(oid))
    return _tlv(0x30, uptime + trap)


def v3(
    user: TrapUser,
    engine_id: bytes = SENDER,
    boots: int = 3,
    etime: int = 100,
    pdu_type: int = TRAP_V2,
    request_id: int = 4242,
    msg_id: int = 77,
    varbinds: bytes | None = None,
    flags: int | None = None,
    salt: int = 1,
) -> bytes:
    """A v3 message as a sender builds it: signed, and encrypted when the user has privacy."""
    creds = user.credentials
    assert creds.auth_protocol is not None
    assert creds.auth_key is not None
    auth = creds.auth_protocol.value.lower()
    priv = creds.priv_protocol.value.lower() if creds.priv_protocol else None
    level = AUTH | (PRIV if priv else 0)
    if flags is None:
        flags = level | (REPORTABLE if pdu_type == INFORM else 0)
    pdu = encode_pdu(pdu_type, request_id, trap_varbinds() if varbinds is None else varbinds)
    scoped = encode_scoped_pdu(engine_id, b"", pdu)
    priv_params = b""
    if flags & PRIV and priv and creds.priv_key:
        key = usm.priv_key(auth, priv, creds.priv_key.reveal().encode(), engine_id)
        scoped, priv_params = usm.encrypt(priv, key, boots, etime, salt, scoped)
    zeros = bytes(usm.digest_length(auth)) if flags & AUTH else b""
    params = UsmParams(engine_id, boots, etime, creds.user.encode(), zeros, priv_params)
    data, at = encode_message(msg_id, flags, params, scoped, encrypted=bool(flags & PRIV))
    if not flags & AUTH:
        return data
    key = usm.localized_key(auth, creds.auth_key.reveal().encode(), engine_id)
    digest = usm.sign(auth, key, data)
    return data[:at] + digest + data[at + len(digest) :]


def discovery(
    msg_id: int = 5, request_id: int = 6, pdu_type: int = 0xA0, flags: int = REPORTABLE
) -> bytes:
    params = UsmParams(b"", 0, 0, b"", b"", b"")
    scoped = encode_scoped_pdu(b"", b"", encode_pdu(pdu_type, request_id, b"\x30\x00"))
    return encode_message(msg_id, flags, params, scoped)[0]


def v3_user(user: TrapUser) -> V3User:
    """The same user as v3wire's client side reads it (to read the receiver's answers)."""
    c = user.credentials
    assert c.auth_protocol is not None
    assert c.auth_key is not None
    return V3User(
        c.user.encode(),
        c.auth_protocol.value.lower(),
        c.auth_key.reveal().encode(),
        c.priv_protocol.value.lower() if c.priv_protocol else None,
        c.priv_key.reveal().encode() if c.priv_key else b"",
    )


def v2c(community: bytes, pdu_type: int = TRAP_V2, request_id: int = 9, version: int = 1) -> bytes:
    pdu = encode_pdu(pdu_type, request_id, trap_varbinds())
    return _tlv(0x30, bytes((2, 1, version)) + _tlv(0x04, community) + pdu)


# -- TRAPs: every combination, learning, the window ----------------------------------------


@pytest.mark.parametrize(("auth", "priv"), COMBOS, ids=[combo_id(*c) for c in COMBOS])
def test_a_v3_trap_of_every_auth_and_priv_is_read(
    auth: AuthProtocol, priv: PrivProtocol | None
) -> None:
    user = trap_user(auth, priv)
    got = reader(user).read(v3(user), now=10.0, source=SOURCE)
    assert got.drop is None
    assert got.notification is not None
    assert (got.notification.version, got.notification.pdu) == ("v3", "trap")
    assert got.notification.trap_oid == NEW_MASTER
    assert got.reply is None  # a TRAP is never answered


def test_the_first_authenticated_trap_teaches_the_engine_and_later_ones_must_fit_its_window() -> (
    None
):
    user = trap_user()
    r = reader(user)
    assert r.read(v3(user, boots=3, etime=1000), now=0.0, source=SOURCE).notification is not None
    assert r.learned_engines() == 1
    # 10 minutes later the sender's clock says 1600: in its window, accepted, clock moves on.
    assert r.read(v3(user, boots=3, etime=1600, salt=2), now=600.0, source=SOURCE).drop is None
    # A replay of the first TRAP now: 600 s behind the sender's time (more than 150): refused.
    assert r.read(v3(user, boots=3, etime=1000), now=600.0, source=SOURCE).drop == "time_window"
    # Within 150 s of its clock a repeat is accepted, as RFC 3414 accepts it.
    assert r.read(v3(user, boots=3, etime=1500, salt=3), now=600.0, source=SOURCE).drop is None
    # An older boot cycle is never accepted again; a newer one (the sender restarted) is.
    assert r.read(v3(user, boots=2, etime=5000), now=601.0, source=SOURCE).drop == "time_window"
    assert r.read(v3(user, boots=4, etime=1), now=602.0, source=SOURCE).drop is None
    assert r.read(v3(user, boots=3, etime=1700), now=603.0, source=SOURCE).drop == "time_window"


def test_an_engine_at_the_last_boot_count_is_refused() -> None:
    user = trap_user()
    assert reader(user).read(v3(user, boots=2**31 - 1), 0.0, source=SOURCE).drop == "time_window"


def test_a_configured_engine_id_is_the_only_one_accepted_for_that_user() -> None:
    pinned = trap_user(engine_id=SENDER)
    r = reader(pinned)
    assert r.read(v3(pinned), 0.0, source=SOURCE).drop is None
    other = SENDER[:-1] + b"\xff"
    assert r.read(v3(pinned, engine_id=other), 0.0, source=SOURCE).drop == "unknown_engine"


def test_a_pinned_entry_takes_no_trap_signed_for_the_receivers_own_engine() -> None:
    """A TRAP signed for netmon's engine ID (as INFORMs are) with the key of an entry pinned to
    a sender: refused, or the pin would be passed by; an INFORM with it is still answered."""
    pinned = trap_user(engine_id=SENDER)
    r = reader(pinned)
    trap = v3(pinned, engine_id=LOCAL, boots=7, etime=0)
    assert r.read(trap, 0.0, source=SOURCE).drop == "unknown_engine"
    inform = v3(pinned, engine_id=LOCAL, boots=7, etime=0, pdu_type=INFORM)
    assert r.read(inform, 0.0, source=SOURCE).notification is not None


def test_one_name_with_per_engine_keys_and_a_learning_entry() -> None:
    pinned = trap_user(engine_id=SENDER, auth_key="key-of-that-engine-1")
    learning = trap_user()
    r = reader(pinned, learning)
    assert r.read(v3(pinned), 0.0, source=SOURCE).drop is None
    other = SENDER[:-1] + b"\xff"
    assert r.read(v3(learning, engine_id=other), 0.0, source=SOURCE).drop is None
    # The pinned engine with the learning entry's key is not that engine's user.
    assert r.read(v3(learning), 0.0, source=SOURCE).drop == "digest"


# -- refusals --------------------------------------------------------------------------------


def test_refusals_are_named_and_teach_nothing() -> None:
    user = trap_user()
    r = reader(user)
    wrong_auth = trap_user(auth_key="not-the-auth-key")
    wrong_priv = trap_user(priv_key="not-the-priv-key")
    stranger = trap_user(name="stranger")
    auth_only = trap_user(priv=None)
    cases = {
        "digest": v3(wrong_auth),
        "decrypt": v3(wrong_priv),
        "unknown_user": v3(stranger),
        "level": v3(auth_only),  # authNoPriv for an authPriv user
        "malformed": v3(user)[:-3],
    }
    for reason, data in cases.items():
        assert r.read(data, 0.0, source=SOURCE).drop == reason, reason
    no_auth = v3(user, flags=0)
    assert r.read(no_auth, 0.0, source=SOURCE).drop == "level"
    assert r.learned_engines() == 0  # nothing unauthenticated (or undecryptable) was learned
    assert set(cases) <= set(DROP_REASONS)


def test_a_damaged_byte_anywhere_is_never_accepted() -> None:
    user = trap_user()
    good = v3(user)
    for i in range(len(good)):
        damaged = good[:i] + bytes((good[i] ^ 0x01,)) + good[i + 1 :]
        got = reader(user).read(damaged, 0.0, source=SOURCE)
        assert got.notification is None, i
        assert got.drop in DROP_REASONS


def test_a_get_request_is_not_a_notification() -> None:
    user = trap_user()
    assert reader(user).read(v3(user, pdu_type=0xA0), 0.0, source=SOURCE).drop == "pdu"


@settings(max_examples=fuzz_examples(300), suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600))
def test_any_bytes_never_raise(data: bytes) -> None:
    got = reader().read(data, 0.0, source=SOURCE)
    assert got.notification is None
    assert got.drop in (*DROP_REASONS, None)


@settings(max_examples=fuzz_examples(300), suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_real_messages_never_raise_and_are_never_accepted(data: st.DataObject) -> None:
    user = trap_user(AuthProtocol.SHA, PrivProtocol.DES)
    original = v3(user, pdu_type=data.draw(st.sampled_from([TRAP_V2, INFORM])))
    damaged = bytearray(original)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(damaged) - 1))
        damaged[at] ^= data.draw(st.integers(1, 255))
    damaged = damaged[: data.draw(st.integers(0, len(damaged)))]
    assume(bytes(damaged) != original)  # two changes of one byte can cancel out
    got = reader(user).read(bytes(damaged), 0.0, source=SOURCE)
    assert got.notification is None
    assert got.drop in DROP_REASONS


# -- INFORMs: the receiver is the authoritative engine --------------------------------------


def test_discovery_gets_the_receivers_engine_id_boots_and_time() -> None:
    r = reader(boots=7, started=0.0)
    got = r.read(discovery(msg_id=5), now=42.0, source=SOURCE)
    assert got.report == "usmStatsUnknownEngineIDs"
    assert got.drop is None
    assert got.reply is not None
    msg_id, report = read_reply(V3User(b"", None), got.reply)
    assert msg_id == 5
    assert isinstance(report, Report)
    assert report.meaning is not None
    assert report.meaning.name == "usmStatsUnknownEngineIDs"
    assert (report.engine.engine_id, report.engine.boots, report.engine.time) == (LOCAL, 7, 42)
    assert not report.authenticated


@pytest.mark.parametrize(("auth", "priv"), COMBOS, ids=[combo_id(*c) for c in COMBOS])
def test_an_inform_of_every_auth_and_priv_is_answered(
    auth: AuthProtocol, priv: PrivProtocol | None
) -> None:
    user = trap_user(auth, priv)
    r = reader(user, boots=7)
    # The sender's first try after discovery: boots and time 0, outside the window.
    first = r.read(
        v3(user, LOCAL, 0, 0, INFORM, request_id=11, msg_id=12), now=500.0, source=SOURCE
    )
    assert first.report == "usmStatsNotInTimeWindows"
    assert first.drop is None
    assert first.notification is None
    assert first.reply is not None
    mid, report = read_reply(v3_user(user), first.reply)  # verifies the Report's digest
    assert mid == 12
    assert isinstance(report, Report)
    assert report.authenticated
    assert (report.engine.boots, report.engine.time) == (7, 500)
    # Now in the window: accepted and answered with a Response (same request-id and varbinds).
    got = r.read(
        v3(user, LOCAL, 7, 501, INFORM, request_id=13, msg_id=14), now=500.0, source=SOURCE
    )
    assert got.notification is not None
    assert (got.notification.version, got.notification.pdu) == ("v3", "inform")
    assert got.notification.trap_oid == NEW_MASTER
    assert got.reply is not None
    mid, response = read_reply(v3_user(user), got.reply)
    assert mid == 14
    assert not isinstance(response, Report)
    assert response.request_id == 13
    assert response.error_status == 0
    assert [oid for oid, _ in response.varbinds] == [(1, 3, 6, 1, 2, 1, 1, 3, 0), SNMP_TRAP_OID]


def test_inform_refusals_are_reported_when_the_sender_asks() -> None:
    user = trap_user()
    r = reader(user, boots=7)
    wrong = trap_user(auth_key="not-the-auth-key")
    got = r.read(v3(wrong, LOCAL, 7, 0, INFORM), 0.0, source=SOURCE)
    assert (got.drop, got.report) == ("digest", "usmStatsWrongDigests")
    got = r.read(v3(trap_user(name="nobody"), LOCAL, 7, 0, INFORM), 0.0, source=SOURCE)
    assert (got.drop, got.report) == ("unknown_user", "usmStatsUnknownUserNames")
    got = r.read(v3(trap_user(priv=None), LOCAL, 7, 0, INFORM), 0.0, source=SOURCE)
    assert (got.drop, got.report) == ("level", "usmStatsUnsupportedSecLevels")
    got = r.read(
        v3(trap_user(priv_key="not-the-priv-key"), LOCAL, 7, 0, INFORM), 0.0, source=SOURCE
    )
    assert (got.drop, got.report) == ("decrypt", "usmStatsDecryptionErrors")
    # Without the reportable flag nobody is answered.
    got = r.read(v3(wrong, LOCAL, 7, 0, INFORM, flags=AUTH | PRIV), 0.0, source=SOURCE)
    assert (got.drop, got.reply) == ("digest", None)


def test_an_inform_for_another_engine_makes_the_sender_discover_again() -> None:
    user = trap_user()
    got = reader(user).read(v3(user, SENDER, 1, 1, INFORM), 0.0, source=SOURCE)
    assert (got.drop, got.report) == ("unknown_engine", "usmStatsUnknownEngineIDs")
    assert got.reply is not None
    _, report = read_reply(V3User(b"", None), got.reply)
    assert isinstance(report, Report)
    assert report.engine.engine_id == LOCAL


# -- v1 and v2c on the same reader ---------------------------------------------------------


def test_v2c_traps_and_informs_by_community() -> None:
    r = reader(community=b"s3cret")
    got = r.read(v2c(b"s3cret"), 0.0, source=SOURCE)
    assert got.notification is not None
    assert got.notification.trap_oid == NEW_MASTER
    assert got.reply is None
    assert r.read(v2c(b"guess"), 0.0, source=SOURCE).drop == "community"
    inform = r.read(v2c(b"s3cret", INFORM, request_id=99), 0.0, source=SOURCE)
    assert inform.reply is not None
    response = decode_response(inform.reply, decode_header(inform.reply))
    assert (response.community, response.request_id, response.error_status) == (b"s3cret", 99, 0)
    assert len(response.varbinds) == 2


def test_a_v3_only_receiver_refuses_every_community() -> None:
    assert reader(community=None).read(v2c(b"public"), 0.0, source=SOURCE).drop == "community"


def test_v1_traps_are_translated_as_rfc_3584_says() -> None:
    def v1(generic: int, specific: int) -> bytes:
        body = encode_oid((1, 3, 6, 1, 2, 1, 68)) + b"\x40\x04\x7f\x00\x00\x01"
        body += bytes((2, 1, generic, 2, 1, specific)) + b"\x43\x01\x00" + b"\x30\x00"
        return _tlv(0x30, b"\x02\x01\x00" + _tlv(0x04, b"public") + _tlv(0xA4, body))

    r = reader()
    specific = r.read(v1(6, 1), 0.0, source=SOURCE).notification
    assert specific is not None
    assert specific.trap_oid == NEW_MASTER  # enterprise.0.specific
    generic = r.read(v1(0, 0), 0.0, source=SOURCE).notification
    assert generic is not None
    assert generic.trap_oid == COLD_START


# -- the receiver: socket, pysnmp as the sender, logs ---------------------------------------

_PYSNMP_AUTH = {
    AuthProtocol.MD5: "usmHMACMD5AuthProtocol",
    AuthProtocol.SHA: "usmHMACSHAAuthProtocol",
    AuthProtocol.SHA224: "usmHMAC128SHA224AuthProtocol",
    AuthProtocol.SHA256: "usmHMAC192SHA256AuthProtocol",
    AuthProtocol.SHA384: "usmHMAC256SHA384AuthProtocol",
    AuthProtocol.SHA512: "usmHMAC384SHA512AuthProtocol",
}
_PYSNMP_PRIV = {
    PrivProtocol.DES: "usmDESPrivProtocol",
    PrivProtocol.AES: "usmAesCfb128Protocol",
    PrivProtocol.AES192: "usmAesBlumenthalCfb192Protocol",
    PrivProtocol.AES256: "usmAesBlumenthalCfb256Protocol",
    PrivProtocol.AES192C: "usmAesCfb192Protocol",
    PrivProtocol.AES256C: "usmAesCfb256Protocol",
}


async def _pysnmp_send_all(port: int, kind: str) -> list[tuple[str, Any]]:
    """Send one TRAP or INFORM per auth x priv combination with pysnmp; (combo, error)."""
    from pysnmp.hlapi.v3arch import asyncio as hl

    engine = hl.SnmpEngine()
    results: list[tuple[str, Any]] = []
    try:
        for auth, priv in COMBOS:
            name = combo_id(auth, priv)
            # A target of its own per user: pysnmp tags a target with its first user, and a
            # shared one would send each notification to every user configured so far.
            target = await hl.UdpTransportTarget.create(("127.0.0.1", port), timeout=1, retries=1)
            user = hl.UsmUserData(
                name,
                AUTH_KEY,
                PRIV_KEY if priv else None,
                authProtocol=getattr(hl, _PYSNMP_AUTH[auth]),
                privProtocol=getattr(hl, _PYSNMP_PRIV[priv]) if priv else hl.usmNoPrivProtocol,
            )
            notification = hl.NotificationType(hl.ObjectIdentity(".".join(map(str, NEW_MASTER))))
            error, status, _, _ = await hl.send_notification(
                engine, user, target, hl.ContextData(), kind, notification
            )
            results.append((name, error or (status if status else None)))
    finally:
        engine.close_dispatcher()
    return results


@pytest.mark.parametrize("kind", ["trap", "inform"])
def test_pysnmp_traps_and_informs_reach_the_handler(kind: str) -> None:
    users = tuple(trap_user(auth, priv, name=combo_id(auth, priv)) for auth, priv in COMBOS)
    got: list[tuple[str, str | None]] = []

    async def go() -> tuple[TrapReceiver, list[tuple[str, Any]]]:
        receiver = TrapReceiver(
            TrapSettings("127.0.0.1", 0, None, users), lambda s, n: got.append((s, n))
        )
        receiver.start()
        try:
            results = await _pysnmp_send_all(receiver.address[1], kind)
            await asyncio.sleep(0.1)  # TRAPs are not answered: let the last ones land
        finally:
            receiver.close()
        return receiver, results

    receiver, results = asyncio.run(go())
    assert [name for name, error in results if error] == []  # an INFORM's error: no Response
    assert got == [("127.0.0.1", "vrrpTrapNewMaster")] * len(COMBOS)
    assert receiver.stats.accepted == {f"v3 {kind}": len(COMBOS)}
    assert not receiver.stats.dropped


def test_drops_are_logged_once_then_summarised_without_secrets(
    caplog: pytest.LogCaptureFixture,
) -> None:
    user = trap_user()
    wrong = trap_user(auth_key="wrong-" + AUTH_KEY)

    async def go() -> TrapReceiver:
        receiver = TrapReceiver(
            TrapSettings("127.0.0.1", 0, Secret("env:C", "s3cret-community"), (user,)),
            lambda s, n: None,
        )
        receiver.start()
        for _ in range(50):
            receiver.datagram(v3(wrong), ("127.0.0.9", 162))
        receiver.datagram(b"\x30\x03garbage", ("127.0.0.8", 162))
        receiver.datagram(v2c(b"guess"), ("127.0.0.8", 162))
        receiver.close()  # flushes the pending summary
        return receiver

    with caplog.at_level(logging.DEBUG, logger="netmon.collectors.traps"):
        receiver = asyncio.run(go())
    assert receiver.stats.dropped == {"digest": 50, "malformed": 1, "community": 1}
    drops = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert len(drops) == 2
    assert "127.0.0.9: digest" in drops[0]
    assert "dropped 51 more" in drops[1]
    assert "49 digest" in drops[1]
    text = caplog.text
    for secret in (AUTH_KEY, PRIV_KEY, "s3cret-community", "guess"):
        assert secret not in text


def test_drop_summary_waits_a_window_between_lines() -> None:
    clock = Clock(0.0)
    lines: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    logger = logging.getLogger("test.dropsummary")
    logger.addHandler(Capture())
    logger.propagate = False
    summary = DropSummary(logger, window=60.0, clock=clock)
    assert summary.record("digest", "10.0.0.1") is False  # logged at once
    assert summary.record("digest", "10.0.0.1") is True
    clock.now = 30.0
    assert summary.flush() is not None
    clock.now = 95.0  # a minute after the last line: the next drop is logged at once again
    assert summary.record("malformed", "10.0.0.2") is False
    assert len(lines) == 3


def test_the_receivers_engine_is_kept_for_the_process() -> None:
    first = local_engine(b"\x80\x00\x00\x00\x05pinned-one", wall=lambda: 1_800_000_000.0)
    again = local_engine(b"\x80\x00\x00\x00\x05pinned-one")
    assert first is again
    assert first.boots == 1_800_000_000 - 1_704_067_200  # grows with every process start
    assert local_engine(None).engine_id.startswith(b"\x80\x00\x00\x00\x05")


def test_a_bad_listen_address_is_a_clear_error() -> None:
    from netmon.errors import CollectorError

    taken = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    taken.bind(("127.0.0.1", 0))
    port = taken.getsockname()[1]

    async def go() -> None:
        TrapReceiver(TrapSettings("127.0.0.1", port, Secret("env:C", "c")), print).start()

    try:
        with pytest.raises(CollectorError, match=f"cannot listen on 127.0.0.1:{port}"):
            asyncio.run(go())
    finally:
        taken.close()


# -- the inventory ---------------------------------------------------------------------------

INVENTORY = """\
traps:
  listen: 127.0.0.1:16162
{body}
devices:
  r1: {{address: 10.99.0.11, snmp: {{community: {{env: T_COMM}}}}}}
pairs: []
"""


def inventory(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "inv.yaml"
    path.write_text(INVENTORY.format(body=body))
    return path


@pytest.fixture
def secrets_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("T_COMM", "c0mm")
    monkeypatch.setenv("T_AUTH", AUTH_KEY)
    monkeypatch.setenv("T_PRIV", PRIV_KEY)


@pytest.mark.usefixtures("secrets_env")
def test_inventory_v3_users(tmp_path: Path) -> None:
    path = inventory(
        tmp_path,
        """\
  engine_id: '0x80001F8880AABBCCDD'
  users:
    - {user: netmon, auth_protocol: SHA256, auth_key: {env: T_AUTH}, priv_protocol: AES, priv_key: {env: T_PRIV}}
    - {user: netmon, auth_protocol: SHA, auth_key: {env: T_AUTH}, engine_id: 800000090300AABBCCDDEEFF}
""",
    )
    settings = load_inventory(path).traps
    assert settings is not None
    assert settings.community is None
    assert settings.engine_id == bytes.fromhex("80001F8880AABBCCDD")
    first, second = settings.users
    assert first.credentials.auth_protocol is AuthProtocol.SHA256
    assert first.credentials.priv_protocol is PrivProtocol.AES
    assert first.credentials.auth_key is not None
    assert first.credentials.auth_key.reveal() == AUTH_KEY
    assert first.engine_id is None
    assert second.engine_id == bytes.fromhex("800000090300AABBCCDDEEFF")
    assert AUTH_KEY not in repr(settings)


@pytest.mark.usefixtures("secrets_env")
@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "traps need 'community' (v1/v2c), 'users' (v3), or both"),
        (
            "  users: [{user: u, auth_protocol: SHA, auth_key: {env: T_AUTH}, priv_protocol: AES}]",
            "'priv_protocol' and 'priv_key' go together",
        ),
        ("  users: [{user: u, priv_protocol: AES, priv_key: {env: T_PRIV}}]", "auth_protocol"),
        (
            "  users: [{user: u, auth_protocol: SHA, auth_key: {env: T_AUTH}, engine_id: '0x12'}]",
            "should match pattern",
        ),
        (
            "  users: [{user: u, auth_protocol: SHA, auth_key: {env: T_AUTH}},"
            " {user: u, auth_protocol: MD5, auth_key: {env: T_AUTH}}]",
            "trap user 'u' is listed twice without engine_id",
        ),
        (
            "  users: [{user: u, auth_protocol: SHA, auth_key: {env: T_NOT_SET_ANYWHERE}}]",
            "traps.users[0].auth_key: secret",
        ),
        ("  users: [{user: u, auth_protocol: SHA1, auth_key: {env: T_AUTH}}]", "auth_protocol"),
        ("  engine_id: 0x80001F8880AABBCCDD\n  community: {env: T_COMM}", "must be quoted"),
    ],
)
def test_inventory_trap_mistakes(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_inventory(inventory(tmp_path, body))
    text = "\n".join(str(p) for p in info.value.problems)
    assert message in text
    assert AUTH_KEY not in text


@pytest.mark.usefixtures("secrets_env")
def test_inventory_community_only_still_works(tmp_path: Path) -> None:
    settings = load_inventory(inventory(tmp_path, "  community: {env: T_COMM}")).traps
    assert settings is not None
    assert settings.community is not None
    assert settings.community.reveal() == "c0mm"
    assert settings.users == ()


def test_the_documented_example_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = (Path(__file__).parent.parent / "docs" / "inventory.md").read_text()
    section = docs[docs.index("## Traps") :]
    example = section[section.index("```yaml\n") + 8 : section.index("```\n", 8)]
    for name in ("NETMON_TRAP_COMMUNITY", "NETMON_TRAP_AUTH", "NETMON_TRAP_PRIV"):
        monkeypatch.setenv(name, f"value-of-{name}")
    for name in ("core-a.auth", "core-a.priv"):
        (tmp_path / name).write_text("a-file-secret\n")
    example = example.replace("/etc/netmon/", f"{tmp_path}/")
    path = tmp_path / "inv.yaml"
    path.write_text(example + "devices: {}\npairs: []\n")
    settings = load_inventory(path).traps
    assert settings is not None
    assert len(settings.users) == 2
    assert settings.users[1].engine_id == bytes.fromhex("800000090300aabbccddeeff")
    assert settings.users[1].credentials.priv_protocol is PrivProtocol.AES256C


def test_drops_reach_the_daemons_counter_and_the_metric_by_reason() -> None:
    """The receiver's refusals are the store's `netmon_traps_dropped_total{reason}`: counted
    where a reload (a new receiver) does not reset them, labelled only by the fixed reasons."""
    store = StateStore(Inventory({}, ()))
    wrong = trap_user(auth_key="wrong-" + AUTH_KEY)
    for _ in range(2):  # two receivers, as a SIGHUP reload makes: the count goes on
        receiver = TrapReceiver(
            TrapSettings("127.0.0.1", 0, Secret("env:C", "c"), (trap_user(),)),
            lambda s, n: None,
            on_drop=store.record_trap_dropped,
        )
        receiver.datagram(v3(wrong), ("127.0.0.9", 162))
        receiver.datagram(b"\x00garbage \xff", ("127.0.0.9", 162))
    assert store.snapshot(0.0).traps_dropped == {"digest": 2, "malformed": 2}
    body = generate_latest(make_registry(lambda: store.snapshot(0.0))).decode()
    assert 'netmon_traps_dropped_total{reason="digest"} 2.0' in body
    assert 'netmon_traps_dropped_total{reason="malformed"} 2.0' in body
    assert "garbage" not in body and AUTH_KEY not in body


# -- TRAP clocks: one key holder cannot lock another sender out ----------------------------

X_ADDR, Y_ADDR = "192.0.2.10", "192.0.2.20"  # device X, and Y: same user and passphrases


@pytest.mark.parametrize(
    ("boots", "etime"), [(MAX_UINT31, 0), (3, MAX_UINT31 - 1)], ids=["boots-max", "time-far-ahead"]
)
@pytest.mark.parametrize("forged_first", [False, True], ids=["after-x", "before-x"])
def test_a_trap_naming_another_engine_from_elsewhere_does_not_silence_it(
    boots: int, etime: int, forged_first: bool
) -> None:
    """A learning entry's passphrase signs for every engine ID, so Y can sign a TRAP naming X's
    engine. Its clock is judged and kept per source address: Y's TRAP moves only the clock of
    Y's address, whether it comes after X's first TRAP or before it (right after a start)."""
    user = trap_user()
    r = reader(user)
    forged = v3(user, SENDER, boots, etime, msg_id=2, salt=2)
    if forged_first:
        r.read(forged, 999.0, source=Y_ADDR)
    assert r.read(v3(user, SENDER, 3, 500), 1000.0, source=X_ADDR).drop is None
    if not forged_first:
        r.read(forged, 1001.0, source=Y_ADDR)
    later = v3(user, SENDER, 3, 510, msg_id=3, salt=9)
    assert r.read(later, 1010.0, source=X_ADDR).drop is None


def test_an_engines_clock_from_another_address_is_its_own() -> None:
    """A message naming X's engine from another address never moves X's clock: a replay of X's
    old TRAP there is learned for that address (the daemon acts on the source address, so it
    polls that address's devices), and X's own replay window is unchanged."""
    user = trap_user()
    r = reader(user)
    first = v3(user, SENDER, 3, 1000)
    assert r.read(first, 0.0, source=X_ADDR).drop is None
    assert r.read(v3(user, SENDER, 4, 1, salt=2), 1.0, source=Y_ADDR).drop is None  # Y's boots 4
    assert r.read(v3(user, SENDER, 3, 1600, salt=3), 600.0, source=X_ADDR).drop is None
    assert r.read(first, 600.0, source=X_ADDR).drop == "time_window"
    assert r.learned_engines() == 2


def test_boots_at_the_maximum_is_refused_and_never_kept() -> None:
    """RFC 3414 2.2: boots 2^31-1 is a locked engine. From the very address an engine was
    learned from it is refused without moving the clock, so the engine's next TRAP passes."""
    user = trap_user()
    r = reader(user)
    assert r.read(v3(user, boots=3, etime=500), 0.0, source=SOURCE).drop is None
    locked = v3(user, boots=MAX_UINT31, etime=0, salt=2)
    assert r.read(locked, 1.0, source=SOURCE).drop == "time_window"
    assert r.read(v3(user, boots=3, etime=505, salt=3), 5.0, source=SOURCE).drop is None
    assert r.read(locked, 6.0, source="192.0.2.99").drop == "time_window"  # not learned either
    assert r.learned_engines() == 1


@pytest.mark.parametrize(("ahead", "kept"), [(150, True), (151, False)])
def test_a_time_more_than_the_window_ahead_is_accepted_but_not_kept(ahead: int, kept: bool) -> None:
    """At equal boots a TRAP more than 150 s ahead of netmon's estimate of the sender's clock is
    accepted (authenticated; a clock may drift, netmon's host may have been suspended) but not
    kept: kept, it would put every genuine TRAP after it "more than 150 s behind"."""
    user = trap_user()
    r = reader(user)
    assert r.read(v3(user, boots=3, etime=1000), 0.0, source=SOURCE).drop is None
    # At 10 s the estimate is 1010.
    assert r.read(v3(user, boots=3, etime=1010 + ahead, salt=2), 10.0, source=SOURCE).drop is None
    # At 15 s: 1010 is above the first TRAP's 1000, but 155 s behind 1015 + 150.
    got = r.read(v3(user, boots=3, etime=1010, salt=3), 15.0, source=SOURCE)
    assert got.drop == ("time_window" if kept else None)


@pytest.mark.parametrize(("behind", "drop"), [(150, None), (151, "time_window")])
def test_a_repeat_exactly_at_the_window_edge(behind: int, drop: str | None) -> None:
    """A TRAP not newer than the latest received passes while it is at most 150 s behind
    netmon's estimate of the sender's clock (RFC 3414 7b)."""
    user = trap_user()
    r = reader(user)
    first = v3(user, boots=3, etime=1000)
    assert r.read(first, 0.0, source=SOURCE).drop is None
    assert r.read(first, float(behind), source=SOURCE).drop == drop


def test_a_trap_newer_than_the_latest_passes_however_far_behind_the_estimate() -> None:
    """What docs/inventory.md says and RFC 3414 7b does (it updates latestReceivedEngineTime
    before it checks): newer than the latest received passes, here 9,900 s behind netmon's
    estimate; a withheld TRAP delivered late is accepted (a trap is a hint to poll)."""
    user = trap_user()
    r = reader(user)
    assert r.read(v3(user, boots=3, etime=500), 0.0, source=SOURCE).drop is None
    assert r.read(v3(user, boots=3, etime=600, salt=2), 10_000.0, source=SOURCE).drop is None
    # ... and it is now the latest (not ahead of the estimate): 201 s behind it is a replay.
    assert r.read(v3(user, boots=3, etime=400, salt=3), 10_001.0, source=SOURCE).drop == (
        "time_window"
    )


def test_a_sender_restarted_without_raising_boots_is_dropped_until_reload() -> None:
    """Documented and RFC-conform: time going back below the latest received at equal boots is
    a time_window drop, for as long as the reader lives."""
    user = trap_user()
    r = reader(user)
    assert r.read(v3(user, boots=3, etime=5000), 0.0, source=SOURCE).drop is None
    assert r.read(v3(user, boots=3, etime=10, salt=2), 86_400.0, source=SOURCE).drop == (
        "time_window"
    )


def test_the_engine_table_is_bounded_and_forgets_the_least_recently_heard() -> None:
    user = trap_user(engine_id=None)
    r = NotificationReader(b"public", (user,), LocalEngine(LOCAL, 7, 0.0), max_engines=2)
    a, b, c = (SENDER[:-1] + bytes((n,)) for n in (1, 2, 3))
    first_a, first_b = v3(user, a, 3, 1000), v3(user, b, 3, 1000)
    assert r.read(first_a, 0.0, source=SOURCE).drop is None
    assert r.read(first_b, 0.0, source=SOURCE).drop is None
    assert r.read(v3(user, a, 3, 1300, salt=2), 300.0, source=SOURCE).drop is None  # a: in use
    assert r.read(v3(user, c, 3, 1000), 300.0, source=SOURCE).drop is None  # b goes
    assert r.learned_engines() == 2
    assert r.read(first_a, 300.0, source=SOURCE).drop == "time_window"  # a's clock was kept
    assert r.read(first_b, 300.0, source=SOURCE).drop is None  # b was forgotten: learned anew


def test_a_forged_trap_for_a_random_engine_is_cheap_and_learns_nothing() -> None:
    """A non-key-holder flooding TRAPs with a fresh engine ID each costs one localisation hash
    and one HMAC a datagram (Ku is cached per passphrase); nothing is learned."""
    user = trap_user()
    r = reader(user)
    r.read(v3(user), 0.0, source=SOURCE)  # warms the passphrase's Ku
    forger = trap_user(auth_key="not-the-passphrase", priv_key="nor-this-one")
    datagrams = [v3(forger, b"\x80\x00\x1f\x88\x80" + os.urandom(12)) for _ in range(300)]
    start = time.process_time()
    drops = {r.read(d, 1.0, source=SOURCE).drop for d in datagrams}
    per = (time.process_time() - start) / len(datagrams)
    assert drops == {"digest"}
    assert r.learned_engines() == 1
    assert per < 0.002, f"{per * 1e6:.0f} us of CPU per forged datagram"


def test_a_forged_boots_max_trap_from_a_non_key_holder_changes_nothing() -> None:
    user = trap_user()
    r = reader(user)
    assert r.read(v3(user, boots=3, etime=500), 0.0, source=SOURCE).drop is None
    forger = trap_user(auth_key="not-the-passphrase")
    forged = v3(forger, boots=MAX_UINT31, etime=0, salt=2)
    assert r.read(forged, 1.0, source=SOURCE).drop == "digest"
    assert r.read(v3(user, boots=3, etime=505, salt=3), 5.0, source=SOURCE).drop is None


# -- INFORMs: this engine's window, salts, what is answered ---------------------------------


@pytest.mark.parametrize(
    ("boots", "offset", "accepted"),
    [(7, 150, True), (7, -150, True), (7, 151, False), (7, -151, False), (8, 0, False),
     (6, 0, False)],
    ids=["ahead-150", "behind-150", "ahead-151", "behind-151", "boots-above", "boots-below"],
)  # fmt: skip
def test_an_informs_window_is_boots_equal_and_time_within_150_s(
    boots: int, offset: int, accepted: bool
) -> None:
    user = trap_user()
    r = reader(user, boots=7, started=0.0)
    got = r.read(v3(user, LOCAL, boots, 500 + offset, INFORM), 500.0, source=SOURCE)
    if accepted:
        assert got.notification is not None
    else:
        assert (got.notification, got.report) == (None, "usmStatsNotInTimeWindows")


def test_a_receiver_at_the_last_boot_count_accepts_no_inform() -> None:
    """RFC 3414 3.2 7a: an authoritative engine whose boots reached 2^31-1 is locked, even for
    a message carrying that same boots and the right time."""
    user = trap_user()
    r = reader(user, boots=MAX_UINT31, started=0.0)
    got = r.read(v3(user, LOCAL, MAX_UINT31, 500, INFORM), 500.0, source=SOURCE)
    assert (got.notification, got.report) == (None, "usmStatsNotInTimeWindows")


def test_every_encrypted_response_has_a_salt_of_its_own() -> None:
    """A salt repeated under one key repeats the keystream (RFC 3826 3.1.2.1, RFC 3414 8.1.1.1)."""
    user = trap_user()
    r = reader(user, boots=7, started=0.0)
    salts = set()
    for n in range(3):
        got = r.read(v3(user, LOCAL, 7, 500, INFORM, msg_id=n, salt=n), 500.0, source=SOURCE)
        assert got.reply is not None
        msg = decode_message(got.reply)
        assert msg.encrypted is not None
        salts.add(msg.usm.priv)
    assert len(salts) == 3


def test_a_discovery_without_the_reportable_flag_is_not_answered() -> None:
    got = reader().read(discovery(flags=0), 5.0, source=SOURCE)
    assert (got.drop, got.reply) == ("unknown_engine", None)


@pytest.mark.parametrize(
    "pdu_type", [REPORT, RESPONSE, TRAP_V2], ids=["report", "response", "trap"]
)
def test_an_unconfirmed_pdu_is_never_answered_even_when_marked_reportable(pdu_type: int) -> None:
    """RFC 3412 6.4: a Report, Response or TRAP is processed as if the reportableFlag were 0
    (no Report answered with a Report: no ping-pong with a peer that does the same)."""
    got = reader().read(discovery(pdu_type=pdu_type), 5.0, source=SOURCE)
    assert (got.drop, got.reply) == ("unknown_engine", None)


def test_a_readable_trap_to_this_engine_is_never_reported() -> None:
    """The same for a TRAP sent (authNoPriv, so readable) with this receiver's engine ID and the
    reportable flag: outside the window, or with a wrong digest, it is dropped unanswered. An
    encrypted message's PDU cannot be read: there the flag decides (see
    test_inform_refusals_are_reported_when_the_sender_asks)."""
    user = trap_user(priv=None)
    r = reader(user, boots=7)
    flags = AUTH | REPORTABLE
    got = r.read(v3(user, LOCAL, 0, 0, TRAP_V2, flags=flags), 500.0, source=SOURCE)
    assert (got.drop, got.reply) == ("time_window", None)
    wrong = trap_user(priv=None, auth_key="not-the-auth-key")
    got = r.read(v3(wrong, LOCAL, 7, 500, TRAP_V2, flags=flags), 500.0, source=SOURCE)
    assert (got.drop, got.reply) == ("digest", None)
    got = r.read(v3(wrong, LOCAL, 7, 500, INFORM, flags=flags), 500.0, source=SOURCE)
    assert (got.drop, got.report) == ("digest", "usmStatsWrongDigests")  # a confirmed PDU


def test_the_receiver_never_raises_on_truncated_or_extended_v3() -> None:
    user = trap_user()
    r = reader(user, boots=7)
    base = v3(user, LOCAL, 7, 5, INFORM)
    for cut in range(len(base)):
        assert r.read(base[:cut], 5.0, source=SOURCE).drop in DROP_REASONS
    assert r.read(base + b"\x00", 5.0, source=SOURCE).drop == "malformed"
    assert r.read(base, 5.0, source=SOURCE).notification is not None


def test_a_community_with_the_right_prefix_is_refused() -> None:
    r = reader(community=b"public")
    for wrong in (b"publicX", b"publi", b""):
        assert r.read(v2c(wrong), 0.0, source=SOURCE).drop == "community", wrong


# -- Reports are rate-limited; Responses are not ---------------------------------------------


def test_report_limit_buckets_per_source_and_overall() -> None:
    limit = ReportLimit(rate=10, burst=20, per_source=5, source_burst=10)
    assert [limit.allow("a", 0.0) for _ in range(11)] == [True] * 10 + [False]
    assert limit.allow("a", 0.1) is False  # half a token
    assert limit.allow("a", 0.2) is True  # 5 a second; overall 20 - 10 + 2 - 1 = 11 left
    assert [limit.allow("b", 0.2) for _ in range(10)] == [True] * 10
    assert limit.allow("c", 0.2) is True  # the overall bucket's last token
    assert limit.allow("d", 0.2) is False  # d's own bucket is full, the overall one is empty
    assert limit.allow("d", 0.35) is True  # 10 a second overall


def test_report_limit_forgets_the_least_recent_source() -> None:
    limit = ReportLimit(rate=1000, burst=1000, per_source=1, source_burst=1, max_sources=2)
    assert limit.allow("a", 0.0) and limit.allow("b", 0.0)
    assert not limit.allow("a", 0.0)
    assert limit.allow("c", 0.0)  # b, the least recent, is forgotten
    assert not limit.allow("a", 0.0)  # a is still known (and empty)
    assert limit.allow("b", 0.0)  # b starts full again


def test_the_receiver_suppresses_reports_over_the_limit_but_never_responses(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A spoofed discovery buys a Report about twice its size: Reports are limited per source
    (5/s after a burst of 10) and overall; a suppressed one is counted and summarised. The
    Response to an accepted INFORM (authenticated) is never limited."""
    user = trap_user()
    clock = Clock(100.0)
    receiver = TrapReceiver(TrapSettings("127.0.0.1", 0, None, (user,)), lambda s, n: None, clock)
    clock.now = receiver.engine.started + 100.0  # the engine is per process: its clock is real
    victim = ("198.51.100.7", 161)
    request = discovery()
    replies = [receiver.datagram(request, victim).reply for _ in range(15)]
    assert len(request) < len(replies[0] or b"")  # why they are limited
    assert [r is not None for r in replies] == [True] * 10 + [False] * 5
    assert receiver.stats.reports == {"usmStatsUnknownEngineIDs": 10}
    assert receiver.stats.reports_suppressed == 5
    clock.now += 1.0  # 5 more a second
    replies = [receiver.datagram(request, victim).reply for _ in range(6)]
    assert [r is not None for r in replies] == [True] * 5 + [False]
    # The overall limit: 50 a second after a burst of 50, whatever the sources.
    clock.now += 10.0
    answered = sum(
        receiver.datagram(request, (f"203.0.113.{n}", 161)).reply is not None for n in range(60)
    )
    assert answered == 50
    # Responses to authenticated INFORMs from the same victim address: all answered.
    t = int(clock.now - receiver.engine.started)
    boots = receiver.engine.boots
    for n in range(20):
        inform = v3(user, receiver.engine.engine_id, boots, t, INFORM, msg_id=n, salt=n)
        got = receiver.datagram(inform, victim)
        assert got.notification is not None
        assert got.reply is not None
    assert receiver.stats.accepted == {"v3 inform": 20}
    assert not receiver.stats.dropped
    with caplog.at_level(logging.WARNING, logger="netmon.collectors.traps"):
        line = receiver.drops.flush()
    assert line is not None
    assert "Report(s) not sent (over the rate limit)" in line
    assert "198.51.100.7" in line


def test_suppressed_reports_are_logged_at_once_then_summarised() -> None:
    clock = Clock(0.0)
    lines: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    logger = logging.getLogger("test.dropsummary.reports")
    logger.addHandler(Capture())
    logger.propagate = False
    summary = DropSummary(logger, window=60.0, clock=clock)
    assert summary.suppressed("10.0.0.1") is False  # logged at once
    assert "not sending a Report to 10.0.0.1: over the rate limit" in lines[0]
    assert summary.suppressed("10.0.0.1") is True
    assert summary.record("digest", "10.0.0.2") is True
    line = summary.flush()
    assert line is not None
    assert line.startswith("dropped 1 more notification(s) in the last 60s: 1 digest; ")
    assert "1 Report(s) not sent (over the rate limit)" in line
    assert summary.suppressed("10.0.0.1") is True
    assert summary.flush() == (
        "in the last 60s; 1 Report(s) not sent (over the rate limit); from 10.0.0.1 (1)"
    )


# -- the receiver's own boots ----------------------------------------------------------------


def test_a_wall_clock_before_2024_is_warned_about_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Boots come from the wall clock (seconds since 2024-01-01) and nothing keeps them on disk:
    a clock before 2024 at start gives boots 1 at every such start, so with a configured
    engine_id an INFORM of an earlier run could be replayed (documented). It is said once."""
    monkeypatch.setattr(traps, "_ENGINES", {})
    with caplog.at_level(logging.WARNING, logger="netmon.collectors.traps"):
        engine = local_engine(LOCAL, wall=lambda: 86_400.0, clock=lambda: 0.0)
        assert local_engine(LOCAL, wall=lambda: 86_400.0, clock=lambda: 0.0) is engine
    assert engine.boots == 1
    warnings = [r for r in caplog.records if "before 2024-01-01" in r.getMessage()]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    caplog.clear()
    monkeypatch.setattr(traps, "_ENGINES", {})
    with caplog.at_level(logging.WARNING, logger="netmon.collectors.traps"):
        local_engine(LOCAL, wall=lambda: 1_800_000_000.0, clock=lambda: 0.0)
    assert not caplog.records
