"""Judge a pair as a unit. Pure: (spec, observations, previous status, now) -> status.

No clock is read here; `now` is passed in, so debounce, flapping and staleness are tested with
a fixed clock and no sleeping.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from netmon.linkhealth import link_problems, probe_problem, with_rates
from netmon.model import (
    LinkThresholds,
    MemberObservation,
    Mode,
    PairSpec,
    PairState,
    PairStatus,
    ProbeResult,
    Role,
    Transition,
)

DEFAULTS = LinkThresholds()


def stale(observation: MemberObservation, spec: PairSpec, now: float) -> MemberObservation:
    """An observation older than the pair's `stale_after` no longer counts as an answer."""
    if now - observation.at > spec.stale_after:
        return replace(observation, fresh=False)
    return observation


def _answered(obs: MemberObservation) -> bool:
    return obs.fresh and obs.view.role is not Role.UNREACHABLE


def _member_problems(
    obs: MemberObservation, *, active_expected: bool, thresholds: LinkThresholds = DEFAULTS
) -> list[str]:
    """Why this member puts redundancy at risk (empty when it is fine)."""
    name = obs.member
    problems: list[str] = []
    role = obs.view.role
    why = f" ({obs.view.reason})" if obs.view.reason else ""
    if not obs.fresh:
        problems.append(f"{name}: no fresh answer")
    elif role is Role.UNREACHABLE:
        problems.append(f"{name}: unreachable{why}")
    elif role is Role.FAULT:
        problems.append(f"{name}: in fault{why}")
    elif role is Role.UNKNOWN:
        problems.append(f"{name}: role unknown{why}")
    elif role is Role.STANDBY and active_expected:
        problems.append(f"{name}: not active (standby){why}")
    elif not obs.view.ready:
        label = "standby not ready" if role is Role.STANDBY else "reports"
        problems.append(f"{name}: {label}{why}")
    if obs.fresh:
        for link in obs.links:
            if link.oper_up is False:
                problems.append(f"{name}: link {link.name} down")
            elif link.oper_up is None:
                problems.append(f"{name}: link {link.name} status unknown")
            else:
                problems.extend(f"{name}: {p}" for p in link_problems(link, thresholds))
        lossy = probe_problem(obs.probes, thresholds)
        if lossy is not None:
            problems.append(f"{name}: {lossy}")
    return problems


def evaluate(
    spec: PairSpec,
    observations: Sequence[MemberObservation],
    previous: PairStatus | None,
    now: float,
    vip_probes: tuple[ProbeResult, ...] = (),
) -> PairStatus:
    before = {o.member: o for o in previous.members} if previous else {}
    obs = tuple(
        stale(with_rates(o, before.get(o.member), spec.thresholds) if o.fresh else o, spec, now)
        for o in observations
    )
    active = tuple(o.member for o in obs if o.fresh and o.view.role is Role.ACTIVE)
    answered = [o for o in obs if _answered(o)]
    reasons: list[str] = []

    # -- split-brain debounce: a dual-master window shorter than the debounce is a switchover.
    dual_since: float | None = None
    if spec.mode is Mode.ACTIVE_STANDBY and len(active) >= 2:
        dual_since = previous.dual_active_since if previous and previous.dual_active_since else now

    if not answered:
        state = PairState.UNKNOWN
        reasons.append("no fresh answer from any member")
    elif spec.mode is Mode.ACTIVE_ACTIVE:
        problems = [
            p
            for o in obs
            for p in _member_problems(o, active_expected=True, thresholds=spec.thresholds)
        ]
        if not active:
            state = PairState.DOWN
            reasons.append("no member active")
        elif problems:
            state = PairState.DEGRADED
        else:
            state = PairState.HEALTHY
        reasons.extend(problems)
    elif len(active) >= 2:
        assert dual_since is not None
        held = now - dual_since
        if held >= spec.split_brain_debounce:
            state = PairState.SPLIT_BRAIN
            reasons.append(f"{' and '.join(active)} claim active for {held:.1f}s")
        else:
            # Within the debounce: hold the previous verdict (a normal switchover looks like
            # this for tens of ms); the poller re-checks once the debounce has passed.
            state = previous.state if previous else PairState.UNKNOWN
            reasons.append(f"{' and '.join(active)} both claim active (within debounce)")
    elif not active:
        state = PairState.DOWN
        reasons.append("no member active")
        reasons.extend(
            p
            for o in obs
            for p in _member_problems(o, active_expected=False, thresholds=spec.thresholds)
        )
    else:
        problems = [
            p
            for o in obs
            for p in _member_problems(o, active_expected=False, thresholds=spec.thresholds)
        ]
        state = PairState.DEGRADED if problems else PairState.HEALTHY
        reasons.extend(problems)

    # -- failovers: the single active member changed since the last one seen.
    last_active = previous.last_active if previous else None
    failovers = previous.failovers_total if previous else 0
    last_failover_at = previous.last_failover_at if previous else None
    recent = list(previous.recent_failovers) if previous else []
    if len(active) == 1 and spec.mode is Mode.ACTIVE_STANDBY:
        if last_active is not None and active[0] != last_active:
            failovers += 1
            last_failover_at = now
            recent.append(now)
        last_active = active[0]
    recent = [t for t in recent if now - t <= spec.flap_window]
    flapping = len(recent) >= spec.flap_threshold
    if flapping:
        reasons.append(f"flapping: {len(recent)} failovers in {spec.flap_window:.0f}s")
        if state is PairState.HEALTHY:
            state = PairState.DEGRADED

    vip_loss = probe_problem(vip_probes, spec.thresholds)
    if vip_loss is not None and state in (PairState.HEALTHY, PairState.DEGRADED):
        reasons.append(f"virtual IP: {vip_loss}")
        state = PairState.DEGRADED

    on_preferred: bool | None = None
    if spec.preferred is not None and len(active) == 1:
        on_preferred = active[0] == spec.preferred
    if on_preferred is False and state in (PairState.HEALTHY, PairState.DEGRADED):
        reasons.append(f"running on {active[0]}, not on preferred {spec.preferred}")

    since = previous.since if previous and previous.state is state else now
    return PairStatus(
        pair=spec.name,
        kind=spec.kind,
        mode=spec.mode,
        state=state,
        reasons=tuple(reasons),
        members=obs,
        active_members=active,
        evaluated_at=now,
        since=since,
        preferred=spec.preferred,
        on_preferred=on_preferred,
        last_active=last_active,
        failovers_total=failovers,
        last_failover_at=last_failover_at,
        recent_failovers=tuple(recent),
        dual_active_since=dual_since,
        flapping=flapping,
        vip_probes=vip_probes,
    )


def transition(previous: PairStatus | None, current: PairStatus) -> Transition | None:
    """The state change between two verdicts, if any."""
    if previous is not None and previous.state is current.state:
        return None
    return Transition(
        pair=current.pair,
        at=current.evaluated_at,
        old=previous.state if previous else None,
        new=current.state,
        reasons=current.reasons,
        active=current.active_members,
    )


def needs_recheck(status: PairStatus, spec: PairSpec) -> float | None:
    """Seconds until a re-poll settles a pending dual-active window, or None."""
    if status.dual_active_since is None or status.state is PairState.SPLIT_BRAIN:
        return None
    left = spec.split_brain_debounce - (status.evaluated_at - status.dual_active_since)
    return max(left, 0.0)
