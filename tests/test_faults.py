"""Faults between netmon and a real agent (net-snmp snmpd behind netmon's own UDP fault relay):
lost, late, repeated, reordered, cut and damaged packets. netmon never crashes, never reads a
damaged reply as a role, and a poll takes at most timeout x tries. docs/reliability.md holds the
table these tests assert.

Every case runs twice, over SNMPv2c and over SNMPv3 authPriv (SHA-256, AES-128: the bench
fleet's user), with the same assertions. What v3 adds is counted apart: the engine discovery
(a request with no engine ID, answered by an unauthenticated Report) that a device gets once,
in the first poll that reaches it, and is kept afterwards."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.fleet import Agent, start_agent, stop, wait_ready
from bench.run import credentials
from netmon.collectors.snmp import SnmpCollector
from netmon.collectors.snmpwire import WireError
from netmon.collectors.v3msg import decode_message
from netmon.collectors.v3wire import V3Stats
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
    SnmpSettings,
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
VERSIONS = ("v2c", "v3")


@dataclass
class Lab:
    agents: list[Agent]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """Two real snmpd agents (member a: keepalived master, member b: backup), each serving the
    bench fleet's v2c community and v3 authPriv user."""
    require(Path("/usr/sbin/snmpd").exists(), "net-snmp snmpd is not installed")
    work = tmp_path_factory.mktemp("faults")
    agents = [
        start_agent(work, "a", free_udp_port(), 1, 2, 150),
        start_agent(work, "b", free_udp_port(), 1, 1, 100),
    ]
    try:
        for agent in agents:
            wait_ready(agent)
        yield Lab(agents)
    finally:
        for agent in agents:
            stop(agent)


@pytest.fixture(params=VERSIONS)
def version(request: pytest.FixtureRequest) -> str:
    """The SNMP version every poll of the test speaks: each case runs over both."""
    return str(request.param)


class CountingRelay(FaultRelay):
    """The fault relay, also counting the v3 engine discoveries among the requests (a v3
    message with no authoritative engine ID, RFC 3414 4), before any fault applies."""

    def __init__(self, upstream: tuple[str, int], faults: Faults) -> None:
        super().__init__(upstream, faults)
        self.discoveries = 0

    def from_client(self, data: bytes, client: tuple[str, int]) -> None:
        try:
            if decode_message(data).usm.engine_id == b"":
                self.discoveries += 1
        except WireError:
            pass  # v2c
        super().from_client(data, client)


@dataclass(frozen=True)
class Sent:
    """What one poll sent one device: its requests, and how many of them were discoveries."""

    requests: int
    discoveries: int

    @property
    def reads(self) -> int:
        return self.requests - self.discoveries


SENT: list[list[Sent]] = []  # what each relay saw, per poll, of the last `polls()` call
V3_STATS: list[V3Stats] = []  # the v3 endpoint's datagram counts of the last `polls()` call


def pair_inventory(relays: list[CountingRelay], version: str) -> tuple[Inventory, PairSpec]:
    creds = credentials(version == "v3")

    def device(name: str, relay: FaultRelay) -> Device:
        return Device(name, "127.0.0.1", SnmpSettings(creds, relay.port, TIMEOUT, RETRIES))

    devices = {"a": device("a", relays[0]), "b": device("b", relays[1])}
    members = tuple(MemberSpec(n, n, KeepalivedParams(1), (Link(1, "lo"),)) for n in ("a", "b"))
    pair = PairSpec("p", "keepalived", members, preferred="a", split_brain_debounce=0)
    return Inventory(devices, (pair,)), pair


def polls(
    lab: Lab, version: str, faults: Faults, count: int
) -> tuple[list[PairStatus], list[float], int]:
    """`count` polls of the pair over `version` through relays applying `faults` (new relays,
    so that `faults.seed` decides every fault: a run is repeatable); their durations; the
    replies the collector dropped as late or duplicate. What each device was sent, per poll,
    is left in SENT."""
    relays = [CountingRelay(("127.0.0.1", agent.ports[0]), faults) for agent in lab.agents]
    for relay in relays:
        relay.start()
    inventory, pair = pair_inventory(relays, version)
    store = StateStore(inventory)
    SENT.clear()
    V3_STATS.clear()

    async def go() -> tuple[list[PairStatus], list[float], int]:
        snmp = SnmpCollector()
        poller = Poller(inventory, store, snmp)
        statuses, durations = [], []
        try:
            for _ in range(count):
                before = [(r.stats.requests, r.discoveries) for r in relays]
                started = time.monotonic()
                statuses.append(await poller.poll_once(pair))
                durations.append(time.monotonic() - started)
                SENT.append(
                    [
                        Sent(r.stats.requests - n, r.discoveries - d)
                        for r, (n, d) in zip(relays, before, strict=True)
                    ]
                )
            V3_STATS.append(snmp._v3.stats)
            # The second copy of a reply, or one to a try already answered: dropped, counted.
            late = (
                snmp._v3.stats.unknown_request
                if version == "v3"
                else snmp.wire_stats.late_or_duplicate
            )
            return statuses, durations, late
        finally:
            snmp.close()

    try:
        return asyncio.run(go())
    finally:
        for relay in relays:
            relay.stop()


