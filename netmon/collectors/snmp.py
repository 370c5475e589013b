"""The SNMP collector: with snmpwire and v3wire, the only modules that speak SNMP.

SNMPv2c reads (every GET and GETNEXT of a poll) go through netmon's own wire codec (snmpwire:
pysnmp's generic machinery cost ~75% of a poll's CPU), and so do SNMPv3 reads, every privacy
protocol included (v3wire: USM with engine discovery, keys localised once per engine); SETs
(drills) use pysnmp, with one SnmpEngine per process (a new engine costs ~0.4 s and a socket).
The trap receiver is collectors.traps. Only the instances a pair
needs are read: one GET PDU for exact instances, one GETNEXT PDU for rows that agents serve only
to GETNEXT. Every pysnmp error is translated here into netmon's own CollectorError types; a
reading with `ok=False` and a bounded `reason` is what leaves this module, never an exception.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pyasn1.error import PyAsn1Error
from pysnmp.error import PySnmpError
from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    ContextData,
    Integer,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    UdpTransportTarget,
    UsmUserData,
    get_cmd,
    next_cmd,
    set_cmd,
)
from pysnmp.hlapi.v3arch.asyncio import auth as usm
from pysnmp.proto import errind, rfc1902, rfc1905

from netmon.collectors.snmpwire import (
    GET,
    GETNEXT,
    Response,
    SnmpWire,
    WireError,
    WireStats,
    WireTimeout,
    octets_text,
)
from netmon.collectors.usm import UsmError, clear_key_cache
from netmon.collectors.v3wire import V3AuthError, V3Endpoint, V3User
from netmon.errors import CollectorError, DeviceAuthError, DeviceReplyError, DeviceTimeout
from netmon.links import SYS_UPTIME
from netmon.model import (
    AuthProtocol,
    Device,
    DeviceReading,
    Missing,
    Oid,
    PrivProtocol,
    Probe,
    SnmpSettings,
    SnmpV2c,
    SnmpV3,
    Value,
)

log = logging.getLogger(__name__)

COLLECTOR = "snmp"
# Many agents cap a PDU's size; 40 short OIDs stay far below 1,472 bytes.
MAX_VARBINDS = 40
# A walk to one row gives up after this many GETNEXT steps (rows before it in its column).
MAX_WALK_STEPS = 64

_AUTH = {
    AuthProtocol.MD5: usm.USM_AUTH_HMAC96_MD5,
    AuthProtocol.SHA: usm.USM_AUTH_HMAC96_SHA,
    AuthProtocol.SHA224: usm.USM_AUTH_HMAC128_SHA224,
    AuthProtocol.SHA256: usm.USM_AUTH_HMAC192_SHA256,
    AuthProtocol.SHA384: usm.USM_AUTH_HMAC256_SHA384,
    AuthProtocol.SHA512: usm.USM_AUTH_HMAC384_SHA512,
}
_PRIV = {
    PrivProtocol.DES: usm.USM_PRIV_CBC56_DES,
    PrivProtocol.AES: usm.USM_PRIV_CFB128_AES,
    # pysnmp's plain Aes192/Aes256 are the Reeder (Cisco) extension: the C names here.
    PrivProtocol.AES192: usm.USM_PRIV_CFB192_AES_BLUMENTHAL,
    PrivProtocol.AES256: usm.USM_PRIV_CFB256_AES_BLUMENTHAL,
    PrivProtocol.AES192C: usm.USM_PRIV_CFB192_AES,
    PrivProtocol.AES256C: usm.USM_PRIV_CFB256_AES,
}
# The own v3 path's protocol names (netmon.collectors.usm): every read goes there; pysnmp
# (the table above) is left with the SETs of drills.
_V3_AUTH = {
    AuthProtocol.MD5: "md5", AuthProtocol.SHA: "sha", AuthProtocol.SHA224: "sha224",
    AuthProtocol.SHA256: "sha256", AuthProtocol.SHA384: "sha384", AuthProtocol.SHA512: "sha512",
}  # fmt: skip
_V3_PRIV = {
    PrivProtocol.DES: "des", PrivProtocol.AES: "aes",
    PrivProtocol.AES192: "aes192", PrivProtocol.AES256: "aes256",
    PrivProtocol.AES192C: "aes192c", PrivProtocol.AES256C: "aes256c",
}  # fmt: skip


_AUTH_FAILURES = (
    errind.UnknownUserName,
    errind.WrongDigest,
    errind.AuthenticationError,
    errind.AuthenticationFailure,
    errind.DecryptionError,
    errind.UnknownSecurityName,
    errind.UnsupportedSecurityLevel,
    errind.NotInTimeWindow,
)
# RFC 3416 error-status names, as pysnmp prints them.
_ERROR_STATUS = {
    1: "tooBig", 2: "noSuchName", 3: "badValue", 4: "readOnly", 5: "genErr", 6: "noAccess",
    7: "wrongType", 8: "wrongLength", 9: "wrongEncoding", 10: "wrongValue", 11: "noCreation",
    12: "inconsistentValue", 13: "resourceUnavailable", 14: "commitFailed", 15: "undoFailed",
    16: "authorizationError", 17: "notWritable", 18: "inconsistentName",
}  # fmt: skip
_MISSING = {
    rfc1905.NoSuchObject: Missing.NO_SUCH_OBJECT,
    rfc1905.NoSuchInstance: Missing.NO_SUCH_INSTANCE,
    rfc1905.EndOfMibView: Missing.END_OF_MIB,
}


def to_value(obj: Any) -> Value:
    """A pysnmp/pyasn1 value -> int, text or Missing. Never raises on odd input."""
    for cls, missing in _MISSING.items():
        if isinstance(obj, cls):
            return missing
    try:
        if isinstance(obj, rfc1902.IpAddress):
            return ".".join(str(b) for b in bytes(obj.asOctets()))
        if isinstance(obj, rfc1902.OctetString):
            return octets_text(bytes(obj.asOctets()))
        if isinstance(obj, rfc1902.ObjectIdentifier):
            return ".".join(str(a) for a in obj)
        if isinstance(obj, rfc1902.Null) or not obj.isValue:
            return Missing.NOT_RETURNED
        return int(obj)
    except (PyAsn1Error, TypeError, ValueError):
        return Missing.NOT_RETURNED


@dataclass
class _Batch:
    """The instances polls of one device want, gathered during one event-loop turn."""

    done: asyncio.Future[dict[Oid | str, Value]]
    gets: dict[Oid, None] = field(default_factory=lambda: {SYS_UPTIME: None})
    walks: dict[Oid, Oid] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Retrieved here so that a failure nobody waits for any more is not logged as lost.
        self.done.add_done_callback(lambda f: f.cancelled() or f.exception())


def _chunks(items: Sequence[Oid], size: int) -> Iterable[Sequence[Oid]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class SnmpCollector:
    """Reads probe values from devices over SNMP v2c/v3. Create one per process."""

    def __init__(self, max_in_flight: int = 256) -> None:
        self._engine: SnmpEngine | None = None
        self._wire = SnmpWire()
        # SNMPv3 reads: the same own wire path, with USM (v3wire); SETs stay on pysnmp.
        self._v3 = V3Endpoint(self._wire._resolve)
        self._v3_users: dict[int, tuple[object, V3User]] = {}
        self._batches: dict[tuple[str, str, int], _Batch] = {}
        self._batch_tasks: set[asyncio.Task[None]] = set()
        self._max_in_flight = max_in_flight
        self._gate: asyncio.Semaphore | None = None
        self._suspect_slots: asyncio.Semaphore | None = None
        self._suspects: set[tuple[str, int]] = set()  # (address, port) whose last request timed out
        self._targets: dict[tuple[str, int, float, int], Any] = {}
        self._prebuilt: dict[Oid, Any] = {}
        # Keyed by the credentials object's id; the object is kept in the value so the id stays valid.
        self._auth: dict[int, tuple[object, CommunityData | UsmUserData]] = {}

    @property
    def engine(self) -> SnmpEngine:
        if self._engine is None:
            self._engine = SnmpEngine()
        return self._engine

    @property
    def wire_stats(self) -> WireStats:
        """Datagrams of the v2c read path: sent, received, retries, and every dropped one by
        reason (garbage, unknown_request, wrong_sender, bad_community, wrong_oids)."""
        return self._wire.stats

    def _semaphore(self) -> asyncio.Semaphore:
        if self._gate is None:
            self._gate = asyncio.Semaphore(self._max_in_flight)
        return self._gate

    def _suspect_gate(self) -> asyncio.Semaphore:
        if self._suspect_slots is None:
            self._suspect_slots = asyncio.Semaphore(self._max_in_flight * 4)
        return self._suspect_slots

    def _query(self, oid: Oid) -> Any:
        """A prebuilt request var-bind: pysnmp resolves an ObjectType once (then it is "clean")
        and that resolution was ~40% of a poll's CPU when rebuilt for every request."""
        found = self._prebuilt.get(oid)
        if found is None:
            found = self._prebuilt[oid] = ObjectType(ObjectIdentity(oid))
        return found

    def close(self) -> None:
        self._wire.close()
        self._v3.close()
        if self._engine is not None:
            self._engine.close_dispatcher()
            self._engine = None

    # -- public ---------------------------------------------------------------------------

    async def poll(self, device: Device, probes: Iterable[Probe]) -> DeviceReading:
        """Read every probe (plus sysUpTime) from `device`. Never raises a library error.

        Polls of the same device that start in the same event-loop turn (pairs sharing a
        router, which the daemon schedules together) share one request: one PDU per device
        per cycle, however many pairs it serves."""
        started = time.monotonic()
        at = time.time()
        key = (device.name, device.address, device.snmp.port if device.snmp else 0)
        batch = self._batches.get(key)
        if batch is None:
            batch = self._batches[key] = _Batch(asyncio.get_running_loop().create_future())
            asyncio.get_running_loop().call_soon(self._fire, key, device, batch)
        wanted: list[Oid] = [SYS_UPTIME]
        for probe in probes:
            wanted.append(probe.oid)
            if probe.method == "walk":
                batch.walks.setdefault(probe.oid, probe.walk_start())
            else:
                batch.gets.setdefault(probe.oid, None)
        try:
            values = await asyncio.shield(batch.done)
        except CollectorError as exc:
            return DeviceReading(
                device=device.name,
                collector=COLLECTOR,
                at=at,
                ok=False,
                reason=exc.reason,
                detail=exc.detail,
                duration=time.monotonic() - started,
            )
        return DeviceReading(
            device=device.name,
            collector=COLLECTOR,
            at=at,
            ok=True,
            values={oid: values.get(oid, Missing.NOT_RETURNED) for oid in wanted},
            duration=time.monotonic() - started,
        )

    def _fire(self, key: tuple[str, str, int], device: Device, batch: _Batch) -> None:
        if self._batches.get(key) is batch:
            del self._batches[key]
        task = asyncio.get_running_loop().create_task(self._run_batch(device, batch))
        self._batch_tasks.add(task)
        task.add_done_callback(self._batch_tasks.discard)

    async def _run_batch(self, device: Device, batch: _Batch) -> None:
        try:
            values = await self._read(device, list(batch.gets), batch.walks)
        except asyncio.CancelledError:
            batch.done.cancel()
            raise
        except Exception as exc:  # noqa: BLE001 - every waiting poll gets it (CollectorError, or a bug)
            batch.done.set_exception(exc)
        else:
            batch.done.set_result(values)

    async def set_integer(self, device: Device, oid: Oid, value: int) -> None:
        """SET one INTEGER (a drill or demo lever). Raises CollectorError on any failure."""
        await self._request(device, "set", [(oid, value)])

    async def get_next(self, device: Device, oids: Sequence[Oid]) -> list[tuple[Oid, Value]]:
        """One GETNEXT PDU: for each OID, the next OID the agent has and its value, in order
        (netmon/collectors/walk.py walks whole columns with it). Raises CollectorError."""
        return await self._request_pairs(device, "next", [(oid, None) for oid in oids])

    # -- internals ------------------------------------------------------------------------

    async def _read(
        self, device: Device, gets: list[Oid], walks: dict[Oid, Oid]
    ) -> dict[Oid | str, Value]:
        values: dict[Oid | str, Value] = {}
        for chunk in _chunks(gets, MAX_VARBINDS):
            got = await self._request(device, "get", [(oid, None) for oid in chunk])
            for oid in chunk:
                values[oid] = got.get(oid, Missing.NOT_RETURNED)
        for oid, value in (await self._walk(device, walks)).items():
            values[oid] = value
        return values

    async def _walk(self, device: Device, walks: dict[Oid, Oid]) -> dict[Oid, Value]:
        """Walk each column from its start until its target row: all walks advance together,
        one GETNEXT PDU per step; a column usually holds the target in its first row."""
        found: dict[Oid, Value] = {}
        cursors: dict[Oid, Oid] = dict(walks)
        for _ in range(MAX_WALK_STEPS):
            if not cursors:
                break
            targets = list(cursors)[:MAX_VARBINDS]
            asked = [(cursors[t], None) for t in targets]
            answers = await self._request_pairs(device, "next", asked)
            for target, (oid, value) in zip(targets, answers, strict=False):
                column = walks[target]
                if oid == target:
                    found[target] = value
                elif value is Missing.NOT_RETURNED:
                    found[target] = Missing.NOT_RETURNED  # a NULL or unreadable answer: blind
                elif isinstance(value, Missing) or oid[: len(column)] != column or oid > target:
                    found[target] = Missing.NO_SUCH_INSTANCE  # passed it, or left the column
                elif oid <= cursors[target]:
                    # An agent going backwards: stop. What it holds is unknown, not absent.
                    found[target] = Missing.NOT_RETURNED
                else:
                    cursors[target] = oid
                    continue
                del cursors[target]
        for target in cursors:  # still walking after the step limit: a huge table
            found[target] = Missing.NOT_RETURNED
        return found

    async def _request(
        self, device: Device, op: str, varbinds: Sequence[tuple[Oid, int | None]]
    ) -> dict[Oid, Value]:
        return dict(await self._request_pairs(device, op, varbinds))

    async def _request_pairs(
        self, device: Device, op: str, varbinds: Sequence[tuple[Oid, int | None]]
    ) -> list[tuple[Oid, Value]]:
        settings = device.snmp
        if settings is None:
            raise CollectorError(device.name, "no SNMP settings")
        if op != "set":  # reads, v2c and v3 alike, on the own wire path
            return await self._wire_request(device, settings, op, varbinds)
        # pysnmp retries internally; the outer guard only catches a stuck future.
        guard = settings.timeout * (settings.retries + 1) + 2.0
        async with self._semaphore():
            try:
                result = await asyncio.wait_for(
                    self._send(device, settings, op, varbinds), timeout=guard
                )
            except TimeoutError:
                raise DeviceTimeout(device.name, f"no answer within {guard:.1f}s") from None
            except (PySnmpError, PyAsn1Error) as exc:
                raise CollectorError(
                    device.name, f"SNMP {op} failed: {type(exc).__name__}: {exc}"
                ) from None
            except OSError as exc:
                raise CollectorError(
                    device.name, f"transport error: {exc.strerror or exc}"
                ) from None
        error_indication, error_status, error_index, answer = result
        if error_indication:
            if isinstance(error_indication, errind.RequestTimedOut):
                raise _timed_out(device, settings)
            if isinstance(error_indication, _AUTH_FAILURES):
                raise DeviceAuthError(device.name, f"SNMPv3 security: {error_indication}")
            raise CollectorError(device.name, f"SNMP: {error_indication}")
        if error_status:
            status = (
                error_status.prettyPrint() if hasattr(error_status, "prettyPrint") else error_status
            )
            raise _error_status(device, str(status), int(error_index or 0), varbinds)
        out: list[tuple[Oid, Value]] = []
        for item in answer:
            name, value = item[0], item[1]
            try:
                oid = tuple(int(a) for a in (name.getOid() if hasattr(name, "getOid") else name))
            except (PyAsn1Error, TypeError, ValueError):
                continue
            out.append((oid, to_value(value)))
        return out

    async def _wire_request(
        self,
        device: Device,
        settings: SnmpSettings,
        op: str,
        varbinds: Sequence[tuple[Oid, int | None]],
    ) -> list[tuple[Oid, Value]]:
        """A read over netmon's own wire path: v2c (snmpwire) or v3 (v3wire)."""
        pdu = GET if op == "get" else GETNEXT
        oids = [oid for oid, _ in varbinds]
        creds = settings.credentials
        send: Callable[[], Awaitable[Response]]
        if isinstance(creds, SnmpV2c):
            community = creds.community.reveal().encode()
            send = functools.partial(
                self._wire.request, device.address, settings.port, community, pdu, oids,
                settings.timeout, settings.retries,
            )  # fmt: skip
        else:
            send = functools.partial(
                self._v3.request, device.address, settings.port, self._v3_user(creds), pdu,
                oids, settings.timeout, settings.retries,
            )  # fmt: skip
        target = (device.address, settings.port)
        # A device whose last request timed out waits in its own queue: each of its requests
        # holds a slot for timeout x tries, and a few hundred dead devices must not take every
        # slot from the ones that answer in a millisecond. The slots bound replies arriving at
        # once (the socket's buffer); dead devices send none, so their queue is wider.
        gate = self._suspect_gate() if target in self._suspects else self._semaphore()
        async with gate:
            try:
                response = await send()
            except WireTimeout as exc:
                self._suspects.add(target)
                raise _timed_out(device, settings, str(exc)) from None
            except UsmError as exc:  # a key no USM can use (an empty one, built in code)
                raise CollectorError(device.name, f"SNMPv3 settings: {exc}") from None
            except V3AuthError as exc:
                raise DeviceAuthError(device.name, f"SNMPv3 security: {exc}") from None
            except WireError as exc:
                raise DeviceReplyError(device.name, str(exc)) from None
            except OSError as exc:
                raise CollectorError(
                    device.name, f"transport error: {exc.strerror or exc}"
                ) from None
        self._suspects.discard(target)
        if response.error_status:
            name = _ERROR_STATUS.get(response.error_status, str(response.error_status))
            raise _error_status(device, name, response.error_index, varbinds)
        return response.varbinds

    def _v3_user(self, creds: SnmpV3) -> V3User:
        found = self._v3_users.get(id(creds))
        if found is None:
            user = V3User(
                creds.user.encode(),
                _V3_AUTH[creds.auth_protocol] if creds.auth_protocol else None,
                creds.auth_key.reveal().encode() if creds.auth_key else b"",
                _V3_PRIV[creds.priv_protocol] if creds.priv_protocol else None,
                creds.priv_key.reveal().encode() if creds.priv_key else b"",
            )
            found = self._v3_users[id(creds)] = (creds, user)
        return found[1]

    def forget_credentials(self) -> None:
        """Drop the v3 users built from an inventory (the daemon's reload: a new inventory
        brings new credentials objects, and the old ones, passphrases included, must not stay
        in memory for the daemon's lifetime, nor the keys derived from them). Rebuilt at the
        next request, at the cost of one 1 MiB hash per user; learned engines stay."""
        self._v3_users.clear()
        clear_key_cache()

    async def _send(
        self,
        device: Device,
        settings: SnmpSettings,
        op: str,
        varbinds: Sequence[tuple[Oid, int | None]],
    ) -> tuple[Any, Any, Any, Any]:
        # Targets and credentials are built once per device, not per request: building them
        # (address resolution, LCD configuration) cost more CPU than the request itself.
        key = (device.address, settings.port, settings.timeout, settings.retries)
        target = self._targets.get(key)
        if target is None:
            target = await UdpTransportTarget.create(
                (device.address, settings.port), timeout=settings.timeout, retries=settings.retries
            )
            self._targets[key] = target
        auth = self._auth.get(id(settings.credentials))
        if auth is None:
            auth = self._auth[id(settings.credentials)] = (
                settings.credentials,
                _auth_data(settings),
            )
        objects = [
            ObjectType(ObjectIdentity(oid), Integer(value))
            if value is not None
            else self._query(oid)
            for oid, value in varbinds
        ]
        command = {"get": get_cmd, "next": next_cmd, "set": set_cmd}[op]
        result: tuple[Any, Any, Any, Any] = await command(
            self.engine,
            auth[1],
            target,
            ContextData(),
            *objects,
            lookupMib=False,
        )
        return result


