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


def case_params(fixture: dict[str, Any], case: str) -> Any:
    """A case's own `params:` (replacing the fixture's, not merged), else the fixture's."""
    return fixture["cases"][case].get("params", fixture["params"])


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
    params = params_for(kind_name, case_params(fixture, case))
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
    # Optional expectations: text the reason, the identity shown to operators and the active
    # peer the member hears must contain (null: must be absent).
    for key in ("reason", "identity", "peer_active"):
        if key in spec:
            got = getattr(obs.view, key)
            if spec[key] is None:
                assert got is None, (key, got)
            else:
                assert got is not None and spec[key] in got, (key, got)
    if "peer_active" not in spec:
        # Evidence of a live active peer is never invented: a case that records none hears none.
        assert obs.view.peer_active is None, obs.view


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


# Kinds whose first probe is the member's own state in their role table (the fuzz test checks
# that peer evidence only follows from a value of that table).
STATE_FIRST_KINDS = ("hsrp", "vrrp", "vrrpv3", "keepalived", "cisco-asa", "paloalto-ha")

PLAUSIBLE: list[Value] = [
    "10.99.0.11", "0.0.0.0", "dc12", "\n\x63\x00\x0b", "active-passive", "active-active",
    "disabled", "Active unit", "Failover Off", 9, 6,
]  # fmt: skip

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
    # Random values, and values a device of the kind really sends (its states, addresses), so
    # that the paths that read a peer are reached too.
    real = st.sampled_from([*getattr(kind, "roles", {}), *PLAUSIBLE])
    strategy = st.one_of(values_strategy, real)
    values = {p.key: data.draw(strategy) for p in kind.probes(params)}
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
    if view.peer_active is not None:
        # Evidence of a live active peer comes only from a member read as a standby or in fault
        # (an active member vouches for itself; an unknown one says nothing), bounded text...
        assert view.role in (Role.STANDBY, Role.FAULT), view
        assert len(view.peer_active) <= 100, view
        if kind_name in STATE_FIRST_KINDS:
            # ...and from a state of the kind's own table, never from a value outside it.
            main = values.get(kind.probes(params)[0].key)
            state = main.strip().lower() if isinstance(main, str) else main
            table = getattr(kind, "roles", {})
            assert not isinstance(state, bool) and state in table, (main, view)


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
    active: tuple[str, ...] | None = None,
) -> None:
    """Judge a one-agent pair (every member on device "d") from one reading: its state, and a
    reason containing `reason` (or no reason at all); and, when given, its active members."""
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
    if active is not None:
        assert status.active_members == active, status.members


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


@pytest.mark.parametrize(
    ("local", "peer", "extra", "state", "reason", "active"),
    [
        (14, 9, {}, "healthy", None, ("sup-a",)),
        (9, 14, {}, "healthy", None, ("sup-b",)),  # the agent runs on the standby unit
        (14, 5, {}, "degraded", "standbyCold", ("sup-a",)),
        (14, 1, {}, "degraded", "peer absent", ("sup-a",)),
        # A simplex chassis as agents report it: unit ids 0, peer disabled, duplex false.
        (14, 2, {"ids": 0, "duplex": 2}, "degraded", "redundancy not configured", ("sup-a",)),
        (14, 9, {"ids": 0, "duplex": 2}, "degraded", "redundancy not configured", ("sup-a",)),
    ],
)
def test_cisco_rf_units_named_local_and_peer_judged_as_a_pair(
    local: int, peer: int, extra: dict[str, int], state: str, reason: str | None,
    active: tuple[str, ...],
) -> None:  # fmt: skip
    """RF units addressed as the MIB describes them (this unit, its peer): no unit ids needed."""
    from netmon.kinds import cisco_rf as rf

    members = (
        MemberSpec("sup-a", "d", rf.CiscoRfParams(unit="local")),
        MemberSpec("sup-b", "d", rf.CiscoRfParams(unit="peer")),
    )
    values: dict[tuple[int, ...] | str, Value] = {
        rf.UNIT_STATE: local,
        rf.PEER_UNIT_STATE: peer,
        rf.UNIT_ID: extra.get("ids", Missing.NO_SUCH_INSTANCE),
        rf.PEER_UNIT_ID: extra.get("ids", Missing.NO_SUCH_INSTANCE),
    }
    if "duplex" in extra:
        values[rf.DUPLEX_MODE] = extra["duplex"]
    assert_pair_state("cisco-rf", members, values, state, reason, active)


def test_cisco_rf_params_name_exactly_one_unit() -> None:
    from netmon.kinds.cisco_rf import CiscoRfParams

    kind = KINDS.get("cisco-rf")
    assert kind.check(CiscoRfParams(unit="peer")) == []
    assert kind.check(CiscoRfParams(unit_id=2)) == []
    ((field, both),) = kind.check(CiscoRfParams(unit_id=2, unit="peer"))
    assert field == "unit"
    assert "not both" in both
    ((field, neither),) = kind.check(CiscoRfParams())
    assert "unit: local" in neither
    assert "unit_id" in neither


JNX = (1, 3, 6, 1, 4, 1, 2636, 3, 1, 14, 1)


def jnx_rows(*rows: tuple[int, str, int]) -> dict[tuple[int, ...] | str, Value]:
    """jnxRedundancyTable rows (L1 index, jnxRedundancyDescr, jnxRedundancyState) under 9.x.0.0."""
    values: dict[tuple[int, ...] | str, Value] = {}
    for slot, descr, state in rows:
        values[(*JNX, 5, 9, slot, 0, 0)] = descr
        values[(*JNX, 7, 9, slot, 0, 0)] = state
        values[(*JNX, 6, 9, slot, 0, 0)] = state
    return values


