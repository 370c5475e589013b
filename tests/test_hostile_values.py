"""One device's hostile values must not break /metrics or the JSON API for every pair.

A Counter32 with a 200-byte body, a negative counter, a Counter64-sized one, a string where a
number belongs, a sysUpTime past TimeTicks: each becomes the reason of the link (and so of the
member and the pair) that carried it, and every pair still renders.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from typing import Any

import pytest

from netmon.evaluate import evaluate
from netmon.exporter import MetricsServer, make_registry, render
from netmon.kinds.keepalived import STATE, KeepalivedParams
from netmon.links import (
    IF_IN_ERRORS,
    IF_IN_UCAST_PKTS,
    IF_OPER_STATUS,
    IF_OUT_UCAST_PKTS,
    SYS_UPTIME,
    column_oid,
    read_link,
)
from netmon.model import (
    Device,
    DeviceReading,
    InterfaceReading,
    Inventory,
    Link,
    MemberSpec,
    Oid,
    PairSpec,
    Value,
)
from netmon.observe import observe
from netmon.report import json_safe, pairs_json, status_json
from netmon.store import StateStore

T0 = 1_700_000_000.0
ETH0 = Link(2, "eth0")
HUGE = 2 ** (200 * 8) - 1  # a Counter32 with a 200-byte body


def inventory() -> Inventory:
    pairs = tuple(
        PairSpec(
            name,
            "keepalived",
            (
                MemberSpec(f"{name}-a", f"{name}-a", KeepalivedParams(1), (ETH0,)),
                MemberSpec(f"{name}-b", f"{name}-b", KeepalivedParams(1)),
            ),
        )
        for name in ("good", "bad")
    )
    devices = {m.device: Device(m.device, "127.0.0.1") for p in pairs for m in p.members}
    return Inventory(devices, pairs)


def link_values(errors: Value, uptime: Value, tick: int) -> dict[Oid | str, Value]:
    return {
        SYS_UPTIME: uptime,
        column_oid(IF_OPER_STATUS, 2): 1,
        column_oid(IF_IN_ERRORS, 2): errors,
        column_oid(IF_IN_UCAST_PKTS, 2): 1000 * tick,
        column_oid(IF_OUT_UCAST_PKTS, 2): 1000 * tick,
    }


def cycle(
    store: StateStore, inv: Inventory, now: float, tick: int, errors: Value, uptime: Value
) -> None:
    for pair in inv.pairs:
        a, b = pair.members
        hostile = pair.name == "bad"
        readings = {
            (a.device, "snmp"): DeviceReading(
                a.device,
                "snmp",
                now,
                True,
                values={
                    (*STATE, 1): 2,  # MASTER
                    **link_values(
                        errors if hostile else 0, uptime if hostile else 100 * tick, tick
                    ),
                },
            ),
            (b.device, "snmp"): DeviceReading(
                b.device, "snmp", now, True, values={(*STATE, 1): 1, SYS_UPTIME: 100 * tick}
            ),
        }
        store.record_readings(list(readings.values()))
        observations = observe(pair, readings, {})
        store.record_status(evaluate(pair, observations, store.previous(pair.name), now))


def ints(data: Any) -> list[int]:
    if isinstance(data, bool):
        return []
    if isinstance(data, int):
        return [data]
    if isinstance(data, dict):
        return [i for v in data.values() for i in ints(v)]
    if isinstance(data, list):
        return [i for v in data for i in ints(v)]
    return []


@pytest.mark.parametrize(
    ("errors", "uptime", "reason"),
    [
        (HUGE, 500, "link eth0 ifInErrors: value out of range"),
        (-1, 500, "link eth0 ifInErrors: value out of range"),
        (2**80, 500, "link eth0 ifInErrors: value out of range"),
        (2**32, 500, "link eth0 ifInErrors: value out of range"),
        ("lots", 500, "link eth0 ifInErrors: value is not a number"),
        (7, HUGE, "link eth0 sysUpTime: value out of range"),
        (7, 2**32, "link eth0 sysUpTime: value out of range"),
    ],
    ids=["200-byte", "negative", "2^80", "2^32", "string", "uptime-200-byte", "uptime-2^32"],
)
def test_a_hostile_value_is_the_members_reason_and_every_pair_still_renders(
    errors: Value, uptime: Value, reason: str
) -> None:
    inv = inventory()
    store = StateStore(inv)
    for tick in (1, 2):  # the second cycle computes rates against the first
        cycle(store, inv, T0 + 10 * tick, tick, errors, uptime)
    snapshot = store.snapshot(T0 + 21)

    body = render(make_registry(lambda: snapshot)).decode()
    states = {
        line.split('pair="')[1].split('"')[0]
        for line in body.splitlines()
        if line.startswith("netmon_pair_state{") and line.endswith(" 1.0")
    }
    assert states == {"good", "bad"}
    assert 'netmon_pair_state{pair="good",state="healthy"} 1.0' in body
    assert 'netmon_pair_state{pair="bad",state="degraded"} 1.0' in body

    bad = snapshot.pairs["bad"]
    assert f"bad-a: {reason}" in bad.reasons
    assert snapshot.pairs["good"].reasons == ()

    for data in (pairs_json(snapshot), status_json(snapshot)):
        text = json.dumps(data, allow_nan=False)
        assert all(abs(i) <= 2**53 - 1 for i in ints(json.loads(text)))
        by_name = {p["pair"]: p for p in data["pairs"]}
        assert by_name.keys() == {"good", "bad"}
        member = by_name["bad"]["members"][0]
        assert reason.removeprefix("link eth0 ") in member["links"][0]["problems"]
        assert f"bad-a: {reason}" in by_name["bad"]["reasons"]


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (HUGE, "ifInErrors: value out of range"),
        (-1, "ifInErrors: value out of range"),
        (2**64 - 1, "ifInErrors: value out of range"),  # a Counter64 value in a Counter32
        ("12", "ifInErrors: value is not a number"),
        (True, "ifInErrors: value is not a number"),
    ],
    ids=["200-byte", "negative", "counter64", "string", "bool"],
)
def test_read_link_refuses_values_outside_counter32(value: Value, problem: str) -> None:
    link = read_link(ETH0, {column_oid(IF_IN_ERRORS, 2): value})
    assert link.in_errors is None
    assert link.problems == (problem,)


def test_read_link_keeps_counter32_bounds_and_clean_readings_plain() -> None:
    for value in (0, 2**32 - 1):
        link = read_link(ETH0, {column_oid(IF_IN_ERRORS, 2): value})
        assert type(link) is InterfaceReading
        assert link.in_errors == value
    assert type(read_link(ETH0, {})) is InterfaceReading  # nothing answered: no problem to name


def test_json_safe_nulls_what_json_cannot_carry() -> None:
    data = {"a": [2**53 - 1, -(2**53 - 1), 2**53, -(2**80), HUGE], "b": float("nan"), "c": True}
    assert json_safe(data) == {
        "a": [2**53 - 1, -(2**53 - 1), None, None, None],
        "b": None,
        "c": True,
    }


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_a_failing_render_answers_500_and_logs_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> Any:
        raise OverflowError("int too large to convert to float")

    server = MetricsServer(("127.0.0.1", 0), broken)
    server.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        with caplog.at_level(logging.WARNING, logger="netmon.exporter"):
            for path in ("/metrics", "/api/v1/pairs", "/api/v1/status"):
                caplog.clear()
                code, body = get(base + path)
                assert code == 500, path
                assert b"internal error" in body
                warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
                assert len(warnings) == 1, path
                assert path in warnings[0].getMessage()
                assert "OverflowError" in warnings[0].getMessage()
        assert get(base + "/-/healthy")[0] == 200  # the server still serves
    finally:
        server.stop()
