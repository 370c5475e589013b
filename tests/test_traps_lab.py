"""keepalived's VRRP notifications over SNMPv3, for real: keepalived (AgentX subagent) in the
lab's r2 namespace hands them to r2's snmpd, which sends them as v3 authPriv TRAPs and INFORMs
to a trap receiver on the monitor's bridge address. A real takeover (r1's priority lowered by
its track file) is the trigger."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from netmon.collectors.traps import VRRP_TRAPS, TrapReceiver
from netmon.collectors.trapwire import Outcome
from netmon.lab import Lab
from netmon.lab.topology import MONITOR_ADDRESS, TRAP_PORT
from netmon.model import AuthProtocol, PrivProtocol, Secret, SnmpV3, TrapSettings, TrapUser

from .helpers import DELAYS, sample, wait_for
from .test_lab import SNMP_PAIRS, lab_inventory, sigterm_master_and_watch
from .test_lab import Daemon as LabDaemon

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


def reload_snmpd(lab: Lab, router: str, *, wait: bool = True) -> None:
    """SIGHUP: snmpd reads its config again. It can lose keepalived's AgentX session for a while
    (keepalived connects again by itself): wait until the router's KEEPALIVED-MIB answers again,
    or a poll in the gap reads the instance as unknown (measured: a daemon polling every 30 s
    started during the gap missed its 30 s to see the lab healthy)."""
    pid = int(lab.paths(lab.router(router)).snmpd_pid.read_text().split()[0])
    os.kill(pid, signal.SIGHUP)
    time.sleep(1.0)  # snmpd has read its config again (the old session may still answer)
    if not wait:
        return
    address = lab.router(router).address

    def keepalived_answers() -> bool:
        done = subprocess.run(
            ["snmpget", "-v2c", "-c", lab.community(), "-On", "-t", "0.5", "-r", "0", address,
             "1.3.6.1.4.1.9586.100.5.2.3.1.4.1"],  # vrrpInstanceState.1
            capture_output=True, text=True, timeout=10, check=False,
        )  # fmt: skip
        return done.returncode == 0 and "No Such" not in done.stdout

    wait_for(keepalived_answers, 60, f"{router}'s snmpd serving keepalived's MIB again", 0.2)


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
    # Counted per (pdu, name) and for keepalived's notifications only: snmpd's own notice of
    # its reload (nsNotifyRestart, no name netmon knows) is sent as a TRAP at once and as an
    # INFORM only after engine discovery, so around any cut-off point one of the two may be
    # on either side (CI saw 6 INFORMs to 5 TRAPs when all kinds were counted from a snapshot).
    seen: Counter[tuple[str, str]] = Counter()

    class Receiver(TrapReceiver):
        def datagram(self, data: bytes, addr: tuple[str, int]) -> Outcome:
            outcome = super().datagram(data, addr)
            note = outcome.notification
            name = VRRP_TRAPS.get(note.trap_oid) if note and note.trap_oid else None
            if note is not None and name is not None:
                seen[(note.pdu, name)] += 1
            return outcome

    def burst_answered() -> bool:
        names = {name for _, name in seen}
        return bool(names & STATE_CHANGES) and all(
            seen[("inform", name)] >= seen[("trap", name)] for name in names
        )

    async def go() -> tuple[TrapReceiver, float]:
        receiver = Receiver(
            TrapSettings(MONITOR_ADDRESS, 0, None, (user,)),
            lambda source, name: got.append((source, name)),
        )
        receiver.start()
        try:
            conf.write_text(original + v3_sinks(receiver.address[1]))
            # Keepalived's AgentX session to snmpd is back before the lever is pulled, or its
            # notifications of the takeover may have no agent to go through.
            await asyncio.to_thread(reload_snmpd, lab, "r2")
            lab.low_priority("r1", True)  # r2 takes over in ~3 s and says so
            took = await wait_until(burst_answered, 20, "keepalived's notifications over SNMPv3")
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
    assert not receiver.stats.dropped
    names = {name for _, name in seen}
    # each INFORM answered the first time: no name arrived as an INFORM more often than a TRAP
    assert {name: seen[("trap", name)] for name in names} == {
        name: seen[("inform", name)] for name in names
    }, seen
    assert {source for source, _ in got} == {r2.address}
    assert STATE_CHANGES & {name for _, name in got}


def test_a_v3_trap_makes_the_daemon_see_a_takeover_at_once(lab: Lab, tmp_path: Path) -> None:
    """The daemon (`netmon run`, polling every 30 s) on a v3-only trap receiver: r1's keepalived
    is killed, r2 takes over and its snmpd sends the v3 notifications, and every SNMP pair shows
    r2 active within a second of the takeover, long before the next poll. The lab's v2c traps
    still arrive too and are refused (no community): the re-poll came from v3."""
    lab.reset()
    inventory = lab_inventory(tmp_path, traps=True, interval=30)
    head, _, rest = inventory.read_text().partition("traps:")
    secrets = {"auth": AUTH_KEY, "priv": PRIV_KEY}
    for name, value in secrets.items():
        (tmp_path / name).write_text(value)
        (tmp_path / name).chmod(0o600)
    users = (
        f"traps:\n  listen: {MONITOR_ADDRESS}:{TRAP_PORT}\n  users:\n"
        f"    - {{user: {USER}, auth_protocol: SHA512, auth_key: {{file: {tmp_path / 'auth'}}},"
        f" priv_protocol: AES256, priv_key: {{file: {tmp_path / 'priv'}}}}}\n"
    )
    inventory.write_text(head + users + "\n" + rest.split("\n\n", 1)[1])
    conf: Path = lab.paths(lab.router("r2")).snmpd_conf
    original = conf.read_text()
    daemon: LabDaemon | None = None
    try:
        conf.write_text(original + v3_sinks(TRAP_PORT))
        reload_snmpd(lab, "r2")  # first: the daemon's first poll must not fall in its gap
        daemon = LabDaemon(inventory, tmp_path / "netmon-v3-traps.log")
        wait_for(daemon.healthy, 30, "the v3 trap daemon sees the lab healthy")
        wait_for(lambda: "trap receiver listening" in daemon.log.read_text(), 5, "receiver up")
        takeover, shown = sigterm_master_and_watch(lab, daemon.listen, 10, SNMP_PAIRS)
        DELAYS.append(("master SIGTERM -> r2 active in /metrics, v3 traps (polling 30 s)", shown))
        assert shown - takeover <= 1.0, (takeover, shown)
        assert (sample(daemon.listen, "netmon_traps_received_total", device="r2") or 0) >= 1
        assert (sample(daemon.listen, "netmon_traps_dropped_total", reason="community") or 0) >= 1
        for reason in ("digest", "decrypt", "unknown_user", "level", "time_window"):
            assert not sample(daemon.listen, "netmon_traps_dropped_total", reason=reason), reason
    finally:
        if daemon is not None:
            daemon.stop()
        conf.write_text(original)
        reload_snmpd(lab, "r2")
        lab.reset()
    assert AUTH_KEY not in daemon.log.read_text() and PRIV_KEY not in daemon.log.read_text()
