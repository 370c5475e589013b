"""Tests that kill mutants of netmon's evaluate code that the other tests let live (see docs/mutation.md).

The pair verdict and the exact reasons on-call staff read (netmon/evaluate.py), and what the
VRRP-MIB, VRRPv3-MIB, KEEPALIVED-MIB and CISCO-HSRP-MIB kinds make of a member's answers: its
role, why, the raw values and the identity shown by `netmon check` and /api, the peer it hears,
and the inventory errors their params get. The inputs here are synthetic; the recorded cases
live in tests/fixtures/kinds/.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from netmon.evaluate import evaluate, needs_recheck
from netmon.kinds import KINDS
from netmon.kinds.hsrp import HsrpParams
from netmon.kinds.keepalived import KeepalivedParams
from netmon.kinds.vrrp import VrrpParams
from netmon.kinds.vrrpv3 import Vrrpv3Params
from netmon.model import (
    DeviceReading,
    InterfaceReading,
    LinkThresholds,
    MemberObservation,
    MemberSpec,
    MemberView,
    Missing,
    Mode,
    PairSpec,
    PairState,
    PairStatus,
    ProbeResult,
    Role,
    Value,
    parse_oid,
)
from netmon.observe import observe_member

T0 = 1_700_000_000.0
A, S, F, X, U = Role.ACTIVE, Role.STANDBY, Role.FAULT, Role.UNREACHABLE, Role.UNKNOWN
VANISHED = "vrrpOperState: noSuchInstance"


def pair(members: int = 2, **kw: Any) -> PairSpec:
    names = ("r1", "r2", "r3")[:members]
    base = PairSpec(
        name="p",
        kind="vrrp",
        members=tuple(MemberSpec(n, n, VrrpParams(2, 51)) for n in names),
        preferred="r1",
        split_brain_debounce=2.0,
        flap_threshold=3,
        flap_window=600.0,
        stale_after=30.0,
    )
    return replace(base, **kw)


@dataclass(frozen=True)
class M:
    """One member's answer, as the kind and the collector hand it to evaluate."""

    role: Role
    reason: str | None = None
    ready: bool = True
    hears: str | None = None  # peer_active
    fresh: bool = True
    missing: bool = False
    later: float = 0.0  # seconds after T0 it was read
    links: tuple[InterfaceReading, ...] = ()
    probes: tuple[ProbeResult, ...] = ()
    uptime: int | None = None


def members(*answers: M, at: float = T0) -> list[MemberObservation]:
    out = []
    for i, a in enumerate(answers):
        name = f"r{i + 1}"
        view = MemberView(
            a.role, reason=a.reason, ready=a.ready, peer_active=a.hears, missing=a.missing
        )
        out.append(
            MemberObservation(
                name,
                name,
                view,
                at=at + a.later,
                fresh=a.fresh,
                links=a.links,
                probes=a.probes,
                uptime=a.uptime,
            )
        )
    return out


def lossy(target: str) -> tuple[ProbeResult, ...]:
    """Small DF probes pass, every 1,500-byte one is lost (Korea, November 2023)."""
    return (ProbeResult(target, 64, 3, 3, 0.001), ProbeResult(target, 1500, 3, 0, None))


LARGE_LOSS = "large_packet_loss: 100% of 1500-byte packets to {} lost, 0% of 64-byte"

