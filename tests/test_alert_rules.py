"""The alert rules and the routing, checked with the real promtool and amtool.

The promtool unit tests (alert_rules/tests/*.yml) promise that every alert waits exactly its
`for:` and that the drill exclusion, the `unless` on blindness and the other clauses hold. The
mutation tests below hold them to it: each breaks a copy of the shipped rules one way and
asserts that the shipped unit tests fail on it.
"""

from __future__ import annotations

import copy
import functools
import io
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from .conftest import REPO, require

RULES = REPO / "alert_rules" / "netmon.rules.yml"
UNIT_TESTS = sorted((REPO / "alert_rules" / "tests").glob("*.yml"))
AM_CONFIG = REPO / "alert_rules" / "alertmanager.example.yml"
RUNBOOKS = REPO / "docs" / "runbooks.md"
RECEIVERS = {"page": "pager", "ticket": "tickets"}  # docs/alerting.md, "Routing"


def tool(name: str) -> str:
    path = shutil.which(name)
    require(
        path is not None,
        f"{name} is not installed (make test installs prometheus and alertmanager)",
    )
    assert path is not None
    return path


@functools.cache
def _parsed(path: Path) -> Any:
    return YAML(typ="safe", pure=True).load(path.read_text())


def load(path: Path) -> Any:
    """`path` parsed (once per session: the mutation tests read the files ~50 times), a copy
    the caller may change."""
    return copy.deepcopy(_parsed(path))


def alerts() -> list[dict[str, Any]]:
    data = load(RULES)
    return [r for g in data["groups"] for r in g["rules"] if "alert" in r]


ALERTS = [str(r["alert"]) for r in alerts()]


def seconds(duration: str) -> int:
    """A Prometheus duration of h, m and s ("1h15m", "4m55s", "0s") in seconds."""
    parts = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", duration)
    assert parts is not None and duration, f"not a duration this test reads: {duration!r}"
    h, m, s = (int(p or 0) for p in parts.groups())
    return h * 3600 + m * 60 + s


def duration(total: int) -> str:
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    text = (f"{h}h" if h else "") + (f"{m}m" if m else "") + (f"{s}s" if s else "")
    return text or "0s"