EX_VC = ((1, "Routing Engine 1", 2), (2, "Routing Engine 0", 3))  # row 9.1.0.0 is RE1, master


@pytest.mark.parametrize(
    ("names", "rows", "state", "reason", "active"),
    [
        ([{"re": 0}, {"re": 1}], EX_VC, "healthy", None, ("re1",)),
        (
            [{"descr": "Routing Engine 0"}, {"descr": "routing engine 1"}],
            EX_VC,
            "healthy",
            None,
            ("re1",),
        ),
        ([{"slot": 2}, {"slot": 1}], EX_VC, "healthy", None, ("re1",)),
        (
            [{"re": 0}, {"re": 1}],
            ((1, "Routing Engine 0", 2),),
            "degraded",
            "peer absent: no row described 'Routing Engine 1'; rows: 9.1.0.0 'Routing Engine 0' master",
            ("re0",),
        ),
        (
            [{"re": 0}, {"re": 1}],
            ((1, "Routing Engine 0", 2), (2, "Routing Engine 1", 4)),
            "degraded",
            "disabled",
            ("re0",),
        ),
        # No row answered (noSuchObject everywhere): netmon cannot tell, never `down`.
        ([{"re": 0}, {"re": 1}], (), "unknown", "no routing engine row answered", ()),
    ],
)
def test_junos_routing_engines_found_by_what_the_device_says(
    names: list[dict[str, Any]], rows: tuple[tuple[int, str, int], ...], state: str,
    reason: str | None, active: tuple[str, ...],
) -> None:  # fmt: skip
    """The EX virtual chassis case: row 9.1.0.0 is "Routing Engine 1" and it is the master; the
    member named RE1 (by `re`, `descr` or `slot`) is the active one, whatever the row position."""
    from netmon.kinds.junos_re import JunosReParams

    members = tuple(
        MemberSpec(f"re{i}", "d", params_for("junos-re", name)) for i, name in enumerate(names)
    )
    assert all(isinstance(m.params, JunosReParams) for m in members)
    values = jnx_rows(*rows)
    if not rows:
        values = {(*JNX, c, 9, s, 0, 0): Missing.NO_SUCH_OBJECT for c in (5, 7) for s in (1, 2)}
    assert_pair_state("junos-re", members, values, state, reason, active)


def inventory_error(tmp_path: Path, kind: str, params: str) -> str:
    """What the inventory loader says of a two-member pair of `kind` whose members both have
    `params` (flow YAML) on one device."""
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
    return str(caught.value)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ("{}", "exactly one of 're: N'"),
        ("{re: 1, slot: 2}", "got re and slot"),
        ("{descr: ' '}", "description must not be empty"),
        ("{slot: -1}", "slot (jnxRedundancyL1Index) must be 0 or more"),
        ("{hostname: fw-a, serial: FGT-A}", "not both"),
    ],
)
def test_identity_params_name_exactly_one_unit(tmp_path: Path, params: str, message: str) -> None:
    kind = "fortigate-ha" if "hostname" in params else "junos-re"
    text = inventory_error(tmp_path, kind, params)
    assert message in text, text


FGT_MODE = (1, 3, 6, 1, 4, 1, 12356, 101, 13, 1, 1, 0)
FGT_SERIAL = (1, 3, 6, 1, 4, 1, 12356, 100, 1, 1, 1, 0)
SYS_NAME = (1, 3, 6, 1, 2, 1, 1, 5, 0)


def fgt_rows(
    rows: list[tuple[str | None, str | None, int, str | None]],
) -> dict[tuple[int, ...] | str, Value]:
    """fgHaStatsTable rows: (serial, hostname, sync status, master serial); None: not answered."""
    from netmon.kinds.fortigate import HA_STATS

    values: dict[tuple[int, ...] | str, Value] = {}
    for i, (serial, hostname, sync, primary) in enumerate(rows, start=1):
        values[(*HA_STATS, 2, i)] = serial if serial is not None else Missing.NO_SUCH_INSTANCE
        values[(*HA_STATS, 11, i)] = hostname if hostname is not None else Missing.NO_SUCH_INSTANCE
        values[(*HA_STATS, 12, i)] = sync
        values[(*HA_STATS, 16, i)] = primary if primary is not None else Missing.NO_SUCH_INSTANCE
    return values


NO = Missing.NO_SUCH_INSTANCE
HOSTS_ONLY = [(None, "fw-a", 1, "FGT-A"), (None, "fw-b", 1, "FGT-A")]


