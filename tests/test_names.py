"""Units named as NetBox knows them (issue 19): `interface: NAME` -> ifIndex over IF-MIB (ifName,
then ifDescr), keepalived's `vrid` -> vrrpInstanceIndex, and the cache that walks for them again
after a restart or when the index found stops answering. Pure: no agent (the recorded agents are
in tests/test_names_snmpsim.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from netmon.errors import ConfigError
from netmon.inventory import load_inventory
from netmon.kinds import KINDS
from netmon.kinds.hsrp import HsrpParams
from netmon.kinds.iflink import IfLinkParams
from netmon.kinds.keepalived import (
    PRIMARY_INTERFACE,
    VIRTUAL_ROUTER_ID,
    KeepalivedParams,
    VridLookup,
)
from netmon.kinds.names import IF_DESCR, IF_NAME, InterfaceLookup, NameCache
from netmon.kinds.vrrp import VrrpParams
from netmon.kinds.vrrpv3 import Vrrpv3Params
from netmon.model import Missing, Oid, Value


def table(names: Mapping[int, str], descrs: Mapping[int, str] | None = None) -> dict[Oid, Value]:
    rows: dict[Oid, Value] = {(*IF_NAME, i): n for i, n in names.items()}
    rows.update({(*IF_DESCR, i): d for i, d in (descrs or {}).items()})
    return rows


def test_ifname_first_then_ifdescr() -> None:
    rows = table({1: "Gi0/0", 5: "Gi0/1"}, {1: "GigabitEthernet0/0", 5: "GigabitEthernet0/1"})
    assert InterfaceLookup("Gi0/1").find(rows, "r1") == 5
    assert InterfaceLookup("GigabitEthernet0/1").find(rows, "r1") == 5
    # ifName decides when it has the name, even where ifDescr says otherwise.
    rows = table({2: "eth0"}, {3: "eth0", 2: "Intel Corporation 82540EM"})
    assert InterfaceLookup("eth0").find(rows, "r1") == 2


def test_only_exact_names_match_never_a_guess() -> None:
    rows = table({2: "eth0", 3: "eth0.10"}, {2: "eth0"})
    for name in ("eth", "ETH0", "eth0 ", "Eth0", "0"):
        assert InterfaceLookup(name).find(rows, "r1") == (
            f"interface {name}: not in ifName or ifDescr of r1"
        )
    assert InterfaceLookup("eth0.10").find(rows, "r1") == 3
    # A trailing NUL (agents that send one) is not part of the name.
    assert InterfaceLookup("Vlan10").find(table({4: "Vlan10\x00"}), "r1") == 4


def test_two_rows_alike_are_ambiguous() -> None:
    reason = InterfaceLookup("eth0").find(table({7: "eth0", 2: "eth0"}), "r1")
    assert reason == "interface eth0: ambiguous, 2 rows of ifName of r1 (ifIndex 2, 7)"
    reason = InterfaceLookup("x").find(table({}, {4: "x", 9: "x"}), "r2")
    assert reason == "interface x: ambiguous, 2 rows of ifDescr of r2 (ifIndex 4, 9)"


def test_rows_that_are_not_names_are_ignored() -> None:
    rows: dict[Oid, Value] = {
        (*IF_NAME, 2): Missing.NO_SUCH_INSTANCE,
        (*IF_NAME, 3): 7,  # not text
        (*IF_NAME, 0): "eth0",  # ifIndex 0 is no interface
        (*IF_NAME, 4, 1): "eth0",  # not a one-arc index
        (*IF_DESCR, 5): "eth0",
    }
    assert InterfaceLookup("eth0").find(rows, "r1") == 5


def test_keepalived_vrid_with_and_without_its_interface() -> None:
    rows: dict[Oid, Value] = {}
    for n, (vrid, iface) in {1: (51, "eth0"), 2: (52, "eth1"), 3: (52, "eth2")}.items():
        rows[(*VIRTUAL_ROUTER_ID, n)] = vrid
        rows[(*PRIMARY_INTERFACE, n)] = iface
    assert VridLookup(51).find(rows, "lx1") == 1
    assert VridLookup(51, "eth0").find(rows, "lx1") == 1
    assert VridLookup(52, "eth2").find(rows, "lx1") == 3
    assert VridLookup(52).find(rows, "lx1") == (
        "VRID 52: ambiguous, 2 instances in vrrpInstanceVirtualRouterId of lx1 (instance 2, 3): "
        "name the `interface` or the `instance`"
    )
    assert VridLookup(51, "eth1").find(rows, "lx1") == (
        "VRID 51 on eth1: not in vrrpInstanceVirtualRouterId of lx1"
    )
    assert VridLookup(99).find(rows, "lx1") == "VRID 99: not in vrrpInstanceVirtualRouterId of lx1"


class FakeWalk:
    """The walk a NameCache is handed: answers from `agent[device]`, counting walks."""

    def __init__(self, agent: dict[str, dict[Oid, Value]]) -> None:
        self.agent = agent
        self.walks: list[str] = []
        self.problems: list[str] = []

    async def __call__(
        self, device: str, columns: tuple[Oid, ...]
    ) -> tuple[Mapping[Oid, Value], Sequence[str]]:
        self.walks.append(device)
        await asyncio.sleep(0)
        rows = self.agent[device]
        return {o: v for o, v in rows.items() if any(o[: len(c)] == c for c in columns)}, list(
            self.problems
        )


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_walked_once_then_again_only_after_a_restart() -> None:
    walk, clock = FakeWalk({"r1": table({3: "Vlan20"})}), Clock()
    cache = NameCache(walk, clock)
    vlan = InterfaceLookup("Vlan20")

    async def run() -> None:
        assert await cache.resolve("r1", vlan) == (3, None, True)
        assert await cache.resolve("r1", vlan) == (3, None, False)
        assert cache.saw_uptime("r1", 5000) is False
        assert cache.saw_uptime("r1", 6000) is False  # growing: the same agent
        walk.agent["r1"] = table({9: "Vlan20"})
        assert await cache.resolve("r1", vlan) == (3, None, False)  # cached: no walk
        assert cache.saw_uptime("r1", 200) is True  # backwards: restarted
        assert await cache.resolve("r1", vlan) == (9, None, True)

    asyncio.run(run())
    assert walk.walks == ["r1", "r1"]


def test_an_index_that_stops_answering_is_looked_up_again_once() -> None:
    walk, clock = FakeWalk({"r1": table({3: "Vlan20"})}), Clock()
    cache = NameCache(walk, clock)
    vlan = InterfaceLookup("Vlan20")

    async def run() -> None:
        assert (await cache.resolve("r1", vlan))[0] == 3
        walk.agent["r1"] = table({9: "Vlan20"})
        assert cache.saw_missing("r1", vlan, walked=False) is True  # renumbered, no restart
        assert await cache.resolve("r1", vlan) == (9, None, True)
        # The row is still absent after that walk (VRRP stopped): no walk on every poll.
        assert cache.saw_missing("r1", vlan, walked=True) is False
        assert cache.saw_missing("r1", vlan, walked=False) is False
        assert (await cache.resolve("r1", vlan))[2] is False
        cache.saw_answer("r1", vlan)  # back again: the next absence is looked into again
        assert cache.saw_missing("r1", vlan, walked=False) is True

    asyncio.run(run())
    assert walk.walks == ["r1", "r1"]


def test_a_name_found_nowhere_is_looked_for_again_after_retry_after() -> None:
    walk, clock = FakeWalk({"r1": table({3: "Vlan20"})}), Clock()
    cache = NameCache(walk, clock, retry_after=60)
    lost = InterfaceLookup("Vlan30")

    async def run() -> None:
        reason = "interface Vlan30: not in ifName or ifDescr of r1"
        assert await cache.resolve("r1", lost) == (None, reason, True)
        clock.now += 59
        assert await cache.resolve("r1", lost) == (None, reason, False)
        walk.agent["r1"] = table({3: "Vlan20", 4: "Vlan30"})  # configured meanwhile
        clock.now += 1
        assert await cache.resolve("r1", lost) == (4, None, True)

    asyncio.run(run())
    assert walk.walks == ["r1", "r1"]


def test_a_walk_cut_short_is_said_with_the_reason() -> None:
    walk = FakeWalk({"r1": table({3: "Vlan20"})})
    walk.problems = ["read only the first 1000 rows of 1.3.6.1.2.1.31.1.1.1.1"]
    cache = NameCache(walk, Clock())
    _, reason, _ = asyncio.run(cache.resolve("r1", InterfaceLookup("Vlan30")))
    assert reason == (
        "interface Vlan30: not in ifName or ifDescr of r1 "
        "(rows read: read only the first 1000 rows of 1.3.6.1.2.1.31.1.1.1.1)"
    )


def test_members_on_one_device_share_one_walk_and_devices_are_apart() -> None:
    walk = FakeWalk({"r1": table({3: "Vlan20", 4: "Vlan30"}), "r2": table({8: "Vlan20"})})
    cache = NameCache(walk, Clock())

    async def run() -> list[object]:
        return list(
            await asyncio.gather(
                cache.resolve("r1", InterfaceLookup("Vlan20")),
                cache.resolve("r1", InterfaceLookup("Vlan30")),
                cache.resolve("r2", InterfaceLookup("Vlan20")),
            )
        )

    got = asyncio.run(run())
    assert [g[0] for g in got] == [3, 4, 8]  # type: ignore[index]
    assert sorted(walk.walks) == ["r1", "r2"]


def test_a_failed_walk_is_not_cached() -> None:
    calls = []

    async def failing(device: str, columns: tuple[Oid, ...]) -> tuple[dict[Oid, Value], list[str]]:
        calls.append(device)
        raise TimeoutError

    cache = NameCache(failing, Clock())
    for _ in range(2):
        with pytest.raises(TimeoutError):
            asyncio.run(cache.resolve("r1", InterfaceLookup("eth0")))
    assert calls == ["r1", "r1"]


# -- the params, as the inventory loader judges them ------------------------------------------


@pytest.mark.parametrize(
    ("kind", "named", "resolved"),
    [
        ("vrrp", VrrpParams(None, 10, "Vlan10"), VrrpParams(3, 10, "Vlan10")),
        ("vrrpv3", Vrrpv3Params(None, 10, interface="Vlan10"), Vrrpv3Params(3, 10, 4, "Vlan10")),
        ("hsrp", HsrpParams(None, 30, "Gi0/1"), HsrpParams(5, 30, "Gi0/1")),
        ("if-link", IfLinkParams(None, "eth0"), IfLinkParams(2, "eth0")),
        ("keepalived", KeepalivedParams(None, 51), KeepalivedParams(1, 51)),
    ],
)
def test_named_params_read_nothing_until_resolved(
    kind: str, named: object, resolved: object
) -> None:
    """Named params pass the kind's check and read nothing; the poller fills the index in (the
    name kept, so the lookup stays the same) and the kind reads that row."""
    k = KINDS.get(kind)
    assert k.check(named) == []
    assert k.probes(named) == ()
    assert k.probes(resolved)
    lookup = k.lookup(named)  # type: ignore[attr-defined]
    assert lookup is not None and getattr(resolved, lookup.field) is not None
    assert k.lookup(resolved) == lookup  # type: ignore[attr-defined]


def inventory(tmp_path: Path, kind: str, pair_params: str, member_params: str) -> Path:
    path = tmp_path / "inv.yaml"
    path.write_text(
        "devices:\n"
        "  r1: {address: 10.0.0.1, snmp: {community: {env: C}}}\n"
        "  r2: {address: 10.0.0.2, snmp: {community: {env: C}}}\n"
        "pairs:\n"
        f"  - name: p\n    kind: {kind}\n    params: {pair_params}\n"
        "    members:\n"
        f"      - {{name: r1, params: {member_params}}}\n"
        "      - {name: r2, params: {if_index: 4}}\n"
    )
    return path


@pytest.mark.parametrize(
    ("kind", "pair_params", "member_params", "path", "words"),
    [
        ("vrrp", "{vrid: 10}", "{interface: eth0, if_index: 2}", "params.interface", "got both"),
        ("vrrp", "{vrid: 10}", "{}", "params.if_index", "exactly one of 'if_index: N'"),
        ("hsrp", "{group: 1, interface: eth0}", "{if_index: 2}", "params.interface", "got both"),
        ("vrrpv3", "{vrid: 10}", "{interface: ' '}", "params.interface", "must not be empty"),
        ("if-link", "{}", "{interface: 7}", "params.interface", "valid string"),
    ],
)
def test_both_or_neither_is_an_inventory_error_at_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str, pair_params: str,
    member_params: str, path: str, words: str,
) -> None:  # fmt: skip
    monkeypatch.setenv("C", "public")
    with pytest.raises(ConfigError) as caught:
        load_inventory(inventory(tmp_path, kind, pair_params, member_params))
    problems = caught.value.problems
    assert len(problems) == 1, problems
    (problem,) = problems
    assert words in problem.message, problem
    assert problem.path.endswith(path), problem
    assert problem.line in (7, 9), problem  # the pair's params or the member's line


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ("{instance: 1, vrid: 51}", "got both"),
        ("{}", "exactly one of 'instance: N'"),
        ("{vrid: 256}", "VRID must be 1..255"),
        ("{instance: 1, interface: eth0}", "'interface' goes with 'vrid'"),
    ],
)
def test_keepalived_instance_or_vrid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, params: str, words: str
) -> None:
    monkeypatch.setenv("C", "public")
    path = tmp_path / "inv.yaml"
    path.write_text(
        "devices:\n  a: {address: 10.0.0.1, snmp: {community: {env: C}}}\n"
        "  b: {address: 10.0.0.2, snmp: {community: {env: C}}}\n"
        f"pairs:\n  - {{name: p, kind: keepalived, params: {params}, members: [a, b]}}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_inventory(path)
    assert any(words in p.message for p in caught.value.problems), caught.value.problems
    path.write_text(path.read_text().replace(params, "{vrid: 51, interface: eth0}"))
    inv = load_inventory(path)
    assert [m.params for m in inv.pairs[0].members] == [KeepalivedParams(None, 51, "eth0")] * 2


def test_what_is_cached_is_answered_without_a_walk_and_a_moved_device_is_walked_again() -> None:
    walk = FakeWalk({"r1": table({3: "Vlan20"})})
    cache = NameCache(walk, Clock())
    vlan = InterfaceLookup("Vlan20")
    assert cache.cached("r1", vlan, "10.0.0.1") is None  # nothing walked yet

    async def run() -> None:
        assert await cache.resolve("r1", vlan, "10.0.0.1") == (3, None, True)
        assert cache.cached("r1", vlan, "10.0.0.1") == (3, None, False)
        # A reload that gives the device name another address: another agent, walked anew.
        walk.agent["r1"] = table({8: "Vlan20"})
        assert cache.cached("r1", vlan, "10.0.0.9") is None
        assert await cache.resolve("r1", vlan, "10.0.0.9") == (8, None, True)

    asyncio.run(run())
    assert walk.walks == ["r1", "r1"]


def test_a_table_another_pair_forgot_is_walked_for_again() -> None:
    """Two pairs on one device read the renumbered row in the same poll; the first sees the
    restart and forgets the table: the second must look again too, not judge the old row."""
    walk = FakeWalk({"r1": table({3: "Vlan20"})})
    cache = NameCache(walk, Clock())
    vlan = InterfaceLookup("Vlan20")
    asyncio.run(cache.resolve("r1", vlan))
    cache.saw_uptime("r1", 9000)
    assert cache.saw_uptime("r1", 100) is True
    assert cache.saw_missing("r1", vlan, walked=False) is True
    assert cache.saw_uptime("r1", 50) is False  # nothing cached: nothing to compare with


@pytest.mark.parametrize(
    ("kind", "params", "drill_params", "refused"),
    [
        ("keepalived", "{vrid: 51}", "{}", True),  # by VRID: the instance is not known here
        ("keepalived", "{vrid: 51}", "{instance: 2}", False),
        ("keepalived", "{instance: 1}", "{}", False),
        ("vrrp", "{vrid: 51, if_index: 2}", "{}", True),  # no keepalived instance at all
        ("vrrp", "{vrid: 51, if_index: 2}", "{instance: 1}", False),
    ],
)
def test_a_keepalived_priority_drill_never_guesses_the_instance(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
    params: str,
    drill_params: str,
    refused: bool,
) -> None:
    """Its SET goes to one instance's base priority: a guess could demote another group's
    router. A pair named by `vrid`, or of another kind, needs the drill's own `instance`."""
    monkeypatch.setenv("C", "public")
    path = tmp_path / "inv.yaml"
    path.write_text(
        "devices:\n"
        "  r1: {address: 10.0.0.1, snmp: {community: {env: C}}}\n"
        "  r2: {address: 10.0.0.2, snmp: {community: {env: C}}}\n"
        "pairs:\n"
        f"  - name: p\n    kind: {kind}\n    params: {params}\n    members: [r1, r2]\n"
        f"    drill: {{actuator: keepalived-priority, params: {drill_params}}}\n"
    )
    if not refused:
        load_inventory(path)
        return
    with pytest.raises(ConfigError) as caught:
        load_inventory(path)
    (problem,) = caught.value.problems
    assert "needs `instance: N`" in problem.message and problem.path.endswith("drill.params")
