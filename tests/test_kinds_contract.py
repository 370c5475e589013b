"""One contract, every kind: what an agent serves in, the documented roles out; never an
exception; and `active` only from an active row of the kind's table.

Each kind's recorded cases live apart from what is expected of them:

- `tests/fixtures/kinds/<kind>/<case>.snmprec` (SNMP kinds) is what the agent serves, in
  snmpsim's own format (served as-is by tests/test_kinds_snmpsim.py); an OID a probe asks for
  and the file lacks is answered noSuchInstance, as snmpsim answers it.
  `tests/fixtures/kinds/<kind>/<case>.<probe>.txt` (SSH kinds) is a command's output.
- `tests/fixtures/kinds/<kind>.yaml` names the cases' `source` (a MIB and its revision, a vendor
  document, a public recording), the state `table` written from the MIB's SYNTAX or the vendor's
  documentation (or, for kinds without one, `active_when`), the params and each case's expected
  role: written by a person, never derived from netmon/kinds.
"""

from __future__ import annotations

import copy
import functools
import itertools
import json
import re
import string
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter
from ruamel.yaml import YAML

from netmon.collectors.snmpwire import octets_text
from netmon.kinds import KINDS, KindRegistry, UnknownKind
from netmon.model import DeviceReading, MemberSpec, Missing, PairSpec, Role, Value, parse_oid
from netmon.observe import observe_member

from .helpers import fuzz_examples

FIXTURES = Path(__file__).parent / "fixtures" / "kinds"
DOCS = Path(__file__).resolve().parent.parent / "docs" / "kinds.md"
MISSING = {f"!{m.value}": m for m in Missing}
Oid = tuple[int, ...]


@functools.cache
def _expectations(kind: str) -> Any:
    return YAML(typ="safe", pure=True).load((FIXTURES / f"{kind}.yaml").read_text())


def load_fixture(kind: str) -> dict[str, Any]:
    """A kind's expectation file (source, table, params, cases): a copy the caller may change."""
    data: dict[str, Any] = copy.deepcopy(_expectations(kind))
    return data


# snmprec tags (snmpsim's record format, `OID|tag|value`) as the collector hands the values over.
INT_TAGS = {"2", "65", "66", "67", "70"}  # INTEGER, Counter32, Gauge32, TimeTicks, Counter64
EXCEPTION_TAGS = {  # the context tags of SNMPv2 exceptions, as snmpsim serves them
    "128": Missing.NO_SUCH_OBJECT,
    "129": Missing.NO_SUCH_INSTANCE,
    "130": Missing.END_OF_MIB,
}


def snmprec_value(tag: str, text: str) -> Value:
    """One snmprec value as netmon's collector decodes the agent's answer."""
    if tag in INT_TAGS:
        return int(text)
    if tag in EXCEPTION_TAGS:
        return EXCEPTION_TAGS[tag]
    if tag == "4x":  # an OCTET STRING written as hex: decoded as the collector decodes bytes
        return octets_text(bytes.fromhex(text))
    if tag in ("4", "64"):  # OCTET STRING as text, IpAddress dotted
        return text
    raise ValueError(f"snmprec tag {tag!r} is not one the cases use")


@functools.cache
def _agent_data(kind: str, case: str) -> tuple[tuple[Oid, Value], ...]:
    records = []
    for raw in (FIXTURES / kind / f"{case}.snmprec").read_text().splitlines():
        line = raw.strip()  # as snmpsim reads its records
        if not line or line.startswith("#"):
            continue
        oid, tag, text = line.split("|", 2)
        records.append((parse_oid(oid), snmprec_value(tag, text)))
    return tuple(records)


def agent_data(kind: str, case: str) -> dict[Oid, Value]:
    """What the simulated agent of an SNMP case serves, by OID."""
    return dict(_agent_data(kind, case))


def cli_outputs(kind: str, case: str) -> dict[str, str]:
    """The recorded outputs of an SSH case, by probe key (`<case>.<probe>.txt`)."""
    return {
        path.name[len(case) + 1 : -len(".txt")]: path.read_text()
        for path in (FIXTURES / kind).glob(f"{case}.*.txt")
        if path.name.count(".") == 2
    }


def answers(kind_name: str, params: Any, case: str) -> dict[Oid | str, Value]:
    """A case's reading as the collector hands it over: by OID (SNMP; an OID the agent lacks is
    noSuchInstance) or by command (SSH)."""
    kind = KINDS.get(kind_name)
    if kind.transport == "ssh":
        outputs = cli_outputs(kind_name, case)
        return {p.ident: outputs[p.key] for p in kind.probes(params) if p.key in outputs}
    data = agent_data(kind_name, case)
    return {p.ident: data.get(p.oid, Missing.NO_SUCH_INSTANCE) for p in kind.probes(params)}


def by_probe(kind_name: str, params: Any, case: str) -> dict[str, Value]:
    """A case's answers keyed as `interpret` takes them."""
    kind = KINDS.get(kind_name)
    got = answers(kind_name, params, case)
    return {p.key: got[p.ident] for p in kind.probes(params) if p.ident in got}


