"""Intent drift attacked (from an adversarial review; each of these failed once): an inventory
virtual_ip that is not an address, a scoped IPv6 one, a first poll waiting on the table walk, a
restart that renumbers interfaces, noSuchObject read as a missing group, and a busy router whose
VRRP states no longer fit the poll's walk. Pure: no network, no subprocess."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from netmon.evaluate import intent
from netmon.kinds.names import IF_NAME, NameCache
from netmon.kinds.vrrp import (
    VRRP_ASSO_IP_ROW_STATUS,
    VRRP_OPER_PRIORITY,
    VRRP_OPER_STATE,
    VrrpParams,
)
from netmon.links import SYS_UPTIME
from netmon.model import (
    Device,
    DeviceReading,
    Inventory,
    MemberObservation,
    MemberSpec,
    MemberView,
    Missing,
    Oid,
    PairSpec,
    Probe,
    Role,
    Secret,
    SnmpSettings,
    SnmpV2c,
    Value,
)
from netmon.poller import Poller
from netmon.store import StateStore

NOW = 1_700_000_000.0


def member(
    name: str, role: Role, priority: int | None, vips: tuple[str, ...] | None
) -> MemberObservation:
    view = MemberView(role, group="ifIndex 2 VRID 51", priority=priority, virtual_ips=vips)
    return MemberObservation(name, name, view, NOW)


# An inventory virtual_ip that is not an address (a name: the probes ping it happily) is a
# value netmon cannot judge: not known, never drift (a false ticket).
def test_unparsable_inventory_virtual_ip_is_not_drift() -> None:
    spec = PairSpec("p", "vrrp", (), preferred="a", virtual_ip="vip-gw.example.net")
    got = intent(spec, [member("a", Role.ACTIVE, 200, ("10.0.0.1",)),
                        member("b", Role.STANDBY, 100, ("10.0.0.1",))])  # fmt: skip
    assert got.in_sync is not False, got


# A scoped IPv6 virtual_ip (fe80::1%eth0, as NetBox and ip(8) write link-local ones) matches
# the address the agent reports (an InetAddress has no zone).
def test_scoped_ipv6_virtual_ip_matches_the_agents_address() -> None:
    spec = PairSpec("p", "vrrpv3", (), preferred="a", virtual_ip="fe80::1%eth0")
    got = intent(spec, [member("a", Role.ACTIVE, 200, ("fe80::1",)),
                        member("b", Role.STANDBY, 100, ("fe80::1",))])  # fmt: skip
    assert got.in_sync is True, got


# ---- poller-level (fake read_device / walk; no I/O) ---------------------------------------


def _agent(if_index: int, uptime: int) -> dict[Oid, Value]:
    return {
        (*IF_NAME, if_index): "Vlan20",
        (*VRRP_OPER_STATE, if_index, 51): 3,
        (*VRRP_OPER_PRIORITY, if_index, 51): 200,
        (*VRRP_ASSO_IP_ROW_STATUS, if_index, 51, 10, 0, 0, 1): 1,
        SYS_UPTIME: uptime,
    }


class FakeDevices:
    def __init__(self) -> None:
        self.agent: dict[Oid, Value] = _agent(3, 5000)
        self.walk_gate: asyncio.Event | None = None
        self.walks: list[tuple[Oid, ...]] = []

    async def read_device(
        self, name: str, probes: Sequence[Probe], collector: str = "snmp"
    ) -> DeviceReading:
        values: dict[Oid | str, Value] = {SYS_UPTIME: self.agent[SYS_UPTIME]}
        for p in probes:
            values[p.ident] = self.agent.get(p.oid, Missing.NO_SUCH_INSTANCE)
        return DeviceReading(name, "snmp", NOW, True, values)

    async def walk(
        self, device: str, columns: tuple[Oid, ...]
    ) -> tuple[dict[Oid, Value], list[str]]:
        self.walks.append(columns)
        if self.walk_gate is not None and columns != (IF_NAME,) and IF_NAME not in columns:
            await self.walk_gate.wait()
        return {o: v for o, v in self.agent.items() if any(o[: len(c)] == c for c in columns)}, []


def _poller(fake: FakeDevices, clock: list[float]) -> tuple[Poller, PairSpec]:
    snmp = SnmpSettings(credentials=SnmpV2c(Secret("env:C", "public")))
    devices = {"r1": Device("r1", "127.0.0.1", snmp)}
    params = VrrpParams(None, 51, "Vlan20")
    pair = PairSpec("p", "vrrp", (MemberSpec("a", "r1", params),), virtual_ip="10.0.0.1")
    inv = Inventory(devices, (pair,))
    poller = Poller(inv, StateStore(inv), snmp=None, clock=lambda: clock[0])  # type: ignore[arg-type]
    poller.read_device = fake.read_device  # type: ignore[method-assign]
    poller.names = NameCache(fake.walk, lambda: clock[0])
    poller.tables = NameCache(fake.walk, lambda: clock[0])
    return poller, pair


# A pair's verdict (a page's data) never waits for the intent table walk (a ticket's data):
# here the walk never finishes, and the poll returns at once.
def test_first_poll_does_not_wait_for_the_intent_walk() -> None:
    fake, clock = FakeDevices(), [NOW]
    poller, pair = _poller(fake, clock)

    async def run() -> None:
        fake.walk_gate = asyncio.Event()  # the asso-table walk hangs
        await asyncio.wait_for(poller.poll_once(pair), timeout=1.0)

    asyncio.run(run())


# A device restarts and renumbers ifIndex: the intent tables are forgotten with the names,
# never read with the old numbering (the group "has none": false drift for minutes).
def test_intent_rows_follow_a_restart_that_renumbers_interfaces() -> None:
    fake, clock = FakeDevices(), [NOW]
    poller, pair = _poller(fake, clock)

    async def run() -> None:
        first = await poller.poll_once(pair)
        assert first.intent.in_sync is None  # the walk started behind the poll
        await asyncio.sleep(0.01)
        first = await poller.poll_once(pair)
        assert first.intent.in_sync is True, first.intent
        fake.agent = _agent(9, 100)  # rebooted: Vlan20 is ifIndex 9 now, same VIP
        clock[0] += 30
        second = await poller.poll_once(pair)
        assert second.members[0].view.role is Role.ACTIVE
        assert second.intent.in_sync is not False, second.intent

    asyncio.run(run())


# noSuchObject says the agent does not serve the MIB (or this user may not read it); only
# noSuchInstance says the group is not there.
def test_no_such_object_is_not_the_group_missing() -> None:
    from netmon.kinds import KINDS
    from netmon.kinds.hsrp import HsrpParams

    kind = KINDS.get("hsrp")
    params = HsrpParams(5, 10)
    blind = kind.interpret(params, {"cHsrpGrpStandbyState": Missing.NO_SUCH_OBJECT})
    ok = kind.interpret(params, {"cHsrpGrpStandbyState": 6, "cHsrpGrpPriority": 110})
    spec = PairSpec("p", "hsrp", (), preferred="a")
    got = intent(spec, [MemberObservation("a", "a", ok, NOW),
                        MemberObservation("b", "b", blind, NOW)])  # fmt: skip
    assert got.in_sync is not False, got


# VRRP reads walk each column from its start within a budget (snmp.py _walk: 64 steps of at
# most 40 cursors): on a router serving 35 VRRP groups every group's state still fits, so the
# intent's priority column is walked with the intent tables, not in the poll.
def test_vrrp_state_of_every_group_is_still_read_on_a_busy_router() -> None:
    from netmon.collectors.snmp import SnmpCollector
    from netmon.kinds import KINDS

    groups = 35
    agent: dict[Oid, Value] = {}
    for vrid in range(1, groups + 1):
        for column in (3, 5, 7, 8):
            agent[(1, 3, 6, 1, 2, 1, 68, 1, 3, 1, column, 2, vrid)] = 2 if column == 3 else 100
    oids = sorted(agent)

    async def pairs(device: Device, op: str, varbinds: Any) -> list[tuple[Oid, Value]]:
        out: list[tuple[Oid, Value]] = []
        for oid, _ in varbinds:
            nxt = next((o for o in oids if o > oid), None)
            out.append((nxt, agent[nxt]) if nxt else (oid, Missing.END_OF_MIB))
        return out

    snmp = SnmpCollector()
    snmp._request_pairs = pairs  # type: ignore[method-assign]
    kind = KINDS.get("vrrp")
    walks: dict[Oid, Oid] = {}
    for vrid in range(1, groups + 1):
        for p in kind.probes(VrrpParams(2, vrid)):
            walks.setdefault(p.oid, p.walk_start())
    found = asyncio.run(snmp._walk(Device("r1", "127.0.0.1"), walks))
    states = [v for o, v in found.items() if o[10] == 3]
    assert states.count(Missing.NOT_RETURNED) == 0, (
        f"{states.count(Missing.NOT_RETURNED)} groups unread"
    )


def test_a_row_missing_from_an_agent_without_the_mib_is_not_a_missing_group() -> None:
    """A walk that leaves the column says noSuchInstance whether the agent serves VRRP-MIB or
    not (a Linux snmpd without it): the intent tables tell the two apart."""
    from netmon.observe import observe

    params = VrrpParams(2, 51)
    pair = PairSpec("p", "vrrp", (MemberSpec("a", "r1", params),), virtual_ip="10.0.0.1")
    from netmon.kinds import KINDS

    absent: dict[Oid | str, Value] = {
        p.ident: Missing.NO_SUCH_INSTANCE for p in KINDS.get("vrrp").probes(params)
    }
    reading = DeviceReading("r1", "snmp", NOW, True, absent)
    no_mib = observe(pair, {("r1", "snmp"): reading}, None, {"r1": {}})
    assert intent(pair, no_mib).in_sync is None
    other_group: dict[Oid, Value] = {(*VRRP_OPER_PRIORITY, 2, 52): 100}  # 51 is absent
    served = observe(pair, {("r1", "snmp"): reading}, None, {"r1": other_group})
    got = intent(pair, served)
    assert got.in_sync is False and "not on the device" in got.reasons[0], got
