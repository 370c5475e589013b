"""Run a drill: pre-check, act, watch, restore, verify, report — journalling each step first.

Safety rules (docs/drills.md): nothing is touched unless every pre-check passes; the restore
actions are on disk before the demotion is sent; any abort condition (no takeover in time, a long
virtual-IP outage, split-brain past the debounce, the standby unreachable, Ctrl-C or SIGTERM)
restores at once; an interrupted drill is found and restored by the next drill command.
Recovery rebuilds its restore actions from the inventory: the journal's copy is an audit record,
and anyone who can write the journal file must not be able to choose what netmon runs.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from netmon.collectors.probe import Prober
from netmon.collectors.snmp import SnmpCollector
from netmon.collectors.ssh import SshCollector
from netmon.drills.actuators import Action, actuator
from netmon.drills.checks import Check, prechecks
from netmon.drills.journal import LEASE_TTL, DrillRow, Journal, LeaseHeld, holder_name
from netmon.drills.silence import SilenceError, Silences
from netmon.errors import CollectorError
from netmon.model import Inventory, Oid, PairSpec, PairState, PairStatus, Probe, Role, oid_str
from netmon.poller import Poller
from netmon.statedb import StateError
from netmon.store import StateStore

log = logging.getLogger(__name__)

WATCH_STEP = 0.15  # seconds between fast polls of the members while watching
VIP_STEP = 0.05  # ~20 virtual-IP probes per second

Say = Callable[[str], None]


@dataclass
class Report:
    id: int | None
    pair: str
    result: str  # passed | failed | aborted | refused
    reason: str | None = None
    active_before: str | None = None
    standby: str | None = None
    switchover_seconds: float | None = None
    vip_outage_seconds: float | None = None
    dual_active_seconds: float = 0.0
    restored: bool = False
    failback_seconds: float | None = None
    checks: list[dict[str, Any]] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    restore_actions: list[str] = field(default_factory=list)
    silence_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Abort(Exception):
    pass


def _action_json(action: Action) -> dict[str, Any]:
    return {"device": action.device, "oid": list(action.oid) if action.oid else None,
            "value": action.value, "commands": list(action.commands)}  # fmt: skip


INTEGER32 = range(-(1 << 31), 1 << 31)
JOURNAL_QUOTE_MAX = 300  # characters of journal content quoted in a note (docs/drills.md)


def _journal_text(data: object, limit: int = JOURNAL_QUOTE_MAX) -> str:
    """Journal content quoted in a note: JSON-escaped (no control characters reach a terminal)
    and bounded, since an edited journal may hold anything."""
    text = json.dumps(data)
    return text if len(text) <= limit else text[:limit] + "..."


def _journaled_original(
    journaled: object, device: str, oid: Oid, problem: Callable[[int], str | None]
) -> tuple[int | None, str]:
    """The value the journal holds for the SET of `oid` on `device` (read from the device just
    before the drill acted), or None and why it cannot be used. It is the one thing recovery
    takes from the journal: the inventory cannot say what the value was. `problem` is the
    actuator's word on whether a real drill could have read it."""
    where = f"{oid_str(oid)} on {device}"
    entries = journaled if isinstance(journaled, list) else []
    values = [
        e.get("value")
        for e in entries
        if isinstance(e, dict) and e.get("device") == device and e.get("oid") == list(oid)
    ]
    if not values:
        return None, f"the journal holds no value to restore for {where}"
    if len(values) > 1:
        return None, f"the journal names {where} more than once"
    value = values[0]
    # JSON true is a Python int; a priority is never a boolean.
    if isinstance(value, bool) or not isinstance(value, int) or value not in INTEGER32:
        return None, f"the journal's value to restore for {where} is not an INTEGER"
    # An edited INTEGER can still be one no real drill read before demoting (0, 256, the
    # demote_to value): SET back, it would leave the pair worse or on the standby.
    why = problem(value)
    if why is not None:
        return None, f"the journal's value to restore for {where} is not plausible: {why}"
    return value, ""


