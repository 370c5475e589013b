"""Prometheus metrics built per scrape from a snapshot of the state store, and the HTTP server
that serves them next to the JSON API. A pair removed from the inventory simply stops appearing."""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, cast

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from netmon import __version__
from netmon.drills.journal import DrillRow
from netmon.links import COUNTER64, in_range
from netmon.model import PairState, Role
from netmon.report import pairs_json, status_json
from netmon.store import Histogram, Snapshot
from netmon.webconfig import WebConfig
from netmon.webserver import Reply, WebServer

log = logging.getLogger(__name__)

SnapshotSource = Callable[[], Snapshot]


DrillSource = Callable[[], Mapping[str, DrillRow]]
# Families the daemon adds about itself (replica, shared state): built per scrape like the rest.
ExtraSource = Callable[[], Iterable[Metric]]


class NetmonCollector(Collector):
    def __init__(
        self,
        snapshot: SnapshotSource,
        drills: DrillSource | None = None,
        extra: ExtraSource | None = None,
    ) -> None:
        self._snapshot = snapshot
        self._drills = drills
        self._extra = extra

    def collect(self) -> Iterable[Metric]:
        snap = self._snapshot()
        yield from _pair_metrics(snap)
        yield from _device_metrics(snap)
        if self._drills is not None:
            yield from _drill_metrics(snap, self._drills())
        if self._extra is not None:
            yield from self._extra()
        build = GaugeMetricFamily("netmon_build_info", "netmon version", labels=["version"])
        build.add_metric([__version__], 1)
        yield build


def _pair_metrics(snap: Snapshot) -> Iterable[Metric]:
    state = GaugeMetricFamily(
        "netmon_pair_state", "Pair verdict: 1 for the current state", labels=["pair", "state"]
    )
    active = GaugeMetricFamily(
        "netmon_pair_active_members", "Members claiming active", labels=["pair"]
    )
    info = GaugeMetricFamily(
        "netmon_pair_info", "Pair facts (always 1)", labels=["pair", "kind", "mode", "preferred"]
    )
    role = GaugeMetricFamily(
        "netmon_member_role",
        "Member role: 1 for the current role",
        labels=["pair", "member", "role"],
    )
    member_info = GaugeMetricFamily(
        "netmon_member_info",
        "Which device a member is (always 1): joins device and probe series to pairs",
        labels=["pair", "member", "device", "address"],
    )
    failovers = CounterMetricFamily(
        "netmon_pair_failovers", "Changes of the active member seen", labels=["pair"]
    )
    last_failover = GaugeMetricFamily(
        "netmon_pair_last_failover_timestamp_seconds",
        "When the active member last changed",
        labels=["pair"],
    )
    preferred = GaugeMetricFamily(
        "netmon_pair_on_preferred", "1 when the preferred member is the active one", labels=["pair"]
    )
    flapping = GaugeMetricFamily(
        "netmon_pair_flapping", "1 when failovers exceed the pair's flap threshold", labels=["pair"]
    )
    for name in sorted(snap.pairs):
        status = snap.pairs[name]
        spec = snap.specs.get(name)
        for s in PairState:
            state.add_metric([name, s.value], 1.0 if status.state is s else 0.0)
        active.add_metric([name], float(len(status.active_members)))
        info.add_metric([name, status.kind, status.mode.value, status.preferred or ""], 1.0)
        for member in status.members:
            address = snap.addresses.get(member.device, "")
            member_info.add_metric([name, member.member, member.device, address], 1.0)
            current = member.view.role if member.fresh else Role.UNREACHABLE
            for r in Role:
                role.add_metric([name, member.member, r.value], 1.0 if current is r else 0.0)
        failovers.add_metric([name], float(status.failovers_total))
        if status.last_failover_at is not None:
            last_failover.add_metric([name], status.last_failover_at)
        if spec is not None and spec.preferred is not None and status.on_preferred is not None:
            preferred.add_metric([name], 1.0 if status.on_preferred else 0.0)
        flapping.add_metric([name], 1.0 if status.flapping else 0.0)
    in_sync = GaugeMetricFamily(
        "netmon_pair_config_in_sync",
        "1 when the members' configurations match (after the pair's ignore rules)",
        labels=["pair"],
    )
    for name in sorted(snap.configs):
        check = snap.configs[name]
        if check.in_sync is not None:
            in_sync.add_metric([name], 1.0 if check.in_sync else 0.0)
    intent = GaugeMetricFamily(
        "netmon_pair_intent_in_sync",
        "1 when the members' live state matches the inventory's intent (virtual IP, preferred "
        "member by configured priority, group); no series when not known",
        labels=["pair"],
    )
    for name in sorted(snap.pairs):
        verdict = snap.pairs[name].intent.in_sync
        if verdict is not None:
            intent.add_metric([name], 1.0 if verdict else 0.0)
    yield from (state, active, info, role, member_info, failovers, last_failover, preferred)
    yield from (flapping, in_sync, intent)
    yield from _probe_metrics(snap)