def recorded(raw: dict[str, Any]) -> dict[Oid | str, Value]:
    """Values written inline by OID ("!noSuchInstance" & co. for the exceptions)."""
    out: dict[Oid | str, Value] = {}
    for oid, value in raw.items():
        if isinstance(value, str) and value in MISSING:
            out[parse_oid(str(oid))] = MISSING[value]
        else:
            out[parse_oid(str(oid))] = value if isinstance(value, int) else str(value)
    return out


@functools.cache
def _adapter(kind_name: str) -> TypeAdapter[Any]:
    return TypeAdapter(KINDS.get(kind_name).params_type)


def params_for(kind_name: str, raw: dict[str, Any]) -> Any:
    kind = KINDS.get(kind_name)
    params = _adapter(kind_name).validate_python(raw)
    assert kind.check(params) == []
    return params


def case_params(fixture: dict[str, Any], case: str) -> Any:
    """A case's own `params:` (replacing the fixture's, not merged), else the fixture's."""
    return fixture["cases"][case].get("params", fixture["params"])


def cases() -> list[tuple[str, str]]:
    return [(k, c) for k in KINDS.names() for c in load_fixture(k)["cases"]]


# ---- Where the cases come from, and what is expected of them --------------------------------

MIB_NAME = re.compile(r"\b[A-Z][A-Za-z0-9]*(?:-[A-Z0-9]+)*-MIB\b")
# A MIB's revision: an RFC number or a REVISION / LAST-UPDATED stamp (YYMMDDHHMMZ, YYYYMMDDHHMMZ).
MIB_REVISION = re.compile(r"\bRFC \d{4}\b|\b(?:\d{2})?\d{10}Z\b")
PUBLISHERS = (
    "Cisco", "Juniper", "Arista", "Fortinet", "Palo Alto Networks", "ClusterLabs", "iproute2",
    "RFC ", "systemd", "FRRouting",
)  # fmt: skip
# A public recording: a repository file at a commit, a URL, or netmon's own lab.
RECORDING = re.compile(
    r"\b[\w.-]+/[\w.-]+ \S+ @ [0-9a-f]{40}\b|https://\S+|netmon's lab \(tests/test_(?:frr_)?lab\.py\)"
)
EXPECTATIONS = {"role", "ready", "reason", "identity", "peer_active", "missing", "params"}


@pytest.mark.parametrize("kind_name", KINDS.names())
def test_case_file_names_its_source(kind_name: str) -> None:
    """Every case file says where its values come from: a MIB with its revision, a vendor
    document, or a public recording (a repository file at a commit, a URL, netmon's lab)."""
    source = load_fixture(kind_name).get("source")
    assert isinstance(source, dict) and source, f"{kind_name}.yaml: no source"
    assert set(source) <= {"mib", "document", "recording"}, source
    for what, entries in source.items():
        assert isinstance(entries, list) and entries, (kind_name, what)
        for entry in entries:
            assert isinstance(entry, str) and entry.strip(), (kind_name, what, entry)
            if what == "mib":
                assert MIB_NAME.search(entry), f"{kind_name}: no MIB named in {entry!r}"
                assert MIB_REVISION.search(entry), f"{kind_name}: no revision in {entry!r}"
            elif what == "document":
                assert any(p in entry for p in PUBLISHERS), f"{kind_name}: whose? {entry!r}"
            else:
                assert RECORDING.search(entry), f"{kind_name}: where recorded? {entry!r}"


@pytest.mark.parametrize("kind_name", KINDS.names())
def test_expectations_are_kept_apart_from_the_data(kind_name: str) -> None:
    """The expectation file holds no values; every case has its data file(s) and every data file
    its case; an SSH case's files are outputs of the kind's own probes."""
    fixture = load_fixture(kind_name)
    kind = KINDS.get(kind_name)
    assert ("table" in fixture) != ("active_when" in fixture), "a state table or active_when"
    for case, spec in fixture["cases"].items():
        assert set(spec) <= EXPECTATIONS, (case, set(spec) - EXPECTATIONS)
    files = sorted(p.name for p in (FIXTURES / kind_name).iterdir())
    if kind.transport == "snmp":
        assert files == sorted(f"{c}.snmprec" for c in fixture["cases"])
        return
    keys = {p.key for p in kind.probes(params_for(kind_name, fixture["params"]))}
    on_disk = {(n.split(".")[0], n.split(".")[1]) for n in files}
    assert all(n.count(".") == 2 and n.endswith(".txt") for n in files), files
    assert {c for c, _ in on_disk} == set(fixture["cases"])
    assert {k for _, k in on_disk} <= keys, (on_disk, keys)


def table_rows(kind_name: str) -> dict[Any, dict[str, Any]]:
    """The state table of a kind's case file (written from the MIB, not read from the code)."""
    rows: dict[Any, dict[str, Any]] = _expectations(kind_name)["table"]["rows"]
    return rows


def active_raws(kind_name: str) -> frozenset[Any]:
    """The raw values the case file's table lists as making a member active."""
    if "table" not in _expectations(kind_name):
        return frozenset()
    return frozenset(raw for raw, row in table_rows(kind_name).items() if row["role"] == "active")


TABLE_KINDS = [k for k in KINDS.names() if "table" in _expectations(k)]


