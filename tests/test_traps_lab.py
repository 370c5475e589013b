"""keepalived's VRRP notifications over SNMPv3, for real: keepalived (AgentX subagent) in the
lab's r2 namespace hands them to r2's snmpd, which sends them as v3 authPriv TRAPs and INFORMs
to a trap receiver on the monitor's bridge address. A real takeover (r1's priority lowered by
its track file) is the trigger."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from netmon.collectors.traps import TrapReceiver
from netmon.lab import Lab
from netmon.lab.topology import MONITOR_ADDRESS
from netmon.model import AuthProtocol, PrivProtocol, Secret, SnmpV3, TrapSettings, TrapUser

from .helpers import DELAYS

pytestmark = [pytest.mark.lab, pytest.mark.root]

AUTH_KEY, PRIV_KEY = "lab-v3-trap-auth-xq", "lab-v3-trap-priv-xq"
USER = "netmon-lab-v3"
STATE_CHANGES = {"vrrpInstanceStateChange", "vrrpTrapNewMaster", "vrrpv3NotifyNewMaster"}


def v3_sinks(port: int) -> str:
    security = f'-u {USER} -l authPriv -a SHA-512 -A "{AUTH_KEY}" -x AES-256 -X "{PRIV_KEY}"'
    return (
        f'createUser {USER} SHA-512 "{AUTH_KEY}" AES-256 "{PRIV_KEY}"\n'
        f"trapsess -v 3 {security} {MONITOR_ADDRESS}:{port}\n"
        f"trapsess -Ci -v 3 {security} {MONITOR_ADDRESS}:{port}\n"
    )


def reload_snmpd(lab: Lab, router: str) -> None:
    """SIGHUP: snmpd reads its config again and keeps keepalived's AgentX session."""
    pid = int(lab.paths(lab.router(router)).snmpd_pid.read_text().split()[0])
    os.kill(pid, signal.SIGHUP)


async def wait_until(check: Callable[[], bool], timeout: float, what: str) -> float:
    loop = asyncio.get_running_loop()
    started = loop.time()
    while not check():
        if loop.time() - started > timeout:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
    return loop.time() - started


def test_keepalived_state_changes_arrive_as_v3_traps_and_informs(lab: Lab) -> None:
    lab.reset()
    r2 = lab.router("r2")
    conf: Path = lab.paths(r2).snmpd_conf
    original = conf.read_text()
    user = TrapUser(
        SnmpV3(
            USER,
            AuthProtocol.SHA512,
            Secret("env:T_AUTH", AUTH_KEY),
            PrivProtocol.AES256,
            Secret("env:T_PRIV", PRIV_KEY),
        )
    )
    got: list[tuple[str, str | None]] = []

    async def go() -> tuple[TrapReceiver, float]:
        receiver = TrapReceiver(
            TrapSettings(MONITOR_ADDRESS, 0, None, (user,)),
            lambda source, name: got.append((source, name)),
        )
        receiver.start()
        try:
            conf.write_text(original + v3_sinks(receiver.address[1]))
            reload_snmpd(lab, "r2")
            await asyncio.sleep(1.0)  # snmpd has read its config again
            lab.low_priority("r1", True)  # r2 takes over in ~3 s and says so
            took = await wait_until(
                lambda: {"v3 trap", "v3 inform"} <= set(receiver.stats.accepted)
                and any(name in STATE_CHANGES for _, name in got),
                20, "keepalived's notifications from r2 over SNMPv3",
            )  # fmt: skip
            await asyncio.sleep(2.0)  # the rest of the burst; unanswered INFORMs would repeat
        finally:
            receiver.close()
        return receiver, took

    try:
        receiver, took = asyncio.run(go())
    finally:
        conf.write_text(original)
        reload_snmpd(lab, "r2")
        lab.reset()
    DELAYS.append(("r1 priority lowered -> v3 TRAP and INFORM from r2's keepalived", took))
    accepted = receiver.stats.accepted
    assert not receiver.stats.dropped
    assert accepted["v3 trap"] == accepted["v3 inform"]  # each INFORM answered the first time
    assert {source for source, _ in got} == {r2.address}
    assert STATE_CHANGES & {name for _, name in got}
