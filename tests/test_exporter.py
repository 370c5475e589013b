"""Metrics are built per scrape from the store's snapshot, into an injected registry."""

from __future__ import annotations

from dataclasses import replace

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from netmon.evaluate import evaluate
from netmon.exporter import make_registry, render
from netmon.kinds.keepalived import KeepalivedParams
from netmon.model import (
    Device,
    DeviceReading,
    InterfaceReading,
    Inventory,
    Link,
    MemberObservation,
    MemberSpec,
    MemberView,
    PairSpec,
    Role,
)
from netmon.store import StateStore

T0 = 1_700_000_000.0


def inventory(*pairs: str) -> Inventory:
    specs = tuple(
        PairSpec(
            name,
            "keepalived",
            (
                MemberSpec(f"{name}-a", f"{name}-a", KeepalivedParams(1), (Link(2, "eth0"),)),
                MemberSpec(f"{name}-b", f"{name}-b", KeepalivedParams(1)),
            ),
            preferred=f"{name}-a",
        )
        for name in pairs
    )
    devices = {m.device: Device(m.device, "127.0.0.1") for p in specs for m in p.members}
    return Inventory(devices, specs)


def feed(store: StateStore, inv: Inventory, now: float) -> None:
    for pair in inv.pairs:
        a, b = pair.members
        store.record_readings(
            [
                DeviceReading(a.device, "snmp", now, True, duration=0.002),
                DeviceReading(b.device, "snmp", now, False, reason="timeout", duration=1.0),
            ]
        )
        observations = [
            MemberObservation(a.name, a.device, MemberView(Role.ACTIVE), now,
                              links=(InterfaceReading(2, "eth0", True, 3, 0, 1, 0),)),
            MemberObservation(b.name, b.device, MemberView(Role.UNREACHABLE, "timeout"), now),
        ]  # fmt: skip
        store.record_status(evaluate(pair, observations, store.previous(pair.name), now))


def scrape(store: StateStore, now: float) -> dict[str, list[tuple[dict[str, str], float]]]:
    registry = make_registry(lambda: store.snapshot(now))
    text = generate_latest(registry).decode()
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return out


def value(
    metrics: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str
) -> float:
    for got, v in metrics[name]:
        if all(got.get(k) == want for k, want in labels.items()):
            return v
    raise AssertionError(f"{name}{labels} not exported")


def test_design_metric_names_and_values() -> None:
    inv = inventory("core")
    store = StateStore(inv)
    feed(store, inv, T0)
    m = scrape(store, T0 + 1)
    assert value(m, "netmon_pair_state", pair="core", state="degraded") == 1
    assert sum(v for labels, v in m["netmon_pair_state"] if labels["pair"] == "core") == 1
    assert value(m, "netmon_pair_active_members", pair="core") == 1
    assert value(m, "netmon_pair_info", pair="core", kind="keepalived", mode="active_standby") == 1
    assert value(m, "netmon_member_role", pair="core", member="core-b", role="unreachable") == 1
    assert value(m, "netmon_member_role", pair="core", member="core-a", role="active") == 1
    assert value(m, "netmon_pair_failovers_total", pair="core") == 0
    assert value(m, "netmon_pair_on_preferred", pair="core") == 1
    assert value(m, "netmon_device_up", device="core-a") == 1
    assert value(m, "netmon_device_up", device="core-b") == 0
    assert (
        value(m, "netmon_device_last_success_timestamp_seconds", device="core-a", collector="snmp")
        == T0
    )
    assert (
        value(m, "netmon_poll_errors_total", device="core-b", collector="snmp", reason="timeout")
        == 1
    )
    assert value(m, "netmon_poll_duration_seconds_count", collector="snmp") == 2
    assert value(m, "netmon_interface_up", device="core-a", interface="eth0") == 1
    assert (
        value(m, "netmon_interface_errors_total", device="core-a", interface="eth0", direction="in")
        == 3
    )
    assert "netmon_build_info" in m


def test_removed_pair_and_its_devices_disappear() -> None:
    inv = inventory("core", "edge")
    store = StateStore(inv)
    feed(store, inv, T0)
    assert {l["pair"] for l, _ in scrape(store, T0)["netmon_pair_state"]} == {"core", "edge"}
    store.set_inventory(inventory("core"))
    m = scrape(store, T0)
    assert {l["pair"] for l, _ in m["netmon_pair_state"]} == {"core"}
    assert {l["device"] for l, _ in m["netmon_device_up"]} == {"core-a", "core-b"}


