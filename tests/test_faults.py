"""Faults between netmon and a real agent (net-snmp snmpd behind netmon's own UDP fault relay):
lost, late, repeated, reordered, cut and damaged packets. netmon never crashes, never reads a
damaged reply as a role, and a poll takes at most timeout x tries. docs/reliability.md holds the
table these tests assert."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.fleet import Agent, start_agent, stop, wait_ready
from netmon.collectors.snmp import SnmpCollector
from netmon.kinds.keepalived import KeepalivedParams
from netmon.lab.relay import FaultRelay, Faults
from netmon.model import (
    Device,
    Inventory,
    Link,
    MemberSpec,
    PairSpec,
    PairState,
    PairStatus,
    Role,
    Secret,
    SnmpSettings,
    SnmpV2c,
)
from netmon.poller import Poller
from netmon.store import StateStore

from .conftest import free_udp_port, require

pytestmark = pytest.mark.snmpd

TIMEOUT, RETRIES = 0.3, 2  # a poll gives up after 0.9 s
TRIES = RETRIES + 1
# A poll's deadline is its tries: 3 requests to each device, 0.3 s apart, then it gives up. What
# the tests hold is that rhythm: never a 4th request, and the poll over before a 4th try's
# window would have closed (0.9 s + one more try, 1.2 s) -- below two devices waited on one
# after the other (1.8 s). The margin is a try, not a wall-clock guess.
DEADLINE = TIMEOUT * (TRIES + 1)


@dataclass
class Lab:
    agents: list[Agent]
    relays: list[FaultRelay]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """Two real snmpd agents (member a: keepalived master, member b: backup), each behind a relay."""
    require(Path("/usr/sbin/snmpd").exists(), "net-snmp snmpd is not installed")
    work = tmp_path_factory.mktemp("faults")
    agents = [
        start_agent(work, "a", free_udp_port(), 1, 2, 150),
        start_agent(work, "b", free_udp_port(), 1, 1, 100),
    ]
    relays: list[FaultRelay] = []
    try:
        for agent in agents:
            wait_ready(agent)
            relay = FaultRelay(("127.0.0.1", agent.ports[0]))
            relay.start()
            relays.append(relay)
        yield Lab(agents, relays)
    finally:
        for relay in relays:
            relay.stop()
        for agent in agents:
            stop(agent)


def pair_inventory(lab: Lab) -> tuple[Inventory, PairSpec]:
    def device(name: str, relay: FaultRelay) -> Device:
        settings = SnmpSettings(SnmpV2c(Secret("env:C", "bench")), relay.port, TIMEOUT, RETRIES)
        return Device(name, "127.0.0.1", settings)

    devices = {"a": device("a", lab.relays[0]), "b": device("b", lab.relays[1])}
    members = tuple(MemberSpec(n, n, KeepalivedParams(1), (Link(1, "lo"),)) for n in ("a", "b"))
    pair = PairSpec("p", "keepalived", members, preferred="a", split_brain_debounce=0)
    return Inventory(devices, (pair,)), pair


SENT: list[list[int]] = []  # requests each relay saw, per poll, of the last `polls()` call


def polls(lab: Lab, faults: Faults, count: int) -> tuple[list[PairStatus], list[float], int]:
    """`count` polls of the pair through relays applying `faults`; their durations; wire stats.
    The requests each device was sent, per poll, are left in SENT."""
    for relay in lab.relays:
        relay.faults = faults
    inventory, pair = pair_inventory(lab)
    store = StateStore(inventory)
    SENT.clear()

    async def go() -> tuple[list[PairStatus], list[float], int]:
        snmp = SnmpCollector()
        poller = Poller(inventory, store, snmp)
        statuses, durations = [], []
        try:
            for _ in range(count):
                before = [relay.stats.requests for relay in lab.relays]
                started = time.monotonic()
                statuses.append(await poller.poll_once(pair))
                durations.append(time.monotonic() - started)
                SENT.append([r.stats.requests - b for r, b in zip(lab.relays, before, strict=True)])
            return statuses, durations, snmp.wire_stats.late_or_duplicate
        finally:
            snmp.close()

    try:
        return asyncio.run(go())
    finally:
        for relay in lab.relays:
            relay.faults = Faults()


def roles(status: PairStatus) -> dict[str, tuple[Role, str | None]]:
    return {m.member: (m.view.role, m.view.reason) for m in status.members}


TRUE_ROLES = {"a": Role.ACTIVE, "b": Role.STANDBY}


def assert_never_misread(statuses: list[PairStatus]) -> None:
    """A member is its true role or unreachable with a reason; never the other role."""
    for status in statuses:
        for member, (role, reason) in roles(status).items():
            assert role in (TRUE_ROLES[member], Role.UNREACHABLE), (member, role, reason)
            if role is Role.UNREACHABLE:
                assert reason in ("timeout", "reply"), reason


def test_clean_relay_is_transparent(lab: Lab) -> None:
    statuses, durations, _ = polls(lab, Faults(), 5)
    assert {s.state for s in statuses} == {PairState.HEALTHY}
    assert max(durations) < 0.2


def test_lost_packets_are_retried(lab: Lab) -> None:
    """15% of requests and 15% of replies lost: the retries (same request-id, so a late reply to
    an earlier try counts) make nearly every poll succeed; the rest time out, named so."""
    statuses, durations, _ = polls(lab, Faults(drop_requests=0.15, drop_replies=0.15, seed=1), 30)
    assert_never_misread(statuses)
    healthy = sum(s.state is PairState.HEALTHY for s in statuses)
    assert healthy >= 24, [s.state for s in statuses]
    # Each poll ends by its tries: at most 3 requests to a device, over before a 4th try.
    assert max(max(sent) for sent in SENT) <= TRIES, SENT
    assert max(durations) < DEADLINE, durations


def test_late_replies_within_the_tries_count(lab: Lab) -> None:
    """A reply 0.45 s late misses its try's 0.3 s window but lands inside the retry's."""
    statuses, durations, _ = polls(lab, Faults(delay=0.45), 3)
    assert {s.state for s in statuses} == {PairState.HEALTHY}
    assert min(durations) >= 0.45


def test_replies_later_than_every_try_are_timeouts_bounded_by_the_tries(lab: Lab) -> None:
    statuses, durations, _ = polls(lab, Faults(delay=1.5), 2)
    assert_never_misread(statuses)
    for status in statuses:
        assert status.state is PairState.UNKNOWN
        assert {reason for _, reason in roles(status).values()} == {"timeout"}
    # Every try was used and waited out (3 requests each, 0.9 s), and both members were waited
    # on together: one poll's tries, not the sum over devices (1.8 s).
    assert [[TRIES, TRIES]] * len(statuses) == SENT, SENT
    assert min(durations) >= TIMEOUT * TRIES, durations
    assert max(durations) < DEADLINE, durations


def test_duplicated_and_reordered_replies_are_harmless(lab: Lab) -> None:
    statuses, _, dropped = polls(lab, Faults(duplicate=1.0, reorder=0.5, seed=2), 10)
    assert {s.state for s in statuses} == {PairState.HEALTHY}
    assert dropped > 0  # the second copies were seen and dropped as duplicates


def test_truncated_replies_are_unreachable_with_reason_reply(lab: Lab) -> None:
    statuses, durations, _ = polls(lab, Faults(truncate=1.0, seed=3), 5)
    for status in statuses:
        assert status.state is PairState.UNKNOWN
        assert set(roles(status).values()) == {(Role.UNREACHABLE, "reply")}
    assert max(durations) < DEADLINE, durations


def test_damaged_bytes_never_become_a_wrong_role(lab: Lab) -> None:
    """1-4 random bytes replaced in every reply. Most damage breaks the BER structure (reason
    `reply`) or the community (dropped: timeout); damage inside a value that still decodes is
    invisible to any SNMPv2c reader (no integrity check: UDP's checksum and SNMPv3's
    authentication are what catch it on a real network). Never a crash, never the other role."""
    statuses, _, _ = polls(lab, Faults(replace=1.0, seed=4), 40)
    for status in statuses:
        seen = roles(status)
        # A hit on the state byte itself could still say fault or unknown; never a swap.
        assert seen["b"][0] is not Role.ACTIVE, seen
        assert seen["a"][0] is not Role.STANDBY, seen
    reasons = {
        reason for s in statuses for role, reason in roles(s).values() if role is Role.UNREACHABLE
    }
    assert reasons <= {"timeout", "reply"}
    assert "reply" in reasons  # broken structure is reported as such
