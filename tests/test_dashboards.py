"""Dashboards are built as code; the committed JSON matches the code and every query parses."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from dashboards.build import DASHBOARDS, render

from .conftest import REPO, require

HERE = REPO / "dashboards"


def panel_queries() -> list[tuple[str, str, str]]:
    """(dashboard, panel title, expr) for every panel target."""
    found = []
    for name in DASHBOARDS:
        data: dict[str, Any] = json.loads((HERE / name).read_text())
        for panel in data["panels"]:
            for target in panel.get("targets", []):
                found.append((name, panel.get("title", ""), target["expr"]))
    return found


def concrete(expr: str, pair: str = "lab-v2") -> str:
    return expr.replace("$pair", pair).replace("$__rate_interval", "1m")


def test_committed_json_is_what_the_code_builds() -> None:
    for name, text in render().items():
        assert (HERE / name).read_text() == text, (
            f"dashboards/{name} is stale: run `make dashboards`"
        )


def test_every_panel_has_a_title_and_a_query() -> None:
    queries = panel_queries()
    assert len(queries) >= 15
    assert all(title and expr for _, title, expr in queries)


def test_every_query_parses_with_promtool(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    require(promtool is not None, "promtool is not installed (make test installs prometheus)")
    assert promtool is not None
    rules = ["groups:", "  - name: dashboard-queries", "    rules:"]
    for i, (_, _, expr) in enumerate(panel_queries()):
        rules.append(f"      - record: dashboard:query_{i}")
        rules.append(f"        expr: {json.dumps(concrete(expr))}")
    path = tmp_path / "queries.yml"
    path.write_text("\n".join(rules) + "\n")
    result = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


# A chassis that is two members of one pair (cisco-rf: two supervisors behind one address) beside
# an ordinary pair: every pair-detail query must evaluate on it, one series per device.
CHASSIS_SERIES = [
    (
        'netmon_member_info{pair="core-sup", member="sup-a", device="chassis", address="10.99.0.1"}',
        "1",
    ),
    (
        'netmon_member_info{pair="core-sup", member="sup-b", device="chassis", address="10.99.0.1"}',
        "1",
    ),
    ('netmon_member_info{pair="other", member="o1", device="o1", address="10.99.0.9"}', "1"),
    ('netmon_interface_up{device="chassis", interface="Te1/1"}', "1"),
    ('netmon_interface_up{device="o1", interface="eth0"}', "1"),
    ('netmon_interface_error_ratio{device="chassis", interface="Te1/1", direction="in"}', "0.25"),
    ('netmon_probe_loss_ratio{target="10.99.0.1", size="1472"}', "0.5"),
    ('netmon_probe_loss_ratio{target="10.99.0.9", size="1472"}', "0"),
    ('netmon_device_up{device="chassis"}', "1"),
    ('netmon_device_up{device="o1"}', "1"),
]
CHASSIS_EXPECTED: dict[str, list[tuple[str, float]]] = {
    "Links up": [('{device="chassis", interface="Te1/1"}', 1)],
    "Link error ratio": [('{device="chassis", direction="in", interface="Te1/1"}', 0.25)],
    "Probe loss to members, by packet size": [('{size="1472", target="10.99.0.1"}', 0.5)],
    "Members polled OK": [('{device="chassis"}', 1)],
}


def test_pair_detail_joins_hold_for_a_device_that_is_two_members(tmp_path: Path) -> None:
    """Evaluated by promtool, not only parsed: a `group_left (member)` join on a device that is
    two members is a many-to-many match, an error Prometheus shows as an empty panel."""
    promtool = shutil.which("promtool")
    require(promtool is not None, "promtool is not installed (make test installs prometheus)")
    assert promtool is not None
    queries = {title: expr for name, title, expr in panel_queries() if name == "netmon-pair.json"}
    assert set(CHASSIS_EXPECTED) <= set(queries)
    joins = {title for title, expr in queries.items() if "netmon_member_info" in expr}
    assert joins == set(CHASSIS_EXPECTED), joins  # a new join gets its expected series here
    tests = []
    for title, want in CHASSIS_EXPECTED.items():
        samples = "".join(
            f"\n          - labels: {json.dumps(labels)}\n            value: {value}"
            for labels, value in want
        )
        expr = concrete(queries[title], "core-sup")
        tests.append(
            f"      - expr: {json.dumps(expr)}\n        eval_time: 0m\n        exp_samples:{samples}"
        )
    series = "".join(
        f"\n      - series: {json.dumps(s)}\n        values: {json.dumps(v + ' ' + v)}"
        for s, v in CHASSIS_SERIES
    )
    path = tmp_path / "chassis_test.yml"
    path.write_text(
        "rule_files: []\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n"
        f"    input_series:{series}\n    promql_expr_test:\n" + "\n".join(tests) + "\n"
    )
    result = subprocess.run(
        [promtool, "test", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