@pytest.mark.parametrize(
    ("by", "scalars", "rows", "state", "reason", "active"),
    [
        # Rows with hostnames, no serials: linked through the agent's own unit (sysName, serial).
        ("hostname", (3, "FGT-A", "fw-a"), HOSTS_ONLY, "healthy", None, ("fgt-a",)),
        ("hostname", (3, "FGT-B", "fw-b"), HOSTS_ONLY, "healthy", None, ("fgt-a",)),
        # By serial: the primary's serial says who is active; the other serial cannot be
        # matched to a row (is the other row FGT-B?): unknown, with the fix in its reason.
        (
            "serial",
            (3, "FGT-A", "fw-a"),
            HOSTS_ONLY,
            "degraded",
            "name the member by hostname",
            ("fgt-a",),
        ),
        # No fgHaSystemMode at all, two synchronized members and a primary: a cluster.
        (
            "serial",
            (NO, "FGT-A", NO),
            [("FGT-A", "fw-a", 1, "FGT-A"), ("FGT-B", "fw-b", 1, "FGT-A")],
            "healthy",
            None,
            ("fgt-a",),
        ),
        (
            "hostname",
            (NO, NO, NO),
            [("FGT-A", "fw-a", 1, "FGT-A"), ("FGT-B", "fw-b", 0, "FGT-A")],
            "degraded",
            "configuration not synchronized",
            ("fgt-a",),
        ),
        # Standalone, the agent's own serial unknown: serving without redundancy (needs the
        # evaluate rule: no active member, but members hear a live active one -> degraded).
        ("serial", (1, NO, NO), [], "degraded", "redundancy not configured", ()),
        ("hostname", (1, NO, NO), [], "degraded", "redundancy not configured", ()),
        # Rows with hostnames only and nothing linking a hostname to the primary's serial:
        # netmon does not guess the primary. All members unknown: the pair is unknown.
        ("hostname", (3, NO, NO), HOSTS_ONLY, "unknown", "cannot tell whether fw-a", ()),
    ],
)
def test_fortigate_members_named_as_the_device_reports_them(
    by: str, scalars: tuple[Value, Value, Value], rows: list[tuple[str | None, str | None, int, str | None]],
    state: str, reason: str | None, active: tuple[str, ...],
) -> None:  # fmt: skip
    from netmon.kinds.fortigate import FortigateHaParams

    names = {"serial": ("FGT-A", "FGT-B"), "hostname": ("fw-a", "fw-b")}[by]
    members = tuple(
        MemberSpec(f"fgt-{n[-1].lower()}", "d", FortigateHaParams(**{by: n})) for n in names
    )
    values = fgt_rows(rows)
    values.update({FGT_MODE: scalars[0], FGT_SERIAL: scalars[1], SYS_NAME: scalars[2]})
    assert_pair_state("fortigate-ha", members, values, state, reason, active)


def case_param_variants() -> list[tuple[str, str]]:
    """(kind, case) for every case whose own `params` differ from its fixture's."""
    out = []
    for k in KINDS.names():
        fixture = load_fixture(k)
        seen: list[Any] = [fixture["params"]]
        for case in fixture["cases"]:
            params = case_params(fixture, case)
            if params not in seen:
                seen.append(params)
                out.append((k, case))
    return out


@pytest.mark.parametrize(("kind_name", "case"), case_param_variants())
@settings(max_examples=fuzz_examples(100), deadline=None)
@given(data=st.data())
def test_case_params_never_raise_and_no_answer_is_unknown(
    kind_name: str, case: str, data: st.DataObject
) -> None:
    """The fuzz and no-answer contracts, for the params the cases name themselves."""
    kind = KINDS.get(kind_name)
    params = params_for(kind_name, case_params(load_fixture(kind_name), case))
    assert kind.interpret(params, {}).role is Role.UNKNOWN
    values = {p.key: data.draw(values_strategy) for p in kind.probes(params)}
    assert isinstance(kind.interpret(params, values).role, Role)


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
    text = inventory_error(tmp_path, kind, params)
    assert "pairs[0].members[0].params" in text, text
    assert message in text, text


# ---- What a member hears about its peer, judged as a pair ----------------------------------

HSRP = "1.3.6.1.4.1.9.9.106.1.2.1.1"
VRRP = "1.3.6.1.2.1.68.1.3.1"
VRRPV3 = "1.3.6.1.2.1.207.1.1.1.1"
KA = "1.3.6.1.4.1.9586.100.5.2.3.1"
ASA = "1.3.6.1.4.1.9.9.147.1.2.1.1.1"
PAN = "1.3.6.1.4.1.25461.2.1.2.1"
IOS_HSRP_STANDBY = """\
Interface   Grp  Pri P State   Active          Standby         Virtual IP
Gi0/1       1    100 P Standby 10.99.1.2       local           10.99.1.1
"""
CRM_MON_ON_B = """\
<pacemaker-result><nodes>
  <node name="web-a" online="true" standby="false"/><node name="web-b" online="true" standby="false"/>
</nodes><resources><group id="web">
  <resource id="vip" active="true"><node name="web-b"/></resource>
</group></resources></pacemaker-result>
"""


def judge_two(
    kind_name: str,
    params: tuple[dict[str, Any], dict[str, Any]],
    second: dict[str, Any],
    first: dict[str, Any] | None = None,
) -> tuple[str, tuple[str, ...]]:
    """A pair r1 (device a), r2 (device b): r1's device answers `first` or times out, r2's answers
    `second` (SNMP values by OID, or CLI outputs by probe key). Returns (state, reasons)."""
    from netmon.evaluate import evaluate
    from netmon.observe import observe

    kind = KINDS.get(kind_name)
    members = tuple(
        MemberSpec(name, device, params_for(kind_name, p))
        for name, device, p in (("r1", "a", params[0]), ("r2", "b", params[1]))
    )
    pair = PairSpec("p", kind_name, members)

    def reading(device: str, member: MemberSpec, raw: dict[str, Any] | None) -> DeviceReading:
        if raw is None:
            return DeviceReading(device, kind.transport, at=1.0, ok=False, reason="timeout")
        if kind.transport == "ssh":
            values: dict[tuple[int, ...] | str, Value] = {
                p.ident: raw[p.key] for p in kind.probes(member.params) if p.key in raw
            }
        else:
            values = recorded(raw)
        return DeviceReading(device, kind.transport, at=1.0, ok=True, values=values)

    readings = {
        ("a", kind.transport): reading("a", members[0], first),
        ("b", kind.transport): reading("b", members[1], second),
    }
    status = evaluate(pair, observe(pair, readings, {}), None, 1.0)
    return status.state.value, status.reasons