# (id, pair overrides, member answers, seconds after T0 it is judged, state, reasons)
VERDICTS: list[tuple[str, dict[str, Any], tuple[M, ...], float, PairState, tuple[str, ...]]] = [
    # An answer exactly `stale_after` old still counts: only *older* ones do not.
    ("answer-stale_after-old-counts", {}, (M(A), M(S)), 30.0, PairState.HEALTHY, ()),
    (
        "answer-older-is-stale",
        {},
        (M(A), M(S)),
        30.5,
        PairState.UNKNOWN,
        ("no fresh answer from any member", "r1: no fresh answer", "r2: no fresh answer"),
    ),
    (
        "active-active-standby-says-nothing-more",
        {"mode": Mode.ACTIVE_ACTIVE},
        (M(A), M(S)),
        0.0,
        PairState.DEGRADED,
        ("r2: not active (standby)",),
    ),
    (
        "active-not-ready-reports",
        {},
        (M(A, "active reports no standby router (0.0.0.0)", ready=False), M(S)),
        0.0,
        PairState.DEGRADED,
        ("r1: reports (active reports no standby router (0.0.0.0))",),
    ),
    (
        "standby-not-ready",
        {},
        (M(A), M(S, "listen: not the elected standby", ready=False)),
        0.0,
        PairState.DEGRADED,
        ("r2: standby not ready (listen: not the elected standby)",),
    ),
    (
        "member-path-drops-large-packets",
        {},
        (M(A, probes=lossy("10.0.0.1")), M(S)),
        0.0,
        PairState.DEGRADED,
        ("r1: " + LARGE_LOSS.format("10.0.0.1"),),
    ),
    (
        "two-standbys-hear-the-unreachable-active",
        {"members": 3},
        (M(X, "timeout"), M(S, hears="10.0.0.1"), M(S, hears="10.0.0.9")),
        0.0,
        PairState.DEGRADED,
        (
            "active unreachable from netmon (r1); r2 hears 10.0.0.1 as active; "
            "r3 hears 10.0.0.9 as active",
            "r1: unreachable (timeout)",
        ),
    ),
    (
        "two-unreachable-one-hears-an-active",
        {"members": 3},
        (M(X, "timeout"), M(X, fresh=False), M(S, hears="10.0.0.1")),
        0.0,
        PairState.DEGRADED,
        (
            "active unreachable from netmon (r1, r2); r3 hears 10.0.0.1 as active",
            "r1: unreachable (timeout)",
            "r2: no fresh answer",
        ),
    ),
    (
        "unreadable-member-while-standby-hears-an-active",
        {},
        (M(U, "vrrpOperState: unrecognised value 9"), M(S, hears="10.0.0.1")),
        0.0,
        PairState.DEGRADED,
        (
            "active not read by netmon (r1); r2 hears 10.0.0.1 as active",
            "r1: role unknown (vrrpOperState: unrecognised value 9)",
        ),
    ),
    (
        "none-active-one-names-a-stale-master",
        {},
        (M(S), M(S, hears="10.99.0.99")),
        0.0,
        PairState.DOWN,
        (
            "no member active, every member says so itself (r2 hears 10.99.0.99 as active: "
            "a stale advertisement, or a router outside this pair)",
        ),
    ),
    (
        "none-active-fault-and-standby",
        {},
        (M(F, "fault"), M(S)),
        0.0,
        PairState.DOWN,
        ("no member active", "r1: in fault (fault)"),
    ),
    (
        "none-active-active-active-mode",
        {"mode": Mode.ACTIVE_ACTIVE},
        (M(F, "initialize"), M(S)),
        0.0,
        PairState.DOWN,
        ("no member active", "r1: in fault (initialize)", "r2: not active (standby)"),
    ),
    (
        "no-member-answered",
        {},
        (M(X, "timeout"), M(X, "auth")),
        0.0,
        PairState.UNKNOWN,
        ("no fresh answer from any member", "r1: unreachable (timeout)", "r2: unreachable (auth)"),
    ),
    (
        "every-answer-unreadable",
        {},
        (M(U, VANISHED, missing=True), M(U, "vrrpOperState: unrecognised value 9")),
        0.0,
        PairState.UNKNOWN,
        (
            "no member's role could be read",
            f"r1: role unknown ({VANISHED})",
            "r2: role unknown (vrrpOperState: unrecognised value 9)",
        ),
    ),
    (
        "one-unreadable-one-unreachable",
        {},
        (M(X, "timeout"), M(U, VANISHED, missing=True)),
        0.0,
        PairState.UNKNOWN,
        (
            "no member's role could be read",
            "r1: unreachable (timeout)",
            f"r2: role unknown ({VANISHED})",
        ),
    ),
    # Two actives read exactly `split_brain_debounce` apart are one window, still within it.
    (
        "dual-active-readings-debounce-apart",
        {},
        (M(A), M(A, later=2.0)),
        2.0,
        PairState.UNKNOWN,
        ("r1 and r2 both claim active (within debounce)",),
    ),
    (
        "dual-active-readings-further-apart",
        {},
        (M(A), M(A, later=2.5)),
        2.5,
        PairState.UNKNOWN,
        ("r1 and r2 both claim active, in readings 2.5s apart",),
    ),
    (
        "dual-active-no-debounce",
        {"split_brain_debounce": 0.0},
        (M(A), M(A)),
        0.0,
        PairState.SPLIT_BRAIN,
        ("r1 and r2 claim active for 0.0s",),
    ),
    (
        "three-active-no-debounce",
        {"members": 3, "split_brain_debounce": 0.0},
        (M(A), M(A), M(A)),
        0.0,
        PairState.SPLIT_BRAIN,
        ("r1 and r2 and r3 claim active for 0.0s",),
    ),
    # With a debounce of 0.5 s, a first reading of two actives has held for 0 s: within it.
    (
        "dual-active-first-reading",
        {"split_brain_debounce": 0.5},
        (M(A), M(A)),
        0.0,
        PairState.UNKNOWN,
        ("r1 and r2 both claim active (within debounce)",),
    ),
]


