"""Judge a pair as a unit. Pure: (spec, observations, previous status, now) -> status.

No clock is read here; `now` is passed in, so debounce, flapping and staleness are tested with
a fixed clock and no sleeping.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import replace

from netmon.linkhealth import link_problems, probe_problem, with_rates
from netmon.model import (
    IntentStatus,
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


# Roles a member can be read as: what it says about itself. Unreachable and unknown say nothing.
READABLE = (Role.ACTIVE, Role.STANDBY, Role.FAULT)
# Readings of one poll round start microseconds apart (each device's own clock call): readings
# this close are one round, whatever the pair's debounce (0 included).
SAME_ROUND = 1.0


def _readable(obs: MemberObservation) -> bool:
    """The member answered with a role it can be read as."""
    return obs.fresh and obs.view.role in READABLE


def _evidence(obs: MemberObservation) -> bool:
    """The member's answer is evidence of what it does. A `fault` that only says its objects are
    absent ("peer absent", a unit not in the table) is not: a wrong index or a chassis that
    renumbered its units reads the same. A row that vanished after it was read is."""
    return _readable(obs) and (not obs.view.missing or obs.vanished)


def vanished(
    obs: MemberObservation, before: MemberObservation | None, own_agent: bool
) -> MemberObservation:
    """A row that was there and vanished is `fault`, not `unknown`.

    A member whose VRRP process stops loses its row in its agent: on its own that reads as
    "unknown" (the row may never have existed: a wrong ifIndex), but once the same member was
    read active, standby or fault, the row's absence (noSuchInstance, noSuchObject: what the
    agent says, not a reply netmon failed to get) is evidence the process serving it stopped.
    The last role read is carried across cycles (`last_read`), so an "unknown" or unreachable
    cycle in between (keepalived says unknown(4) while it stops) does not lose it.

    Only for a member with its own agent (`own_agent`): where one agent reports every unit
    (routing engines, firewall units), an absent table blinds netmon to all of them at once,
    and that is no evidence about any one unit.
    """
    if obs.vanished:
        # A verdict's own members judged again (a probe round finishing, a stale snapshot): the
        # same readings, so the same judgement. Reset here, the row would lose its evidence and
        # a `down` pair would read `unknown` until the next poll.
        return obs
    prior = before.last_read if before else None
    if (
        own_agent
        and prior is not None
        and obs.fresh
        and obs.view.role is Role.UNKNOWN
        and obs.view.missing
    ):
        assert before is not None
        if before.vanished and before.view.reason:
            reason = before.view.reason  # still gone: keep the words of the first cycle
        else:
            reason = f"its row vanished (was {prior.value}; now {obs.view.reason})"
        view = replace(obs.view, role=Role.FAULT, reason=reason)
        return replace(obs, view=view, last_read=prior, vanished=True)
    if obs.fresh and obs.view.role in READABLE and not obs.view.missing:
        prior = obs.view.role
    if obs.last_read is prior:
        return obs  # the usual case on every poll: nothing to copy
    return replace(obs, last_read=prior)


# A count of received advertisements that stood still for this many master-down intervals makes
# a backup not ready. Two, not one: a reading's time is taken when its poll starts, before the
# SSH session is had, so two readings stamped one interval apart may have run vtysh closer.
SILENT_INTERVALS = 2.0


def silent_master(obs: MemberObservation, before: MemberObservation | None) -> MemberObservation:
    """A VRRP backup whose count of received advertisements stopped growing is not ready.

    A backup stays backup only while its master's advertisements arrive (FRR counts them in
    adverRx). A count that stood still across readings for longer than twice the backup's
    Master_Down_Interval means it heard none for longer than it waits before claiming master:
    it is about to take over, or hears its master no more where it should. Either way it is no
    ready standby, and no evidence that a master is alive.

    How long the count stood still is carried from reading to reading (`adverts_since`), so
    polls closer together than the interval judge it too, and a quick re-read does not undo
    the judgement. The run starts again at a new count (a count that went back is a restarted
    vrrpd: counters start again), and at any reading that is not a fresh standby with a count
    (unreachable, stale, active): no judgement on a gap. The same reading judged again keeps
    what was judged of it."""
    view = obs.view
    if not obs.fresh or view.role is not Role.STANDBY or view.adverts_heard is None:
        return obs if obs.adverts_since is None else replace(obs, adverts_since=None)
    if before is not None and obs.at <= before.at:
        return obs
    same_run = (
        before is not None
        and before.fresh
        and before.view.role is Role.STANDBY
        and before.view.adverts_heard == view.adverts_heard
        and before.adverts_since is not None
    )
    since = before.adverts_since if same_run and before is not None else obs.at
    assert since is not None
    obs = replace(obs, adverts_since=since)
    still = obs.at - since
    if view.adverts_within is None or still <= SILENT_INTERVALS * view.adverts_within:
        return obs
    reason = (
        f"hears no advertisement: adverRx stayed {view.adverts_heard} for {still:.0f}s"
        f" (master down interval {view.adverts_within:g}s)"
    )
    return replace(obs, view=replace(view, ready=False, reason=reason, peer_active=None))


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


def _no_active(
    obs: Sequence[MemberObservation], readable: Sequence[MemberObservation], reasons: list[str]
) -> PairState:
    """No member read as active: `down` only on evidence, never on netmon's own blindness.

    Evidence that no member is active means every member answered with what it does itself
    (standby, fault, a row that vanished after it was read) and none says active. One member
    netmon cannot read (unreachable, stale, unknown, or a unit the agent does not report) may be
    the one serving: the pair is `degraded`, and a member that hears a live active peer (an HSRP
    standby naming the active router, a VRRP backup naming its master) says so in the reason.

    What a member hears about its peer never overrules what every member says of itself: a
    backup's master address is the source of the *last* advertisement it received, and it goes
    on naming a master that has died for a while (keepalived never clears it).
    """
    blind = [o for o in obs if not _evidence(o)]
    heard = [o for o in readable if o.view.peer_active]
    hears = "; ".join(f"{o.member} hears {o.view.peer_active} as active" for o in heard)
    names = ", ".join(o.member for o in blind)
    if blind and heard:
        unreachable = all(not o.fresh or o.view.role is Role.UNREACHABLE for o in blind)
        what = "unreachable from netmon" if unreachable else "not read by netmon"
        reasons.append(f"active {what} ({names}); {hears}")
        return PairState.DEGRADED
    if blind:
        reasons.append(f"no member seen active; netmon cannot tell whether {names} serves")
        return PairState.DEGRADED
    if heard:
        reasons.append(
            f"no member active, every member says so itself ({hears}: a stale advertisement, "
            "or a router outside this pair)"
        )
    else:
        reasons.append("no member active")
    return PairState.DOWN


def evaluate(
    spec: PairSpec,
    observations: Sequence[MemberObservation],
    previous: PairStatus | None,
    now: float,
    vip_probes: tuple[ProbeResult, ...] = (),
) -> PairStatus:
    before = {o.member: o for o in previous.members} if previous else {}
    devices = [m.device for m in spec.members]
    obs = tuple(
        silent_master(
            vanished(
                stale(
                    with_rates(o, before.get(o.member), spec.thresholds) if o.fresh else o,
                    spec,
                    now,
                ),
                before.get(o.member),
                own_agent=devices.count(o.device) == 1,
            ),
            before.get(o.member),
        )
        for o in observations
    )
    active_obs = [o for o in obs if o.fresh and o.view.role is Role.ACTIVE]
    active = tuple(o.member for o in active_obs)
    readable = [o for o in obs if _readable(o)]
    reasons: list[str] = []

    def problems(active_expected: bool) -> list[str]:
        return [
            p
            for o in obs
            for p in _member_problems(
                o, active_expected=active_expected, thresholds=spec.thresholds
            )
        ]

    # -- split-brain debounce: a dual-master window shorter than the debounce is a switchover.
    # It is timed by when the members were *read*, not by the clock of this evaluation: a
    # verdict re-judged later from the same readings (a probe round finishing) proves nothing
    # new, and two readings far apart do not show two members active at the same time.
    dual_since: float | None = previous.dual_active_since if previous else None
    simultaneous = False
    first = min((o.at for o in active_obs), default=now)  # the readings of the active members
    last = max((o.at for o in active_obs), default=now)
    if spec.mode is Mode.ACTIVE_STANDBY and len(active_obs) >= 2:
        simultaneous = last - first <= max(spec.split_brain_debounce, SAME_ROUND)
        if dual_since is None:
            dual_since = last
    else:
        dual_since = None

    # Nothing to go on: no member gave evidence of its role (rows absent, values unreadable, no
    # answer), and none vouches for an active one.
    if not any(_evidence(o) for o in obs) and not any(o.view.peer_active for o in readable):
        state = PairState.UNKNOWN
        if not any(o.fresh and o.view.role is not Role.UNREACHABLE for o in obs):
            reasons.append("no fresh answer from any member")
        else:
            reasons.append("no member's role could be read")
        reasons.extend(problems(False))
    elif spec.mode is Mode.ACTIVE_ACTIVE:
        found = problems(True)
        if not active:
            state = _no_active(obs, readable, reasons)
        elif found:
            state = PairState.DEGRADED
        else:
            state = PairState.HEALTHY
        reasons.extend(found)
    elif len(active) >= 2:
        assert dual_since is not None
        held = max(first - dual_since, 0.0)
        who = " and ".join(active)
        if simultaneous and held >= spec.split_brain_debounce:
            state = PairState.SPLIT_BRAIN
            reasons.append(f"{who} claim active for {held:.1f}s")
        else:
            # Within the debounce: hold the previous verdict (a normal switchover looks like
            # this for tens of ms); the poller re-checks once the debounce has passed.
            state = previous.state if previous else PairState.UNKNOWN
            if simultaneous:
                reasons.append(f"{who} both claim active (within debounce)")
            else:
                reasons.append(f"{who} both claim active, in readings {last - first:.1f}s apart")
    elif not active:
        state = _no_active(obs, readable, reasons)
        reasons.extend(problems(False))
    else:
        found = problems(False)
        state = PairState.DEGRADED if found else PairState.HEALTHY
        reasons.extend(found)

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
        intent=intent(spec, obs),
    )


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address as compared: the prefix length ("/24") ignored; None when not an address."""
    try:
        # "fe80::1%eth0": the zone is the inventory's way to name a link, agents report no zone
        return ipaddress.ip_address(text.split("/", 1)[0].split("%", 1)[0].strip())
    except ValueError:
        return None