@pytest.mark.parametrize("kind_name", TABLE_KINDS)
def test_the_kinds_table_is_the_one_written_from_the_mib(kind_name: str) -> None:
    """The kind's table of raw values is the case file's, row for row (role and readiness):
    a row added, dropped or mapped to another role in netmon/kinds fails here."""
    from netmon.kinds import fortigate

    rows = table_rows(kind_name)
    if kind_name == "custom":  # its table is the inventory's `values` map
        assert {str(k): r["role"] for k, r in rows.items()} == load_fixture(kind_name)["params"][
            "values"
        ]
        return
    if kind_name == "fortigate-ha":  # which member a mode makes active depends on the table rows
        assert {k: r["name"] for k, r in rows.items()} == fortigate.MODES
        return
    roles = KINDS.get(kind_name).roles  # type: ignore[attr-defined]
    assert set(roles) == set(rows), (sorted(roles), sorted(rows))
    for raw, row in rows.items():
        got = roles[raw]
        assert (got.role.value, got.ready) == (row["role"], row.get("ready", True)), (raw, got)


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
    values = answers(kind_name, params, case)
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
    if "missing" in spec:
        assert obs.view.missing is spec["missing"], obs.view


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


# ---- `active` only from an active row of the kind's table -----------------------------------
#
# The tables are the case files' (written from the MIBs and the vendors' documents). For every
# kind, `may_be_active` says whether a set of answers holds what may make the member active: an
# active row of its table in the member's own state, or, where the kind has no table, the
# evidence `active_when` names. Each kind's draws below hold none, so the member is never active.


def listed(value: Value | None, raws: frozenset[Any]) -> bool:
    """Whether an answer is one of a table's raw values (text compared as the kinds compare it:
    trimmed, case ignored)."""
    if isinstance(value, bool) or value is None or isinstance(value, Missing):
        return False
    if isinstance(value, int):
        return value in raws
    return value.strip().lower() in {r for r in raws if isinstance(r, str)}


def _text(value: Value | None) -> str:
    return value.strip().lower() if isinstance(value, str) else ""


def _serial(value: Value | None) -> str:
    """A serial as fortigate-ha matches it (device text as one line), case ignored."""
    from netmon.kinds.evidence import one_line

    return one_line(value).casefold() if isinstance(value, str) else ""


# The member's own state object, for the kinds that read one (the other probes may say anything,
# including an active state of the peer: that is never the member's own).
OWN_STATE = {
    "vrrp": "vrrpOperState",
    "vrrpv3": "vrrpv3OperationsStatus",
    "keepalived": "vrrpInstanceState",
    "hsrp": "cHsrpGrpStandbyState",
    "if-link": "ifOperStatus",
    "entity-standby": "entStateStandby",
    "arista-redundancy": "aristaRedundancyUnitState",
    "cisco-asa": "cfwHardwareStatusValue",
}
# PAN-OS's HA modes (panSysHAMode), as the recording and the PAN-OS guide name them.
PAN_MODES = ("active-passive", "active-active", "disabled")
CLI_KINDS = ["cisco-ios-vrrp", "cisco-ios-hsrp", "cisco-nxos-vrrp", "junos-vrrp", "arista-eos-vrrp"]
VIP_KINDS = ["keepalived-ssh", "linux-vip"]


def _rf_rows(params: Any, values: Mapping[str, Value]) -> list[str]:
    """The CISCO-RF-MIB rows (this unit, its peer) that name the member."""
    rows = []
    if params.unit == "local" or (
        params.unit_id is not None and values.get("cRFStatusUnitId") == params.unit_id
    ):
        rows.append("cRFStatusUnitState")
    if params.unit == "peer" or (
        params.unit_id is not None and values.get("cRFStatusPeerUnitId") == params.unit_id
    ):
        rows.append("cRFStatusPeerUnitState")
    return rows


def _junos_rows(params: Any, values: Mapping[str, Value]) -> list[int]:
    """The jnxRedundancyTable slots whose row names the member (by slot or description)."""
    from netmon.kinds.junos_re import SLOTS, normalise_descr

    if params.slot is not None:
        return [params.slot]
    wanted = normalise_descr(params.descr or f"Routing Engine {params.re}")
    return [
        s
        for s in SLOTS
        if isinstance(d := values.get(f"jnxRedundancyDescr.{s}"), str)
        and normalise_descr(d) == wanted
    ]


def _header(line: str) -> bool:
    return "interface" in line.lower()


def _cli_states(kind_name: str, output: Value | None) -> bool:
    """Whether an output holds an active state word of the kind's table on a row (not the
    column header: IOS `show standby brief` has an "Active" column)."""
    if not isinstance(output, str):
        return False
    words = "|".join(re.escape(w) for w in active_raws(kind_name))
    return any(
        re.search(rf"(?i)(?<!\S)(?:{words})(?!\S)", line)
        for line in output.splitlines()
        if not _header(line)
    )


def _holds_vip(vip: str, output: Value | None) -> bool:
    """Whether `ip -o addr` output lists the VIP as an address (`inet[6] VIP[/len]`)."""
    if not isinstance(output, str):
        return False
    tokens = output.split()
    return any(
        a in ("inet", "inet6") and b.split("/")[0] == vip for a, b in itertools.pairwise(tokens)
    )


ACTIVE_TRUE = re.compile(r"""(?i)\bactive\s*=\s*(["'])\s*true\s*\1""")


