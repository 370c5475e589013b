"""The trap receiver against real net-snmp senders: snmpd's own notifications sent as v3 TRAPs
and INFORMs (`trapsess -v 3`, `trapsess -Ci -v 3`), and the `snmptrap`/`snmpinform` tools for
every auth x priv protocol they know. `snmpinform` exits 0 only when its INFORM was answered:
that is the proof the receiver's discovery Report and Response are what net-snmp expects."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from netmon.collectors.traps import ReportLimit, TrapReceiver
from netmon.model import AuthProtocol, PrivProtocol, Secret, SnmpV3, TrapSettings, TrapUser

from .conftest import free_udp_port, require, stop_process

pytestmark = pytest.mark.snmpd

AUTH_KEY, PRIV_KEY = "t3st-trap-auth-xq", "t3st-trap-priv-xq"
# net-snmp's names for the protocols (its AES-192/256 are netmon's AES192/AES256, Blumenthal).
NET_SNMP_AUTH = {
    AuthProtocol.MD5: "MD5",
    AuthProtocol.SHA: "SHA",
    AuthProtocol.SHA224: "SHA-224",
    AuthProtocol.SHA256: "SHA-256",
    AuthProtocol.SHA384: "SHA-384",
    AuthProtocol.SHA512: "SHA-512",
}
NET_SNMP_PRIV = {
    PrivProtocol.DES: "DES",
    PrivProtocol.AES: "AES",
    PrivProtocol.AES192: "AES-192",
    PrivProtocol.AES256: "AES-256",
}
NEW_MASTER = "1.3.6.1.2.1.68.0.1"
PINNED_ENGINE = "0x8000000001020304050607"  # what `snmptrap -e` claims as its engine ID


def tool(name: str) -> str:
    found = shutil.which(name) or (
        f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists() else None
    )
    require(found is not None, f"net-snmp {name} is not installed (make test installs it)")
    assert found is not None
    return found


def name_of(auth: AuthProtocol, priv: PrivProtocol | None) -> str:
    return f"u-{auth.value}-{priv.value if priv else 'nopriv'}".lower()


def user(
    auth: AuthProtocol, priv: PrivProtocol | None, engine_id: bytes | None = None, name: str = ""
) -> TrapUser:
    creds = SnmpV3(
        name or name_of(auth, priv),
        auth,
        Secret("env:T_AUTH", AUTH_KEY),
        priv,
        Secret("env:T_PRIV", PRIV_KEY) if priv else None,
    )
    return TrapUser(creds, engine_id)


def cli_security(auth: AuthProtocol, priv: PrivProtocol | None, name: str = "") -> list[str]:
    args = ["-v3", "-u", name or name_of(auth, priv), "-a", NET_SNMP_AUTH[auth], "-A", AUTH_KEY]
    if priv is None:
        return [*args, "-l", "authNoPriv"]
    return [*args, "-l", "authPriv", "-x", NET_SNMP_PRIV[priv], "-X", PRIV_KEY]


def cli_env(tmp: Path) -> dict[str, str]:
    # Its own persistent folder (engine IDs, boots), and no MIB files to look for.
    return {**os.environ, "SNMP_PERSISTENT_DIR": str(tmp / "persist"), "MIBS": ""}


async def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def run_tool(argv: list[str], env: dict[str, str]) -> int:
    proc = await asyncio.create_subprocess_exec(
        *argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return await asyncio.wait_for(proc.wait(), 20)


def both(receiver: TrapReceiver, count: int) -> Callable[[], bool]:
    """Whether `count` v3 TRAPs and `count` v3 INFORMs have been accepted."""
    accepted = receiver.stats.accepted
    return lambda: accepted["v3 trap"] >= count and accepted["v3 inform"] >= count


async def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then wait without blocking the event loop (the receiver runs on it)."""
    proc.terminate()
    for _ in range(100):
        if proc.poll() is not None:
            return
        await asyncio.sleep(0.05)
    stop_process(proc)


def started(users: tuple[TrapUser, ...], got: list[tuple[str, str | None]]) -> TrapReceiver:
    # Every tool here is a new engine discovering the receiver, all from 127.0.0.1: far more
    # Reports a second from one address than a real device needs (ReportLimit's 5/s would
    # make the tools retry, and a second suppressed try fail). The overall limit stays.
    receiver = TrapReceiver(
        TrapSettings("127.0.0.1", 0, None, users),
        lambda source, name: got.append((source, name)),
        report_limit=ReportLimit(per_source=1000, source_burst=1000),
    )
    receiver.start()
    return receiver


SNMPD_CONF = """\
agentAddress udp:127.0.0.1:{agent}
createUser {user} SHA-256 "{auth}" AES "{priv}"
trapsess -v 3 -u {user} -l authPriv -a SHA-256 -A "{auth}" -x AES -X "{priv}" 127.0.0.1:{port}
trapsess -Ci -v 3 -u {user} -l authPriv -a SHA-256 -A "{auth}" -x AES -X "{priv}" 127.0.0.1:{port}
"""