def intent(spec: PairSpec, observations: Sequence[MemberObservation]) -> IntentStatus:
    """Whether the members' live state matches the inventory's intent: the group it names is
    on each device, its virtual IP is among each device's virtual addresses for the group, and
    its preferred member has the strictly highest configured priority.

    Only what was read is judged: a member unreachable, stale, or without a value gives no
    verdict for that check (`in_sync` None when no check found drift and one could not be
    made). Kinds that read nothing of this leave `group` unset: no verdict at all. Never a
    pair state: drift from the inventory is a ticket."""
    drift: list[str] = []
    unknown: list[str] = []
    checked = 0
    priorities: dict[str, int | None] = {}
    intent_kind = any(o.view.group is not None for o in observations)
    if not intent_kind:
        return IntentStatus(None)
    wanted = _ip(spec.virtual_ip) if spec.virtual_ip is not None else None
    for o in observations:
        view = o.view
        priorities[o.member] = None
        if not o.fresh or view.role is Role.UNREACHABLE or view.group is None:
            unknown.append(o.member)
            continue
        served = view.tables_served is not False  # an agent with no row of the MIB at all
        if view.missing and not o.vanished and view.raw != "noSuchObject" and served:
            # noSuchInstance: the agent serves the table, without this row. noSuchObject says
            # the agent (or this user's view) has no such table: not known, not drift.
            drift.append(
                f"{o.member}: {view.group}, which the inventory names, is not on the device"
            )
            continue
        if view.missing or view.role is Role.UNKNOWN:
            unknown.append(o.member)
            continue
        checked += 1  # the group is there
        priorities[o.member] = view.priority
        if spec.virtual_ip is None:
            continue
        if wanted is None:
            unknown.append(f"the inventory's virtual_ip {spec.virtual_ip!r} is not an address")
            continue
        if view.virtual_ips is None:
            unknown.append(f"the virtual addresses of {o.member}")
            continue
        have = {_ip(v) for v in view.virtual_ips}
        checked += 1
        if wanted not in have:
            shown = ", ".join(view.virtual_ips) or "none"
            drift.append(
                f"the inventory gives virtual IP {spec.virtual_ip} but {o.member} has {shown}"
            )
    preferred = spec.preferred
    if preferred is not None and preferred in priorities:
        mine = priorities[preferred]
        others = {m: p for m, p in priorities.items() if m != preferred}
        higher = [m for m, p in others.items() if mine is not None and p is not None and p >= mine]
        if higher:
            values = ", ".join(f"{m} {p}" for m, p in priorities.items() if p is not None)
            if len(higher) > 1:
                what = f"{' and '.join(higher)} have priorities as high or higher"
            elif others[higher[0]] == mine:
                what = f"{higher[0]} has the same priority"
            else:
                what = f"{higher[0]} has the higher priority"
            drift.append(f"the inventory prefers {preferred} but {what} ({values})")
        elif mine is None or any(p is None for p in others.values()):
            missing = [m for m, p in priorities.items() if p is None]
            unknown.append(f"the priority of {' and '.join(missing)}")
        else:
            checked += 1
    if drift:
        return IntentStatus(False, tuple(drift))
    if unknown or not checked:
        return IntentStatus(None, tuple(f"not read: {u}" for u in unknown))
    return IntentStatus(True)


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
    if status.state is PairState.SPLIT_BRAIN or len(status.active_members) < 2:
        return None
    if status.dual_active_since is None:
        return None
    left = spec.split_brain_debounce - (status.evaluated_at - status.dual_active_since)
    return max(left, 0.0)
