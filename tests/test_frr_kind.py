"""The `frr-vrrp` kind beyond its recorded cases: its params, its command, odd JSON, and the
backup whose count of received advertisements stops growing (judged across readings)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from netmon.evaluate import evaluate
from netmon.kinds import KINDS
from netmon.kinds.evidence import HEARS_A_VRRP_MASTER
from netmon.kinds.frr import FrrVrrpKind, FrrVrrpParams, show_command
from netmon.model import MemberObservation, MemberSpec, MemberView, PairSpec, PairState, Role

KIND = FrrVrrpKind()
P = FrrVrrpParams("eth0", 61)
CASES = Path(__file__).parent / "fixtures" / "kinds" / "frr-vrrp"
T0 = 1_700_000_000.0


def recorded(case: str) -> str:
    return (CASES / f"{case}.vrrp.txt").read_text()


def group(case: str = "backup") -> dict[str, object]:
    data = json.loads(recorded(case))
    assert isinstance(data, list)
    found = data[0]
    assert isinstance(found, dict)
    return found


def view(output: object, params: FrrVrrpParams = P) -> MemberView:
    return KIND.interpret(params, {"vrrp": output})  # type: ignore[dict-item]


def test_registered() -> None:
    assert KINDS.get("frr-vrrp").name == "frr-vrrp"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        (FrrVrrpParams("eth0", 0), "vrid"),
        (FrrVrrpParams("eth0", 256), "vrid"),
        (FrrVrrpParams("eth 0", 61), "interface"),
        (FrrVrrpParams("eth0;reboot", 61), "interface"),
        (FrrVrrpParams("a/b", 61), "interface"),
        (FrrVrrpParams("x" * 16, 61), "interface"),
        (FrrVrrpParams("", 61), "interface"),
        (FrrVrrpParams("eth0", 61, family=5), "family"),
        (FrrVrrpParams("eth0", 61, vtysh=""), "vtysh"),
        (FrrVrrpParams("eth0", 61, vtysh="vtysh\nreboot"), "vtysh"),
    ],
)
def test_bad_params_are_named(params: FrrVrrpParams, field: str) -> None:
    assert field in {f for f, _ in KIND.check(params)}


def test_good_params_pass() -> None:
    assert KIND.check(FrrVrrpParams("bond0.100", 255, 6, "sudo -n vtysh")) == []


def test_the_command_is_the_json_read_with_stderr_merged() -> None:
    assert show_command(P) == "vtysh -c 'show vrrp interface eth0 61 json' 2>&1"
    prefixed = FrrVrrpParams("eth0", 61, vtysh="vtysh --vty_socket /run/frr/blue")
    assert show_command(prefixed).startswith("vtysh --vty_socket /run/frr/blue -c ")
    (probe,) = KIND.probes(P)
    assert probe.command == show_command(P)


def test_a_notice_before_the_json_is_skipped() -> None:
    noisy = "% Can't open configuration file /etc/frr/vtysh.conf due to 'No such file'.\n"
    assert view(noisy + recorded("master")).role is Role.ACTIVE


def test_the_backup_carries_its_advertisement_count() -> None:
    got = view(recorded("backup"))
    assert got.role is Role.STANDBY and got.peer_active == HEARS_A_VRRP_MASTER
    family = group("backup")["v4"]
    assert isinstance(family, dict)
    assert got.adverts_heard == family["stats"]["adverRx"]
    assert got.adverts_within == family["masterDownInterval"] / 1000


@pytest.mark.parametrize(
    "output",
    [
        "",
        "[",
        "[{]",
        "[1]",
        '[{"vrid": 62, "v4": {"status": "Master"}}]',  # another group's answer
        '[{"vrid": 61, "v4": {"status": "Master"}}, {"vrid": 61}]',  # two groups
        '{"vrid": 61, "v4": {"status": "Master"}}',  # not an array
        '[{"vrid": "61", "v4": {"status": "Master"}}]',
        '[{"vrid": true, "v4": {"status": "Master"}}]',
        '[{"vrid": 61, "v6": {"status": "Master"}}]',  # only the other family
        '[{"vrid": 61, "v4": "Master"}]',
        '[{"vrid": 61, "v4": {"status": "master"}}]',  # case matters: FRR prints "Master"
        '[{"vrid": 61, "v4": {"status": 1}}]',
        '[{"vrid": 61, "v4": {"status": null}}]',
        '[{"vrid": 61, "v4": {}}]',
        "[" * 100_000 + "]" * 100_000,  # deeper than the parser goes
        "[" + " " * (1 << 20) + "]",  # larger than any group's answer
        "Master",
        "vrrpd is running",
    ],
)
def test_odd_output_is_unknown_never_active(output: str) -> None:
    got = view(output)
    assert got.role is Role.UNKNOWN, got
    assert got.reason and len(got.reason) < 200


def test_a_status_with_control_characters_is_shown_flat() -> None:
    got = view('[{"vrid": 61, "v4": {"status": "Ma\\u001b[2Jster"}}]')
    assert got.role is Role.UNKNOWN and got.raw is not None and "\x1b" not in got.raw


def test_a_backup_without_counters_is_still_a_standby() -> None:
    got = view('[{"vrid": 61, "v4": {"status": "Backup"}}]')
    assert got.role is Role.STANDBY and got.adverts_heard is None


def test_initialize_with_a_macvlan_says_what_may_be_down() -> None:
    data = group("master")
    data["v4"]["status"] = "Initialize"  # type: ignore[index]
    got = view(json.dumps([data]))
    assert got.role is Role.FAULT and got.reason and "vrrp4-2-61" in got.reason


# ---- a backup that stops hearing its master, judged across readings ---------------------------

PAIR = PairSpec(
    "p",
    "frr-vrrp",
    (MemberSpec("f1", "f1", P), MemberSpec("f2", "f2", P)),
    preferred="f1",
    stale_after=120.0,
)


def backup(heard: int | None, within: float | None = 3.41) -> MemberView:
    return MemberView(
        Role.STANDBY, peer_active=HEARS_A_VRRP_MASTER, adverts_heard=heard, adverts_within=within
    )


def readings(
    at: float, standby: MemberView, active_at: float | None = None
) -> list[MemberObservation]:
    return [
        MemberObservation("f1", "f1", MemberView(Role.ACTIVE), at=active_at or at),
        MemberObservation("f2", "f2", standby, at=at),
    ]


def judged(first: MemberView, second: MemberView, later: float) -> tuple[PairState, MemberView]:
    one = evaluate(PAIR, readings(T0, first), None, T0)
    assert one.state is PairState.HEALTHY, one.reasons
    two = evaluate(PAIR, readings(T0 + later, second), one, T0 + later)
    return two.state, two.members[1].view


def test_a_count_that_stopped_growing_is_a_standby_not_ready() -> None:
    state, got = judged(backup(40), backup(40), 10.0)
    assert state is PairState.DEGRADED
    assert not got.ready and got.reason and "adverRx stayed 40" in got.reason
    assert got.peer_active is None  # no evidence of a live master any more


@pytest.mark.parametrize(
    ("first", "second", "later"),
    [
        (backup(40), backup(50), 10.0),  # growing: it hears its master
        (backup(40), backup(40), 3.0),  # sooner than the master down interval: too soon to tell
        (backup(40), backup(3), 10.0),  # counted again from 0: vrrpd restarted
        (backup(None), backup(40), 10.0),  # nothing to compare with
        (backup(40), backup(40, within=None), 10.0),
    ],
)
def test_no_judgement_without_a_stalled_count(
    first: MemberView, second: MemberView, later: float
) -> None:
    state, got = judged(first, second, later)
    assert state is PairState.HEALTHY and got.ready


def test_the_same_reading_judged_again_keeps_its_judgement() -> None:
    one = evaluate(PAIR, readings(T0, backup(40)), None, T0)
    two = evaluate(PAIR, readings(T0 + 10, backup(40)), one, T0 + 10)
    assert two.state is PairState.DEGRADED
    # The active member's newer reading arrives; the backup's is the one already judged.
    again = evaluate(PAIR, [readings(T0 + 12, backup(0))[0], two.members[1]], two, T0 + 12)
    assert again.state is PairState.DEGRADED and not again.members[1].view.ready


def test_a_count_growing_again_makes_it_ready_again() -> None:
    one = evaluate(PAIR, readings(T0, backup(40)), None, T0)
    two = evaluate(PAIR, readings(T0 + 10, backup(40)), one, T0 + 10)
    three = evaluate(PAIR, readings(T0 + 20, backup(52)), two, T0 + 20)
    assert two.state is PairState.DEGRADED and three.state is PairState.HEALTHY