# (kind, params of r1 and r2, what r2's device answers: a standby that hears r1, r1's name)
HEARD_CASES = [
    ("hsrp", ({"if_index": 5, "group": 10},) * 2,
     {f"{HSRP}.15.5.10": 5, f"{HSRP}.13.5.10": "10.99.0.11", f"{HSRP}.14.5.10": "10.99.0.12"},
     "10.99.0.11"),
    ("vrrp", ({"if_index": 2, "vrid": 51},) * 2,
     {f"{VRRP}.3.2.51": 2, f"{VRRP}.7.2.51": "10.99.0.11", f"{VRRP}.8.2.51": "10.99.0.12"},
     "10.99.0.11"),
    # The lab's keepalived: 10.99.0.11 as 4 raw bytes, as the collectors decode them.
    ("vrrpv3", ({"if_index": 2, "vrid": 52},) * 2,
     {f"{VRRPV3}.6.2.52.1": 2, f"{VRRPV3}.3.2.52.1": "\n\x63\x00\x0b",
      f"{VRRPV3}.4.2.52.1": "\n\x63\x00\x0c"},
     "10.99.0.11"),
    ("keepalived", ({"instance": 1},) * 2, {f"{KA}.4.1": 1, f"{KA}.2.1": "VI_v2"}, "a VRRP master"),
    ("cisco-asa", ({"unit": "primary"}, {"unit": "secondary"}),
     {f"{ASA}.3.7": 10, f"{ASA}.4.7": "Standby unit", f"{ASA}.3.6": 9, f"{ASA}.4.6": "Active unit"},
     "the primary unit"),
    # Each firewall's own agent, both `local`: fw-b hears its HA peer active.
    ("paloalto-ha", ({"unit": "local"},) * 2,
     {f"{PAN}.11.0": "passive", f"{PAN}.12.0": "active", f"{PAN}.13.0": "active-passive"},
     "the peer firewall"),
    ("cisco-ios-hsrp", ({"interface": "Gi0/1", "group": 1},) * 2, {"table": IOS_HSRP_STANDBY},
     "10.99.1.2"),
    ("pacemaker", ({"resource": "web", "node": "web-a"}, {"resource": "web", "node": "web-a"}),
     {"crm_mon": CRM_MON_ON_B}, "node web-b"),
]  # fmt: skip


@pytest.mark.parametrize(("kind_name", "params", "second", "heard"), HEARD_CASES)
def test_active_unreachable_while_the_standby_names_it_is_degraded_never_down(
    kind_name: str,
    params: tuple[dict[str, Any], dict[str, Any]],
    second: dict[str, Any],
    heard: str,
) -> None:
    """The issue's case: the active member is unreachable from netmon while the other member,
    read as a standby, names it as the live active one: the pair serves (degraded, with the
    reason saying so), never `down`. Needs the evaluation of issue 14 (down on evidence only)."""
    state, reasons = judge_two(kind_name, params, second)
    assert state == "degraded", reasons
    assert any(
        "active unreachable from netmon (r1)" in r and f"r2 hears {heard}" in r for r in reasons
    ), reasons


def test_a_standby_that_hears_no_active_vouches_for_nobody() -> None:
    """0.0.0.0 is no evidence: with the active unreachable the pair is still not `down` (netmon
    is blind to r1), but the reason does not claim anyone hears r1."""
    silent = {f"{HSRP}.15.5.10": 5, f"{HSRP}.13.5.10": "0.0.0.0", f"{HSRP}.14.5.10": "10.99.0.12"}
    state, reasons = judge_two("hsrp", ({"if_index": 5, "group": 10},) * 2, silent)
    assert state == "degraded", reasons
    assert not any("hears" in r for r in reasons), reasons


@pytest.mark.parametrize(
    ("first", "second", "state", "reason"),
    [
        # Both read, none active, nobody hears an active: evidence the pair is down.
        ({f"{HSRP}.15.5.10": 1}, {f"{HSRP}.15.5.10": 5, f"{HSRP}.13.5.10": "0.0.0.0"},
         "down", "no member active"),
        # A value outside the table is no evidence: r2 is unknown, r1 in fault: not down either.
        ({f"{HSRP}.15.5.10": 1}, {f"{HSRP}.15.5.10": 9, f"{HSRP}.13.5.10": "10.99.0.11"},
         "degraded", "cannot tell"),
        # Both read, none active, r2 still names an active router: what every member says of
        # itself wins (r2's word is its last hello, possibly from a router that has died).
        ({f"{HSRP}.15.5.10": 1}, {f"{HSRP}.15.5.10": 5, f"{HSRP}.13.5.10": "10.99.0.99"},
         "down", "r2 hears 10.99.0.99 as active: a stale advertisement"),
    ],
)  # fmt: skip
def test_down_only_when_every_member_is_read_and_none_says_active(
    first: dict[str, Any], second: dict[str, Any], state: str, reason: str
) -> None:
    got, reasons = judge_two("hsrp", ({"if_index": 5, "group": 10},) * 2, second, first)
    assert got == state, reasons
    assert any(reason in r for r in reasons), reasons


