"""The `command` kind: its params checks, and what it makes of hostile or odd output.

The recorded cases (FRR's JSON, `show vrrp summary`, `systemctl is-active`) are in
tests/fixtures/kinds/command.yaml and run by tests/test_kinds_contract.py; these are the edges.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from netmon.kinds import KINDS
from netmon.kinds.command import MAX_OUTPUT, CommandKind, CommandParams, json_path
from netmon.model import MemberView, Missing, Role, ssh_probe

KIND = CommandKind()
VRRP = {"Master": "active", "Backup": "standby", "Initialize": "fault"}
SYSTEMD = {"active": "active", "inactive": "standby", "failed": "fault", "activating": "standby"}


def params(**raw: Any) -> CommandParams:
    parsed: CommandParams = TypeAdapter(CommandParams).validate_python(
        {"command": "x", "values": SYSTEMD, **raw}
    )
    return parsed


def view(output: object, **raw: Any) -> MemberView:
    p = params(**raw)
    assert KIND.check(p) == []
    return KIND.interpret(p, {} if output is None else {"value": output})  # type: ignore[dict-item]


def json_params(path: str = "0.v4.status") -> dict[str, Any]:
    return {"match": "json", "pattern": path, "values": VRRP}


def test_registered_with_one_ssh_probe_running_the_command_as_given() -> None:
    assert KINDS.get("command") is not None
    p = params(command="vtysh -c 'show vrrp interface eth0 61 json'")
    assert KIND.probes(p) == (ssh_probe("value", "vtysh -c 'show vrrp interface eth0 61 json'"),)
    assert KIND.transport == "ssh"


def test_unknown_params_are_refused_by_the_inventory_loader() -> None:
    with pytest.raises(ValidationError):
        params(patern="x")


@pytest.mark.parametrize(
    ("raw", "problems"),
    [
        ({}, []),
        ({"match": "regex", "pattern": r"State: (\w+)"}, []),
        ({"match": "regex", "pattern": r"(\d+) State: (?P<value>\w+)"}, []),
        ({"match": "json", "pattern": "0.v4.status"}, []),
        ({"not_ready": ["activating"]}, []),
        ({"command": ""}, [("command", "must name the command to run")]),
        ({"command": "   "}, [("command", "must name the command to run")]),
        ({"command": "true\nreboot"}, [("command", "must be one line")]),
        ({"command": "true\rreboot"}, [("command", "must be one line")]),
        ({"match": "glob"}, [("match", "must be one of exact, regex, json, got 'glob'")]),
        ({"pattern": "x"},
         [("pattern", "not used with match: exact (the whole output is the value)")]),
        ({"match": "regex"}, [("pattern", "match: regex needs a regular expression")]),
        ({"match": "regex", "pattern": ""}, [("pattern", "match: regex needs a regular expression")]),
        ({"match": "json"}, [("pattern", "match: json needs a JSON path")]),
        ({"match": "regex", "pattern": "State: ("},
         [("pattern", "not a regular expression: missing ) at position 8")]),
        ({"match": "regex", "pattern": r"State: \w+"},
         [("pattern", "needs one capture group or a group named `value`, has 0 groups")]),
        ({"match": "regex", "pattern": r"(\w+): (\w+)"},
         [("pattern", "needs one capture group or a group named `value`, has 2 groups")]),
        ({"match": "json", "pattern": "0..status"},
         [("pattern", "not a JSON path (keys and list indexes joined by dots, like 0.v4.status): "
                      "'0..status'")]),
        ({"match": "json", "pattern": ".status"},
         [("pattern", "not a JSON path (keys and list indexes joined by dots, like 0.v4.status): "
                      "'.status'")]),
        ({"match": "json", "pattern": ".".join(["a"] * 33)},
         [("pattern", "a JSON path of at most 32 segments")]),
        ({"values": {}}, [("values", "needs at least one 'raw value: role' entry")]),
        ({"values": {"active": "master"}},
         [("values.active", "unknown role 'master'; choose one of: active, standby, fault")]),
        ({"not_ready": ["deactivating"]}, [("not_ready", "'deactivating' is not one of the `values`")]),
    ],
)  # fmt: skip
def test_check(raw: dict[str, Any], problems: list[tuple[str, str]]) -> None:
    assert KIND.check(params(**raw)) == problems


@pytest.mark.parametrize(
    ("output", "role", "ready", "reason", "raw"),
    [
        ("active\n", Role.ACTIVE, True, None, "active"),
        ("  inactive \r\n", Role.STANDBY, True, None, "inactive"),
        ("failed\n", Role.FAULT, True, "value 'failed' maps to fault", "failed"),
        ("Active\n", Role.UNKNOWN, True, "unmapped value 'Active'", "Active"),  # case counts
        ("", Role.UNKNOWN, True, "unmapped value ''", ""),
        ("active\nactive\n", Role.UNKNOWN, True, "unmapped value 'active active'", "active active"),
        (Missing.NOT_RETURNED, Role.UNKNOWN, True, "value: notReturned", "notReturned"),
        (None, Role.UNKNOWN, True, "value: notReturned", "notReturned"),
        (7, Role.UNKNOWN, True, "value: not command output", None),
    ],
)
def test_exact(
    output: object, role: Role, ready: bool, reason: str | None, raw: str | None
) -> None:
    assert view(output) == MemberView(role, reason=reason, raw=raw, ready=ready)


def test_not_ready_values_keep_their_role() -> None:
    got = view("activating\n", not_ready=["activating"])
    assert got == MemberView(
        Role.STANDBY, reason="value 'activating' maps to standby, not ready", raw="activating",
        ready=False,
    )  # fmt: skip


def test_unmapped_values_are_one_bounded_line() -> None:
    got = view("x" * 500 + "\n\x1b[31mred\x00\n")
    assert got.role is Role.UNKNOWN
    assert got.raw is not None and len(got.raw) <= 40 and "\n" not in got.raw
    assert got.reason is not None and len(got.reason) < 70 and "\x1b" not in got.reason


def test_output_beyond_the_bound_is_not_parsed() -> None:
    got = view("active" + " " * MAX_OUTPUT)
    assert got == MemberView(
        Role.UNKNOWN, reason=f"output longer than {MAX_OUTPUT} characters: not parsed"
    )


def test_text_that_was_not_utf8_is_unmapped_never_a_crash() -> None:
    # The collector decodes bytes that are not UTF-8 (Latin-1, surrogate escapes): any text.
    for text in ("act\udcffive", "\ufffd\ufffd", "Ã©tat: actif", "\x00active"):
        assert view(text).role is Role.UNKNOWN
        assert view(text, **json_params()).role is Role.UNKNOWN
        assert view(text, match="regex", pattern=r"^(\S+)$").role is Role.UNKNOWN


REGEX = {"match": "regex", "pattern": r"^\s*eth0\s+61\s+\d+\s+\d+\s+\d+\s+(\S+)", "values": VRRP}
SUMMARY = " eth0        61     150        1      0      {}       Backup\n"


@pytest.mark.parametrize(
    ("output", "role", "reason"),
    [
        (SUMMARY.format("Master"), Role.ACTIVE, None),
        (SUMMARY.format("Backup"), Role.STANDBY, None),
        (" eth1        61     150        1      0      Master\n", Role.UNKNOWN,
         "output does not match the pattern (output: 'eth1 61 150 1 0 Master')"),
        ("vrrpd is not running\n", Role.UNKNOWN,
         "output does not match the pattern (output: 'vrrpd is not running')"),
        ("", Role.UNKNOWN, "output does not match the pattern (no output)"),
        (SUMMARY.format("Masterx"), Role.UNKNOWN, "unmapped value 'Masterx'"),
    ],
)  # fmt: skip
def test_regex(output: str, role: Role, reason: str | None) -> None:
    got = view(output, **REGEX)
    assert (got.role, got.reason) == (role, reason)


def test_regex_named_group_and_optional_group() -> None:
    named = {"match": "regex", "pattern": r"(\d+) is (?P<value>\w+)"}
    assert view("unit 3 is active", **named).role is Role.ACTIVE
    optional = {"match": "regex", "pattern": r"state(?:=(\w+))?"}
    got = view("state\n", **optional)
    assert got == MemberView(
        Role.UNKNOWN, reason="the pattern's group matched nothing (output: 'state')"
    )


def test_regex_on_a_large_hostile_output_is_bounded() -> None:
    """A long run the pattern almost matches: linear for a pattern the guard lets through."""
    got = view("a" * 200_000 + "!", match="regex", pattern=r"^(a+)$")
    assert got.role is Role.UNKNOWN


FRR_MASTER = [{"vrid": 61, "v4": {"status": "Master", "addresses": ["10.99.9.61"]}, "v6": {}}]


@pytest.mark.parametrize(
    ("document", "path", "role", "reason", "raw"),
    [
        (FRR_MASTER, "0.v4.status", Role.ACTIVE, None, "Master"),
        ([], "0.v4.status", Role.UNKNOWN, "no 0 in the JSON (a list of 0)", None),
        (FRR_MASTER, "1.v4.status", Role.UNKNOWN, "no 1 in the JSON (a list of 1)", None),
        (FRR_MASTER, "0.v6.status", Role.UNKNOWN, "no 0.v6.status in the JSON", None),
        (FRR_MASTER, "0.vrid.x", Role.UNKNOWN, "no 0.vrid.x in the JSON (0.vrid is a value)", None),
        (FRR_MASTER, "0.v4", Role.UNKNOWN, "0.v4 is an object, not a value", None),
        (FRR_MASTER, "0.v4.addresses", Role.UNKNOWN, "0.v4.addresses is a list, not a value", None),
        (FRR_MASTER, "v4.status", Role.UNKNOWN, "no v4 in the JSON (a list of 1)", None),
        (FRR_MASTER, "0.vrid", Role.UNKNOWN, "unmapped value '61'", "61"),
        ({"0": {"ok": True}}, "0.ok", Role.UNKNOWN, "unmapped value 'true'", "true"),
        ({"a": None}, "a", Role.UNKNOWN, "unmapped value 'null'", "null"),
    ],
)  # fmt: skip
def test_json(document: object, path: str, role: Role, reason: str | None, raw: str | None) -> None:
    got = view(json.dumps(document), **json_params(path))
    assert got == MemberView(role, reason=reason, raw=raw)


def test_json_scalars_as_json_writes_them() -> None:
    values = {"true": "active", "1": "standby", "null": "fault"}
    assert view('{"up": true}', match="json", pattern="up", values=values).role is Role.ACTIVE
    assert view('{"n": 1}', match="json", pattern="n", values=values).role is Role.STANDBY
    assert view('{"n": null}', match="json", pattern="n", values=values).role is Role.FAULT
    # A string "true" is the value true too: the table is of text.
    assert view('{"up": "true"}', match="json", pattern="up", values=values).role is Role.ACTIVE


@pytest.mark.parametrize(
    ("output", "reason"),
    [
        ("vrrpd is not running\n", "output is not JSON (output: 'vrrpd is not running')"),
        ("", "output is not JSON (no output)"),
        ('[{"v4": {"status": "Master"', "output is not JSON (output: '[{\"v4\": {\"status\": \"Master\"')"),
        ("[" * 100_000 + "]" * 100_000, "output is not JSON (output: '" + "[" * 39 + "…')"),
        ('{"a": ' + "9" * 5000 + "}", "output is not JSON (output: '{\"a\": " + "9" * 33 + "…')"),
    ],
)  # fmt: skip
def test_json_that_does_not_parse(output: str, reason: str) -> None:
    assert view(output, **json_params()) == MemberView(Role.UNKNOWN, reason=reason)


def test_deep_json_that_parses_is_walked() -> None:
    deep: object = "Master"
    for _ in range(30):
        deep = {"k": deep}
    path = ".".join(["k"] * 30)
    assert view(json.dumps(deep), **json_params(path)).role is Role.ACTIVE


@pytest.mark.parametrize(
    ("path", "segments"),
    [("0.v4.status", ("0", "v4", "status")), ("a", ("a",)), ("", None), ("a.", None), (".", None)],
)
def test_json_path(path: str, segments: tuple[str, ...] | None) -> None:
    assert json_path(path) == segments