@pytest.mark.parametrize(
    ("overrides", "answers", "after", "state", "reasons"),
    [v[1:] for v in VERDICTS],
    ids=[v[0] for v in VERDICTS],
)
def test_verdict_and_its_exact_reasons(
    overrides: dict[str, Any],
    answers: tuple[M, ...],
    after: float,
    state: PairState,
    reasons: tuple[str, ...],
) -> None:
    status = evaluate(pair(**overrides), members(*answers), None, T0 + after)
    assert (status.state, status.reasons) == (state, reasons)


def _link(errors: int, packets: int) -> InterfaceReading:
    return InterfaceReading(2, "eth0", True, in_errors=errors, in_packets=packets)


@pytest.mark.parametrize(
    ("thresholds", "state", "reasons"),
    [
        (
            LinkThresholds(),
            PairState.DEGRADED,
            ("r1: link eth0 lossy: 5.0% of packets in are errors or discards (threshold 1.0%)",),
        ),
        # The pair's own thresholds judge its links: 5% is within a 10% threshold.
        (LinkThresholds(error_ratio=0.10), PairState.HEALTHY, ()),
    ],
)
def test_link_error_rates_between_two_polls(
    thresholds: LinkThresholds, state: PairState, reasons: tuple[str, ...]
) -> None:
    """50 errors in 1,000 packets between two polls of the same agent run: 5% lossy."""
    spec = pair(thresholds=thresholds)
    first = evaluate(spec, members(M(A, links=(_link(0, 0),), uptime=1000), M(S)), None, T0)
    assert (first.state, first.reasons) == (PairState.HEALTHY, ())
    again = members(M(A, links=(_link(50, 950),), uptime=2000), M(S), at=T0 + 10)
    second = evaluate(spec, again, first, T0 + 10)
    assert (second.state, second.reasons) == (state, reasons)


def test_virtual_ip_loss_degrades_a_serving_pair_and_is_kept_in_the_verdict() -> None:
    vip = lossy("10.0.0.100")
    status = evaluate(pair(), members(M(A), M(S)), None, T0, vip)
    assert status.state is PairState.DEGRADED
    assert status.reasons == ("virtual IP: " + LARGE_LOSS.format("10.0.0.100"),)
    assert status.vip_probes == vip  # /metrics and /api show the probes
    assert status.preferred == "r1"  # netmon_pair_info{preferred=...}


def test_virtual_ip_loss_never_lifts_a_down_pair() -> None:
    status = evaluate(pair(), members(M(F, "fault"), M(S)), None, T0, lossy("10.0.0.100"))
    assert (status.state, status.reasons) == (
        PairState.DOWN,
        ("no member active", "r1: in fault (fault)"),
    )


def test_last_failover_time_is_kept_after_the_failover() -> None:
    spec = pair()
    st = evaluate(spec, members(M(A), M(S)), None, T0)
    st = evaluate(spec, members(M(S), M(A), at=T0 + 5), st, T0 + 5)
    st = evaluate(spec, members(M(S), M(A), at=T0 + 10), st, T0 + 10)
    assert (st.failovers_total, st.last_failover_at) == (1, T0 + 5)