def roles(status: PairStatus) -> dict[str, tuple[Role, str | None]]:
    return {m.member: (m.view.role, m.view.reason) for m in status.members}


TRUE_ROLES = {"a": Role.ACTIVE, "b": Role.STANDBY}
MEMBERS = ("a", "b")


def assert_never_misread(statuses: list[PairStatus]) -> None:
    """A member is its true role or unreachable with a reason; never the other role."""
    for status in statuses:
        for member, (role, reason) in roles(status).items():
            assert role in (TRUE_ROLES[member], Role.UNREACHABLE), (member, role, reason)
            if role is Role.UNREACHABLE:
                assert reason in ("timeout", "reply"), reason


def assert_deadline(version: str, durations: list[float]) -> None:
    """Every poll over before a 4th try would have ended."""
    # Over v3 too: the engine discovery and the GET share one budget of timeout x tries
    # (V3Endpoint.request), so a discovering poll is no longer than any other.
    assert max(durations) < DEADLINE, (version, durations)


def assert_healthy_but_a_late_discovery(version: str, statuses: list[PairStatus]) -> None:
    """Every poll healthy; over v3 the first poll may instead be both members' timeout, when
    the engine discovery's round trip took so much of the poll's timeout x tries that the GET's
    could not fit in the rest (a poll is bounded by its tries, discovery included)."""
    assert {s.state for s in statuses[1:]} <= {PairState.HEALTHY}, [s.state for s in statuses]
    first = statuses[0]
    if first.state is PairState.HEALTHY:
        return
    assert version == "v3", roles(first)
    assert set(roles(first).values()) == {(Role.UNREACHABLE, "timeout")}
    assert all(s.discoveries >= 1 for s in SENT[0]), SENT


def assert_tries(version: str, statuses: list[PairStatus]) -> None:
    """Never a 4th request of one exchange to a device. v2c: a poll is one exchange (one GET).
    v3: the GET's exchange, and before it the engine discovery's, each of at most TRIES
    requests; a discovery only while the device's engine is not known, that is, until the
    first poll in which the device answered (v3 reads only with a discovered engine)."""
    for n, sent in enumerate(SENT):
        for i, member in enumerate(MEMBERS):
            got = sent[i]
            assert got.reads <= TRIES, (n, member, SENT)
            if version == "v2c":
                assert got.discoveries == 0, (n, member, SENT)
                continue
            assert got.discoveries <= TRIES, (n, member, SENT)
            answered_before = any(roles(s)[member][0] is not Role.UNREACHABLE for s in statuses[:n])
            if answered_before:
                assert got.discoveries == 0, (n, member, SENT)
    if version == "v3":  # every device's first poll discovered its engine
        assert all(s.discoveries >= 1 for s in SENT[0]), SENT


def test_clean_relay_is_transparent(lab: Lab, version: str) -> None:
    statuses, durations, _ = polls(lab, version, Faults(), 5)
    assert {s.state for s in statuses} == {PairState.HEALTHY}
    assert max(durations) < 0.2
    # One request per device and poll; over v3, the first poll's one discovery before it.
    first = Sent(2, 1) if version == "v3" else Sent(1, 0)
    assert [[first, first]] + [[Sent(1, 0), Sent(1, 0)]] * 4 == SENT, SENT


def test_lost_packets_are_retried(lab: Lab, version: str) -> None:
    """15% of requests and 15% of replies lost: the retries (same request-id, so a late reply to
    an earlier try counts) make nearly every poll succeed; the rest time out, named so."""
    faults = Faults(drop_requests=0.15, drop_replies=0.15, seed=1)
    statuses, durations, _ = polls(lab, version, faults, 30)
    assert_never_misread(statuses)
    healthy = sum(s.state is PairState.HEALTHY for s in statuses)
    assert healthy >= 24, [s.state for s in statuses]
    # Each poll ends by its tries: at most 3 requests to a device, over before a 4th try.
    assert_tries(version, statuses)
    assert_deadline(version, durations)


