"""Attacks on the FRR change from an adversarial review: each test failed on the first version and names the bug it found."""

from __future__ import annotations

from pathlib import Path

import pytest

from netmon.evaluate import evaluate
from netmon.kinds.command import CommandKind, CommandParams
from netmon.kinds.evidence import HEARS_A_VRRP_MASTER
from netmon.kinds.frr import FrrVrrpKind, FrrVrrpParams
from netmon.model import MemberObservation, MemberSpec, MemberView, PairSpec, PairState, Role

FIXTURES = Path(__file__).parent / "fixtures" / "kinds" / "frr-vrrp"
P = FrrVrrpParams("eth0", 61)
T0 = 1_700_000_000.0
PAIR = PairSpec(
    "p", "frr-vrrp", (MemberSpec("f1", "f1", P), MemberSpec("f2", "f2", P)),
    preferred="f1", stale_after=120.0,
)  # fmt: skip


def backup(heard: int, within: float = 3.6) -> MemberView:
    return MemberView(
        Role.STANDBY, peer_active=HEARS_A_VRRP_MASTER, adverts_heard=heard, adverts_within=within
    )


def readings(at: float, standby: MemberView) -> list[MemberObservation]:
    return [
        MemberObservation("f1", "f1", MemberView(Role.ACTIVE), at=at),
        MemberObservation("f2", "f2", standby, at=at),
    ]


def test_frr_notice_with_a_bracket_before_the_json_hides_the_master() -> None:
    """frr _json_in decodes only at the first '[': a notice holding '[' before the JSON reads unknown."""
    output = (
        "vtysh: [EC 100663299] warning: config file not readable\n"
        + (FIXTURES / "master.vrrp.txt").read_text()
    )
    got = FrrVrrpKind().interpret(P, {"vrrp": output})
    assert got.role is Role.ACTIVE, got.reason


def test_silent_master_never_fires_when_polls_are_closer_than_master_down() -> None:
    """silent_master compares only consecutive readings: a count stalled 10s read every 2s never fires."""
    status = evaluate(PAIR, readings(T0, backup(40)), None, T0)
    for step in range(1, 6):  # the lab's interval: 2 s, masterDownInterval 3.6 s
        at = T0 + 2 * step
        status = evaluate(PAIR, readings(at, backup(40)), status, at)
    assert status.state is PairState.DEGRADED, status.reasons
    assert not status.members[1].view.ready


def test_silent_master_judgement_lapses_on_a_quick_reread_with_the_same_count() -> None:
    """silent_master: a not-ready backup reads ready again on a poll 1s later with the count still stalled."""
    one = evaluate(PAIR, readings(T0, backup(40)), None, T0)
    two = evaluate(PAIR, readings(T0 + 10, backup(40)), one, T0 + 10)
    assert two.state is PairState.DEGRADED
    three = evaluate(PAIR, readings(T0 + 11, backup(40)), two, T0 + 11)  # a trap-triggered poll
    assert three.state is PairState.DEGRADED, (
        three.reasons
    )  # healthy -> degraded flap = false pages


def test_command_json_path_with_a_unicode_digit_raises() -> None:
    """command _walk: a path segment like '²' passes isdigit() and int() raises ValueError."""
    params = CommandParams(command="x", match="json", pattern="0.²", values={"a": "active"})
    got = CommandKind().interpret(params, {"value": "[[1]]"})
    assert got.role is Role.UNKNOWN


@pytest.mark.parametrize(
    "pattern",
    [
        r"^(?P<value>(\w+\s?)*)$",  # the guard's own documented example: backtracks for minutes
        r"^(?P<value>(a+?)+)$",
        r"^(?P<value>(a|aa)+)$",
    ],
)
def test_command_regex_that_backtracks_for_ever_is_unknown_in_bounded_time(pattern: str) -> None:
    """command: a pattern that backtracks catastrophically ((\\w+\\s?)*, (a+?)+, (a|aa)+) on some
    output reads unknown within the time limit, never blocking the event loop for minutes."""
    import time

    params = CommandParams(command="x", match="regex", pattern=pattern, values={"a": "active"})
    output = "ab" * 16 + "!" if "w" in pattern else "a" * 40 + "!"
    started = time.monotonic()
    got = CommandKind().interpret(params, {"value": output})
    assert time.monotonic() - started < 5
    assert got.role is Role.UNKNOWN