def test_a_failover_exactly_flap_window_ago_still_counts() -> None:
    spec = pair(flap_threshold=3, flap_window=60.0)
    st: PairStatus | None = None
    for i, t in enumerate((0.0, 10.0, 20.0, 30.0)):  # failovers at +10, +20, +30
        roles = (M(A), M(S)) if i % 2 == 0 else (M(S), M(A))
        st = evaluate(spec, members(*roles, at=T0 + t), st, T0 + t)
    st = evaluate(spec, members(M(S), M(A), at=T0 + 70), st, T0 + 70)
    assert st.flapping
    assert (st.state, st.reasons) == (
        PairState.DEGRADED,
        ("flapping: 3 failovers in 60s", "running on r2, not on preferred r1"),
    )


def test_recheck_waits_for_what_is_left_of_the_debounce() -> None:
    spec = pair()
    healthy = evaluate(spec, members(M(A), M(S)), None, T0)
    both = members(M(A), M(A), at=T0 + 10)
    judged = evaluate(spec, both, healthy, T0 + 10.5)  # read at +10, judged half a second later
    assert needs_recheck(judged, spec) == pytest.approx(1.5)
    nearly = evaluate(spec, judged.members, judged, T0 + 11.5)
    assert needs_recheck(nearly, spec) == pytest.approx(0.5)
    # The same readings judged past the debounce (a probe round): re-poll at once.
    late = evaluate(spec, judged.members, judged, T0 + 13)
    assert late.state is PairState.HEALTHY
    assert needs_recheck(late, spec) == 0.0


def _vanish(obs: list[MemberObservation], *which: int) -> list[MemberObservation]:
    out = list(obs)
    for i in which:
        view = MemberView(U, reason=VANISHED, raw="noSuchInstance", missing=True)
        out[i] = replace(out[i], view=view)
    return out


@pytest.mark.parametrize(
    ("gone", "state", "reasons"),
    [
        (
            (0, 1),
            PairState.DOWN,
            (
                "no member active",
                f"r1: in fault (its row vanished (was active; now {VANISHED}))",
                f"r2: in fault (its row vanished (was standby; now {VANISHED}))",
            ),
        ),
        (
            (0,),
            PairState.DOWN,
            ("no member active", f"r1: in fault (its row vanished (was active; now {VANISHED}))"),
        ),
    ],
)
def test_rejudging_vanished_rows_keeps_the_verdict(
    gone: tuple[int, ...], state: PairState, reasons: tuple[str, ...]
) -> None:
    """A probe round finishing re-judges the members' last answers: the same readings, the same
    verdict. (Fixed: a row that had vanished lost its evidence then, and a `down` pair read
    `unknown` or `degraded` until the next poll.)"""
    spec = pair()
    st = evaluate(spec, members(M(A), M(S)), None, T0)
    now = members(M(A), M(S), at=T0 + 10)
    st = evaluate(spec, _vanish(now, *gone), st, T0 + 10)
    assert (st.state, st.reasons) == (state, reasons)
    again = evaluate(spec, st.members, st, T0 + 11)
    assert (again.state, again.reasons) == (state, reasons)
    assert [m.view.role for m in again.members] == [m.view.role for m in st.members]


# ---- the kinds: params errors ---------------------------------------------------------------

# (kind, params, the inventory errors: (field, message))
CHECKS: list[tuple[str, Any, list[tuple[str, str]]]] = [
    ("keepalived", KeepalivedParams(1), []),
    ("keepalived", KeepalivedParams(0), [("instance", "instance index must be 1 or more, got 0")]),
    ("vrrp", VrrpParams(if_index=1, vrid=1), []),
    ("vrrp", VrrpParams(if_index=1, vrid=255), []),
    ("vrrp", VrrpParams(if_index=1, vrid=256), [("vrid", "VRID must be 1..255, got 256")]),
    ("vrrp", VrrpParams(if_index=0, vrid=1), [("if_index", "ifIndex must be 1 or more, got 0")]),
    (
        "vrrp",
        VrrpParams(if_index=0, vrid=0),
        [("vrid", "VRID must be 1..255, got 0"), ("if_index", "ifIndex must be 1 or more, got 0")],
    ),
    ("vrrpv3", Vrrpv3Params(if_index=1, vrid=1), []),
    ("vrrpv3", Vrrpv3Params(if_index=1, vrid=255, inet_version=6), []),
    ("vrrpv3", Vrrpv3Params(if_index=1, vrid=256), [("vrid", "VRID must be 1..255, got 256")]),
    (
        "vrrpv3",
        Vrrpv3Params(if_index=0, vrid=0, inet_version=5),
        [
            ("vrid", "VRID must be 1..255, got 0"),
            ("if_index", "ifIndex must be 1 or more, got 0"),
            ("inet_version", "must be 4 or 6, got 5"),
        ],
    ),
    ("hsrp", HsrpParams(if_index=1, group=0), []),
    ("hsrp", HsrpParams(if_index=1, group=4095), []),
    ("hsrp", HsrpParams(if_index=1, group=4096), [("group", "HSRP group must be 0..4095, got 4096")]),
    ("hsrp", HsrpParams(if_index=0, group=-1), [
        ("group", "HSRP group must be 0..4095, got -1"),
        ("if_index", "ifIndex must be 1 or more, got 0"),
    ]),
]  # fmt: skip