@pytest.mark.parametrize(
    ("value", "version", "address"),
    [
        ("\n\x63\x00\x0b", 4, "10.99.0.11"),  # the lab's master, decoded as the collectors do
        ("dc12", 4, "100.99.49.50"),
        ("\x00\x00\x00\x00", 4, None),  # all zeros: none heard
        ("\ufffd\ufffd\x01\x01", 4, None),  # 192.168.1.1's bytes were not UTF-8: lost
        ("\udcc0\udca8\x01\x01", 4, "192.168.1.1"),  # a reversible (surrogate-escape) decoding
        ("\xc0\xa8\x01\x01", 4, "192.168.1.1"),  # a Latin-1 decoding
        ("abc", 4, None),  # wrong length
        ("10.99.0.11", 4, None),  # text is not an InetAddress
        ("\xfe\x80" + "\x00" * 13 + "\x01", 6, "fe80::1"),
        ("\n\x63\x00\x0b", 6, None),  # an IPv4 length in an IPv6 row
        (7, 4, None),
        (Missing.NO_SUCH_INSTANCE, 4, None),
    ],
)
def test_inet_address_decoding_never_guesses(
    value: Value, version: int, address: str | None
) -> None:
    from netmon.kinds.evidence import reported_inet

    assert reported_inet(value, version) == address


def test_a_cli_group_that_vanished_after_being_read_is_a_fault() -> None:
    """`show vrrp brief` lost the group after listing it (VRRP unconfigured, its process gone):
    the row is absent (missing), so the member that was read as a standby is now `fault`, as a
    vanished SNMP row is, and the pair `degraded`, not blind."""
    from netmon.evaluate import evaluate
    from netmon.observe import observe

    fixture = load_fixture("cisco-ios-vrrp")
    kind = KINDS.get("cisco-ios-vrrp")
    params = params_for("cisco-ios-vrrp", fixture["params"])
    members = (MemberSpec("r1", "a", params), MemberSpec("r2", "b", params))
    pair = PairSpec("p", "cisco-ios-vrrp", members)
    (command,) = (p.ident for p in kind.probes(params))

    def cycle(at: float, r2_case: str) -> dict[tuple[str, str], DeviceReading]:
        outputs = {"a": "master", "b": r2_case}
        return {
            (d, "ssh"): DeviceReading(
                d, "ssh", at=at, ok=True,
                values={command: fixture["cases"][case]["outputs"]["table"]},
            )
            for d, case in outputs.items()
        }  # fmt: skip

    first = evaluate(pair, observe(pair, cycle(1.0, "backup"), {}), None, 1.0)
    assert first.state.value == "healthy", first.reasons
    gone = observe(pair, cycle(2.0, "group_absent"), {})
    assert gone[1].view.missing, gone[1].view
    second = evaluate(pair, gone, first, 2.0)
    assert second.state.value == "degraded", second.reasons
    assert second.members[1].view.role is Role.FAULT, second.members[1].view


# ---- Single-device kinds: units named as the device reports them, absent units, bounded text -

SINGLE_DEVICE_KINDS = [
    "fortigate-ha", "junos-re", "cisco-rf", "entity-standby", "arista-redundancy",
]  # fmt: skip
TEXT_LIMIT = 200  # reason, raw and identity: one line of at most this many characters


def read_by_oid(kind_name: str, params: Any, values: dict[tuple[int, ...] | str, Value]) -> Any:
    """The kind's view of values recorded by OID (as an agent answers them)."""
    kind = KINDS.get(kind_name)
    return kind.interpret(
        params, {p.key: values[p.oid] for p in kind.probes(params) if p.oid in values}
    )


def assert_one_bounded_line(view: Any) -> None:
    for name in ("reason", "raw", "identity", "peer_active"):
        text = getattr(view, name)
        if text is None:
            continue
        assert len(text.splitlines()) <= 1, (name, text[:120])
        assert len(text) <= (100 if name == "peer_active" else TEXT_LIMIT), (name, len(text))


@pytest.mark.parametrize("kind_name", SINGLE_DEVICE_KINDS)
def test_absent_units_are_missing_faults_reported_values_are_not(kind_name: str) -> None:
    """A fault that only says the unit's objects are absent ("peer absent", "unit absent", no
    such entity) is marked `missing`: evaluate does not take it as evidence that the member is
    not active (a chassis that renumbered its units after a reload reads the same). A fault the
    device reports as a value (simplex, redundancy not configured, disabled, notKnown from the
    active unit) stays evidence. The recorded cases say which (`missing:`)."""
    fixture = load_fixture(kind_name)
    seen = set()
    for case, spec in fixture["cases"].items():
        if "missing" not in spec:
            continue
        params = params_for(kind_name, case_params(fixture, case))
        view = read_by_oid(kind_name, params, recorded(spec["values"]))
        assert view.role is Role(spec["role"]), (case, view)
        assert view.missing is spec["missing"], (case, view)
        seen.add(spec["missing"])
    assert seen == {True, False}, "record an absent unit and a fault the device reports"


@pytest.mark.parametrize(
    ("kind_name", "params", "extra"),
    [
        # entPhysicalIndex renumbered after a reload: neither index exists any more.
        ("entity-standby", ({"physical_index": 22}, {"physical_index": 23}), {}),
        # Unit ids the agent does not know, while it runs sso.
        ("arista-redundancy", ({"unit_id": 3}, {"unit_id": 4}), {"protocol": 3}),
        ("cisco-rf", ({"unit_id": 3}, {"unit_id": 4}), {"ids": (1, 2)}),
    ],
)
def test_units_absent_from_the_agent_on_the_first_read_never_page_down(
    kind_name: str, params: tuple[dict[str, Any], dict[str, Any]], extra: dict[str, Any]
) -> None:
    """The reviewer's A3: both members' objects absent on the first read is netmon not finding
    the units, not evidence that none serves: `fault` views marked missing, never `down`."""
    from netmon.evaluate import evaluate
    from netmon.kinds import chassis, cisco_rf
    from netmon.observe import observe

    kind = KINDS.get(kind_name)
    members = tuple(
        MemberSpec(f"sup{i}", "d", params_for(kind_name, p)) for i, p in enumerate(params)
    )
    values: dict[tuple[int, ...] | str, Value] = {
        p.oid: Missing.NO_SUCH_INSTANCE for m in members for p in kind.probes(m.params)
    }
    if "protocol" in extra:
        values[chassis.PROTOCOL_OPER] = extra["protocol"]
    if "ids" in extra:
        values |= {cisco_rf.UNIT_ID: extra["ids"][0], cisco_rf.PEER_UNIT_ID: extra["ids"][1]}
        values |= {cisco_rf.UNIT_STATE: 9, cisco_rf.PEER_UNIT_STATE: 9}
    pair = PairSpec("p", kind_name, members)
    reading = DeviceReading("d", "snmp", at=1.0, ok=True, values=values)
    status = evaluate(pair, observe(pair, {("d", "snmp"): reading}, {}), None, 1.0)
    assert all(m.view.role is Role.FAULT and m.view.missing for m in status.members), status
    assert status.state.value in ("unknown", "degraded"), status.reasons