def _runs_here(node: str, output: Value | None) -> bool:
    """Whether crm_mon XML shows a resource active="true" with this node among its nodes."""
    if not isinstance(output, str):
        return False
    for block in re.findall(r"(?s)<resource\b.*?(?:/>|</resource>)", output):
        opening = block.split(">", 1)[0]
        if ACTIVE_TRUE.search(opening) and re.search(rf'name\s*=\s*"{re.escape(node)}"', block):
            return True
    return False


def _json_scalars(node: Any) -> list[str]:
    """Every scalar of a JSON document as text (strings as is, the rest as JSON writes them)."""
    import json

    if isinstance(node, dict):
        return [s for v in node.values() for s in _json_scalars(v)]
    if isinstance(node, list):
        return [s for v in node for s in _json_scalars(v)]
    return [node if isinstance(node, str) else json.dumps(node)]


def _command_may_be_active(params: Any, output: Value | None) -> bool:
    """Whether a command's output holds a value the inventory maps to active: the whole output
    (exact), a match of the pattern's group (regex), any scalar of the JSON (json: wherever the
    path points, a superset)."""
    import json

    if not isinstance(output, str):
        return False
    active = {raw for raw, role in params.values.items() if role == "active"}
    if params.match == "exact":
        return output.strip() in active
    if params.match == "regex":
        found = re.search(params.pattern, output, re.MULTILINE)
        if found is None:
            return False
        group = found.groupdict().get("value", found.group(1) if found.re.groups else None)
        return group is not None and group.strip() in active
    try:
        document = json.loads(output)
    except (ValueError, RecursionError):
        return False
    return bool(active & set(_json_scalars(document)))


def may_be_active(kind_name: str, params: Any, values: Mapping[str, Value]) -> bool:
    """Whether the answers hold what may make the member active (see above)."""
    table = active_raws(kind_name)
    if kind_name in OWN_STATE:
        own = listed(values.get(OWN_STATE[kind_name]), table)
        if kind_name == "cisco-asa":
            # Written exemption: a primary unit whose detail says "Failover Off" runs alone and
            # serves (the secondary is "redundancy not configured"), whatever HardwareStatus of
            # the table its row holds; a value outside the table is still never active.
            standalone = "failover off" in _text(values.get("cfwHardwareStatusDetail"))
            in_table = listed(
                values.get("cfwHardwareStatusValue"), frozenset(table_rows(kind_name))
            )
            return own or (params.unit == "primary" and standalone and in_table)
        return own
    if kind_name == "cisco-rf":
        return any(listed(values.get(row), table) for row in _rf_rows(params, values))
    if kind_name == "junos-re":
        return any(
            listed(values.get(f"jnxRedundancyState.{s}"), table)
            for s in _junos_rows(params, values)
        )
    if kind_name == "fortigate-ha":
        # Which member is active follows the primary's serial, under a mode of the table; a mode
        # outside it (or of the wrong type) makes no member active. No mode at all: the rows
        # and their primary are read as a cluster (docs/kinds.md).
        mode = values.get("fgHaSystemMode")
        if not (mode is None or isinstance(mode, Missing) or listed(mode, table)):
            return False
        if mode == 2 and params.serial is not None:
            # activeActive: a member that is not the primary serves only while synchronized
            # (fgHaStatsSyncStatus synchronized(1), FgHaStatsSyncStatusType).
            primaries = {_serial(values.get(f"fgHaStatsMasterSerial.{i}")) for i in range(1, 5)}
            if _serial(params.serial) not in primaries:
                return any(values.get(f"fgHaStatsSyncStatus.{i}") == 1 for i in range(1, 5))
        return True
    if kind_name == "paloalto-ha":
        own_key = "panSysHAState" if params.unit == "local" else "panSysHAPeerState"
        mode = _text(values.get("panSysHAMode"))
        if mode not in PAN_MODES:
            return False
        # Written exemption: HA mode `disabled` is a standalone firewall: the local unit serves
        # alone (the peer unit is "redundancy not configured"), whatever state it shows.
        return listed(values.get(own_key), table) or (mode == "disabled" and params.unit == "local")
    if kind_name == "custom":
        value = values.get("value")
        return not isinstance(value, Missing) and params.values.get(str(value)) == "active"
    if kind_name in CLI_KINDS:
        return _cli_states(kind_name, values.get("table"))
    if kind_name in VIP_KINDS:
        return _holds_vip(params.vip, values.get("addr"))
    if kind_name == "pacemaker":
        return _runs_here(params.node, values.get("crm_mon"))
    if kind_name == "command":
        return _command_may_be_active(params, values.get("value"))
    if kind_name == "frr-vrrp":
        # Superset: "Master" anywhere in the JSON (the kind reads only the family's status).
        output = values.get("vrrp")
        return isinstance(output, str) and '"Master"' in output
    raise AssertionError(f"{kind_name}: say what may make a member active (may_be_active)")


# Values outside every table: unknown integers (above 1000, negative, huge), text, exceptions.
ODD_INTS = st.one_of(
    st.integers(1001, 2**31 - 1),
    st.integers(2**31, 2**64),
    st.integers(-(2**63), -1),
    st.integers(0, 40),
    st.sampled_from([1001, 4096, 65535, 2**31 - 1, 2**31, 2**32, -1, -(2**31)]),
)
ODD_TEXT = st.one_of(
    st.text(max_size=16),
    st.sampled_from(
        ["", " ", "master", "MASTER", "Master ", "active", " Active", "3", "14", "\x00"]
    ),
)
ODD = st.one_of(ODD_INTS, ODD_TEXT, st.sampled_from(list(Missing)))


