"""Intent drift (issue 19): the inventory's virtual IP, preferred member and group against what
the devices report. Recorded agents (tests/fixtures/intent/<kind>/<case>.snmprec) and the
verdicts a person wrote for them (tests/fixtures/intent/cases.yaml), through the kinds' probes,
the table rows a walk hands over, observe and evaluate; then the metric, the JSON, the table and
the table cache. Intent never changes the pair's state."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter
from ruamel.yaml import YAML

from netmon.cli.check import pairs_table
from netmon.evaluate import evaluate, intent
from netmon.kinds import KINDS
from netmon.kinds.names import NameCache
from netmon.model import (
    Device,
    DeviceReading,
    IntentStatus,
    Inventory,
    MemberObservation,
    MemberSpec,
    MemberView,
    Missing,
    Oid,
    PairSpec,
    Role,
    Value,
    parse_oid,
)
from netmon.observe import intent_columns, observe
from netmon.report import pair_json, pairs_json
from netmon.store import StateStore

from .test_exporter import scrape
from .test_kinds_contract import snmprec_value

HERE = Path(__file__).parent / "fixtures" / "intent"
NOW = 1_700_000_000.0


@functools.cache
def expectations() -> Any:
    return YAML(typ="safe", pure=True).load((HERE / "cases.yaml").read_text())


def agent(kind: str, case: str) -> dict[Oid, Value]:
    data: dict[Oid, Value] = {}
    for raw in (HERE / kind / f"{case}.snmprec").read_text().splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            oid, tag, text = line.split("|", 2)
            data[parse_oid(oid)] = snmprec_value(tag, text)
    return data


def spec_of(case: dict[str, Any]) -> PairSpec:
    kind = KINDS.get(case["kind"])
    params_data = case.get("params", expectations()["params"][case["kind"]])
    params = TypeAdapter(kind.params_type).validate_python(params_data)
    members = tuple(MemberSpec(name, name, params) for name in case["members"])
    return PairSpec(
        "p", case["kind"], members,
        preferred=case["intent"].get("preferred"),
        virtual_ip=case["intent"].get("virtual_ip"),
    )  # fmt: skip


def read(spec: PairSpec, agents: Mapping[str, str]) -> list[MemberObservation]:
    """What the collector and the table walk hand over for each member's agent."""
    kind = KINDS.get(spec.kind)
    readings: dict[tuple[str, str], DeviceReading] = {}
    tables: dict[str, dict[Oid, Value]] = {}
    for member in spec.members:
        case = agents[member.name]
        if case == "unreachable":
            readings[(member.device, "snmp")] = DeviceReading(
                member.device, "snmp", NOW, False, reason="timeout"
            )
            continue
        data = agent(spec.kind, case)
        values: dict[Oid | str, Value] = {
            p.ident: data.get(p.oid, Missing.NO_SUCH_INSTANCE) for p in kind.probes(member.params)
        }
        readings[(member.device, "snmp")] = DeviceReading(member.device, "snmp", NOW, True, values)
        columns = intent_columns(spec)
        tables[member.device] = {
            oid: v for oid, v in data.items() if any(oid[: len(c)] == c for c in columns)
        }
    return observe(spec, readings, None, tables)


CASES = sorted(expectations()["cases"])


@pytest.mark.parametrize("name", CASES)
def test_recorded_intent_case(name: str) -> None:
    case = expectations()["cases"][name]
    spec = spec_of(case)
    status = evaluate(spec, read(spec, case["members"]), None, NOW)
    assert status.intent.in_sync is case["in_sync"], status.intent
    reasons = " | ".join(status.intent.reasons)
    for want in case.get("reasons", []):
        assert want in reasons, (want, status.intent.reasons)
    if case["in_sync"] is True:
        assert status.intent.reasons == ()
    # A ticket, never a page: the pair's verdict is the one without any intent at all.
    bare = replace(spec, preferred=spec.preferred, virtual_ip=None)
    plain = [
        replace(o, view=replace(o.view, priority=None, virtual_ips=None, group=None))
        for o in read(bare, case["members"])
    ]
    without = evaluate(spec, plain, None, NOW)
    assert (status.state, status.reasons) == (without.state, without.reasons)
    assert without.intent == IntentStatus(None)


def test_every_recorded_agent_is_used_and_each_kind_names_its_source() -> None:
    data = expectations()
    used = {(c["kind"], m) for c in data["cases"].values() for m in c["members"].values()}
    files = {(p.parent.name, p.stem) for p in HERE.glob("*/*.snmprec")}
    assert files == {u for u in used if u[1] != "unreachable"}
    assert (
        set(data["sources"])
        == set(data["params"])
        == {p.name for p in HERE.iterdir() if p.is_dir()}
    )