def test_fortigate_hostnames_differing_in_case_are_two_members() -> None:
    """The reviewer's R6: a cluster whose rows carry hostnames only, "FW1" and "fw1" (FortiOS
    hostnames are case-sensitive). Each member reads its own row (an exact match wins); before,
    both read the first row ignoring case and the pair was a false split-brain."""
    from netmon.kinds.fortigate import FortigateHaParams

    members = (
        MemberSpec("fw-FW1", "d", FortigateHaParams(hostname="FW1")),
        MemberSpec("fw-fw1", "d", FortigateHaParams(hostname="fw1")),
    )
    values = fgt_rows([(None, "FW1", 1, "FGT-A"), (None, "fw1", 1, "FGT-A")])
    values.update({FGT_MODE: 3, FGT_SERIAL: "FGT-A", SYS_NAME: "FW1"})
    assert_pair_state("fortigate-ha", members, values, "healthy", None, ("fw-FW1",))


FGT_CASE_ROWS = [(None, "FW1", 1, "FGT-A"), (None, "fw1", 1, "FGT-A")]


@pytest.mark.parametrize(
    ("member", "rows", "own", "role", "reason"),
    [
        # Neither row says Fw1 exactly; both do ignoring case: never the first one.
        ({"hostname": "Fw1"}, FGT_CASE_ROWS, ("FGT-A", "FW1"), "unknown",
         "hostname Fw1 matches rows FW1 and fw1: ambiguous"),
        # The same hostname twice.
        ({"hostname": "fw1"}, [(None, "fw1", 1, "FGT-A"), (None, "fw1", 1, "FGT-A")],
         ("FGT-A", "FW1"), "unknown", "hostname fw1 matches rows fw1 and fw1: ambiguous"),
        # Serials compared the same way.
        ({"serial": "Fgt-B"}, [("FGT-A", None, 1, "FGT-A"), ("FGT-B", None, 1, "FGT-A"),
                               ("fgt-b", None, 1, "FGT-A")],
         ("FGT-A", None), "unknown", "serial Fgt-B matches rows FGT-B and fgt-b: ambiguous"),
        ({"serial": "FGT-B"}, [("FGT-X", None, 1, "Fgt-X"), ("fgt-x", None, 1, "Fgt-X"),
                               ("FGT-B", None, 1, "Fgt-X")],
         (None, None), "unknown", "primary serial Fgt-X matches rows FGT-X and fgt-x: ambiguous"),
        # The agent's own unit (sysName Fw1) is one of two rows ignoring case: it links no
        # hostname to the primary's serial, so whether FW1 is the primary is not guessed.
        ({"hostname": "FW1"}, FGT_CASE_ROWS, ("FGT-A", "Fw1"), "unknown", "cannot tell whether"),
        # A unique match ignoring case still counts.
        ({"hostname": "FW-B"}, [(None, "fw-a", 1, "FGT-A"), (None, "fw-b", 0, "FGT-A")],
         ("FGT-A", "fw-a"), "standby", "configuration not synchronized"),
        # Device text read as discover reads it: a trailing NUL is not part of the name.
        ({"hostname": "fw-b"}, [(None, "fw-a", 1, "FGT-A"), (None, "fw-b\x00", 0, "FGT-A")],
         ("FGT-A", "fw-a\x00"), "standby", "configuration not synchronized"),
    ],
)  # fmt: skip
def test_fortigate_names_match_exactly_or_uniquely(
    member: dict[str, str], rows: list[tuple[str | None, str | None, int, str | None]],
    own: tuple[str | None, str | None], role: str, reason: str,
) -> None:  # fmt: skip
    values = fgt_rows(rows)
    values.update({FGT_MODE: 3, FGT_SERIAL: own[0] or NO, SYS_NAME: own[1] or NO})
    view = read_by_oid("fortigate-ha", params_for("fortigate-ha", member), values)
    assert view.role is Role(role), view
    assert view.reason is not None and reason in view.reason, view


def test_fortigate_three_members_by_hostname_never_guess_the_primary() -> None:
    """Mutant F1: rows with hostnames only, three members. The agent runs on fw-a (FGT-A), not
    the primary (FGT-C): with two rows the other one would be the primary, with three netmon
    cannot tell which of fw-b and fw-c it is, and makes neither active on a guess."""
    values = fgt_rows([(None, f"fw-{x}", 1, "FGT-C") for x in "abc"])
    values.update({FGT_MODE: 3, FGT_SERIAL: "FGT-A", SYS_NAME: "fw-a"})
    views = {
        h: read_by_oid("fortigate-ha", params_for("fortigate-ha", {"hostname": h}), values)
        for h in ("fw-a", "fw-b", "fw-c")
    }
    assert views["fw-a"].role is Role.STANDBY, views["fw-a"]
    for host in ("fw-b", "fw-c"):
        assert views[host].role is Role.UNKNOWN, views[host]
        assert f"cannot tell whether {host} is the primary FGT-C" in (views[host].reason or "")


