"""The SNMP collector against a real net-snmp snmpd on a loopback high port."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest

from netmon.collectors.snmp import SnmpCollector
from netmon.links import IF_OPER_STATUS, SYS_UPTIME, column_oid, link_probes, read_link
from netmon.model import (
    AuthProtocol,
    Device,
    DeviceReading,
    Link,
    Missing,
    PrivProtocol,
    Probe,
    Secret,
    SnmpSettings,
    SnmpV2c,
    SnmpV3,
)

from .conftest import Snmpd, free_udp_port

pytestmark = pytest.mark.snmpd
T = TypeVar("T")

LO = Link(1, "lo")


def v2c(
    snmpd: Snmpd, community: str | None = None, port: int | None = None, timeout: float = 0.5
) -> Device:
    secret = Secret("env:TEST", community or snmpd.community)
    return Device(
        "agent", "127.0.0.1", SnmpSettings(SnmpV2c(secret), port or snmpd.port, timeout, 1)
    )


def v3(snmpd: Snmpd, auth: str | None = None) -> Device:
    creds = SnmpV3(
        snmpd.v3_user,
        AuthProtocol.SHA,
        Secret("env:A", auth or snmpd.v3_auth),
        PrivProtocol.AES,
        Secret("env:P", snmpd.v3_priv),
    )
    return Device("agent-v3", "127.0.0.1", SnmpSettings(creds, snmpd.port, 0.5, 0))


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


async def _poll(device: Device, probes: list[Probe]) -> DeviceReading:
    collector = SnmpCollector()
    try:
        return await collector.poll(device, probes)
    finally:
        collector.close()


def test_v2c_reads_sysuptime_and_if_mib(snmpd: Snmpd) -> None:
    reading = run(_poll(v2c(snmpd), list(link_probes(LO))))
    assert reading.ok, reading.detail
    assert isinstance(reading.values[SYS_UPTIME], int)
    link = read_link(LO, reading.values)
    assert link.oper_up is True
    assert link.in_errors is not None and link.in_errors >= 0
    assert link.out_discards is not None


def test_missing_instance_is_missing_not_an_error(snmpd: Snmpd) -> None:
    probes = [
        Probe("nope", column_oid(IF_OPER_STATUS, 999)),
        Probe(
            "vrrp",
            (1, 3, 6, 1, 2, 1, 68, 1, 3, 1, 3, 2, 51),
            "walk",
            (1, 3, 6, 1, 2, 1, 68, 1, 3, 1, 3),
        ),
    ]
    reading = run(_poll(v2c(snmpd), probes))
    assert reading.ok
    assert reading.values[probes[0].oid] is Missing.NO_SUCH_INSTANCE
    # GETNEXT answered with some later OID: only an exact match counts.
    assert reading.values[probes[1].oid] is Missing.NO_SUCH_INSTANCE


def test_getnext_reads_an_existing_row_exactly(snmpd: Snmpd) -> None:
    oid = column_oid(IF_OPER_STATUS, 1)
    reading = run(_poll(v2c(snmpd), [Probe("oper", oid, "walk", oid[:-2])]))
    assert reading.values[oid] == 1


def test_v3_authpriv_sha_aes(snmpd: Snmpd) -> None:
    reading = run(_poll(v3(snmpd), list(link_probes(LO))))
    assert reading.ok, reading.detail
    assert read_link(LO, reading.values).oper_up is True


def test_v3_wrong_key_is_an_auth_error_without_the_key(snmpd: Snmpd) -> None:
    reading = run(_poll(v3(snmpd, auth="wrong-key-value-123"), []))
    assert not reading.ok
    assert reading.reason == "auth"
    assert "wrong-key-value-123" not in (reading.detail or "")


def test_wrong_community_and_dead_port_time_out(snmpd: Snmpd) -> None:
    wrong = run(_poll(v2c(snmpd, community="not-the-community", timeout=0.2), []))
    assert (wrong.ok, wrong.reason) == (False, "timeout")
    dead = run(_poll(v2c(snmpd, port=free_udp_port(), timeout=0.2), []))
    assert (dead.ok, dead.reason) == (False, "timeout")
    assert "not-the-community" not in (wrong.detail or "")


def test_a_dead_device_does_not_delay_a_live_one(snmpd: Snmpd) -> None:
    async def both() -> tuple[float, float]:
        collector = SnmpCollector()
        loop = asyncio.get_running_loop()
        started = loop.time()
        done: dict[str, float] = {}

        async def one(name: str, device: Device) -> None:
            await collector.poll(device, list(link_probes(LO)))
            done[name] = loop.time() - started

        try:
            await asyncio.gather(
                one("dead", v2c(snmpd, port=free_udp_port(), timeout=1.0)),
                one("live", v2c(snmpd)),
            )
        finally:
            collector.close()
        return done["live"], done["dead"]

    live, dead = run(both())
    assert live < dead  # the live answer came while the dead one was still waiting


def test_check_command_against_real_snmpd(snmpd: Snmpd, tmp_path: Path) -> None:
    """`netmon check` end to end: a custom-OID pair on ifOperStatus of lo (1 = active) and of a
    missing ifIndex (unknown), read from the real agent."""
    inventory = tmp_path / "snmpd.yaml"
    inventory.write_text(
        f"""
devices:
  agent: {{address: 127.0.0.1, snmp: {{community: {{env: NETMON_T_COMM}}, port: {snmpd.port}, timeout: 0.5}}}}
pairs:
  - name: lo-pair
    kind: custom
    params: {{oid: 1.3.6.1.2.1.2.2.1.8.1, values: {{"1": active, "2": fault}}}}
    members:
      - {{name: a, device: agent}}
      - {{name: b, device: agent, params: {{oid: 1.3.6.1.2.1.2.2.1.8.999}}}}
    links: [{{if_index: 1, name: lo}}]
"""
    )
    env = {**os.environ, "NETMON_T_COMM": snmpd.community}
    result = subprocess.run(
        [sys.executable, "-m", "netmon", "check", "-i", str(inventory), "--json"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)
    pair = data["pairs"][0]
    assert pair["state"] == "degraded"
    roles = {m["member"]: m["role"] for m in pair["members"]}
    assert roles == {"a": "active", "b": "unknown"}
    assert pair["members"][0]["links"][0]["up"] is True
    assert snmpd.community not in result.stdout + result.stderr


def test_polls_of_one_device_in_the_same_turn_share_one_request(snmpd: Snmpd) -> None:
    """Pairs sharing a router are polled together: one PDU to it, each poll gets its values."""
    device = v2c(snmpd)
    oper = Probe("oper", column_oid(IF_OPER_STATUS, 1))
    links = list(link_probes(LO))

    async def go() -> tuple[DeviceReading, DeviceReading, int]:
        collector = SnmpCollector()
        try:
            first, second = await asyncio.gather(
                collector.poll(device, [oper]), collector.poll(device, links)
            )
            return first, second, collector.wire_stats.sent
        finally:
            collector.close()

    first, second, sent = run(go())
    assert sent == 1
    assert first.ok and second.ok
    assert set(first.values) == {SYS_UPTIME, oper.oid}
    assert first.values[oper.oid] == 1
    assert set(second.values) == {SYS_UPTIME, *(p.oid for p in links)}