def among(*options: Value) -> st.SearchStrategy[Value]:
    return st.sampled_from(options)


def outside(raws: frozenset[Any]) -> st.SearchStrategy[Value]:
    """Any answer that is not one of `raws` (the table's other rows included)."""
    others = sorted((r for r in raws if isinstance(r, int)), key=int)
    table = st.sampled_from(others) if others else st.nothing()
    return st.one_of(ODD, table).filter(lambda v: not listed(v, raws))


def anything(kind_name: str) -> st.SearchStrategy[Value]:
    """Any answer at all, the table's rows (active ones too) and plausible device text."""
    rows = sorted(table_rows(kind_name), key=str) if kind_name in TABLE_KINDS else []
    return st.one_of(ODD, st.sampled_from([*rows, *PLAUSIBLE]))


def _draw_state_first(kind_name: str, params: Any, data: st.DataObject) -> dict[str, Value]:
    kind = KINDS.get(kind_name)
    values = {p.key: data.draw(anything(kind_name)) for p in kind.probes(params)}
    values[OWN_STATE[kind_name]] = data.draw(outside(active_raws(kind_name)))
    if kind_name == "cisco-asa":
        values["cfwHardwareStatusDetail"] = data.draw(
            st.sampled_from(["Failover Off", "Active unit", "Standby unit", "Failed"]) | ODD_TEXT
        )
    return values


def _draw_cisco_rf(params: Any, data: st.DataObject) -> dict[str, Value]:
    kind = KINDS.get("cisco-rf")
    values = {p.key: data.draw(anything("cisco-rf")) for p in kind.probes(params)}
    ids = among(0, 1, 2, 3, "2", Missing.NO_SUCH_INSTANCE)
    values["cRFStatusUnitId"], values["cRFStatusPeerUnitId"] = data.draw(ids), data.draw(ids)
    mine = _rf_rows(params, values)
    for row in ("cRFStatusUnitState", "cRFStatusPeerUnitState"):
        values[row] = data.draw(
            outside(active_raws("cisco-rf")) if row in mine else anything("cisco-rf")
        )
    return values


def _draw_junos(params: Any, data: st.DataObject) -> dict[str, Value]:
    values: dict[str, Value] = {}
    descrs = among(
        "Routing Engine 0", "Routing Engine 1", "routing engine 1\x00", "FPC 0",
        Missing.NO_SUCH_INSTANCE,
    )  # fmt: skip
    for slot in (1, 2, 3):
        values[f"jnxRedundancyDescr.{slot}"] = data.draw(descrs)
        for column in ("Config", "SwitchoverCount", "SwitchoverReason", "SwitchoverTime"):
            values[f"jnxRedundancy{column}.{slot}"] = data.draw(anything("junos-re"))
    mine = _junos_rows(params, values)
    for slot in (1, 2, 3):
        state = outside(active_raws("junos-re")) if slot in mine else anything("junos-re")
        values[f"jnxRedundancyState.{slot}"] = data.draw(state)
    return values


def _draw_fortigate(params: Any, data: st.DataObject) -> dict[str, Value]:
    """A mode outside FgHaMode; or activeActive, a member named by serial that is not the
    primary, and no row synchronized(1)."""
    from netmon.kinds.fortigate import COLUMNS, ROWS

    # Mostly the cluster's own names, so that the member is found, and often the primary.
    serials = among("FGT-A", "FGT-B") | among("fgt-b", Missing.NO_SUCH_INSTANCE) | ODD_TEXT
    hostnames = among("fw-a", "fw-b") | among("FW-B", Missing.NO_SUCH_INSTANCE) | ODD_TEXT
    unsynchronized = outside(frozenset({1})).filter(lambda v: v != 1)
    active_active = params.serial is not None and data.draw(st.booleans())
    if active_active:
        mode: Value = 2
        member = _serial(params.serial)
        primaries = serials.filter(lambda s: _serial(s) != member)
        syncs = among(0) | unsynchronized
    else:
        # FgHaMode has no other row: all three serve. ODD_INTS holds 0..40, the table's own
        # 1..3 among them: those are filtered out, or the draw would hold an active row.
        modes = frozenset(table_rows("fortigate-ha"))
        mode = data.draw((ODD_INTS | ODD_TEXT).filter(lambda v: not listed(v, modes)))
        primaries, syncs = serials, among(0, 1) | unsynchronized
    values: dict[str, Value] = {
        "fgHaSystemMode": mode,
        "fnSysSerial": data.draw(serials),
        "sysName": data.draw(hostnames),
    }
    drawn = {"fgHaStatsHostname": hostnames, "fgHaStatsSyncStatus": syncs,
             "fgHaStatsMasterSerial": primaries}  # fmt: skip
    for i in range(1, ROWS + 1):
        for name, _ in COLUMNS:
            values[f"{name}.{i}"] = data.draw(drawn.get(name, serials))
    return values