@pytest.mark.parametrize(
    "names",
    [
        [{"re": 0}, {"re": 1}],
        [{"descr": "Routing Engine 0"}, {"descr": "Routing Engine 1"}],  # as discover writes them
        [{"descr": "routing engine 0"}, {"descr": "ROUTING\tENGINE  1"}],
    ],
)
def test_junos_description_with_a_trailing_nul_finds_its_row(names: list[dict[str, Any]]) -> None:
    """The reviewer's C2: an agent that ends jnxRedundancyDescr with a NUL byte. discover strips
    it and writes `descr: Routing Engine 1`; the kind reads it the same way (normalise_descr),
    so the member is found, not `fault` forever."""
    members = tuple(
        MemberSpec(f"re{i}", "d", params_for("junos-re", name)) for i, name in enumerate(names)
    )
    values = jnx_rows((1, "Routing Engine 1\x00", 2), (2, "Routing Engine 0\x00\x00", 3))
    assert_pair_state("junos-re", members, values, "healthy", None, ("re1",))


@settings(max_examples=fuzz_examples(200), deadline=None)
@given(text=st.text())
def test_junos_descriptions_normalised_as_discover_reads_them(text: str) -> None:
    """One normalisation for the kind and for discover: what discover writes (as_text) finds
    the row the device's own text names, whatever control characters or spacing it carries."""
    from netmon.discover.facts import as_text
    from netmon.kinds.junos_re import normalise_descr

    assert normalise_descr(as_text(text) or "") == normalise_descr(text)
    assert normalise_descr("  Routing\x00Engine\t1\x00") == "routing engine 1"
    assert not any(not c.isprintable() for c in normalise_descr(text))


def test_junos_two_rows_described_alike_are_ambiguous() -> None:
    """Mutant J1: two rows whose descriptions read alike (here one ends in a NUL): which one is
    RE0 is not guessed (the member is unknown, to be named by slot)."""
    from netmon.kinds.junos_re import JunosReParams

    values = jnx_rows((1, "Routing Engine 0", 2), (2, "routing engine 0\x00", 3))
    view = read_by_oid("junos-re", JunosReParams(re=0), values)
    assert view.role is Role.UNKNOWN, view
    assert "9.1.0.0, 9.2.0.0 are all described 'Routing Engine 0'" in (view.reason or ""), view


def test_cisco_rf_simplex_chassis_with_an_unknown_unit_id_is_not_configured() -> None:
    """Mutant C2: a simplex chassis (duplex false) numbering its one unit 1, and the member
    named unit 2: the device says why there is no such unit (redundancy not configured), a fault
    it reports (not missing), not "unit 2 absent"."""
    from netmon.kinds import cisco_rf as rf

    values: dict[tuple[int, ...] | str, Value] = {
        rf.UNIT_ID: 1, rf.UNIT_STATE: 14, rf.PEER_UNIT_ID: 0, rf.PEER_UNIT_STATE: 2,
        rf.DUPLEX_MODE: 2,
    }  # fmt: skip
    view = read_by_oid("cisco-rf", rf.CiscoRfParams(unit_id=2), values)
    assert view.role is Role.FAULT, view
    assert view.reason is not None and "redundancy not configured" in view.reason, view
    assert "absent" not in view.reason and not view.missing, view


@pytest.mark.parametrize(("local", "role"), [(9, Role.UNKNOWN), (14, Role.FAULT)])
def test_cisco_rf_peer_not_known_means_absent_only_to_the_active_unit(
    local: int, role: Role
) -> None:
    """Mutant C3: peer notKnown is "peer absent" (fault) when the local unit is active; from a
    unit that is a standby itself it says nothing: unknown."""
    from netmon.kinds import cisco_rf as rf

    values: dict[tuple[int, ...] | str, Value] = {rf.UNIT_STATE: local, rf.PEER_UNIT_STATE: 1}
    view = read_by_oid("cisco-rf", rf.CiscoRfParams(unit="peer"), values)
    assert view.role is role, view
    assert not view.missing, view


LONG = ("x" * 70 + "\n") * 40  # a long multi-line answer


