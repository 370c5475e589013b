"""One contract, every kind: recorded varbinds in, documented roles out; never an exception.

Fixtures are recorded values by OID (tests/fixtures/kinds/<kind>.yaml), so they also prove that
each kind asks for the OIDs real agents serve.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter
from ruamel.yaml import YAML

from netmon.kinds import KINDS, KindRegistry, UnknownKind
from netmon.model import DeviceReading, MemberSpec, Missing, PairSpec, Role, Value, parse_oid
from netmon.observe import observe_member

from .helpers import fuzz_examples

FIXTURES = Path(__file__).parent / "fixtures" / "kinds"
DOCS = Path(__file__).resolve().parent.parent / "docs" / "kinds.md"
MISSING = {f"!{m.value}": m for m in Missing}


def load_fixture(kind: str) -> dict[str, Any]:
    data: dict[str, Any] = YAML(typ="safe", pure=True).load((FIXTURES / f"{kind}.yaml").read_text())
    return data


def recorded(raw: dict[str, Any]) -> dict[tuple[int, ...] | str, Value]:
    out: dict[tuple[int, ...] | str, Value] = {}
    for oid, value in raw.items():
        if isinstance(value, str) and value in MISSING:
            out[parse_oid(str(oid))] = MISSING[value]
        else:
            out[parse_oid(str(oid))] = value if isinstance(value, int) else str(value)
    return out


def params_for(kind_name: str, raw: dict[str, Any]) -> Any:
    kind = KINDS.get(kind_name)
    params = TypeAdapter(kind.params_type).validate_python(raw)
    assert kind.check(params) == []
    return params


def cases() -> list[tuple[str, str]]:
    return [(k, c) for k in KINDS.names() for c in load_fixture(k)["cases"]]


@pytest.mark.parametrize("kind_name", KINDS.names())
def test_every_kind_has_recorded_cases_for_each_role(kind_name: str) -> None:
    fixture = load_fixture(kind_name)
    roles = {case["role"] for case in fixture["cases"].values()}
    assert {"active", "standby", "unknown"} <= roles, f"{kind_name}: cover active, standby, unknown"
    assert roles & {"fault"} or any(c.get("ready") is False for c in fixture["cases"].values())


@pytest.mark.parametrize(("kind_name", "case"), cases())
def test_recorded_case(kind_name: str, case: str) -> None:
    fixture = load_fixture(kind_name)
    spec = fixture["cases"][case]
    params = params_for(kind_name, fixture["params"])
    kind = KINDS.get(kind_name)
    pair = PairSpec("p", kind_name, (MemberSpec("m", "d", params),))
    if kind.transport == "ssh":
        # Recorded CLI output by probe key; the reading holds it by command, as the collector does.
        outputs = spec["outputs"]
        values: dict[tuple[int, ...] | str, Value] = {
            p.ident: outputs[p.key] for p in kind.probes(params) if p.key in outputs
        }
    else:
        values = recorded(spec["values"])
    reading = DeviceReading("d", kind.transport, at=1.0, ok=True, values=values)
    obs = observe_member(pair, pair.members[0], {("d", kind.transport): reading})
    assert obs.view.role is Role(spec["role"]), obs.view
    assert obs.view.ready is spec.get("ready", True), obs.view
    if obs.view.role not in (Role.ACTIVE, Role.STANDBY) or not obs.view.ready:
        assert obs.view.reason, "a member that is not plainly active/standby must say why"


@pytest.mark.parametrize("kind_name", KINDS.names())
def test_no_answer_is_unknown_never_active(kind_name: str) -> None:
    kind = KINDS.get(kind_name)
    params = params_for(kind_name, load_fixture(kind_name)["params"])
    assert kind.interpret(params, {}).role is Role.UNKNOWN


@pytest.mark.parametrize("kind_name", KINDS.names())
def test_probes_are_valid_and_stable(kind_name: str) -> None:
    kind = KINDS.get(kind_name)
    params = params_for(kind_name, load_fixture(kind_name)["params"])
    probes = kind.probes(params)
    assert probes == kind.probes(params)
    assert len({p.key for p in probes}) == len(probes)
    for probe in probes:
        assert probe.method in ("get", "walk", "ssh")
        if probe.method == "ssh":
            assert probe.command
            assert kind.transport == "ssh"
        else:
            assert probe.oid[: len(probe.walk_start())] == probe.walk_start()
        assert probe.method == "ssh" or probe.oid[:2] == (1, 3)


@pytest.mark.parametrize("kind_name", KINDS.names())
def test_documented_in_kinds_md(kind_name: str) -> None:
    """docs/kinds.md has a section per kind listing every raw value of its role table."""
    text = DOCS.read_text()
    section = text.split(f"## `{kind_name}`", 1)
    assert len(section) == 2, f"docs/kinds.md lacks a '## `{kind_name}`' section"
    body = section[1].split("\n## ", 1)[0]
    for raw, row in getattr(KINDS.get(kind_name), "roles", {}).items():
        assert f"| {raw} |" in body, f"{kind_name}: raw value {raw} missing from docs"
        assert row.role.value in body


values_strategy = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**64),
    st.text(max_size=30),
    st.sampled_from(list(Missing)),
)


@pytest.mark.parametrize("kind_name", KINDS.names())
@settings(max_examples=fuzz_examples(200), deadline=None)
@given(data=st.data())
def test_interpret_never_raises(kind_name: str, data: st.DataObject) -> None:
    kind = KINDS.get(kind_name)
    params = params_for(kind_name, load_fixture(kind_name)["params"])
    values = {p.key: data.draw(values_strategy) for p in kind.probes(params)}
    view = kind.interpret(params, values)
    assert isinstance(view.role, Role)
    if view.role is Role.ACTIVE:
        # Only a value from the kind's table may make a member active.
        main_key = kind.probes(params)[0].key
        main = values.get(main_key)
        assert (
            isinstance(main, int)
            or kind_name in ("custom", "cisco-rf")
            or kind.transport == "ssh"
            # String-valued MIBs: only a state of the kind's table, or a standalone unit.
            or (isinstance(main, str) and main.strip().lower() in getattr(kind, "roles", {}))
            or view.raw == "mode disabled (standalone)"
        )


SSH_KINDS = [name for name in KINDS.names() if KINDS.get(name).transport == "ssh"]


@pytest.mark.parametrize("kind_name", SSH_KINDS)
@settings(max_examples=fuzz_examples(200), deadline=None)
@given(data=st.data())
def test_mangled_cli_output_is_a_role_never_a_crash(kind_name: str, data: st.DataObject) -> None:
    """Real recorded CLI outputs, cut short, with junk inserted, lines repeated or dropped:
    the interpreter answers a role (or unknown), never raises; and an output that no longer
    holds its active line cannot make a standby active."""
    fixture = load_fixture(kind_name)
    kind = KINDS.get(kind_name)
    params = params_for(kind_name, fixture["params"])
    case = data.draw(st.sampled_from(sorted(fixture["cases"])))
    outputs: dict[str, Any] = dict(fixture["cases"][case]["outputs"])
    for key in list(outputs):
        lines = str(outputs[key]).splitlines(keepends=True)
        action = data.draw(st.sampled_from(["cut", "junk", "repeat", "drop", "empty", "keep"]))
        if action == "cut" and lines:
            text = "".join(lines)
            outputs[key] = text[: data.draw(st.integers(0, len(text)))]
        elif action == "junk":
            at = data.draw(st.integers(0, len(lines)))
            junk = data.draw(st.text(max_size=80))
            outputs[key] = "".join([*lines[:at], junk, *lines[at:]])
        elif action == "repeat" and lines:
            at = data.draw(st.integers(0, len(lines) - 1))
            outputs[key] = "".join([*lines[: at + 1], lines[at], *lines[at + 1 :]])
        elif action == "drop" and lines:
            at = data.draw(st.integers(0, len(lines) - 1))
            outputs[key] = "".join([*lines[:at], *lines[at + 1 :]])
        elif action == "empty":
            outputs[key] = ""
    values: dict[str, Value] = {
        p.key: outputs[p.key] for p in kind.probes(params) if p.key in outputs
    }
    view = kind.interpret(params, values)
    assert isinstance(view.role, Role)
    if fixture["cases"][case]["role"] != "active":
        # Mangling can hide or break information; it must not invent an active member... unless
        # junk happens to spell an active line, which hypothesis' short random text does not.
        assert view.role is not Role.ACTIVE or kind_name in ("keepalived-ssh", "linux-vip"), (
            case,
            outputs,
            view,
        )


def test_registry_refuses_duplicates_and_lists_choices() -> None:
    registry = KindRegistry()
    kind = KINDS.get("vrrp")
    registry.register(kind)
    with pytest.raises(ValueError, match="already registered"):
        registry.register(kind)
    with pytest.raises(UnknownKind, match="choose one of: vrrp"):
        registry.get("vrpp")


def assert_pair_state(
    kind: str,
    members: tuple[MemberSpec, ...],
    values: dict[tuple[int, ...] | str, Value],
    state: str,
    reason: str | None,
) -> None:
    """Judge a one-agent pair (every member on device "d") from one reading: its state, and a
    reason containing `reason` (or no reason at all)."""
    from netmon.evaluate import evaluate
    from netmon.model import PairState
    from netmon.observe import observe

    pair = PairSpec("p", kind, members)
    reading = DeviceReading("d", "snmp", at=1.0, ok=True, values=values)
    status = evaluate(pair, observe(pair, {("d", "snmp"): reading}, {}), None, 1.0)
    assert status.state is PairState(state), status.reasons
    if reason is None:
        assert status.reasons == ()
    else:
        assert any(reason in r for r in status.reasons), status.reasons


@pytest.mark.parametrize(
    ("mode", "local", "peer", "state", "reason"),
    [
        ("disabled", "disabled", "unknown", "degraded", "redundancy not configured"),
        ("active-passive", "active", "passive", "healthy", None),
        ("active-passive", "active", "unknown", "degraded", "peer absent"),
        ("active-passive", "active", "initial", "degraded", "not yet synchronized"),
    ],
)
def test_one_agent_speaks_for_both_firewalls(
    mode: str, local: str, peer: str, state: str, reason: str | None
) -> None:
    """A single-device pair (`local` and `peer` units of one firewall's agent), judged as a pair:
    a standalone firewall is degraded with its reason, never healthy."""
    from netmon.kinds.paloalto import HA_MODE, HA_PEER_STATE, HA_STATE, PaloAltoHaParams

    members = (
        MemberSpec("fw-local", "d", PaloAltoHaParams("local")),
        MemberSpec("fw-peer", "d", PaloAltoHaParams("peer")),
    )
    values: dict[tuple[int, ...] | str, Value] = {
        HA_MODE: mode,
        HA_STATE: local,
        HA_PEER_STATE: peer,
    }
    assert_pair_state("paloalto-ha", members, values, state, reason)


@pytest.mark.parametrize(
    ("primary", "secondary", "state", "reason"),
    [
        ((3, "Failover Off"), (3, "Failover Off"), "degraded", "redundancy not configured"),
        ((9, "Active unit"), (10, "Standby unit"), "healthy", None),
        ((9, "Active unit"), (3, "Failed"), "degraded", "down"),
        ((9, "Active unit"), (6, "Sync Config"), "degraded", "synchronizing"),
    ],
)
def test_asa_units_judged_as_a_pair(
    primary: tuple[int, str], secondary: tuple[int, str], state: str, reason: str | None
) -> None:
    from netmon.kinds.cisco_asa import STATUS_DETAIL, STATUS_VALUE, CiscoAsaParams

    members = (
        MemberSpec("asa-1", "d", CiscoAsaParams("primary")),
        MemberSpec("asa-2", "d", CiscoAsaParams("secondary")),
    )
    values: dict[tuple[int, ...] | str, Value] = {
        (*STATUS_VALUE, 6): primary[0], (*STATUS_DETAIL, 6): primary[1],
        (*STATUS_VALUE, 7): secondary[0], (*STATUS_DETAIL, 7): secondary[1],
    }  # fmt: skip
    assert_pair_state("cisco-asa", members, values, state, reason)


@pytest.mark.parametrize(
    ("mode", "rows", "state", "reason"),
    [
        (1, [], "degraded", "redundancy not configured"),
        (3, [("FGT-A", 1, "FGT-A"), ("FGT-B", 1, "FGT-A")], "healthy", None),
        (3, [("FGT-A", 1, "FGT-A")], "degraded", "peer absent"),
        (3, [("FGT-A", 1, "FGT-A"), ("FGT-B", 0, "FGT-A")], "degraded", "not synchronized"),
    ],
)
def test_fortigate_cluster_judged_as_a_pair(
    mode: int, rows: list[tuple[str, int, str]], state: str, reason: str | None
) -> None:
    from netmon.kinds.fortigate import HA_MODE, HA_STATS, SYS_SERIAL, FortigateHaParams

    members = (
        MemberSpec("fgt-a", "d", FortigateHaParams("FGT-A")),
        MemberSpec("fgt-b", "d", FortigateHaParams("FGT-B")),
    )
    values: dict[tuple[int, ...] | str, Value] = {HA_MODE: mode, SYS_SERIAL: "FGT-A"}
    for i, (serial, sync, primary) in enumerate(rows, start=1):
        values[(*HA_STATS, 2, i)] = serial
        values[(*HA_STATS, 12, i)] = sync
        values[(*HA_STATS, 16, i)] = primary
    assert_pair_state("fortigate-ha", members, values, state, reason)


def test_cisco_rf_shows_the_last_switchover() -> None:
    fixture = load_fixture("cisco-rf")
    case = fixture["cases"]["active_after_a_failure"]
    kind = KINDS.get("cisco-rf")
    params = params_for("cisco-rf", fixture["params"])
    values = recorded(case["values"])
    view = kind.interpret(
        params, {p.key: values[p.oid] for p in kind.probes(params) if p.oid in values}
    )
    assert view.raw is not None
    assert "last switchover: activeUnitFailed at uptime 3600s" in view.raw


REDUNDANCY_KINDS = [
    "cisco-rf", "junos-re", "entity-standby", "arista-redundancy", "cisco-asa", "fortigate-ha",
    "paloalto-ha",
]  # fmt: skip


@pytest.mark.parametrize("kind_name", REDUNDANCY_KINDS)
def test_redundancy_kinds_record_the_four_cases(kind_name: str) -> None:
    """Chassis and firewall kinds: an active unit, a ready standby, a standby that is not ready
    and an absent peer, each recorded (issue: every kind covers all four)."""
    cases = load_fixture(kind_name)["cases"]
    seen = {(c["role"], c.get("ready", True)) for c in cases.values()}
    assert {("active", True), ("standby", True), ("standby", False)} <= seen
    assert any("absent" in name and c["role"] == "fault" for name, c in cases.items())


@pytest.mark.parametrize(
    ("kind", "params", "message"),
    [
        ("junos-re", "{re: 5}", "routing engine must be 0..1"),
        ("paloalto-ha", "{unit: middle}", "unit"),
        ("cisco-asa", "{unit: tertiary}", "unit"),
        ("fortigate-ha", "{serial: ' '}", "serial number must not be empty"),
        ("entity-standby", "{physical_index: 0}", "entPhysicalIndex must be 1 or more"),
        ("arista-redundancy", "{unit: 1}", "unit"),
    ],
)
def test_redundancy_kind_params_are_checked_by_the_inventory(
    tmp_path: Path, kind: str, params: str, message: str
) -> None:
    from netmon.errors import ConfigError
    from netmon.inventory import load_inventory

    path = tmp_path / "inv.yaml"
    path.write_text(
        "version: 1\ndevices:\n  d: {address: 10.99.0.9, snmp: {community: {env: HOME}}}\n"
        f"pairs:\n  - name: p\n    kind: {kind}\n    members:\n"
        f"      - {{name: a, device: d, params: {params}}}\n"
        f"      - {{name: b, device: d, params: {params}}}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_inventory(path)
    text = str(caught.value)
    assert "pairs[0].members[0].params" in text, text
    assert message in text, text