def _draw_paloalto(params: Any, data: st.DataObject) -> dict[str, Value]:
    from netmon.kinds.paloalto import ROLES

    own, other = (
        ("panSysHAState", "panSysHAPeerState")
        if params.unit == "local"
        else ("panSysHAPeerState", "panSysHAState")
    )
    modes = ["active-passive", "active-active", " Active-Passive"]
    if params.unit == "peer":
        modes.append("disabled")  # a standalone firewall's peer unit is never active
    states = st.sampled_from(sorted(ROLES)) | ODD_TEXT
    return {
        own: data.draw(states.filter(lambda v: not listed(v, active_raws("paloalto-ha")))),
        other: data.draw(states | ODD),
        "panSysHAMode": data.draw(st.sampled_from(modes) | ODD),
    }


def _custom_params(data: st.DataObject) -> dict[str, str]:
    """An inventory's `values` map (raw value as written -> role)."""
    keys = st.sampled_from(["1", "2", "3", "4", "9", "1001", "-1", "master", ""])
    roles = st.sampled_from(["active", "standby", "fault"])
    drawn: dict[str, str] = data.draw(st.dictionaries(keys, roles, min_size=1))
    return drawn


def _without(words: frozenset[Any], text: str, data: st.DataObject) -> str:
    """`text` with every active state word on a row (not a header) replaced by another word."""
    other = st.sampled_from(
        ["Backup", "Init", "Masterx", "Mastr", "Activ", "1001", "-1", "Standby"]
    )
    pattern = re.compile(
        r"(?i)(?<!\S)(?:" + "|".join(re.escape(str(w)) for w in words) + r")(?!\S)"
    )
    word = (other | st.text(string.ascii_letters, min_size=1, max_size=8)).filter(
        lambda w: w.lower() not in words
    )
    return "".join(
        line if _header(line) else pattern.sub(lambda _: data.draw(word), line)
        for line in text.splitlines(keepends=True)
    )


def _recorded_output(kind_name: str, key: str, data: st.DataObject) -> str:
    case = data.draw(st.sampled_from(sorted(load_fixture(kind_name)["cases"])))
    return cli_outputs(kind_name, case).get(key, "")


def _draw_cli(kind_name: str, data: st.DataObject) -> dict[str, Value]:
    text = _recorded_output(kind_name, "table", data)
    return {"table": _without(active_raws(kind_name), text, data)}


def _draw_vip(kind_name: str, params: Any, data: st.DataObject) -> dict[str, Value]:
    vip = params.vip
    other = st.sampled_from(
        ["10.99.0.52", "10.99.0.5", "10.99.0.510", "110.99.0.51", "2001:db8::11", "2001:db8::1", "::"]
    ) | st.text(max_size=10)  # fmt: skip
    addr = _recorded_output(kind_name, "addr", data)
    addr = re.sub(re.escape(vip), lambda _: data.draw(other.filter(lambda a: a != vip)), addr)
    check = "service" if kind_name == "keepalived-ssh" else "health"
    service = data.draw(
        st.sampled_from(["NETMON-CHECK-OK\n", "NETMON-CHECK-FAILED\n", ""]) | ODD_TEXT
    )
    return {"addr": addr, check: service}


def _draw_frr(data: st.DataObject) -> str:
    """A recorded vtysh answer whose every "Master" is another status (or none at all)."""
    other = st.sampled_from(
        ["Backup", "Initialize", "master", "MASTER", "Master ", "Mastr", "Active", "", "1"]
    ) | st.text(string.ascii_letters, max_size=8).filter(lambda w: w != "Master")
    text = _recorded_output("frr-vrrp", "vrrp", data)
    return re.sub('"Master"', lambda _: json.dumps(data.draw(other)), text)


def _draw_pacemaker(params: Any, data: st.DataObject) -> dict[str, Value]:
    xml = _recorded_output("pacemaker", "crm_mon", data)
    junk = st.sampled_from(["false", "FALSE", "no", "1", "yes", "", "tru", "true1"]) | st.text(
        string.ascii_letters, max_size=6
    )
    if data.draw(st.booleans()):
        # No resource active anywhere.
        xml = ACTIVE_TRUE.sub(
            lambda _: f'active="{data.draw(junk.filter(lambda j: j.strip().lower() != "true"))}"',
            xml,
        )
    else:
        # Active resources, on nodes other than this one.
        node = re.escape(params.node)
        xml = re.sub(
            r"(?s)<resource\b.*?(?:/>|</resource>)",
            lambda m: re.sub(rf'name="{node}"', 'name="web-z"', m.group(0)),
            xml,
        )
    return {"crm_mon": xml}


# Every way a member of these kinds can be named (their cases mostly read one unit).
PARAMS: dict[str, list[dict[str, Any]]] = {
    "cisco-rf": [{"unit": "local"}, {"unit": "peer"}, {"unit_id": 1}, {"unit_id": 2}],
    "junos-re": [{"re": 0}, {"re": 1}, {"slot": 1}, {"slot": 2}, {"descr": "routing engine 1"}],
    "cisco-asa": [{"unit": "primary"}, {"unit": "secondary"}],
    "paloalto-ha": [{"unit": "local"}, {"unit": "peer"}],
    "arista-redundancy": [{"unit_id": 1}, {"unit_id": 2}],
    "fortigate-ha": [
        {"serial": "FGT-A"}, {"serial": "FGT-B"}, {"hostname": "fw-a"}, {"hostname": "fw-b"},
    ],
}  # fmt: skip