def test_late_replies_within_the_tries_count(lab: Lab, version: str) -> None:
    """A reply 0.45 s late misses its try's 0.3 s window but lands inside the retry's."""
    statuses, durations, _ = polls(lab, version, Faults(delay=0.45), 3)
    assert_healthy_but_a_late_discovery(version, statuses)
    assert min(durations) >= 0.45
    assert_tries(version, statuses)
    assert_deadline(version, durations)


def test_replies_in_the_last_try_count_and_the_poll_ends_by_its_tries(
    lab: Lab, version: str
) -> None:
    """A reply 0.75 s late (it misses two tries, lands in the third's window): healthy, and the
    poll is over within its 3 tries -- the promise that a device costs at most timeout x tries
    (docs/inventory.md), whatever else the version exchanges first."""
    statuses, durations, _ = polls(lab, version, Faults(delay=0.75), 2)
    assert_healthy_but_a_late_discovery(version, statuses)
    assert_tries(version, statuses)
    assert min(durations) >= 0.75, durations
    assert_deadline(version, durations)


def test_replies_later_than_every_try_are_timeouts_bounded_by_the_tries(
    lab: Lab, version: str
) -> None:
    statuses, durations, _ = polls(lab, version, Faults(delay=1.5), 2)
    assert_never_misread(statuses)
    for status in statuses:
        assert status.state is PairState.UNKNOWN
        assert {reason for _, reason in roles(status).values()} == {"timeout"}
    # Every try was used and waited out (3 requests each, 0.9 s), and both members were waited
    # on together: one poll's tries, not the sum over devices (1.8 s). Over v3 the 3 requests
    # are the engine discovery's, in both polls: no reply ever came, so no engine is known
    # and the GET is never sent.
    tries = Sent(TRIES, TRIES) if version == "v3" else Sent(TRIES, 0)
    assert [[tries, tries]] * len(statuses) == SENT, SENT
    assert min(durations) >= TIMEOUT * TRIES, durations
    assert_deadline(version, durations)


def test_duplicated_and_reordered_replies_are_harmless(lab: Lab, version: str) -> None:
    statuses, _, dropped = polls(lab, version, Faults(duplicate=1.0, reorder=0.5, seed=2), 10)
    assert {s.state for s in statuses} == {PairState.HEALTHY}
    assert dropped > 0  # the second copies were seen and dropped as duplicates
    assert_tries(version, statuses)


def test_truncated_replies_are_unreachable_with_reason_reply(lab: Lab, version: str) -> None:
    statuses, durations, _ = polls(lab, version, Faults(truncate=1.0, seed=3), 5)
    assert {s.state for s in statuses} == {PairState.UNKNOWN}
    assert_deadline(version, durations)
    for status in statuses:
        assert set(roles(status).values()) == {(Role.UNREACHABLE, "reply")}


def test_damaged_bytes_never_become_a_wrong_role(lab: Lab, version: str) -> None:
    """1-4 random bytes replaced in every reply. Most damage breaks the BER structure (reason
    `reply`) or the community (dropped: timeout); damage inside a value that still decodes is
    invisible to any SNMPv2c reader (no integrity check: UDP's checksum and SNMPv3's
    authentication are what catch it on a real network). Never a crash, never the other role.

    Over v3 every damaged GET reply fails its digest (an HMAC over the whole message): each
    poll after the discovery is the same case and waits out its 3 tries (0.9 s), so 10 polls
    cover it where v2c's damage varies with the byte hit; 40 would add half a minute. The
    discovery's Report is not authenticated (RFC 3414 4): damage there is read as is."""
    count = 40 if version == "v2c" else 10
    statuses, durations, _ = polls(lab, version, Faults(replace=1.0, seed=4), count)
    assert_deadline(version, durations)
    for status in statuses:
        seen = roles(status)
        # A hit on the state byte itself could still say fault or unknown; never a swap.
        assert seen["b"][0] is not Role.ACTIVE, seen
        assert seen["a"][0] is not Role.STANDBY, seen
    reasons = {
        reason for s in statuses for role, reason in roles(s).values() if role is Role.UNREACHABLE
    }
    assert "reply" in reasons  # broken structure is reported as such
    if version == "v2c":
        assert reasons <= {"timeout", "reply"}
        return
    # Over v3 a damaged Response fails its digest and is dropped unread; when every try's reply
    # did, the member's reason is `auth`, naming the digest: the v3 path's design
    # (tests/test_v3_fuzz.py::test_replies_damaged_in_flight_end_in_a_named_auth_error).
    stats = V3_STATS[0]
    assert reasons <= {"timeout", "reply", "auth"}
    assert "auth" in reasons and stats.bad_digest > 0, stats
