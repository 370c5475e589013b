"""pysnmp 7 as the authoritative SNMPv3 engine netmon talks to, driven without sockets.

The oracle for netmon's v3 wire path (tests/test_v3_interop.py, tests/test_v3_fuzz.py): pysnmp's
own message processing (RFC 3412, `SnmpV3MessageProcessingModel`) and its own USM (RFC 3414,
`SnmpUSMSecurityModel`) take netmon's datagram apart, authenticate and decrypt it, and build the
Response (signed and encrypted by pysnmp's auth and priv services) or the Report an agent sends.
No command responder runs: the test sees the PDU pysnmp decoded and chooses the answer, so any
varbinds can come back, not only what a MIB holds.

One `SnmpEngine` serves every test (`shared()`): pysnmp's engine-wide scalars (snmpEngineID,
Boots, Time) are module objects shared by all engines of a process anyway (a second SnmpEngine
would move the first one's boots), so a test sets the engine it wants (`set_engine`) before
each exchange instead of building an engine each time.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import Any

from pysnmp.entity import config
from pysnmp.entity.engine import SnmpEngine
from pysnmp.proto import error as pysnmp_error
from pysnmp.proto.api import v2c

from netmon.collectors.v3wire import V3User

AUTH_ID: dict[str | None, tuple[int, ...]] = {
    None: config.USM_AUTH_NONE,
    "md5": config.USM_AUTH_HMAC96_MD5,
    "sha": config.USM_AUTH_HMAC96_SHA,
    "sha224": config.USM_AUTH_HMAC128_SHA224,
    "sha256": config.USM_AUTH_HMAC192_SHA256,
    "sha384": config.USM_AUTH_HMAC256_SHA384,
    "sha512": config.USM_AUTH_HMAC384_SHA512,
}
PRIV_ID: dict[str | None, tuple[int, ...]] = {
    None: config.USM_PRIV_NONE,
    "des": config.USM_PRIV_CBC56_DES,
    "aes": config.USM_PRIV_CFB128_AES,
    "aes128": config.USM_PRIV_CFB128_AES,
    "aes192": config.USM_PRIV_CFB192_AES_BLUMENTHAL,  # net-snmp AES192
    "aes256": config.USM_PRIV_CFB256_AES_BLUMENTHAL,  # net-snmp AES256
    "aes192c": config.USM_PRIV_CFB192_AES,  # Reeder: Cisco, net-snmp AES192C
    "aes256c": config.USM_PRIV_CFB256_AES,  # Reeder: Cisco, net-snmp AES256C
}
_UDP = (1, 3, 6, 1, 6, 1, 1)  # snmpUDPDomain: pysnmp only files it with the request's state
_PEER = ("127.0.0.1", 49152)
# pysnmp keeps snmpEngineTime as the epoch second the engine "booted" and returns now - that
# when read (SNMP-FRAMEWORK-MIB's _SnmpEngineTime_Type.clone), so a time is set as a start.
MAX_TIME = 1_500_000_000


@functools.cache
def _ku(auth: str, passphrase: bytes) -> Any:
    # pysnmp's Ku (1 MiB of hashing in Python): computed by pysnmp, once per passphrase, and
    # handed to add_v3_user as a master key; the localisation stays pysnmp's per engine ID.
    return config.AUTH_SERVICES[AUTH_ID[auth]].hash_passphrase(passphrase)


class _Capture:
    """Stands in for pysnmp's transport dispatcher: a Report pysnmp sends lands here."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def send_message(self, message: Any, domain: Any, address: Any) -> None:
        self.sent.append(bytes(message))

    def get_timer_resolution(self) -> float:
        return 0.5


@dataclass
class Incoming:
    """What pysnmp's message processing made of a request it accepted."""

    security_name: bytes
    security_level: int  # 1 noAuthNoPriv, 2 authNoPriv, 3 authPriv
    context_engine_id: bytes
    context_name: bytes
    pdu: Any
    state: tuple[Any, ...]  # what prepare_response_message needs back


class Agent:
    def __init__(self) -> None:
        self.engine = SnmpEngine()
        self._capture = _Capture()
        self.engine.transport_dispatcher = self._capture
        self._mp = self.engine.message_processing_subsystems[3]
        builder = self.engine.get_mib_builder()
        self._id, self._boots, self._time = builder.import_symbols(
            "__SNMP-FRAMEWORK-MIB", "snmpEngineID", "snmpEngineBoots", "snmpEngineTime"
        )

    def set_engine(self, engine_id: bytes, boots: int, clock: int) -> None:
        """The engine netmon talks to: its ID, boots and (as of now) time."""
        assert 0 <= clock <= MAX_TIME
        self._id.syntax = self._id.syntax.clone(engine_id)
        self._boots.syntax = self._boots.syntax.clone(boots)
        self._time.syntax = self._time.syntax.clone(int(time.time()) - clock)

    def add_user(self, user: V3User, engine_id: bytes) -> None:
        """The user, its keys localised by pysnmp from the passphrases to `engine_id`."""
        auth, priv = AUTH_ID[user.auth], PRIV_ID[user.priv]
        keys: dict[str, Any] = {}
        if user.auth is not None:
            keys = {"authKey": _ku(user.auth, user.auth_pass)}
            if user.priv is not None:
                keys["privKey"] = _ku(user.auth, user.priv_pass)
        config.add_v3_user(
            self.engine, user.name, auth, privProtocol=priv, securityEngineId=v2c.OctetString(
                engine_id
            ), authKeyType=config.USM_KEY_TYPE_MASTER, privKeyType=config.USM_KEY_TYPE_MASTER,
            **keys,
        )  # fmt: skip

    def receive(self, data: bytes) -> Incoming | bytes:
        """pysnmp's reading of a request: what it decoded, or the Report it answered with."""
        self._capture.sent.clear()
        try:
            out = self._mp.prepare_data_elements(self.engine, _UDP, _PEER, data)
        except pysnmp_error.StatusInformation as exc:
            if self._capture.sent:
                return self._capture.sent[-1]
            raise AssertionError(f"pysnmp refused the request silently: {exc}") from None
        mpm, model, name, level, engine, context, version, pdu, _, _, size, _, ref = out
        return Incoming(
            bytes(name),
            int(level),
            bytes(engine),
            bytes(context),
            pdu,
            (mpm, model, name, level, engine, context, version, size, ref),
        )

    def respond(
        self,
        incoming: Incoming,
        varbinds: list[tuple[tuple[int, ...], Any]],
        error_status: int = 0,
        error_index: int = 0,
    ) -> bytes:
        """The Response pysnmp's USM signs and encrypts for the request it accepted."""
        response = v2c.apiPDU.get_response(incoming.pdu)
        v2c.apiPDU.set_varbinds(response, varbinds)
        v2c.apiPDU.set_error_status(response, error_status)
        v2c.apiPDU.set_error_index(response, error_index)
        mpm, model, name, level, engine, context, version, size, ref = incoming.state
        _, _, message = self._mp.prepare_response_message(
            self.engine, mpm, model, name, level, engine, context, version, response, size, ref,
            {},
        )  # fmt: skip
        return bytes(message)


@functools.cache
def shared() -> Agent:
    """The process's one agent (see the module's docstring)."""
    return Agent()