class VipWatch:
    """Probes the virtual IP ~20 times a second; the longest gap between answers is the outage."""

    def __init__(self, prober: Prober | None, vip: str | None) -> None:
        self.prober = prober
        self.vip = vip
        self.answers: list[float] = []
        self.started = time.monotonic()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.prober is not None and self.vip:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        assert self.prober is not None
        assert self.vip is not None
        while True:
            result = await self.prober.probe(self.vip, 64, 1, 0.25)
            if result.error is not None:
                return
            if result.received:
                self.answers.append(time.monotonic())
            await asyncio.sleep(VIP_STEP)

    def current_gap(self) -> float:
        last = self.answers[-1] if self.answers else self.started
        return time.monotonic() - last

    def longest_gap(self) -> float | None:
        if self._task is None:
            return None
        points = [self.started, *self.answers, time.monotonic()]
        gaps = [b - a for a, b in itertools.pairwise(points)]
        # A gap shorter than a few probe periods is the probing itself, not an outage.
        longest = max(gaps, default=0.0)
        return longest if longest > 4 * VIP_STEP + 0.25 else 0.0

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


class DrillRunner:
    def __init__(
        self,
        inventory: Inventory,
        journal: Journal,
        snmp: SnmpCollector,
        ssh: SshCollector,
        prober: Prober | None,
        say: Say = lambda _: None,
        last_failover_at: Callable[[str], float | None] = lambda _: None,
        holder: str | None = None,
        owns: Callable[[str], bool] = lambda _: True,
    ) -> None:
        self.inventory = inventory
        # A shard's runner recovers only its shard's pairs: another shard's pair is not in its
        # inventory, and recovery would take that for "removed" and ask for a person.
        self.owns = owns
        self.journal = journal
        self.snmp = snmp
        self.ssh = ssh
        self.prober = prober
        self.say = say
        self.last_failover_at = last_failover_at
        self.store = StateStore(inventory)
        self.poller = Poller(inventory, self.store, snmp, ssh=ssh, prober=None)
        self.holder = holder or holder_name(journal.replica)
        self.drill_id: int | None = None  # the running drill's journal row, for its lease
        self._lease_problem: str | None = None

    # -- reading the pair -----------------------------------------------------------------

    async def status(self, pair: PairSpec) -> PairStatus:
        # No settling of a dual-active window: the drill re-polls every WATCH_STEP and keeps its
        # own dual-active clock; a 2 s settle made a VRRP priority switchover (both masters for
        # a moment) measure 2 s late (5.96 s against 3.97 s by an independent VIP watch in CI).
        status = await self.poller.poll_pair(pair.name, settle=False)
        if status is None:
            raise Abort(f"could not poll {pair.name}")
        return status

    async def checks(self, pair: PairSpec) -> tuple[list[Check], PairStatus | None]:
        status = await self.poller.poll_pair(pair.name, wait_for_probes=False)
        config = await self.poller.check_config(pair.name) if pair.config else None
        blocked = self.journal.blocked(pair.name)
        running = [d for d in self.journal.unfinished() if d.pair == pair.name]
        other = None
        if blocked is not None:
            other = f"drill {blocked.id} could not be restored: check the pair, then `netmon drill resolve {blocked.id}`"
        elif running:
            other = f"drill {running[0].id} is still running (started by {running[0].os_user}@{running[0].host})"
        found = prechecks(
            pair,
            status,
            config,
            other_drill=other,
            last_failover_at=self.last_failover_at(pair.name),
        )
        return found, status

    def actions(
        self, pair: PairSpec, active: str, original: int | None
    ) -> tuple[list[Action], list[Action]]:
        assert pair.drill is not None
        member = next(m for m in pair.members if m.name == active)
        act = actuator(pair.drill.actuator)
        return act.demote(pair.drill.params, pair, member), act.restore(
            pair.drill.params, pair, member, original
        )

    # -- acting ---------------------------------------------------------------------------

    async def execute(self, action: Action) -> None:
        device = self.inventory.devices[action.device]
        if action.oid is not None:
            if action.value is None:
                raise CollectorError(action.device, "no value to set (the original was never read)")
            await self.snmp.set_integer(device, action.oid, action.value)
            return
        reading = await self.ssh.run(device, list(action.commands))
        if not reading.ok:
            raise CollectorError(
                action.device, f"SSH action failed: {reading.reason}: {reading.detail}"
            )

    async def read_original(self, pair: PairSpec, active: str) -> int | None:
        assert pair.drill is not None
        member = next(m for m in pair.members if m.name == active)
        oid = actuator(pair.drill.actuator).original_oid(pair.drill.params, member)
        if oid is None:
            return None
        got = await self.snmp.poll(self.inventory.devices[member.device], [Probe("original", oid)])
        if not got.ok:
            raise Abort(f"cannot read {member.device} before acting: {got.reason}")
        value = got.values.get(oid)
        if isinstance(value, bool) or not isinstance(value, int):
            raise Abort(f"cannot read the value to restore ({oid_str(oid)}) on {member.device}")
        # A value recovery would refuse to SET back after a kill -9 (0, 256, demote_to: the
        # member was already demoted) is no value to restore either: the drill does not act.
        why = actuator(pair.drill.actuator).original_problem(pair.drill.params, value)
        if why is not None:
            raise Abort(
                f"the value to restore ({oid_str(oid)}) on {member.device} is not plausible: {why}"
            )
        return value

    # -- the drill ------------------------------------------------------------------------

    async def run(
        self,
        pair: PairSpec,
        stop: asyncio.Event,
        *,
        failback: bool = True,
        silences: Silences | None = None,
    ) -> Report:
        """The drill, under the pair's lease: one drill per pair across every replica and CLI
        sharing the journal. The lease is renewed while the drill runs; if it cannot be (the
        database away for most of its term) or another process took it, the drill stops and
        restores, since the other process may be restoring the pair too."""
        try:
            self.journal.acquire(pair.name, self.holder)
        except LeaseHeld as exc:
            return Report(None, pair.name, "refused", f"another drill holds the pair: {exc}")
        except StateError as exc:
            return Report(None, pair.name, "refused", f"cannot use the drill journal: {exc}")
        halt = asyncio.Event()
        if stop.is_set():
            halt.set()  # Ctrl-C already: the keeper task may not run before the drill looks
        self._lease_problem = None
        keeper = asyncio.create_task(self._keep_lease(pair.name, stop, halt))
        try:
            return await self._run(pair, halt, failback=failback, silences=silences)
        finally:
            keeper.cancel()
            await asyncio.gather(keeper, return_exceptions=True)
            try:
                self.journal.release(pair.name, self.holder)
            except StateError as exc:
                # It ends by itself within LEASE_TTL: the next drill waits that long at most.
                log.warning(
                    "drill lease of %s not released (it expires by itself): %s", pair.name, exc
                )

    def _fence(self, pair: str, drill_id: int) -> None:
        try:
            held = self.journal.renew(pair, self.holder, drill_id)
        except StateError as exc:
            raise Abort(
                f"the drill lease could not be renewed ({exc}); nothing more sent"
            ) from None
        if not held:
            raise Abort("the drill lease was taken by another process; nothing more sent")

    async def _keep_lease(self, pair: str, stop: asyncio.Event, halt: asyncio.Event) -> None:
        """Renew the lease every LEASE_TTL / 5 for as long as the drill runs, its restore after
        a Ctrl-C included (another process must not restore under it); pass Ctrl-C on; halt the
        drill when the lease is gone, or not renewed within most of its term (a renew that hangs
        counts from when it was due, not from when it gives up)."""
        forward = asyncio.create_task(_forward(stop, halt))
        budget = LEASE_TTL * 0.6
        renewed = time.monotonic()
        try:
            while True:
                await asyncio.sleep(LEASE_TTL / 5)
                left = max(budget - (time.monotonic() - renewed), 0.05)
                try:
                    held = await asyncio.wait_for(
                        asyncio.to_thread(self.journal.renew, pair, self.holder, self.drill_id),
                        left,
                    )
                except (StateError, TimeoutError) as exc:
                    why = str(exc) or "no answer"
                    log.warning("drill lease of %s not renewed: %s", pair, why)
                    if time.monotonic() - renewed >= budget and not halt.is_set():
                        self._lease_problem = (
                            f"the drill lease could not be renewed for {budget:g}s ({why})"
                        )
                        halt.set()
                    continue
                if not held:
                    if not halt.is_set():
                        self._lease_problem = "the drill lease was taken by another process"
                        halt.set()
                    return
                renewed = time.monotonic()
        finally:
            forward.cancel()

    async def _run(
        self,
        pair: PairSpec,
        stop: asyncio.Event,
        *,
        failback: bool = True,
        silences: Silences | None = None,
    ) -> Report:
        try:
            await self.recover(keep=pair.name)
            checks, status = await self.checks(pair)
        except StateError as exc:
            return Report(None, pair.name, "refused", f"cannot use the drill journal: {exc}")
        report = Report(None, pair.name, "refused", checks=[asdict(c) for c in checks])
        failed = [c for c in checks if not c.ok]
        if failed or status is None or pair.drill is None:
            report.reason = "pre-check failed: " + "; ".join(
                f"{c.name} ({c.detail})" for c in failed
            )
            return report
        active = status.active_members[0]
        standby = next(m.member for m in status.members if m.member != active)
        report.active_before, report.standby = active, standby
        silence_id: str | None = None
        if silences is not None:
            # Silence first: a drill that cannot keep the pager quiet does not start.
            longest = 3 * pair.drill.max_switchover + 300
            try:
                silence_id = await asyncio.to_thread(
                    silences.create,
                    pair.name,
                    longest,
                    "netmon drill",
                    f"failover drill on {pair.name}",
                )
            except SilenceError as exc:
                report.reason = f"could not create the Alertmanager silence: {exc}"
                return report
            report.silence_id = silence_id
        # Until the first demotion is sent, a failure (the value to restore unreadable, the
        # journal unwritable, Ctrl-C) ends the drill cleanly: nothing to restore, the silence
        # expired, the journal row finished.
        try:
            drill_id, demote, restore = await self._prepare(pair, report, checks, stop)
        except (Abort, CollectorError, StateError, asyncio.CancelledError) as exc:
            return await self._ended_before_acting(report, exc, silences)
        vip = VipWatch(self.prober, pair.virtual_ip)
        vip.start()
        restored = False
        try:
            t_act = time.monotonic()
            for action in demote:
                # Fenced: nothing is sent once another process has the pair's lease (this
                # process stalled past its term; the other may be restoring the pair).
                self._fence(pair.name, drill_id)
                seq = self.journal.step(drill_id, "act", action.describe())
                self.say(f"demote: {action.describe()}")
                await self.execute(action)
                self.journal.mark(drill_id, seq, "done")
            report.switchover_seconds, report.dual_active_seconds = await self.watch_takeover(
                pair, standby, t_act, stop, vip
            )
            self.say(f"{standby} took over after {report.switchover_seconds:.3f}s")
            await self.wait_healthy(pair, standby, stop, "on the standby")
            self.journal.step(drill_id, "verify", f"{pair.name} healthy on {standby}", "done")
            report.vip_outage_seconds = vip.longest_gap()
            if failback:
                t_restore = time.monotonic()
                await self.restore(drill_id, restore)
                await self.wait_healthy(pair, active, stop, "after failback")
                report.failback_seconds = time.monotonic() - t_restore
                self.journal.step(
                    drill_id, "verify", f"{pair.name} healthy on {active} again", "done"
                )
                restored = True
            else:
                self.journal.step(drill_id, "note", "left on the standby (--no-failback); restore later with: "
                                  + "; ".join(report.restore_actions), "done")  # fmt: skip
            report.result = "passed"
        except (Abort, CollectorError, StateError, asyncio.CancelledError) as exc:
            # A journal that fails after the demotion (a locked file, the database away) is an
            # abort too: the pair is restored, not left on the standby.
            if isinstance(exc, asyncio.CancelledError):
                reason = self._lease_problem or "interrupted (Ctrl-C or SIGTERM)"
            elif isinstance(exc, StateError):
                reason = f"the drill journal failed: {exc}"
            else:
                reason = str(exc)
            report.result, report.reason = "aborted", reason
            try:
                self.journal.step(drill_id, "abort", reason, "done")
            except StateError as failure:
                log.warning("drill %s: could not journal the abort: %s", drill_id, failure)
            self.say(f"abort: {reason}; restoring")
            restored = await self.safe_restore(drill_id, pair, active, restore)
        finally:
            await vip.stop()
            await self._expire_silence(silences, silence_id, drill_id)
        report.restored = restored or (not failback and report.result == "passed")
        if report.vip_outage_seconds is None:
            report.vip_outage_seconds = vip.longest_gap()
        final = report.result if restored or report.result == "passed" else "needs_attention"
        self.journal.finish(drill_id, final, report.as_dict())
        if final == "needs_attention":
            report.reason = (
                (report.reason or "")
                + "; the restore could not be verified: drills on this pair are refused until resolved"
            )
        return report

    async def _prepare(
        self, pair: PairSpec, report: Report, checks: list[Check], stop: asyncio.Event
    ) -> tuple[int, list[Action], list[Action]]:
        """Journal the drill, read the value to restore and journal the restore actions: all
        before anything is sent. Sets `report.id` as soon as the journal row exists."""
        assert report.active_before is not None
        active = report.active_before
        drill_id = report.id = self.drill_id = self.journal.start(pair.name, active, report.standby)
        if report.silence_id is not None:
            text = f"Alertmanager silence {report.silence_id} for pair={pair.name}"
            self.journal.step(drill_id, "note", text, "done")
        for check in checks:
            self.journal.step(drill_id, "check", f"{check.name}: {check.detail}", "done")
        original = await self.read_original(pair, active)
        demote, restore = self.actions(pair, active, original)
        report.actions = [a.describe() for a in demote]
        report.restore_actions = [a.describe() for a in restore]
        # The undo is on disk before the demotion is sent: a kill -9 from here on is recoverable.
        self.journal.set_restore(drill_id, [_action_json(a) for a in restore])
        if stop.is_set():
            raise Abort("interrupted (Ctrl-C or SIGTERM)")
        return drill_id, demote, restore

    async def _expire_silence(
        self, silences: Silences | None, silence_id: str | None, drill_id: int | None
    ) -> None:
        if silences is None or silence_id is None:
            return
        try:
            await asyncio.to_thread(silences.expire, silence_id)
        except SilenceError as exc:
            text, status = f"silence {silence_id} not expired: {exc}", "failed"
            self.say(text)
        else:
            text, status = f"Alertmanager silence {silence_id} expired", "done"
        if drill_id is not None:
            try:
                self.journal.step(drill_id, "note", text, status)
            except StateError as exc:
                log.warning("drill %s: could not journal %r: %s", drill_id, text, exc)

    async def _ended_before_acting(
        self, report: Report, exc: BaseException, silences: Silences | None
    ) -> Report:
        """The drill stopped before its first demotion was sent: there is nothing to restore
        (so nothing is run or waited for), and it is `aborted`, or `refused` when the journal
        could not even record it. The silence is expired either way."""
        drill_id = report.id
        if isinstance(exc, asyncio.CancelledError):
            reason = "interrupted (Ctrl-C or SIGTERM)"
        elif isinstance(exc, StateError):
            reason = f"cannot write the drill journal: {exc}"
        else:
            reason = str(exc)
        report.result = "aborted" if drill_id is not None else "refused"
        report.reason = f"{reason}; nothing was sent"
        report.restored = False
        self.say(f"abort: {report.reason}")
        journal_failure: StateError | None = None
        if drill_id is not None:
            try:
                self.journal.step(drill_id, "abort", report.reason, "done")
            except StateError as failure:
                journal_failure = failure
        await self._expire_silence(silences, report.silence_id, drill_id)
        if drill_id is not None:
            try:
                self.journal.finish(drill_id, report.result, report.as_dict())
            except StateError as failure:
                journal_failure = journal_failure or failure
        if journal_failure is not None and not isinstance(exc, StateError):
            # Left unfinished, the row is closed by the next recovery (no demotion was sent).
            report.reason += f"; the journal could not record it: {journal_failure}"
        return report

    async def watch_takeover(
        self, pair: PairSpec, standby: str, t_act: float, stop: asyncio.Event, vip: VipWatch
    ) -> tuple[float, float]:
        assert pair.drill is not None
        dual = 0.0
        dual_since: float | None = None
        last = t_act
        while True:
            if stop.is_set():
                raise asyncio.CancelledError
            status = await self.status(pair)
            now = time.monotonic()
            roles = {m.member: m.view.role for m in status.members}
            actives = [m for m, r in roles.items() if r is Role.ACTIVE]
            if len(actives) >= 2:
                dual += now - last if dual_since is not None else 0.0
                dual_since = dual_since or now
                if now - dual_since > pair.split_brain_debounce:
                    raise Abort(
                        f"split-brain: {', '.join(actives)} active for over {pair.split_brain_debounce:g}s"
                    )
            else:
                dual_since = None
            last = now
            if actives == [standby]:
                return now - t_act, dual
            if roles.get(standby) is Role.UNREACHABLE:
                raise Abort(f"the standby {standby} is unreachable")
            if roles.get(standby) is Role.FAULT:
                raise Abort(f"the standby {standby} went into fault; it cannot take over")
            if now - t_act > pair.drill.max_switchover:
                raise Abort(f"no takeover within max_switchover {pair.drill.max_switchover:g}s")
            if vip.current_gap() > pair.drill.max_vip_outage:
                raise Abort(
                    f"virtual IP {pair.virtual_ip} unanswered for over {pair.drill.max_vip_outage:g}s"
                )
            await asyncio.sleep(WATCH_STEP)

    async def wait_healthy(
        self,
        pair: PairSpec,
        on: str,
        stop: asyncio.Event | None,
        what: str,
        *,
        healthy: bool = True,
    ) -> None:
        """Until `on` is the one active member (and, with `healthy`, the pair healthy)."""
        assert pair.drill is not None
        deadline = time.monotonic() + pair.drill.max_switchover + 5
        status: PairStatus | None = None
        while time.monotonic() < deadline:
            if stop is not None and stop.is_set():
                raise asyncio.CancelledError
            status = await self.status(pair)
            if list(status.active_members) == [on] and (
                not healthy or status.state is PairState.HEALTHY
            ):
                return
            await asyncio.sleep(WATCH_STEP)
        seen = (
            f"{status.state.value} on {', '.join(status.active_members) or 'nobody'}"
            if status
            else "no answer"
        )
        raise Abort(
            f"not healthy on {on} {what} within {pair.drill.max_switchover + 5:g}s ({seen})"
        )

    async def restore(self, drill_id: int, actions: list[Action]) -> None:
        for action in actions:
            seq = self.journal.step(drill_id, "restore", action.describe())
            self.say(f"restore: {action.describe()}")
            await self.execute(action)
            self.journal.mark(drill_id, seq, "done")

    async def safe_restore(
        self, drill_id: int, pair: PairSpec, active: str, actions: list[Action]
    ) -> bool:
        """Restore after an abort; True when the pair is healthy on its original member again.
        A failed restore action is recorded and the others still run: what counts is the
        verified state of the pair (a demotion that never took leaves nothing to undo)."""
        for action in actions:
            seq = self.journal.step(drill_id, "restore", action.describe())
            self.say(f"restore: {action.describe()}")
            try:
                await self.execute(action)
            except CollectorError as exc:
                self.journal.mark(drill_id, seq, "failed")
                self.journal.step(drill_id, "note", f"restore action failed: {exc}", "done")
                continue
            self.journal.mark(drill_id, seq, "done")
        try:
            # Restored means the original member is the one active again; the pair may still be
            # degraded for the very reason the drill aborted (a standby in fault, say).
            await self.wait_healthy(pair, active, None, "after the abort", healthy=False)
        except Abort as exc:
            self.journal.step(drill_id, "verify", f"restore not verified: {exc}", "failed")
            return False
        self.journal.step(
            drill_id, "verify", f"{active} is the active member of {pair.name} again", "done"
        )
        return True

    def recovery_actions(
        self, drill_id: int, pair: PairSpec, active: str, journaled: object
    ) -> tuple[list[Action], str | None]:
        """The restore actions of an interrupted drill, rebuilt from the inventory, or why the
        pair cannot be restored safely (then nothing is run).

        Only the original INTEGER of an SNMP SET comes from the journal, only from the one entry
        naming the same device and OID, and only when the actuator finds it plausible. When the
        journal's actions differ from the rebuilt ones (the inventory changed, or the file was
        edited), the inventory's are used, since they are what the operator configured, and a
        note records what the journal held."""
        assert pair.drill is not None
        member = next((m for m in pair.members if m.name == active), None)
        if member is None:
            # The name comes from the journal: it is not echoed into the report.
            return [], f"the member it demoted is no longer in {pair.name} in the inventory"
        if not any(kind == "act" for _, _, kind, _, _ in self.journal.steps(drill_id)):
            # Each demotion is journalled before it is sent: without an act step nothing was
            # sent, so there is nothing to undo (and no original value may have been read).
            self.journal.step(drill_id, "note", "no demotion was sent: nothing to restore", "done")
            return [], None
        act = actuator(pair.drill.actuator)
        oid = act.original_oid(pair.drill.params, member)
        original: int | None = None
        if oid is not None:
            params = pair.drill.params
            original, why = _journaled_original(
                journaled, member.device, oid, lambda value: act.original_problem(params, value)
            )
            if original is None:
                return [], why
        rebuilt = self.actions(pair, active, original)[1]
        if [_action_json(a) for a in rebuilt] != journaled:
            self.journal.step(
                drill_id,
                "note",
                "the journal's restore actions differ from the inventory's and were not used: "
                f"journal {_journal_text(journaled)}; restoring with the inventory's: "
                + ("; ".join(a.describe() for a in rebuilt) or "none"),
                "done",
            )
        return rebuilt, None

    async def recover(self, keep: str | None = None) -> list[int]:
        """Find drills whose process died (kill -9, a lost host, a power cut: their lease is
        gone) and restore their pairs, each under its pair's lease so that two replicas never
        restore one pair at once. `keep`: a pair whose lease this runner holds for its own drill."""
        recovered = []
        for orphan in self.journal.orphaned(mine=self.holder):
            if not self.owns(orphan.pair):
                continue  # the replicas of the pair's own shard restore it
            try:
                self.journal.acquire(orphan.pair, self.holder, orphan.id)
            except LeaseHeld:
                continue  # another process took it first: it is restoring the pair
            try:
                row = self.journal.drill(orphan.id)
                if row is None or row.result is not None:
                    continue  # finished by another process between the two reads
                await self._recover_one(row)
                recovered.append(row.id)
            finally:
                if orphan.pair != keep:
                    self.journal.release(orphan.pair, self.holder)
        return recovered

    async def _recover_one(self, row: DrillRow) -> None:
        pair = self.inventory.pair(row.pair)
        self.say(f"drill {row.id} on {row.pair} was interrupted; restoring")
        ran_by = f"{row.replica or row.host} ({row.os_user}@{row.host})"
        self.journal.step(
            row.id, "note",
            f"recovery by {self.holder}: the process that ran this drill, {ran_by}, is gone "
            "(its drill lease ended)", "done",
        )  # fmt: skip
        ok = False
        reason = "interrupted; restore could not be verified"
        actions: list[Action] = []
        if pair is None or pair.drill is None:
            # Nothing configured says how to undo the demotion any more: a person decides.
            reason = "interrupted; the pair or its drill block is no longer in the inventory"
        elif row.active_member:
            actions, problem = self.recovery_actions(
                row.id, pair, row.active_member, row.restore_actions
            )
            if problem is None:
                ok = await self.safe_restore(row.id, pair, row.active_member, actions)
            else:
                # Guessing a value to SET, or acting on the journal's word, could leave the
                # pair worse than the drill did: a person decides.
                reason = f"interrupted; not restored: {problem}"
                self.journal.step(row.id, "note", f"recovery did not act: {problem}", "failed")
                self.say(f"drill {row.id}: not restored: {problem}")
        if ok:
            reason = "interrupted; restored by recovery"
        result = "aborted" if ok else "needs_attention"
        self.journal.finish(row.id, result, {"id": row.id, "pair": row.pair, "result": result, "reason": reason,
                                             "restored": ok,
                                             "restore_actions": [a.describe() for a in actions],
                                             "recovered_by": self.holder})  # fmt: skip


async def _forward(stop: asyncio.Event, halt: asyncio.Event) -> None:
    await stop.wait()
    halt.set()