@pytest.mark.parametrize(("kind_name", "params", "errors"), CHECKS)
def test_params_errors_name_the_field_and_the_bounds(
    kind_name: str, params: Any, errors: list[tuple[str, str]]
) -> None:
    """What `netmon inventory validate` prints at the field's line, for each kind's params."""
    assert KINDS.get(kind_name).check(params) == errors


# ---- the kinds: a member's answers as the collector hands them over --------------------------

KEEPALIVED_ROW = "1.3.6.1.4.1.9586.100.5.2.3.1"  # KEEPALIVED-MIB vrrpInstanceEntry
VRRP_ROW = "1.3.6.1.2.1.68.1.3.1"  # VRRP-MIB vrrpOperEntry
VRRPV3_ROW = "1.3.6.1.2.1.207.1.1.1.1"  # VRRPv3-MIB vrrpv3OperationsEntry
HSRP_ROW = "1.3.6.1.4.1.9.9.106.1.2.1.1"  # CISCO-HSRP-MIB cHsrpGrpEntry
NSI = Missing.NO_SUCH_INSTANCE


def ipv4_octets(address: str) -> str:
    """An InetAddress of 4 bytes as the collector hands an OCTET STRING over (these are UTF-8)."""
    return bytes(int(part) for part in address.split(".")).decode("utf-8")


@dataclass(frozen=True)
class Expect:
    role: Role
    reason: str | None = None
    raw: str | None = None
    identity: str | None = None
    peer_active: str | None = None
    ready: bool = True
    missing: bool = False


@dataclass(frozen=True)
class Case:
    kind: str
    params: Any
    values: dict[str, Value] = field(default_factory=dict)  # by OID; absent: noSuchInstance
    expect: Expect = Expect(U)


KA = KeepalivedParams(1)
V2 = VrrpParams(if_index=2, vrid=51)
V3 = Vrrpv3Params(if_index=2, vrid=51)
HS = HsrpParams(if_index=1, group=10)