def test_snmpd_sends_its_notifications_as_v3_traps_and_informs(tmp_path: Path) -> None:
    """coldStart on start and nsNotifyShutdown on SIGTERM, each once as a TRAP (snmpd the
    authoritative engine: learned) and once as an INFORM (netmon authoritative: discovered,
    answered), across an agent restart (with -C, a new engine ID each start)."""
    snmpd = tool("snmpd")
    trap_user = user(AuthProtocol.SHA256, PrivProtocol.AES, name="netmon-trap")
    got: list[tuple[str, str | None]] = []

    async def go() -> TrapReceiver:
        receiver = started((trap_user,), got)
        conf = tmp_path / "snmpd.conf"
        conf.write_text(
            SNMPD_CONF.format(
                agent=free_udp_port(), user="netmon-trap", auth=AUTH_KEY, priv=PRIV_KEY,
                port=receiver.address[1],
            )
        )  # fmt: skip
        env = cli_env(tmp_path)
        try:
            for round_ in (1, 2):
                proc = subprocess.Popen(
                    [snmpd, "-f", "-m", "", "-C", "-c", str(conf), "-p", str(tmp_path / "pid"),
                     "-Lf", str(tmp_path / "snmpd.log")],
                    env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                )  # fmt: skip
                try:
                    # coldStart of this round, after the shutdown notifications of earlier ones
                    await wait_until(
                        both(receiver, 2 * round_ - 1), 10,
                        f"round {round_}: snmpd's coldStart as a v3 TRAP and INFORM",
                    )  # fmt: skip
                finally:
                    await stop(proc)  # on the loop: the receiver answers while snmpd stops
                await wait_until(
                    both(receiver, 2 * round_), 10, f"round {round_}: snmpd's shutdown notification"
                )
            await asyncio.sleep(1.5)  # an unanswered INFORM would be sent again by now
        finally:
            receiver.close()
        return receiver

    receiver = asyncio.run(go())
    # Every INFORM answered at the first try: as many INFORMs as TRAPs, nothing dropped.
    assert receiver.stats.accepted == {"v3 trap": 4, "v3 inform": 4}
    assert not receiver.stats.dropped
    assert receiver.stats.reports["usmStatsUnknownEngineIDs"] == 2  # one discovery per start
    assert got == [("127.0.0.1", None)] * 8  # coldStart, nsNotifyShutdown: not state changes
    assert AUTH_KEY not in (tmp_path / "snmpd.log").read_text()


COMBOS: list[tuple[AuthProtocol, PrivProtocol | None]] = [
    (auth, priv) for auth in NET_SNMP_AUTH for priv in (None, *NET_SNMP_PRIV)
]


def test_net_snmp_tools_every_protocol_trap_and_inform(tmp_path: Path) -> None:
    snmptrap, snmpinform = tool("snmptrap"), tool("snmpinform")
    users = tuple(user(auth, priv) for auth, priv in COMBOS)
    got: list[tuple[str, str | None]] = []

    async def go() -> tuple[TrapReceiver, dict[str, int]]:
        receiver = started(users, got)
        target = f"127.0.0.1:{receiver.address[1]}"
        env = cli_env(tmp_path)
        codes: dict[str, int] = {}
        try:
            for auth, priv in COMBOS:
                security = cli_security(auth, priv)
                name = name_of(auth, priv)
                codes[f"trap {name}"] = await run_tool(
                    [snmptrap, *security, target, "", NEW_MASTER], env
                )
                codes[f"inform {name}"] = await run_tool(
                    [snmpinform, *security, "-t", "2", "-r", "1", target, "", NEW_MASTER], env
                )
            await wait_until(
                lambda: receiver.stats.accepted["v3 trap"] >= len(COMBOS), 5, "the last TRAPs"
            )
        finally:
            receiver.close()
        return receiver, codes

    receiver, codes = asyncio.run(go())
    assert {what: rc for what, rc in codes.items() if rc} == {}  # snmpinform: 0 = answered
    assert receiver.stats.accepted == {"v3 trap": len(COMBOS), "v3 inform": len(COMBOS)}
    assert not receiver.stats.dropped
    assert got == [("127.0.0.1", "vrrpTrapNewMaster")] * (2 * len(COMBOS))