def _probe_metrics(snap: Snapshot) -> Iterable[Metric]:
    loss = GaugeMetricFamily(
        "netmon_probe_loss_ratio", "Share of ICMP probes lost, by target and packet size (bytes)",
        labels=["target", "size"],
    )  # fmt: skip
    rtt = GaugeMetricFamily(
        "netmon_probe_rtt_seconds",
        "Mean round trip of answered ICMP probes",
        labels=["target", "size"],
    )
    seen: set[tuple[str, int]] = set()
    for name in sorted(snap.pairs):
        status = snap.pairs[name]
        results = [*status.vip_probes, *(p for m in status.members for p in m.probes)]
        for result in results:
            key = (result.target, result.size)
            if key in seen or result.loss is None:
                continue
            seen.add(key)
            loss.add_metric([result.target, str(result.size)], result.loss)
            if result.rtt is not None:
                rtt.add_metric([result.target, str(result.size)], result.rtt)
    yield from (loss, rtt)


def _device_metrics(snap: Snapshot) -> Iterable[Metric]:
    up = GaugeMetricFamily(
        "netmon_device_up", "1 when the last poll of the device succeeded", labels=["device"]
    )
    success = GaugeMetricFamily(
        "netmon_device_last_success_timestamp_seconds",
        "When a poll of the device last succeeded",
        labels=["device", "collector"],
    )
    errors = CounterMetricFamily(
        "netmon_poll_errors", "Failed polls by reason", labels=["device", "collector", "reason"]
    )
    if_up = GaugeMetricFamily(
        "netmon_interface_up",
        "ifOperStatus of a monitored link is up",
        labels=["device", "interface"],
    )
    if_errors = CounterMetricFamily(
        "netmon_interface_errors",
        "IF-MIB ifInErrors/ifOutErrors of a monitored link",
        labels=["device", "interface", "direction"],
    )
    if_ratio = GaugeMetricFamily(
        "netmon_interface_error_ratio",
        "Errors and discards per packet of a monitored link over the last poll interval",
        labels=["device", "interface", "direction"],
    )
    if_discards = CounterMetricFamily(
        "netmon_interface_discards",
        "IF-MIB ifInDiscards/ifOutDiscards of a monitored link",
        labels=["device", "interface", "direction"],
    )
    for name in sorted(snap.devices):
        device = snap.devices[name]
        up.add_metric([name], 1.0 if device.up else 0.0)
        for collector, at in sorted(device.last_success_at.items()):
            success.add_metric([name, collector], at)
        for (collector, reason), count in sorted(device.errors.items()):
            errors.add_metric([name, collector, reason], float(count))
        for link in sorted(device.links.values(), key=lambda x: x.if_index):
            if link.oper_up is not None:
                if_up.add_metric([name, link.name], 1.0 if link.oper_up else 0.0)
            for direction, value in (("in", link.in_errors), ("out", link.out_errors)):
                if (number := _counter(value)) is not None:
                    if_errors.add_metric([name, link.name, direction], number)
            for direction, value in (("in", link.in_discards), ("out", link.out_discards)):
                if (number := _counter(value)) is not None:
                    if_discards.add_metric([name, link.name, direction], number)
            for direction, ratio in (("in", link.in_error_ratio), ("out", link.out_error_ratio)):
                if ratio is not None and math.isfinite(ratio):
                    if_ratio.add_metric([name, link.name, direction], ratio)
    duration = HistogramMetricFamily(
        "netmon_poll_duration_seconds", "Time to poll one device", labels=["collector"]
    )
    for collector in sorted(snap.durations):
        h = snap.durations[collector]
        duration.add_metric([collector], _buckets(h), h.total)
    traps = CounterMetricFamily(
        "netmon_traps_received", "SNMP notifications received, by sending device", labels=["device"]
    )
    for sender, count in sorted(snap.traps.items()):
        traps.add_metric([sender], float(count))
    dropped = CounterMetricFamily(
        "netmon_traps_dropped",
        "SNMP notifications refused (malformed, unknown user, failed digest, replayed...), by reason",
        labels=["reason"],
    )
    for reason, count in sorted(snap.traps_dropped.items()):
        dropped.add_metric([reason], float(count))
    yield from (up, success, errors, if_up, if_errors, if_discards, if_ratio, duration, traps)
    yield dropped
    yield from _scheduler_metrics(snap)


def _counter(value: int | None) -> float | None:
    """A device's counter as a sample, or None (no series) when it is not a Counter64: read_link
    refuses those already (the link's reason says so); this keeps one from breaking a scrape."""
    number = in_range(value, COUNTER64)
    return None if number is None else float(number)


def _buckets(h: Histogram) -> list[tuple[str, float]]:
    """A histogram's cumulative buckets as prometheus-client takes them, +Inf last."""
    return [
        *((repr(b), float(c)) for b, c in zip(h.buckets, h.counts, strict=True)),
        ("+Inf", float(h.count)),
    ]