@pytest.mark.parametrize("kind", ["vrrp", "vrrpv3", "hsrp", "keepalived"])
def test_intent_probes_never_make_a_member_verdict_worse(kind: str) -> None:
    """The priority and address probes answered noSuchInstance (an agent without them): the
    member's role, readiness and reason are those of the same answers without the probes."""
    k = KINDS.get(kind)
    params = TypeAdapter(k.params_type).validate_python(expectations()["params"][kind])
    for path in sorted((HERE / kind).glob("*.snmprec")):
        data = agent(kind, path.stem)
        full = {p.key: data.get(p.oid, Missing.NO_SUCH_INSTANCE) for p in k.probes(params)}
        intent_keys = {"vrrpOperPriority", "vrrpv3OperationsPriority", "cHsrpGrpPriority",
                       "cHsrpGrpVirtualIpAddr", "vrrpInstanceBasePriority"}  # fmt: skip
        bare = {
            key: Missing.NO_SUCH_INSTANCE if key in intent_keys else v for key, v in full.items()
        }
        a, b = k.interpret(params, full), k.interpret(params, bare)
        assert (a.role, a.ready, a.missing) == (b.role, b.ready, b.missing), path.name
        if kind != "keepalived":  # keepalived shows its priorities in `raw` as before
            assert (a.reason, a.raw, a.identity) == (b.reason, b.raw, b.identity), path.name


def test_kinds_without_intent_give_no_verdict() -> None:
    obs = [MemberObservation("a", "a", MemberView(Role.ACTIVE), NOW)]
    spec = PairSpec("p", "cisco-rf", (), preferred="a", virtual_ip="10.0.0.1")
    assert intent(spec, obs) == IntentStatus(None)


def test_a_vanished_row_is_a_fault_not_drift() -> None:
    view = MemberView(Role.FAULT, "its row vanished", missing=True, group="ifIndex 2 VRID 51")
    a = MemberObservation("a", "a", view, NOW, vanished=True)
    b = MemberObservation("b", "b", MemberView(Role.ACTIVE, group="ifIndex 2 VRID 51"), NOW)
    spec = PairSpec("p", "vrrp", (), preferred="b")
    got = intent(spec, [a, b])
    assert got.in_sync is None, got


def test_stale_answers_are_not_read() -> None:
    view = MemberView(Role.ACTIVE, group="g", priority=200, virtual_ips=("10.0.0.1",))
    a = MemberObservation("a", "a", view, NOW, fresh=False)
    b = MemberObservation("b", "b", replace(view, role=Role.STANDBY, priority=250), NOW)
    got = intent(PairSpec("p", "vrrp", (), preferred="a", virtual_ip="10.0.0.1"), [a, b])
    assert got == IntentStatus(None, ("not read: a", "not read: the priority of a"))


def test_three_members_two_as_high_as_the_preferred() -> None:
    def member(name: str, priority: int) -> MemberObservation:
        return MemberObservation(
            name, name, MemberView(Role.STANDBY, group="g", priority=priority), NOW
        )

    got = intent(
        PairSpec("p", "vrrp", (), preferred="a"),
        [member("a", 100), member("b", 100), member("c", 120)],
    )
    assert got.in_sync is False
    assert got.reasons == (
        "the inventory prefers a but b and c have priorities as high or higher (a 100, b 100, c 120)",
    )


# ---- shown: metric, JSON, table ---------------------------------------------------------------


def _store(cases: dict[str, str]) -> StateStore:
    specs = []
    statuses = []
    for pair, name in cases.items():
        case = expectations()["cases"][name]
        spec = replace(spec_of(case), name=pair)
        specs.append(spec)
        statuses.append(evaluate(spec, read(spec, case["members"]), None, NOW))
    devices = {m.device: Device(m.device, "127.0.0.1") for s in specs for m in s.members}
    store = StateStore(Inventory(devices, tuple(specs)))
    for status in statuses:
        store.record_status(status)
    return store


def test_metric_one_zero_or_no_series() -> None:
    store = _store(
        {"ok": "vrrp_in_sync", "drift": "vrrp_vip_differs", "blind": "vrrp_member_unreachable"}
    )
    metrics = scrape(store, NOW)
    series = {labels["pair"]: v for labels, v in metrics["netmon_pair_intent_in_sync"]}
    assert series == {"ok": 1.0, "drift": 0.0}
    # The pair's state is the one the members give, intent aside.
    states = {
        labels["pair"]: labels["state"] for labels, v in metrics["netmon_pair_state"] if v == 1.0
    }
    assert states["ok"] == states["drift"] == "healthy"