def _timed_out(device: Device, settings: SnmpSettings, hint: str = "") -> DeviceTimeout:
    return DeviceTimeout(
        device.name,
        f"no answer from {device.address}:{settings.port} "
        f"(timeout {settings.timeout}s x {settings.retries + 1} tries)"
        + (f"; {hint}" if hint else ""),
    )


def _error_status(
    device: Device, status: str, index: int, varbinds: Sequence[tuple[Oid, int | None]]
) -> DeviceReplyError:
    """An error-status reply, naming the var-bind it points at (error-index counts from 1)."""
    where = (
        f" at {'.'.join(map(str, varbinds[index - 1][0]))}" if 0 < index <= len(varbinds) else ""
    )
    return DeviceReplyError(device.name, f"SNMP error-status {status}{where}")


def _auth_data(settings: SnmpSettings) -> CommunityData | UsmUserData:
    creds = settings.credentials
    if isinstance(creds, SnmpV2c):
        return CommunityData(creds.community.reveal(), mpModel=1)
    return UsmUserData(
        creds.user,
        authKey=creds.auth_key.reveal() if creds.auth_key else None,
        privKey=creds.priv_key.reveal() if creds.priv_key else None,
        authProtocol=_AUTH[creds.auth_protocol] if creds.auth_protocol else usm.USM_AUTH_NONE,
        privProtocol=_PRIV[creds.priv_protocol] if creds.priv_protocol else usm.USM_PRIV_NONE,
    )