def test_promtool_checks_the_rules() -> None:
    result = subprocess.run(
        [tool("promtool"), "check", "rules", str(RULES)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_pass() -> None:
    result = subprocess.run([tool("promtool"), "test", "rules", *map(str, UNIT_TESTS)],
                            capture_output=True, text=True, cwd=REPO / "alert_rules")  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def timing_evaluations(alert: str) -> list[tuple[int, int, int]]:
    """(silent at, fires at, the file's evaluation step) in seconds, for every test group where
    `alert` is asserted silent at one evaluation and firing at the next step."""
    found = []
    for path in UNIT_TESTS:
        data = load(path)
        step = seconds(data["evaluation_interval"])
        for group in data["tests"]:
            evals = [e for e in group.get("alert_rule_test", []) if e["alertname"] == alert]
            silent = {seconds(e["eval_time"]) for e in evals if not e["exp_alerts"]}
            fires = {seconds(e["eval_time"]) for e in evals if e["exp_alerts"]}
            found += [(t, t + step, step) for t in sorted(silent) if t + step in fires]
    return found


@pytest.mark.parametrize("alert", ALERTS)
def test_every_alert_is_tested_silent_then_firing_one_step_apart(alert: str) -> None:
    """The shape of the timing cases (that the condition is true at the silent evaluation, and
    `for:` alone keeps the alert back there, is held by the mutation tests below)."""
    assert timing_evaluations(alert), f"{alert}: no case silent at one step and firing at the next"


def test_every_alert_has_severity_text_and_an_existing_runbook() -> None:
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-")
        for h in re.findall(r"^## (.+)$", RUNBOOKS.read_text(), re.M)
    }
    for rule in alerts():
        labels, annotations = rule["labels"], rule["annotations"]
        assert isinstance(labels, dict) and isinstance(annotations, dict)
        assert labels["severity"] in ("page", "ticket"), rule["alert"]
        assert annotations["summary"] and annotations["description"]
        anchor = str(annotations["runbook_url"]).split("docs/runbooks.md#", 1)[1]
        assert anchor in anchors, f"{rule['alert']}: no '## {anchor}' in docs/runbooks.md"


# -- mutations: the unit tests fail when the rules break ------------------------------------


def run_unit_tests(
    rules: str, tmp: Path, only: str | None = None
) -> subprocess.CompletedProcess[str]:
    """The shipped unit tests against `rules` (a copy of the shipped rules, perhaps mutated);
    with `only`, just the test groups that assert on that alert (each group stands alone, so a
    failure there is a failure of the whole run)."""
    (tmp / "netmon.rules.yml").write_text(rules)
    check = subprocess.run([tool("promtool"), "check", "rules", str(tmp / "netmon.rules.yml")],
                           capture_output=True, text=True)  # fmt: skip
    # A mutant must still be valid rules: the unit tests must fail on what the rules say.
    assert check.returncode == 0, check.stdout + check.stderr
    yaml = YAML(typ="safe", pure=True)
    files = []
    for path in UNIT_TESTS:
        data = load(path)
        data["rule_files"] = [str(tmp / "netmon.rules.yml")]
        if only is not None:
            data["tests"] = [
                g
                for g in data["tests"]
                if any(e["alertname"] == only for e in g.get("alert_rule_test", []))
            ]
        if data["tests"]:
            out = io.StringIO()
            yaml.dump(data, out)
            files.append(tmp / path.name)
            files[-1].write_text(out.getvalue())
    assert files, f"no unit test asserts on {only}"
    return subprocess.run(
        [tool("promtool"), "test", "rules", *map(str, files)], capture_output=True, text=True
    )


def with_for(rules: str, alert: str, value: str) -> str:
    """`rules` with the `for:` of `alert` (only) set to `value`."""
    pattern = re.compile(rf"(- alert: {alert}\n(?:(?!\s*- (?:alert|record):).*\n)*?\s+for: )\S+")
    mutated, count = pattern.subn(lambda m: m.group(1) + value, rules)
    assert count == 1, f"no `for:` found for {alert}"
    return mutated


def for_of(alert: str) -> str:
    return str(next(r for r in alerts() if r["alert"] == alert)["for"])


def step_of(alert: str) -> int:
    steps = {step for _, _, step in timing_evaluations(alert)}
    assert len(steps) == 1, f"{alert}: timing cases at steps {steps}"
    return steps.pop()


@pytest.mark.daemon
def test_the_mutation_harness_passes_the_shipped_rules(tmp_path: Path) -> None:
    """The control: the copy and the rewritten test files pass unmutated, so a mutant's
    failure below is the mutant's."""
    result = run_unit_tests(RULES.read_text(), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.daemon
@pytest.mark.parametrize("change", ["0s", "one step sooner", "one step later"])
@pytest.mark.parametrize("alert", ALERTS)
def test_each_for_changed_fails_the_unit_tests(alert: str, change: str, tmp_path: Path) -> None:
    real, step = seconds(for_of(alert)), step_of(alert)
    value = {"0s": 0, "one step sooner": real - step, "one step later": real + step}[change]
    assert value >= 0 and value != real
    result = run_unit_tests(with_for(RULES.read_text(), alert, duration(value)), tmp_path, alert)
    assert result.returncode == 1, f"for: {duration(value)} passed:\n{result.stdout}"
    # promtool writes what failed to stderr: the mutated alert itself, not a side effect.
    assert f"alertname: {alert}," in result.stderr, result.stdout + result.stderr


def replaced(old: str, new: str) -> str:
    rules = RULES.read_text()
    assert rules.count(old) == 1, f"the shipped rules no longer hold {old!r}: update the mutant"
    return rules.replace(old, new)


# name: (the mutated rules, the alert whose unit tests must catch it; None: all of them)
MUTANTS: dict[str, tuple[Callable[[], str], str | None]] = {
    # every `for:` at once: the rules' timing gone
    "every for: 0s": (
        lambda: re.sub(r"(?m)^(\s+for: )\S+$", r"\g<1>0s", RULES.read_text()),
        None,
    ),
    # the drill exclusion deleted: a drill raises the not-on-preferred ticket
    "drill exclusion removed": (
        lambda: replaced(" unless on (pair) netmon_drill_running == 1", ""),
        "NetmonNotOnPreferredMember",
    ),
    # the old form: `and` drops every pair that exports no netmon_drill_running (no drill set up)
    "drill exclusion as `and ... != 1`": (
        lambda: replaced(
            " unless on (pair) netmon_drill_running == 1",
            " and on (pair) netmon_drill_running != 1",
        ),
        "NetmonNotOnPreferredMember",
    ),
    # netmon's blindness would page as `down`
    "pair-down `unless` on blindness removed": (
        lambda: replaced(
            "\n          unless on (pair) max by (pair)"
            ' (netmon_member_role{role=~"unreachable|unknown"}) == 1',
            "",
        ),
        "NetmonPairDown",
    ),
    # a dead link (small probes lost too) would page as large-packet loss
    "small-probe clause removed": (
        lambda: replaced(
            "\n          and on (target) max by (target)"
            ' (netmon_probe_loss_ratio{size="64"}) < 0.5',
            "",
        ),
        "NetmonLargePacketLoss",
    ),
    # the old one-to-many join: errors for a device that is two members or serves two pairs
    "device join as `* group_left`": (
        lambda: replaced(
            "max without (member, address) (netmon_member_info)\n"
            "          and on (device) netmon_device_up == 0",
            "(netmon_device_up == 0) * on (device) group_left (pair) netmon_member_info",
        ),
        "NetmonDeviceUnreachable",
    ),
}


@pytest.mark.daemon
@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_each_mutant_fails_the_unit_tests(mutant: str, tmp_path: Path) -> None:
    mutate, alert = MUTANTS[mutant]
    rules = mutate()
    assert rules != RULES.read_text()
    result = run_unit_tests(rules, tmp_path, alert)
    assert result.returncode == 1, f"{mutant}: the unit tests passed:\n{result.stdout}"
    # promtool names the alert that failed an expectation, or the rule that failed to evaluate.
    named = rf"(alertname|rule): {alert}," if alert else "FAILED"
    assert re.search(named, result.stderr), result.stdout + result.stderr


# -- routing (amtool); the inhibition and the real Alertmanager: test_alertmanager_routing.py --


def test_alertmanager_config_is_valid() -> None:
    result = subprocess.run(
        [tool("amtool"), "check-config", str(AM_CONFIG)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def emitted_labels(alert: str) -> list[dict[str, str]]:
    """Every label set the unit tests expect `alert` to fire with: what the rules emit."""
    out: list[dict[str, str]] = []
    for path in UNIT_TESTS:
        for group in load(path)["tests"]:
            for e in group.get("alert_rule_test", []):
                if e["alertname"] == alert:
                    for exp in e["exp_alerts"]:
                        labels = {"alertname": alert, **exp["exp_labels"]}
                        if labels not in out:
                            out.append(labels)
    return out


@pytest.mark.parametrize("alert", ALERTS)
def test_every_alert_routes_by_its_severity(alert: str) -> None:
    """Each label set each rule emits, through the shipped routing tree: page to the pager,
    ticket to the ticket queue (amtool does not apply inhibit_rules: the real Alertmanager in
    test_alertmanager_routing.py does)."""
    label_sets = emitted_labels(alert)
    assert label_sets, f"no firing case for {alert}"
    for labels in label_sets:
        result = subprocess.run(
            [tool("amtool"), "config", "routes", "test", f"--config.file={AM_CONFIG}",
             f"--verify.receivers={RECEIVERS[labels['severity']]}",
             *(f"{k}={v}" for k, v in sorted(labels.items()))],
            capture_output=True, text=True,
        )  # fmt: skip
        assert result.returncode == 0, f"{labels}: {result.stdout}{result.stderr}"


def test_a_wrong_route_expectation_fails() -> None:
    """amtool really asserts: the same call with the wrong receiver exits 1."""
    result = subprocess.run(
        [tool("amtool"), "config", "routes", "test", f"--config.file={AM_CONFIG}",
         "--verify.receivers=pager", "severity=ticket"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 1