def test_json_and_table_show_the_reason() -> None:
    store = _store({"ok": "vrrp_in_sync", "drift": "vrrp_preferred_lower"})
    data = pairs_json(store.snapshot(NOW))
    by_name = {p["pair"]: p for p in data["pairs"]}
    assert by_name["ok"]["intent"] == {"in_sync": True, "reasons": []}
    assert by_name["drift"]["intent"]["in_sync"] is False
    assert "r2 has the higher priority (r1 100, r2 250)" in by_name["drift"]["intent"]["reasons"][0]
    r1 = by_name["drift"]["members"][0]
    assert (r1["priority"], r1["virtual_ips"]) == (100, ["10.99.0.51"])
    table = pairs_table(data["pairs"])
    assert [c.header for c in table.columns][-1] == "INTENT"
    cells = [str(c) for c in table.columns[-1]._cells]
    assert cells[0].startswith("the inventory prefers r1") and cells[1] == "in sync"
    # No drift anywhere: no column (the table stays as it was).
    calm = pairs_json(_store({"ok": "vrrp_in_sync"}).snapshot(NOW))["pairs"]
    assert "INTENT" not in [c.header for c in pairs_table(calm).columns]
    assert pair_json(store.snapshot(NOW).pairs["ok"])["intent"]["in_sync"] is True


# ---- the table cache: one walk, refreshed in the background, a failure is not known ----------


def test_tables_walked_once_then_again_in_the_background() -> None:
    column: Oid = (1, 3, 6, 1, 2, 1, 68, 1, 4, 1, 2)
    walks: list[int] = []
    clock = [0.0]
    fail = [False]

    async def walk(device: str, columns: tuple[Oid, ...]) -> tuple[dict[Oid, Value], list[str]]:
        walks.append(len(walks))
        if fail[0]:
            raise OSError("no answer")
        return {(*column, 2, 51, 10, 0, 0, len(walks)): 1}, []

    async def run() -> None:
        cache = NameCache(walk, lambda: clock[0])
        first = await cache.rows("r1", (column,), max_age=300)
        assert first == {(*column, 2, 51, 10, 0, 0, 1): 1}
        assert await cache.rows("r1", (column,), max_age=300) == first and len(walks) == 1
        clock[0] = 301
        assert await cache.rows("r1", (column,), max_age=300) == first  # the last rows meanwhile
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert len(walks) == 2
        assert await cache.rows("r1", (column,), max_age=300) == {(*column, 2, 51, 10, 0, 0, 2): 1}
        fail[0] = True
        assert await cache.rows("r2", (column,), max_age=300) is None  # not known, never partial

    asyncio.run(run())


# ---- end to end: snmpsim serves the recorded agents, `netmon check` walks and judges ---------


@pytest.mark.daemon
def test_recorded_intent_read_end_to_end_by_netmon_check(tmp_path: Path) -> None:
    """The same cases through the real collector: the priorities in the poll's reads, the
    address tables walked whole (NameCache.rows over walk_columns), judged as the cases say."""
    import json
    import os
    import subprocess
    import sys

    from .conftest import free_udp_port
    from .test_kinds_snmpsim import snmpsim_agent

    cases: dict[str, Any] = dict(expectations()["cases"])
    first = next(iter((HERE / "vrrp").glob("*.snmprec")))
    oid = next(line.split("|")[0] for line in first.read_text().splitlines() if "|" in line)
    dead = free_udp_port()
    with snmpsim_agent(HERE, tmp_path, f"vrrp/{first.stem}", oid) as port:
        devices, pairs, env = [], [], {**os.environ, "C_DEAD": "public"}
        for i, (name, case) in enumerate(sorted(cases.items())):
            members = []
            for member, agent_case in case["members"].items():
                dev = f"d{i}-{member}"
                if agent_case == "unreachable":
                    devices.append(
                        f"  {dev}: {{address: 127.0.0.1, snmp: {{port: {dead}, community: {{env: C_DEAD}}}}}}"
                    )
                else:
                    env[f"C_{i}_{member}"] = f"{case['kind']}/{agent_case}"
                    devices.append(
                        f"  {dev}: {{address: 127.0.0.1, snmp: {{port: {port}, community: {{env: C_{i}_{member}}}}}}}"
                    )
                members.append(f"{{name: {member}, device: {dev}}}")
            params = json.dumps(case.get("params", expectations()["params"][case["kind"]]))
            extra = "".join(f", {k}: {json.dumps(str(v))}" for k, v in case["intent"].items())
            pairs.append(
                f"  - {{name: {name}, kind: {case['kind']}, params: {params}{extra}, "
                f"members: [{', '.join(members)}]}}"
            )
        inventory = tmp_path / "intent.yaml"
        inventory.write_text(
            "version: 1\ndefaults:\n  snmp: {timeout: 1, retries: 0}\n"
            "  pair: {probes: {enabled: false}}\n"
            "devices:\n" + "\n".join(devices) + "\npairs:\n" + "\n".join(pairs) + "\n"
        )
        run = subprocess.run(
            [sys.executable, "-m", "netmon", "check", "-i", str(inventory), "--json"],
            env=env, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
    assert run.returncode in (0, 1), run.stderr[-3000:]
    got = {p["pair"]: p["intent"] for p in json.loads(run.stdout)["pairs"]}
    wrong = []
    for name, case in cases.items():
        reasons = " | ".join(got[name]["reasons"])
        if got[name]["in_sync"] is not case["in_sync"] or not all(
            want in reasons for want in case.get("reasons", [])
        ):
            wrong.append((name, case["in_sync"], got[name]))
    assert not wrong, wrong
