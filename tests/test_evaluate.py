"""The pair verdict, under a fixed clock: truth table, debounce, failovers, flapping, staleness."""

from __future__ import annotations

from dataclasses import replace

import pytest

from netmon.evaluate import evaluate, needs_recheck, transition
from netmon.kinds.vrrp import VrrpParams
from netmon.model import (
    InterfaceReading,
    MemberObservation,
    MemberSpec,
    MemberView,
    Mode,
    PairSpec,
    PairState,
    PairStatus,
    Role,
)

T0 = 1_700_000_000.0
A, S, F, X, U = Role.ACTIVE, Role.STANDBY, Role.FAULT, Role.UNREACHABLE, Role.UNKNOWN


def spec(mode: Mode = Mode.ACTIVE_STANDBY, members: int = 2, **kw: object) -> PairSpec:
    names = ["r1", "r2", "r3"][:members]
    base = PairSpec(
        name="p",
        kind="vrrp",
        members=tuple(MemberSpec(n, n, VrrpParams(2, 51)) for n in names),
        mode=mode,
        preferred="r1",
        split_brain_debounce=2.0,
        flap_threshold=3,
        flap_window=600.0,
        stale_after=30.0,
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def obs(
    *roles: Role, at: float = T0, ready: tuple[bool, ...] = (), links: dict[int, bool] | None = None
) -> list[MemberObservation]:
    out = []
    for i, role in enumerate(roles):
        name = f"r{i + 1}"
        is_ready = ready[i] if i < len(ready) else True
        view = MemberView(
            role, reason=None if role in (A, S) and is_ready else "why", ready=is_ready
        )
        link_list: tuple[InterfaceReading, ...] = ()
        if links and i + 1 in links:
            link_list = (InterfaceReading(2, "eth0", links[i + 1]),)
        out.append(MemberObservation(name, name, view, at=at, links=link_list))
    return out


TRUTH = [
    # (roles, expected state) for an active_standby pair, no history
    ((A, S), PairState.HEALTHY),
    ((S, A), PairState.HEALTHY),
    ((A, X), PairState.DEGRADED),  # standby unreachable
    ((A, F), PairState.DEGRADED),  # standby in fault
    ((A, U), PairState.DEGRADED),  # standby's row missing
    ((S, S), PairState.DOWN),
    ((F, S), PairState.DOWN),
    # One member blind, the other not active and hearing no active: netmon cannot tell whether
    # r1 serves. Redundancy is surely at risk; `down` would page on netmon's own blindness.
    ((X, S), PairState.DEGRADED),
    ((U, S), PairState.DEGRADED),
    ((X, F), PairState.DEGRADED),
    ((F, F), PairState.DOWN),
    ((X, X), PairState.UNKNOWN),
    ((U, U), PairState.UNKNOWN),  # every answer unreadable: the monitor cannot tell
    ((X, U), PairState.UNKNOWN),
]


@pytest.mark.parametrize(("roles", "expected"), TRUTH)
def test_active_standby_truth_table(roles: tuple[Role, ...], expected: PairState) -> None:
    status = evaluate(spec(), obs(*roles), None, T0)
    assert status.state is expected, status.reasons


def test_three_members_one_active_two_ready_standbys() -> None:
    assert evaluate(spec(members=3), obs(A, S, S), None, T0).state is PairState.HEALTHY
    assert evaluate(spec(members=3), obs(A, S, X), None, T0).state is PairState.DEGRADED


def test_standby_not_ready_is_degraded_with_reason() -> None:
    status = evaluate(spec(), obs(A, S, ready=(True, False)), None, T0)
    assert status.state is PairState.DEGRADED
    assert any("r2: standby not ready" in r for r in status.reasons)


def test_active_that_reports_no_standby_is_degraded() -> None:
    status = evaluate(spec(), obs(A, S, ready=(False, True)), None, T0)
    assert status.state is PairState.DEGRADED


def test_link_down_is_degraded_on_either_member() -> None:
    assert evaluate(spec(), obs(A, S, links={1: False}), None, T0).state is PairState.DEGRADED
    assert evaluate(spec(), obs(A, S, links={2: False}), None, T0).state is PairState.DEGRADED
    assert (
        evaluate(spec(), obs(A, S, links={1: True, 2: True}), None, T0).state is PairState.HEALTHY
    )


@pytest.mark.parametrize(
    ("roles", "expected"),
    [((A, A), PairState.HEALTHY), ((A, S), PairState.DEGRADED), ((A, X), PairState.DEGRADED),
     ((S, F), PairState.DOWN), ((X, X), PairState.UNKNOWN), ((U, U), PairState.UNKNOWN),
     ((X, S), PairState.DEGRADED)],
)  # fmt: skip
def test_active_active_truth_table(roles: tuple[Role, ...], expected: PairState) -> None:
    assert evaluate(spec(Mode.ACTIVE_ACTIVE), obs(*roles), None, T0).state is expected


def test_dual_master_for_20ms_during_switchover_is_not_split_brain() -> None:
    s = spec()
    healthy = evaluate(s, obs(A, S), None, T0)
    both = evaluate(s, obs(A, A, at=T0 + 10), healthy, T0 + 10)
    assert both.state is PairState.HEALTHY  # held within the debounce
    assert needs_recheck(both, s) == pytest.approx(2.0)
    settled = evaluate(s, obs(S, A, at=T0 + 10.02), both, T0 + 10.02)
    assert settled.state is PairState.HEALTHY
    assert settled.dual_active_since is None
    assert settled.failovers_total == 1


def test_dual_master_past_debounce_is_split_brain() -> None:
    s = spec()
    healthy = evaluate(s, obs(A, S), None, T0)
    first = evaluate(s, obs(A, A, at=T0 + 10), healthy, T0 + 10)
    still = evaluate(s, obs(A, A, at=T0 + 11.9), first, T0 + 11.9)
    assert still.state is PairState.HEALTHY
    after = evaluate(s, obs(A, A, at=T0 + 12), still, T0 + 12)
    assert after.state is PairState.SPLIT_BRAIN
    assert needs_recheck(after, s) is None
    assert set(after.active_members) == {"r1", "r2"}


def test_zero_debounce_flags_at_once() -> None:
    assert (
        evaluate(spec(split_brain_debounce=0.0), obs(A, A), None, T0).state is PairState.SPLIT_BRAIN
    )


def test_failover_counted_with_timestamp_and_preferred_flag() -> None:
    s = spec()
    st1 = evaluate(s, obs(A, S), None, T0)
    assert (st1.failovers_total, st1.on_preferred) == (0, True)
    st2 = evaluate(s, obs(S, A, at=T0 + 5), st1, T0 + 5)
    assert st2.failovers_total == 1
    assert st2.last_failover_at == T0 + 5
    assert st2.on_preferred is False
    assert st2.state is PairState.HEALTHY
    assert any("not on preferred r1" in r for r in st2.reasons)


def test_failover_through_down_still_counts() -> None:
    s = spec()
    st1 = evaluate(s, obs(A, S), None, T0)
    st2 = evaluate(s, obs(F, S, at=T0 + 1), st1, T0 + 1)
    assert st2.state is PairState.DOWN
    st3 = evaluate(s, obs(F, A, at=T0 + 2), st2, T0 + 2)
    assert st3.failovers_total == 1
    assert st3.last_active == "r2"


def test_same_member_back_after_down_is_no_failover() -> None:
    s = spec()
    st = evaluate(s, obs(A, S), None, T0)
    st = evaluate(s, obs(X, X, at=T0 + 1), st, T0 + 1)
    st = evaluate(s, obs(A, S, at=T0 + 2), st, T0 + 2)
    assert st.failovers_total == 0


def _flip(s: PairSpec, status: PairStatus | None, times: list[float]) -> PairStatus:
    current = status
    for i, t in enumerate(times):
        roles = (A, S) if i % 2 == 0 else (S, A)
        current = evaluate(s, obs(*roles, at=t), current, t)
    assert current is not None
    return current


def test_flapping_when_threshold_failovers_inside_window() -> None:
    s = spec(flap_threshold=3, flap_window=60.0)
    status = _flip(s, None, [T0, T0 + 10, T0 + 20, T0 + 30])
    assert status.failovers_total == 3
    assert status.flapping
    assert status.state is PairState.DEGRADED
    assert any(r.startswith("flapping") for r in status.reasons)


def test_flapping_clears_when_failovers_age_out() -> None:
    s = spec(flap_threshold=3, flap_window=60.0)
    status = _flip(s, None, [T0, T0 + 10, T0 + 20, T0 + 30])
    later = evaluate(s, obs(A, S, at=T0 + 100), status, T0 + 100)
    assert not later.flapping
    assert later.state is PairState.HEALTHY


def test_spread_out_failovers_are_not_flapping() -> None:
    s = spec(flap_threshold=3, flap_window=60.0)
    status = _flip(s, None, [T0, T0 + 100, T0 + 200, T0 + 300])
    assert status.failovers_total == 3
    assert not status.flapping


def test_stale_answers_turn_the_pair_unknown() -> None:
    s = spec(stale_after=30.0)
    status = evaluate(s, obs(A, S), None, T0)
    assert evaluate(s, status.members, status, T0 + 29).state is PairState.HEALTHY
    later = evaluate(s, status.members, status, T0 + 31)
    assert later.state is PairState.UNKNOWN
    assert not any(m.fresh for m in later.members)


def test_since_tracks_the_start_of_the_current_state() -> None:
    s = spec()
    st1 = evaluate(s, obs(A, S), None, T0)
    st2 = evaluate(s, obs(A, S, at=T0 + 5), st1, T0 + 5)
    st3 = evaluate(s, obs(A, X, at=T0 + 9), st2, T0 + 9)
    assert st2.since == T0
    assert st3.since == T0 + 9


def test_transition_only_on_state_change() -> None:
    s = spec()
    st1 = evaluate(s, obs(A, S), None, T0)
    st2 = evaluate(s, obs(A, S, at=T0 + 1), st1, T0 + 1)
    st3 = evaluate(s, obs(A, X, at=T0 + 2), st2, T0 + 2)
    first = transition(None, st1)
    assert first is not None and first.old is None and first.new is PairState.HEALTHY
    assert transition(st1, st2) is None
    change = transition(st2, st3)
    assert change is not None
    assert (change.old, change.new) == (PairState.HEALTHY, PairState.DEGRADED)


def _hears(observations: list[MemberObservation], i: int, who: str) -> list[MemberObservation]:
    """Member i reports `who` as the active one it hears (an HSRP standby, a VRRP backup)."""
    out = list(observations)
    out[i] = replace(out[i], view=replace(out[i].view, peer_active=who))
    return out


def test_standby_that_hears_the_unreachable_active_is_degraded_not_down() -> None:
    """HSRP standby names a live active router that only netmon cannot reach: serving."""
    status = evaluate(spec(), _hears(obs(X, S), 1, "10.99.0.11"), None, T0)
    assert status.state is PairState.DEGRADED
    assert any(
        "active unreachable from netmon (r1); r2 hears 10.99.0.11 as active" in r
        for r in status.reasons
    ), status.reasons
    # The same with r1 stale (no fresh answer) or its row unreadable.
    stale_r1 = _hears(obs(A, S), 1, "10.99.0.11")
    stale_r1[0] = replace(stale_r1[0], at=T0 - 100)
    assert evaluate(spec(), stale_r1, None, T0).state is PairState.DEGRADED
    assert evaluate(spec(), _hears(obs(U, S), 1, "x"), None, T0).state is PairState.DEGRADED


def test_what_a_member_hears_never_overrules_what_every_member_says_of_itself() -> None:
    """Every member answered and says it is not active: down, even if one still names a master
    (the source of the last advertisement it received: the dead master, for a while)."""
    status = evaluate(spec(), _hears(obs(S, S), 1, "10.99.0.99"), None, T0)
    assert status.state is PairState.DOWN
    assert "r2 hears 10.99.0.99 as active: a stale advertisement" in status.reasons[0]
    # r1 says initialize; r2, a backup, still names r1 as its master: r1 has the last word.
    assert evaluate(spec(), _hears(obs(F, S), 1, "10.99.0.11"), None, T0).state is PairState.DOWN


def test_down_needs_every_member_read_and_nobody_heard() -> None:
    status = evaluate(spec(), obs(F, S), None, T0)
    assert status.state is PairState.DOWN
    assert status.reasons[0] == "no member active"
    three = evaluate(spec(members=3), obs(S, F, X), None, T0)
    assert three.state is PairState.DEGRADED
    assert any("cannot tell whether r3 serves" in r for r in three.reasons), three.reasons


def _missing(observations: list[MemberObservation], i: int) -> list[MemberObservation]:
    out = list(observations)
    view = MemberView(U, reason="vrrpOperState: noSuchInstance", raw="noSuchInstance", missing=True)
    out[i] = replace(out[i], view=view)
    return out


def test_row_that_vanished_stays_fault() -> None:
    """A stopped VRRP process takes its row with it: after being read, its absence is a fault."""
    s = spec()
    st = evaluate(s, obs(A, S), None, T0)
    st = evaluate(s, _missing(obs(A, S, at=T0 + 10), 1), st, T0 + 10)
    assert st.members[1].view.role is F
    assert "its row vanished (was standby" in (st.members[1].view.reason or "")
    assert st.state is PairState.DEGRADED
    # Still gone next cycle: still fault, the same words.
    st2 = evaluate(s, _missing(obs(A, S, at=T0 + 20), 1), st, T0 + 20)
    assert st2.members[1].view.role is F
    assert st2.members[1].view.reason == st.members[1].view.reason
    # Both processes stopped: every member read (fault), none active: down, on evidence.
    both = evaluate(s, _missing(_missing(obs(A, S, at=T0 + 30), 0), 1), st2, T0 + 30)
    assert both.state is PairState.DOWN, both.reasons
    # Back: read again.
    back = evaluate(s, obs(A, S, at=T0 + 40), both, T0 + 40)
    assert back.state is PairState.HEALTHY


def test_row_missing_from_the_start_is_unknown_not_fault() -> None:
    st = evaluate(spec(), _missing(_missing(obs(A, S), 0), 1), None, T0)
    assert [m.view.role for m in st.members] == [U, U]
    assert st.state is PairState.UNKNOWN


def test_rejudging_old_readings_later_is_not_split_brain() -> None:
    """A probe round that finishes after the debounce re-judges the *same* readings with a newer
    clock: that proves no dual-active window longer than the debounce."""
    s = spec()
    healthy = evaluate(s, obs(A, S), None, T0)
    both = evaluate(s, obs(A, A, at=T0 + 10), healthy, T0 + 10)
    assert both.state is PairState.HEALTHY
    rejudged = evaluate(s, both.members, both, T0 + 13)
    assert rejudged.state is PairState.HEALTHY, rejudged.reasons
    assert needs_recheck(rejudged, s) is not None
    # A fresh re-poll still dual-active past the debounce is split-brain.
    after = evaluate(s, obs(A, A, at=T0 + 12.5), rejudged, T0 + 12.5)
    assert after.state is PairState.SPLIT_BRAIN


def test_dual_active_in_readings_far_apart_is_not_split_brain() -> None:
    """r1 read active at T0, r2 read active 5 s later (a slow SSH member): not at the same time."""
    s = spec()
    healthy = evaluate(s, obs(A, S), None, T0 - 10)
    apart = [*obs(A, at=T0), *obs(S, A, at=T0 + 5)[1:]]
    status = evaluate(s, apart, healthy, T0 + 5)
    assert status.state is PairState.HEALTHY
    assert any("in readings 5.0s apart" in r for r in status.reasons), status.reasons
    later = evaluate(s, [*obs(A, at=T0 + 8), *obs(S, A, at=T0 + 14)[1:]], status, T0 + 14)
    assert later.state is PairState.HEALTHY
    assert needs_recheck(later, s) is not None


def test_row_vanishing_after_an_unknown_cycle_is_still_fault() -> None:
    """keepalived answers unknown(4) while it stops, then its row is gone: the last role read
    (standby) is carried across the unknown cycle and across an unreachable one."""
    s = spec()
    st = evaluate(s, obs(A, S), None, T0)
    st = evaluate(s, obs(A, U, at=T0 + 10), st, T0 + 10)
    assert st.members[1].last_read is S
    st = evaluate(s, obs(A, X, at=T0 + 20), st, T0 + 20)
    st = evaluate(s, _missing(obs(A, S, at=T0 + 30), 1), st, T0 + 30)
    assert st.members[1].view.role is F, st.members[1].view
    assert "was standby" in (st.members[1].view.reason or "")


def test_an_unreadable_value_after_a_read_stays_unknown() -> None:
    """Only an *absent* row vanishes: a value outside the table (not missing) stays unknown."""
    s = spec()
    st = evaluate(s, obs(A, S), None, T0)
    st = evaluate(s, obs(A, U, at=T0 + 10), st, T0 + 10)
    assert st.members[1].view.role is U
    assert not st.members[1].vanished


def test_rows_absent_on_one_shared_agent_are_blindness_not_a_fault() -> None:
    """Routing engines (or firewall units) reported by one agent: its table missing for a cycle
    blinds netmon to both at once. That is `unknown`, never `down`."""
    s = replace(spec(), members=tuple(replace(m, device="chassis") for m in spec().members))
    seen = [replace(o, device="chassis") for o in obs(A, S)]
    st = evaluate(s, seen, None, T0)
    gone = [replace(o, device="chassis") for o in _missing(_missing(obs(A, S, at=T0 + 10), 0), 1)]
    st = evaluate(s, gone, st, T0 + 10)
    assert [m.view.role for m in st.members] == [U, U]
    assert st.state is PairState.UNKNOWN, st.reasons


def test_a_fault_that_only_says_absent_is_no_evidence_of_down() -> None:
    """Two units whose indexes are both wrong (a chassis renumbered after a reload): the kind
    says fault ("peer absent"), but absence is not evidence that nothing serves."""
    absent = MemberView(F, reason="peer absent: no entity 22", raw="noSuchInstance", missing=True)
    both = [replace(o, view=absent) for o in obs(F, F)]
    assert evaluate(spec(), both, None, T0).state is PairState.UNKNOWN
    one = [obs(S)[0], replace(obs(F, F)[1], view=absent)]
    status = evaluate(spec(), one, None, T0)
    assert status.state is PairState.DEGRADED
    assert any("cannot tell whether r2 serves" in r for r in status.reasons), status.reasons


def test_a_stale_members_old_word_vouches_for_nobody() -> None:
    s = spec()
    seen = _hears(obs(S, S), 1, "10.99.0.11")
    seen[1] = replace(seen[1], at=T0 - 100)  # r2's answer is stale: what it heard is old news
    status = evaluate(s, seen, None, T0)
    assert status.state is PairState.DEGRADED
    assert not any("hears" in r for r in status.reasons), status.reasons
    assert any("cannot tell whether r2 serves" in r for r in status.reasons), status.reasons


def test_debounce_is_timed_from_the_readings_not_the_verdict() -> None:
    """Readings at T0+10, judged at T0+10.5; the re-poll reads at T0+12.1: held 2.1 s from the
    first *reading*, so split-brain (timed from the verdict it would be 1.6 s)."""
    s = spec()
    healthy = evaluate(s, obs(A, S), None, T0)
    first = evaluate(s, obs(A, A, at=T0 + 10), healthy, T0 + 10.5)
    assert first.dual_active_since == T0 + 10
    after = evaluate(s, obs(A, A, at=T0 + 12.1), first, T0 + 12.2)
    assert after.state is PairState.SPLIT_BRAIN, after.reasons


def test_zero_debounce_flags_readings_of_one_round_at_once() -> None:
    """Each device's reading has its own clock call, microseconds apart: still one round."""
    s = spec(split_brain_debounce=0.0)
    seen = [*obs(A, at=T0), *obs(S, A, at=T0 + 0.000_37)[1:]]
    assert evaluate(s, seen, None, T0 + 0.001).state is PairState.SPLIT_BRAIN


def test_a_reload_that_changes_a_members_row_forgets_the_old_read() -> None:
    """A reloaded inventory with a typo in a VRID: the new row was never there, so its absence
    is `unknown` (a ticket), not the old row vanishing (`fault`, and two of them `down`)."""
    from netmon.model import Inventory
    from netmon.store import StateStore

    before = spec()
    store = StateStore(Inventory({}, (before,)))
    store.record_status(evaluate(before, obs(A, S), None, T0))
    typo = replace(
        before, members=tuple(replace(m, params=VrrpParams(2, 15)) for m in before.members)
    )
    store.set_inventory(Inventory({}, (typo,)))
    previous = store.previous("p")
    assert previous is not None
    gone = _missing(_missing(obs(A, S, at=T0 + 10), 0), 1)
    after = evaluate(typo, gone, previous, T0 + 10)
    assert [m.view.role for m in after.members] == [U, U]
    assert after.state is PairState.UNKNOWN, after.reasons
    # A reload that changes nothing keeps what the members were read as.
    store.record_status(evaluate(typo, obs(A, S, at=T0 + 20), after, T0 + 20))
    store.set_inventory(Inventory({}, (typo,)))
    kept = store.previous("p")
    assert kept is not None and [m.last_read for m in kept.members] == [A, S]