VIEWS: dict[str, Case] = {
    "keepalived-master-priorities": Case(
        "keepalived",
        KA,
        {f"{KEEPALIVED_ROW}.4.1": 2, f"{KEEPALIVED_ROW}.7.1": 150, f"{KEEPALIVED_ROW}.8.1": 150},
        Expect(A, raw="2 (master), priority 150/150", identity="instance 1"),
    ),
    "keepalived-fault-track-dropped-priority": Case(
        "keepalived",
        KA,
        {f"{KEEPALIVED_ROW}.4.1": 3, f"{KEEPALIVED_ROW}.7.1": 150, f"{KEEPALIVED_ROW}.8.1": 100},
        Expect(F, reason="fault", raw="3 (fault), priority 100/150", identity="instance 1"),
    ),
    "keepalived-effective-priority-absent": Case(
        "keepalived",
        KA,
        {f"{KEEPALIVED_ROW}.4.1": 2, f"{KEEPALIVED_ROW}.7.1": 150},
        Expect(A, raw="2 (master)", identity="instance 1"),
    ),
    "keepalived-base-priority-absent": Case(
        "keepalived",
        KA,
        {f"{KEEPALIVED_ROW}.4.1": 2, f"{KEEPALIVED_ROW}.8.1": 150},
        Expect(A, raw="2 (master)", identity="instance 1"),
    ),
    "keepalived-state-absent-priorities-present": Case(
        "keepalived",
        KA,
        {f"{KEEPALIVED_ROW}.7.1": 150, f"{KEEPALIVED_ROW}.8.1": 150},
        Expect(U, reason="vrrpInstanceState: noSuchInstance", raw="noSuchInstance", missing=True),
    ),
    "keepalived-state-unrecognised": Case(
        "keepalived",
        KA,
        {f"{KEEPALIVED_ROW}.4.1": 9, f"{KEEPALIVED_ROW}.7.1": 150, f"{KEEPALIVED_ROW}.8.1": 150},
        Expect(
            U,
            reason="vrrpInstanceState: unrecognised value 9",
            raw="9, priority 150/150",
            identity="instance 1",
        ),
    ),
    # A boolean is no state of the table (the kinds refuse it as an integer): unknown, and no
    # evidence of a master, though True == 1 (backup).
    "keepalived-state-boolean": Case(
        "keepalived",
        KA,
        {f"{KEEPALIVED_ROW}.4.1": True},
        Expect(U, reason="vrrpInstanceState: expected an integer, got True", identity="instance 1"),
    ),
    "vrrp-row-absent": Case(
        "vrrp",
        V2,
        {f"{VRRP_ROW}.7.2.51": "10.0.0.1", f"{VRRP_ROW}.8.2.51": "10.0.0.2"},
        Expect(U, reason="vrrpOperState: noSuchInstance", raw="noSuchInstance", missing=True),
    ),
    "vrrp-state-unrecognised": Case(
        "vrrp",
        V2,
        {f"{VRRP_ROW}.3.2.51": 7},
        Expect(
            U, reason="vrrpOperState: unrecognised value 7", raw="7", identity="ifIndex 2 VRID 51"
        ),
    ),
    "vrrp-backup-hears-master": Case(
        "vrrp",
        V2,
        {
            f"{VRRP_ROW}.3.2.51": 2,
            f"{VRRP_ROW}.7.2.51": "10.0.0.1",
            f"{VRRP_ROW}.8.2.51": "10.0.0.2",
        },
        Expect(
            S,
            raw="2 (backup)",
            identity="ifIndex 2 VRID 51; own address 10.0.0.2; master 10.0.0.1",
            peer_active="10.0.0.1",
        ),
    ),
    "vrrpv3-row-absent": Case(
        "vrrpv3",
        V3,
        {
            f"{VRRPV3_ROW}.3.2.51.1": ipv4_octets("10.0.0.1"),
            f"{VRRPV3_ROW}.4.2.51.1": ipv4_octets("10.0.0.2"),
        },
        Expect(
            U, reason="vrrpv3OperationsStatus: noSuchInstance", raw="noSuchInstance", missing=True
        ),
    ),
    "vrrpv3-state-unrecognised": Case(
        "vrrpv3",
        V3,
        {f"{VRRPV3_ROW}.6.2.51.1": 4},
        Expect(
            U,
            reason="vrrpv3OperationsStatus: unrecognised value 4",
            raw="4",
            identity="ifIndex 2 VRID 51 IPv4",
        ),
    ),
    "vrrpv3-backup-master-absent": Case(
        "vrrpv3",
        V3,
        {f"{VRRPV3_ROW}.6.2.51.1": 2, f"{VRRPV3_ROW}.4.2.51.1": ipv4_octets("10.0.0.2")},
        Expect(S, raw="2 (backup)", identity="ifIndex 2 VRID 51 IPv4; own address 10.0.0.2"),
    ),
    "vrrpv3-master-names-its-own-address": Case(
        "vrrpv3",
        V3,
        {
            f"{VRRPV3_ROW}.6.2.51.1": 3,
            f"{VRRPV3_ROW}.3.2.51.1": ipv4_octets("10.0.0.1"),
            f"{VRRPV3_ROW}.4.2.51.1": ipv4_octets("10.0.0.1"),
        },
        Expect(A, raw="3 (master)", identity="ifIndex 2 VRID 51 IPv4; own address 10.0.0.1"),
    ),
    "vrrpv3-backup-hears-master": Case(
        "vrrpv3",
        V3,
        {
            f"{VRRPV3_ROW}.6.2.51.1": 2,
            f"{VRRPV3_ROW}.3.2.51.1": ipv4_octets("10.0.0.1"),
            f"{VRRPV3_ROW}.4.2.51.1": ipv4_octets("10.0.0.2"),
        },
        Expect(
            S,
            raw="2 (backup)",
            identity="ifIndex 2 VRID 51 IPv4; own address 10.0.0.2; master 10.0.0.1",
            peer_active="10.0.0.1",
        ),
    ),
    "hsrp-group-absent": Case(
        "hsrp",
        HS,
        {f"{HSRP_ROW}.13.1.10": "10.0.0.1", f"{HSRP_ROW}.14.1.10": "10.0.0.2"},
        Expect(
            U, reason="cHsrpGrpStandbyState: noSuchInstance", raw="noSuchInstance", missing=True
        ),
    ),
    "hsrp-state-unrecognised": Case(
        "hsrp",
        HS,
        {f"{HSRP_ROW}.15.1.10": 8},
        Expect(
            U,
            reason="cHsrpGrpStandbyState: unrecognised value 8",
            raw="8",
            identity="ifIndex 1 group 10",
        ),
    ),
    "hsrp-standby-router-unknown": Case(
        "hsrp",
        HS,
        {f"{HSRP_ROW}.15.1.10": 5, f"{HSRP_ROW}.13.1.10": "10.0.0.1"},
        Expect(
            S,
            raw="5 (standby)",
            identity="ifIndex 1 group 10; active 10.0.0.1, standby none",
            peer_active="10.0.0.1",
        ),
    ),
    "hsrp-listen-hears-no-active": Case(
        "hsrp",
        HS,
        {f"{HSRP_ROW}.15.1.10": 3, f"{HSRP_ROW}.14.1.10": "10.0.0.3"},
        Expect(
            S,
            reason="listen: not the elected standby",
            raw="3 (listen: not the elected standby)",
            identity="ifIndex 1 group 10; active none, standby 10.0.0.3",
            ready=False,
        ),
    ),
    "hsrp-active-knows-no-standby": Case(
        "hsrp",
        HS,
        {
            f"{HSRP_ROW}.15.1.10": 6,
            f"{HSRP_ROW}.13.1.10": "10.0.0.1",
            f"{HSRP_ROW}.14.1.10": "0.0.0.0",
        },
        Expect(
            A,
            reason="active reports no standby router (0.0.0.0)",
            raw="6 (active)",
            identity="ifIndex 1 group 10; active 10.0.0.1, standby none",
            ready=False,
        ),
    ),
}


