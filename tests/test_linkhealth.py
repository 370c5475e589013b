"""Link error rates from counters and the large-packet probe verdict, under a fixed clock."""

from __future__ import annotations

import socket

import pytest

from netmon.collectors.probe import Prober, checksum, echo_request
from netmon.evaluate import evaluate
from netmon.kinds.iflink import IfLinkParams
from netmon.linkhealth import WRAP, delta, probe_problem, with_rates
from netmon.model import (
    InterfaceReading,
    LinkThresholds,
    MemberObservation,
    MemberSpec,
    MemberView,
    Mode,
    PairSpec,
    PairState,
    ProbeResult,
    Role,
)

T0 = 1_700_000_000.0
TH = LinkThresholds()


def obs(
    at: float, uptime: int | None, *, errors: int, packets: int, name: str = "a"
) -> MemberObservation:
    link = InterfaceReading(3, "eth1", True, in_errors=errors, out_errors=0, in_discards=0,
                            out_discards=0, in_packets=packets, out_packets=packets)  # fmt: skip
    return MemberObservation(name, name, MemberView(Role.ACTIVE), at, links=(link,), uptime=uptime)


def test_delta_handles_wrap_and_reset() -> None:
    assert delta(10, 25) == 15
    assert delta(WRAP - 5, 10) == 15  # one wrap of a Counter32
    assert delta(1_000_000_000, 5) is None  # unwrapping would mean >2^31 in one poll: a reset
    assert delta(None, 5) is None


def test_error_ratio_over_the_interval() -> None:
    first = obs(T0, 1000, errors=100, packets=10_000)
    second = obs(T0 + 10, 2000, errors=150, packets=11_000)
    link = with_rates(second, first, TH).links[0]
    assert link.in_error_ratio == pytest.approx(50 / 1050)
    assert link.out_error_ratio == 0.0
    assert link.errors_per_second == pytest.approx(5.0)


def test_counter_wrap_is_no_false_alarm() -> None:
    first = obs(T0, 1000, errors=7, packets=WRAP - 400)
    second = obs(T0 + 10, 2000, errors=7, packets=600)  # packets wrapped, no new errors
    link = with_rates(second, first, TH).links[0]
    assert link.in_error_ratio == 0.0


def test_agent_restart_is_no_false_alarm() -> None:
    first = obs(T0, 900_000, errors=50_000, packets=9_000_000)
    second = obs(T0 + 10, 300, errors=2, packets=900)  # sysUpTime went back: counters restarted
    link = with_rates(second, first, TH).links[0]
    assert link.in_error_ratio is None
    assert link.errors_per_second is None


def test_too_few_packets_gives_no_ratio() -> None:
    first = obs(T0, 1000, errors=0, packets=0)
    second = obs(T0 + 10, 2000, errors=3, packets=20)
    link = with_rates(second, first, TH).links[0]
    assert link.in_error_ratio is None
    assert link.errors_per_second == pytest.approx(0.3)


def pair(mode: Mode = Mode.ACTIVE_ACTIVE) -> PairSpec:
    members = tuple(MemberSpec(n, n, IfLinkParams(3)) for n in ("a", "b"))
    return PairSpec("uplinks", "if-link", members, mode=mode, stale_after=60)


def test_lossy_link_degrades_the_pair_through_evaluate() -> None:
    spec = pair()
    st1 = evaluate(
        spec,
        [obs(T0, 100, errors=0, packets=0), obs(T0, 100, errors=0, packets=0, name="b")],
        None,
        T0,
    )
    assert st1.state is PairState.HEALTHY
    st2 = evaluate(
        spec,
        [
            obs(T0 + 10, 1100, errors=0, packets=10_000),
            obs(T0 + 10, 1100, errors=500, packets=10_000, name="b"),
        ],
        st1,
        T0 + 10,
    )
    assert st2.state is PairState.DEGRADED
    assert any(r.startswith("b: link eth1 lossy: 4.8%") for r in st2.reasons), st2.reasons
    clean = evaluate(
        spec,
        [
            obs(T0 + 20, 2100, errors=0, packets=20_000),
            obs(T0 + 20, 2100, errors=500, packets=20_000, name="b"),
        ],
        st2,
        T0 + 20,
    )
    assert clean.state is PairState.HEALTHY  # errors stopped growing


def test_large_packet_loss_only_when_small_ones_pass() -> None:
    lost = (ProbeResult("10.99.0.11", 64, 3, 3, 0.001), ProbeResult("10.99.0.11", 1500, 3, 0, None))
    assert probe_problem(lost, TH) == (
        "large_packet_loss: 100% of 1500-byte packets to 10.99.0.11 lost, 0% of 64-byte"
    )
    dead = (ProbeResult("x", 64, 3, 0, None), ProbeResult("x", 1500, 3, 0, None))
    assert probe_problem(dead, TH) is None  # all lost is unreachable, not large-packet loss
    fine = (ProbeResult("x", 64, 3, 3, 0.001), ProbeResult("x", 1500, 3, 2, 0.001))
    assert probe_problem(fine, TH) is None  # one of three lost stays under the 50% bar
    unprivileged = (ProbeResult("x", 64, 0, 0, None, "no privilege"),)
    assert probe_problem(unprivileged, TH) is None


def test_member_with_large_packet_loss_makes_pair_degraded() -> None:
    spec = pair(Mode.ACTIVE_STANDBY)
    probes = (
        ProbeResult("10.99.0.11", 64, 3, 3, 0.001),
        ProbeResult("10.99.0.11", 1500, 3, 0, None),
    )
    members = [
        MemberObservation("a", "a", MemberView(Role.ACTIVE), T0, probes=probes),
        MemberObservation("b", "b", MemberView(Role.STANDBY), T0),
    ]
    status = evaluate(spec, members, None, T0)
    assert status.state is PairState.DEGRADED
    assert status.reasons[0].startswith("a: large_packet_loss")


def test_echo_request_is_the_requested_size_with_a_valid_checksum() -> None:
    packet = echo_request(0x1234, 7, 1500)
    assert len(packet) == 1500 - 20
    assert checksum(packet) == 0


def test_prober_without_privilege_says_so() -> None:
    import asyncio

    def refuse(*_args: object, **_kwargs: object) -> socket.socket:
        raise PermissionError(1, "Operation not permitted")

    async def run() -> ProbeResult:
        prober = Prober(socket_factory=refuse)
        try:
            return await prober.probe("127.0.0.1", 64, 3, 0.5)
        finally:
            prober.close()

    result = asyncio.run(run())
    assert result.sent == 0
    assert result.loss is None
    assert result.error is not None
    assert "no privilege to probe" in result.error