def draw_not_active(kind_name: str, data: st.DataObject) -> tuple[Any, dict[str, Value]]:
    """Params of the kind's cases and answers holding no active row for the member."""
    fixture = load_fixture(kind_name)
    variants = [
        fixture["params"],
        *(c["params"] for c in fixture["cases"].values() if "params" in c),
    ]
    raw = copy.deepcopy(data.draw(st.sampled_from(PARAMS.get(kind_name, variants))))
    if kind_name == "custom":
        raw["values"] = _custom_params(data)
    params = params_for(kind_name, raw)
    draws: dict[str, Callable[[], dict[str, Value]]] = {
        "cisco-rf": lambda: _draw_cisco_rf(params, data),
        "junos-re": lambda: _draw_junos(params, data),
        "fortigate-ha": lambda: _draw_fortigate(params, data),
        "paloalto-ha": lambda: _draw_paloalto(params, data),
        "pacemaker": lambda: _draw_pacemaker(params, data),
    }
    if kind_name in OWN_STATE:
        values = _draw_state_first(kind_name, params, data)
    elif kind_name == "custom":
        value = data.draw(ODD | among(2, 3, 4, 9, 1001, "2", "master"))
        if params.values.get(str(value)) == "active":
            params = params_for(
                kind_name, {**raw, "values": {**params.values, str(value): "standby"}}
            )
        values = {"value": value}
    elif kind_name == "command":
        output = data.draw(
            st.sampled_from(
                sorted({_recorded_output(kind_name, "value", data), "active\n", "Master", "[]"})
            )
            | ODD_TEXT
        )
        values = {"value": output}
        if may_be_active(kind_name, params, values):
            demoted = {k: ("standby" if r == "active" else r) for k, r in params.values.items()}
            params = params_for(kind_name, {**raw, "values": demoted})
    elif kind_name == "frr-vrrp":
        values = {"vrrp": _draw_frr(data)}
    elif kind_name in CLI_KINDS:
        values = _draw_cli(kind_name, data)
    elif kind_name in VIP_KINDS:
        values = _draw_vip(kind_name, params, data)
    else:
        values = draws[kind_name]()
    return params, values


@pytest.mark.parametrize("kind_name", KINDS.names())
@settings(max_examples=fuzz_examples(150), deadline=None)
@given(data=st.data())
def test_active_only_from_an_active_row_of_the_table(kind_name: str, data: st.DataObject) -> None:
    """For every kind (custom, cisco-rf and the SSH kinds included): answers whose member state
    is no active row of the kind's table (unknown integers above 1000, negative or huge, text,
    exceptions, the table's other rows), whatever the other objects say, never make a member
    active. The SSH kinds: recorded outputs whose active state word, VIP or running resource is
    replaced. Exemptions are written in `may_be_active` with their reason (cisco-asa's
    "Failover Off" primary, paloalto-ha's standalone local unit); no kind is exempt."""
    params, values = draw_not_active(kind_name, data)
    if kind_name not in ("cisco-asa", "paloalto-ha"):
        assert not may_be_active(kind_name, params, values), values  # the draw holds no active row
    view = KINDS.get(kind_name).interpret(params, values)
    assert view.role is not Role.ACTIVE or may_be_active(kind_name, params, values), (values, view)


# The issue's mutation, by hand: what an agent could send instead of an active state.
UNKNOWN_VALUES: list[Value] = [
    1001, 1002, 4096, 65536, 2**31 - 1, 2**31, 2**32, 2**63, -1, -1001, -(2**31),
    "master", "active ", "", "1001", Missing.NO_SUCH_INSTANCE,
]  # fmt: skip


def own_state_keys(kind_name: str, params: Any, values: Mapping[str, Value]) -> list[str]:
    """The probes holding the member's own state (the object its table is about)."""
    if kind_name in OWN_STATE:
        return [OWN_STATE[kind_name]]
    if kind_name == "cisco-rf":
        return _rf_rows(params, values)
    if kind_name == "junos-re":
        return [f"jnxRedundancyState.{s}" for s in _junos_rows(params, values)]
    if kind_name == "paloalto-ha":
        return ["panSysHAState" if params.unit == "local" else "panSysHAPeerState"]
    return {"fortigate-ha": ["fgHaSystemMode"], "custom": ["value"]}[kind_name]


ACTIVE_SNMP_CASES = [
    (k, c)
    for k, c in cases()
    if KINDS.get(k).transport == "snmp" and load_fixture(k)["cases"][c]["role"] == "active"
]