@pytest.mark.parametrize("case", list(VIEWS))
def test_member_view_from_the_agents_answers(case: str) -> None:
    """The kind's probes read from an agent holding `values`, its view of the member: role, why,
    the raw values and identity operators see, and the active peer it hears."""
    c = VIEWS[case]
    kind = KINDS.get(c.kind)
    spec = PairSpec("p", c.kind, (MemberSpec("m", "d", c.params),))
    served = {parse_oid(oid): value for oid, value in c.values.items()}
    values = {p.ident: served.get(p.oid, NSI) for p in kind.probes(c.params)}
    reading = DeviceReading("d", "snmp", at=T0, ok=True, values=values)
    view = observe_member(spec, spec.members[0], {("d", "snmp"): reading}).view
    e = c.expect
    got = Expect(
        view.role, view.reason, view.raw, view.identity, view.peer_active, view.ready, view.missing
    )
    assert got == e


def test_vrrp_walks_each_column_from_its_start() -> None:
    """keepalived 2.2.7 answers an exact GET on a VRRP-MIB row with noSuchInstance, and a GETNEXT
    from a partial index with the next column: each value is walked from its column."""
    probes = KINDS.get("vrrp").probes(VrrpParams(if_index=2, vrid=51))
    plan = [(p.key, p.method, p.walk_start(), p.oid) for p in probes]
    assert plan == [
        (key, "walk", parse_oid(f"{VRRP_ROW}.{col}"), parse_oid(f"{VRRP_ROW}.{col}.2.51"))
        for key, col in (
            ("vrrpOperState", 3),
            ("vrrpOperMasterIpAddr", 7),
            ("vrrpOperPrimaryIpAddr", 8),
        )
    ]
