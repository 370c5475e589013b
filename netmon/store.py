"""The state store: the latest verdict per pair, device facts, and the transition history.

Writers (the poller) and readers (HTTP threads, the CLI) meet here. Readers get an immutable
Snapshot; staleness is applied when the snapshot is taken, so a pair whose polls stopped turns
`unknown` on its own instead of showing its last verdict forever.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from netmon.evaluate import evaluate, transition
from netmon.model import (
    ConfigStatus,
    DeviceReading,
    InterfaceReading,
    Inventory,
    PairSpec,
    PairStatus,
    Transition,
)

# Poll-duration histogram buckets, seconds: SNMP answers in ~1 ms on a LAN; timeouts are seconds.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Poll-lag buckets: a healthy daemon starts polls within milliseconds of when they are due.
LAG_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass
class Histogram:
    buckets: tuple[float, ...] = DURATION_BUCKETS
    counts: list[int] = field(default_factory=lambda: [0] * len(DURATION_BUCKETS))
    total: float = 0.0
    count: int = 0

    def observe(self, value: float) -> None:
        for i, bound in enumerate(self.buckets):
            if value <= bound:
                self.counts[i] += 1
        self.total += value
        self.count += 1

    def copy(self) -> Histogram:
        return Histogram(self.buckets, list(self.counts), self.total, self.count)


@dataclass(frozen=True)
class DeviceStatus:
    device: str
    up: bool
    last_reason: str | None
    last_detail: str | None
    last_attempt_at: float
    last_success_at: Mapping[str, float]  # by collector
    errors: Mapping[tuple[str, str], int]  # (collector, reason) -> count
    links: Mapping[int, InterfaceReading]
    # The last outcome per collector: a device read over SNMP and SSH is up only when both work,
    # whichever was polled last.
    collectors_up: Mapping[str, bool] = field(default_factory=dict)


@dataclass(frozen=True)
class Snapshot:
    taken_at: float
    pairs: Mapping[str, PairStatus]
    specs: Mapping[str, PairSpec]
    devices: Mapping[str, DeviceStatus]
    durations: Mapping[str, Histogram]
    transitions: tuple[Transition, ...]
    traps: Mapping[str, int] = field(default_factory=dict)  # notifications received, by device
    configs: Mapping[str, ConfigStatus] = field(default_factory=dict)  # drift checks, by pair
    addresses: Mapping[str, str] = field(default_factory=dict)  # device -> address (probe targets)
    poll_lag: Histogram | None = None  # scheduled polls: how late each started
    polls_missed: int = 0  # scheduled polls skipped because the previous one had not finished
    traps_dropped: Mapping[str, int] = field(
        default_factory=dict
    )  # refused notifications, by reason


class StateStore:
    def __init__(self, inventory: Inventory, history: int = 1000) -> None:
        self._lock = threading.Lock()
        self._specs: dict[str, PairSpec] = {p.name: p for p in inventory.pairs}
        self._devices_known: set[str] = set(inventory.devices)
        self._addresses = {d.name: d.address for d in inventory.devices.values()}
        self._pairs: dict[str, PairStatus] = {}
        self._devices: dict[str, DeviceStatus] = {}
        self._durations: dict[str, Histogram] = {}
        self._transitions: deque[Transition] = deque(maxlen=history)
        self._traps: dict[str, int] = {}
        self._traps_dropped: dict[str, int] = {}
        self._configs: dict[str, ConfigStatus] = {}
        self._lag = Histogram(LAG_BUCKETS, [0] * len(LAG_BUCKETS))
        self._missed = 0

    def record_poll_lag(self, seconds: float) -> None:
        with self._lock:
            self._lag.observe(seconds)

    def record_missed_polls(self, count: int) -> None:
        with self._lock:
            self._missed += count

    def set_inventory(self, inventory: Inventory) -> None:
        """After a reload: forget pairs and devices that are gone (their metrics disappear)."""
        with self._lock:
            old_specs = self._specs
            self._specs = {p.name: p for p in inventory.pairs}
            self._devices_known = set(inventory.devices)
            self._addresses = {d.name: d.address for d in inventory.devices.values()}
            for name in list(self._pairs):
                spec = self._specs.get(name)
                if spec is None or spec.kind != self._pairs[name].kind:
                    del self._pairs[name]
                    continue
                old = old_specs.get(name)
                if old is not None and old.members != spec.members:
                    self._pairs[name] = _forget_reads(self._pairs[name], old, spec)
            for name in list(self._devices):
                if name not in self._devices_known:
                    del self._devices[name]
            for name in list(self._configs):
                spec = self._specs.get(name)
                if spec is None or spec.config is None:
                    del self._configs[name]

    def previous(self, pair: str) -> PairStatus | None:
        with self._lock:
            return self._pairs.get(pair)

    def record_readings(self, readings: Iterable[DeviceReading]) -> None:
        with self._lock:
            for r in readings:
                if r.device not in self._devices_known:
                    continue
                old = self._devices.get(r.device)
                success = dict(old.last_success_at) if old else {}
                errors = dict(old.errors) if old else {}
                links = dict(old.links) if old else {}
                outcomes = {**(old.collectors_up if old else {}), r.collector: r.ok}
                if r.ok:
                    success[r.collector] = r.at
                else:
                    key = (r.collector, r.reason or "error")
                    errors[key] = errors.get(key, 0) + 1
                self._devices[r.device] = DeviceStatus(
                    device=r.device,
                    up=all(outcomes.values()),
                    last_reason=None if r.ok else r.reason,
                    last_detail=None if r.ok else r.detail,
                    last_attempt_at=r.at,
                    last_success_at=success,
                    errors=errors,
                    links=links,
                    collectors_up=outcomes,
                )
                self._durations.setdefault(r.collector, Histogram()).observe(r.duration)

    def record_config(self, status: ConfigStatus) -> None:
        with self._lock:
            if status.pair in self._specs:
                self._configs[status.pair] = status

    def configs(self) -> dict[str, ConfigStatus]:
        with self._lock:
            return dict(self._configs)

    def record_trap(self, device: str | None) -> None:
        """Count a notification; senders not in the inventory count as "unknown" (bounded)."""
        key = device if device in self._devices_known else "unknown"
        with self._lock:
            self._traps[key] = self._traps.get(key, 0) + 1

    def record_trap_dropped(self, reason: str) -> None:
        """Count a notification the receiver refused; `reason` is one of its fixed tokens
        (netmon.collectors.trapwire), never text from the datagram, so the label set is bounded."""
        with self._lock:
            self._traps_dropped[reason] = self._traps_dropped.get(reason, 0) + 1

    def record_status(self, status: PairStatus) -> Transition | None:
        with self._lock:
            if status.pair not in self._specs:
                return None  # removed by a reload while its poll was in flight
            previous = self._pairs.get(status.pair)
            self._pairs[status.pair] = status
            for member in status.members:
                device = self._devices.get(member.device)
                if device is not None and member.links:
                    links = dict(device.links)
                    links.update({link.if_index: link for link in member.links})
                    self._devices[member.device] = replace(device, links=links)
            change = transition(previous, status)
            if change is not None:
                self._transitions.append(change)
            return change

    def snapshot(self, now: float) -> Snapshot:
        with self._lock:
            pairs = dict(self._pairs)
            specs = dict(self._specs)
            devices = dict(self._devices)
            durations = {k: h.copy() for k, h in self._durations.items()}
            transitions = tuple(self._transitions)
            traps = dict(self._traps)
            traps_dropped = dict(self._traps_dropped)
            configs = dict(self._configs)
            addresses = dict(self._addresses)
            lag = self._lag.copy() if self._lag.count else None
            missed = self._missed
        for name, status in pairs.items():
            spec = specs[name]
            if now - status.evaluated_at > spec.stale_after:
                pairs[name] = evaluate(spec, status.members, status, now)
        return Snapshot(
            now,
            pairs,
            specs,
            devices,
            durations,
            transitions,
            traps,
            configs,
            addresses,
            lag,
            missed,
            traps_dropped,
        )


def _forget_reads(status: PairStatus, old: PairSpec, new: PairSpec) -> PairStatus:
    """A member whose device or params changed in a reload reads another row: what the old row
    was (`last_read`) says nothing about the new one. Without this, a typo in a reloaded VRID
    would read as the old row having vanished (fault), and two of them as `down`."""
    before = {m.name: m for m in old.members}
    changed = {m.name for m in new.members if before.get(m.name) != m}
    members = tuple(
        replace(o, last_read=None, vanished=False, adverts_since=None) if o.member in changed else o
        for o in status.members
    )
    return replace(status, members=members)