@pytest.mark.parametrize(
    ("kind_name", "params", "values"),
    [
        # The primary's serial in raw; a member hears it.
        ("fortigate-ha", {"serial": "FGT-B"},
         {FGT_MODE: 3, FGT_SERIAL: "FGT-A", **fgt_rows([("FGT-B", "fw-b", 1, LONG)])}),
        # Hostnames in identity, reason and peer_active.
        ("fortigate-ha", {"hostname": "fw-c"},
         {FGT_MODE: 3, FGT_SERIAL: LONG, SYS_NAME: LONG,
          **fgt_rows([(LONG, LONG, 1, LONG), ("FGT-B" + LONG, "fw-b" + LONG, 1, LONG)])}),
        ("fortigate-ha", {"hostname": "fw-c"}, {FGT_MODE: 1, FGT_SERIAL: LONG, SYS_NAME: LONG}),
        # The last switchover reason in raw.
        ("arista-redundancy", {"unit_id": 2},
         {(1, 3, 6, 1, 4, 1, 30065, 3, 8, 0, 0, 3, 1, 2, 2): 1,
          (1, 3, 6, 1, 4, 1, 30065, 3, 8, 0, 0, 2, 0): 3,
          (1, 3, 6, 1, 4, 1, 30065, 3, 8, 0, 0, 4, 0): "Supervisor 1 was reloaded\n" + LONG}),
        # A peer unit id sent as text, in the reason and raw.
        ("cisco-rf", {"unit_id": 2},
         {(1, 3, 6, 1, 4, 1, 9, 9, 176, 1, 1, 1, 0): 1, (1, 3, 6, 1, 4, 1, 9, 9, 176, 1, 1, 3, 0): LONG,
          (1, 3, 6, 1, 4, 1, 9, 9, 176, 1, 1, 2, 0): 14}),
        # A state sent as text with the entity disabled; its name.
        ("entity-standby", {"physical_index": 22},
         {(1, 3, 6, 1, 2, 1, 131, 1, 1, 1, 6, 22): LONG, (1, 3, 6, 1, 2, 1, 131, 1, 1, 1, 3, 22): 2,
          (1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1, 7, 22): LONG}),
        # Descriptions in identity, reason, raw and peer_active.
        ("junos-re", {"slot": 2}, jnx_rows((1, LONG, 2), (2, LONG, 3))),
        ("junos-re", {"descr": "Routing Engine 7"}, jnx_rows((1, LONG, 2), (2, LONG, 3))),
    ],
)  # fmt: skip
def test_long_multiline_device_text_is_one_bounded_line(
    kind_name: str, params: dict[str, Any], values: dict[tuple[int, ...] | str, Value]
) -> None:
    """The reviewer's C4: what a device reports reaches operators (netmon check, /api) only as
    one bounded line."""
    view = read_by_oid(kind_name, params_for(kind_name, params), values)
    assert view.reason or view.raw or view.identity, view
    assert_one_bounded_line(view)


def device_text(kind_name: str) -> st.SearchStrategy[Value]:
    """Values of the kind's recorded cases, long multi-line text (alone or around a recorded
    value), the kind's states and the absent markers."""
    fixture = load_fixture(kind_name)
    words = sorted(
        {v for c in fixture["cases"].values() for v in c["values"].values()
         if isinstance(v, str) and not v.startswith("!")} | {"x"}
    )  # fmt: skip
    word = st.sampled_from(words)
    long_text = st.builds(
        lambda a, b, n: (a + "\n" + b + "\r\n") * n, st.text(max_size=12), word, st.integers(1, 60)
    )
    around = st.builds(lambda w, t: w + t, word, st.text(min_size=1, max_size=300))
    states = st.sampled_from([*getattr(KINDS.get(kind_name), "roles", {}), 0, 1, 2, 3, 9, 14])
    return st.one_of(word, long_text, around, states, st.sampled_from(list(Missing)))


@pytest.mark.parametrize("kind_name", SINGLE_DEVICE_KINDS)
@settings(max_examples=fuzz_examples(200), deadline=None)
@given(data=st.data())
def test_device_text_is_one_bounded_line_whatever_the_agent_sends(
    kind_name: str, data: st.DataObject
) -> None:
    """Fuzz (C4): reason, raw, identity and peer_active never carry a line break and stay
    bounded, for arbitrary long or multi-line answers, for every params a recorded case uses."""
    kind = KINDS.get(kind_name)
    fixture = load_fixture(kind_name)
    variants = [
        fixture["params"],
        *(c["params"] for c in fixture["cases"].values() if "params" in c),
    ]
    params = params_for(kind_name, data.draw(st.sampled_from(variants)))
    text = device_text(kind_name)
    values = {p.key: data.draw(text) for p in kind.probes(params)}
    assert_one_bounded_line(kind.interpret(params, values))


@pytest.mark.parametrize(
    ("raw", "version", "address"),
    [
        (bytes([192, 168, 1, 1]), 4, "192.168.1.1"),
        (bytes.fromhex("c3a90a6300"), 4, None),  # 5 bytes that happen to be UTF-8: not an address
        (bytes.fromhex("c3a9c3a90101"), 4, None),  # 6 bytes: never read as 233.233.1.1
        (bytes(range(0xC0, 0xD5)), 6, None),  # 21 bytes on an IPv6 row
        (bytes([127, 0, 0, 1]), 4, None),  # loopback: no router sends from it
        (bytes([224, 0, 0, 18]), 4, None),  # VRRP's multicast group
        (bytes([255, 255, 255, 255]), 4, None),
        (bytes.fromhex("fe800000000000000000000000000001"), 6, "fe80::1"),
    ],
)
def test_inet_address_from_the_wire_exactly_or_not_at_all(
    raw: bytes, version: int, address: str | None
) -> None:
    """What the collector makes of the bytes (UTF-8, else Latin-1) is read back exactly one way,
    and only an address a router could send from is evidence."""
    from netmon.collectors.snmpwire import octets_text
    from netmon.kinds.evidence import reported_inet, reported_ipv4

    assert reported_inet(octets_text(raw), version) == address
    if version == 4 and len(raw) == 4:
        assert reported_ipv4(".".join(map(str, raw))) == address


def test_a_master_never_shows_the_master_address_it_last_heard() -> None:
    """keepalived never clears vrrpOperMasterIpAddr: a new master still names its predecessor
    (the dead one). Only a backup's is news, in identity as in peer_active."""
    fixture = load_fixture("vrrp")
    case = fixture["cases"]["master_still_naming_its_predecessor"]
    view = read_by_oid("vrrp", params_for("vrrp", fixture["params"]), recorded(case["values"]))
    assert view.role is Role.ACTIVE
    assert view.identity == "ifIndex 2 VRID 51; own address 10.99.0.12"
    assert view.peer_active is None