@pytest.mark.parametrize(("kind_name", "case"), ACTIVE_SNMP_CASES)
def test_a_recorded_active_member_whose_state_leaves_the_table_is_not_active(
    kind_name: str, case: str
) -> None:
    """Every recorded active SNMP case, its member's own state replaced by values outside the
    table (unknown integers above 1000, negative, huge; text; absent): never active. The rest of
    the recorded answers stay, so every path that made the member active is tried."""
    params = params_for(kind_name, case_params(load_fixture(kind_name), case))
    values = by_probe(kind_name, params, case)
    keys = own_state_keys(kind_name, params, values)
    assert keys, "the case names no state of the member"
    # paloalto-ha's state counts only under an HA mode PAN-OS names: its mode leaves it too.
    key_sets = [keys, ["panSysHAMode"]] if kind_name == "paloalto-ha" else [keys]
    for replaced in key_sets:
        for raw in UNKNOWN_VALUES:
            changed = {**values, **dict.fromkeys(replaced, raw)}
            if may_be_active(kind_name, params, changed):
                continue  # a documented reading that is no table row (paloalto-ha standalone)
            view = KINDS.get(kind_name).interpret(params, changed)
            assert view.role is not Role.ACTIVE, (replaced, raw, view)


@pytest.mark.parametrize(("kind_name", "case"), cases())
def test_each_recorded_active_case_holds_an_active_row(kind_name: str, case: str) -> None:
    """The other way round, on the recorded cases: a case read as active holds what
    `may_be_active` looks for (so the contract above speaks of the rows the kinds really use)."""
    fixture = load_fixture(kind_name)
    if fixture["cases"][case]["role"] != "active":
        return
    params = params_for(kind_name, case_params(fixture, case))
    assert may_be_active(kind_name, params, by_probe(kind_name, params, case))


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
    # Only an active row of the kind's table (or the evidence its `active_when` names) may make
    # a member active: the same contract as above, on random answers, for every kind.
    assert view.role is not Role.ACTIVE or may_be_active(kind_name, params, values), (values, view)
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
    the interpreter answers a role (or unknown), never raises; and mangling never invents an
    active member (every SSH kind: keepalived-ssh and linux-vip too, no exemption)."""
    fixture = load_fixture(kind_name)
    kind = KINDS.get(kind_name)
    params = params_for(kind_name, fixture["params"])
    case = data.draw(st.sampled_from(sorted(fixture["cases"])))
    outputs: dict[str, Any] = cli_outputs(kind_name, case)
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
        # Mangling can hide or break information; it must not invent an active member.
        assert view.role is not Role.ACTIVE, (case, outputs, view)
    assert view.role is not Role.ACTIVE or may_be_active(kind_name, params, values), view


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
    kind = KINDS.get("cisco-rf")
    params = params_for("cisco-rf", load_fixture("cisco-rf")["params"])
    view = kind.interpret(params, by_probe("cisco-rf", params, "active_after_a_failure"))
    assert view.raw is not None
    assert "last switchover: activeUnitFailed at uptime 3600s" in view.raw


@pytest.mark.parametrize(("code", "name"), [(8, "activeGWdown"), (9, "activeRMIportdown")])
def test_cisco_rf_names_the_switchover_reasons_of_the_mib(code: int, name: str) -> None:
    """RFSwactReasonType as CISCO-RF-MIB REVISION 202307130000Z has it (8 and 9 were added)."""
    from netmon.kinds import cisco_rf as rf

    values: dict[Oid | str, Value] = {
        rf.UNIT_STATE: 14, rf.PEER_UNIT_STATE: 9, rf.LAST_SWACT_REASON: code,
    }  # fmt: skip
    view = read_by_oid("cisco-rf", rf.CiscoRfParams(unit="local"), values)
    assert f"last switchover: {name}" in (view.raw or ""), view


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
                values={command: cli_outputs("cisco-ios-vrrp", case)["table"]},
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
        view = KINDS.get(kind_name).interpret(params, by_probe(kind_name, params, case))
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


@pytest.mark.parametrize(
    ("sync", "role"),
    [(1, Role.ACTIVE), (0, Role.FAULT), (2, Role.FAULT), (1001, Role.FAULT), (-1, Role.FAULT),
     (2**32, Role.FAULT), ("1", Role.FAULT), (Missing.NO_SUCH_INSTANCE, Role.FAULT)],
)  # fmt: skip
def test_fortigate_active_active_secondary_serves_only_while_synchronized(
    sync: Value, role: Role
) -> None:
    """activeActive: a member that is not the primary is active only with fgHaStatsSyncStatus
    synchronized(1) (FgHaStatsSyncStatusType); any other value, inside the type or not, is not
    synchronized."""
    from netmon.kinds.fortigate import FortigateHaParams

    values = fgt_rows([("FGT-A", "fw-a", 1, "FGT-A"), ("FGT-B", "fw-b", 1, "FGT-A")])
    values[(1, 3, 6, 1, 4, 1, 12356, 101, 13, 2, 1, 1, 12, 2)] = sync
    values.update({FGT_MODE: 2, FGT_SERIAL: "FGT-A", SYS_NAME: "fw-a"})
    view = read_by_oid("fortigate-ha", FortigateHaParams(serial="FGT-B"), values)
    assert view.role is role, view


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
    words = sorted(
        {v for c in load_fixture(kind_name)["cases"] for v in agent_data(kind_name, c).values()
         if isinstance(v, str)} | {"x"}
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
    params = params_for("vrrp", load_fixture("vrrp")["params"])
    view = KINDS.get("vrrp").interpret(
        params, by_probe("vrrp", params, "master_still_naming_its_predecessor")
    )
    assert view.role is Role.ACTIVE
    assert view.identity == "ifIndex 2 VRID 51; own address 10.99.0.12"
    assert view.peer_active is None