def _scheduler_metrics(snap: Snapshot) -> Iterable[Metric]:
    """How late scheduled polls start, and how many were skipped: the daemon keeping up."""
    if snap.poll_lag is not None:
        lag = HistogramMetricFamily(
            "netmon_poll_lag_seconds", "How late a scheduled pair poll started after it was due"
        )
        h = snap.poll_lag
        lag.add_metric([], _buckets(h), h.total)
        yield lag
        missed = CounterMetricFamily(
            "netmon_polls_missed",
            "Scheduled pair polls skipped because the previous poll of the pair had not finished",
        )
        missed.add_metric([], float(snap.polls_missed))
        yield missed


def _drill_metrics(snap: Snapshot, drills: Mapping[str, DrillRow]) -> Iterable[Metric]:
    running = GaugeMetricFamily(
        "netmon_drill_running", "1 while a drill runs on the pair", labels=["pair"]
    )
    success = GaugeMetricFamily(
        "netmon_drill_last_success", "1 when the pair's last finished drill passed", labels=["pair"]
    )
    switchover = GaugeMetricFamily(
        "netmon_drill_last_switchover_seconds",
        "Takeover time measured by the last drill",
        labels=["pair"],
    )
    stamp = GaugeMetricFamily(
        "netmon_drill_last_timestamp_seconds",
        "When the pair's last drill ended (or began)",
        labels=["pair"],
    )
    for name in sorted(snap.specs):
        spec = snap.specs[name]
        row = drills.get(name)
        if spec.drill is None and row is None:
            continue
        running.add_metric([name], 1.0 if row is not None and row.result is None else 0.0)
        if row is None or row.result is None:
            continue
        success.add_metric([name], 1.0 if row.result == "passed" else 0.0)
        seconds = (row.report or {}).get("switchover_seconds")
        if isinstance(seconds, int | float):
            switchover.add_metric([name], float(seconds))
        stamp.add_metric([name], row.finished_at or row.started_at)
    yield from (running, success, switchover, stamp)


_go_float = cast(Callable[[float], str], floatToGoString)  # Prometheus' number format
_TYPES = {"counter": "counter", "gauge": "gauge", "histogram": "histogram", "info": "gauge",
          "stateset": "gauge", "unknown": "untyped", "summary": "summary"}  # fmt: skip


def render(registry: CollectorRegistry) -> bytes:
    """The text exposition of `registry`, byte for byte what prometheus_client's generate_latest
    writes for the families netmon builds (a test holds it to that), at a fraction of the CPU:
    generate_latest validates and escapes every label name of every sample, and at 5,000 pairs
    (~180,000 series) that made a scrape take ~2 s and hold the GIL the poller needs. netmon's
    metric and label names are fixed identifiers; only label values need escaping."""
    out: list[str] = []
    append = out.append
    escaped: dict[str, str] = {}  # label values repeat across series (pairs, states, devices)
    for metric in registry.collect():
        name, kind = metric.name, metric.type
        if kind == "counter":
            name += "_total"
        elif kind == "info":
            name += "_info"
        doc = metric.documentation.replace("\\", r"\\").replace("\n", r"\n")
        append(f"# HELP {name} {doc}\n# TYPE {name} {_TYPES.get(kind, kind)}\n")
        for sample in metric.samples:
            if sample.labels:
                parts = []
                for key in sorted(sample.labels):
                    value = sample.labels[key]
                    text = escaped.get(value)
                    if text is None:
                        text = escaped[value] = (
                            value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")
                        )
                    parts.append(f'{key}="{text}"')
                append(f"{sample.name}{{{','.join(parts)}}} {_go_float(sample.value)}\n")
            else:
                append(f"{sample.name} {_go_float(sample.value)}\n")
    return "".join(out).encode()


def make_registry(
    snapshot: SnapshotSource, drills: DrillSource | None = None, extra: ExtraSource | None = None
) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(NetmonCollector(snapshot, drills, extra))
    return registry


class MetricsServer(WebServer):
    """/metrics, /api/v1/pairs and /api/v1/status on the bounded server (netmon/webserver.py)."""

    def __init__(
        self,
        address: tuple[str, int],
        snapshot: SnapshotSource,
        drills: DrillSource | None = None,
        web: WebConfig | None = None,
        extra: ExtraSource | None = None,
        source: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self.snapshot = snapshot
        self.source = source  # the live inventory source's status, when there is one
        self.registry = make_registry(snapshot, drills, extra)
        super().__init__(address, self.page, web)

    def page(self, path: str) -> Reply:
        """The reply for `path`; bodies are built whole before anything is sent, so a failure
        here is still a clean 500 (the server logs it)."""
        if path == "/metrics":
            return Reply(200, CONTENT_TYPE_LATEST, render(self.registry))
        if path == "/api/v1/pairs":
            return _json(pairs_json(self.snapshot()))
        if path == "/api/v1/status":
            return _json(status_json(self.snapshot()))
        if path == "/api/v1/source" and self.source is not None:
            return _json(self.source())
        if path in ("/", "/-/healthy"):
            return Reply(200, body=b"netmon: /metrics /api/v1/pairs /api/v1/status\n")
        return Reply(404, body=b"not found\n")


def _json(data: Any) -> Reply:
    return Reply(200, "application/json", json.dumps(data, indent=1).encode())


def snapshot_source(store: Any, clock: Callable[[], float] = time.time) -> SnapshotSource:
    return lambda: store.snapshot(clock())
