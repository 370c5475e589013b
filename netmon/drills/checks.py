"""Pre-checks of a drill. Pure: a drill runs only on a pair that can afford to lose its active."""

from __future__ import annotations

import time
from dataclasses import dataclass

from netmon.model import ConfigStatus, PairSpec, PairState, PairStatus, Role


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def in_freeze(windows: tuple[tuple[int, int], ...], now: float) -> tuple[int, int] | None:
    minute = int(now // 60) % (24 * 60)
    for start, end in windows:
        inside = start <= minute < end if start <= end else (minute >= start or minute < end)
        if inside:
            return start, end
    return None


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def prechecks(
    pair: PairSpec,
    status: PairStatus | None,
    config: ConfigStatus | None,
    *,
    other_drill: str | None,
    last_failover_at: float | None,
    now: float | None = None,
) -> list[Check]:
    """Every check, passed or not, with what it saw."""
    now = time.time() if now is None else now
    checks: list[Check] = []
    spec = pair.drill
    checks.append(Check("drill configured", spec is not None,
                        f"actuator {spec.actuator}" if spec else "the pair has no 'drill:' block in the inventory"))  # fmt: skip
    if status is None:
        checks.append(Check("pair healthy", False, "no answer from the pair"))
        return checks
    checks.append(Check("pair healthy", status.state is PairState.HEALTHY,
                        status.state.value + (f": {'; '.join(status.reasons)}" if status.reasons else "")))  # fmt: skip
    active = list(status.active_members)
    checks.append(Check("exactly one active member", len(active) == 1, ", ".join(active) or "none"))
    standbys = [m for m in status.members if m.member not in active]
    ready = [m.member for m in standbys if m.fresh and m.view.role is Role.STANDBY and m.view.ready]
    bad_links = [
        f"{m.member} {link.name}" for m in standbys for link in m.links if link.oper_up is not True
    ]
    checks.append(
        Check(
            "standby ready",
            bool(standbys) and len(ready) == len(standbys) and not bad_links,
            ", ".join(f"{m.member}={m.view.role.value}" for m in standbys)
            + (f"; links not up: {', '.join(bad_links)}" if bad_links else ""),
        )
    )
    if pair.config is not None:
        if config is None or config.in_sync is None:
            checks.append(
                Check("configs in sync", True, "not known yet (no drift check has finished)")
            )
        else:
            checks.append(
                Check(
                    "configs in sync",
                    config.in_sync,
                    "in sync" if config.in_sync else "members differ: see `netmon diff`",
                )
            )
    moving = _units_that_follow_the_agent(pair)
    checks.append(
        Check(
            "members keep their names across a takeover",
            not moving,
            "yes"
            if not moving
            else f"{', '.join(moving)} named as unit local/peer of one agent: after a takeover "
            "'local' is still the active unit, so netmon cannot time the takeover by name; "
            "name the units by unit_id (or one device each)",
        )
    )
    checks.append(Check("no other drill on this pair", other_drill is None, other_drill or "none"))
    if spec is not None:
        window = in_freeze(spec.freeze, now)
        checks.append(
            Check(
                "outside freeze windows",
                window is None,
                f"inside {_hhmm(window[0])}-{_hhmm(window[1])} UTC" if window else "not frozen",
            )
        )
        since = None if last_failover_at is None else now - last_failover_at
        checks.append(
            Check(
                f"no failover in the last {spec.min_since_failover:.0f}s",
                since is None or since >= spec.min_since_failover,
                "none seen" if since is None else f"last failover {since:.0f}s ago",
            )
        )
    return checks


def _units_that_follow_the_agent(pair: PairSpec) -> list[str]:
    """Members addressed as `unit: local|peer` on a device they share with another member.

    `local` is whichever unit the agent runs on, and the agent moves with the active unit: after
    a switchover the member called `local` is active again. A drill watching for the standby
    *by name* would never see it take over, abort and restore, switching the chassis twice.
    """
    devices = [m.device for m in pair.members]
    return [
        m.name
        for m in pair.members
        if getattr(m.params, "unit", None) in ("local", "peer") and devices.count(m.device) > 1
    ]