def test_stale_pair_turns_unknown_at_scrape_time() -> None:
    inv = inventory("core")
    store = StateStore(inv)
    feed(store, inv, T0)
    spec = inv.pairs[0]
    m = scrape(store, T0 + spec.stale_after + 1)
    assert value(m, "netmon_pair_state", pair="core", state="unknown") == 1


def test_failover_metrics() -> None:
    inv = inventory("core")
    store = StateStore(inv)
    pair = inv.pairs[0]
    a, b = pair.members
    for t, roles in ((T0, (Role.ACTIVE, Role.STANDBY)), (T0 + 5, (Role.STANDBY, Role.ACTIVE))):
        observations = [
            MemberObservation(a.name, a.device, MemberView(roles[0]), t),
            MemberObservation(b.name, b.device, MemberView(roles[1]), t),
        ]
        store.record_status(evaluate(replace(pair), observations, store.previous(pair.name), t))
    m = scrape(store, T0 + 6)
    assert value(m, "netmon_pair_failovers_total", pair="core") == 1
    assert value(m, "netmon_pair_last_failover_timestamp_seconds", pair="core") == T0 + 5
    assert value(m, "netmon_pair_on_preferred", pair="core") == 0


def test_device_up_needs_every_collector() -> None:
    """A device read over SNMP and SSH is up only when both work, whichever answered last."""
    inv = inventory("core")
    store = StateStore(inv)
    store.record_readings([DeviceReading("core-a", "ssh", T0, False, reason="auth")])
    store.record_readings([DeviceReading("core-a", "snmp", T0 + 1, True)])
    m = scrape(store, T0 + 2)
    assert value(m, "netmon_device_up", device="core-a") == 0
    store.record_readings([DeviceReading("core-a", "ssh", T0 + 3, True)])
    assert value(scrape(store, T0 + 4), "netmon_device_up", device="core-a") == 1


def test_fast_render_is_byte_for_byte_generate_latest() -> None:
    """The daemon serves /metrics with its own renderer; it must write exactly what
    prometheus_client writes, odd label values (quotes, backslashes, newlines, Hangul) included."""
    inv = inventory("core-gw", "dc-edge")
    odd = Device("core-gw-a", 'Seoul "HQ" \\ rack\n3 서울')  # no inventory would let this in
    inv = Inventory({**inv.devices, "core-gw-a": odd}, inv.pairs)
    store = StateStore(inv)
    now = 1_700_000_000.0
    feed(store, inv, now)
    store.record_poll_lag(0.003)
    store.record_missed_polls(1)
    registry = make_registry(lambda: store.snapshot(now))
    body = render(registry)
    assert body == generate_latest(registry)
    assert b'address="Seoul \\"HQ\\" \\\\ rack\\n3 \xec\x84\x9c\xec\x9a\xb8"' in body


def test_a_counter_no_float_can_hold_drops_its_series_not_the_scrape() -> None:
    """read_link refuses such values; should one reach the snapshot anyway, the scrape of every
    other series and pair still works (before: OverflowError, an empty reply for everyone)."""
    inv = inventory("core", "edge")
    store = StateStore(inv)
    feed(store, inv, T0)
    pair = inv.pairs[0]
    a, b = pair.members
    huge = 2 ** (200 * 8) - 1
    observations = [
        MemberObservation(a.name, a.device, MemberView(Role.ACTIVE), T0,
                          links=(InterfaceReading(2, "eth0", True, huge, 0, -1, 0),)),
        MemberObservation(b.name, b.device, MemberView(Role.STANDBY), T0),
    ]  # fmt: skip
    store.record_status(evaluate(pair, observations, store.previous(pair.name), T0))
    body = render(make_registry(lambda: store.snapshot(T0 + 1))).decode()
    assert 'netmon_pair_state{pair="core",state="healthy"} 1.0' in body
    assert 'netmon_pair_state{pair="edge",state="degraded"} 1.0' in body
    errors = [
        line for line in body.splitlines() if line.startswith("netmon_interface_errors_total")
    ]
    assert (
        'netmon_interface_errors_total{device="core-a",direction="out",interface="eth0"} 0.0'
        in errors
    )
    assert not any('device="core-a",direction="in"' in line for line in errors)
    assert not any(
        'device="core-a",direction="in"' in line
        for line in body.splitlines()
        if line.startswith("netmon_interface_discards_total")
    )
