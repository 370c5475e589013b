"""Any command over SSH whose output maps to a role through a table written in the inventory.

The SSH sibling of `custom`: `command` runs as given through the member's SSH session (no shell
wrapping, so it works on a router's CLI as on a Linux shell), a value is taken from its output
(`match`) and looked up in `values` (raw value as text -> active, standby or fault).

- `exact`: the whole output, stripped of surrounding whitespace, is the value.
- `regex`: `pattern` (a Python regular expression, MULTILINE: `^`/`$` anchor lines) is searched
  in the output; the value is its group named `value`, else its one capture group.
- `json`: the output is parsed as JSON and `pattern` is a dotted path: keys and integer list
  indexes separated by dots (`0.v4.status`: first element, key "v4", key "status"). A segment of
  digits indexes a list (on an object it is a key). Keys containing a dot cannot be named.
  The value: a string as is, true/false/null and numbers as JSON writes them.

stderr: the SSH collector reads commands through an interactive session (netmiko, a terminal),
where a command's stderr is part of what it prints ("vrrpd is not running"). netmon adds no
`2>&1`: the text arrives anyway, and does not match, so the member is `unknown` with the output's
first line in the reason.

Output that does not match, JSON that does not parse, a path that is absent, a value outside the
table: `unknown` with a bounded reason, never `active`. Output beyond MAX_OUTPUT is not parsed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import regex

from netmon.kinds.base import ParamProblem
from netmon.kinds.custom import ROLE_NAMES
from netmon.kinds.evidence import bounded
from netmon.model import MemberView, Missing, Probe, Role, Value, ssh_probe

MATCHES = ("exact", "regex", "json")
MAX_OUTPUT = 1 << 20  # characters of output parsed (1 MiB); more is `unknown`
MAX_PATH = 32  # segments of a JSON path
SHOWN = 40  # characters of device text in a reason
# A pattern is run by the `regex` module with a time limit: no guard on the pattern's text
# catches every expression that backtracks for minutes ((\w+\s?)*, (a|aa)+, ...), and a search
# runs on the event loop, where one stuck search would stall every pair's poll.
MATCH_SECONDS = 0.25


@dataclass(frozen=True)
class CommandParams:
    __pydantic_config__: ClassVar[dict[str, Any]] = {"extra": "forbid"}
    command: str
    # extracted raw value (as text) -> role name: active, standby or fault
    values: dict[str, str] = field(default_factory=dict)
    match: str = "exact"  # or "regex" or "json"
    pattern: str | None = None  # regex: the expression; json: the dotted path
    # Values that map to their role but are not ready (e.g. a standby still synchronising).
    not_ready: tuple[str, ...] = ()


def json_path(path: str) -> tuple[str, ...] | None:
    """`0.v4.status` -> ("0", "v4", "status"); None when a segment is empty."""
    segments = tuple(path.split("."))
    if not path or any(s == "" for s in segments):
        return None
    return segments


def _regex_problems(pattern: str) -> list[ParamProblem]:
    try:
        compiled = regex.compile(pattern, regex.MULTILINE)
    except (regex.error, RecursionError) as exc:
        return [("pattern", f"not a regular expression: {exc}")]
    if "value" not in compiled.groupindex and compiled.groups != 1:
        return [
            (
                "pattern",
                f"needs one capture group or a group named `value`, has {compiled.groups} groups",
            )
        ]
    return []


def _value_of(node: Any) -> str | None:
    """A JSON scalar as text (None for an object or a list)."""
    if isinstance(node, str):
        return node
    if isinstance(node, bool | int | float) or node is None:
        return json.dumps(node)
    return None


def _walk(document: Any, segments: tuple[str, ...]) -> tuple[Any, str | None]:
    """The node at the path, or (None, why it is absent)."""
    node = document
    for depth, segment in enumerate(segments):
        where = ".".join(segments[: depth + 1])
        if isinstance(node, dict):
            if segment not in node:
                return None, f"no {where} in the JSON"
            node = node[segment]
        elif isinstance(node, list):
            # ASCII digits only: "²".isdigit() is true and int("²") raises.
            if not (segment.isascii() and segment.isdigit()) or int(segment) >= len(node):
                return None, f"no {where} in the JSON (a list of {len(node)})"
            node = node[int(segment)]
        else:
            return None, f"no {where} in the JSON ({'.'.join(segments[:depth]) or 'it'} is a value)"
    return node, None


def _first_line(output: str) -> str:
    for line in output.splitlines():
        if line.strip():
            return bounded(line, SHOWN)
    return ""


def _no_match(what: str, output: str) -> MemberView:
    first = _first_line(output)
    shown = f" (output: {first!r})" if first else " (no output)"
    return MemberView(Role.UNKNOWN, reason=f"{what}{shown}")


class CommandKind:
    name = "command"
    mib = "SSH: any command; its output (exact, regex or JSON path) mapped by the inventory"
    transport = "ssh"
    params_type = CommandParams

    def check(self, params: CommandParams) -> list[ParamProblem]:
        problems: list[ParamProblem] = []
        if not params.command.strip():
            problems.append(("command", "must name the command to run"))
        elif "\n" in params.command or "\r" in params.command:
            problems.append(("command", "must be one line"))
        if params.match not in MATCHES:
            problems.append(("match", f"must be one of {', '.join(MATCHES)}, got {params.match!r}"))
        elif params.match == "exact":
            if params.pattern is not None:
                problems.append(("pattern", "not used with match: exact (the whole output is the value)"))  # fmt: skip
        elif params.pattern is None or params.pattern == "":
            what = "a regular expression" if params.match == "regex" else "a JSON path"
            problems.append(("pattern", f"match: {params.match} needs {what}"))
        elif params.match == "regex":
            problems += _regex_problems(params.pattern)
        else:
            segments = json_path(params.pattern)
            if segments is None:
                problems.append(
                    ("pattern", f"not a JSON path (keys and list indexes joined by dots, like "
                                f"0.v4.status): {params.pattern!r}")
                )  # fmt: skip
            elif len(segments) > MAX_PATH:
                problems.append(("pattern", f"a JSON path of at most {MAX_PATH} segments"))
        if not params.values:
            problems.append(("values", "needs at least one 'raw value: role' entry"))
        for raw, role in params.values.items():
            if role not in ROLE_NAMES:
                choices = ", ".join(ROLE_NAMES)
                problems.append(
                    (f"values.{raw}", f"unknown role {role!r}; choose one of: {choices}")
                )
        for raw in params.not_ready:
            if raw not in params.values:
                problems.append(("not_ready", f"{raw!r} is not one of the `values`"))
        return problems

    def probes(self, params: CommandParams) -> tuple[Probe, ...]:
        return (ssh_probe("value", params.command),)

    def extract(self, params: CommandParams, output: str) -> str | MemberView:
        """The raw value from the output, or the `unknown` view saying why there is none."""
        if params.match == "exact":
            return output.strip()
        if params.match == "regex":
            try:
                compiled = regex.compile(params.pattern or "", regex.MULTILINE)
                found = compiled.search(output, timeout=MATCH_SECONDS)
            except (regex.error, RecursionError):
                return MemberView(Role.UNKNOWN, reason="pattern: not a usable regular expression")
            except TimeoutError:
                return MemberView(
                    Role.UNKNOWN,
                    reason=f"pattern: no answer within {MATCH_SECONDS:g}s on this output"
                    " (a pattern that backtracks: write it without nested repetition)",
                )
            if found is None:
                return _no_match("output does not match the pattern", output)
            group = found.group("value") if "value" in compiled.groupindex else found.group(1)
            if group is None:
                return _no_match("the pattern's group matched nothing", output)
            return group.strip()
        segments = json_path(params.pattern or "")
        if segments is None:
            return MemberView(Role.UNKNOWN, reason="pattern: not a JSON path")
        try:
            document = json.loads(output)
        except (ValueError, RecursionError):
            return _no_match("output is not JSON", output)
        node, absent = _walk(document, segments)
        if absent is not None:
            return MemberView(Role.UNKNOWN, reason=bounded(absent, 120))
        value = _value_of(node)
        if value is None:
            kind = "an object" if isinstance(node, dict) else "a list"
            return MemberView(
                Role.UNKNOWN, reason=bounded(f"{params.pattern} is {kind}, not a value", 120)
            )
        return value

    def interpret(self, params: CommandParams, values: Mapping[str, Value]) -> MemberView:
        output = values.get("value", Missing.NOT_RETURNED)
        if isinstance(output, Missing):
            return MemberView(Role.UNKNOWN, reason=f"value: {output.value}", raw=output.value)
        if not isinstance(output, str):
            return MemberView(Role.UNKNOWN, reason="value: not command output")
        if len(output) > MAX_OUTPUT:
            return MemberView(
                Role.UNKNOWN, reason=f"output longer than {MAX_OUTPUT} characters: not parsed"
            )
        value = self.extract(params, output)
        if isinstance(value, MemberView):
            return value
        shown = bounded(value, SHOWN)
        role_name = params.values.get(value)
        if role_name is None or role_name not in ROLE_NAMES:
            return MemberView(Role.UNKNOWN, reason=f"unmapped value {shown!r}", raw=shown)
        role = ROLE_NAMES[role_name]
        ready = value not in params.not_ready
        if role is Role.FAULT:
            reason: str | None = f"value {shown!r} maps to fault"
        elif not ready:
            reason = f"value {shown!r} maps to {role.value}, not ready"
        else:
            reason = None
        return MemberView(role, reason=reason, raw=shown, ready=ready)