def test_net_snmp_with_wrong_keys_engines_and_users_is_refused(tmp_path: Path) -> None:
    snmptrap, snmpinform = tool("snmptrap"), tool("snmpinform")
    good = user(AuthProtocol.SHA, PrivProtocol.AES, name="good")
    pinned = user(AuthProtocol.SHA, PrivProtocol.AES, bytes.fromhex(PINNED_ENGINE[2:]), "pinned")
    got: list[tuple[str, str | None]] = []

    async def go() -> tuple[TrapReceiver, dict[str, int]]:
        receiver = started((good, pinned), got)
        target = f"127.0.0.1:{receiver.address[1]}"
        env = cli_env(tmp_path)
        sha_aes = ["-v3", "-a", "SHA", "-l", "authPriv", "-x", "AES", "-X", PRIV_KEY]
        wrong_auth = [*sha_aes, "-A", "not-the-auth-key"]
        codes = {
            "inform, wrong auth key": await run_tool(
                [snmpinform, *wrong_auth, "-u", "good", "-t", "0.5", "-r", "0", target, "", NEW_MASTER],
                env,
            ),
            "inform, unknown user": await run_tool(
                [snmpinform, *sha_aes, "-A", AUTH_KEY, "-u", "nobody", "-t", "0.5", "-r", "0",
                 target, "", NEW_MASTER],
                env,
            ),
        }  # fmt: skip
        traps = {
            "trap, wrong auth key": [snmptrap, *wrong_auth, "-u", "good"],
            "trap, another engine": [snmptrap, *sha_aes, "-A", AUTH_KEY, "-u", "pinned",
                                     "-e", "0x8000000001020304050608"],
            "trap, the pinned engine": [snmptrap, *sha_aes, "-A", AUTH_KEY, "-u", "pinned",
                                        "-e", PINNED_ENGINE],
        }  # fmt: skip
        for what, argv in traps.items():
            codes[what] = await run_tool([*argv, target, "", NEW_MASTER], env)
        await wait_until(lambda: receiver.stats.accepted["v3 trap"] >= 1, 5, "the pinned TRAP")
        receiver.close()
        return receiver, codes

    receiver, codes = asyncio.run(go())
    assert codes["inform, wrong auth key"] != 0  # not answered: snmpinform says so
    assert codes["inform, unknown user"] != 0
    assert receiver.stats.dropped == {"digest": 2, "unknown_user": 1, "unknown_engine": 1}
    assert receiver.stats.accepted == {"v3 trap": 1}  # the pinned engine's TRAP only
    assert got == [("127.0.0.1", "vrrpTrapNewMaster")]


def test_a_captured_net_snmp_trap_replayed_outside_the_window_is_refused(tmp_path: Path) -> None:
    """The bytes snmptrap really sent, fed to the receiver again and again: accepted while in
    the sender's window (RFC 3414 accepts a repeat), refused once the window has passed."""
    snmptrap = tool("snmptrap")
    capture = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    capture.bind(("127.0.0.1", 0))
    capture.settimeout(10)
    port = capture.getsockname()[1]
    security = cli_security(AuthProtocol.SHA512, PrivProtocol.AES256)
    argv = [snmptrap, *security, f"127.0.0.1:{port}", "", NEW_MASTER]
    subprocess.run(argv, env=cli_env(tmp_path), check=True, timeout=20, capture_output=True)
    try:
        datagram, _ = capture.recvfrom(65535)
    finally:
        capture.close()

    now = [100.0]
    receiver = TrapReceiver(
        TrapSettings("127.0.0.1", 0, None, (user(AuthProtocol.SHA512, PrivProtocol.AES256),)),
        lambda source, name: None,
        clock=lambda: now[0],
    )
    first = receiver.datagram(datagram, ("127.0.0.1", 40000))
    assert first.notification is not None
    now[0] += 140  # a repeat 140 s later: still in the window
    assert receiver.datagram(datagram, ("127.0.0.1", 40000)).drop is None
    now[0] += 20  # 160 s after it was sent: a replay
    assert receiver.datagram(datagram, ("127.0.0.1", 40000)).drop == "time_window"
    receiver.close()


def test_a_receiver_from_an_inventory_takes_net_snmp_traps_and_informs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """inventory `traps:` (v3 only) -> TrapSettings -> the receiver the daemon starts."""
    from netmon.inventory import load_inventory

    snmptrap, snmpinform = tool("snmptrap"), tool("snmpinform")
    monkeypatch.setenv("T_AUTH", AUTH_KEY)
    (tmp_path / "priv").write_text(PRIV_KEY + "\n")
    port = free_udp_port()
    inventory = tmp_path / "inv.yaml"
    inventory.write_text(
        f"""\
traps:
  listen: 127.0.0.1:{port}
  engine_id: '0x80000000050102030405'
  users:
    - {{user: ops, auth_protocol: SHA384, auth_key: {{env: T_AUTH}}, priv_protocol: AES192, priv_key: {{file: priv}}}}
devices: {{}}
pairs: []
"""
    )
    settings = load_inventory(inventory).traps
    assert settings is not None
    got: list[tuple[str, str | None]] = []

    async def go() -> tuple[TrapReceiver, int]:
        receiver = TrapReceiver(settings, lambda source, name: got.append((source, name)))
        receiver.start()
        security = cli_security(AuthProtocol.SHA384, PrivProtocol.AES192, name="ops")
        target = f"127.0.0.1:{port}"
        env = cli_env(tmp_path)
        try:
            await run_tool([snmptrap, *security, target, "", NEW_MASTER], env)
            rc = await run_tool([snmpinform, *security, "-t", "2", target, "", NEW_MASTER], env)
            await wait_until(lambda: len(got) >= 2, 5, "the TRAP and the INFORM")
        finally:
            receiver.close()
        return receiver, rc

    receiver, rc = asyncio.run(go())
    assert rc == 0
    assert receiver.engine.engine_id == bytes.fromhex("80000000050102030405")
    assert receiver.stats.accepted == {"v3 trap": 1, "v3 inform": 1}
    assert got == [("127.0.0.1", "vrrpTrapNewMaster")] * 2
